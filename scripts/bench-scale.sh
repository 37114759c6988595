#!/usr/bin/env bash
# What a repository of many blocks costs. BLOCKS blocks are imported from
# two CARs (scripts/make-scale-cars.py): small files (raw blocks of
# 256-2048 bytes) in directories, half of them under PINS pinned
# directories and half unpinned, and LARGE files of 100 MiB, pinned. Then:
#   - the reference: every block file read once (`find blocks -type f |
#     xargs cat`), page cache dropped first;
#   - repo verify, page cache dropped first (bar: within 1.5x the reference);
#   - repo stat and pin ls;
#   - mount ready: from starting `rsipfs mount` to the mount point
#     answering, median of three (bar: under 200 ms); then ls of /ipfs
#     (every recursive pin) and a large file read back through the mount;
#   - add of a fresh 100 MiB file here and into an empty repository, three
#     rounds taking turns (bar: within 10% of the empty repository's rate);
#   - repo gc, page cache dropped first, which removes the unpinned half
#     (bar: within 1.5x the reference), then repo verify again.
# Kubo's figures are not measured: kubo-peer has none of these repository
# commands (tools README).
#   scripts/bench-scale.sh [BLOCKS] [PINS] [LARGE]   (default 1000000 10000 4)
# RSIPFS_BIN measures another build. Needs root (drop_caches, mount).
set -euo pipefail
cd "$(dirname "$0")/.."
BLOCKS=${1:-1000000}
PINS=${2:-10000}
LARGE=${3:-4}
LARGE_MIB=100

if [ -n "${RSIPFS_BIN:-}" ]; then
    R=$RSIPFS_BIN
else
    cargo build --release --quiet
    R=$PWD/target/release/rsipfs
