#!/usr/bin/env bash
# An idle daemon with many connected peers: its RSS and CPU. N rsipfs
# peers (each on its own 127.0.x.y address, in a fresh network namespace)
# connect to one daemon T; once all are connected, T is left idle for
# SECONDS and its CPU time over that span (utime+stime from /proc) and its
# RSS (VmRSS, and VmHWM since start) are printed against the issue's bars:
# under 100 MB and under 2% of a core with 100 peers.
#   scripts/bench-idle-peers.sh [PEERS] [SECONDS]     (default 100 60)
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${1:-100}
SECONDS_IDLE=${2:-60}
TOOLS=${SHARED_DIR:-$(cd .. && pwd)/shared}/tools
if [ "${INSIDE_NETNS:-}" != 1 ]; then
    cargo build --release --quiet
    exec env INSIDE_NETNS=1 "$TOOLS/netns.sh" bash "$0" "$@"
fi
R=$PWD/target/release/rsipfs
W=$(mktemp -d /var/tmp/rsipfs-bench-idle.XXXXXX)
source tests/net/lib.sh
trap 'cleanup; rm -rf "$W"' EXIT

prepare t 0
IPFS_PATH=$W/t "$R" config --json Addresses.Swarm '["/ip4/127.0.0.2/tcp/4901"]'
# Kubo's watermarks would trim 100 peers to 96 and below: the bench wants
# them all kept.
IPFS_PATH=$W/t "$R" config --json Swarm.ConnMgr '{"Type":"none"}'
run t
T_PID=${pids[-1]}
T_ID=$(id_of t)
T_ADDR=/ip4/127.0.0.2/tcp/4901/p2p/$T_ID
for i in $(seq "$PEERS"); do
    ip=127.0.$((1 + i / 250)).$((2 + i % 250))
    prepare "p$i" 0
    IPFS_PATH=$W/p$i "$R" config --json Addresses.Swarm "[\"/ip4/$ip/tcp/4902\"]"
    IPFS_PATH=$W/p$i "$R" config --json Bootstrap "[\"$T_ADDR\"]"
    # Each peer meets the other 99 on its DHT walk, goes over its own high
    # watermark (96) and trims to 32 after the grace period, T among the
    # dropped; peering with T keeps that one connection, as a user would.
    IPFS_PATH=$W/p$i "$R" config --json Peering.Peers \
        "[{\"ID\": \"$T_ID\", \"Addrs\": [\"/ip4/127.0.0.2/tcp/4901\"]}]"
    run "p$i"
done
for _ in $(seq 600); do
    [ "$(IPFS_PATH=$W/t "$R" swarm peers | wc -l)" -ge "$PEERS" ] && break
    sleep 0.1
done
connected=$(IPFS_PATH=$W/t "$R" swarm peers | wc -l)
echo "peers connected to T: $connected"
# Let start-up work (first DHT walks, provides, the peers trimming their
# connections after the 20 s grace period) settle before measuring.
sleep 30
ticks() { awk '{print $14 + $15}' "/proc/$T_PID/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks)
sleep "$SECONDS_IDLE"
after=$(ticks)
still=$(IPFS_PATH=$W/t "$R" swarm peers | wc -l)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$T_PID/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$T_PID/status")
python3 - "$before" "$after" "$hz" "$SECONDS_IDLE" "$rss" "$hwm" "$still" <<'PY'
import sys
before, after, hz, secs, rss, hwm, still = map(float, sys.argv[1:])
cpu = (after - before) / hz / secs * 100
print(f"idle {secs:.0f} s with {still:.0f} peers: CPU {cpu:.2f}% of a core (bar < 2%), "
      f"RSS {rss / 1024:.1f} MiB, peak {hwm / 1024:.1f} MiB (bar < 100 MB)")
PY
