#!/usr/bin/env bash
# Cold sequential read of a random file through the /ipfs mount, against
# Kubo's cold get of the same file (kubo-peer bench-get --cold) and, when
# bindfs is installed, a FUSE passthrough of the same bytes (also of the
# repo's block files holding them, as a sequential reader would); then a warm
# re-read, the mount's peak RSS and how fast the mount answers after start.
#   scripts/bench-read.sh [SIZE_MIB]        (default 1024; needs root)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED_DIR=${SHARED_DIR:-$(cd .. && pwd)/shared}
SIZE_MIB=${1:-1024}

. scripts/mount-bench.sh bench-read
rate() { python3 -c "print('%.1f' % ($SIZE_MIB / ($2 - $1)))"; }
# Runs the command (its output discarded); prints MiB/s for SIZE_MIB.
timed_rate() {
    local start end
    start=$(date +%s.%N)
    "$@" > /dev/null
    end=$(date +%s.%N)
    rate "$start" "$end"
}
cold_rate() {
    drop_caches
    timed_rate cat "$1"
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The geometric mean of A[i]/B[i], from "a b" lines on stdin.
paired() { python3 -c "import math,sys; v=list(map(float,sys.stdin.read().split())); r=[a/b for a,b in zip(v[::2],v[1::2])]; print('%.2f' % math.exp(sum(map(math.log,r))/len(r)))"; }

head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$WORK/input.bin"
export IPFS_PATH=$WORK/repo
"$BIN" init --profile test > /dev/null
cid=$("$BIN" add -Q "$WORK/input.bin")

kubo=$("$SHARED_DIR/tools/kubo-peer" bench-get --cold "$WORK/input.bin" 2>/dev/null | grep '^{')
kubo_cold=$(python3 -c 'import json,sys; print("%.1f" % json.loads(sys.argv[1])["first"]["mib_per_s"])' "$kubo")

drop_caches
start=$(date +%s.%N)
"$BIN" mount --offline --ipfs "$WORK/mnt" > /dev/null 2>"$WORK/mount.log" &
MOUNT_PID=$!
# `mount` creates the directory itself, so only mountpoint tells it is up.
until mountpoint -q "$WORK/mnt"; do sleep 0.005; done
ready=$(date +%s.%N)
ready_ms=$(python3 -c "print('%.0f' % (($ready - $start) * 1000))")

# Cold reads on these VMs vary run to run and drift within a run, so the
# mount and bindfs over the original file take turns, five rounds each.
ROUNDS=5
ours_runs=() bind_runs=()
if command -v bindfs > /dev/null; then
    mkdir -p "$WORK/bind"
    bindfs "$WORK" "$WORK/bind"
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then
            ours_runs+=("$(cold_rate "$WORK/mnt/$cid")")
            bind_runs+=("$(cold_rate "$WORK/bind/input.bin")")
        else
            bind_runs+=("$(cold_rate "$WORK/bind/input.bin")")
            ours_runs+=("$(cold_rate "$WORK/mnt/$cid")")
        fi
    done
    umount "$WORK/bind"
else
    for _ in $(seq "$ROUNDS"); do ours_runs+=("$(cold_rate "$WORK/mnt/$cid")"); done
fi
ours_cold=$(median "${ours_runs[@]}")

cat "$WORK/mnt/$cid" > /dev/null
ours_warm=$(timed_rate cat "$WORK/mnt/$cid")
rss_mib=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$MOUNT_PID/status")

# The file's blocks as the repo stores them, in file order: one file per
# block, named by the multihash in hex in 4/2/2 tiers (src/repo/flatfs.rs).
"$BIN" refs -r "$cid" | python3 -c '
import sys
ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
for line in sys.stdin:
    n = 0
    for ch in line.strip():
        n = n * 58 + ALPHABET.index(ch)
    h = n.to_bytes(34, "big").hex()
    print("/".join([sys.argv[1], h[:4], h[4:6], h[6:8], h[8:]]))
' "$WORK/repo/blocks" > "$WORK/block-files"
# Reads the listed files in order with one cat (or, with a second argument
# N, N cats at a time taking 64 files each), caches dropped first.
cold_read_files() {
    drop_caches
    if [ -n "${2:-}" ]; then
        timed_rate xargs -a "$1" -P "$2" -n 64 cat
    else
        timed_rate xargs -a "$1" cat
    fi
}
blocks_direct=$(cold_read_files "$WORK/block-files")
# As many readers at once as the mount's read-ahead keeps going, no FUSE:
# about the fastest this repo layout gives up its blocks on this machine.
blocks_parallel=$(cold_read_files "$WORK/block-files" 8)

bind_cold="n/a (bindfs not installed)"
bind_blocks="n/a"
if [ "${#bind_runs[@]}" -gt 0 ]; then
    bind_median=$(median "${bind_runs[@]}")
    bind_ratio=$(for i in "${!ours_runs[@]}"; do echo "${ours_runs[$i]} ${bind_runs[$i]}"; done | paired)
    bind_cold="$bind_median MiB/s (median of $ROUNDS, taking turns with the mount); rsipfs $(python3 -c "print('%.2f' % ($ours_cold / $bind_median))")x of the medians, ${bind_ratio}x paired (bar: 1x)"
    bindfs "$WORK" "$WORK/bind"
    sed "s|^$WORK/|$WORK/bind/|" "$WORK/block-files" > "$WORK/bind-block-files"
    bind_blocks="$(cold_read_files "$WORK/bind-block-files") MiB/s"
    umount "$WORK/bind"
fi

echo "file:              $SIZE_MIB MiB, $cid"
echo "kubo cold get:     $kubo_cold MiB/s"
echo "rsipfs cold read:  $ours_cold MiB/s through the mount (median of $ROUNDS: ${ours_runs[*]})"
echo "ratio cold:        $(python3 -c "print('%.2f' % ($ours_cold / $kubo_cold))")x Kubo (bar: 5x)"
echo "bindfs cold read:  $bind_cold; rounds: ${bind_runs[*]:-none}"
echo "the stored blocks: $blocks_direct MiB/s with cat, $blocks_parallel MiB/s with 8 cats at once, $bind_blocks through bindfs (the repo's $(wc -l < "$WORK/block-files") block files in file order)"
echo "rsipfs warm read:  $ours_warm MiB/s (bar: 2 GB/s)"
echo "mount peak RSS:    $rss_mib MiB (bar: < 150 MB)"
echo "mount ready after: $ready_ms ms (bar: < 200 ms)"
