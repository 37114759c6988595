#!/usr/bin/env bash
# Three rsipfs nodes in a line, A - B - C: C reads a file only A has, found
# through the DHT via B. Run inside a fresh network namespace (tools/netns.sh).
#   dht_three_nodes.sh RSIPFS_BIN WORK_DIR
set -euo pipefail
R=$1; W=$2
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start() { # name port [--mount]
  local repo=$W/$1
  IPFS_PATH=$repo "$R" init > /dev/null
  IPFS_PATH=$repo "$R" config Addresses.API /ip4/127.0.0.1/tcp/0
  IPFS_PATH=$repo "$R" config --json Addresses.Swarm "[\"/ip4/127.0.0.1/tcp/$2\"]"
}
run() { # name [daemon args]
  local name=$1; shift
  IPFS_PATH=$W/$name "$R" daemon "$@" > "$W/$name.out" 2> "$W/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do grep -q "Daemon is ready" "$W/$name.out" 2>/dev/null && return; sleep 0.1; done
  echo "$name did not start"; cat "$W/$name.err"; exit 1
}
id_of() { IPFS_PATH=$W/$1 "$R" id | python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])'; }

start a 4301; start b 4302; start c 4303
head -c 1200000 /dev/urandom > "$W/only-a.bin"
CID=$(IPFS_PATH=$W/a "$R" add -Q "$W/only-a.bin")
run a; run b; run c --mount --ipfs "$W/c-ipfs" --mfs "$W/c-mfs"
IPFS_PATH=$W/b "$R" swarm connect "/ip4/127.0.0.1/tcp/4301/p2p/$(id_of a)" > /dev/null
IPFS_PATH=$W/c "$R" swarm connect "/ip4/127.0.0.1/tcp/4302/p2p/$(id_of b)" > /dev/null
# C knows only B; B does not have the file.
IPFS_PATH=$W/c "$R" swarm peers | grep -q "$(id_of a)" && { echo "C already knows A"; exit 1; }
timeout 60 cat "$W/c-ipfs/$CID" > "$W/got.bin"
cmp "$W/only-a.bin" "$W/got.bin" && echo "OK found through the DHT"
