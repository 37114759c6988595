#!/usr/bin/env bash
# rsipfs add of a random file vs Kubo's add of the same file, in one run,
# then rsipfs cat of it to /dev/null. Prints MiB/s and the ratio.
#   scripts/bench-add.sh [SIZE_MIB]        (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED_DIR=${SHARED_DIR:-$(cd .. && pwd)/shared}
SIZE_MIB=${1:-1024}

cargo build --release --quiet
BIN=$PWD/target/release/rsipfs
WORK=$(mktemp -d /var/tmp/rsipfs-bench-add.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

echo "input: $SIZE_MIB MiB of random bytes"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$WORK/input.bin"

# Deleting a large tree makes ext4 (mounted with discard) slow for a while:
# let the machine settle before each timed run.
settle() { sync; sleep 5; }

median() { sort -n | sed -n 2p; }

# Three adds into three fresh repositories (deleting one in between would
# slow the next: see settle), then three of Kubo's; the median of each.
ours_runs=()
for run in 1 2 3; do
    export IPFS_PATH=$WORK/repo$run
    "$BIN" init --profile test > /dev/null
    settle
    start=$(date +%s.%N)
    ours_cid=$("$BIN" add -Q "$WORK/input.bin")
    end=$(date +%s.%N)
    ours_runs+=("$(python3 -c "print('%.1f' % ($SIZE_MIB / ($end - $start)))")")
done
ours_mibs=$(printf '%s\n' "${ours_runs[@]}" | median)

kubo_runs=()
for run in 1 2 3; do
    settle
    kubo_json=$("$SHARED_DIR/tools/kubo-peer" bench-add "$WORK/input.bin" 2>/dev/null | grep '^{')
    kubo_cid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["cid"])' "$kubo_json")
    kubo_runs+=("$(python3 -c 'import json,sys; print("%.1f" % json.loads(sys.argv[1])["mib_per_s"])' "$kubo_json")")
done
kubo_mibs=$(printf '%s\n' "${kubo_runs[@]}" | median)

if [ "$ours_cid" != "$kubo_cid" ]; then
    echo "CID MISMATCH: rsipfs $ours_cid, kubo $kubo_cid" >&2
    exit 1
fi

start=$(date +%s.%N)
"$BIN" cat "$ours_cid" > /dev/null
end=$(date +%s.%N)
cat_mibs=$(python3 -c "print('%.1f' % ($SIZE_MIB / ($end - $start)))")

echo "cid:         $ours_cid (same as Kubo)"
echo "kubo add:    $kubo_mibs MiB/s (median of ${kubo_runs[*]})"
echo "rsipfs add:  $ours_mibs MiB/s (median of ${ours_runs[*]})"
echo "ratio add:   $(python3 -c "print('%.2f' % ($ours_mibs / $kubo_mibs))")x Kubo (bar: 2.5x)"
echo "rsipfs cat:  $cat_mibs MiB/s (warm page cache)"
