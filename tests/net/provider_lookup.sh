#!/usr/bin/env bash
# The DHT provider lookup on its own: C reads a file only A has, and the
# only way it can meet A is its lookup through B. C joins B and finishes
# its DHT walk before A joins B; iptables drops every first packet from A
# to C (conntrack NEW), so A's own walk cannot reach C either. QUIC only: a
# node sends from its listen socket, so the source address tells the nodes
# apart. Run inside tools/netns.sh.
#   provider_lookup.sh RSIPFS_BIN WORK_DIR
set -euo pipefail
R=$1; W=$2
source "$(dirname "$0")/lib.sh"

A=127.0.0.2; B=127.0.0.3; C=127.0.0.4
prepare a 0; prepare b 0; prepare c 0
for n in a:$A:4902 b:$B:4903 c:$C:4904; do
  IFS=: read -r name ip port <<< "$n"
  IPFS_PATH=$W/$name "$R" config --json Addresses.Swarm "[\"/ip4/$ip/udp/$port/quic-v1\"]"
done
iptables -A INPUT -s $A -d $C -p udp -m conntrack --ctstate NEW -j DROP

head -c 2000000 /dev/urandom > "$W/only-a.bin"
CID=$(IPFS_PATH=$W/a "$R" add -Q "$W/only-a.bin")
A_ID=$(id_of a)
run a; run b; RSIPFS_LOG=info,rsipfs::net=debug run c
IPFS_PATH=$W/c "$R" swarm connect "/ip4/$B/udp/4903/quic-v1/p2p/$(id_of b)" > /dev/null
for _ in $(seq 100); do grep -q "DHT walk done" "$W/c.err" && break; sleep 0.1; done
grep -q "DHT walk done: 1 peers known" "$W/c.err" || { echo "C's walk did not end with B alone"; exit 1; }
IPFS_PATH=$W/b "$R" swarm connect "/ip4/$A/udp/4902/quic-v1/p2p/$A_ID" > /dev/null
IPFS_PATH=$W/c "$R" swarm peers | grep -q "$A_ID" && { echo "C already knows A"; exit 1; }

start=$(date +%s.%N)
timeout 60 env IPFS_PATH="$W/c" "$R" cat "$CID" > "$W/got.bin"
took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$start" "$(date +%s.%N)")
cmp "$W/only-a.bin" "$W/got.bin" \
  && grep -q "asking the DHT for providers of $CID" "$W/c.err" \
  && IPFS_PATH=$W/c "$R" swarm peers | grep -q "/ip4/$A/udp/4902/quic-v1/p2p/$A_ID" \
  && echo "OK found A through the DHT provider lookup ($took s)"
