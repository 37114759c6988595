#!/usr/bin/env bash
# Content added to rsipfs is found and fetched by a Kubo node and by a
# Helia node that know only the bootstrap node B (an rsipfs DHT server).
# R adds a file and a raw block while its daemon runs; the announcements
# reach B; Kubo (LAN DHT, as on loopback) fetches the file and Helia (its
# Kad DHT on /ipfs/kad/1.0.0) the block, each told only B's address.
# Run inside tools/netns.sh.
#   found_by_others.sh RSIPFS_BIN TOOLS_DIR NODE_BIN WORK_DIR
set -euo pipefail
R=$1; T=$2; NODE=$3; W=$4
source "$(dirname "$0")/lib.sh"
JS=$(cd "$(dirname "$0")/../js" && pwd)

RIP=127.0.0.2; B=127.0.0.3
prepare r 0; prepare b 0
IPFS_PATH=$W/r "$R" config --json Addresses.Swarm "[\"/ip4/$RIP/tcp/4702\"]"
IPFS_PATH=$W/b "$R" config --json Addresses.Swarm "[\"/ip4/$B/tcp/4703\"]"
B_ID=$(id_of b); R_ID=$(id_of r)
B_ADDR=/ip4/$B/tcp/4703/p2p/$B_ID
IPFS_PATH=$W/r "$R" config --json Bootstrap "[\"$B_ADDR\"]"
run b; run r

head -c 3000000 /dev/urandom > "$W/file.bin"
FILE=$(IPFS_PATH=$W/r "$R" add -Q "$W/file.bin")
TEXT="a block only rsipfs R has: $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
BLOCK=$(printf '%s' "$TEXT" | IPFS_PATH=$W/r "$R" block put)
IPFS_PATH=$W/r "$R" routing provide "$FILE" "$BLOCK" > /dev/null
known_at_b() {
  IPFS_PATH=$W/b "$R" routing findprovs -n 1 "$1" 2> /dev/null | grep -q "$R_ID"
}
for _ in $(seq 100); do known_at_b "$FILE" && known_at_b "$BLOCK" && break; sleep 0.2; done
known_at_b "$FILE" && known_at_b "$BLOCK" && echo "OK B keeps R's provider records"

# Kubo K, told only B.
if timeout 90 "$T/kubo-peer" fetch --ip 127.0.0.4 --port 4704 --timeout 60 "$B_ADDR" "$FILE" "$W/kubo.bin" \
    > "$W/kubo.json" 2> "$W/kubo.err"; then
  cmp "$W/file.bin" "$W/kubo.bin" && echo "OK Kubo told only B fetched R's file"
else
  echo "Kubo's fetch failed:"; cat "$W/kubo.err"
fi

# Helia H, told only B.
coproc HELIA { exec "$NODE" "$JS/helia-ipns.mjs" "$B_ADDR" 2> "$W/helia.err"; }
pids+=("$HELIA_PID")
read -r -t 60 ready <&"${HELIA[0]}"
case $ready in *'"ready"'*) ;; *) echo "Helia did not start: $ready"; cat "$W/helia.err"; exit 1 ;; esac
echo "get $BLOCK 45000" >&"${HELIA[1]}"
read -r -t 60 answer <&"${HELIA[0]}"
got=$(printf '%s' "$answer" | python3 -c 'import json,sys; a=json.load(sys.stdin); print(a.get("text", a))')
[ "$got" = "$TEXT" ] && echo "OK Helia told only B fetched R's block" || echo "Helia: $answer"
