//! `rsipfs files`: MFS from the command line; the root survives between
//! commands and is safe from gc.

mod common;

use common::Node;

#[test]
fn files_round_trip_and_match_add() {
    let node = Node::new();
    assert_eq!(
        node.ok(&["files", "stat", "--hash", "/"]).trim(),
        "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
    );
    node.ok(&["files", "mkdir", "-p", "/docs/notes"]);
    let out = node.run_stdin(
        &["files", "write", "-e", "/docs/notes/hello.txt"],
        b"Hello World!\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        node.ok(&["files", "read", "/docs/notes/hello.txt"]),
        "Hello World!\n"
    );
    assert_eq!(
        node.ok(&["files", "stat", "--hash", "/docs/notes/hello.txt"])
            .trim(),
        "QmfM2r8seH2GiRaC4esTjeraXEachRt8ZsSeGaWTPLyMoG",
        "a file written to MFS has the CID add gives it"
    );
    let stat = node.ok(&["files", "stat", "/docs/notes/hello.txt"]);
    assert_eq!(
        stat,
        "QmfM2r8seH2GiRaC4esTjeraXEachRt8ZsSeGaWTPLyMoG\nSize: 13\nCumulativeSize: 21\nChildBlocks: 0\n\
         Type: file\nMode: not set (not set)\nMtime: not set\n"
    );
    let custom = node.ok(&[
        "files",
        "stat",
        "--format",
        "<type> <size> <childs>",
        "/docs",
    ]);
    assert_eq!(custom, "directory 0 1\n");
    assert_eq!(node.ok(&["files", "ls", "/docs"]), "notes\n");
    let long = node.ok(&["files", "ls", "-l", "/docs/notes"]);
    assert_eq!(
        long,
        "hello.txt\tQmfM2r8seH2GiRaC4esTjeraXEachRt8ZsSeGaWTPLyMoG\t13\n"
    );

    let big = node.make_tree("tree");
    let added = node
        .ok(&[
            "add",
            "-Q",
            "-r",
            "--pin=false",
            big.to_str().expect("path"),
        ])
        .trim()
        .to_string();
    node.ok(&["files", "cp", &format!("/ipfs/{added}"), "/tree"]);
    assert_eq!(
        node.ok(&["files", "stat", "--hash", "/tree"]).trim(),
        added,
        "cp links, it does not re-import"
    );
    node.ok(&["files", "mv", "/tree", "/docs/tree"]);
    node.ok(&["repo", "gc"]);
    assert_eq!(
        node.ok(&["files", "read", "/docs/tree/hello.txt"]),
        "Hello World!\n",
        "gc keeps what MFS holds"
    );
    assert_eq!(node.ok(&["cat", &format!("{added}/sizes/s1.bin")]).len(), 1);

    node.ok(&["files", "rm", "-r", "/docs/tree"]);
    assert!(
        node.fails(&["files", "read", "/docs/tree/hello.txt"])
            .contains("does not exist")
    );
    assert!(node.fails(&["files", "rm", "/docs"]).contains("-r"));
    assert!(
        node.fails(&["files", "write", "/nope/x", "/dev/null"])
            .contains("does not exist")
    );
    assert!(
        node.fails(&["files", "mkdir", "relative"])
            .contains("absolute")
    );
}

#[test]
fn stat_shows_stored_mode_and_mtime() {
    let node = Node::new();
    let cid = node.add_with_metadata("kept.txt", "kept\n", 0o640, 1_136_214_245);
    node.ok(&["files", "cp", &format!("/ipfs/{cid}"), "/kept.txt"]);
    let stat = node.ok(&["files", "stat", "/kept.txt"]);
    assert!(stat.contains("Mode: -rw-r----- (0640)\n"), "{stat}");
    assert!(
        stat.ends_with("Mtime: 2 Jan 2006, 15:04:05 UTC\n"),
        "{stat}"
    );
}

#[test]
fn chcid_log_and_restore() {
    let node = Node::new();
    node.ok(&["files", "mkdir", "/d"]);
    node.ok(&["files", "chcid", "--cid-version", "1", "/d"]);
    // Kubo's CIDv1 of the empty directory.
    assert_eq!(
        node.ok(&["files", "stat", "--hash", "/d"]).trim(),
        "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
    );
    let out = node.run_stdin(&["files", "write", "-e", "/d/f"], b"one");
    assert!(out.status.success());
    let out = node.run_stdin(&["files", "write", "-t", "/d/f"], b"two");
    assert!(out.status.success());
    let log = node.ok(&["files", "log"]);
    let versions = log.lines().count();
    assert!(versions >= 4, "{log}");
    // Version numbers count from the oldest; the log lists newest first.
    assert!(
        log.lines()
            .next()
            .unwrap()
            .starts_with(&versions.to_string())
    );
    node.ok(&["files", "restore", &(versions - 1).to_string()]);
    assert_eq!(node.ok(&["files", "read", "/d/f"]), "one");
    assert!(
        node.fails(&["files", "restore", "999"])
            .contains("no version")
    );
    assert!(
        node.fails(&[
            "files",
            "restore",
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        ])
        .contains("not an MFS commit")
    );
}

/// A history commit is a dag-pb node whose data is not UnixFS; `refs -r`
/// walks it (and through it every version) as Kubo walks any dag-pb node.
#[test]
fn refs_walk_the_history_commits() {
    let node = Node::new();
    let out = node.run_stdin(&["files", "write", "-e", "/f"], b"one");
    assert!(out.status.success());
    let log = node.ok(&["files", "log"]);
    let newest = log.lines().next().expect("a version");
    let fields: Vec<&str> = newest.split('\t').collect();
    let (root, commit) = (fields[2], fields[3].trim_start_matches("commit "));
    let refs = node.ok(&["refs", "-r", commit]);
    assert!(refs.lines().any(|l| l == root), "{refs}");
    assert!(node.ok(&["refs", commit]).lines().any(|l| l == root));
}
