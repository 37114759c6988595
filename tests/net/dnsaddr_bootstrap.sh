#!/usr/bin/env bash
# A node whose only bootstrap entry is a /dnsaddr name, served by a real DNS
# server (dnsmasq, TXT records _dnsaddr.<name>, /etc/resolv.conf pointing at
# it in a mount namespace of this script's own), joins the DHT through B and
# reads a file only A has, never told about A. B's dnsaddr entry and the
# address B dials A at are /dns4 names (dnsmasq host records). Nodes on distinct loopback
# addresses: A 127.0.0.2, B 127.0.0.3, C 127.0.0.4. MODE quic: A listens on
# QUIC only, and C reaches B over QUIC. Run inside tools/netns.sh.
#   dnsaddr_bootstrap.sh RSIPFS_BIN tcp|quic WORK_DIR
set -euo pipefail
if [ -z "${DNSADDR_PRIVATE_MOUNTS:-}" ]; then
  DNSADDR_PRIVATE_MOUNTS=1 exec unshare -m bash "$0" "$@"
fi
R=$1; MODE=$2; W=$3
source "$(dirname "$0")/lib.sh"

# swarm NAME JSON: the node's listen addresses.
swarm() { IPFS_PATH=$W/$1 "$R" config --json Addresses.Swarm "$2"; }
prepare a 0; prepare b 0; prepare c 0
case $MODE in
  tcp) A_PORT=tcp/4402; B_PORT=tcp/4403 ;;
  quic) A_PORT=udp/4402/quic-v1; B_PORT=udp/4403/quic-v1 ;;
  *) echo "mode tcp or quic, not $MODE"; exit 2 ;;
esac
A_ADDR=/ip4/127.0.0.2/$A_PORT; B_ADDR=/ip4/127.0.0.3/$B_PORT
swarm a "[\"$A_ADDR\"]"
swarm b '["/ip4/127.0.0.3/tcp/4403", "/ip4/127.0.0.3/udp/4403/quic-v1"]'
# In quic mode C listens on QUIC only too, so A and C meet over QUIC
# whichever dials.
case $MODE in
  tcp) swarm c '["/ip4/127.0.0.4/tcp/4404", "/ip4/127.0.0.4/udp/4404/quic-v1"]' ;;
  quic) swarm c '["/ip4/127.0.0.4/udp/4404/quic-v1"]' ;;
esac
A_ID=$(id_of a); B_ID=$(id_of b)
IPFS_PATH=$W/c "$R" config --json Bootstrap "[\"/dnsaddr/bootstrap.test/p2p/$B_ID\"]"

# bootstrap.test names B through a second name, beside an entry for
# another peer (filtered out by the /p2p suffix) and garbage.
OTHER=QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN
dnsmasq --keep-in-foreground --no-resolv --no-hosts --user=root --pid-file= \
  --listen-address=127.0.0.1 --bind-interfaces --local=/test/ \
  --txt-record=_dnsaddr.bootstrap.test,"dnsaddr=/dnsaddr/b.bootstrap.test/p2p/$B_ID" \
  --txt-record=_dnsaddr.bootstrap.test,"dnsaddr=/ip4/127.0.0.9/tcp/9/p2p/$OTHER" \
  --txt-record=_dnsaddr.bootstrap.test,"dnsaddr=/not/an/address" \
  --txt-record=_dnsaddr.b.bootstrap.test,"dnsaddr=/dns4/b.test/$B_PORT/p2p/$B_ID" \
  --host-record=a.test,127.0.0.2 --host-record=b.test,127.0.0.3 \
  --txt-record=_dnsaddr.loop.test,"dnsaddr=/dnsaddr/loop2.test/p2p/$B_ID" \
  --txt-record=_dnsaddr.loop2.test,"dnsaddr=/dnsaddr/loop.test/p2p/$B_ID" \
  2> "$W/dnsmasq.err" &
pids+=($!)
use_local_dns

head -c 3000000 /dev/urandom > "$W/only-a.bin"
CID=$(IPFS_PATH=$W/a "$R" add -Q "$W/only-a.bin")
run a; run b
IPFS_PATH=$W/a "$R" id | grep -q "$A_ADDR/p2p/$A_ID" \
  && [ "$(IPFS_PATH=$W/a "$R" swarm addrs)" = "$A_ADDR" ] && echo "OK id and swarm addrs show the listen address"
IPFS_PATH=$W/b "$R" swarm connect "/dns4/a.test/$A_PORT/p2p/$A_ID" > /dev/null
run c

# peers_of NAME: its peers, one multiaddr a line.
peers_of() { IPFS_PATH=$W/$1 "$R" swarm peers; }
for _ in $(seq 200); do peers_of c | grep -q "$B_ID" && break; sleep 0.1; done
peers_of c | grep -q "/dns4/b.test/$B_PORT/p2p/$B_ID" && echo "OK joined through the dnsaddr bootstrap entry"
# C may meet A on its own DHT walk (B hands A out) or its first provide:
# that is joining the DHT. The lookup alone is tested in provider_lookup.sh.
# A dnsaddr loop is refused, with a log line, and the node lives on.
if out=$(IPFS_PATH=$W/c "$R" swarm connect "/dnsaddr/loop.test/p2p/$B_ID" 2>&1); then
  echo "a dnsaddr loop connected: $out"; exit 1
fi
case $out in *"loop refused: loop.test -> loop2.test -> loop.test"*) ;; *) echo "loop: $out"; exit 1 ;; esac
grep -q "WARN.*dnsaddr: loop refused" "$W/c.err" && echo "OK a dnsaddr loop is refused"

start=$(date +%s.%N)
timeout 60 env IPFS_PATH="$W/c" "$R" cat "/ipfs/$CID" > "$W/got.bin"
took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$start" "$(date +%s.%N)")
[ "$(sha256sum < "$W/only-a.bin")" = "$(sha256sum < "$W/got.bin")" ] \
  && echo "OK read what only A has ($took s)"
# Over QUIC C may dial A at the address B knows it by (/dns4/a.test/...).
case $MODE in tcp) A_SEEN="/tcp/[0-9]*/p2p/$A_ID" ;; quic) A_SEEN="/$A_PORT/p2p/$A_ID" ;; esac
if peers_of c | grep -q "$A_SEEN"; then echo "OK C and A connected over $MODE"
else echo "C's peers:"; peers_of c; fi
