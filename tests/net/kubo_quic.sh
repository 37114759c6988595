#!/usr/bin/env bash
# rsipfs and Kubo over QUIC alone, both ways: each listens on QUIC only,
# rsipfs dials Kubo and reads its file, then Kubo dials rsipfs and fetches
# ours. Run inside tools/netns.sh.
#   kubo_quic.sh RSIPFS_BIN TOOLS_DIR WORK_DIR
set -euo pipefail
R=$1; T=$2; W=$3
source "$(dirname "$0")/lib.sh"

head -c 2500000 /dev/urandom > "$W/kubo.bin"
"$T/kubo-peer" serve --ip 127.0.0.2 --port 4702 --quic --no-tcp "$W/kubo.bin" \
  > "$W/peer.json" 2> "$W/peer.err" &
pids+=($!)
prepare node 0
IPFS_PATH=$W/node "$R" config --json Addresses.Swarm '["/ip4/127.0.0.3/udp/4703/quic-v1"]'
head -c 1500000 /dev/urandom > "$W/ours.bin"
OURS=$(IPFS_PATH=$W/node "$R" add -Q "$W/ours.bin")
run node
export IPFS_PATH=$W/node
for _ in $(seq 300); do [ -s "$W/peer.json" ] && break; sleep 0.2; done
field() { python3 -c "import json,sys; d=json.load(open('$W/peer.json')); print($1)"; }
KUBO_ID=$(field 'd["peer_id"]')
KUBO_ADDR=$(field '[a for a in d["addrs"] if "quic-v1" in a][0]')
KUBO_CID=$(field "d['cids']['$W/kubo.bin']")

"$R" swarm connect "$KUBO_ADDR/p2p/$KUBO_ID" > /dev/null
"$R" swarm peers | grep -q "quic-v1/p2p/$KUBO_ID" && echo "OK connected to Kubo over QUIC"
timeout 60 "$R" cat "$KUBO_CID" > "$W/got-kubo.bin"
cmp "$W/kubo.bin" "$W/got-kubo.bin" && echo "OK read from Kubo over QUIC"

ID=$(id_of node)
timeout 60 "$T/kubo-peer" fetch "/ip4/127.0.0.3/udp/4703/quic-v1/p2p/$ID" "$OURS" "$W/kubo-got.bin" \
  --ip 127.0.0.4 --port 4704 > "$W/fetch.json"
cmp "$W/ours.bin" "$W/kubo-got.bin" && echo "OK Kubo fetched from rsipfs over QUIC"
