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

/// A node with a pinned file and an MFS tree (a directory and a file).
fn node_with_pins_and_mfs() -> (Node, String) {
    let node = Node::new();
    std::fs::write(node.work().join("pinned.txt"), b"kept by a pin\n").expect("write");
    let pinned = node.ok(&["add", "-Q", "pinned.txt"]).trim().to_string();
    node.ok(&["files", "mkdir", "/docs"]);
    let written = node.run_stdin(&["files", "write", "-e", "/docs/note.txt"], b"in MFS\n");
    assert!(written.status.success());
    (node, pinned)
}

fn block_files(node: &Node) -> usize {
    fn count(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| {
                let e = e.expect("entry");
                if e.file_type().expect("type").is_dir() {
                    count(&e.path())
                } else {
                    1
                }
            })
            .sum()
    }
    count(&node.repo().join("blocks"))
}

/// The error of a command that needs the datastore: not a panic (exit 1,
/// not 101), naming the file and the way out.
fn assert_datastore_error(node: &Node, args: &[&str]) -> String {
    let out = node.run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(
        !stderr.contains("thread 'main'"),
        "{args:?} panicked: {stderr}"
    );
    let file = node.repo().join("datastore/rsipfs.redb");
    assert!(
        stderr.contains(&file.display().to_string()),
        "{args:?}: {stderr}"
    );
    assert!(stderr.contains("rsipfs repo fsck"), "{args:?}: {stderr}");
    stderr
}

