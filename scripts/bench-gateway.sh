#!/usr/bin/env bash
# The daemon's HTTP gateway against Debian's nginx serving the same bytes
# from plain files on the same disk, both on loopback in a network namespace
# of their own, measured in one run:
#   1. a large random file, cold (page cache dropped before each read) and
#      warm, with curl: MiB/s of each and the ratio (bar: 0.8x nginx);
#   2. FILES distinct 4 KiB files (one directory, `rsipfs add -r`), wrk with
#      64 connections spread over all the paths for SECONDS each: requests/s
#      and p99 latency of each (bar: 0.5x nginx's requests/s);
#   3. RANGES range requests at once into the large file, every answer
#      checked (206, Content-Range, bytes against the file), and the
#      daemon's RSS peak over them (its VmHWM, reset just before).
#   scripts/bench-gateway.sh [SIZE_MIB] [FILES] [SECONDS] [RANGES]
#                            (default 1024 10000 10 1000; needs root)
# BIN=path/to/rsipfs measures another build. Installs nginx and wrk with
# apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${1:-1024}
FILES=${2:-10000}
SECONDS_EACH=${3:-10}
RANGES=${4:-1000}
NETNS=${NETNS:-$PWD/../shared/tools/netns.sh}

export PATH=$PATH:/usr/sbin
if [ -z "${IN_GATEWAY_NETNS:-}" ]; then
    for tool in nginx wrk; do
        command -v "$tool" > /dev/null || apt-get install -y -q "$tool" > /dev/null
    done
    [ -n "${BIN:-}" ] || cargo build --release --quiet
    export BIN=${BIN:-$PWD/target/release/rsipfs}
    ulimit -n "$(ulimit -Hn)"
    IN_GATEWAY_NETNS=1 exec "$NETNS" "$0" "$@"
fi

WORK=$(mktemp -d /var/tmp/rsipfs-bench-gateway.XXXXXX)
DAEMON_PID= NGINX_PID=
cleanup() {
    for pid in $DAEMON_PID $NGINX_PID; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
wait_for_port() {
    local deadline=$((SECONDS + 30))
    until curl -s -o /dev/null "http://127.0.0.1:$1/"; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "nothing listens on port $1" >&2; exit 1; }
        sleep 0.05
    done
}

echo "input: $SIZE_MIB MiB random file, $FILES files of 4 KiB"
mkdir -p "$WORK/www/small"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$WORK/www/big.bin"
python3 - "$WORK/www/small" "$FILES" <<'EOF'
import os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], "f%05d" % i), "wb") as f:
        f.write(os.urandom(4096))
EOF

# nginx as Debian ships it, with a config of its own: files from
# $WORK/www, no access log, keep-alive without a request cap (hyper has
# none either).
NGINX_PORT=8081
mkdir -p "$WORK/nginx/temp"
cat > "$WORK/nginx/nginx.conf" <<EOF
user root;
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    default_type application/octet-stream;
    client_body_temp_path $WORK/nginx/temp/body;
    proxy_temp_path $WORK/nginx/temp/proxy;
    fastcgi_temp_path $WORK/nginx/temp/fastcgi;
    uwsgi_temp_path $WORK/nginx/temp/uwsgi;
    scgi_temp_path $WORK/nginx/temp/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/www;
    }
}
EOF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!

GATEWAY_PORT=8080
export IPFS_PATH=$WORK/repo
"$BIN" init --profile test > /dev/null
"$BIN" config Addresses.API /ip4/127.0.0.1/tcp/5001
"$BIN" config Addresses.Gateway "/ip4/127.0.0.1/tcp/$GATEWAY_PORT"
big_cid=$("$BIN" add -Q "$WORK/www/big.bin")
small_cid=$("$BIN" add -r -Q "$WORK/www/small")
"$BIN" daemon --offline > /dev/null 2> "$WORK/daemon.log" &
DAEMON_PID=$!
wait_for_port "$NGINX_PORT"
wait_for_port "$GATEWAY_PORT"
NGINX=http://127.0.0.1:$NGINX_PORT
GATEWAY=http://127.0.0.1:$GATEWAY_PORT

# 1. The large file. curl prints bytes and seconds; each read must bring
# the whole file.
read_rate() {
    python3 - "$SIZE_MIB" $(curl -sf -o /dev/null -w '%{size_download} %{time_total}' "$1") <<'EOF'
import sys
mib, got, took = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
if got != mib * 1024 * 1024:
    sys.exit(f"read {got} bytes of {mib} MiB")
print("%.1f" % (mib / took))
EOF
}
want_sum=$(sha256sum < "$WORK/www/big.bin" | cut -d' ' -f1)
got_sum=$(curl -sf "$GATEWAY/ipfs/$big_cid" | sha256sum | cut -d' ' -f1)
if [ "$got_sum" != "$want_sum" ]; then
    echo "gateway served other bytes: sha256 $got_sum, file $want_sum" >&2
    exit 1
fi
# Cold reads vary run to run on these VMs: the two take turns.
ROUNDS=3
nginx_cold=() ours_cold=() nginx_warm=() ours_warm=()
for r in $(seq "$ROUNDS"); do
    drop_caches
    nginx_cold+=("$(read_rate "$NGINX/big.bin")")
    drop_caches
    ours_cold+=("$(read_rate "$GATEWAY/ipfs/$big_cid")")
