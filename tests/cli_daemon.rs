//! While a daemon holds the repository, every command goes through its API
//! and prints exactly what it prints offline. Two identical repositories:
//! one used directly, one through `rsipfs daemon`; each command runs on
//! both and the outputs are compared.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};

use common::{Daemon, Node, fixture, start_daemon};

fn copy_dir(from: &Path, to: &Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(status.success());
}

/// The pair: `offline` used directly, `online` behind its daemon; both run
/// in `offline`'s work directory, so paths and file metadata are the same.
struct Pair {
    offline: Node,
    online: Node,
    daemon: Daemon,
}

impl Pair {
    fn new() -> Self {
        let offline = Node::new();
        offline.make_tree("tree");
        let online = Node::new();
        std::fs::remove_dir_all(online.repo()).expect("rm");
        copy_dir(&offline.repo(), &online.repo());
        let daemon = start_daemon(&online);
        Pair {
            offline,
            online,
            daemon,
        }
    }

    fn run(&self, node: &Node, args: &[&str], input: Option<&[u8]>) -> Output {
        let mut cmd = node.cmd(args);
        cmd.current_dir(self.offline.work());
        match input {
            None => cmd.output().expect("run"),
            Some(bytes) => {
                use std::io::Write;
                let mut child = cmd
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn");
                child.stdin.take().unwrap().write_all(bytes).unwrap();
                child.wait_with_output().expect("wait")
            }
        }
    }

    /// Runs `args` both ways; asserts the same status, stdout, and (when
    /// failing) the same error, and that the status is `succeeds`. Returns
    /// the stdout.
    fn same_with(&self, args: &[&str], input: Option<&[u8]>, succeeds: bool) -> String {
        let offline = self.run(&self.offline, args, input);
        let online = self.run(&self.online, args, input);
        self.daemon.assert_alive();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        assert_eq!(
            offline.status.success(),
            online.status.success(),
            "rsipfs {args:?}: offline {:?} {}, through the daemon {:?} {}",
            offline.status,
            text(&offline.stderr),
            online.status,
            text(&online.stderr)
        );
        assert!(
            offline.stdout == online.stdout,
            "rsipfs {args:?}: stdout differs\n--- offline\n{}\n--- through the daemon\n{}",
            text(&offline.stdout),
            text(&online.stdout)
        );
        assert_eq!(
            offline.status.success(),
            succeeds,
            "rsipfs {args:?}: {}",
            text(&offline.stderr)
        );
        if !offline.status.success() {
            assert_eq!(
                text(&offline.stderr),
                text(&online.stderr),
                "rsipfs {args:?}: errors differ"
            );
        }
        text(&offline.stdout)
    }

    fn ok(&self, args: &[&str]) -> String {
        self.same_with(args, None, true)
    }

    fn ok_with(&self, args: &[&str], input: &[u8]) -> String {
        self.same_with(args, Some(input), true)
    }

    fn fails(&self, args: &[&str]) -> String {
        self.same_with(args, None, false)
    }
}

#[test]
fn adding_and_reading_give_the_same_output_through_the_daemon() {
    let pair = Pair::new();
    let out = pair.ok(&["add", "-r", "tree"]);
    let root = out
        .lines()
        .last()
        .expect("root line")
        .split(' ')
        .nth(1)
        .unwrap()
        .to_string();
    assert!(out.lines().count() > 3000, "every entry is reported");
    pair.ok(&["add", "-r", "-H", "-Q", "--cid-version", "1", "tree"]);
    pair.ok(&[
        "add",
        "-r",
        "--preserve-mode",
        "--preserve-mtime",
        "-q",
        "tree/sizes",
    ]);
    pair.ok(&["add", "-w", "tree/hello.txt", "tree/empty.txt"]);
    pair.ok(&[
        "add",
        "--raw-leaves",
        "--chunker",
        "size-1000",
        "--trickle",
        "tree/sizes/s262145.bin",
    ]);
    pair.ok(&["add", "-n", "-r", "tree"]);
    pair.ok(&["add", "--pin=false", "-r", "tree/with space"]);
    pair.ok_with(&["add", "--stdin-name", "note.txt"], b"from stdin\n");
    pair.ok_with(&["add"], b"unnamed stdin\n");
    pair.fails(&["add", "tree"]); // a directory without -r
    pair.fails(&[
        "add",
        "--cid-version",
        "0",
        "--hash",
        "sha2-512",
        "tree/hello.txt",
    ]);
    pair.ok(&[
        "add",
        "--cid-version",
        "1",
        "--hash",
        "sha2-512",
        "tree/hello.txt",
    ]);

    pair.ok(&["ls", &root]);
    pair.ok(&["ls", "-v", "--size=false", &format!("{root}/sharded")]);
    pair.ok(&[
        "ls",
        &format!("{root}/hello.txt"),
        &format!("/ipfs/{root}/sizes"),
    ]);
    pair.fails(&["ls", &format!("{root}/missing")]);
    pair.ok(&["refs", &root]);
    pair.ok(&["refs", "-r", "--unique", &root]);
    // The daemon streams refs; a block missing midway is the same failure.
    let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let file = pair.ok_with(&["add", "-Q", "--pin=false"], &data);
    let file = file.trim();
    let leaves = pair.ok(&["refs", file]);
    let leaves: Vec<&str> = leaves.lines().collect();
    assert_eq!(leaves.len(), 3, "{leaves:?}");
    pair.ok(&["block", "rm", leaves[1]]);
    pair.fails(&["refs", "-r", file]);
    pair.ok(&["cat", &format!("{root}/hello.txt")]);
    pair.ok(&["object", "links", "-v", &root]);
    pair.ok(&["object", "stat", &root]);
    pair.ok(&["object", "get", &format!("{root}/sizes")]);
    pair.ok(&["object", "data", &root]);
    pair.ok(&["dag", "get", &root]);
    pair.ok(&["dag", "stat", &format!("{root}/sizes")]);
    let car = pair.ok(&["dag", "export", &format!("{root}/sizes/s262145.bin")]);
    assert!(!car.is_empty());
    pair.fails(&["get", "-o", "not-made", "nonsense-cid"]);
}