fi
W=$(mktemp -d /var/tmp/rsipfs-bench-scale.XXXXXX)
MOUNT_PID=
cleanup() {
    if [ -n "$MOUNT_PID" ]; then kill -TERM "$MOUNT_PID" 2>/dev/null || true; wait "$MOUNT_PID" 2>/dev/null || true; fi
    umount -l "$W/mnt/ipfs" "$W/mnt/mfs" "$W/mnt/ipns" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
export IPFS_PATH=$W/repo
now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.3f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
cold() { sync; echo 3 > /proc/sys/vm/drop_caches; }
settle() { sync; sleep 2; }

echo "building the CARs: $BLOCKS blocks, $PINS pinned directories, $LARGE files of $LARGE_MIB MiB"
read -r pin_roots pinned_blocks total_blocks < <(
    python3 scripts/make-scale-cars.py "$W" "$BLOCKS" "$PINS" "$LARGE" "$LARGE_MIB")
"$R" init --profile test > /dev/null
start=$(now)
"$R" dag import "$W/pinned.car" > /dev/null
"$R" dag import --pin-roots=false "$W/unpinned.car" > /dev/null
echo "imported $total_blocks blocks in $(since "$start") s ($pin_roots pins over $pinned_blocks blocks)"
rm "$W/pinned.car" "$W/unpinned.car"

cold
start=$(now)
find "$IPFS_PATH/blocks" -type f -print0 | xargs -0 cat > /dev/null
read_all=$(since "$start")
echo "reference: every block file read once, cold: $read_all s"

cold
start=$(now)
"$R" repo verify > "$W/verify.txt"
verify=$(since "$start")
grep -q "verified repo integrity" "$W/verify.txt" || { cat "$W/verify.txt"; exit 1; }
echo "repo verify, cold:  $verify s: $(ratio "$verify" "$read_all")x the reference (bar 1.5x)"

start=$(now)
objects=$("$R" repo stat | awk '/^NumObjects:/ { print $2 }')
echo "repo stat:          $(since "$start") s ($objects objects)"
[ "$objects" = "$total_blocks" ] || { echo "repo stat counts $objects blocks, not $total_blocks" >&2; exit 1; }
start=$(now)
pins=$("$R" pin ls --type=recursive | wc -l)
echo "pin ls:             $(since "$start") s ($pins recursive pins)"
[ "$pins" = "$pin_roots" ] || { echo "pin ls lists $pins pins, not $pin_roots" >&2; exit 1; }

# Mount ready: until the mount point is a mount, polled every millisecond.
# Sets MOUNT_PID and READY (seconds).
mkdir -p "$W/mnt/ipfs" "$W/mnt/mfs" "$W/mnt/ipns"
mount_ready() {
    local start
    start=$(now)
    "$R" mount --offline --ipfs "$W/mnt/ipfs" --mfs "$W/mnt/mfs" --ipns "$W/mnt/ipns" \
        > "$W/mount.log" 2>&1 &
    MOUNT_PID=$!
    until mountpoint -q "$W/mnt/ipfs" && mountpoint -q "$W/mnt/mfs" && mountpoint -q "$W/mnt/ipns"; do
        kill -0 "$MOUNT_PID" 2>/dev/null || { cat "$W/mount.log"; exit 1; }
        sleep 0.001
    done
    READY=$(since "$start")
}
unmount() { kill -TERM "$MOUNT_PID" 2>/dev/null || { echo "the mount had ended:" >&2; cat "$W/mount.log" >&2; exit 1; }; wait "$MOUNT_PID" || true; MOUNT_PID=; }
ready=()
for round in 1 2 3; do
    mount_ready
    ready+=("$READY")
    [ "$round" = 3 ] || unmount
done
ready_ms=$(python3 -c "import sys; print('%.0f' % (1000 * float(sys.argv[1])))" "$(median "${ready[@]}")")
echo "mount ready:        $ready_ms ms (median of ${ready[*]} s; bar 200 ms)"
start=$(now)
listed=$(ls "$W/mnt/ipfs" | wc -l)
echo "ls /ipfs:           $(since "$start") s ($listed entries)"
[ "$listed" = "$pin_roots" ] || { echo "ls /ipfs lists $listed entries, not $pin_roots" >&2; exit 1; }
large=$(head -1 "$W/large.txt")
got=$(wc -c < "$W/mnt/ipfs/$large")
[ "$got" = $((LARGE_MIB << 20)) ] || { echo "a large file reads back $got bytes" >&2; exit 1; }
unmount

# Add: a fresh file a round, into this repository and into an empty one.
here=() empty=()
for round in 1 2 3; do
    head -c "$((LARGE_MIB << 20))" /dev/urandom > "$W/add.bin"
    rm -rf "$W/empty"
    IPFS_PATH=$W/empty "$R" init --profile test > /dev/null
    settle
    start=$(now); IPFS_PATH=$W/empty "$R" add -Q "$W/add.bin" > /dev/null
    empty+=("$(python3 -c "import sys; print('%.1f' % ($LARGE_MIB / float(sys.argv[1])))" "$(since "$start")")")
    settle
    start=$(now); "$R" add -Q "$W/add.bin" > /dev/null
    here+=("$(python3 -c "import sys; print('%.1f' % ($LARGE_MIB / float(sys.argv[1])))" "$(since "$start")")")
done
rm -rf "$W/empty" "$W/add.bin"
here_rate=$(median "${here[@]}") empty_rate=$(median "${empty[@]}")
echo "add $LARGE_MIB MiB:        $here_rate MiB/s here, $empty_rate MiB/s into an empty repository (medians of ${here[*]} and ${empty[*]}): $(ratio "$here_rate" "$empty_rate")x (bar 0.9x)"

# The added files are pinned: gc keeps them with the pinned half.
cold
start=$(now)
removed=$("$R" repo gc | wc -l)
gc=$(since "$start")
echo "repo gc, cold:      $gc s, $removed blocks removed: $(ratio "$gc" "$read_all")x the reference (bar 1.5x)"
left=$("$R" repo stat | awk '/^NumObjects:/ { print $2 }')
[ "$removed" -ge $((total_blocks - pinned_blocks)) ] ||
    { echo "gc removed $removed blocks, fewer than the $((total_blocks - pinned_blocks)) unpinned" >&2; exit 1; }
"$R" repo verify | grep -q "verified repo integrity"
echo "after gc:           $left blocks, every one verified (the pinned $pinned_blocks and the added files' $((left - pinned_blocks)))"
