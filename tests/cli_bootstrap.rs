//! Start-up config as Kubo's: the default bootstrap list and swarm
//! addresses, the profiles (`init --profile`, `config profile apply`),
//! `bootstrap list|add|rm` on the command line and in the RPC API, and a
//! node that starts from the default config (inside a loopback-only
//! network namespace, so its bootstrap dials cannot leave). Every other
//! test sets its repositories up with the `test` profile; the last test
//! checks that they do.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Node, start_daemon};
use mount_tests::rsipfs_bin;
use serde_json::{Value, json};

/// Kubo's bootstrap peers, copied from Kubo's sources (not from rsipfs):
/// boxo autoconf/fallbacks.go `FallbackBootstrapPeers` (boxo 8df89a78,
/// v0.42.0, the boxo of Kubo v0.42.0), the list Kubo's `Bootstrap: ["auto"]`
/// stands for without an AutoConf answer; the same list is
/// `DefaultBootstrapAddresses` in Kubo's
/// repo/fsrepo/migrations/fs-repo-16-to-17/migration/migration.go ("the
/// hardcoded bootstrap addresses from Kubo 0.36", which `init` wrote).
const KUBO_BOOTSTRAP: [&str; 7] = [
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt",
    "/dnsaddr/va1.bootstrap.libp2p.io/p2p/12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8",
    "/ip4/104.131.131.82/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
    "/ip4/104.131.131.82/udp/4001/quic-v1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
];

/// Kubo's default swarm addresses for TCP and QUIC, in its order: Kubo
/// config/init.go `addressesConfig` (kubo 867cdc5d, v0.42.0), without its
/// WebRTC and WebTransport entries.
const KUBO_SWARM: [&str; 4] = [
    "/ip4/0.0.0.0/tcp/4001",
    "/ip6/::/tcp/4001",
    "/ip4/0.0.0.0/udp/4001/quic-v1",
    "/ip6/::/udp/4001/quic-v1",
];

/// The one peer of Kubo's list with two addresses (TCP and QUIC).
const MARS: &str = "QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ";

/// `rsipfs ARGS` on the repository at `repo` (no `init` done for it).
fn rsipfs(repo: &Path, args: &[&str]) -> Output {
    Command::new(rsipfs_bin())
        .args(args)
        .env("IPFS_PATH", repo)
        .output()
        .expect("run rsipfs")
}

fn init(repo: &Path, args: &[&str]) {
    let out = rsipfs(repo, &[&["init"], args].concat());
    assert!(
        out.status.success(),
        "init {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn config(repo: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo.join("config")).expect("config"))
        .expect("config is JSON")
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    list.sort();
    list
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

#[test]
fn init_writes_kubos_bootstrap_list_and_swarm_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    init(&repo, &[]);
    let config = config(&repo);
    assert_eq!(config["Bootstrap"], json!(KUBO_BOOTSTRAP));
    assert_eq!(config["Addresses"]["Swarm"], json!(KUBO_SWARM));
    assert_eq!(config["Addresses"]["API"], "/ip4/127.0.0.1/tcp/5001");
    assert_eq!(config["Addresses"]["Gateway"], "/ip4/127.0.0.1/tcp/8080");
}

#[test]
fn the_test_profile_is_kubos_and_every_test_node_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    init(&repo, &["--profile", "test"]);
    let helper = Node::new();
    for config in [config(&repo), config(&helper.repo())] {
        assert_eq!(config["Bootstrap"], json!([]));
        assert_eq!(
            config["Addresses"]["Swarm"],
            json!(["/ip4/127.0.0.1/tcp/0"])
        );
        assert_eq!(config["Addresses"]["API"], "/ip4/127.0.0.1/tcp/0");
        assert_eq!(config["Addresses"]["Gateway"], "/ip4/127.0.0.1/tcp/0");
        assert_eq!(config["Discovery"]["MDNS"]["Enabled"], false);
        assert_eq!(config["Swarm"]["DisableNatPortMap"], true);
        assert_eq!(config["Routing"]["LoopbackAddressesOnLanDHT"], true);
        assert_eq!(config["Routing"]["DelegatedRouters"], json!([]));
    }
}

