#!/usr/bin/env bash
# Delegated routing with the DHT off: F (Routing.Type delegated, its
# router a @helia/delegated-routing-v1-http-api-server backed by a Helia
# node H) reads a file only P has. P provides it into H's DHT; F knows no
# peer and asks no DHT, so the router's answer is its only way to P. F's
# other router, listed first, is hostile: it streams junk without end.
# Run inside tools/netns.sh.
#   delegated_routing.sh RSIPFS_BIN NODE_BIN WORK_DIR
set -euo pipefail
R=$1; NODE=$2; W=$3
source "$(dirname "$0")/lib.sh"
JS=$(cd "$(dirname "$0")/../js" && pwd)

P=127.0.0.2; H=127.0.0.3; F=127.0.0.4
prepare p 0; prepare f 0
IPFS_PATH=$W/p "$R" config --json Addresses.Swarm "[\"/ip4/$P/tcp/4911\"]"
IPFS_PATH=$W/p "$R" config Routing.Type dht
IPFS_PATH=$W/f "$R" config --json Addresses.Swarm "[\"/ip4/$F/tcp/4913\"]"
IPFS_PATH=$W/f "$R" config Routing.Type delegated
IPFS_PATH=$W/f "$R" config --json Routing.DelegatedRouters \
  "[\"http://127.0.0.5:8791\", \"http://$H:8790\"]"

head -c 3000000 /dev/urandom > "$W/only-p.bin"
CID=$(IPFS_PATH=$W/p "$R" add -Q "$W/only-p.bin")
P_ID=$(id_of p)
run p
"$NODE" "$JS/routing-server.mjs" $H 8790 "/ip4/$P/tcp/4911/p2p/$P_ID" > "$W/h.out" 2> "$W/h.err" &
pids+=($!)
for _ in $(seq 300); do grep -q '"ready"' "$W/h.out" 2>/dev/null && break; sleep 0.1; done
grep -q '"ready"' "$W/h.out" || { echo "the routing server did not start"; cat "$W/h.err"; exit 1; }

# P announces the file; H (a DHT server P is connected to) keeps the record.
known_at_h() {
  IPFS_PATH=$W/p "$R" routing provide "$CID" > /dev/null 2>&1 || true
  curl -sf --max-time 3 -H 'Accept: application/x-ndjson' \
    "http://$H:8790/routing/v1/providers/$CID" > "$W/providers.json" || true
  # (the server writes peer IDs as CIDs)
  grep -q "/ip4/$P/tcp/4911" "$W/providers.json"
}
for _ in $(seq 30); do
  if known_at_h; then echo "OK the router knows P provides the file"; break; fi
  sleep 0.5
done

# The hostile router: 200, NDJSON, then junk and records of made-up peers
# for as long as anyone reads.
python3 - > "$W/junk.out" 2> "$W/junk.err" <<'PY' &
import http.server, itertools
class Junk(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        try:
            for i in itertools.count():
                self.wfile.write(b'{"Schema":"peer","ID":"12D3KooWnotapeer%d","Addrs":["/ip4/1.2.3.4/tcp/1"]}\n{[\n' % i)
        except (BrokenPipeError, ConnectionResetError):
            pass
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.5", 8791), Junk).serve_forever()
PY
pids+=($!)
for _ in $(seq 100); do curl -s --max-time 1 http://127.0.0.5:8791/ 2>/dev/null | head -c 1 | grep -q . && break; sleep 0.1; done

RSIPFS_LOG=info,rsipfs::net=debug run f
F_PID=${pids[-1]}
IPFS_PATH=$W/f "$R" swarm peers | grep -q . && { echo "F is already connected"; exit 1; }
start=$(date +%s.%N)
timeout 60 env IPFS_PATH="$W/f" "$R" cat "$CID" > "$W/got.bin"
took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$start" "$(date +%s.%N)")
cmp "$W/only-p.bin" "$W/got.bin" \
  && grep -q "asking the delegated routers for providers of $CID" "$W/f.err" \
  && ! grep -q "asking the DHT" "$W/f.err" \
  && IPFS_PATH=$W/f "$R" swarm peers | grep -q "/ip4/$P/tcp/4911/p2p/$P_ID" \
  && python3 -c "import sys; sys.exit(0 if $took < 5 else 1)" \
  && echo "OK F read the file from P found through the router alone ($took s)"

IPFS_PATH=$W/f "$R" routing findprovs "$CID" | grep -q "$P_ID" \
  && echo "OK routing findprovs answers from the router"
rss=$(awk '/VmHWM/ {print $2}' "/proc/$F_PID/status")
kill -0 "$F_PID" && [ "$rss" -lt 300000 ] && echo "OK F lives on with the hostile router (peak RSS $rss kB)"
