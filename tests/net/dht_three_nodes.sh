#!/usr/bin/env bash
# Three rsipfs nodes in a line, A - B - C: C reads a file only A has, found
# through the DHT via B. Run inside a fresh network namespace (tools/netns.sh).
#   dht_three_nodes.sh RSIPFS_BIN WORK_DIR
set -euo pipefail
R=$1; W=$2
source "$(dirname "$0")/lib.sh"

prepare a 4301; prepare b 4302; prepare c 4303
head -c 1200000 /dev/urandom > "$W/only-a.bin"
CID=$(IPFS_PATH=$W/a "$R" add -Q "$W/only-a.bin")
run a; run b; run c --mount --ipfs "$W/c-ipfs" --mfs "$W/c-mfs"
IPFS_PATH=$W/b "$R" swarm connect "/ip4/127.0.0.1/tcp/4301/p2p/$(id_of a)" > /dev/null
IPFS_PATH=$W/c "$R" swarm connect "/ip4/127.0.0.1/tcp/4302/p2p/$(id_of b)" > /dev/null
# C was told only of B, which does not have the file: C finds A through
# the DHT, by its first walk (B hands A out) or the provider lookup.
# provider_lookup.sh fences A off to test the lookup alone.
timeout 60 cat "$W/c-ipfs/$CID" > "$W/got.bin"
cmp "$W/only-a.bin" "$W/got.bin" && echo "OK found through the DHT"
# Content added while A runs goes through A's API, which announces it.
head -c 700000 /dev/urandom > "$W/added-later.bin"
LATER=$(IPFS_PATH=$W/a "$R" add -Q "$W/added-later.bin")
timeout 60 cat "$W/c-ipfs/$LATER" > "$W/got-later.bin"
cmp "$W/added-later.bin" "$W/got-later.bin" && echo "OK content added while running is found too"
