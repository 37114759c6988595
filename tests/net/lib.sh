# Helpers for the network test scripts (sourced): rsipfs repositories in
# $W, daemons started in the background and stopped at exit. Needs $R and $W.
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# prepare NAME PORT: a repository with its API on any port and the swarm on PORT.
prepare() {
  IPFS_PATH=$W/$1 "$R" init --profile test > /dev/null
  IPFS_PATH=$W/$1 "$R" config --json Addresses.Swarm "[\"/ip4/127.0.0.1/tcp/$2\"]"
}

# run NAME [DAEMON ARGS]: starts its daemon and waits until it is ready.
run() {
  local name=$1; shift
  IPFS_PATH=$W/$name "$R" daemon "$@" > "$W/$name.out" 2> "$W/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do grep -q "Daemon is ready" "$W/$name.out" 2>/dev/null && return; sleep 0.1; done
  echo "$name did not start"; cat "$W/$name.err"; exit 1
}

id_of() { IPFS_PATH=$W/$1 "$R" id | python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])'; }

# use_local_dns: this namespace's /etc/resolv.conf (bind-mounted) points at
# the DNS server on 127.0.0.1:53; returns once that server answers.
use_local_dns() {
  echo "nameserver 127.0.0.1" > "$W/resolv.conf"
  mount --bind "$W/resolv.conf" /etc/resolv.conf
  for _ in $(seq 100); do
    python3 - <<'PY' 2>/dev/null && return
import socket
q = b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x02up\x04test\x00\x00\x10\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
s.sendto(q, ("127.0.0.1", 53)); s.recv(512)
PY
    sleep 0.1
  done
  echo "the DNS server on 127.0.0.1:53 did not answer"; exit 1
}