#[test]
fn profiles_apply_in_the_order_given() {
    let dir = tempfile::tempdir().unwrap();
    let server = dir.path().join("server");
    init(&server, &["-p", "server,lowpower"]);
    let config = config(&server);
    // A few of Kubo's `defaultServerFilters` (config/profile.go).
    for filter in [
        "/ip4/10.0.0.0/ipcidr/8",
        "/ip4/127.0.0.0/ipcidr/8",
        "/ip4/192.168.0.0/ipcidr/16",
        "/ip6/fe80::/ipcidr/10",
    ] {
        for key in [
            &config["Addresses"]["NoAnnounce"],
            &config["Swarm"]["AddrFilters"],
        ] {
            assert!(key.as_array().unwrap().contains(&json!(filter)), "{key}");
        }
    }
    assert_eq!(
        config["Addresses"]["NoAnnounce"].as_array().unwrap().len(),
        19
    );
    assert_eq!(config["Discovery"]["MDNS"]["Enabled"], false);
    assert_eq!(config["Swarm"]["DisableNatPortMap"], true);
    // Kubo's `lowpower`.
    assert_eq!(config["Routing"]["Type"], "autoclient");
    assert_eq!(config["AutoNAT"]["ServiceMode"], "disabled");
    assert_eq!(config["Swarm"]["RelayService"]["Enabled"], false);
    assert_eq!(
        config["Swarm"]["ConnMgr"],
        json!({"Type": "basic", "LowWater": 20, "HighWater": 40, "GracePeriod": "1m0s"})
    );
    // The bootstrap list is not the server profile's business.
    assert_eq!(config["Bootstrap"], json!(KUBO_BOOTSTRAP));

    let undone = dir.path().join("undone");
    init(&undone, &["--profile", "test,default-networking"]);
    let config = self::config(&undone);
    assert_eq!(config["Bootstrap"], json!(KUBO_BOOTSTRAP));
    assert_eq!(config["Addresses"]["Swarm"], json!(KUBO_SWARM));

    let random = dir.path().join("random");
    init(&random, &["--profile", "randomports"]);
    let swarm = self::config(&random)["Addresses"]["Swarm"].clone();
    let port = swarm[0].as_str().unwrap().strip_prefix("/ip4/0.0.0.0/tcp/");
    let port: u16 = port.expect("TCP on IPv4").parse().expect("a port");
    assert!(port != 0 && port != 4001, "{swarm}");
    assert_eq!(swarm[1], format!("/ip6/::/tcp/{port}"));
}

