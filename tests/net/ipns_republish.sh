#!/usr/bin/env bash
# The daemon republishes our names every Ipns.RepublishPeriod with a fresh
# end of life (Ipns.RecordLifetime), and refuses to start with a lifetime
# shorter than the period. Run inside tools/netns.sh.
#   ipns_republish.sh RSIPFS_BIN WORK_DIR
set -euo pipefail
R=$1; W=$2
source "$(dirname "$0")/lib.sh"

wait_for() {
  local until=$((SECONDS + $1)); shift
  until "$@"; do
    [ "$SECONDS" -lt "$until" ] || { echo "gave up waiting for: $*"; return 1; }
    sleep 0.2
  done
}
validity() { "$R" name inspect - | sed -n 's/^Validity: *"\(.*\)"$/\1/p'; }

prepare a 4601; prepare b 4602
IPFS_PATH=$W/a "$R" config Ipns.RepublishPeriod 2s
IPFS_PATH=$W/a "$R" config Ipns.RecordLifetime 1s
if IPFS_PATH=$W/a timeout 20 "$R" daemon > "$W/refused.out" 2> "$W/refused.txt"; then
  echo "the daemon started with a lifetime shorter than the period"; exit 1
fi
grep -q "shorter than Ipns.RepublishPeriod" "$W/refused.txt" && echo "OK a lifetime shorter than the period is refused"

IPFS_PATH=$W/a "$R" config Ipns.RecordLifetime 1h
CID=$(echo republished | IPFS_PATH=$W/a "$R" add -Q)
run a; run b
IPFS_PATH=$W/b "$R" swarm connect "/ip4/127.0.0.1/tcp/4601/p2p/$(id_of a)" > /dev/null
# A short lifetime of its own: the republished record lives an hour.
NAME=$(IPFS_PATH=$W/a "$R" name publish --lifetime 30s -Q "/ipfs/$CID")
FIRST=$(IPFS_PATH=$W/a "$R" name get "$NAME" | validity)
renewed_on_b() {
  IPFS_PATH=$W/b "$R" name resolve --nocache "$NAME" > /dev/null || return 1
  local now; now=$(IPFS_PATH=$W/b "$R" name get "$NAME" | validity)
  [ -n "$now" ] && [ "$now" != "$FIRST" ] && [[ "$now" > "$FIRST" ]]
}
wait_for 30 renewed_on_b && echo "OK B holds the republished record"
IPFS_PATH=$W/b "$R" name get "$NAME" | "$R" name inspect - > "$W/renewed.txt"
grep -q "^Sequence: *0$" "$W/renewed.txt" && grep -q "^Value: *\"/ipfs/$CID\"$" "$W/renewed.txt" \
  && echo "OK same value and sequence, later end of life"
