#!/usr/bin/env bash
# Bitswap over loopback, in one run inside a fresh network namespace:
#  1. Kubo fetching a file from Kubo (the reference),
#  2. rsipfs fetching it from Kubo (cat through the /ipfs mount),
#  3. Kubo fetching it from rsipfs.
# Prints MB/s, the ratios, and the daemon's peak RSS.
#   scripts/bench-bitswap.sh [SIZE_MB]     (default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-200}
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

head -c "$((SIZE_MB * 1000 * 1000))" /dev/urandom > "$WORK/input.bin"
"$TOOLS/kubo-peer" serve --port 4101 "$WORK/input.bin" > "$WORK/peer.json" 2>/dev/null &
pids+=($!)
for _ in $(seq 300); do [ -s "$WORK/peer.json" ] && break; sleep 0.2; done
peer=$(cat "$WORK/peer.json")
KUBO="$(field "$peer" '["addrs"][0]')/p2p/$(field "$peer" '["peer_id"]')"
CID=$(field "$peer" "['cids']['$WORK/input.bin']")

kubo=$("$TOOLS/kubo-peer" fetch "$KUBO" "$CID" "$WORK/kubo-copy.bin" --port 4102 --timeout 600)
kubo_mbs=$(field "$kubo" '["mb_per_s"]')

export IPFS_PATH=$WORK/repo
"$BIN" init > /dev/null
"$BIN" config Addresses.API /ip4/127.0.0.1/tcp/0 > /dev/null
"$BIN" config Addresses.Gateway /ip4/127.0.0.1/tcp/0 > /dev/null
"$BIN" config --json Addresses.Swarm '["/ip4/127.0.0.1/tcp/4201"]' > /dev/null
"$BIN" daemon --mount --ipfs "$WORK/ipfs" --mfs "$WORK/mfs" > "$WORK/daemon.out" 2> "$WORK/daemon.err" &
DAEMON=$!
pids+=($DAEMON)
for _ in $(seq 100); do grep -q "Daemon is ready" "$WORK/daemon.out" 2>/dev/null && break; sleep 0.1; done
"$BIN" swarm connect "$KUBO" > /dev/null
start=$(date +%s.%N)
cat "$WORK/ipfs/$CID" > "$WORK/ours-copy.bin"
end=$(date +%s.%N)
cmp "$WORK/input.bin" "$WORK/ours-copy.bin"
ours_mbs=$(python3 -c "print('%.1f' % ($SIZE_MB / ($end - $start)))")

ID=$("$BIN" id | python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])')
from_us=$("$TOOLS/kubo-peer" fetch "/ip4/127.0.0.1/tcp/4201/p2p/$ID" "$CID" "$WORK/from-us.bin" --port 4103 --timeout 600)
from_us_mbs=$(field "$from_us" '["mb_per_s"]')
cmp "$WORK/input.bin" "$WORK/from-us.bin"
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$DAEMON/status")

echo "file:                 $SIZE_MB MB, $CID"
echo "kubo <- kubo:         $kubo_mbs MB/s (reference)"
echo "rsipfs <- kubo:       $ours_mbs MB/s (cat through the mount)"
echo "ratio:                $(python3 -c "print('%.2f' % ($ours_mbs / $kubo_mbs))")x Kubo->Kubo (bar: 2x)"
echo "kubo <- rsipfs:       $from_us_mbs MB/s"
echo "ratio:                $(python3 -c "print('%.2f' % ($from_us_mbs / $kubo_mbs))")x Kubo->Kubo (bar: 1x)"
echo "daemon peak RSS:      $((rss_kb / 1024)) MiB (bar: 200 MB)"
