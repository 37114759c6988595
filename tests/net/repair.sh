#!/usr/bin/env bash
# A block damaged on disk: the mount's read that finds it fails at once
# (EIO, no wait for the network), and a good copy is fetched from a peer in
# the background, after which the file reads whole. Run inside tools/netns.sh.
#   repair.sh RSIPFS_BIN WORK_DIR
set -euo pipefail
R=$1; W=$2
source "$(dirname "$0")/lib.sh"
prepare honest 4401; prepare reader 4403
head -c 900000 /dev/urandom > "$W/file.bin"
CID=$(IPFS_PATH=$W/honest "$R" add -Q "$W/file.bin")
IPFS_PATH=$W/reader "$R" add -Q "$W/file.bin" > /dev/null
# Flip a bit in the middle of the reader's copy of the second leaf.
LEAF=$(IPFS_PATH=$W/reader "$R" refs "$CID" | sed -n 2p)
IPFS_PATH=$W/reader "$R" block get "$LEAF" > "$W/leaf"
BLOCK=$(python3 - "$W/reader/blocks" "$W/leaf" <<'PY'
import os, sys
want = open(sys.argv[2], "rb").read()
for top, _, names in os.walk(sys.argv[1]):
    for name in names:
        path = os.path.join(top, name)
        data = bytearray(open(path, "rb").read())
        if data == want:
            data[len(data) // 2] ^= 0x20
            open(path, "wb").write(data)
            print(path)
PY
)
[ -n "$BLOCK" ]
run honest
run reader --mount --ipfs "$W/ipfs" --mfs "$W/mfs"
HONEST=$(id_of honest)
IPFS_PATH=$W/reader "$R" swarm connect "/ip4/127.0.0.1/tcp/4401/p2p/$HONEST" > /dev/null
# Read the damaged leaf (the second 256 KiB chunk) first: a read of the
# whole file could have read-ahead meet the damage, and a good copy come,
# before the read itself gets there.
start=$(date +%s.%N)
if timeout 20 dd if="$W/ipfs/$CID" of="$W/got.bin" bs=262144 skip=1 count=1 status=none 2> "$W/cat.stderr"; then
  echo "the damaged read succeeded"; exit 1
fi
took=$(python3 -c "print($(date +%s.%N) - $start)")
grep -q "Input/output error" "$W/cat.stderr" && python3 -c "import sys; sys.exit(0 if $took < 5 else 1)" \
  && echo "OK the damaged read failed at once"
for _ in $(seq 100); do
  timeout 20 cat "$W/ipfs/$CID" > "$W/got.bin" 2> /dev/null && break
  sleep 0.2
done
cmp "$W/file.bin" "$W/got.bin" && echo "OK a good copy came from the peer"
[ -z "$(ls -A "$W/reader/blocks/.quarantine")" ] \
  && IPFS_PATH=$W/reader "$R" repo verify > /dev/null && echo "OK nothing damaged left"
