#!/usr/bin/env bash
# AutoNAT on loopback (AutoNAT.AllowPrivateAddresses on every node): P
# dials back those who ask. Q, open to all, is found public and its WAN DHT
# serves; B, whose port drops every incoming TCP SYN (its own connections
# still work), is found private: its WAN DHT turns client, and it takes a
# slot on P, met as a peer offering the relay service once P is public.
# TCP on 127.0.0.1: a node dials from its listen port, so P sees (and dials
# back) each at its listen address. N asks only S, whose
# AutoNAT.ServiceMode is disabled: refused, N stays unknown. Run inside
# tools/netns.sh.
#   autonat.sh RSIPFS_BIN WORK_DIR
set -euo pipefail
R=$1; W=$2
source "$(dirname "$0")/lib.sh"

prepare p 4941; prepare q 4942; prepare b 4943; prepare s 4944; prepare n 4945
for n in p q b s n; do
  IPFS_PATH=$W/$n "$R" config --json AutoNAT.AllowPrivateAddresses true
done
IPFS_PATH=$W/s "$R" config AutoNAT.ServiceMode disabled
iptables -A INPUT -p tcp --dport 4943 --syn -j DROP
RSIPFS_LOG=info,rsipfs::net=debug run p; RSIPFS_LOG=info run q; RSIPFS_LOG=info run b
run s; RSIPFS_LOG=info,rsipfs::net=debug run n
P_ID=$(id_of p)
for n in q b; do
  IPFS_PATH=$W/$n "$R" swarm connect "/ip4/127.0.0.1/tcp/4941/p2p/$P_ID" > /dev/null
done
IPFS_PATH=$W/n "$R" swarm connect "/ip4/127.0.0.1/tcp/4944/p2p/$(id_of s)" > /dev/null

reach_is() { IPFS_PATH=$W/$1 "$R" id | grep -q "\"Reachability\": \"$2\""; }
wan_mode() { IPFS_PATH=$W/$1 "$R" stats dht | grep -A1 "^DHT wan" | grep -q "Mode: $2"; }
wait_for() {
  local limit=$1; shift
  for _ in $(seq $((limit * 5))); do "$@" && return; sleep 0.2; done
  echo "gave up waiting for: $*"; return 1
}
reach_is q Unknown && reach_is b Unknown && wan_mode b server \
  && echo "OK reachability unknown at first, the WAN DHT serving"
# AutoNAT's first probe comes 15 s after start; a dial-back to B takes
# the 15 s dial timeout to fail.
wait_for 60 reach_is q Public
wan_mode q server && echo "OK Q found public, its WAN DHT a server"
wait_for 60 reach_is b Private
wan_mode b client && IPFS_PATH=$W/b "$R" stats dht | grep -A1 "^DHT lan" | grep -q "Mode: server" \
  && echo "OK B found private, its WAN DHT a client, its LAN DHT a server"
circuit() { IPFS_PATH=$W/b "$R" id | grep -q "/p2p/$P_ID/p2p-circuit"; }
wait_for 60 circuit
echo "OK B holds a slot on P, a relay it met"
refused() { grep -q "AutoNAT probe: Error .*DialRefused" "$W/n.err"; }
wait_for 30 refused
reach_is n Unknown && echo "OK a node with AutoNAT.ServiceMode disabled refuses to dial back"