#[test]
fn blocks_dags_pins_repo_and_config_through_the_daemon() {
    let pair = Pair::new();
    let root = pair.ok(&["add", "-Q", "-r", "tree"]).trim().to_string();
    let hello = pair
        .ok(&["add", "-Q", "--pin=false", "tree/hello.txt"])
        .trim()
        .to_string();
    pair.ok(&["block", "stat", &hello]);
    pair.ok(&["block", "get", &hello]);
    let raw = pair.ok_with(&["block", "put"], b"a raw block");
    let raw = raw.trim();
    pair.same_with(
        &["block", "put", "--cid-codec", "dag-pb"],
        Some(b"not protobuf"),
        false,
    );
    let cbor = pair.ok_with(&["dag", "put"], br#"{"a": [1, 2, {"/": "bafkqaaa"}]}"#);
    pair.ok(&["dag", "get", cbor.trim()]);
    pair.ok_with(
        &[
            "dag",
            "put",
            "--store-codec",
            "dag-pb",
            "--input-codec",
            "dag-json",
        ],
        br#"{"Data": {"/": {"bytes": "CAE"}}, "Links": []}"#,
    );
    let car = fixture("tooling-car/dag.car");
    let car = car.to_str().unwrap();
    let imported = pair.ok(&["dag", "import", car, car]);
    assert!(imported.contains("pinned root"), "{imported}");
    pair.fails(&["dag", "import", "/nonexistent.car"]);

    pair.ok(&["pin", "ls", "--type", "recursive"]);
    pair.ok(&["pin", "ls", "-q", "--type", "direct"]);
    pair.ok(&["pin", "ls", &format!("{root}/hello.txt")]);
    pair.ok(&["pin", "add", "--recursive=false", &hello]);
    pair.ok(&["pin", "rm", &hello]);
    pair.fails(&["pin", "rm", &hello]); // not pinned any more
    pair.fails(&["pin", "ls", "--type", "bogus"]);
    pair.fails(&["block", "rm", &root]); // pinned
    pair.fails(&["block", "rm", &format!("/ipfs/{root}")]); // not a CID
    pair.fails(&["block", "rm", "-f", "-q", &hello]); // pinned through the root
    pair.ok(&["block", "rm", raw]);
    pair.fails(&["block", "stat", raw]); // gone
    pair.fails(&["block", "rm", raw]);
    pair.ok(&["block", "rm", "-f", raw]);
    pair.ok(&["pin", "rm", &root]);
    pair.ok(&["repo", "gc", "-q"]);
    pair.ok(&["repo", "verify"]);
    pair.ok(&["repo", "version"]);
    pair.ok(&["config", "Addresses.API"]);
    pair.ok(&[
        "config",
        "--json",
        "Experimental.Thing",
        r#"{"on": [1, 2]}"#,
    ]);
    pair.ok(&["config", "Experimental.Thing"]);
    pair.fails(&["config", "--bool", "Mounts.FuseAllowOther", "maybe"]);
    pair.ok(&["config", "--show"]);
    pair.ok(&["version"]);
}

#[test]
fn files_commands_give_the_same_tree_through_the_daemon() {
    let pair = Pair::new();
    let root = pair.ok(&["add", "-Q", "-r", "tree"]).trim().to_string();
    pair.ok(&["files", "mkdir", "-p", "/a/b"]);
    pair.ok_with(
        &["files", "write", "--create", "/a/b/f.txt"],
        b"some text\n",
    );
    pair.ok(&[
        "files",
        "write",
        "--create",
        "--parents",
        "/c/d/big.bin",
        "tree/sizes/s262145.bin",
    ]);
    pair.ok(&[
        "files",
        "cp",
        &format!("/ipfs/{root}/hello.txt"),
        "/a/h.txt",
    ]);
    pair.ok(&["files", "mv", "/a/h.txt", "/a/b/hello.txt"]);
    pair.fails(&["files", "rm", "/a"]);
    pair.fails(&["files", "mkdir", "/x/y"]);
    pair.ok(&["files", "ls", "-l", "/a/b"]);
    pair.ok(&[
        "files",
        "read",
        "--offset",
        "2",
        "--count",
        "4",
        "/a/b/f.txt",
    ]);
    pair.ok(&["files", "stat", "/a/b/hello.txt"]);
    pair.ok(&["files", "stat", "--hash", "/"]);
    pair.ok(&["files", "chcid", "--cid-version", "1", "/a"]);
    let after_chcid = pair.ok(&["files", "stat", "--hash", "/a"]);
    assert!(after_chcid.starts_with("bafy"), "{after_chcid}");
    pair.ok(&["files", "stat", "--hash", "/"]);
    pair.fails(&["files", "chcid", "/a/b/f.txt"]);
    pair.ok(&["files", "rm", "-r", "/c"]);
    pair.ok(&["files", "ls", "/"]);
    pair.ok(&["files", "stat", "--hash", "/"]);
}

#[test]
fn files_restore_through_the_daemon_brings_back_a_past_version() {
    let node = Node::new();
    {
        let _daemon = start_daemon(&node);
        node.ok(&["files", "mkdir", "/kept"]);
        node.ok(&["files", "flush", "/"]);
    }
    // SIGTERM: the `api` file goes before the lock, so offline works again.
    assert!(!node.repo().join("api").exists(), "api file left behind");
    let first = node
        .ok(&["files", "stat", "--hash", "/"])
        .trim()
        .to_string();
    let _daemon = start_daemon(&node);
    node.ok(&["files", "rm", "-r", "/kept"]);
    node.ok(&["files", "mkdir", "/new"]);
    node.ok(&["files", "flush", "/"]);
    let log = node.ok(&["files", "log"]);
    assert!(log.lines().count() >= 2, "{log}");
    let restored = node.ok(&["files", "restore", "1"]);
    assert_eq!(restored.trim(), first);
    assert_eq!(node.ok(&["files", "stat", "--hash", "/"]).trim(), first);
    assert_eq!(node.ok(&["files", "ls", "/"]).trim(), "kept");
    assert!(
        node.fails(&["files", "restore", "99"])
            .contains("no version 99")
    );
}

#[test]
fn a_tree_of_many_files_is_added_through_the_daemon_with_few_descriptors() {
    use std::os::unix::process::CommandExt;
    let pair = Pair::new();
    let files = pair.offline.work().join("many");
    for i in 0..30_000 {
        let dir = files.join(format!("{:0>200}", i % 100));
        if i < 100 {
            std::fs::create_dir_all(&dir).expect("mkdir");
        }
        // Long names make long answer lines: 30 000 of them outgrow the
        // sockets' buffers.
        let name = format!("{i:0>200}");
        std::fs::write(dir.join(name), format!("file {i}\n")).expect("write");
    }
    let offline = pair
        .run(&pair.offline, &["add", "-r", "-Q", "-n", "many"], None)
        .stdout;
    // A client that reads the answer only once the upload is sent: the
    // daemon must keep reading the upload while 30 000 answer lines wait
    // (it stopped once the socket's buffers were full, and both waited).
    // 128 descriptors: each file must be opened only as its part is sent.
    let online = pair.online.cmd(&["add", "-r", "-Q", "many"]);
    let mut cmd = std::process::Command::new("timeout");
    cmd.arg("60")
        .arg(online.get_program())
        .args(online.get_args())
        .envs(online.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(pair.offline.work());
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 128,
                rlim_max: 128,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let online = cmd.output().expect("run");
    assert!(
        online.status.success(),
        "{:?}: {}",
        online.status,
        String::from_utf8_lossy(&online.stderr)
    );
    assert_eq!(online.stdout, offline);
    pair.daemon.assert_alive();
}
