#!/usr/bin/env bash
# Blocks both ways between rsipfs and a real Kubo node. Run inside a fresh
# network namespace (tools/netns.sh): loopback only.
#   kubo_interop.sh RSIPFS_BIN TOOLS_DIR WORK_DIR
set -euo pipefail
R=$1; T=$2; W=$3
export IPFS_PATH=$W/repo
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# What only Kubo has: a multi-chunk file and a small tree.
head -c 3000000 /dev/urandom > "$W/big.bin"
head -c 2000000 /dev/urandom > "$W/catme.bin"
mkdir -p "$W/tree/sub"
echo "alpha" > "$W/tree/a.txt"
head -c 700000 /dev/urandom > "$W/tree/sub/b.bin"
"$T/kubo-peer" serve --port 4101 "$W/big.bin" "$W/catme.bin" "$W/tree" > "$W/peer.json" 2> "$W/peer.err" &
pids+=($!)

# What only rsipfs has.
"$R" init --profile test > /dev/null
"$R" config --json Addresses.Swarm '["/ip4/127.0.0.1/tcp/4201"]'
head -c 1500000 /dev/urandom > "$W/ours.bin"
OURS=$("$R" add -Q "$W/ours.bin")
"$R" daemon --mount --ipfs "$W/ipfs" --mfs "$W/mfs" > "$W/daemon.out" 2> "$W/daemon.err" &
pids+=($!)
for _ in $(seq 150); do
  [ -s "$W/peer.json" ] && [ -e "$W/repo/api" ] && grep -q "Daemon is ready" "$W/daemon.out" && break
  sleep 0.2
done
field() { python3 -c "import json,sys; d=json.load(open('$W/peer.json')); print($1)"; }
KUBO="$(field 'd["addrs"][0]')/p2p/$(field 'd["peer_id"]')"
BIG=$(field "d['cids']['$W/big.bin']")
TREE=$(field "d['cids']['$W/tree']")
CATME=$(field "d['cids']['$W/catme.bin']")

"$R" swarm connect "$KUBO"
"$R" swarm peers | grep -q "$(field 'd["peer_id"]')" && echo "OK peers"

# rsipfs fetches from Kubo, through the mount and into MFS.
timeout 60 cat "$W/ipfs/$BIG" > "$W/got-big.bin"
cmp "$W/big.bin" "$W/got-big.bin" && echo "OK mount file"
[ "$(ls "$W/ipfs/$TREE" | tr '\n' ' ')" = "a.txt sub " ] && echo "OK mount listing"
timeout 60 cmp "$W/tree/sub/b.bin" "$W/ipfs/$TREE/sub/b.bin" && echo "OK mount tree"
"$R" files cp "/ipfs/$TREE" /from-kubo
[ "$("$R" files read /from-kubo/a.txt)" = "alpha" ] && echo "OK files cp"

# And `rsipfs cat`, through the running daemon.
timeout 60 "$R" cat "$CATME" > "$W/got-catme.bin"
cmp "$W/catme.bin" "$W/got-catme.bin" && echo "OK cli cat"
[ "$(timeout 60 "$R" cat "/ipfs/$TREE/a.txt")" = "alpha" ] && echo "OK cli cat path"
timeout 60 "$R" get "$TREE" -o "$W/got-tree" > /dev/null
diff -r "$W/tree" "$W/got-tree" && echo "OK cli get"

# Kubo fetches from rsipfs.
ID=$("$R" id | python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])')
timeout 60 "$T/kubo-peer" fetch "/ip4/127.0.0.1/tcp/4201/p2p/$ID" "$OURS" "$W/kubo-got.bin" --port 4102 > /dev/null
cmp "$W/ours.bin" "$W/kubo-got.bin" && echo "OK kubo fetch"
