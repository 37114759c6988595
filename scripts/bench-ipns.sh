#!/usr/bin/env bash
# IPNS over the DHT, five rsipfs daemons on loopback inside a fresh network
# namespace (four know only the first). Prints:
#  1. publish → resolvable: node 2 publishes a new value through its API, and
#     node 5 resolves (--nocache, through its API) until it sees it; the
#     median over the rounds (bar: < 2 s);
#  2. a cached resolve: many `name/resolve` of one name through node 5's API
#     on one kept-alive connection, total time / count (bar: < 1 ms), next to
#     the same number of `version` calls (the HTTP round trip alone).
#   scripts/bench-ipns.sh [ROUNDS] [RESOLVES]      (default 9 rounds, 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-9}
RESOLVES=${2:-2000}
TOOLS=${SHARED_DIR:-$(cd .. && pwd)/shared}/tools
if [ "${INSIDE_NETNS:-}" != 1 ]; then
    cargo build --release --quiet
    exec env INSIDE_NETNS=1 "$TOOLS/netns.sh" bash "$0" "$@"
fi
R=$PWD/target/release/rsipfs
W=$(mktemp -d /var/tmp/rsipfs-bench-ipns.XXXXXX)
source tests/net/lib.sh
trap 'cleanup; rm -rf "$W"' EXIT

for n in 1 2 3 4 5; do prepare "n$n" "470$n"; done
CIDS=()
for round in $(seq "$ROUNDS"); do
    CIDS+=("$(echo "round $round $RANDOM" | IPFS_PATH=$W/n2 "$R" add -Q)")
done
for n in 1 2 3 4 5; do run "n$n"; done
FIRST="/ip4/127.0.0.1/tcp/4701/p2p/$(id_of n1)"
for n in 2 3 4 5; do IPFS_PATH=$W/n$n "$R" swarm connect "$FIRST" > /dev/null; done
NAME=$(IPFS_PATH=$W/n2 "$R" name publish -Q "/ipfs/${CIDS[0]}")

python3 - "$W/n2/api" "$W/n5/api" "$NAME" "$RESOLVES" "${CIDS[@]}" <<'EOF'
import http.client, json, statistics, sys, time, urllib.parse

def endpoint(api_file):
    parts = open(api_file).read().strip().split("/")
    return parts[2], int(parts[4])

publisher, resolver = endpoint(sys.argv[1]), endpoint(sys.argv[2])
name, resolves, cids = sys.argv[3], int(sys.argv[4]), sys.argv[5:]

def call(conn, command, **args):
    query = urllib.parse.urlencode(args)
    conn.request("POST", f"/api/v0/{command}?{query}")
    reply = conn.getresponse()
    body = reply.read()
    return reply.status, body

pub = http.client.HTTPConnection(*publisher, timeout=120)
res = http.client.HTTPConnection(*resolver, timeout=120)
rounds = []
for cid in cids[1:]:
    want = f"/ipfs/{cid}"
    start = time.perf_counter()
    status, body = call(pub, "name/publish", arg=want)
    assert status == 200, body
    published = time.perf_counter() - start
    while True:
        status, body = call(res, "name/resolve", arg=name, nocache="true")
        if status == 200 and json.loads(body)["Path"] == want:
            break
        if time.perf_counter() - start > 60:
            sys.exit(f"{want} not resolvable on node 5 after 60 s")
    rounds.append((time.perf_counter() - start, published))
    print(f"  round: publish {published * 1000:.0f} ms, resolvable on node 5 after "
          f"{rounds[-1][0] * 1000:.0f} ms")
median = statistics.median(r[0] for r in rounds)
print(f"publish -> resolvable on another node: median {median * 1000:.0f} ms "
      f"over {len(rounds)} rounds (bar < 2000 ms)")

# The name is cached on node 5 now (its TTL is 5 minutes).
status, body = call(res, "name/resolve", arg=name)
assert status == 200, body
start = time.perf_counter()
for _ in range(resolves):
    status, body = call(res, "name/resolve", arg=name)
    assert status == 200, body
cached = (time.perf_counter() - start) / resolves
start = time.perf_counter()
for _ in range(resolves):
    status, body = call(res, "version")
    assert status == 200, body
baseline = (time.perf_counter() - start) / resolves
print(f"cached name/resolve through the API: {cached * 1e6:.0f} us each over {resolves} "
      f"(bar < 1000 us); a bare API call (version): {baseline * 1e6:.0f} us")
EOF
