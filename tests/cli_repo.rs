//! The repository from the command line: init, the lock, foreign directories,
//! config.

mod common;

use std::process::Stdio;

use common::Node;
use mount_tests::rsipfs_bin;

#[test]
fn init_writes_the_fs_repo_layout() {
    let node = Node::new();
    let repo = node.repo();
    assert_eq!(
        std::fs::read_to_string(repo.join("version"))
            .expect("version")
            .trim(),
        "fs-repo: 1"
    );
    for entry in [
        "config",
        "keys/id.pri",
        "keys/id.pub",
        "blocks",
        "datastore",
        "logs",
        "hooks",
    ] {
        assert!(repo.join(entry).exists(), "{entry} missing");
    }
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("config")).expect("config"))
            .expect("json");
    assert!(
        config["Identity"]["PeerID"]
            .as_str()
            .expect("PeerID")
            .starts_with("12D3KooW")
    );
    assert_eq!(node.ok(&["config", "Mounts.IPFS"]).trim(), "/ipfs");
    node.ok(&["config", "Mounts.IPFS", "/mnt/ipfs"]);
    assert_eq!(node.ok(&["config", "Mounts.IPFS"]).trim(), "/mnt/ipfs");
    node.ok(&["config", "--json", "Bootstrap", "[]"]);
    assert_eq!(node.ok(&["config", "Bootstrap"]).trim(), "[]");
    assert!(
        !node.fails(&["init"]).is_empty(),
        "init over an existing repo must fail"
    );
}

#[test]
fn a_second_process_is_told_who_holds_the_lock() {
    let node = Node::new();
    // `add` from a pipe we keep open holds the repo until stdin closes.
    let mut holder = node
        .cmd(&["add"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = holder.id();
    // Wait until the holder has written its PID into repo.lock: polling with
    // another rsipfs command would race it for the lock.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_to_string(node.repo().join("repo.lock")).ok() != Some(pid.to_string()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the holder never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let err = node.fails(&["repo", "stat"]);
    assert!(
        err.contains(&pid.to_string()),
        "error should name PID {pid}: {err}"
    );
    drop(holder.stdin.take());
    assert!(holder.wait().expect("wait").success());
    node.ok(&["repo", "stat"]);
}

#[test]
fn a_stale_lock_is_taken_over() {
    let node = Node::new();
    std::fs::write(node.repo().join("repo.lock"), "999999999").expect("write stale lock");
    node.ok(&["repo", "stat"]);
}

#[test]
fn foreign_directories_are_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubo = dir.path().join("kubo");
    std::fs::create_dir_all(kubo.join("blocks")).expect("mkdir");
    std::fs::write(kubo.join("version"), "14\n").expect("version");
    std::fs::write(
        kubo.join("blocks/SHARDING"),
        "/repo/flatfs/shard/v1/next-to-last/2\n",
    )
    .expect("sharding");
    let garbage = dir.path().join("garbage");
    std::fs::create_dir(&garbage).expect("mkdir");
    std::fs::write(garbage.join("notes.txt"), "mine").expect("file");
    for target in [&kubo, &garbage] {
        let before = listing(target);
        for args in [&["repo", "stat"][..], &["init"][..]] {
            let out = std::process::Command::new(rsipfs_bin())
                .args(args)
                .env("IPFS_PATH", target)
                .output()
                .expect("run");
            assert!(
                !out.status.success(),
                "{args:?} in {} should fail",
                target.display()
            );
            assert!(!out.stderr.is_empty());
        }
        assert_eq!(listing(target), before, "{} was modified", target.display());
    }
    let out = std::process::Command::new(rsipfs_bin())
        .args(["repo", "stat"])
        .env("IPFS_PATH", &kubo)
        .output()
        .expect("run");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Kubo"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn listing(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(listing(&path));
        } else {
            out.push((
                path.display().to_string(),
                std::fs::read(&path).expect("read"),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn kill_9_during_add_leaves_a_repo_that_opens_and_verifies() {
    use std::io::Write;
    let node = Node::new();
    let mut child = node
        .cmd(&["add", "--chunker", "size-4096"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let block: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for _ in 0..24 {
        if stdin.write_all(&block).is_err() {
            break;
        }
    }
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    drop(stdin);
    assert!(node.ok(&["repo", "stat"]).contains("NumObjects:"));
    assert_eq!(
        node.ok(&["repo", "verify"]).trim(),
        "verified repo integrity"
    );
    let after = node.run_stdin(&["add", "-Q"], b"still works\n");
    assert!(after.status.success());
}