#[test]
fn a_profile_that_cannot_apply_leaves_no_repository() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let out = rsipfs(&repo, &["init", "--profile", "test,nope"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid configuration profile: nope"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!repo.exists(), "a failed init left {}", repo.display());
    let out = rsipfs(&repo, &["init", "--profile", "pebbleds"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no meaning for rsipfs"));
    assert!(!repo.exists());
}

#[test]
fn config_profile_apply_changes_the_config_and_keeps_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    init(&repo, &[]);
    let before = config(&repo);

    let dry = rsipfs(&repo, &["config", "profile", "apply", "test", "--dry-run"]);
    assert!(dry.status.success());
    let shown = String::from_utf8_lossy(&dry.stdout);
    assert!(shown.contains("+ Bootstrap: []"), "{shown}");
    assert!(
        shown.contains("+ Addresses.Swarm: [\"/ip4/127.0.0.1/tcp/0\"]"),
        "{shown}"
    );
    assert!(!shown.contains("PrivKey"), "{shown}");
    assert_eq!(config(&repo), before, "--dry-run changed the config");

    assert!(
        rsipfs(&repo, &["config", "profile", "apply", "test"])
            .status
            .success()
    );
    assert_eq!(config(&repo)["Bootstrap"], json!([]));
    let backups: Vec<PathBuf> = std::fs::read_dir(&repo)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("config-pre-test-")
        })
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let kept: Value = serde_json::from_str(&std::fs::read_to_string(&backups[0]).unwrap()).unwrap();
    assert_eq!(kept, before);

    let out = rsipfs(&repo, &["config", "profile", "apply", "nope"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope is not a profile"));
}

#[test]
fn bootstrap_commands_edit_the_list_as_kubos_do() {
    let node = Node::new();
    assert_eq!(node.ok(&["bootstrap", "list"]), "");
    assert_eq!(node.ok(&["bootstrap"]), "");

    let added = node.ok(&["bootstrap", "add", "--default"]);
    let expected: Vec<String> = sorted(&KUBO_BOOTSTRAP)
        .iter()
        .map(|p| format!("added {p}"))
        .collect();
    assert_eq!(lines(&added), expected);
    assert_eq!(
        lines(&node.ok(&["bootstrap", "list"])),
        sorted(&KUBO_BOOTSTRAP)
    );
    // Again, as an argument: the list keeps each entry once.
    node.ok(&["bootstrap", "add", "default"]);
    assert_eq!(
        config(&node.repo())["Bootstrap"].as_array().unwrap().len(),
        7
    );

    // A peer alone takes all its addresses.
    let removed = node.ok(&["bootstrap", "rm", &format!("/p2p/{MARS}")]);
    assert_eq!(
        lines(&removed),
        [
            format!("removed /ip4/104.131.131.82/tcp/4001/p2p/{MARS}"),
            format!("removed /ip4/104.131.131.82/udp/4001/quic-v1/p2p/{MARS}"),
        ]
    );
    assert_eq!(
        lines(&node.ok(&["bootstrap", "list"])),
        sorted(&KUBO_BOOTSTRAP[..5])
    );

    // An address takes only itself; new peers go first.
    node.ok(&["bootstrap", "add", "default"]);
    let tcp = format!("/ip4/104.131.131.82/tcp/4001/p2p/{MARS}");
    assert_eq!(
        node.ok(&["bootstrap", "rm", &tcp]),
        format!("removed {tcp}\n")
    );
    let left = config(&node.repo())["Bootstrap"].clone();
    assert_eq!(left.as_array().unwrap().len(), 6);
    assert!(!left.as_array().unwrap().contains(&json!(tcp)));
    let ours = "/ip4/127.0.0.1/tcp/4101/p2p/12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8";
    assert_eq!(
        node.ok(&["bootstrap", "add", ours]),
        format!("added {ours}\n")
    );
    assert_eq!(config(&node.repo())["Bootstrap"][0], ours);

    for (bad, why) in [
        ("/ip4/1.2.3.4/tcp/1", "invalid bootstrap address"),
        (&format!("/p2p/{MARS}")[..], "without a transport"),
        ("not-an-address", "not-an-address"),
    ] {
        let err = node.fails(&["bootstrap", "add", bad]);
        assert!(err.contains(why), "{bad}: {err}");
    }
    assert!(
        node.fails(&["bootstrap", "add"])
            .contains("no bootstrap peers to add")
    );

    let removed = node.ok(&["bootstrap", "rm", "--all"]);
    assert_eq!(lines(&removed).len(), 7, "{removed}");
    assert_eq!(config(&node.repo())["Bootstrap"], json!([]));
    node.ok(&["bootstrap", "add", ours]);
    assert_eq!(
        node.ok(&["bootstrap", "rm", "all"]),
        format!("removed {ours}\n")
    );
    assert_eq!(node.ok(&["bootstrap", "list"]), "");
}

fn post(url: &str) -> (u16, Value) {
    let mut response = ureq::post(url)
        .config()
        .http_status_as_error(false)
        .build()
        .send_empty()
        .expect("request");
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().expect("body");
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|_| panic!("{url}: not JSON: {body}")),
    )
}

fn peers(answer: &Value) -> Vec<String> {
    let mut peers: Vec<String> = answer["Peers"]
        .as_array()
        .unwrap_or_else(|| panic!("no Peers list in {answer}"))
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    peers.sort();
    peers
}

