#!/usr/bin/env bash
# Reachability through a relay (circuit v2) and hole punching (DCUtR).
# R (forced public) runs the relay service, with room for one slot. B
# (forced private) holds that slot, its static relay, and is fenced off so
# that only R reaches it. (1) A knows only R; it finds B through the DHT (R
# keeps B's provider record, with B's relay address) and reads a file only
# B has through R. (2) With rules that drop only unsolicited packets to B,
# D reaches B through R and the hole punch makes the connection direct; a
# second file moves on it. (3) C asks R for a slot too and is refused.
# QUIC only: a node sends from its listen socket, so the source address
# tells the nodes apart (tools README, Fencing). Run inside tools/netns.sh.
#   relay.sh RSIPFS_BIN WORK_DIR
set -euo pipefail
R=$1; W=$2
source "$(dirname "$0")/lib.sh"

IP_R=127.0.0.2; IP_B=127.0.0.3; IP_A=127.0.0.4; IP_D=127.0.0.5; IP_C=127.0.0.6
for n in r:$IP_R:4931 b:$IP_B:4932 a:$IP_A:4933 d:$IP_D:4934 c:$IP_C:4935; do
  IFS=: read -r name ip port <<< "$n"
  prepare "$name" 0
  IPFS_PATH=$W/$name "$R" config --json Addresses.Swarm "[\"/ip4/$ip/udp/$port/quic-v1\"]"
done
cfg() { IPFS_PATH=$W/$1 "$R" config --json "$2" "$3"; }
R_ID=$(id_of r); B_ID=$(id_of b)
RELAY=/ip4/$IP_R/udp/4931/quic-v1/p2p/$R_ID
cfg r Internal.Libp2pForceReachability '"public"'
# Room for a few MB through a circuit, one slot in all.
cfg r Swarm.RelayService '{"Enabled": true, "MaxReservations": 1, "Limit": {"Data": 67108864, "Duration": "5m"}}'
for n in b c; do
  cfg $n Internal.Libp2pForceReachability '"private"'
  cfg $n Swarm.RelayClient "{\"StaticRelays\": [\"$RELAY\"]}"
done

head -c 3000000 /dev/urandom > "$W/first.bin"
head -c 2000000 /dev/urandom > "$W/second.bin"
FIRST=$(IPFS_PATH=$W/b "$R" add -Q "$W/first.bin")
SECOND=$(IPFS_PATH=$W/b "$R" add -Q "$W/second.bin")

# wait_for SECONDS COMMAND...: until COMMAND succeeds, or fails the test.
wait_for() {
  local limit=$1; shift
  for _ in $(seq $((limit * 5))); do "$@" && return; sleep 0.2; done
  echo "gave up waiting for: $*"; return 1
}
peer_addr() { IPFS_PATH=$W/$1 "$R" swarm peers | grep "/p2p/$2\$" || true; }

# B talks to R alone, both ways.
iptables -A INPUT -d $IP_B ! -s $IP_R -j DROP
iptables -A INPUT -s $IP_B ! -d $IP_R -j DROP

RSIPFS_LOG=info run r; RSIPFS_LOG=info run b
circuit_listed() { IPFS_PATH=$W/b "$R" id | grep -q "$RELAY/p2p-circuit/p2p/$B_ID"; }
wait_for 30 circuit_listed
echo "OK B reserved a slot on R and announces its relay address"
IPFS_PATH=$W/b "$R" id | grep -q '"Reachability": "Private"' \
  && IPFS_PATH=$W/b "$R" stats dht | grep -A1 "^DHT wan" | grep -q "Mode: client" \
  && IPFS_PATH=$W/r "$R" id | grep -q '"Reachability": "Public"' \
  && IPFS_PATH=$W/r "$R" stats dht | grep -A1 "^DHT wan" | grep -q "Mode: server" \
  && echo "OK private B is a WAN DHT client, public R a server"
IPFS_PATH=$W/b "$R" routing provide "$FIRST" > /dev/null

# (1) A finds B through the DHT and reads through R.
RSIPFS_LOG=info run a
IPFS_PATH=$W/a "$R" swarm connect "$RELAY" > /dev/null
provider_known() { IPFS_PATH=$W/a "$R" routing findprovs "$FIRST" | grep -q "$B_ID"; }
wait_for 30 provider_known
timeout 120 env IPFS_PATH="$W/a" "$R" cat "$FIRST" > "$W/first.got"
[ "$(sha256sum < "$W/first.bin")" = "$(sha256sum < "$W/first.got")" ] \
  && echo "OK A read B's file through the relay, sha256 equal"
peer_addr a "$B_ID" | grep -q "^$RELAY/p2p-circuit/p2p/$B_ID\$" \
  && echo "OK A is connected to B through R only"

# (2) Unsolicited packets to B dropped, answers let through: a hole punch.
iptables -F INPUT
iptables -A INPUT -d $IP_B ! -s $IP_R -m conntrack --ctstate NEW -j DROP
RSIPFS_LOG=info run d
IPFS_PATH=$W/d "$R" swarm connect "$RELAY/p2p-circuit/p2p/$B_ID" > /dev/null
direct() { peer_addr d "$B_ID" | grep -q "^/ip4/$IP_B/udp/4932/quic-v1/p2p/$B_ID\$"; }
wait_for 30 direct
punched() { cat "$W/b.err" "$W/d.err" | grep -q "hole punch: direct connection to"; }
wait_for 10 punched
echo "OK the hole punch made D's connection to B direct"
timeout 60 env IPFS_PATH="$W/d" "$R" cat "$SECOND" > "$W/second.got"
[ "$(sha256sum < "$W/second.bin")" = "$(sha256sum < "$W/second.got")" ] \
  && echo "OK D read B's second file, sha256 equal"

# (3) C wants a slot too: over R's limit, refused and logged.
RSIPFS_LOG=info run c
refused() { grep -q "relay service: refused .* reservation" "$W/r.err"; }
wait_for 30 refused
grep -q "relay: no slot on $R_ID" "$W/c.err" \
  && ! IPFS_PATH=$W/c "$R" id | grep -q p2p-circuit \
  && circuit_listed \
  && echo "OK R refused a reservation over its limit and kept B's"
