//! IPNS over the Kad DHT between rsipfs and Helia (npm `helia` 7 with
//! `@helia/ipns`, a `/ipfs/kad/1.0.0` DHT server; tests/js/helia-ipns.mjs),
//! both ways, each in a fresh loopback network namespace: the test binary
//! runs itself again inside `netns.sh`. Nothing is mocked: publisher and
//! resolver are introduced to one node in the middle only, and the record
//! goes through the DHT (PUT_VALUE to the closest peers, GET_VALUE back).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Node;
use serde_json::Value;

/// Whether the test's body runs here. Outside the namespace it runs the
/// test again inside a fresh one, asserts that passed, and returns false;
/// where Node 22, Helia or netns.sh is missing, it skips with a message
/// (a failure under CI).
fn inside_loopback_namespace(test: &str) -> bool {
    if common::in_loopback_namespace(test) {
        return true;
    }
    let (Some(_), Some(netns)) = (common::node22_with("helia"), common::netns_script()) else {
        return false;
    };
    // One namespace at a time: each runs two or three Node processes.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    common::rerun_in_loopback_namespace(&netns, test);
    false
}

/// Polls `done` until it holds or `within` has passed; then fails with
/// `what` and `context()`.
fn wait_for(
    what: &str,
    within: Duration,
    mut done: impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < within,
            "{what} (after {within:?})\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A Helia node run by tests/js/helia-ipns.mjs, driven through its stdin
/// and answering in JSON lines.
struct Helia {
    child: Child,
    stdin: Option<ChildStdin>,
    answers: mpsc::Receiver<Value>,
    peer_id: String,
    addr: String,
    log: PathBuf,
}

impl Helia {
    /// Starts one that dials `peers` first; its DHT and IPNS logs go to
    /// `dir/helia-<label>.log`.
    fn start(dir: &Path, label: &str, peers: &[&str]) -> Helia {
        Self::start_with(dir, label, &[], peers)
    }

    /// One whose DHT is a client: it asks and puts, but serves no one.
    fn start_client(dir: &Path, label: &str, peers: &[&str]) -> Helia {
        Self::start_with(dir, label, &["--client"], peers)
    }

    fn start_with(dir: &Path, label: &str, options: &[&str], peers: &[&str]) -> Helia {
        let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
        let log = dir.join(format!("helia-{label}.log"));
        let mut child = Command::new(js.join("node_modules/.bin/node"))
            .arg(js.join("helia-ipns.mjs"))
            .args(options)
            .args(peers)
            .env("DEBUG", "libp2p:kad-dht*,helia:ipns*")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("helia log"))
            .spawn()
            .expect("spawn node helia-ipns.mjs");
        let stdout = child.stdout.take().expect("stdout");
        let (send, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(value) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if send.send(value).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut helia = Helia {
            child,
            stdin,
            answers,
            peer_id: String::new(),
            addr: String::new(),
            log,
        };
        let ready = helia.next_line(Duration::from_secs(60), "the ready line");
        assert_eq!(ready["event"], "ready", "helia {label}: {ready}");
        helia.peer_id = ready["peerId"].as_str().expect("peerId").to_string();
        helia.addr = ready["addrs"][0].as_str().expect("an address").to_string();
        helia
    }

    fn next_line(&mut self, within: Duration, what: &str) -> Value {
        match self.answers.recv_timeout(within) {
            Ok(line) => line,
            Err(_) => panic!(
                "no answer from Helia for {what} within {within:?} (exited: {:?})\n{}",
                self.child.try_wait(),
                tail(&self.log, 60)
            ),
        }
    }

    /// Sends one command; returns its answer.
    fn ask(&mut self, command: &str, within: Duration) -> Value {
        let stdin = self.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{command}").expect("write to helia");
        loop {
            let line = self.next_line(within, command);
            // Lines without a command are events (a failed dial at start).
            if line.get("command").is_some() {
                return line;
            }
        }
    }

    /// Sends one command that must succeed; returns its answer.
    fn ok(&mut self, command: &str, within: Duration) -> Value {
        let answer = self.ask(command, within);
        assert_eq!(
            answer["ok"],
            true,
            "Helia `{command}`: {answer}\n{}",
            tail(&self.log, 60)
        );
        answer
    }

    fn dht_knows(&mut self, peer: &str) -> bool {
        let answer = self.ok("dht-peers", Duration::from_secs(10));
        answer["peers"]
            .as_array()
            .is_some_and(|peers| peers.iter().any(|p| p == peer))
    }
}

impl Drop for Helia {
    fn drop(&mut self) {
        // Closing stdin stops it; a hung one is killed.
        drop(self.stdin.take());
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An rsipfs node with its daemon on the network, listening on 127.0.0.1:PORT.
struct Rsipfs {
    node: Node,
    _daemon: common::Daemon,
    peer_id: String,
    addr: String,
}

impl Rsipfs {
    fn start(port: u16, content: &[u8]) -> (Rsipfs, String) {
        let node = Node::new();
        let swarm = format!("[\"/ip4/127.0.0.1/tcp/{port}\"]");
        node.ok(&["config", "--json", "Addresses.Swarm", &swarm]);
        let added = node.run_stdin(&["add", "--cid-version", "1", "-Q"], content);
        assert!(added.status.success(), "add: {added:?}");
        let cid = String::from_utf8(added.stdout).unwrap().trim().to_string();
        let daemon = common::start_daemon_with(&node, &[]);
        let id: Value = serde_json::from_str(&node.ok(&["id"])).expect("id JSON");
        let peer_id = id["ID"].as_str().expect("ID").to_string();
        let rsipfs = Rsipfs {
            addr: format!("/ip4/127.0.0.1/tcp/{port}/p2p/{peer_id}"),
            peer_id,
            node,
            _daemon: daemon,
        };
        wait_for(
            "rsipfs listens on its swarm address",
            Duration::from_secs(30),
            || {
                rsipfs
                    .node
                    .ok(&["swarm", "addrs"])
                    .contains(&format!("/tcp/{port}"))
            },
            || rsipfs.log(),
        );
        (rsipfs, cid)
    }

    /// A Helia that dials this node first, once its DHT has taken this
    /// node into its routing table.
    fn helia(&self, work: &Path, label: &str) -> Helia {
        self.helia_knowing_us(Helia::start(work, label, &[&self.addr]))
    }

    /// As `helia`, with a DHT client Helia.
    fn helia_client(&self, work: &Path, label: &str) -> Helia {
        self.helia_knowing_us(Helia::start_client(work, label, &[&self.addr]))
    }

    fn helia_knowing_us(&self, mut helia: Helia) -> Helia {
        wait_for(
            "Helia's DHT takes rsipfs into its routing table (rsipfs must announce /ipfs/kad/1.0.0 and answer as a server)",
            NETWORK,
            || helia.dht_knows(&self.peer_id),
            || self.log(),
        );
        helia
    }

    fn log(&self) -> String {
        format!(
            "--- rsipfs daemon.log (tail)\n{}",
            tail(&self.node.dir.path().join("daemon.log"), 60)
        )
    }

    /// Runs a command that may wait on the network; killed after `within`.
    fn run_within(&self, args: &[&str], within: Duration) -> Output {
        let child = self
            .node
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rsipfs");
        let pid = child.id();
        let (send, done) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = send.send(child.wait_with_output());
        });
        match done.recv_timeout(within) {
            Ok(out) => out.expect("wait for rsipfs"),
            Err(_) => {
                // SAFETY: signalling our own child, still running.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                panic!(
                    "rsipfs {args:?} did not finish within {within:?}\n{}",
                    self.log()
                );
            }
        }
    }

    fn ok_within(&self, args: &[&str], within: Duration) -> String {
        let out = self.run_within(args, within);
        assert!(
            out.status.success(),
            "rsipfs {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }
}

const NETWORK: Duration = Duration::from_secs(60);

#[test]
fn helia_resolves_a_name_rsipfs_published_through_the_dht() {
    if !inside_loopback_namespace("helia_resolves_a_name_rsipfs_published_through_the_dht") {
        return;
    }
    let content = b"published by rsipfs, read by Helia\n";
    let (rsipfs, cid) = Rsipfs::start(4511, content);
    let work = rsipfs.node.work();
    // rsipfs - near - far: far learns of rsipfs only through the DHT.
    let mut near = Helia::start(&work, "near", &[&rsipfs.addr]);
    let mut far = Helia::start(&work, "far", &[&near.addr]);
    let rsipfs_id = rsipfs.peer_id.clone();
    wait_for(
        "Helia's DHT takes rsipfs into its routing table (rsipfs must announce /ipfs/kad/1.0.0 and answer as a server)",
        NETWORK,
        || near.dht_knows(&rsipfs_id),
        || rsipfs.log(),
    );

    let value = format!("/ipfs/{cid}");
    let name = rsipfs.ok_within(&["name", "publish", "-Q", &value], NETWORK);
    let name = name.trim();
    assert!(name.starts_with("k51"), "a base36 libp2p-key name: {name}");

    let resolved = far.ok(&format!("resolve {name} 30000"), NETWORK);
    assert_eq!(resolved["value"], value.as_str(), "{}", rsipfs.log());
    // The node's own name is its peer ID too.
    let by_peer_id = far.ok(&format!("resolve /ipns/{} 30000", rsipfs.peer_id), NETWORK);
    assert_eq!(by_peer_id["value"], value.as_str());
    // The content behind the name comes from rsipfs over bitswap.
    let fetched = near.ok(&format!("get {cid} 30000"), NETWORK);
    assert_eq!(fetched["text"], std::str::from_utf8(content).unwrap());

    // A newer record from rsipfs replaces the one Helia has seen.
    let added = rsipfs
        .node
        .run_stdin(&["add", "--cid-version", "1", "-Q"], b"a newer text\n");
    assert!(added.status.success(), "add: {added:?}");
    let newer = format!("/ipfs/{}", String::from_utf8_lossy(&added.stdout).trim());
    rsipfs.ok_within(&["name", "publish", "-Q", &newer], NETWORK);
    let resolved_newer = far.ok(&format!("resolve {name} 30000"), NETWORK);
    assert_eq!(resolved_newer["value"], newer.as_str(), "{}", rsipfs.log());
    assert!(resolved_newer["sequence"].as_u64() > resolved["sequence"].as_u64());
}

#[test]
fn rsipfs_resolves_a_name_helia_published_through_the_dht() {
    if !inside_loopback_namespace("rsipfs_resolves_a_name_helia_published_through_the_dht") {
        return;
    }
    let (rsipfs, _) = Rsipfs::start(4512, b"unused\n");
    let work = rsipfs.node.work();
    // publisher - near, and the record put there, before rsipfs comes:
    // rsipfs gets it with GET_VALUE from Helia.
    let mut publisher = Helia::start(&work, "publisher", &[]);
    let mut near = Helia::start(&work, "near", &[&publisher.addr]);
    let publisher_id = publisher.peer_id.clone();
    wait_for(
        "the DHT of the Helia in the middle takes the publisher in",
        NETWORK,
        || near.dht_knows(&publisher_id),
        String::new,
    );
    let text = "published by Helia, read by rsipfs";
    let cid = publisher.ok(&format!("add {text}"), NETWORK)["cid"]
        .as_str()
        .expect("cid")
        .to_string();
    let published = publisher.ok(&format!("publish k1 {cid}"), NETWORK);
    let name = published["name"].as_str().expect("name").to_string();
    assert!(name.starts_with("k51"), "{published}");
    let value = format!("/ipfs/{cid}");
    assert_eq!(published["value"], value.as_str());

    rsipfs.ok_within(&["swarm", "connect", &near.addr], NETWORK);
    let rsipfs_id = rsipfs.peer_id.clone();
    wait_for(
        "Helia's DHT takes rsipfs into its routing table (rsipfs must announce /ipfs/kad/1.0.0 and answer as a server)",
        NETWORK,
        || near.dht_knows(&rsipfs_id),
        || rsipfs.log(),
    );
    let resolved = rsipfs.ok_within(&["name", "resolve", &name], NETWORK);
    assert_eq!(resolved.trim(), value);
    let resolved = rsipfs.ok_within(&["name", "resolve", &format!("/ipns/{name}")], NETWORK);
    assert_eq!(resolved.trim(), value);
    // The content behind the name is on the publisher alone.
    let cat = rsipfs.ok_within(&["cat", &format!("/ipns/{name}")], NETWORK);
    assert_eq!(cat, text);

    // A newer record from Helia replaces the one rsipfs has seen.
    let newer_cid = publisher.ok("add a newer text", NETWORK)["cid"]
        .as_str()
        .expect("cid")
        .to_string();
    let newer = format!("/ipfs/{newer_cid}");
    let republished = publisher.ok(&format!("publish k1 {newer}"), NETWORK);
    assert!(republished["sequence"].as_u64() > published["sequence"].as_u64());
    let resolved = rsipfs.ok_within(&["name", "resolve", "--nocache", &name], NETWORK);
    assert_eq!(resolved.trim(), newer);
}

/// A name of an RSA key (`k2k4r8…`: the key's SHA-256, so the record
/// carries the public key) published by rsipfs resolves in Helia.
#[test]
fn helia_resolves_a_name_rsipfs_published_with_an_rsa_key() {
    if !inside_loopback_namespace("helia_resolves_a_name_rsipfs_published_with_an_rsa_key") {
        return;
    }
    let (rsipfs, cid) = Rsipfs::start(4514, b"signed with RSA\n");
    rsipfs
        .node
        .ok(&["key", "gen", "--type", "rsa", "--size", "2048", "rsa"]);
    let work = rsipfs.node.work();
    let mut helia = rsipfs.helia(&work, "resolver");
    let value = format!("/ipfs/{cid}");
    let name = rsipfs.ok_within(&["name", "publish", "--key", "rsa", "-Q", &value], NETWORK);
    let name = name.trim();
    assert!(name.starts_with("k2k4r8"), "an RSA key's name: {name}");
    let resolved = helia.ok(&format!("resolve {name} 30000"), NETWORK);
    assert_eq!(resolved["value"], value.as_str(), "{}", rsipfs.log());
}

/// rsipfs as a DHT server between two Helia nodes: the publisher puts its
/// record to rsipfs alone, then a forged and an expired one with higher
/// sequences, and stops; a Helia that comes later, knowing only rsipfs,
/// gets the good record from rsipfs's store.
#[test]
fn rsipfs_keeps_a_record_helia_put_refuses_bad_ones_and_serves_it() {
    if !inside_loopback_namespace("rsipfs_keeps_a_record_helia_put_refuses_bad_ones_and_serves_it")
    {
        return;
    }
    let (rsipfs, _) = Rsipfs::start(4513, b"unused\n");
    let work = rsipfs.node.work();
    let rsipfs_id = rsipfs.peer_id.clone();
    let mut publisher = rsipfs.helia(&work, "publisher");
    let cid = publisher.ok("add kept by rsipfs", NETWORK)["cid"]
        .as_str()
        .expect("cid")
        .to_string();
    let value = format!("/ipfs/{cid}");
    let published = publisher.ok(&format!("publish k1 {value}"), NETWORK);
    let name = published["name"].as_str().expect("name").to_string();
    let sequence = published["sequence"].as_u64().expect("sequence");
    // Kept, either would replace the good record and the name would no
    // longer resolve.
    for (kind, higher) in [("forged", 5), ("expired", 6)] {
        let put = publisher.ok(
            &format!("put-bad {kind} k1 {value} {}", sequence + higher),
            NETWORK,
        );
        let answered = put["answered"].as_array().expect("answered");
        assert!(
            answered.iter().any(|peer| peer == rsipfs_id.as_str()),
            "the {kind} record reached rsipfs: {put}"
        );
    }
    let publisher_id = publisher.peer_id.clone();
    drop(publisher);
    wait_for(
        "the publisher is gone",
        NETWORK,
        || !rsipfs.node.ok(&["swarm", "peers"]).contains(&publisher_id),
        || rsipfs.log(),
    );

    let mut later = rsipfs.helia(&work, "later");
    let resolved = later.ok(&format!("resolve {name} 30000"), NETWORK);
    assert_eq!(resolved["value"], value.as_str(), "{}", rsipfs.log());
    assert_eq!(resolved["sequence"], published["sequence"]);
}

/// Helia as it mostly runs, a DHT client, with rsipfs as its DHT server:
/// one Helia puts its record to rsipfs, which resolves it and serves it to
/// another Helia client that comes later.
#[test]
fn helia_clients_publish_and_resolve_through_an_rsipfs_dht_server() {
    if !inside_loopback_namespace("helia_clients_publish_and_resolve_through_an_rsipfs_dht_server")
    {
        return;
    }
    let (rsipfs, _) = Rsipfs::start(4515, b"unused\n");
    let work = rsipfs.node.work();
    let mut publisher = rsipfs.helia_client(&work, "publisher");
    let cid = publisher.ok("add from a DHT client", NETWORK)["cid"]
        .as_str()
        .expect("cid")
        .to_string();
    let value = format!("/ipfs/{cid}");
    let published = publisher.ok(&format!("publish k1 {value}"), NETWORK);
    let name = published["name"].as_str().expect("name").to_string();
    let resolved = rsipfs.ok_within(&["name", "resolve", &name], NETWORK);
    assert_eq!(resolved.trim(), value);

    let mut resolver = rsipfs.helia_client(&work, "resolver");
    let resolved = resolver.ok(&format!("resolve {name} 30000"), NETWORK);
    assert_eq!(resolved["value"], value.as_str(), "{}", rsipfs.log());
}

/// The harness itself, with no rsipfs in it: what the two tests above ask
/// of rsipfs, Helia does with Helia.
#[test]
fn helia_resolves_a_name_helia_published_through_the_dht() {
    if !inside_loopback_namespace("helia_resolves_a_name_helia_published_through_the_dht") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mut publisher = Helia::start(work.path(), "publisher", &[]);
    let mut near = Helia::start(work.path(), "near", &[&publisher.addr]);
    let mut far = Helia::start(work.path(), "far", &[&near.addr]);
    let publisher_id = publisher.peer_id.clone();
    wait_for(
        "the DHT of the Helia in the middle takes the publisher in",
        NETWORK,
        || near.dht_knows(&publisher_id),
        String::new,
    );
    let text = "published by one Helia, read by another";
    let cid = publisher.ok(&format!("add {text}"), NETWORK)["cid"]
        .as_str()
        .expect("cid")
        .to_string();
    let published = publisher.ok(&format!("publish k1 {cid}"), NETWORK);
    let name = published["name"].as_str().expect("name");
    let resolved = far.ok(&format!("resolve {name} 30000"), NETWORK);
    assert_eq!(resolved["value"], format!("/ipfs/{cid}").as_str());
    assert_eq!(resolved["sequence"], published["sequence"]);
    let fetched = far.ok(&format!("get {cid} 30000"), NETWORK);
    assert_eq!(fetched["text"], text);
}
