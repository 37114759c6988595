#!/usr/bin/env bash
# rsipfs through Kubo's LAN DHT (/ipfs/lan/kad/1.0.0), the only DHT Kubo
# nodes answer on loopback. D is a Kubo node; rsipfs A publishes a name
# and adds a file while connected to D alone, then stops; rsipfs C, which
# never met A, resolves the name from D. Kubo P then adds a file and
# announces it to D; C reads it, meeting P through the provider lookup
# alone (iptables lets only D open connections to C). Run inside
# tools/netns.sh.
#   lan_dht_kubo.sh RSIPFS_BIN TOOLS_DIR WORK_DIR
set -euo pipefail
R=$1; T=$2; W=$3
source "$(dirname "$0")/lib.sh"
K=$T/kubo-peer

P=127.0.0.2; D=127.0.0.3; C=127.0.0.4; A=127.0.0.5
json() { for _ in $(seq 300); do [ -s "$W/$1.json" ] && break; sleep 0.2; done
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$W/$1.json"; }

echo seed > "$W/seed.txt"
"$K" serve --ip $D --port 4603 --quic "$W/seed.txt" > "$W/d.json" 2> "$W/d-kubo.err" &
pids+=($!)
D_ID=$(json d 'd["peer_id"]')

# A (TCP, so that a dial to it once stopped is refused at once).
prepare a 0
IPFS_PATH=$W/a "$R" config --json Addresses.Swarm "[\"/ip4/$A/tcp/4605\"]"
RSIPFS_LOG=rsipfs::net=debug run a
IPFS_PATH=$W/a "$R" swarm connect "/ip4/$D/tcp/4603/p2p/$D_ID" > /dev/null
# Once D is in A's LAN table (identify done), puts and provides reach it.
for _ in $(seq 100); do grep -q "LAN DHT walk done" "$W/a.err" && break; sleep 0.1; done
# Added online: announced at once.
head -c 300000 /dev/urandom > "$W/only-a.bin"
CID_A=$(IPFS_PATH=$W/a "$R" add -Q "$W/only-a.bin")
NAME=$(IPFS_PATH=$W/a "$R" name publish -Q "/ipfs/$CID_A")
grep -q "Lan DHT: putting a value with" "$W/a.err" && echo "OK A put its name in Kubo's LAN DHT"
# Before A republishes its name (1 min), which would connect them anyway.
# Alone it takes about 1 s; under load Kubo has taken 31 s (its bitswap).
timeout 45 "$K" fetch --ip 127.0.0.6 --port 4606 "/ip4/$D/tcp/4603/p2p/$D_ID" "$CID_A" "$W/kubo-got.bin" \
  > "$W/fetch.json" 2> "$W/fetch-kubo.err"
cmp "$W/only-a.bin" "$W/kubo-got.bin" && echo "OK a Kubo node that knows only D read A's file"
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true

# C: QUIC, so it sends from its own address; only D may open connections to it.
iptables -A INPUT -d $C -m conntrack --ctstate NEW ! -s $D -j DROP
prepare c 0
IPFS_PATH=$W/c "$R" config --json Addresses.Swarm "[\"/ip4/$C/udp/4604/quic-v1\"]"
RSIPFS_LOG=info,rsipfs::net=debug run c
IPFS_PATH=$W/c "$R" swarm connect "/ip4/$D/udp/4603/quic-v1/p2p/$D_ID" > /dev/null
for _ in $(seq 100); do grep -q "LAN DHT walk done" "$W/c.err" && break; sleep 0.1; done
grep -q "LAN DHT walk done: [1-9]" "$W/c.err" && echo "OK C's LAN DHT took Kubo node D"
GOT=$(IPFS_PATH=$W/c timeout 60 "$R" name resolve "$NAME")
[ "$GOT" = "/ipfs/$CID_A" ] && echo "OK C resolved A's name from Kubo's LAN DHT, A being gone"

head -c 1000000 /dev/urandom > "$W/only-p.bin"
"$K" serve --ip $P --port 4602 --quic --bootstrap "/ip4/$D/udp/4603/quic-v1/p2p/$D_ID" \
  "$W/only-p.bin" > "$W/p.json" 2> "$W/p-kubo.err" &
pids+=($!)
CID_P=$(json p "d['cids']['$W/only-p.bin']")
P_ID=$(json p 'd["peer_id"]')
IPFS_PATH=$W/c "$R" swarm peers | grep -q "$P_ID" && { echo "C already knows P"; exit 1; }
timeout 60 env IPFS_PATH="$W/c" "$R" cat "$CID_P" > "$W/got-p.bin"
cmp "$W/only-p.bin" "$W/got-p.bin" \
  && grep -q "asking the DHT for providers of $CID_P" "$W/c.err" \
  && echo "OK C found Kubo node P through the LAN DHT provider lookup"

# The same through `routing`: the providers, a peer's addresses, the record.
IPFS_PATH=$W/c "$R" routing findprovs -n 1 "$CID_P" | grep -qx "$P_ID" \
  && echo "OK routing findprovs lists P"
IPFS_PATH=$W/c "$R" routing findpeer "$P_ID" | grep -qx "/ip4/$P/udp/4602/quic-v1" \
  && echo "OK routing findpeer gives P's address"
IPFS_PATH=$W/c "$R" routing get "/ipns/$NAME" > "$W/record.bin"
IPFS_PATH=$W/c "$R" name inspect "$W/record.bin" | grep -q "/ipfs/$CID_A" \
  && echo "OK routing get gives A's record"
