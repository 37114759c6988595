#!/usr/bin/env bash
# POSIX conformance of the writable /mfs mount: pjdfstest (0 failures and at
# least 360 passed) and fsx (N operations, default 1 000 000), both against a
# real mount of a fresh repository. Needs pjdfstest and fsx on PATH
# (cargo install pjdfstest fsx), root, /dev/fuse, and the users `nobody` and
# `tests` (see .ci/run).
#   usage: scripts/mfs-conformance.sh [FSX_OPS]
set -euo pipefail
cd "$(dirname "$0")/.."
FSX_OPS=${1:-1000000}
MIN_PASSED=360
RSIPFS=${RSIPFS:-$PWD/target/release/rsipfs}
CONFIG=$PWD/scripts/pjdfstest.toml
FSX_CONFIG=$PWD/scripts/fsx.toml
for tool in "$RSIPFS" pjdfstest fsx; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/rsipfs-conformance.XXXXXX)
# pjdfstest switches to other users, who must reach the mount point.
chmod 0755 "$WORK"
export IPFS_PATH=$WORK/repo
MNT=$WORK/mfs
PID=
cleanup() {
  [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  umount -l "$MNT" 2>/dev/null || true
  umount -l "$WORK/ipfs" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$RSIPFS" init --profile test >/dev/null
"$RSIPFS" mount --offline --allow-other --ipfs "$WORK/ipfs" --mfs "$MNT" 2>"$WORK/mount.log" &
PID=$!
for _ in $(seq 100); do
  mountpoint -q "$MNT" && break
  sleep 0.1
done
mountpoint -q "$MNT" || { cat "$WORK/mount.log"; echo "the MFS mount did not come up" >&2; exit 1; }

echo "== pjdfstest on $MNT"
mkdir "$MNT/pjdfstest" && chmod 0777 "$MNT/pjdfstest"
start=$(date +%s)
(cd "$MNT/pjdfstest" && pjdfstest -c "$CONFIG" -p "$MNT/pjdfstest") >"$WORK/pjdfstest.log" 2>&1 || true
summary=$(grep '^Summary:' "$WORK/pjdfstest.log" || true)
echo "$summary ($(( $(date +%s) - start )) s)"
failed=$(sed -n 's/^Summary: \([0-9]*\) failed.*/\1/p' <<<"$summary")
passed=$(sed -n 's/.* \([0-9]*\) passed.*/\1/p' <<<"$summary")
if [ -z "$failed" ] || [ "$failed" != 0 ] || [ "${passed:-0}" -lt "$MIN_PASSED" ]; then
  grep -v -e ' ok$' -e 'skipped$' "$WORK/pjdfstest.log" | head -80
  echo "pjdfstest: want 0 failed and at least $MIN_PASSED passed" >&2
  exit 1
fi

echo "== fsx: $FSX_OPS operations on $MNT/fsx.file"
start=$(date +%s)
if ! (cd "$MNT" && fsx -N "$FSX_OPS" -S 1 -f "$FSX_CONFIG" -P "$WORK" "$MNT/fsx.file" >"$WORK/fsx.log" 2>&1); then
  tail -40 "$WORK/fsx.log"
  echo "fsx failed" >&2
  exit 1
fi
tail -1 "$WORK/fsx.log"
echo "fsx: $FSX_OPS operations in $(( $(date +%s) - start )) s"

kill -TERM "$PID"; wait "$PID"; PID=
"$RSIPFS" repo verify
echo "conformance: ok"
