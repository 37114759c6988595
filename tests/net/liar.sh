#!/usr/bin/env bash
# A peer that answers with blocks of the wrong hash is ignored, and the read
# still succeeds from an honest peer. Run inside tools/netns.sh.
#   liar.sh RSIPFS_BIN LIAR_BIN WORK_DIR
set -euo pipefail
R=$1; LIAR=$2; W=$3
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
prepare() { # name port
  IPFS_PATH=$W/$1 "$R" init > /dev/null
  IPFS_PATH=$W/$1 "$R" config Addresses.API /ip4/127.0.0.1/tcp/0
  IPFS_PATH=$W/$1 "$R" config --json Addresses.Swarm "[\"/ip4/127.0.0.1/tcp/$2\"]"
}
run() { # name [daemon args]
  local name=$1; shift
  IPFS_PATH=$W/$name "$R" daemon "$@" > "$W/$name.out" 2> "$W/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do grep -q "Daemon is ready" "$W/$name.out" 2>/dev/null && return; sleep 0.1; done
  echo "$name did not start"; cat "$W/$name.err"; exit 1
}
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
HONEST=$(IPFS_PATH=$W/honest "$R" id | python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])')
IPFS_PATH=$W/reader "$R" swarm connect "/ip4/127.0.0.1/tcp/4401/p2p/$HONEST" > /dev/null
timeout 60 cat "$W/ipfs/$CID" > "$W/got.bin"
cmp "$W/file.bin" "$W/got.bin" && echo "OK read the true bytes"
grep -q "lied about" "$W/liar.err" && echo "OK the liar answered"
kill "${pids[2]}"; wait "${pids[2]}" 2>/dev/null || true
IPFS_PATH=$W/reader "$R" repo verify > /dev/null && echo "OK nothing false stored"
