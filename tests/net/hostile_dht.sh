#!/usr/bin/env bash
# A hostile peer on the DHT (examples/dht_junk): garbage, an oversized
# message, malformed protobuf and an unknown message type each get the
# stream closed while the node keeps answering; a provider record in
# another peer's name is not kept; a record for content the liar lacks is
# kept (a DHT cannot know) but costs a fetcher nothing: it reads the file
# from the honest provider; a flood of 20 000 records leaves the node
# answering with bounded memory. Run inside tools/netns.sh.
#   hostile_dht.sh RSIPFS_BIN JUNK_BIN WORK_DIR
set -euo pipefail
R=$1; JUNK=$2; W=$3
source "$(dirname "$0")/lib.sh"
prepare t 0; prepare h 0; prepare f 0
IPFS_PATH=$W/t "$R" config --json Addresses.Swarm '["/ip4/127.0.0.2/tcp/4501"]'
IPFS_PATH=$W/h "$R" config --json Addresses.Swarm '["/ip4/127.0.0.3/tcp/4502"]'
IPFS_PATH=$W/f "$R" config --json Addresses.Swarm '["/ip4/127.0.0.4/tcp/4503"]'
head -c 700000 /dev/urandom > "$W/file.bin"
CID=$(IPFS_PATH=$W/h "$R" add -Q "$W/file.bin")
RSIPFS_LOG=info,libp2p_kad=trace run t
T_PID=${pids[-1]}
T_ADDR=/ip4/127.0.0.2/tcp/4501/p2p/$(id_of t)
run h
IPFS_PATH=$W/h "$R" swarm connect "$T_ADDR" > /dev/null
IPFS_PATH=$W/h "$R" routing provide "$CID" > /dev/null
H_ID=$(id_of h)
for _ in $(seq 100); do
  IPFS_PATH=$W/t "$R" routing findprovs -n 2 "$CID" 2>/dev/null | grep -q "$H_ID" && break
  sleep 0.1
done

"$JUNK" "$T_ADDR" /ipfs/lan/kad/1.0.0 /ip4/127.0.0.5/tcp/4505 "$CID" > "$W/junk.out" 2> "$W/junk.err" &
pids+=($!)
for _ in $(seq 600); do grep -q "^ready" "$W/junk.out" && break; sleep 0.1; done
cat "$W/junk.out"
grep -q "^ready" "$W/junk.out" || { echo "the junk peer did not finish"; cat "$W/junk.err"; exit 1; }
for kind in garbage oversized malformed "unknown type"; do
  grep -q "^$kind closed: true" "$W/junk.out" && echo "OK $kind: stream closed"
done
grep -q "^answers after junk: [0-9]" "$W/junk.out" && echo "OK the node answers after the junk"
LIAR=$(sed -n 's/^liar: //p' "$W/junk.out")
read -r SPOOFED OTHER < <(sed -n 's/^spoofed: //p' "$W/junk.out")
IPFS_PATH=$W/t "$R" routing findprovs -n 5 "$CID" > "$W/provs.txt"
grep -q "$LIAR" "$W/provs.txt" && grep -q "$H_ID" "$W/provs.txt" \
  && echo "OK the liar's record is kept beside the honest one"
# Sent before the liar's own record, so it would be kept by now.
IPFS_PATH=$W/t "$R" routing findprovs -n 5 "$SPOOFED" > "$W/spoofed.txt" || true
! grep -q "$OTHER" "$W/spoofed.txt" && echo "OK a record in another peer's name is not kept"
grep -q "^answers after the flood: [0-9]" "$W/junk.out" && echo "OK the node answers after the flood"
grep -q "Inbound substream error" "$W/t.err" && echo "OK refusals logged"

mkdir -p "$W/f-ipfs" "$W/f-mfs"
run f --mount --ipfs "$W/f-ipfs" --mfs "$W/f-mfs"
IPFS_PATH=$W/f "$R" swarm connect "$T_ADDR" > /dev/null
start=$(date +%s)
timeout 60 cat "$W/f-ipfs/$CID" > "$W/got.bin"
cmp -s "$W/file.bin" "$W/got.bin" \
  && echo "OK the file is read from the honest provider in $(( $(date +%s) - start )) s"

rss=$(awk '/VmHWM/ {print $2}' "/proc/$T_PID/status")
echo "target peak RSS: $((rss / 1024)) MiB"
[ "$rss" -lt $((200 * 1024)) ] && echo "OK memory bounded"
IPFS_PATH=$W/t "$R" id > /dev/null && echo "OK the node is up"
