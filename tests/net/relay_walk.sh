#!/usr/bin/env bash
# A private node finds a relay on a DHT walk. E (forced private, no static
# relay; behind a NAT: new connections to it are dropped) knows only Q, a public DHT server without the relay service, so it
# holds no slot. P, a public relay, joins afterwards and meets Q alone: E
# never hears of it but by walking the DHT again, which it does while it
# lacks relays, and then takes a slot on P. Run inside tools/netns.sh.
#   relay_walk.sh RSIPFS_BIN WORK_DIR
set -euo pipefail
R=$1; W=$2
source "$(dirname "$0")/lib.sh"
cfg() { IPFS_PATH=$W/$1 "$R" config --json "$2" "$3"; }
prepare q 0; prepare e 0; prepare p 0
cfg q Addresses.Swarm '["/ip4/127.0.0.2/tcp/4951"]'
cfg e Addresses.Swarm '["/ip4/127.0.0.3/tcp/4952"]'
cfg p Addresses.Swarm '["/ip4/127.0.0.4/tcp/4953"]'
cfg q Internal.Libp2pForceReachability '"public"'
cfg q Swarm.RelayService '{"Enabled": false}'
cfg p Internal.Libp2pForceReachability '"public"'
cfg e Internal.Libp2pForceReachability '"private"'
Q_ADDR=/ip4/127.0.0.2/tcp/4951/p2p/$(id_of q)
P_ID=$(id_of p)
cfg e Bootstrap "[\"$Q_ADDR\"]"
cfg p Bootstrap "[\"$Q_ADDR\"]"

iptables -A INPUT -p tcp -d 127.0.0.3 -m conntrack --ctstate NEW -j DROP
RSIPFS_LOG=info run q
RSIPFS_LOG=info run e
for _ in $(seq 100); do grep -q "relay: walking the DHT" "$W/e.err" && break; sleep 0.1; done
grep -q "relay: walking the DHT" "$W/e.err" && echo "OK E, private without relays, walks the DHT for one"
RSIPFS_LOG=info run p
for _ in $(seq 600); do grep -q "relay: slot reserved on $P_ID" "$W/e.err" && break; sleep 0.1; done
grep -q "relay: slot reserved on $P_ID" "$W/e.err" \
  && [ "$(grep -c "relay: walking the DHT" "$W/e.err")" -ge 2 ] \
  && echo "OK E took a slot on P, met on a later walk"
IPFS_PATH=$W/e "$R" id | grep -q "/p2p/$P_ID/p2p-circuit" && echo "OK E announces its address through P"
! grep -q "offers the relay service" <(grep "$(id_of q)" "$W/e.err") && echo "OK Q was not taken for a relay"
