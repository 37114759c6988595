#!/usr/bin/env bash
# A flood of half-sent requests against the daemon's API or gateway, in a
# network namespace of its own (loopback only): CONNECTIONS connections each
# send part of a request head and hold it for HOLD seconds, then all close.
# Prints the daemon's RSS before, at its peak and after, how many of the
# connections the server closed at once (over its cap) or on the header
# deadline, and whether a normal request is served after the flood. Passes
# when RSS after is within 50 MB of before.
#   scripts/bench-flood.sh [CONNECTIONS] [api|gateway] [HOLD]   (default 20000 api 5)
# BIN=path/to/rsipfs measures another build.
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS=${1:-20000}
TARGET=${2:-api}
HOLD=${3:-5}
NETNS=${NETNS:-$PWD/../shared/tools/netns.sh}

if [ -z "${IN_FLOOD_NETNS:-}" ]; then
    [ -n "${BIN:-}" ] || cargo build --release --quiet
    export BIN=${BIN:-$PWD/target/release/rsipfs}
    ulimit -n "$(ulimit -Hn)"
    IN_FLOOD_NETNS=1 exec "$NETNS" "$0" "$@"
fi

WORK=$(mktemp -d /var/tmp/rsipfs-flood.XXXXXX)
DAEMON_PID=
cleanup() {
    [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
export IPFS_PATH=$WORK/repo
"$BIN" init --profile test > /dev/null
"$BIN" config Addresses.API /ip4/127.0.0.1/tcp/5001
"$BIN" config Addresses.Gateway /ip4/127.0.0.1/tcp/8080
"$BIN" daemon --offline > /dev/null 2> "$WORK/daemon.log" &
DAEMON_PID=$!
until [ -e "$IPFS_PATH/api" ] && [ -e "$IPFS_PATH/gateway" ]; do
    kill -0 "$DAEMON_PID" || { cat "$WORK/daemon.log"; exit 1; }
    sleep 0.05
done
cid=$(echo flood | "$BIN" add -Q)
case $TARGET in
    api) port=5001 head="POST /api/v0/version HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        probe=(curl -sf -X POST http://127.0.0.1:5001/api/v0/version) ;;
    gateway) port=8080 head="GET /ipfs/$cid HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        probe=(curl -sf "http://127.0.0.1:8080/ipfs/$cid") ;;
    *) echo "target: api or gateway" >&2; exit 2 ;;
esac
rss_mib() { awk "/$1/ { printf \"%.1f\", \$2 / 1024 }" "/proc/$DAEMON_PID/status"; }
sleep 1
before=$(rss_mib VmRSS)
start_hwm=$(rss_mib VmHWM)

# Clients of at most 8000 connections each, under the open-files limit.
clients=$(( (CONNECTIONS + 7999) / 8000 ))
pids=()
started=$(date +%s.%N)
for i in $(seq "$clients"); do
    share=$(( CONNECTIONS / clients + (i <= CONNECTIONS % clients ? 1 : 0) ))
    python3 scripts/flood-client.py "$port" "$share" "$HOLD" "$head" > "$WORK/client.$i" &
    pids+=($!)
done
wait "${pids[@]}"
took=$(python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$started" "$(date +%s.%N)")
cat "$WORK"/client.* | awk -v took="$took" -v hold="$HOLD" '
    { n += $1; failed += $2; once += $3; end += $4 }
    END { printf "flood:     %d connections in %s s, %d failed to connect; closed by the server 1 s after: %d, %g s after: %d\n", n, took, failed, once, hold, end }'
peak=$(rss_mib VmHWM)
# Let the server see the closes and settle.
sleep 3
after=$(rss_mib VmRSS)
if "${probe[@]}" > /dev/null; then served=yes; else served=NO; fi
echo "target:    $TARGET (port $port), binary $BIN"
echo "RSS:       before $before MiB, peak $peak MiB (high-water before the flood $start_hwm), after $after MiB"
echo "served a normal request after the flood: $served"
python3 - "$before" "$after" "$served" <<'EOF'
import sys
before, after, served = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
grew = after - before
ok = grew <= 50 * 1e6 / 2**20 and served == "yes"
print(f"after - before: {grew:+.1f} MiB (bar: within 50 MB, and served) -> {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
EOF
