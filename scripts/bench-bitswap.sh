#!/usr/bin/env bash
# Bitswap over loopback, in one run inside a fresh network namespace. Each
# round takes a file of its own, and for it:
#  1. rsipfs fetches it from Kubo (cat through the /ipfs mount),
#  2. Kubo fetches it from Kubo (the reference),
#  3. Kubo fetches it from rsipfs.
# One transfer varies by half from run to run on these shared machines (the
# fetching Kubo sets the pace), so the rounds interleave the three and each
# figure is the median over the rounds. The transfer just after rsipfs's own
# fetch runs slower whichever node serves it (swapping the two Kubo fetches
# swaps their ratio), so 2 and 3 take turns going first. Prints MB/s, the
# ratios, and the daemon's peak RSS. Each ratio is given two ways: of the
# medians, and paired (the geometric mean of the rounds' own ratios, in
# which the turn-taking cancels the going-first cost).
#   scripts/bench-bitswap.sh [SIZE_MB] [ROUNDS]     (default 200 MB, 6 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-200}
ROUNDS=${2:-6}
TOOLS=${SHARED_DIR:-$(cd .. && pwd)/shared}/tools
if [ "${INSIDE_NETNS:-}" != 1 ]; then
    cargo build --release --quiet
    exec env INSIDE_NETNS=1 "$TOOLS/netns.sh" bash "$0" "$@"
fi
BIN=$PWD/target/release/rsipfs
WORK=$(mktemp -d /var/tmp/rsipfs-bench-bitswap.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])$2)" "$1"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# paired A B: the geometric mean of A[i]/B[i] over the rounds ("a b a b ..." on stdin).
paired() { python3 -c "import math,sys; v=list(map(float,sys.stdin.read().split())); r=[a/b for a,b in zip(v[::2],v[1::2])]; print('%.2f' % math.exp(sum(map(math.log,r))/len(r)))"; }
pairs() { local -n num=$1 den=$2; for i in "${!num[@]}"; do echo "${num[$i]} ${den[$i]}"; done; }

inputs=()
for r in $(seq "$ROUNDS"); do
    head -c "$((SIZE_MB * 1000 * 1000))" /dev/urandom > "$WORK/input-$r.bin"
    inputs+=("$WORK/input-$r.bin")
done
"$TOOLS/kubo-peer" serve --port 4101 "${inputs[@]}" > "$WORK/peer.json" 2>/dev/null &
pids+=($!)
for _ in $(seq 300); do [ -s "$WORK/peer.json" ] && break; sleep 0.2; done
peer=$(cat "$WORK/peer.json")
KUBO="$(field "$peer" '["addrs"][0]')/p2p/$(field "$peer" '["peer_id"]')"

export IPFS_PATH=$WORK/repo
"$BIN" init --profile test > /dev/null
"$BIN" config --json Addresses.Swarm '["/ip4/127.0.0.1/tcp/4201"]' > /dev/null
"$BIN" daemon --mount --ipfs "$WORK/ipfs" --mfs "$WORK/mfs" > "$WORK/daemon.out" 2> "$WORK/daemon.err" &
DAEMON=$!
pids+=($DAEMON)
for _ in $(seq 100); do grep -q "Daemon is ready" "$WORK/daemon.out" 2>/dev/null && break; sleep 0.1; done
"$BIN" swarm connect "$KUBO" > /dev/null
ID=$("$BIN" id | python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])')

kubo_runs=() ours_runs=() from_us_runs=()
# A Kubo node on port $2 fetches $CID from $1 (a multiaddr); prints MB/s.
kubo_fetch() {
    # Each transfer starts with nothing of the last one left to write back.
    sync
    local out
    out=$("$TOOLS/kubo-peer" fetch "$1" "$CID" "$WORK/copy.bin" --port "$2" --timeout 600)
    cmp "$input" "$WORK/copy.bin"
    field "$out" '["mb_per_s"]'
}
from_kubo() { kubo_runs+=("$(kubo_fetch "$KUBO" $((4300 + 2 * r)))"); }
from_us() { from_us_runs+=("$(kubo_fetch "/ip4/127.0.0.1/tcp/4201/p2p/$ID" $((4301 + 2 * r)))"); }
for r in $(seq "$ROUNDS"); do
    input=$WORK/input-$r.bin
    CID=$(field "$peer" "['cids']['$input']")
    sync
    start=$(date +%s.%N)
    cat "$WORK/ipfs/$CID" > "$WORK/copy.bin"
    end=$(date +%s.%N)
    cmp "$input" "$WORK/copy.bin"
    ours_runs+=("$(python3 -c "print('%.1f' % ($SIZE_MB / ($end - $start)))")")
    if [ $((r % 2)) = 1 ]; then
        from_kubo
        from_us
    else
        from_us
        from_kubo
    fi
    rm -f "$WORK/copy.bin"
    echo "round $r: kubo <- kubo ${kubo_runs[-1]}, rsipfs <- kubo ${ours_runs[-1]}, kubo <- rsipfs ${from_us_runs[-1]} MB/s ($(python3 -c "print('%.2f' % (${from_us_runs[-1]} / ${kubo_runs[-1]}))")x)"
done
kubo_mbs=$(median "${kubo_runs[@]}")
ours_mbs=$(median "${ours_runs[@]}")
from_us_mbs=$(median "${from_us_runs[@]}")
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$DAEMON/status")

echo "files:                $ROUNDS of $SIZE_MB MB; medians over the rounds"
echo "kubo <- kubo:         $kubo_mbs MB/s (reference)"
echo "rsipfs <- kubo:       $ours_mbs MB/s (cat through the mount)"
echo "ratio:                $(python3 -c "print('%.2f' % ($ours_mbs / $kubo_mbs))")x Kubo->Kubo of the medians, $(pairs ours_runs kubo_runs | paired)x paired (bar: 2x)"
echo "kubo <- rsipfs:       $from_us_mbs MB/s"
echo "ratio:                $(python3 -c "print('%.2f' % ($from_us_mbs / $kubo_mbs))")x Kubo->Kubo of the medians, $(pairs from_us_runs kubo_runs | paired)x paired (bar: 1x)"
echo "daemon peak RSS:      $((rss_kb / 1024)) MiB (bar: 200 MB)"
