#!/usr/bin/env bash
# A multi-block file held by two providers, a Kubo node and an rsipfs node:
# the reader gets it intact, both serve part of it, and hardly any block
# comes twice. Run inside tools/netns.sh.
#   two_providers.sh RSIPFS_BIN TOOLS_DIR WORK_DIR
set -euo pipefail
R=$1; T=$2; W=$3
source "$(dirname "$0")/lib.sh"

head -c 8000000 /dev/urandom > "$W/file.bin"
"$T/kubo-peer" serve --port 4501 "$W/file.bin" > "$W/kubo.json" 2> "$W/kubo.err" &
pids+=($!)
prepare provider 4502; prepare reader 4503
CID=$(IPFS_PATH=$W/provider "$R" add -Q "$W/file.bin")
run provider
run reader --mount --ipfs "$W/ipfs" --mfs "$W/mfs"
for _ in $(seq 300); do [ -s "$W/kubo.json" ] && break; sleep 0.2; done
field() { python3 -c "import json,sys; d=json.load(open('$W/kubo.json')); print($1)"; }
[ "$(field "d['cids']['$W/file.bin']")" = "$CID" ] && echo "OK same file on both"

IPFS_PATH=$W/reader "$R" swarm connect "$(field 'd["addrs"][0]')/p2p/$(field 'd["peer_id"]')" > /dev/null
IPFS_PATH=$W/reader "$R" swarm connect "/ip4/127.0.0.1/tcp/4502/p2p/$(id_of provider)" > /dev/null
timeout 60 cat "$W/ipfs/$CID" > "$W/got.bin"
cmp "$W/file.bin" "$W/got.bin" && echo "OK read intact"

# bitswap_stat NAME FIELD: a counter from NAME's /api/v0/bitswap/stat
bitswap_stat() {
  python3 - "$W/$1/api" "$2" <<'PY'
import json, sys, urllib.request
addr = open(sys.argv[1]).read().split("/")
url = f"http://{addr[2]}:{addr[4]}/api/v0/bitswap/stat"
print(json.load(urllib.request.urlopen(urllib.request.Request(url, method="POST")))[sys.argv[2]])
PY
}
received=$(bitswap_stat reader BlocksReceived)
dups=$(bitswap_stat reader DupBlksReceived)
from_provider=$(bitswap_stat provider BlocksSent)
echo "reader: $received blocks received, $dups twice; $from_provider from the rsipfs provider"
[ "$received" -ge 31 ] && [ "$dups" -le 3 ] && echo "OK no block fetched twice (but $dups)"
[ "$from_provider" -gt 0 ] && [ "$from_provider" -lt "$received" ] && echo "OK both providers served"
