//! A block damaged on disk (one flipped bit) is never served as content:
//! every read path fails naming the block, offline and through the daemon,
//! the block is set aside, `repo verify` reports it, and adding the data
//! again repairs it.

mod common;

use std::path::PathBuf;

use common::{Node, start_daemon};

/// Three 256 KiB chunks and a short one, each different.
fn content() -> Vec<u8> {
    mount_tests::pseudo_random((3 << 18) + 1000, 7)
}

/// Adds the content as `file.bin`; returns the root and its second leaf.
fn add_file(node: &Node) -> (String, String) {
    std::fs::write(node.work().join("file.bin"), content()).expect("write");
    let root = node.ok(&["add", "-Q", "file.bin"]).trim().to_string();
    let leaves: Vec<String> = node
        .ok(&["refs", &root])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(leaves.len(), 4, "{leaves:?}");
    (root, leaves[1].clone())
}

/// Every command that reads the file's bytes, with what it reads.
fn readers(root: &str) -> Vec<Vec<String>> {
    [
        vec!["cat", root],
        vec!["get", "-o", "out", root],
        vec!["refs", "-r", root],
        vec!["dag", "export", root],
        vec!["files", "read", "/file.bin"],
    ]
    .into_iter()
    .map(|args| args.into_iter().map(str::to_string).collect())
    .collect()
}

/// Damages the leaf's file (again: a read sets the previous copy aside) and
/// asserts that each reader fails naming the leaf and leaves it set aside.
fn assert_every_reader_fails(node: &Node, root: &str, leaf: &str, file: &PathBuf, damaged: &[u8]) {
    let mut commands = readers(root);
    commands.push(vec!["block".into(), "get".into(), leaf.to_string()]);
    for args in commands {
        std::fs::write(file, damaged).expect("damage the block again");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = node.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "rsipfs {args:?} succeeded");
        assert!(
            stderr.contains(leaf),
            "rsipfs {args:?} does not name {leaf}: {stderr}"
        );
        let middle = damaged.len() / 2;
        let around_the_flip = &damaged[middle - 500..middle + 500];
        assert!(
            !out.stdout.windows(1000).any(|w| w == around_the_flip),
            "rsipfs {args:?} wrote the damaged bytes"
        );
        assert!(
            !file.exists(),
            "rsipfs {args:?} left the damaged block in place"
        );
    }
}

#[test]
fn every_read_of_a_damaged_block_fails_naming_it_until_it_is_added_again() {
    let node = Node::new();
    let (root, leaf) = add_file(&node);
    node.ok(&["files", "cp", &format!("/ipfs/{root}"), "/file.bin"]);
    let file = node.damage_block(&leaf);
    let damaged = std::fs::read(&file).expect("read");

    assert_every_reader_fails(&node, &root, &leaf, &file, &damaged);

    // Set aside: still an error naming it, and `repo verify` reports it.
    let err = node.fails(&["block", "get", &leaf]);
    assert!(err.contains(&leaf) && err.contains("corrupt"), "{err}");
    let verify = node.run(&["repo", "verify"]);
    assert!(!verify.status.success());
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let report = String::from_utf8_lossy(&verify.stdout);
    assert!(report.contains(&name), "{report}");

    // A good copy repairs it.
    node.ok(&["add", "-Q", "file.bin"]);
    assert_eq!(node.ok_bytes(&["cat", &root]), content());
    assert_eq!(
        node.ok(&["repo", "verify"]).trim(),
        "verified repo integrity"
    );
}

#[test]
fn through_the_daemon_reads_of_a_damaged_block_fail_naming_it() {
    let node = Node::new();
    let (root, leaf) = add_file(&node);
    node.ok(&["files", "cp", &format!("/ipfs/{root}"), "/file.bin"]);
    let file = node.damage_block(&leaf);
    let damaged = std::fs::read(&file).expect("read");
    let daemon = start_daemon(&node);

    assert_every_reader_fails(&node, &root, &leaf, &file, &damaged);
    daemon.assert_alive();
}

#[test]
fn hash_on_read_can_be_turned_off() {
    let node = Node::new();
    let (root, leaf) = add_file(&node);
    node.ok(&["config", "--json", "Datastore.HashOnRead", "false"]);
    let file = node.damage_block(&leaf);
    let out = node.ok_bytes(&["cat", &root]);
    assert_eq!(out.len(), content().len());
    assert_ne!(out, content());
    assert!(file.exists());
}
