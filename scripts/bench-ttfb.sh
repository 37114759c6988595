#!/usr/bin/env bash
# Time to first byte of content two DHT hops away, rsipfs against Kubo in
# the same namespace and topology: provider A and hub B, both knowing each
# other; a fresh fetcher C is connected to B alone and reads a small file
# (one block) that only A has. rsipfs's C reads it through its /ipfs mount
# (`cat`); Kubo's C is `kubo-peer fetch` via B (its clock starts once
# connected to B, and ours likewise). The file is one block, so the whole
# read is the time to its first byte. Rounds alternate rsipfs and Kubo;
# prints the medians and the ratio.
#   scripts/bench-ttfb.sh [ROUNDS]     (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
TOOLS=${SHARED_DIR:-$(cd .. && pwd)/shared}/tools
if [ "${INSIDE_NETNS:-}" != 1 ]; then
    cargo build --release --quiet
    exec env INSIDE_NETNS=1 "$TOOLS/netns.sh" bash "$0" "$@"
fi
R=$PWD/target/release/rsipfs
K=$TOOLS/kubo-peer
W=$(mktemp -d /var/tmp/rsipfs-bench-ttfb.XXXXXX)
source tests/net/lib.sh
trap 'cleanup; rm -rf "$W"' EXIT
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
json_id() { for _ in $(seq 300); do [ -s "$1" ] && break; sleep 0.1; done
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["peer_id"])' "$1"; }
stop_all() { cleanup; pids=(); }

A=127.0.0.2; B=127.0.0.3; C=127.0.0.4
ours=(); theirs=()
for round in $(seq "$ROUNDS"); do
    head -c 200000 /dev/urandom > "$W/file$round.bin"

    # rsipfs: A and B know each other; C connects to B, then reads.
    rm -rf "$W/a" "$W/b" "$W/c"
    prepare a 0; prepare b 0; prepare c 0
    IPFS_PATH=$W/a "$R" config --json Addresses.Swarm "[\"/ip4/$A/tcp/4802\"]"
    IPFS_PATH=$W/b "$R" config --json Addresses.Swarm "[\"/ip4/$B/tcp/4803\"]"
    IPFS_PATH=$W/c "$R" config --json Addresses.Swarm "[\"/ip4/$C/tcp/4804\"]"
    B_ADDR=/ip4/$B/tcp/4803/p2p/$(id_of b)
    IPFS_PATH=$W/a "$R" config --json Bootstrap "[\"$B_ADDR\"]"
    cid=$(IPFS_PATH=$W/a "$R" add -Q "$W/file$round.bin")
    run b; run a
    a_id=$(id_of a)
    for _ in $(seq 100); do
        IPFS_PATH=$W/b "$R" routing findprovs -n 1 "$cid" 2>/dev/null | grep -q "$a_id" && break
        sleep 0.1
    done
    mkdir -p "$W/c-ipfs" "$W/c-mfs"
    run c --mount --ipfs "$W/c-ipfs" --mfs "$W/c-mfs"
    IPFS_PATH=$W/c "$R" swarm connect "$B_ADDR" > /dev/null
    took=$(python3 - "$W/c-ipfs/$cid" <<'PY'
import sys, time
t0 = time.perf_counter()
with open(sys.argv[1], "rb") as f:
    f.read(1)
print("%.4f" % (time.perf_counter() - t0))
PY
)
    cmp "$W/file$round.bin" "$W/c-ipfs/$cid"
    ours+=("$took")
    stop_all

    # Kubo: the same topology.
    head -c 1000 /dev/urandom > "$W/seed$round.bin"  # B holds something else
    "$K" serve --ip $B --port 4813 "$W/seed$round.bin" > "$W/kb.json" 2> "$W/kb.err" &
    pids+=($!)
    kb=/ip4/$B/tcp/4813/p2p/$(json_id "$W/kb.json")
    "$K" serve --ip $A --port 4812 --bootstrap "$kb" "$W/file$round.bin" > "$W/ka.json" 2> "$W/ka.err" &
    pids+=($!)
    json_id "$W/ka.json" > /dev/null
    kcid=$(python3 -c 'import json,sys; print(list(json.load(open(sys.argv[1]))["cids"].values())[0])' "$W/ka.json")
    [ "$kcid" = "$cid" ] || { echo "Kubo's CID $kcid is not ours $cid"; exit 1; }
    sleep 1  # kubo-peer's README: A's records are at B within a second
    out=$("$K" fetch --ip $C --port 4814 --timeout 60 "$kb" "$cid" "$W/kc.bin")
    cmp "$W/file$round.bin" "$W/kc.bin"
    theirs+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["seconds"])' "$out")")
    stop_all
    echo "round $round: rsipfs ${ours[-1]} s, Kubo ${theirs[-1]} s"
done
o=$(median "${ours[@]}"); t=$(median "${theirs[@]}")
echo "time to first byte, two hops (median of $ROUNDS): rsipfs $o s, Kubo $t s"
python3 -c "print('ratio rsipfs/Kubo: %.2f (bar: <= 1.00, and rsipfs under 1 s)' % ($o / $t))"
