#!/usr/bin/env bash
# DNSLink against a real DNS server: dnsmasq on 127.0.0.1:53 answers TXT
# records of _dnslink.<domain>, and /etc/resolv.conf (in a mount namespace
# of this script's own) points at it. Resolves offline through the CLI,
# then through a daemon's API and gateway. Run inside tools/netns.sh.
#   dnslink.sh RSIPFS_BIN WORK_DIR
set -euo pipefail
if [ -z "${DNSLINK_PRIVATE_MOUNTS:-}" ]; then
  DNSLINK_PRIVATE_MOUNTS=1 exec unshare -m bash "$0" "$@"
fi
R=$1; W=$2
source "$(dirname "$0")/lib.sh"
export IPFS_PATH=$W/node
prepare node 4601

mkdir -p "$W/site/sub"
echo "hello through DNS" > "$W/site/hello.txt"
echo "deeper" > "$W/site/sub/deep.txt"
SITE=$("$R" add -Q -r "$W/site")
NAMED=$(echo "behind a key" | "$R" add -Q)
OTHER=$(echo "the other one" | "$R" add -Q)
KEY=$("$R" name publish --allow-offline --ttl 90s "$NAMED" | sed -E 's/^Published to ([^:]+):.*/\1/')

# Several dnslink= values: every lookup takes the first in byte order.
FIRST=$(printf '%s\n%s\n' "/ipfs/$SITE" "/ipfs/$OTHER" | sort | head -1)
dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root --pid-file= \
  --listen-address=127.0.0.1 --bind-interfaces --local=/example/ --local-ttl=120 \
  --txt-record=_dnslink.site.example,"dnslink=/ipfs/$SITE" \
  --txt-record=_dnslink.site.example,"v=spf1 -all" \
  --txt-record=_dnslink.chain.example,"dnslink=/ipns/$KEY" \
  --txt-record=_dnslink.hop.example,"dnslink=/ipns/site.example/sub" \
  --txt-record=_dnslink.loop-a.example,"dnslink=/ipns/loop-b.example" \
  --txt-record=_dnslink.loop-b.example,"dnslink=/ipns/loop-a.example" \
  --txt-record=_dnslink.two.example,"dnslink=/ipfs/$OTHER" \
  --txt-record=_dnslink.two.example,"dnslink=/ipfs/$SITE" \
  --txt-record=_dnslink.garbage.example,"dnslink=/ipfs/not-a-cid" \
  --txt-record=_dnslink.spf.example,"v=spf1 -all" \
  2> "$W/dnsmasq.err" &
DNS=$!
pids+=("$DNS")
use_local_dns

# fails_with TEXT CMD...: CMD fails, and says TEXT.
fails_with() {
  local want=$1; shift
  if out=$("$@" 2>&1); then echo "unexpected success: $* -> $out"; return 1; fi
  case "$out" in *"$want"*) ;; *) echo "$*: wanted \"$want\", got: $out"; return 1 ;; esac
}

# Offline, through the CLI.
[ "$("$R" name resolve /ipns/site.example)" = "/ipfs/$SITE" ] && echo "OK name resolve"
[ "$("$R" name resolve site.example)" = "/ipfs/$SITE" ] && echo "OK name resolve without /ipns/"
[ "$("$R" cat /ipns/site.example/hello.txt)" = "hello through DNS" ] && echo "OK cat"
[ "$("$R" cat /ipns/hop.example/deep.txt)" = "deeper" ] && echo "OK dnslink to dnslink"
"$R" ls /ipns/site.example | grep -q "hello.txt" && "$R" pin add /ipns/site.example/sub > /dev/null \
  && "$R" get -o "$W/got" /ipns/site.example > /dev/null && cmp "$W/got/hello.txt" "$W/site/hello.txt" \
  && echo "OK ls, pin add, get"
[ "$("$R" name resolve /ipns/chain.example)" = "/ipfs/$NAMED" ] \
  && [ "$("$R" name resolve --recursive=false /ipns/chain.example)" = "/ipns/$KEY" ] \
  && [ "$("$R" cat /ipns/chain.example)" = "behind a key" ] && echo "OK dnslink to an ipns name"
