#!/usr/bin/env bash
# The mount's memory over a large tree: DIRS directories of FILES tiny files
# each (default 400 x 500 = 200 000), added with `add -r`, walked with `find`
# through /ipfs twice, with the kernel's dentries and inodes dropped after
# each walk (`echo 2 > drop_caches`, which makes the kernel forget them).
# Prints the mount's RSS and its inode count (statfs files) after each step;
# passes when the second walk ends within 50 MB of where the first ended.
#   scripts/bench-rss-tree.sh [DIRS] [FILES]   (needs root)
# BENCH_BIN=path/to/rsipfs mounts with another build.
set -euo pipefail
cd "$(dirname "$0")/.."
DIRS=${1:-400}
FILES=${2:-500}

. scripts/mount-bench.sh bench-rss-tree
BIN=${BENCH_BIN:-$BIN}
rss_mib() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$MOUNT_PID/status"; }
inodes() { stat -f -c %c "$WORK/mnt"; }
forget_all() {
    sync
    echo 2 > /proc/sys/vm/drop_caches
    # The kernel sends its forgets as it evicts; wait for them to arrive.
    local last=-1 now
    for _ in $(seq 50); do
        now=$(inodes)
        [ "$now" = "$last" ] && break
        last=$now
        sleep 0.2
    done
}
walk() {
    local started entries
    started=$(date +%s.%N)
    entries=$(find "$WORK/mnt/$cid" | wc -l)
    printf '%-22s %7d entries in %5.1f s; RSS %7s MiB, inodes %7s\n' "$1" "$entries" \
        "$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$started" "$(date +%s.%N)")" \
        "$(rss_mib)" "$(inodes)"
}
show() { printf '%-22s %38s RSS %7s MiB, inodes %7s\n' "$1" "" "$(rss_mib)" "$(inodes)"; }

python3 - "$WORK/tree" "$DIRS" "$FILES" <<'EOF'
import os, sys
root, dirs, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for d in range(dirs):
    path = os.path.join(root, f"dir{d:04}")
    os.makedirs(path)
    for f in range(files):
        with open(os.path.join(path, f"file{f:04}.txt"), "w") as out:
            out.write(f"{d} {f}\n")
EOF
export IPFS_PATH=$WORK/repo
"$BIN" init --profile test > /dev/null
started=$(date +%s)
cid=$("$BIN" add -Q -r "$WORK/tree")
echo "tree:      $DIRS x $FILES files, $cid (added in $(( $(date +%s) - started )) s); binary $BIN"
"$BIN" mount --offline --ipfs "$WORK/mnt" > /dev/null 2>"$WORK/mount.log" &
MOUNT_PID=$!
until mountpoint -q "$WORK/mnt"; do sleep 0.01; done
forget_all
show "mounted"
walk "first find"
first=$(rss_mib)
forget_all
show "forgotten"
walk "second find"
second=$(rss_mib)
forget_all
show "forgotten"
python3 - "$first" "$second" <<'EOF'
import sys
first, second = map(float, sys.argv[1:])
ok = second - first <= 50 * 1e6 / 2**20
print(f"second walk ends {second - first:+.1f} MiB from the first (bar: within 50 MB) -> {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
EOF