#[test]
fn a_damaged_datastore_is_an_error_naming_it_and_fsck_rebuilds_it() {
    let (node, pinned) = node_with_pins_and_mfs();
    let file = node.repo().join("datastore/rsipfs.redb");
    let good = std::fs::read(&file).expect("read datastore");
    let mut scribbled = good.clone();
    scribbled[4096..4 * 4096].fill(0xA5);
    let mut header = good.clone();
    header[100..300].fill(0x5A);
    for (name, damage) in [
        ("truncated", good[..4096].to_vec()),
        ("scribbled", scribbled),
        ("bad header", header),
        ("empty", Vec::new()),
    ] {
        std::fs::write(&file, &damage).expect("damage");
        assert!(
            node.ok(&["version"]).starts_with("rsipfs version"),
            "{name}"
        );
        node.ok(&["id"]);
        assert_datastore_error(&node, &["pin", "ls"]);
        assert_datastore_error(&node, &["files", "ls", "/"]);
        let blocks = block_files(&node);
        assert_datastore_error(&node, &["repo", "gc"]);
        assert_eq!(block_files(&node), blocks, "{name}: gc deleted blocks");

        let report = node.ok(&["repo", "fsck"]);
        assert!(report.contains(&pinned), "{name}: {report}");
        assert!(report.contains("/local/filesroot"), "{name}: {report}");
        let aside: Vec<_> = std::fs::read_dir(node.repo().join("datastore"))
            .expect("read_dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.to_string_lossy().contains(".damaged-"))
            .collect();
        assert_eq!(aside.len(), 1, "{name}: {aside:?}");
        assert_eq!(std::fs::read(&aside[0]).expect("aside"), damage, "{name}");
        std::fs::remove_file(&aside[0]).expect("rm");

        assert!(node.ok(&["pin", "ls"]).contains(&pinned), "{name}");
        assert_eq!(node.ok(&["files", "ls", "/docs"]).trim(), "note.txt");
        assert_eq!(node.ok(&["files", "read", "/docs/note.txt"]), "in MFS\n");
        assert!(node.ok(&["repo", "fsck"]).contains("nothing to do"));
    }
}

#[test]
fn a_deleted_datastore_is_an_error_and_gc_deletes_nothing() {
    let (node, pinned) = node_with_pins_and_mfs();
    let unpinned = node
        .run_stdin(&["add", "-Q", "--pin=false"], b"nobody keeps this\n")
        .stdout;
    assert!(!unpinned.is_empty());
    std::fs::remove_dir_all(node.repo().join("datastore")).expect("rm datastore");
    let blocks = block_files(&node);
    let stderr = assert_datastore_error(&node, &["repo", "gc"]);
    assert!(stderr.contains("missing"), "{stderr}");
    assert_eq!(block_files(&node), blocks, "gc deleted blocks");
    assert_datastore_error(&node, &["pin", "ls"]);
    assert!(
        !node.repo().join("datastore").exists(),
        "the datastore was recreated empty"
    );
    node.ok(&["version"]);

    let report = node.ok(&["repo", "fsck"]);
    assert!(report.contains(&pinned), "{report}");
    assert!(node.ok(&["pin", "ls"]).contains(&pinned));
    assert_eq!(node.ok(&["files", "read", "/docs/note.txt"]), "in MFS\n");
    // Now gc runs, and keeps what the pin and the tree hold.
    assert!(node.ok(&["repo", "gc"]).contains("removed"));
    assert_eq!(node.ok(&["cat", &pinned]), "kept by a pin\n");
    assert_eq!(node.ok(&["files", "read", "/docs/note.txt"]), "in MFS\n");
}

#[test]
fn gc_refuses_when_a_root_block_is_missing() {
    use rsipfs::codec::cid::parse_cid;
    let (node, pinned) = node_with_pins_and_mfs();
    let unpinned = String::from_utf8(
        node.run_stdin(&["add", "-Q", "--pin=false"], b"nobody keeps this\n")
            .stdout,
    )
    .expect("utf-8");
    let flatfs = rsipfs::repo::FlatFs::open(&node.repo().join("blocks")).expect("flatfs");
    let missing = |cid: &str| flatfs.block_path(parse_cid(cid).expect("cid").hash());

    // The MFS root's block goes missing.
    let root = node
        .ok(&["files", "stat", "--hash", "/"])
        .trim()
        .to_string();
    let root_block = missing(&root);
    let saved = std::fs::read(&root_block).expect("root block");
    std::fs::remove_file(&root_block).expect("rm root block");
    let blocks = block_files(&node);
    let stderr = node.fails(&["repo", "gc"]);
    assert!(stderr.contains(&root), "{stderr}");
    assert!(stderr.contains("nothing was deleted"), "{stderr}");
    assert_eq!(block_files(&node), blocks);
    std::fs::write(&root_block, saved).expect("restore");

    // A pinned block goes missing.
    std::fs::remove_file(missing(&pinned)).expect("rm pinned block");
    let stderr = node.fails(&["repo", "gc"]);
    assert!(stderr.contains(&pinned), "{stderr}");
    assert_eq!(block_files(&node), blocks);
    assert_eq!(node.ok(&["cat", unpinned.trim()]), "nobody keeps this\n");
}

#[test]
fn gc_passes_over_mfs_content_never_fetched_but_not_damaged_blocks() {
    use rsipfs::codec::cid::parse_cid;
    let (node, pinned) = node_with_pins_and_mfs();
    let dir = node.work().join("remote");
    std::fs::create_dir(&dir).expect("mkdir");
    let pattern = |seed: u8| -> Vec<u8> {
        (0..300_000u32)
            .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed))
            .collect()
    };
    std::fs::write(dir.join("a"), pattern(1)).expect("write a");
    std::fs::write(dir.join("b"), pattern(2)).expect("write b");
    let added = node.ok(&["add", "-r", "-Q", "--pin=false", "remote"]);
    let dir_cid = added.trim();
    node.ok(&["files", "cp", &format!("/ipfs/{dir_cid}"), "/remote"]);
    let unpinned = String::from_utf8(
        node.run_stdin(&["add", "-Q", "--pin=false"], b"nobody keeps this\n")
            .stdout,
    )
    .expect("utf-8");
    let flatfs = rsipfs::repo::FlatFs::open(&node.repo().join("blocks")).expect("flatfs");
    let block_of = |cid: &str| flatfs.block_path(parse_cid(cid).expect("cid").hash());
    let stat_hash = |path: &str| {
        node.ok(&["files", "stat", "--hash", path])
            .trim()
            .to_string()
    };
    let (a, b) = (stat_hash("/remote/a"), stat_hash("/remote/b"));
    let leaves_of = |cid: &str| -> Vec<String> {
        node.ok(&["refs", cid])
            .lines()
            .map(str::to_string)
            .collect()
    };

    // One leaf of /remote/a was never fetched: gc runs and keeps the rest.
    let (a_leaves, b_leaves) = (leaves_of(&a), leaves_of(&b));
    assert_eq!(a_leaves.len(), 2, "{a_leaves:?}");
    std::fs::remove_file(block_of(&a_leaves[0])).expect("rm leaf");
    node.ok(&["repo", "gc"]);
    assert!(
        !node.run(&["cat", unpinned.trim()]).status.success(),
        "garbage stays"
    );
    assert!(
        block_of(&a_leaves[1]).exists(),
        "a leaf the tree links was collected"
    );
    assert_eq!(node.ok(&["cat", &pinned]), "kept by a pin\n");
    assert_eq!(node.ok_bytes(&["files", "read", "/remote/b"]), pattern(2));

    // /remote/b's root block is found damaged and set aside: its leaves,
    // here and whole, are what a restore needs, so gc refuses.
    let b_root = block_of(&b);
    let mut bytes = std::fs::read(&b_root).expect("read block");
    bytes[10] ^= 0x40;
    std::fs::write(&b_root, bytes).expect("damage block");
    assert!(!node.run(&["files", "read", "/remote/b"]).status.success());
    let blocks = block_files(&node);
    let stderr = node.fails(&["repo", "gc"]);
    assert!(stderr.contains(&b), "{stderr}");
    assert!(stderr.contains("nothing was deleted"), "{stderr}");
    assert_eq!(block_files(&node), blocks);
    for leaf in &b_leaves {
        assert!(block_of(leaf).exists());
    }
}
