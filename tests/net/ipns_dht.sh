#!/usr/bin/env bash
# IPNS over the DHT between three rsipfs nodes in a line, A - B - C: a
# name A publishes resolves on C (CLI and API), a newer record replaces the
# older, and forged or expired records put by a bare peer are refused by
# every DHT server. Run inside a fresh network namespace (tools/netns.sh).
#   ipns_dht.sh RSIPFS_BIN DHT_VALUE_BIN WORK_DIR
set -euo pipefail
R=$1; TOOL=$2; W=$3
source "$(dirname "$0")/lib.sh"
export RSIPFS_LOG=rsipfs::net=info

# wait_for SECONDS CMD...: runs CMD until it succeeds, at most SECONDS.
wait_for() {
  local until=$((SECONDS + $1)); shift
  until "$@"; do
    [ "$SECONDS" -lt "$until" ] || { echo "gave up waiting for: $*"; return 1; }
    sleep 0.2
  done
}
api_url() { python3 -c 'import sys; p=open(sys.argv[1]).read().split("/"); print(f"http://{p[2]}:{p[4]}")' "$W/$1/api"; }

prepare a 4501; prepare b 4502; prepare c 4503; prepare x 4504; prepare d 4505
FIRST=$(echo first | IPFS_PATH=$W/a "$R" add -Q)
SECOND=$(echo second | IPFS_PATH=$W/a "$R" add -Q)
run a; run b; run c
IPFS_PATH=$W/a "$R" swarm connect "/ip4/127.0.0.1/tcp/4502/p2p/$(id_of b)" > /dev/null
IPFS_PATH=$W/c "$R" swarm connect "/ip4/127.0.0.1/tcp/4502/p2p/$(id_of b)" > /dev/null
# C was told only of B (it may meet A on its first DHT walk): the record
# comes from the DHT either way.

# Online, publishing needs no --allow-offline.
NAME=$(IPFS_PATH=$W/a "$R" name publish -Q "/ipfs/$FIRST")
GOT=$(IPFS_PATH=$W/c "$R" name resolve "$NAME")
[ "$GOT" = "/ipfs/$FIRST" ] && echo "OK resolved on C through the DHT"
GOT=$(curl -sf -X POST "$(api_url c)/api/v0/name/resolve?arg=$NAME&nocache=true" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Path"])')
[ "$GOT" = "/ipfs/$FIRST" ] && echo "OK resolved through C's API"

IPFS_PATH=$W/a "$R" name publish "/ipfs/$SECOND" > /dev/null
newer() { [ "$(IPFS_PATH=$W/c "$R" name resolve --nocache "$NAME")" = "/ipfs/$SECOND" ]; }
wait_for 10 newer && echo "OK the newer record replaced the older on C"
IPFS_PATH=$W/c "$R" name get "$NAME" > "$W/c-held.bin"
IPFS_PATH=$W/c "$R" name inspect "$W/c-held.bin" | grep -q "^Sequence: *1$" \
  && echo "OK C keeps the newer record"

# D joins after the publications: C's next lookup finds D among the closest
# peers without the record and gives it the best one (as Kubo's DHT does).
RSIPFS_LOG=rsipfs::net=debug run d
IPFS_PATH=$W/d "$R" swarm connect "/ip4/127.0.0.1/tcp/4502/p2p/$(id_of b)" > /dev/null
corrected() {
  IPFS_PATH=$W/c "$R" name resolve --nocache "$NAME" > /dev/null
  grep -q "kept a DHT record for $NAME from $(id_of c)" "$W/d.err"
}
wait_for 20 corrected && echo "OK C's lookup gave the record to D, which lacked it"

# The bare peer's get counts what servers hold: A's current record is
# served (so a refusal below means something).
IPFS_PATH=$W/a "$R" name get "$NAME" > "$W/current.bin"
B_ADDR="/ip4/127.0.0.1/tcp/4502/p2p/$(id_of b)"
"$TOOL" get "$B_ADDR" "$NAME" "$W/current.bin" | grep -q "^served [1-9]" \
  && echo "OK servers serve the current record"

# `name put` of a record made elsewhere (X, offline) on an online node (C)
# sends it to the DHT too, as Kubo's does: B then serves it.
IPFS_PATH=$W/x "$R" key gen carried > /dev/null
CARRIED=$(IPFS_PATH=$W/x "$R" name publish --allow-offline --key carried -Q "/ipfs/$FIRST")
IPFS_PATH=$W/x "$R" name get "$CARRIED" > "$W/carried.bin"
IPFS_PATH=$W/c "$R" name put "$CARRIED" "$W/carried.bin" > /dev/null
"$TOOL" get "$B_ADDR" "$CARRIED" "$W/carried.bin" | grep -q "^served [1-9]" \
  && echo "OK name put on an online node reaches the DHT servers"

# Forged: a record signed by another key (X's, sequence 100) under A's name,
# and A's own record with a byte of its signed data flipped.
IPFS_PATH=$W/x "$R" name publish --allow-offline --sequence 100 "/ipfs/$FIRST" > /dev/null
IPFS_PATH=$W/x "$R" name get "$(id_of x)" > "$W/forged.bin"
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[-3]^=1; open(sys.argv[2],"wb").write(b)' \
  "$W/current.bin" "$W/flipped.bin"
head -c 12000 /dev/urandom > "$W/oversized.bin"
for bad in forged flipped oversized; do
  "$TOOL" put "$B_ADDR" "$NAME" "$W/$bad.bin" > "$W/put-$bad.out"
  grep -q "^taken [1-9]" "$W/put-$bad.out" || { echo "the $bad put reached nobody"; exit 1; }
  "$TOOL" get "$B_ADDR" "$NAME" "$W/$bad.bin" | grep -q "^served 0 of [1-9]" \
    && echo "OK the $bad record is refused by the DHT servers"
done
grep -q "refused a DHT record" "$W/b.err" && echo "OK B logged the refusals"
GOT=$(IPFS_PATH=$W/c "$R" name resolve --nocache "$NAME")
[ "$GOT" = "/ipfs/$SECOND" ] && echo "OK C still resolves the true record"

# Expired: X's own record, three seconds long, put once it has expired.
IPFS_PATH=$W/x "$R" key gen short > /dev/null
SHORT=$(IPFS_PATH=$W/x "$R" name publish --allow-offline --key short --lifetime 3s -Q "/ipfs/$FIRST")
IPFS_PATH=$W/x "$R" name get "$SHORT" > "$W/expired.bin"
expired() { IPFS_PATH=$W/x "$R" name inspect --verify "$SHORT" "$W/expired.bin" | grep -q "expired"; }
wait_for 10 expired
"$TOOL" put "$B_ADDR" "$SHORT" "$W/expired.bin" | grep -q "^taken [1-9]"
"$TOOL" get "$B_ADDR" "$SHORT" "$W/expired.bin" | grep -q "^served 0 of 0" \
  && echo "OK the expired record is refused by the DHT servers"
# The lookup ends when the DHT has no more to say, well before the limit.
set +e
IPFS_PATH=$W/c timeout 10 "$R" name resolve --nocache --dht-timeout 60s "$SHORT" > /dev/null 2> "$W/unresolved.txt"
status=$?
set -e
[ "$status" -ne 0 ] || { echo "C resolved an expired name"; exit 1; }
[ "$status" -ne 124 ] || { echo "resolving an unknown name waited out the limit"; exit 1; }
grep -q "could not resolve name" "$W/unresolved.txt" && echo "OK C does not resolve the expired name, at once"
