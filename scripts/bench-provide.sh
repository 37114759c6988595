#!/usr/bin/env bash
# Providing many CIDs into a DHT of NODES rsipfs servers on loopback, rsipfs
# against Kubo in the same network and run. The same tree of CIDS small
# files (100 directories) is added by an rsipfs node P through its daemon,
# then by a Kubo node K (`kubo-peer serve`); each provides every block as
# its add does. P is stopped before K starts, so both announce to the same
# NODES servers. The servers count the DHT requests they answer (`stats
# dht`); scripts/provide-watch.py sums them: the time from the first
# ADD_PROVIDER to 99% of all, and every request per CID provided (lookups
# and ADD_PROVIDERs together). Prints both and the ratios.
#   scripts/bench-provide.sh [CIDS] [NODES]     (default 100000 20)
set -euo pipefail
cd "$(dirname "$0")/.."
CIDS=${1:-100000}
NODES=${2:-20}
TOOLS=${SHARED_DIR:-$(cd .. && pwd)/shared}/tools
if [ "${INSIDE_NETNS:-}" != 1 ]; then
    cargo build --release --quiet
    exec env INSIDE_NETNS=1 "$TOOLS/netns.sh" bash "$0" "$@"
fi
R=$PWD/target/release/rsipfs
K=$TOOLS/kubo-peer
W=$(mktemp -d /var/tmp/rsipfs-bench-provide.XXXXXX)
source tests/net/lib.sh
trap 'cleanup; rm -rf "$W"' EXIT
api_of() { sed -E 's#/ip4/([^/]+)/tcp/([0-9]+).*#\1:\2#' "$W/$1/api"; }
lan_peers() { IPFS_PATH=$W/$1 "$R" stats dht | sed -nE 's/^DHT lan \(([0-9]+) peers\).*/\1/p'; }
# wait_for_table NAME AT_LEAST: its LAN DHT knows that many peers (60 s at most).
wait_for_table() {
    for _ in $(seq 600); do [ "$(lan_peers "$1")" -ge "$2" ] && return; sleep 0.1; done
    echo "$1 knows $(lan_peers "$1") LAN DHT peers, fewer than $2"
}

python3 - "$W/tree" "$CIDS" <<'PY'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    d = os.path.join(root, f"d{i % 100:02}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i}"), "w") as f:
        f.write(f"provide bench file {i}\n")
PY

for i in $(seq "$NODES"); do
    prepare "d$i" 0
    IPFS_PATH=$W/d$i "$R" config --json Addresses.Swarm "[\"/ip4/127.0.1.$i/tcp/4700\"]"
    if [ "$i" -gt 1 ]; then
        IPFS_PATH=$W/d$i "$R" config --json Bootstrap "[\"$D1\"]"
    fi
    run "d$i"
    [ "$i" -eq 1 ] && D1=/ip4/127.0.1.1/tcp/4700/p2p/$(id_of d1)
done
for i in $(seq "$NODES"); do wait_for_table "d$i" $((NODES - 1)); done
apis=(); for i in $(seq "$NODES"); do apis+=("$(api_of "d$i")"); done

prepare p 0
IPFS_PATH=$W/p "$R" config --json Addresses.Swarm '["/ip4/127.0.2.1/tcp/4700"]'
IPFS_PATH=$W/p "$R" config --json Bootstrap "[\"$D1\"]"
run p
P_PID=${pids[-1]}
wait_for_table p "$NODES"
python3 scripts/provide-watch.py 10 1800 "${apis[@]}" > "$W/ours.json" &
watcher=$!
until [ -s "$W/ours.json" ]; do sleep 0.1; done
t0=$(date +%s.%N)
root=$(IPFS_PATH=$W/p "$R" add -r -Q "$W/tree")
echo "rsipfs added $root in $(echo "$(date +%s.%N) - $t0" | bc) s"
wait "$watcher"
IPFS_PATH=$W/p "$R" stats provide | grep -E "TotalProvides|Queued"
kill "$P_PID"; wait "$P_PID" 2>/dev/null || true

python3 scripts/provide-watch.py 10 3600 "${apis[@]}" > "$W/kubo.json" &
watcher=$!
until [ -s "$W/kubo.json" ]; do sleep 0.1; done
"$K" serve --ip 127.0.3.1 --port 4700 --bootstrap "$D1" "$W/tree" > "$W/k.json" 2> "$W/k.err" &
pids+=($!)
wait "$watcher"
kroot=$(python3 -c 'import json,sys; print(list(json.load(open(sys.argv[1]))["cids"].values())[0])' "$W/k.json")
[ "$kroot" = "$root" ] || echo "warning: Kubo's root $kroot is not ours ($root)"

python3 - "$W/ours.json" "$W/kubo.json" "$CIDS" "$NODES" <<'PY'
import json, sys
def last(path):
    return json.loads(open(path).read().splitlines()[-1])
ours, kubo = last(sys.argv[1]), last(sys.argv[2])
cids, nodes = int(sys.argv[3]) + 101, int(sys.argv[4])  # files, 100 directories and the root
for name, r in (("rsipfs", ours), ("Kubo", kubo)):
    total = sum(r["requests"].values())
    print(f"{name:6}: {r['seconds_to_99']} s to 99% of {r['add_provider']} ADD_PROVIDER "
          f"({r['add_provider'] / cids:.1f} a CID), {total / cids:.1f} requests a CID "
          f"{r['requests']}{' TIMED OUT' if r['timed_out'] else ''}")
if ours["seconds_to_99"] and kubo["seconds_to_99"]:
    print(f"time ratio Kubo/rsipfs: {kubo['seconds_to_99'] / ours['seconds_to_99']:.2f}x; "
          f"requests a CID rsipfs/Kubo: "
          f"{sum(ours['requests'].values()) / max(1, sum(kubo['requests'].values())):.2f}")
PY
