#!/usr/bin/env bash
# Provider records and the reprovide schedule across restarts, between
# rsipfs nodes on their own loopback addresses:
# - X, with Reprovider.Interval 2s, announces its blocks to B again and again;
# - A announces a file to B; B restarts (knowing no peer), C asks B and
#   reads the file from A, whom it can only have met through the record B
#   kept in its datastore;
# - A restarts: its schedule (1 h) is kept, so it does not announce at once.
# Run inside tools/netns.sh.
#   provider_restart.sh RSIPFS_BIN WORK_DIR
set -euo pipefail
R=$1; W=$2
source "$(dirname "$0")/lib.sh"

A=127.0.0.2; B=127.0.0.3; C=127.0.0.4; X=127.0.0.5
for n in a:$A:4802 b:$B:4803 c:$C:4804 x:$X:4805; do
  IFS=: read -r name ip port <<< "$n"
  prepare "$name" 0
  IPFS_PATH=$W/$name "$R" config --json Addresses.Swarm "[\"/ip4/$ip/tcp/$port\"]"
done
IPFS_PATH=$W/a "$R" config Reprovider.Interval 1h
IPFS_PATH=$W/x "$R" config Reprovider.Interval 2s
echo "x's own" | IPFS_PATH=$W/x "$R" add -Q > /dev/null
wait_log() { for _ in $(seq "$3"); do grep -q "$2" "$W/$1" && return; sleep 0.1; done; return 1; }
B_ADDR="/ip4/$B/tcp/4803/p2p/$(id_of b)"
A_ID=$(id_of a); X_ID=$(id_of x)

RSIPFS_LOG=info,rsipfs::net=debug run b   # pids[0]
RSIPFS_LOG=info,rsipfs::net=debug run a   # pids[1]
RSIPFS_LOG=info run x                     # pids[2]
IPFS_PATH=$W/x "$R" swarm connect "$B_ADDR" > /dev/null
IPFS_PATH=$W/a "$R" swarm connect "$B_ADDR" > /dev/null
wait_log a.err "LAN DHT walk done" 100

# X: a round every 2 s, each seen by B.
# On loopback both DHTs reach the same peers: the records go on one of them.
rounds() { grep -c "DHT: provider record from $X_ID" "$W/b.err" || true; }
for _ in $(seq 150); do [ "$(rounds)" -ge 3 ] && break; sleep 0.1; done
[ "$(rounds)" -ge 3 ] && echo "OK X reprovides every 2 s ($(rounds) rounds seen by B)"
IPFS_PATH=$W/x "$R" stats provide > "$W/x-stats.txt"
grep -q "^LastReprovideBatchSize: [1-9]" "$W/x-stats.txt" \
  && grep -q "^TotalProvides: *[1-9]" "$W/x-stats.txt" \
  && echo "OK stats provide shows the last round"

head -c 500000 /dev/urandom > "$W/only-a.bin"
CID=$(IPFS_PATH=$W/a "$R" add -Q "$W/only-a.bin")
wait_log b.err "DHT: provider record from $A_ID" 100
kill "${pids[2]}"; wait "${pids[2]}" 2>/dev/null || true   # X
# B's records are written within a tick; a clean stop writes the rest.
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
mv "$W/b.err" "$W/b-first.err"
RSIPFS_LOG=info,rsipfs::net=debug run b
RSIPFS_LOG=info,rsipfs::net=debug run c
IPFS_PATH=$W/c "$R" swarm connect "$B_ADDR" > /dev/null
IPFS_PATH=$W/b "$R" swarm peers | grep -q "$A_ID" && { echo "B met A again"; exit 1; }
IPFS_PATH=$W/c "$R" swarm peers | grep -q "$A_ID" && { echo "C already knows A"; exit 1; }
timeout 60 env IPFS_PATH="$W/c" "$R" cat "$CID" > "$W/got.bin"
cmp "$W/only-a.bin" "$W/got.bin" \
  && grep -q "asking the DHT for providers of $CID" "$W/c.err" \
  && echo "OK C found A through the record B kept across its restart"

# A's first round ran at its first start; restarted, it waits out the hour.
grep -q "reprovided [0-9]* CIDs" "$W/a.err" || { echo "A's first round did not run"; exit 1; }
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
mv "$W/a.err" "$W/a-first.err"
RSIPFS_LOG=info run a
wait_log a.err "next reprovide in" 100
grep -q "next reprovide in 3[56][0-9][0-9]s" "$W/a.err" \
  && ! grep -q "reprovided" "$W/a.err" \
  && echo "OK A restarted keeps its schedule: $(grep -o 'next reprovide in [0-9]*s' "$W/a.err")"

# `routing provide` announces at once: B, restarted, hears of a block A
# added before without announcing it (reprovide is an hour away).
LATE=$(echo late | IPFS_PATH=$W/a "$R" block put)
IPFS_PATH=$W/a "$R" swarm connect "$B_ADDR" > /dev/null
IPFS_PATH=$W/a "$R" routing provide "$LATE"
IPFS_PATH=$W/c "$R" routing findprovs "$LATE" | grep -qx "$A_ID" \
  && echo "OK routing provide announced a block findprovs then finds"
