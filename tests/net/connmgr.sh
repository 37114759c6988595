#!/usr/bin/env bash
# The connection manager: hub H with small watermarks (LowWater 4,
# HighWater 8) is dialled by 12 nodes and trims them, sparing P (in its
# Peering.Peers) and Q (added with `swarm peering add`); P killed and
# restarted is dialled again. Run inside tools/netns.sh.
#   connmgr.sh RSIPFS_BIN WORK_DIR
set -euo pipefail
R=$1; W=$2
source "$(dirname "$0")/lib.sh"

peers_of() { IPFS_PATH=$W/$1 "$R" swarm peers "${@:2}"; }
# wait_for SECONDS COMMAND…: until it succeeds, or fail.
wait_for() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  until "$@"; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.2
  done
}

prepare p 4600; prepare q 4599; prepare h 4610
for i in $(seq 12); do prepare "n$i" $((4620 + i)); done
IPFS_PATH=$W/h "$R" config --json Swarm.ConnMgr \
  '{"Type":"basic","LowWater":4,"HighWater":8,"GracePeriod":"2s"}'
run p
P=$(id_of p)
IPFS_PATH=$W/h "$R" config --json Peering.Peers \
  "[{\"ID\":\"$P\",\"Addrs\":[\"/ip4/127.0.0.1/tcp/4600\"]}]"
export RSIPFS_LOG=info; run h; unset RSIPFS_LOG
run q
H=$(id_of h); Q=$(id_of q)
has_p() { peers_of h | grep -q "$P"; }
wait_for 20 has_p && echo "OK peering peer connected at start"
peers_of h --direction | grep "$P" | grep -q outbound && echo "OK direction shown"
IPFS_PATH=$W/h "$R" swarm peering add "/ip4/127.0.0.1/tcp/4599/p2p/$Q" | grep -q "add $Q success"
IPFS_PATH=$W/h "$R" swarm peering ls | grep -q "$Q" && echo "OK peering ls"
has_q() { peers_of h | grep -q "$Q"; }
wait_for 20 has_q
for i in $(seq 12); do run "n$i"; done
for i in $(seq 12); do
  IPFS_PATH=$W/n$i "$R" swarm connect "/ip4/127.0.0.1/tcp/4610/p2p/$H" > /dev/null
done
# Peers still in their grace period are spared by one round and closed by
# a later one.
trimmed() { [ "$(peers_of h | wc -l)" -le 8 ]; }
wait_for 30 trimmed || echo "peers after trim: $(peers_of h | wc -l)"
grep -q "connection manager:" "$W/h.err" && trimmed && echo "OK trimmed below the high watermark"
has_p && has_q && echo "OK protected peers kept"
grep -q "peering: lost" "$W/h.err" && { echo "a protected peer was dropped"; exit 1; }
peers_of h -v | grep "$P" | grep -Eq "[0-9.]+(µs|us|ms|s) outbound" && echo "OK latency shown"

# P dies and comes back on the same address: H dials it again.
kill -9 "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
lost() { ! has_p; }
wait_for 20 lost
run p
wait_for 40 has_p && echo "OK peering peer reconnected"