done
read_rate "$NGINX/big.bin" > /dev/null
read_rate "$GATEWAY/ipfs/$big_cid" > /dev/null
for r in $(seq "$ROUNDS"); do
    nginx_warm+=("$(read_rate "$NGINX/big.bin")")
    ours_warm+=("$(read_rate "$GATEWAY/ipfs/$big_cid")")
done
nc=$(median "${nginx_cold[@]}") oc=$(median "${ours_cold[@]}")
nw=$(median "${nginx_warm[@]}") ow=$(median "${ours_warm[@]}")
echo "large file, cold: nginx $nc MiB/s (${nginx_cold[*]}), rsipfs $oc MiB/s (${ours_cold[*]}): $(ratio "$oc" "$nc")x nginx (bar 0.8x)"
echo "large file, warm: nginx $nw MiB/s (${nginx_warm[*]}), rsipfs $ow MiB/s (${ours_warm[*]}): $(ratio "$ow" "$nw")x nginx (bar 0.8x)"

# 2. Small files: a few compared first, then wrk picking a random path of
# the FILES for each request.
for i in 0 $((FILES / 2)) $((FILES - 1)); do
    name=$(printf 'f%05d' "$i")
    curl -sf "$GATEWAY/ipfs/$small_cid/$name" | cmp -s - "$WORK/www/small/$name" ||
        { echo "gateway served other bytes for $name" >&2; exit 1; }
done
cat > "$WORK/paths.lua" <<'EOF'
local prefix, count
function init(args)
    prefix, count = args[1], tonumber(args[2])
    math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end
function request()
    return wrk.format("GET", string.format("%sf%05d", prefix, math.random(0, count - 1)))
end
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT %.1f %.2f %d\n",
        summary.requests / (summary.duration / 1e6), latency:percentile(99) / 1000,
        e.connect + e.read + e.write + e.status + e.timeout))
end
EOF
# Prints "requests/s p99_ms errors".
load() {
    wrk -t 2 -c 64 -d "${SECONDS_EACH}s" -s "$WORK/paths.lua" "$1" -- "$2" "$FILES" |
        awk '/^RESULT/ { print $2, $3, $4 }'
}
read -r n_rps n_p99 n_err < <(load "$NGINX" /small/)
read -r o_rps o_p99 o_err < <(load "$GATEWAY" "/ipfs/$small_cid/")
echo "small files:      nginx $n_rps req/s p99 $n_p99 ms ($n_err errors), rsipfs $o_rps req/s p99 $o_p99 ms ($o_err errors): $(ratio "$o_rps" "$n_rps")x nginx (bar 0.5x)"

# 3. Range requests at once, the daemon's peak RSS over them.
rss_mib() { awk "/$1/ { printf \"%.1f\", \$2 / 1024 }" "/proc/$DAEMON_PID/status"; }
range_check() {
    python3 - "$@" <<'EOF'
import asyncio, os, random, re, sys, time

port, path, file, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
size = os.path.getsize(file)
fd = os.open(file, os.O_RDONLY)
MAX_LENGTH = 1 << 20

async def connect():
    for attempt in range(50):
        try:
            return await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
    return None

async def one(connection, rng):
    if connection is None:
        return "could not connect"
    reader, writer = connection
    start = rng.randrange(size)
    end = min(size, start + rng.randint(1, MAX_LENGTH)) - 1
    writer.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  f"Range: bytes={start}-{end}\r\nConnection: close\r\n\r\n").encode())
    try:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status = head.split(" ", 2)[1]
        fields = dict((k.lower(), v.strip()) for k, v in
                      (line.split(":", 1) for line in head.split("\r\n")[1:] if ":" in line))
        body = await reader.readexactly(int(fields.get("content-length", "-1")))
    except (OSError, ValueError, asyncio.IncompleteReadError) as err:
        return f"bytes={start}-{end}: {err!r}"
    finally:
        writer.close()
    if status != "206":
        return f"bytes={start}-{end}: status {status}"
    if fields.get("content-range") != f"bytes {start}-{end}/{size}":
        return f"bytes={start}-{end}: Content-Range {fields.get('content-range')}"
    if body != os.pread(fd, end - start + 1, start):
        return f"bytes={start}-{end}: other bytes"
    return None

async def main():
    # All connected first, then every request sent at once.
    connections = await asyncio.gather(*(connect() for _ in range(count)))
    rng = random.Random(22)
    began = time.monotonic()
    answers = await asyncio.gather(*(one(c, random.Random(rng.random())) for c in connections))
    took = time.monotonic() - began
    failures = [a for a in answers if a]
    for f in failures[:5]:
        print("  ", f, file=sys.stderr)
    print(f"{count - len(failures)} {took:.2f}")

asyncio.run(main())
EOF
}
read -r n_ok n_took < <(range_check "$NGINX_PORT" /big.bin "$WORK/www/big.bin" "$RANGES")
before=$(rss_mib VmRSS)
echo 5 > "/proc/$DAEMON_PID/clear_refs"
read -r o_ok o_took < <(range_check "$GATEWAY_PORT" "/ipfs/$big_cid" "$WORK/www/big.bin" "$RANGES")
peak=$(rss_mib VmHWM)
echo "ranges at once:   nginx $n_ok/$RANGES right in $n_took s, rsipfs $o_ok/$RANGES right in $o_took s"
echo "rsipfs RSS:       $before MiB before the ranges, peak $peak MiB over them"
