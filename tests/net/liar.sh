#!/usr/bin/env bash
# A peer that answers with blocks of the wrong hash is ignored, and the read
# still succeeds from an honest peer. Run inside tools/netns.sh.
#   liar.sh RSIPFS_BIN LIAR_BIN WORK_DIR
set -euo pipefail
R=$1; LIAR=$2; W=$3
source "$(dirname "$0")/lib.sh"
prepare honest 4401; prepare reader 4403
head -c 900000 /dev/urandom > "$W/file.bin"
CID=$(IPFS_PATH=$W/honest "$R" add -Q "$W/file.bin")
"$LIAR" 4402 > "$W/liar.addr" 2> "$W/liar.err" &
pids+=($!)
for _ in $(seq 100); do [ -s "$W/liar.addr" ] && break; sleep 0.1; done
run honest
run reader --mount --ipfs "$W/ipfs" --mfs "$W/mfs"
# The liar first, so it hears the wants first.
IPFS_PATH=$W/reader "$R" swarm connect "$(cat "$W/liar.addr")" > /dev/null
HONEST=$(id_of honest)
IPFS_PATH=$W/reader "$R" swarm connect "/ip4/127.0.0.1/tcp/4401/p2p/$HONEST" > /dev/null
timeout 60 cat "$W/ipfs/$CID" > "$W/got.bin"
cmp "$W/file.bin" "$W/got.bin" && echo "OK read the true bytes"
grep -q "lied about" "$W/liar.err" && echo "OK the liar answered"
kill "${pids[2]}"; wait "${pids[2]}" 2>/dev/null || true
IPFS_PATH=$W/reader "$R" repo verify > /dev/null && echo "OK nothing false stored"