#[test]
fn bootstrap_and_profiles_through_the_daemon_api() {
    let node = Node::new();
    let daemon = start_daemon(&node);
    let api = format!("{}/api/v0", node.api_url());

    // The command line goes through the daemon holding the repository.
    assert_eq!(lines(&node.ok(&["bootstrap", "add", "--default"])).len(), 7);
    daemon.assert_alive();

    let ok = |command: &str| -> Value {
        let (status, answer) = post(&format!("{api}/{command}"));
        assert_eq!(status, 200, "{command}: {answer}");
        answer
    };
    assert_eq!(peers(&ok("bootstrap/list")), sorted(&KUBO_BOOTSTRAP));
    assert_eq!(peers(&ok("bootstrap")), sorted(&KUBO_BOOTSTRAP));
    assert_eq!(
        peers(&ok(&format!("bootstrap/rm?arg=/p2p/{MARS}"))),
        sorted(&KUBO_BOOTSTRAP[5..])
    );
    assert_eq!(peers(&ok("bootstrap/rm/all")), sorted(&KUBO_BOOTSTRAP[..5]));
    assert_eq!(ok("bootstrap/list"), json!({ "Peers": [] }));
    assert_eq!(peers(&ok("bootstrap/add/default")), sorted(&KUBO_BOOTSTRAP));
    assert_eq!(peers(&ok("bootstrap/rm?all=true")).len(), 7);
    assert_eq!(peers(&ok("bootstrap/add?default=true")).len(), 7);
    let ours = "/ip4/127.0.0.1/tcp/4101/p2p/12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8";
    assert_eq!(
        ok(&format!("bootstrap/add?arg={ours}")),
        json!({ "Peers": [ours] })
    );
    assert_eq!(
        config(&node.repo())["Bootstrap"].as_array().unwrap().len(),
        8
    );
    let (status, error) = post(&format!("{api}/bootstrap/add"));
    assert_eq!(
        (status, &error["Message"]),
        (400, &json!("no bootstrap peers to add"))
    );

    let update = ok("config/profile/apply?arg=lowpower");
    assert_eq!(update["OldCfg"]["Routing"]["Type"], "auto");
    assert_eq!(update["NewCfg"]["Routing"]["Type"], "autoclient");
    for side in ["OldCfg", "NewCfg"] {
        assert!(update[side]["Identity"].get("PrivKey").is_none(), "{side}");
        assert!(update[side]["Identity"]["PeerID"].is_string(), "{side}");
    }
    assert_eq!(config(&node.repo())["Swarm"]["ConnMgr"]["HighWater"], 40);
    let (status, _) = post(&format!("{api}/config/profile/apply?arg=nope"));
    assert_eq!(status, 400);
    daemon.assert_alive();
}

