#!/usr/bin/env bash
# rsipfs add vs Kubo's add of the same input, and the disk's own sequential
# write of the same bytes, in one run: five rounds, each running rsipfs,
# Kubo and dd in turn after a sync and a pause. Prints the medians, the two
# ratios and rsipfs's peak RSS; then rsipfs cat of the file to /dev/null.
#   scripts/bench-add.sh [SIZE_MIB]        a random file (default 1024 MiB)
#   scripts/bench-add.sh --tree [FILES]    a tree of FILES small files (1-4 KiB,
#                                          in 100 directories; default 100000),
#                                          added with -r (no dd reference)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED_DIR=${SHARED_DIR:-$(cd .. && pwd)/shared}
ROUNDS=${ROUNDS:-5}
PAUSE=${PAUSE:-5}

MODE=file
if [ "${1:-}" = "--tree" ]; then
    MODE=tree
    FILES=${2:-100000}
else
    SIZE_MIB=${1:-1024}
fi

# RSIPFS_BIN: a binary to measure instead of this tree's release build.
if [ -n "${RSIPFS_BIN:-}" ]; then
    BIN=$RSIPFS_BIN
else
    cargo build --release --quiet
    BIN=$PWD/target/release/rsipfs
fi
WORK=$(mktemp -d /var/tmp/rsipfs-bench-add.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

if [ "$MODE" = file ]; then
    echo "input: $SIZE_MIB MiB of random bytes"
    INPUT=$WORK/input.bin
    head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$INPUT"
    ADD_FLAGS=()
else
    echo "input: $FILES files of 1-4 KiB of random bytes in 100 directories"
    INPUT=$WORK/tree
    python3 - "$INPUT" "$FILES" <<'EOF'
import os, random, sys
root, files = sys.argv[1], int(sys.argv[2])
rng = random.Random(21)
for i in range(files):
    d = os.path.join(root, f"d{i % 100:03}")
    if i < 100:
        os.makedirs(d)
    with open(os.path.join(d, f"f{i:06}.bin"), "wb") as f:
        f.write(rng.randbytes(rng.randint(1024, 4096)))
EOF
    ADD_FLAGS=(-r)
fi
BYTES=$(du -sb --apparent-size "$INPUT" | cut -f1)
# Each add goes to a fresh repository, and none is deleted before the end:
# ext4 (mounted with discard) is slow for a while after a large delete.
settle() { sync; sleep "$PAUSE"; }
now() { date +%s.%N; }
mibs() { python3 -c "import sys; print('%.1f' % ($BYTES / 2**20 / (float(sys.argv[2]) - float(sys.argv[1]))))" "$1" "$2"; }
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
json_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

ours_runs=() kubo_runs=() dd_runs=() rss_runs=()
for round in $(seq "$ROUNDS"); do
    export IPFS_PATH=$WORK/repo$round
    "$BIN" init --profile test > /dev/null
    settle
    start=$(now)
    ours_cid=$(/usr/bin/time -f %M -o "$WORK/rss" "$BIN" add -Q "${ADD_FLAGS[@]}" "$INPUT")
    end=$(now)
    ours_runs+=("$(mibs "$start" "$end")")
    rss_runs+=("$(cat "$WORK/rss")")

    settle
    kubo_json=$("$SHARED_DIR/tools/kubo-peer" bench-add "$INPUT" 2>/dev/null | grep '^{')
    kubo_cid=$(json_field "$kubo_json" cid)
    kubo_runs+=("$(python3 -c "print('%.1f' % ($BYTES / 2**20 / $(json_field "$kubo_json" seconds)))")")

    if [ "$MODE" = file ]; then
        settle
        start=$(now)
        dd if="$INPUT" of="$WORK/dd.out" bs=4M oflag=direct conv=fsync status=none
        end=$(now)
        dd_runs+=("$(mibs "$start" "$end")")
        rm -f "$WORK/dd.out"
    fi
    echo "round $round: rsipfs ${ours_runs[-1]}, kubo ${kubo_runs[-1]}${dd_runs:+, dd ${dd_runs[-1]}} MiB/s"
done

if [ "$ours_cid" != "$kubo_cid" ]; then
    echo "CID MISMATCH: rsipfs $ours_cid, kubo $kubo_cid" >&2
    exit 1
fi
ours_mibs=$(printf '%s\n' "${ours_runs[@]}" | median)
kubo_mibs=$(printf '%s\n' "${kubo_runs[@]}" | median)
ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }

echo "cid:          $ours_cid (same as Kubo)"
echo "kubo add:     $kubo_mibs MiB/s (median of ${kubo_runs[*]})"
echo "rsipfs add:   $ours_mibs MiB/s (median of ${ours_runs[*]})"
echo "vs kubo:      $(ratio "$ours_mibs" "$kubo_mibs")x (bar: 3x)"
if [ "$MODE" = file ]; then
    dd_mibs=$(printf '%s\n' "${dd_runs[@]}" | median)
    echo "dd direct:    $dd_mibs MiB/s (median of ${dd_runs[*]})"
    echo "vs dd:        $(ratio "$ours_mibs" "$dd_mibs")x (bar: 0.7x)"
fi
echo "rsipfs peak RSS: $(printf '%s\n' "${rss_runs[@]}" | sort -n | tail -1) KiB (largest of ${rss_runs[*]}; bar: 100 MB)"

if [ "$MODE" = file ]; then
    start=$(now)
    "$BIN" cat "$ours_cid" > /dev/null
    end=$(now)
    echo "rsipfs cat:   $(mibs "$start" "$end") MiB/s (just added)"
fi
