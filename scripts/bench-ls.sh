#!/usr/bin/env bash
# `ls -l` of a 20 000-entry HAMT directory through a fresh mount: once with
# the repository in the page cache, once fully cold (page cache dropped),
# against a cold `ls -l` of the same directory on disk.
#   scripts/bench-ls.sh [ENTRIES]        (default 20000; needs root)
set -euo pipefail
cd "$(dirname "$0")/.."
ENTRIES=${1:-20000}

. scripts/mount-bench.sh bench-ls

python3 - "$WORK/dir" "$ENTRIES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
os.makedirs(root)
for i in range(n):
    with open(os.path.join(root, f"file-{i:06d}.txt"), "w") as f:
        f.write(f"entry {i}\n")
PY
export IPFS_PATH=$WORK/repo
"$BIN" init --profile test > /dev/null
cid=$("$BIN" add -Q -r "$WORK/dir")

drop_caches
start=$(date +%s.%N)
ls -l "$WORK/dir" > /dev/null
end=$(date +%s.%N)
disk=$(python3 -c "print('%.3f' % ($end - $start))")

# Times `ls -l` through a fresh mount; $1 = drop the page cache first.
list_fresh() {
    "$BIN" mount --offline --ipfs "$WORK/mnt" > /dev/null 2>>"$WORK/mount.log" &
    MOUNT_PID=$!
    until ls "$WORK/mnt" > /dev/null 2>&1; do sleep 0.01; done
    [ "$1" = cold ] && drop_caches
    local start end count
    start=$(date +%s.%N)
    count=$(ls -l "$WORK/mnt/$cid" | tail -n +2 | wc -l)
    end=$(date +%s.%N)
    kill "$MOUNT_PID"; wait "$MOUNT_PID" 2>/dev/null || true; MOUNT_PID=
    [ "$count" -eq "$ENTRIES" ] || { echo "listed $count entries, expected $ENTRIES" >&2; exit 1; }
    python3 -c "print('%.3f' % ($end - $start))"
}
# Warm the page cache the way a user would, by listing through the CLI once.
"$BIN" ls "$cid" > /dev/null
warm=$(list_fresh warm)
cold=$(list_fresh cold)

echo "directory:          $ENTRIES entries (HAMT), $cid"
echo "ls -l on disk cold: $disk s"
echo "ls -l, fresh mount: $warm s with the repo in the page cache (bar: < 0.3 s)"
echo "ls -l, fully cold:  $cold s (page cache dropped; $(python3 -c "print('%.1f' % ($cold / $disk))")x the on-disk cold listing)"
