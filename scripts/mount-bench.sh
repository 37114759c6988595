# Sourced by the mount benchmarks (bench-read, bench-rss, bench-ls) from the
# repository root: builds the release binary and makes a scratch directory
# that is cleaned up on exit, with the mount (pid in MOUNT_PID, at
# $WORK/mnt) and any bindfs at $WORK/bind taken down first.
#   . scripts/mount-bench.sh NAME
cargo build --release --quiet
BIN=$PWD/target/release/rsipfs
WORK=$(mktemp -d "/var/tmp/rsipfs-$1.XXXXXX")
MOUNT_PID=
cleanup() {
    [ -n "$MOUNT_PID" ] && kill "$MOUNT_PID" 2>/dev/null && wait "$MOUNT_PID" 2>/dev/null
    for m in "$WORK/mnt" "$WORK/bind"; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
    rm -rf "$WORK"
}
trap cleanup EXIT
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
