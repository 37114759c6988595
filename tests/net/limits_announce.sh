#!/usr/bin/env bash
# Resource limits and announced addresses. A (small Swarm.ResourceMgr,
# NoAnnounce and AppendAnnounce) takes a stream flood on one connection
# and a flood of TCP connections that never handshake, and keeps serving
# `id` and a block to B; B sees through identify what A and C (Announce)
# announce. Run inside tools/netns.sh.
#   limits_announce.sh RSIPFS_BIN STREAM_FLOOD_BIN WORK_DIR
set -euo pipefail
R=$1; FLOOD=$2; W=$3
source "$(dirname "$0")/lib.sh"

prepare a 4701; prepare b 4702; prepare c 4703
cfg() { IPFS_PATH=$W/$1 "$R" config --json "$2" "$3"; }
cfg a Addresses.Swarm '["/ip4/127.0.0.1/tcp/4701", "/ip4/127.0.0.2/tcp/4701"]'
cfg a Addresses.NoAnnounce '["/ip4/127.0.0.2/ipcidr/32"]'
cfg a Addresses.AppendAnnounce '["/ip4/127.0.0.7/tcp/4707"]'
# About 16 inbound connections (one per MiB), 256 streams per connection.
cfg a Swarm.ResourceMgr '{"Enabled": true, "MaxMemory": "16MiB", "MaxFileDescriptors": 64}'
cfg c Addresses.Announce '["/ip4/127.0.0.3/tcp/4703"]'
head -c 300000 /dev/urandom > "$W/block.bin"
CID=$(IPFS_PATH=$W/a "$R" block put "$W/block.bin")
run a; run b; run c
A=$(id_of a); C=$(id_of c)
IPFS_PATH=$W/b "$R" swarm connect "/ip4/127.0.0.1/tcp/4701/p2p/$A" > /dev/null
IPFS_PATH=$W/b "$R" swarm connect "/ip4/127.0.0.1/tcp/4703/p2p/$C" > /dev/null

# (d) what identify carries, seen from B, and what `id` shows on A.
addrs() { python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["Addresses"])))'; }
want_a="/ip4/127.0.0.1/tcp/4701/p2p/$A /ip4/127.0.0.7/tcp/4707/p2p/$A"
seen_a=$(IPFS_PATH=$W/b "$R" id "$A" | addrs)
[ "$seen_a" = "$want_a" ] && echo "OK NoAnnounce and AppendAnnounce seen by a peer" \
  || echo "B sees A at: $seen_a"
[ "$(IPFS_PATH=$W/a "$R" id | addrs)" = "$want_a" ] && echo "OK id shows the announced addresses"
seen_c=$(IPFS_PATH=$W/b "$R" id "$C" | addrs)
[ "$seen_c" = "/ip4/127.0.0.3/tcp/4703/p2p/$C" ] && echo "OK Announce replaces the listen addresses" \
  || echo "B sees C at: $seen_c"

# (c) floods. First many streams on one connection: at most 256 held.
"$FLOOD" "/ip4/127.0.0.1/tcp/4701/p2p/$A" 2000 > "$W/flood.out" 2> "$W/flood.err" &
pids+=($!)
for _ in $(seq 300); do [ -s "$W/flood.out" ] && break; sleep 0.1; done
opened=$(awk '{print $2}' "$W/flood.out")
echo "streams opened: $opened of 2000"
[ -n "$opened" ] && [ "$opened" -le 256 ] && echo "OK stream flood held to the limit"
# Then 400 TCP connections that never say a word, held open.
python3 - "$W/tcp-flood.ready" <<'PY' &
import socket, sys, time
held = []
for _ in range(400):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect(("127.0.0.1", 4701))
        held.append(s)
    except OSError:
        pass
open(sys.argv[1], "w").write(str(len(held)))
time.sleep(600)
PY
pids+=($!)
for _ in $(seq 300); do [ -s "$W/tcp-flood.ready" ] && break; sleep 0.1; done
echo "flood sockets connected: $(cat "$W/tcp-flood.ready")"
A_PID=${pids[0]}
IPFS_PATH=$W/a "$R" id > /dev/null && echo "OK id answers during the flood"
timeout 30 env IPFS_PATH=$W/b "$R" block get "$CID" > "$W/got.bin"
cmp "$W/block.bin" "$W/got.bin" && echo "OK a block is served during the flood"
fds=$(ls "/proc/$A_PID/fd" | wc -l)
echo "descriptors of A during the flood: $fds"
[ "$fds" -lt 200 ] && echo "OK descriptors bounded"
refusals=$(grep -c "refused" "$W/a.err" || true)
echo "refusal log lines: $refusals"
[ "$refusals" -ge 1 ] && [ "$refusals" -le 5 ] && echo "OK refusals logged, rate-limited"