/// `tools/netns.sh` from ../shared, or a skip (a failure under CI).
fn netns(test: &str) -> Option<PathBuf> {
    let script = std::env::var_os("SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("tools/netns.sh");
    if script.exists() {
        return Some(script);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {} is missing under CI",
        script.display()
    );
    eprintln!("SKIPPED {test}: {} is not here", script.display());
    None
}

/// A daemon on `repo`, started by `command`, its output in files; stopped
/// with SIGTERM when dropped.
struct Daemon {
    child: std::process::Child,
    out: PathBuf,
    err: PathBuf,
}

impl Daemon {
    fn spawn(mut command: Command, logs: &Path) -> Daemon {
        let (out, err) = (logs.join("daemon.out"), logs.join("daemon.err"));
        let child = command
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("spawn the daemon");
        Daemon { child, out, err }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits for "Daemon is ready"; panics with the logs if it exits first
    /// or takes longer than 20 s.
    fn wait_ready(&mut self) {
        let started = Instant::now();
        while !self.stdout().contains("Daemon is ready") {
            let exited = self.child.try_wait().expect("try_wait");
            assert!(
                exited.is_none() && started.elapsed() < Duration::from_secs(20),
                "the daemon is not ready ({exited:?}):\n{}\n{}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

#[test]
fn a_daemon_on_the_default_config_listens_on_tcp_and_quic_and_resolves_dnsaddr() {
    let test = "a_daemon_on_the_default_config_listens_on_tcp_and_quic_and_resolves_dnsaddr";
    let Some(netns) = netns(test) else { return };
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    init(&repo, &[]);
    // Its own network namespace: loopback alone, so the default ports are
    // free and the dials to the bootstrap peers cannot leave.
    let mut command = Command::new(&netns);
    command
        .arg(rsipfs_bin())
        .arg("daemon")
        .env("IPFS_PATH", &repo)
        .env("RSIPFS_LOG", "info")
        .stdin(Stdio::null());
    let mut daemon = Daemon::spawn(command, dir.path());
    daemon.wait_ready();
    let (out, err) = (daemon.stdout(), daemon.stderr());
    for listening in [
        "Swarm listening on /ip4/127.0.0.1/tcp/4001",
        "Swarm listening on /ip6/::1/tcp/4001",
        "Swarm listening on /ip4/127.0.0.1/udp/4001/quic-v1",
        "Swarm listening on /ip6/::1/udp/4001/quic-v1",
    ] {
        assert!(out.contains(listening), "{listening}?\n{out}\n{err}");
    }
    assert!(
        err.contains("Bootstrap: resolving 5 /dnsaddr entries"),
        "{err}"
    );
    assert!(!err.contains("skipping"), "nothing is skipped:\n{err}");
    drop(daemon);

    // Kubo's `auto` placeholder is the same list; with AutoConf off, none.
    rsipfs(&repo, &["config", "--json", "Bootstrap", r#"["auto"]"#]);
    for (autoconf, dnsaddr_lines) in [("true", 1), ("false", 0)] {
        rsipfs(&repo, &["config", "--json", "AutoConf.Enabled", autoconf]);
        let mut command = Command::new(&netns);
        command
            .arg(rsipfs_bin())
            .arg("daemon")
            .env("IPFS_PATH", &repo)
            .env("RSIPFS_LOG", "info")
            .stdin(Stdio::null());
        let mut daemon = Daemon::spawn(command, dir.path());
        daemon.wait_ready();
        let err = daemon.stderr();
        assert_eq!(
            err.matches("Bootstrap: resolving 5 /dnsaddr entries")
                .count(),
            dnsaddr_lines,
            "AutoConf.Enabled {autoconf}:\n{err}"
        );
    }
}

#[test]
fn a_test_profile_daemon_listens_on_loopback_and_has_no_one_to_dial() {
    let node = Node::new();
    let mut command = node.cmd(&["daemon"]);
    command.env("RSIPFS_LOG", "info");
    let mut daemon = Daemon::spawn(command, node.dir.path());
    daemon.wait_ready();
    let (out, err) = (daemon.stdout(), daemon.stderr());
    let listening: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("Swarm listening on "))
        .collect();
    assert!(!listening.is_empty(), "{out}");
    for addr in listening {
        let port = addr.strip_prefix("/ip4/127.0.0.1/tcp/");
        assert!(
            port.is_some_and(|p| p != "0"),
            "{addr} is not loopback:\n{out}"
        );
    }
    assert!(!err.contains("Bootstrap"), "{err}");
    assert!(!err.contains("skipping"), "{err}");
    let peers = node.ok(&["swarm", "peers"]);
    assert_eq!(peers, "", "connected to someone: {peers}");
}

#[test]
fn a_listen_address_that_fails_is_logged_unless_all_do() {
    let node = Node::new();
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = format!("/ip4/127.0.0.1/tcp/{}", holder.local_addr().unwrap().port());
    let swarm = json!([taken, "/ip4/127.0.0.1/tcp/0"]).to_string();
    node.ok(&["config", "--json", "Addresses.Swarm", &swarm]);
    let mut daemon = Daemon::spawn(node.cmd(&["daemon"]), node.dir.path());
    daemon.wait_ready();
    assert!(
        daemon
            .stderr()
            .contains(&format!("not listening on {taken}")),
        "{}",
        daemon.stderr()
    );
    assert_eq!(daemon.stdout().matches("Swarm listening on").count(), 1);
    drop(daemon);

    node.ok(&[
        "config",
        "--json",
        "Addresses.Swarm",
        &json!([taken]).to_string(),
    ]);
    let mut daemon = Daemon::spawn(node.cmd(&["daemon"]), node.dir.path());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = daemon.child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the daemon runs listening nowhere:\n{}",
            daemon.stdout()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    assert!(
        daemon.stderr().contains(&format!("listening on {taken}")),
        "{}",
        daemon.stderr()
    );
    drop(holder);
}

/// Every script and test helper that makes a repository makes it with the
/// test profile, so nothing in a test dials the public bootstrap peers.
#[test]
fn tests_and_scripts_make_their_repositories_with_the_test_profile() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join(".ci/run"), root.join("mount-tests/src/lib.rs")];
    for dir in ["scripts", "tests/net"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    let mut inits = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for line in text.lines() {
            let runs_init = ["\" init", "(\"init\"", "[\"init\"", "rsipfs init"]
                .iter()
                .any(|call| line.contains(call));
            if runs_init && !line.trim_start().starts_with('#') {
                inits += 1;
                assert!(
                    line.contains("test"),
                    "{}: init without the test profile: {line}",
                    file.display()
                );
            }
        }
    }
    assert!(
        inits >= 10,
        "only {inits} init calls found: the patterns are stale"
    );
}
