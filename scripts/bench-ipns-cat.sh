#!/usr/bin/env bash
# Reading through a cached /ipns name against the same bytes by CID, one
# rsipfs daemon with /ipfs and /ipns mounted, inside a fresh network
# namespace. A random big file and a 4 KiB one are added in a directory that
# the node's own name points at; then, in alternating rounds (median over
# ROUNDS, ipns/ipfs ratio of the medians; bar: within 10%, issue 19):
#  a. `rsipfs cat /ipns/<name>/F` against `rsipfs cat /ipfs/<cid>/F`, through
#     the daemon's API;
#  b. reading <mount>/ipns/<name>/F against <mount>/ipfs/<cid>/F (1 MiB
#     reads, like cat), warm: before each read all caches are dropped and
#     the repository's block files read back in, outside the time taken;
#     only the reads are timed (the file is opened before);
#  c. the same with the `cat` program timed whole (lookups, open, reads,
#     close), after the same cache drop.
# The small file is read SMALL_READS times per round (a tenth of that
# through the mounts, each read costing a cache drop).
#   scripts/bench-ipns-cat.sh [SIZE_MIB] [ROUNDS] [SMALL_READS]
#     (default 256 MiB, 7 rounds, 100 reads; needs root)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-256}
ROUNDS=${2:-7}
SMALL_READS=${3:-100}
TOOLS=${SHARED_DIR:-$(cd .. && pwd)/shared}/tools
if [ "${INSIDE_NETNS:-}" != 1 ]; then
    cargo build --release --quiet
    exec env INSIDE_NETNS=1 "$TOOLS/netns.sh" bash "$0" "$@"
fi
R=$PWD/target/release/rsipfs
W=$(mktemp -d /var/tmp/rsipfs-bench-ipns-cat.XXXXXX)
source tests/net/lib.sh
unmount_all() {
    for m in "$W/ipfs" "$W/ipns"; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
}
trap 'cleanup; unmount_all; rm -rf "$W"' EXIT

prepare n1 4711
mkdir "$W/dir"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$W/dir/big"
head -c 4096 /dev/urandom > "$W/dir/small"
DIR=$(IPFS_PATH=$W/n1 "$R" add -Q -r "$W/dir")
rm -rf "$W/dir"
run n1 --mount --ipfs "$W/ipfs" --ipns "$W/ipns" --no-mfs
NAME=$(IPFS_PATH=$W/n1 "$R" name publish -Q "/ipfs/$DIR")
until mountpoint -q "$W/ipfs" && mountpoint -q "$W/ipns"; do sleep 0.01; done

# Seconds taken by the command, its output discarded.
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" > /dev/null
    end=$(date +%s.%N)
    python3 -c "print('%.6f' % ($end - $start))"
}
repeat() { local n=$1; shift; for _ in $(seq "$n"); do "$@"; done; }
api_cat() { IPFS_PATH=$W/n1 "$R" cat "$1"; }
# mount_time read|cat PATH COUNT: reads the file COUNT times through the
# mount, printing the seconds the reads took (read: the reads of an open
# file; cat: the `cat` program, start to end). Before each read, outside the
# time taken, all page caches are dropped (fadvise DONTNEED leaves the
# /ipfs mount's pages in place) and the repository's block files read back in.
mount_time() {
    python3 - "$2" "$3" "$W/n1/blocks" "$1" <<'PY'
import os, subprocess, sys, time
path, count, blocks, how = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
total = 0.0
for _ in range(count):
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")
    for top, _, files in os.walk(blocks):
        for name in files:
            with open(os.path.join(top, name), "rb") as f:
                while f.read(1 << 20):
                    pass
    if how == "cat":
        start = time.perf_counter()
        subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)
        total += time.perf_counter() - start
        continue
    fd = os.open(path, os.O_RDONLY)
    start = time.perf_counter()
    while os.read(fd, 1 << 20):
        pass
    total += time.perf_counter() - start
    os.close(fd)
print(f"{total:.6f}")
PY
}
mount_read() { mount_time read "$@"; }
mount_cat() { mount_time cat "$@"; }
# timed READER COUNT PATH: seconds for COUNT reads of PATH.
timed() {
    case $1 in
        mount_read | mount_cat) "$1" "$3" "$2" ;;
        *) seconds repeat "$2" "$1" "$3" ;;
    esac
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# compare LABEL COUNT READER FILE: the reader on /ipns and /ipfs paths in turns.
compare() {
    local label=$1 count=$2 reader=$3 file=$4 ipns ipfs
    if [ "$reader" = api_cat ]; then
        ipns=/ipns/$NAME/$file ipfs=/ipfs/$DIR/$file
    else
        ipns=$W/ipns/$NAME/$file ipfs=$W/ipfs/$DIR/$file
    fi
    # Warm-up: the name resolved and cached, the blocks in the page cache.
    timed "$reader" 2 "$ipns" > /dev/null
    timed "$reader" 2 "$ipfs" > /dev/null
    local ipns_runs=() ipfs_runs=()
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then
            ipns_runs+=("$(timed "$reader" "$count" "$ipns")")
            ipfs_runs+=("$(timed "$reader" "$count" "$ipfs")")
        else
            ipfs_runs+=("$(timed "$reader" "$count" "$ipfs")")
            ipns_runs+=("$(timed "$reader" "$count" "$ipns")")
        fi
    done
    local a b
    a=$(median "${ipns_runs[@]}") b=$(median "${ipfs_runs[@]}")
    python3 - "$label" "$count" "$a" "$b" "$SIZE_MIB" "$file" <<'PY'
import sys
label, count, ipns, ipfs, size_mib, file = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:6]), sys.argv[6]
if file == "big":
    speed = lambda t: f"{size_mib / t:7.0f} MiB/s"
else:
    speed = lambda t: f"{t / count * 1e3:7.2f} ms each"
print(f"{label:<22} ipns {speed(ipns)}  ipfs {speed(ipfs)}  ratio ipns/ipfs {ipns / ipfs:.2f} (time; bar <= 1.10)")
PY
}

echo "name $NAME -> /ipfs/$DIR (big: $SIZE_MIB MiB, small: 4 KiB), median of $ROUNDS rounds"
compare "rsipfs cat big" 1 api_cat big
compare "rsipfs cat small" "$SMALL_READS" api_cat small
compare "mount read big" 1 mount_read big
compare "mount read small" "$(((SMALL_READS + 9) / 10))" mount_read small
compare "mount cat big" 1 mount_cat big
compare "mount cat small" "$(((SMALL_READS + 9) / 10))" mount_cat small
