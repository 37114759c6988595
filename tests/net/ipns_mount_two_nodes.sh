#!/usr/bin/env bash
# The /ipns mount between two online rsipfs nodes: A writes a file under
# its key through its /ipns mount; B sees the new bytes through its CLI
# (`name resolve --nocache`, then `cat /ipns/<name>/…`) and through its own
# /ipns mount; then A overwrites the file and B sees the second version
# both ways, its mount at once after the CLI learnt the newer record (the
# record's TTL, 5 min by default, does not hold the old answer there).
# Run inside a fresh network namespace (tools/netns.sh).
#   ipns_mount_two_nodes.sh RSIPFS_BIN WORK_DIR
set -euo pipefail
R=$1; W=$2
source "$(dirname "$0")/lib.sh"
export RSIPFS_LOG=rsipfs::net=info,rsipfs::fs=info

# wait_for SECONDS CMD...: runs CMD until it succeeds, at most SECONDS.
wait_for() {
  local until=$((SECONDS + $1)); shift
  until "$@"; do
    [ "$SECONDS" -lt "$until" ] || { echo "gave up waiting for: $*"; return 1; }
    sleep 0.2
  done
}
mounted() { run "$1" --mount --ipfs "$W/$1-ipfs" --mfs "$W/$1-mfs" --ipns "$W/$1-ipns"; }

prepare a 4611; prepare b 4612
NAME=$(IPFS_PATH=$W/a "$R" key gen site)
mkdir -p "$W/a-ipfs" "$W/a-mfs" "$W/a-ipns" "$W/b-ipfs" "$W/b-mfs" "$W/b-ipns"
mounted a; mounted b
IPFS_PATH=$W/b "$R" swarm connect "/ip4/127.0.0.1/tcp/4611/p2p/$(id_of a)" > /dev/null

# B's CLI: the newest record from the DHT, then the file through the name.
cli_sees() {
  IPFS_PATH=$W/b "$R" name resolve --nocache --dht-timeout 5s "$NAME" > /dev/null 2>&1 &&
    [ "$(IPFS_PATH=$W/b timeout 10 "$R" cat "/ipns/$NAME/dir/file" 2>/dev/null)" = "$1" ]
}
mount_sees() { [ "$(timeout 10 cat "$W/b-ipns/$NAME/dir/file" 2>/dev/null)" = "$1" ]; }

# A writes through its mount, by key name, and closes the file.
mkdir "$W/a-ipns/site/dir"
printf 'first version\n' > "$W/a-ipns/site/dir/file"
[ "$(cat "$W/a-ipns/$NAME/dir/file")" = "first version" ] && echo "OK A reads its write by name"
wait_for 20 cli_sees "first version" && echo "OK B's CLI sees the first version"
mount_sees "first version" && echo "OK B's mount sees the first version"

# A overwrites it (with fsync this time); B's mount keeps the first
# version for the record's TTL unless B learns of a newer record.
python3 -c 'import os,sys; f=open(sys.argv[1],"w"); f.write("second version\n"); f.flush(); os.fsync(f.fileno()); f.close()' \
  "$W/a-ipns/site/dir/file"
[ "$(cat "$W/a-ipns/site/dir/file")" = "second version" ] && echo "OK A reads its overwrite"
wait_for 20 cli_sees "second version" && echo "OK B's CLI sees the second version"
wait_for 5 mount_sees "second version" && echo "OK B's mount sees the second version"
SEQ=$(IPFS_PATH=$W/b "$R" name get "$NAME" | IPFS_PATH=$W/b "$R" name inspect - | sed -n 's/^Sequence: *//p')
[ "$SEQ" -ge 1 ] && echo "OK B keeps A's newer record (sequence $SEQ)"
