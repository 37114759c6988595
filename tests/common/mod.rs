//! Helpers for the CLI tests; the repository/command helpers are shared with
//! the mount tests (`mount_tests::Node`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub use mount_tests::Node;

pub mod gateway;
pub mod prometheus;

pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

pub fn fixture(rel: &str) -> PathBuf {
    shared_dir().join("fixtures").join(rel)
}

/// Golden lines `<source>:<flags>:<path> <cid>` from tests/data/cli/golden.txt.
pub fn golden() -> Vec<(String, String, String)> {
    let text = include_str!("../data/cli/golden.txt");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (label, cid) = line.rsplit_once(' ').expect("label and cid");
            let mut parts = label.splitn(3, ':');
            let _source = parts.next().expect("source");
            let flags = parts.next().expect("flags").to_string();
            let path = parts.next().expect("path").to_string();
            (flags, path, cid.to_string())
        })
        .collect()
}

/// Recursively compares two trees: names, file bytes, symlink targets.
pub fn assert_same_tree(expected: &Path, actual: &Path, skip_hidden: bool) {
    let names = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
            .map(|e| {
                e.expect("entry")
                    .file_name()
                    .into_string()
                    .expect("utf-8 name")
            })
            .filter(|n| !(skip_hidden && n.starts_with('.')))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(expected),
        names(actual),
        "entries of {}",
        actual.display()
    );
    for name in names(expected) {
        let (e, a) = (expected.join(&name), actual.join(&name));
        let meta = std::fs::symlink_metadata(&e).expect("stat expected");
        if meta.file_type().is_symlink() {
            assert_eq!(
                std::fs::read_link(&e).ok(),
                std::fs::read_link(&a).ok(),
                "symlink {}",
                a.display()
            );
        } else if meta.is_dir() {
            assert_same_tree(&e, &a, skip_hidden);
        } else {
            let (eb, ab) = (
                std::fs::read(&e).expect("read"),
                std::fs::read(&a).expect("read"),
            );
            assert!(eb == ab, "bytes of {} differ", a.display());
        }
    }
}

/// A running `rsipfs daemon --offline`, stopped with SIGTERM when dropped.
pub struct Daemon(std::sync::Mutex<std::process::Child>);

impl Daemon {
    /// Still running, so still holding the repository: whatever ran on it
    /// meanwhile went through its API.
    pub fn assert_alive(&self) {
        let mut child = self.0.lock().unwrap();
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "the daemon exited"
        );
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let child = self.0.get_mut().unwrap();
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let _ = child.wait();
    }
}

/// Starts the daemon on `node`'s repository; returns once its API is up.
pub fn start_daemon(node: &Node) -> Daemon {
    start_daemon_with(node, &["--offline"])
}

/// `rsipfs daemon ARGS` on `node`'s repository, its stderr in
/// daemon.log; returns once its API is up.
pub fn start_daemon_with(node: &Node, args: &[&str]) -> Daemon {
    let log = std::fs::File::create(node.dir.path().join("daemon.log")).expect("log");
    let child = node
        .cmd(&[&["daemon"], args].concat())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn daemon");
    let daemon = Daemon(std::sync::Mutex::new(child));
    let started = std::time::Instant::now();
    while !node.repo().join("api").exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "daemon not ready: {}",
            std::fs::read_to_string(node.dir.path().join("daemon.log")).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    daemon
}

/// Whether `node` runs and the npm `package` is installed in tests/js (by
/// `npm ci` there, which `.ci/run` does): a failure under CI, a message
/// and a skip elsewhere.
pub fn js_package_available(package: &str) -> bool {
    let installed = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/js/node_modules")
        .join(package)
        .exists();
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok();
    if installed && node {
        return true;
    }
    let why = format!("{package} is not installed (run `npm ci` in tests/js) or node is missing");
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("SKIPPED: {why}");
    false
}

/// Node 22 from tests/js (npm `node`, which `.ci/run` installs with
/// `npm ci` there) when it and the npm `package` are installed: Helia 7
/// needs Node 22, the machine's may be older. Missing, a failure under CI,
/// a message and a skip elsewhere.
pub fn node22_with(package: &str) -> Option<PathBuf> {
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js");
    let node = js.join("node_modules/.bin/node");
    let version = std::process::Command::new(&node)
        .arg("--version")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string());
    let major = version
        .as_deref()
        .and_then(|v| v.strip_prefix('v')?.split('.').next()?.parse::<u32>().ok());
    let why = if major.is_none_or(|m| m < 22) {
        format!(
            "Node 22 is not at {} (got {version:?}; run `npm ci` in tests/js)",
            node.display()
        )
    } else if !js.join("node_modules").join(package).exists() {
        format!("{package} is not installed (run `npm ci` in tests/js)")
    } else {
        return Some(node);
    };
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("SKIPPED: {why}");
    None
}

/// ../shared/tools/netns.sh (or under $SHARED_DIR): runs a command in a
/// fresh network namespace with loopback alone. Missing, a failure under
/// CI, a message and None elsewhere.
pub fn netns_script() -> Option<PathBuf> {
    let script = std::env::var_os("SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(shared_dir)
        .join("tools/netns.sh");
    if script.exists() {
        return Some(script);
    }
    let why = format!("{} is missing", script.display());
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("SKIPPED: {why}");
    None
}

/// Set, to the test's name, in a test process re-run inside a namespace.
const IN_NETNS: &str = "RSIPFS_TEST_IN_NETNS";

/// Whether this process is `test` re-run by [`rerun_in_loopback_namespace`].
pub fn in_loopback_namespace(test: &str) -> bool {
    std::env::var(IN_NETNS).as_deref() == Ok(test)
}

/// Runs `test` of this test binary again inside a fresh network namespace
/// with loopback alone (`netns`, from [`netns_script`]); asserts it passed.
pub fn rerun_in_loopback_namespace(netns: &Path, test: &str) {
    let out = std::process::Command::new(netns)
        .arg(std::env::current_exe().expect("test binary"))
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(IN_NETNS, test)
        .output()
        .expect("run netns.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test} in a loopback namespace failed\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
