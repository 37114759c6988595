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
# Then, in the same rounds, rsipfs <- rsipfs: a second daemon (B) adds a
# random file of its own (RS_MIB MiB) and the first (A) fetches it twice:
#  4. `rsipfs cat` through A's daemon,
#  5. cat through A's /ipfs mount, after A's `repo gc` dropped the blocks,
# each copied to /dev/shm and checked by sha256. The figures go with their
# ratio to Kubo <- Kubo of the same rounds.
#   scripts/bench-bitswap.sh [SIZE_MB] [ROUNDS] [RS_MIB]
#     (default 200 MB, 6 rounds, 1024 MiB; RS_MIB 0 leaves the rsipfs legs out)
#   RS_TRANSPORT=tcp|quic: how A dials B (default tcp)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-200}
ROUNDS=${2:-6}
RS_MIB=${3:-1024}
RS_TRANSPORT=${RS_TRANSPORT:-tcp}
TOOLS=${SHARED_DIR:-$(cd .. && pwd)/shared}/tools
if [ "${INSIDE_NETNS:-}" != 1 ]; then
    cargo build --release --quiet
    exec env INSIDE_NETNS=1 "$TOOLS/netns.sh" bash "$0" "$@"
fi
BIN=$PWD/target/release/rsipfs
WORK=$(mktemp -d /var/tmp/rsipfs-bench-bitswap.XXXXXX)
# Fetched copies go to memory: a disk write-back of one must not slow the next.
COPY=$(mktemp /dev/shm/rsipfs-bench-copy.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK" "$COPY"
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

# B: the rsipfs provider, on TCP and QUIC.
B_REPO=$WORK/repo-b
b() { IPFS_PATH=$B_REPO "$BIN" "$@"; }
rs_runs=() rs_mount_runs=()
if [ "$RS_MIB" != 0 ]; then
    b init --profile test > /dev/null
    b config --json Addresses.Swarm '["/ip4/127.0.0.1/tcp/4202", "/ip4/127.0.0.1/udp/4202/quic-v1"]' > /dev/null
    IPFS_PATH=$B_REPO "$BIN" daemon > "$WORK/daemon-b.out" 2> "$WORK/daemon-b.err" &
    DAEMON_B=$!
    pids+=($DAEMON_B)
    for _ in $(seq 100); do grep -q "Daemon is ready" "$WORK/daemon-b.out" 2>/dev/null && break; sleep 0.1; done
    B_ID=$(b id | python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])')
    case $RS_TRANSPORT in
        quic) B_ADDR=/ip4/127.0.0.1/udp/4202/quic-v1/p2p/$B_ID ;;
        tcp) B_ADDR=/ip4/127.0.0.1/tcp/4202/p2p/$B_ID ;;
        *) echo "RS_TRANSPORT is quic or tcp" >&2; exit 2 ;;
    esac
    "$BIN" swarm connect "$B_ADDR" > /dev/null
fi
# Times "$@" (which writes $COPY); checks $COPY against sha256 $1 first; prints MB/s.
timed_copy() {
    local want=$1 start end
    shift
    sync
    start=$(date +%s.%N)
    "$@" > "$COPY"
    end=$(date +%s.%N)
    [ "$(sha256sum < "$COPY" | cut -d' ' -f1)" = "$want" ] || { echo "sha256 differs: $*" >&2; exit 1; }
    : > "$COPY"
    python3 -c "print('%.1f' % ($((RS_MIB << 20)) / 1e6 / ($end - $start)))"
}
# B adds a new random file; A fetches it through its daemon, then, once
# gc dropped it, through the mount.
rs_round() {
    head -c "$((RS_MIB << 20))" /dev/urandom > "$WORK/rs.bin"
    local sum rs_cid
    sum=$(sha256sum < "$WORK/rs.bin" | cut -d' ' -f1)
    rs_cid=$(b add -Q "$WORK/rs.bin")
    rm "$WORK/rs.bin"
    rs_runs+=("$(timed_copy "$sum" "$BIN" cat "$rs_cid")")
    "$BIN" repo gc > /dev/null
    rs_mount_runs+=("$(timed_copy "$sum" cat "$WORK/ipfs/$rs_cid")")
    "$BIN" repo gc > /dev/null
    b pin rm "$rs_cid" > /dev/null
    b repo gc > /dev/null
}

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
    if [ "$RS_MIB" != 0 ]; then
        rs_round
        echo "round $r: rsipfs <- rsipfs ${rs_runs[-1]} MB/s (cat), ${rs_mount_runs[-1]} MB/s (mount)"
    fi
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
if [ "$RS_MIB" != 0 ]; then
    rs_mbs=$(median "${rs_runs[@]}")
    rs_mount_mbs=$(median "${rs_mount_runs[@]}")
    echo "rsipfs <- rsipfs:     $rs_mbs MB/s (cat through the daemon, $RS_MIB MiB over $RS_TRANSPORT)"
    echo "ratio:                $(python3 -c "print('%.2f' % ($rs_mbs / $kubo_mbs))")x Kubo->Kubo of the medians, $(pairs rs_runs kubo_runs | paired)x paired (bar: 600 MB/s and 10x)"
    echo "rsipfs <- rsipfs:     $rs_mount_mbs MB/s (cat through the mount)"
    echo "ratio:                $(python3 -c "print('%.2f' % ($rs_mount_mbs / $kubo_mbs))")x Kubo->Kubo of the medians, $(pairs rs_mount_runs kubo_runs | paired)x paired (bar: 600 MB/s and 10x)"
    echo "B's peak RSS:         $(($(awk '/VmHWM/ {print $2}' "/proc/$DAEMON_B/status") / 1024)) MiB"
fi
echo "daemon peak RSS:      $((rss_kb / 1024)) MiB (bar: 200 MB)"
