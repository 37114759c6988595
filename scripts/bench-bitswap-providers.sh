#!/usr/bin/env bash
# Bitswap from several rsipfs providers at once, over loopback, in a fresh
# network namespace. Node A is connected to N providers. Each round:
#  1. a random file that only the first provider has is fetched by A,
#  2. another that all N have (each added it) is fetched by A,
# both with `rsipfs cat` through A's daemon, copied to /dev/shm and checked
# by sha256. Prints MB/s of both, their ratio, and the duplicate blocks A
# received in the N-provider fetches (from /api/v0/bitswap/stat).
#   scripts/bench-bitswap-providers.sh [MIB] [ROUNDS] [N]   (default 1024 MiB, 2 rounds, 4)
set -euo pipefail
cd "$(dirname "$0")/.."
MIB=${1:-1024}
ROUNDS=${2:-2}
N=${3:-4}
TOOLS=${SHARED_DIR:-$(cd .. && pwd)/shared}/tools
if [ "${INSIDE_NETNS:-}" != 1 ]; then
    cargo build --release --quiet
    exec env INSIDE_NETNS=1 "$TOOLS/netns.sh" bash "$0" "$@"
fi
BIN=$PWD/target/release/rsipfs
WORK=$(mktemp -d /var/tmp/rsipfs-bench-providers.XXXXXX)
COPY=$(mktemp /dev/shm/rsipfs-bench-copy.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK" "$COPY"
}
trap cleanup EXIT

node() { local name=$1; shift; IPFS_PATH=$WORK/$name "$BIN" "$@"; }
start() {
    node "$1" init --profile test > /dev/null
    node "$1" config --json Addresses.Swarm "[\"/ip4/127.0.0.1/tcp/$2\"]" > /dev/null
    IPFS_PATH=$WORK/$1 "$BIN" daemon > "$WORK/$1.out" 2> "$WORK/$1.err" &
    pids+=($!)
}
start a 4400
for i in $(seq "$N"); do start "p$i" $((4400 + i)); done
for name in a $(seq -f 'p%g' "$N"); do
    for _ in $(seq 100); do grep -q "Daemon is ready" "$WORK/$name.out" 2>/dev/null && break; sleep 0.1; done
done
for i in $(seq "$N"); do
    id=$(node "p$i" id | python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])')
    node a swarm connect "/ip4/127.0.0.1/tcp/$((4400 + i))/p2p/$id" > /dev/null
done
API=http://$(sed 's|/ip4/||; s|/tcp/|:|' "$WORK/a/api")
# Blocks and duplicate blocks A received so far.
received() {
    curl -sf -X POST "$API/api/v0/bitswap/stat" \
        | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["BlocksReceived"], d["DupBlksReceived"])'
}
# A random file added by the providers named; prints "<sha256> <cid>".
provide() {
    head -c "$((MIB << 20))" /dev/urandom > "$WORK/in.bin"
    local sum cid
    sum=$(sha256sum < "$WORK/in.bin" | cut -d' ' -f1)
    for p in "$@"; do cid=$(node "$p" add -Q "$WORK/in.bin"); done
    rm "$WORK/in.bin"
    echo "$sum $cid"
}
# Fetches <cid> through A, checks <sha256>; prints MB/s.
fetch() {
    local start end
    sync
    start=$(date +%s.%N)
    node a cat "$2" > "$COPY"
    end=$(date +%s.%N)
    [ "$(sha256sum < "$COPY" | cut -d' ' -f1)" = "$1" ] || { echo "sha256 differs" >&2; exit 1; }
    : > "$COPY"
    python3 -c "print('%.1f' % ($((MIB << 20)) / 1e6 / ($end - $start)))"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
one_runs=() many_runs=() blocks=0 dups=0
for r in $(seq "$ROUNDS"); do
    read -r one_sum one_cid < <(provide p1)
    read -r many_sum many_cid < <(provide $(seq -f 'p%g' "$N"))
    one_runs+=("$(fetch "$one_sum" "$one_cid")")
    read -r b0 d0 < <(received)
    many_runs+=("$(fetch "$many_sum" "$many_cid")")
    read -r b1 d1 < <(received)
    blocks=$((blocks + b1 - b0)) dups=$((dups + d1 - d0))
    node a repo gc > /dev/null
    echo "round $r: one provider ${one_runs[-1]} MB/s, $N providers ${many_runs[-1]} MB/s, $((d1 - d0)) of $((b1 - b0)) blocks twice"
done
one=$(median "${one_runs[@]}")
many=$(median "${many_runs[@]}")
echo "files:                $MIB MiB, $ROUNDS rounds; medians"
echo "one provider:         $one MB/s"
echo "$N providers:          $many MB/s"
echo "ratio:                $(python3 -c "print('%.2f' % ($many / $one))")x (bar: 1.5x)"
echo "duplicates:           $dups of $blocks blocks ($(python3 -c "print('%.2f' % (100 * $dups / max($blocks, 1)))")%, bar: 1%)"
