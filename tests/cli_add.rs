//! `rsipfs add` end to end: CIDs equal a real Kubo's (and unixfs-ref's for the
//! options Kubo's library can't set), output lines, stdin, pins, --only-hash.

mod common;

use common::{Node, golden};

#[test]
fn every_golden_cid_matches() {
    let node = Node::new();
    node.make_tree("tree");
    let golden = golden();
    assert!(
        golden.len() >= 12,
        "golden file has {} entries",
        golden.len()
    );
    let mut failures = Vec::new();
    for (flags, path, expected) in golden {
        let mut args: Vec<&str> = vec!["add", "-Q"];
        args.extend(flags.split_whitespace());
        args.push(&path);
        let got = node.ok(&args);
        if got.trim() != expected {
            failures.push(format!(
                "add {flags} {path}: got {}, Kubo/unixfs-ref say {expected}",
                got.trim()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn prints_added_lines_contents_before_directories() {
    let node = Node::new();
    node.make_tree("tree");
    let out = node.ok(&["add", "-r", "tree/with space"]);
    let lines: Vec<&str> = out.lines().collect();
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l.splitn(3, ' ').nth(2).expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "with space/dangling",
            "with space/nested/deep.txt",
            "with space/nested",
            "with space"
        ],
        "{out}"
    );
    assert!(lines.iter().all(|l| l.starts_with("added Qm")), "{out}");
    let quiet = node.ok(&["add", "-r", "-q", "tree/with space"]);
    let cids: Vec<&str> = lines
        .iter()
        .map(|l| l.split(' ').nth(1).expect("cid"))
        .collect();
    assert_eq!(quiet.lines().collect::<Vec<_>>(), cids);
}

#[test]
fn stdin_is_named_by_its_cid() {
    let node = Node::new();
    let out = node.run_stdin(&["add"], b"Hello World!\n");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "added QmfM2r8seH2GiRaC4esTjeraXEachRt8ZsSeGaWTPLyMoG QmfM2r8seH2GiRaC4esTjeraXEachRt8ZsSeGaWTPLyMoG\n"
    );
    let named = node.run_stdin(
        &["add", "--stdin-name", "greeting.txt", "-w"],
        b"Hello World!\n",
    );
    let text = String::from_utf8_lossy(&named.stdout).into_owned();
    assert!(
        text.starts_with("added QmfM2r8seH2GiRaC4esTjeraXEachRt8ZsSeGaWTPLyMoG greeting.txt\n"),
        "{text}"
    );
}

#[test]
fn spec_vectors_for_options() {
    let node = Node::new();
    // SPEC-NOTES §4.5 (Kubo sharness t0046) and §14.2.
    let inline = node.run_stdin(
        &["add", "-Q", "--inline", "--raw-leaves"],
        b"jkD98jkD975hkD8\n",
    );
    assert_eq!(
        String::from_utf8_lossy(&inline.stdout).trim(),
        "bafkqaedknncdsodknncdsnzvnbvuioak"
    );
    let v1 = node.run_stdin(&["add", "-Q", "--cid-version", "1"], b"hello world\n");
    assert_eq!(
        String::from_utf8_lossy(&v1.stdout).trim(),
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    );
    let zeros = vec![0u8; 45_900_000];
    let balanced = node.run_stdin(&["add", "-Q"], &zeros);
    assert_eq!(
        String::from_utf8_lossy(&balanced.stdout).trim(),
        "QmRdPboiJQoZ5cdazR9a8vGqdJvWg6M5bfdtUSKNHpuscj"
    );
    let trickle = node.run_stdin(&["add", "-Q", "--trickle"], &zeros);
    assert_eq!(
        String::from_utf8_lossy(&trickle.stdout).trim(),
        "QmdZcefqMZ3tzdS4CRBN5s1c67eS3nQzN8TNXFBYfgofoy"
    );
}

#[test]
fn only_hash_stores_nothing_and_pin_pins_roots() {
    let node = Node::new();
    node.make_tree("tree");
    let before = node.ok(&["repo", "stat"]);
    let hashed = node.ok(&["add", "-Q", "-n", "-r", "tree/with space"]);
    assert_eq!(
        node.ok(&["repo", "stat"]),
        before,
        "--only-hash wrote blocks"
    );
    let added = node.ok(&["add", "-Q", "-r", "tree/with space"]);
    assert_eq!(hashed, added);
    let pins = node.ok(&["pin", "ls", "--type", "recursive"]);
    assert_eq!(pins.trim(), format!("{} recursive", added.trim()));
    let unpinned = node.ok(&["add", "-Q", "--pin=false", "tree/hello.txt"]);
    assert!(!node.ok(&["pin", "ls"]).contains(unpinned.trim()));
}

#[test]
fn bad_options_are_refused_clearly() {
    let node = Node::new();
    node.make_tree("tree");
    assert!(node.fails(&["add", "tree"]).contains("-r"));
    assert!(
        node.fails(&["add", "--chunker", "size-0", "tree/hello.txt"])
            .to_lowercase()
            .contains("chunk")
    );
    assert!(
        node.fails(&["add", "--chunker", "bogus", "tree/hello.txt"])
            .to_lowercase()
            .contains("chunk")
    );
    assert!(
        node.fails(&[
            "add",
            "--cid-version",
            "0",
            "--hash",
            "sha2-512",
            "tree/hello.txt"
        ])
        .contains("sha2-256")
    );
    assert!(
        node.fails(&["add", "--inline", "--inline-limit", "129", "tree/hello.txt"])
            .contains("128")
    );
    assert!(
        node.fails(&["add", "tree/does-not-exist"])
            .contains("does-not-exist")
    );
}

/// Chunk sizes of `rel` added with `chunker`, read back from the leaves.
fn leaf_sizes(node: &Node, chunker: &str, rel: &str) -> Vec<usize> {
    let root = node
        .ok(&["add", "-Q", "--raw-leaves", "--chunker", chunker, rel])
        .trim()
        .to_string();
    node.ok(&["refs", &root])
        .lines()
        .map(|cid| {
            let stat = node.ok(&["block", "stat", cid]);
            stat.lines()
                .nth(1)
                .and_then(|l| l.strip_prefix("Size: "))
                .expect("Size line")
                .parse()
                .expect("number")
        })
        .collect()
}

#[test]
fn rabin_boundaries_match_boxos_chunker() {
    let node = Node::new();
    node.make_tree("tree");
    let big = std::fs::read(node.work().join("tree/sizes/s45613057.bin")).expect("read");
    std::fs::write(node.work().join("prefix.bin"), &big[..1_500_000]).expect("write");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/rabin-reference.py");
    for (rel, min, avg, max) in [
        ("tree/sizes/s262145.bin", 1024, 4096, 16384),
        ("prefix.bin", 87381, 262144, 393216),
    ] {
        let out = std::process::Command::new("python3")
            .arg(&script)
            .args([rel, &min.to_string(), &avg.to_string(), &max.to_string()])
            .current_dir(node.work())
            .output()
            .expect("python3");
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let expected: Vec<usize> = text
            .trim()
            .trim_matches(['[', ']'])
            .split(',')
            .map(|n| n.trim().parse().expect("size"))
            .collect();
        let chunker = if avg == 262144 {
            "rabin".to_string()
        } else {
            format!("rabin-{min}-{avg}-{max}")
        };
        assert_eq!(
            leaf_sizes(&node, &chunker, rel),
            expected,
            "{chunker} on {rel}"
        );
    }
}