[ "$("$R" name resolve /ipns/two.example)" = "$FIRST" ] && echo "OK several values"
fails_with 'holds "dnslink=/ipfs/not-a-cid"' "$R" name resolve /ipns/garbage.example \
  && echo "OK garbage refused"
fails_with "_dnslink.spf.example has no TXT record" "$R" cat /ipns/spf.example/x \
  && fails_with "_dnslink.nowhere.example has no TXT record" "$R" name resolve /ipns/nowhere.example \
  && echo "OK missing record"
fails_with "more than 32 names" "$R" name resolve /ipns/loop-a.example && echo "OK loop stopped"
"$R" files cp /ipns/site.example/hello.txt /copied.txt
"$R" files cp /ipns/chain.example /named.txt
[ "$("$R" files read /copied.txt)" = "hello through DNS" ] \
  && [ "$("$R" files read /named.txt)" = "behind a key" ] && echo "OK files cp"

# A daemon: the API and the gateway resolve through the same name system.
run node --offline
GW=$(cat "$W/node/gateway")
[ "$("$R" cat /ipns/site.example/hello.txt)" = "hello through DNS" ] && echo "OK api cat"
"$R" files cp /ipns/hop.example/deep.txt /deep.txt
[ "$("$R" files read /deep.txt)" = "deeper" ] && echo "OK api files cp"
curl -sS -D "$W/h1" -o "$W/b1" "$GW/ipns/site.example/hello.txt"
grep -q "^HTTP/1.1 200" "$W/h1" && [ "$(cat "$W/b1")" = "hello through DNS" ] \
  && grep -iq "^x-ipfs-path: /ipns/site.example/hello.txt" "$W/h1" && echo "OK gateway file"
AGE=$(grep -i "^cache-control:" "$W/h1" | sed -E 's/.*max-age=([0-9]+).*/\1/' | tr -d '\r')
[ "$AGE" -le 120 ] && [ "$AGE" -ge 100 ] && echo "OK gateway max-age from the DNS TTL ($AGE)"
curl -sS -D "$W/h2" -o "$W/b2" "$GW/ipns/chain.example"
AGE=$(grep -i "^cache-control:" "$W/h2" | sed -E 's/.*max-age=([0-9]+).*/\1/' | tr -d '\r')
[ "$(cat "$W/b2")" = "behind a key" ] && [ "$AGE" -le 90 ] && [ "$AGE" -ge 70 ] \
  && echo "OK gateway chain, max-age the least TTL ($AGE)"
code=$(curl -sS -o "$W/b3" -w '%{http_code}' "$GW/ipns/site.example?format=ipns-record")
[ "$code" = 400 ] && grep -q "DNSLink name has no IPNS record" "$W/b3" && echo "OK gateway no record for dnslink"
code=$(curl -sS -o "$W/b4" -w '%{http_code}' "$GW/ipns/nowhere.example/")
[ "$code" = 500 ] && grep -q "_dnslink.nowhere.example has no TXT record" "$W/b4" \
  && echo "OK gateway missing dnslink"

# DNSLink in the Host header: the domain as its own origin, and inlined in
# one label on the localhost subdomain gateway.
PORT=${GW##*:}
[ "$(curl -sS -H "Host: site.example" "$GW/hello.txt")" = "hello through DNS" ] \
  && echo "OK gateway dnslink host"
[ "$(curl -sS -H "Host: site-example.ipns.localhost:$PORT" "$GW/sub/deep.txt")" = "deeper" ] \
  && echo "OK gateway inlined dnslink subdomain"
loc=$(curl -sS -o /dev/null -w '%{redirect_url}' -H "Host: localhost:$PORT" \
  -H "X-Forwarded-Proto: https" "$GW/ipns/site.example/hello.txt")
[ "$loc" = "https://site-example.ipns.localhost:$PORT/hello.txt" ] \
  && echo "OK gateway dnslink inlined over https"

# The DNS server gone: a clear error, in time.
kill "$DNS"; wait "$DNS" 2>/dev/null || true
start=$SECONDS
fails_with "DNS" "$R" name resolve /ipns/nowhere-else.example
[ $((SECONDS - start)) -le 30 ] && echo "OK dns down"
