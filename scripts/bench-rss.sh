#!/usr/bin/env bash
# The mount's memory while reading a large file (default 4 GiB) cold: once
# start to end, then READERS readers at once (each its own stretch of the
# file, as `dd skip=` or a parallel copier reads), a few rounds. Prints the
# mount's peak RSS against the 150 MB bar, whether it grows round to round,
# and the concurrent readers' rate against the same readers of the original
# file through bindfs (a FUSE passthrough), taking turns.
#   scripts/bench-rss.sh [SIZE_MIB] [READERS]   (default 4096 4; needs root)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-4096}
READERS=${2:-4}
ROUNDS=3

. scripts/mount-bench.sh bench-rss
rss_mib() { awk "/$1/ { printf \"%.0f\", \$2 / 1024 }" "/proc/$MOUNT_PID/status"; }
# READERS dd's at once over FILE, each a SIZE_MIB/READERS stretch; MiB/s in all.
concurrent_rate() {
    local file=$1 part=$((SIZE_MIB / READERS)) pids=() start end
    drop_caches
    start=$(date +%s.%N)
    for i in $(seq 0 $((READERS - 1))); do
        dd if="$file" of=/dev/null bs=1M skip=$((i * part)) count="$part" 2>/dev/null &
        pids+=($!)
    done
    wait "${pids[@]}"
    end=$(date +%s.%N)
    python3 -c "print('%.1f' % ($part * $READERS / ($end - $start)))"
}

head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$WORK/input.bin"
export IPFS_PATH=$WORK/repo
"$BIN" init --profile test > /dev/null
cid=$("$BIN" add -Q "$WORK/input.bin")
"$BIN" mount --offline --ipfs "$WORK/mnt" > /dev/null 2>"$WORK/mount.log" &
MOUNT_PID=$!
until mountpoint -q "$WORK/mnt"; do sleep 0.01; done

drop_caches
cat "$WORK/mnt/$cid" > /dev/null
after_one=$(rss_mib VmHWM)

has_bindfs=
if command -v bindfs > /dev/null; then
    has_bindfs=1
    mkdir -p "$WORK/bind"
    bindfs "$WORK" "$WORK/bind"
fi
ours=() theirs=() rss_rounds=()
for r in $(seq "$ROUNDS"); do
    ours+=("$(concurrent_rate "$WORK/mnt/$cid")")
    rss_rounds+=("$(rss_mib VmRSS)")
    [ -n "$has_bindfs" ] && theirs+=("$(concurrent_rate "$WORK/bind/input.bin")")
done
peak=$(rss_mib VmHWM)

echo "file:                $SIZE_MIB MiB, $cid"
echo "one reader:          peak RSS $after_one MiB"
echo "$READERS readers at once:   ${ours[*]} MiB/s in $ROUNDS rounds; RSS after each: ${rss_rounds[*]} MiB"
if [ -n "$has_bindfs" ]; then
    ratio=$(python3 -c "import math,sys; v=list(map(float,sys.argv[1:])); n=len(v)//2; print('%.2f' % math.exp(sum(math.log(a/b) for a,b in zip(v[:n],v[n:]))/n))" "${ours[@]}" "${theirs[@]}")
    echo "bindfs, same readers: ${theirs[*]} MiB/s; rsipfs ${ratio}x paired"
fi
echo "mount peak RSS:      $peak MiB (bar: < 150 MB)"
