//! Reading back what was added: cat, get, ls, refs, dag export/import, and
//! hostile input (names that escape, corrupt blocks).

mod common;

use common::{Node, assert_same_tree, fixture};

fn add_tree(node: &Node) -> String {
    node.make_tree("tree");
    node.ok(&["add", "-Q", "-r", "tree"]).trim().to_string()
}

#[test]
fn cat_returns_the_bytes_and_ranges() {
    let node = Node::new();
    let root = add_tree(&node);
    for rel in [
        "hello.txt",
        "empty.txt",
        "sizes/s262145.bin",
        "sizes/s45613057.bin",
        "ünïcödé name.txt",
    ] {
        let expected = std::fs::read(node.work().join("tree").join(rel)).expect("source");
        let got = node.ok_bytes(&["cat", &format!("/ipfs/{root}/{rel}")]);
        assert!(
            got == expected,
            "cat {rel}: {} bytes, expected {}",
            got.len(),
            expected.len()
        );
    }
    let big = std::fs::read(node.work().join("tree/sizes/s45613057.bin")).expect("source");
    for (offset, length) in [
        (0u64, 10u64),
        (262_143, 2),
        (262_144, 262_144),
        (45_613_050, 100),
        (99_999_999, 5),
    ] {
        let got = node.ok_bytes(&[
            "cat",
            "--offset",
            &offset.to_string(),
            "--length",
            &length.to_string(),
            &format!("{root}/sizes/s45613057.bin"),
        ]);
        let start = (offset as usize).min(big.len());
        let end = (start + length as usize).min(big.len());
        assert!(got == big[start..end], "range {offset}+{length}");
    }
    assert!(node.fails(&["cat", &root]).contains("directory"));
    assert!(
        node.fails(&["cat", &format!("{root}/nope")])
            .contains("nope")
    );
    assert!(
        node.fails(&["cat", "not-a-cid"])
            .to_lowercase()
            .contains("cid")
    );
}

#[test]
fn get_writes_the_same_tree() {
    let node = Node::new();
    let root = add_tree(&node);
    node.ok(&["get", &root, "-o", "out"]);
    assert_same_tree(&node.work().join("tree"), &node.work().join("out"), true);
    assert!(node.work().join("out/empty-dir").is_dir());
    assert!(node.fails(&["get", &root, "-o", "out"]).contains("exists"));
}

#[test]
fn ls_lists_plain_and_sharded_directories() {
    let node = Node::new();
    let root = add_tree(&node);
    let out = node.ok(&["ls", &root]);
    let names: Vec<&str> = out
        .lines()
        .map(|l| l.splitn(3, ' ').nth(2).expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "dup-a.txt",
            "dup-b.txt",
            "empty-dir/",
            "empty.txt",
            "hello.txt",
            "link-to-hello",
            "sharded/",
            "sizes/",
            "with space/",
            "ünïcödé name.txt"
        ]
    );
    assert!(
        out.contains("QmfM2r8seH2GiRaC4esTjeraXEachRt8ZsSeGaWTPLyMoG 13 hello.txt\n"),
        "{out}"
    );
    let sharded = node.ok(&["ls", &format!("{root}/sharded")]);
    let mut listed: Vec<&str> = sharded
        .lines()
        .map(|l| l.splitn(3, ' ').nth(2).expect("name"))
        .collect();
    listed.sort();
    let mut expected: Vec<String> = std::fs::read_dir(node.work().join("tree/sharded"))
        .expect("dir")
        .map(|e| e.expect("e").file_name().into_string().expect("utf8"))
        .collect();
    expected.sort();
    assert_eq!(listed.len(), 3000);
    assert_eq!(listed, expected);
}

#[test]
fn refs_and_dag_round_trip_through_car() {
    let node = Node::new();
    let root = add_tree(&node);
    let direct = node.ok(&["refs", &root]);
    assert_eq!(direct.lines().count(), 10);
    let all = node.ok(&["refs", "-r", "--unique", &root]);
    let stat = node.ok(&["dag", "stat", &root]);
    let blocks: usize = stat
        .split("NumBlocks: ")
        .nth(1)
        .expect("NumBlocks")
        .trim()
        .parse()
        .expect("number");
    assert_eq!(
        all.lines().count() + 1,
        blocks,
        "every block but the root is referenced once"
    );

    let car = node.ok_bytes(&["dag", "export", &root]);
    std::fs::write(node.work().join("tree.car"), &car).expect("write car");
    let other = Node::new();
    std::fs::copy(node.work().join("tree.car"), other.work().join("tree.car")).expect("copy");
    let imported = other.ok(&["dag", "import", "tree.car"]);
    assert!(imported.contains(&root), "{imported}");
    assert_eq!(
        other.ok_bytes(&["dag", "export", &root]),
        car,
        "export is deterministic"
    );
    assert_eq!(
        other.ok(&["cat", &format!("{root}/hello.txt")]),
        "Hello World!\n"
    );
}

#[test]
fn every_fixture_car_imports() {
    let node = Node::new();
    let dir = fixture("");
    let mut cars = Vec::new();
    for entry in walk(&dir) {
        if entry.extension().is_some_and(|e| e == "car") {
            cars.push(entry);
        }
    }
    assert!(cars.len() >= 18, "found {} fixture CARs", cars.len());
    for car in cars {
        let out = node.run(&["dag", "import", car.to_str().expect("utf-8 path")]);
        assert!(
            out.status.success(),
            "{}: {}",
            car.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // dir-with-files.car: the multi-block file reads back (INDEX.md: 1026 bytes).
    let text = node.ok_bytes(&[
        "cat",
        "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy/multiblock.txt",
    ]);
    assert_eq!(text.len(), 1026);
    assert_eq!(
        node.ok(&[
            "cat",
            "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy/hello.txt"
        ]),
        "hello world\n"
    );
}

#[test]
fn get_refuses_names_that_escape() {
    let node = Node::new();
    let car = fixture("path_gateway_tar/outside-root.car");
    node.ok(&["dag", "import", car.to_str().expect("path")]);
    let err = node.fails(&[
        "get",
        "bafybeicaj7kvxpcv4neaqzwhrqqmdstu4dhrwfpknrgebq6nzcecfucvyu",
        "-o",
        "out",
    ]);
    assert!(err.contains("../foo"), "{err}");
    assert!(
        !node.work().join("foo").exists(),
        "an entry escaped the destination"
    );
}

#[test]
fn truncated_and_corrupt_cars_are_refused() {
    let node = Node::new();
    let bytes = std::fs::read(fixture("path_gateway_unixfs/dir-with-files.car")).expect("fixture");
    std::fs::write(node.work().join("short.car"), &bytes[..bytes.len() - 7]).expect("write");
    assert!(!node.fails(&["dag", "import", "short.car"]).is_empty());
    let mut flipped = bytes.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x55;
    std::fs::write(node.work().join("flipped.car"), &flipped).expect("write");
    let err = node.fails(&["dag", "import", "flipped.car"]);
    assert!(err.contains("baf"), "the error names the CID: {err}");
    assert!(node.ok(&["pin", "ls"]).is_empty(), "nothing was pinned");
}

#[test]
fn pins_gc_and_verify() {
    let node = Node::new();
    let root = add_tree(&node);
    let other = node.run_stdin(&["add", "-Q", "--pin=false"], b"garbage to collect\n");
    let garbage = String::from_utf8_lossy(&other.stdout).trim().to_string();
    let removed = node.ok(&["repo", "gc"]);
    assert!(
        removed.contains(&garbage) || removed.contains("removed"),
        "{removed}"
    );
    assert!(node.fails(&["cat", &garbage]).contains("not found"));
    assert_eq!(
        node.ok(&["cat", &format!("{root}/hello.txt")]),
        "Hello World!\n",
        "pinned content survives gc"
    );
    assert_eq!(
        node.ok(&["repo", "verify"]).trim(),
        "verified repo integrity"
    );

    let indirect = node.ok(&["pin", "ls", "--type", "indirect"]);
    assert!(
        indirect.contains("QmfM2r8seH2GiRaC4esTjeraXEachRt8ZsSeGaWTPLyMoG indirect"),
        "{indirect}"
    );
    assert!(
        node.fails(&[
            "pin",
            "rm",
            "QmfM2r8seH2GiRaC4esTjeraXEachRt8ZsSeGaWTPLyMoG"
        ])
        .contains("indirectly")
    );
    node.ok(&["pin", "rm", &root]);
    node.ok(&["repo", "gc", "-q"]);
    assert!(
        node.ok(&["repo", "stat"]).contains("NumObjects: 0"),
        "{}",
        node.ok(&["repo", "stat"])
    );
}

#[test]
fn verify_names_a_corrupt_block() {
    let node = Node::new();
    let out = node.run_stdin(&["add", "-Q"], b"Hello World!\n");
    assert!(out.status.success());
    // blocks/<4 hex>/<2>/<2>/<rest>: corrupt the one block.
    let file = walk(&node.repo().join("blocks"))
        .into_iter()
        .find(|p| p.is_file())
        .expect("a block file");
    std::fs::write(&file, b"not the bytes").expect("corrupt");
    let err = node.run(&["repo", "verify"]);
    assert!(!err.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&err.stdout),
        String::from_utf8_lossy(&err.stderr)
    );
    let hex = file
        .strip_prefix(node.repo().join("blocks"))
        .expect("under blocks")
        .to_string_lossy()
        .replace('/', "");
    assert!(
        text.contains(&hex) || text.contains("Qm") || text.contains("baf"),
        "{text}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn dag_put_get_with_dag_cbor_links() {
    let node = Node::new();
    let leaf = node.run_stdin(&["add", "-Q", "--pin=false"], b"Hello World!\n");
    let leaf = String::from_utf8_lossy(&leaf.stdout).trim().to_string();
    let doc = format!(r#"{{"hello":"world","file":{{"/":"{leaf}"}},"n":[1,-2]}}"#);
    let out = node.run_stdin(&["dag", "put", "--pin=true"], doc.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(cid.starts_with("bafyrei"), "dag-cbor CIDv1: {cid}");
    let block = node.ok_bytes(&["block", "get", &cid]);
    // Canonical DAG-CBOR: keys by length then bytes ("n", "file", "hello").
    assert_eq!(&block[..4], &[0xa3, 0x61, b'n', 0x82]);
    let back: serde_json::Value =
        serde_json::from_str(&node.ok(&["dag", "get", &cid])).expect("json");
    let sent: serde_json::Value = serde_json::from_str(&doc).expect("json");
    assert_eq!(back, sent);
    assert_eq!(
        node.ok(&["refs", &cid]).trim(),
        leaf,
        "links inside dag-cbor are followed"
    );
    node.ok(&["repo", "gc"]);
    assert_eq!(
        node.ok(&["cat", &leaf]),
        "Hello World!\n",
        "gc keeps what a pinned dag-cbor node links to"
    );
    assert!(
        !node
            .run_stdin(&["dag", "put"], b"{not json")
            .status
            .success()
    );
}

#[test]
fn dag_get_walks_paths_through_dag_cbor_and_unixfs() {
    let node = Node::new();
    let dir = node.work().join("d");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/note.txt"), "deep\n").unwrap();
    let dir_cid = node.ok(&["add", "-Q", "-r", "d"]).trim().to_string();
    let note = node.ok(&["add", "-Q", "d/sub/note.txt"]).trim().to_string();
    let put = |doc: String| {
        let out = node.run_stdin(&["dag", "put"], doc.as_bytes());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let inner = put(format!(
        r#"{{"name":"inner","list":[10,{{"deep":true}},{{"/":"{dir_cid}"}}]}}"#
    ));
    let outer = put(format!(r#"{{"inner":{{"/":"{inner}"}},"n":-3}}"#));
    let get = |path: &str| -> serde_json::Value {
        serde_json::from_str(&node.ok(&["dag", "get", path])).expect("json")
    };
    assert_eq!(get(&format!("{outer}/n")), serde_json::json!(-3));
    // A path that ends on a link gives the linked node.
    assert_eq!(get(&format!("{outer}/inner")), get(&inner));
    assert_eq!(
        get(&format!("{outer}/inner/name")),
        serde_json::json!("inner")
    );
    assert_eq!(
        get(&format!("/ipfs/{outer}/inner/list/0")),
        serde_json::json!(10)
    );
    assert_eq!(
        get(&format!("{outer}/inner/list/1/deep")),
        serde_json::json!(true)
    );
    // On into dag-pb, by UnixFS names.
    assert_eq!(get(&format!("{outer}/inner/list/2")), get(&dir_cid));
    assert_eq!(
        get(&format!("{outer}/inner/list/2/sub/note.txt")),
        get(&note)
    );
    for missing in [
        format!("{outer}/nope"),
        format!("{outer}/inner/list/3"),
        format!("{outer}/inner/list/x"),
        format!("{outer}/n/more"),
        format!("{outer}/inner/list/2/sub/absent"),
    ] {
        let err = node.fails(&["dag", "get", &missing]);
        assert!(
            err.contains("no field") || err.contains("no link named"),
            "{missing}: {err}"
        );
    }
}

#[test]
fn object_and_block_commands() {
    let node = Node::new();
    let out = node.run_stdin(&["add", "-Q", "--chunker", "size-4"], b"0123456789");
    let root = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // Three leaves of 4, 4 and 2 bytes under one internal node.
    let links = node.ok(&["object", "links", &root]);
    assert_eq!(links.lines().count(), 3, "{links}");
    // A 4-byte leaf is `0a 0a 08 02 12 04 <4 bytes> 18 04`: 12 bytes; the 2-byte one 10.
    let sizes: Vec<&str> = links
        .lines()
        .map(|l| l.split(' ').nth(1).expect("size"))
        .collect();
    assert_eq!(sizes, ["12", "12", "10"], "{links}");
    let stat = node.ok(&["object", "stat", &root]);
    assert!(stat.starts_with("NumLinks:       3\n"), "{stat}");
    let get: serde_json::Value =
        serde_json::from_str(&node.ok(&["object", "get", &root])).expect("json");
    assert_eq!(get["Links"].as_array().expect("links").len(), 3);
    let data = node.ok_bytes(&["object", "data", &root]);
    assert_eq!(data[..2], [0x08, 0x02], "UnixFS File");

    let put = node.run_stdin(&["block", "put"], b"raw bytes");
    let cid = String::from_utf8_lossy(&put.stdout).trim().to_string();
    assert!(cid.starts_with("bafkrei"), "{cid}");
    assert_eq!(node.ok_bytes(&["block", "get", &cid]), b"raw bytes");
    assert_eq!(
        node.ok(&["block", "stat", &cid]),
        format!("Key: {cid}\nSize: 9\n")
    );
    let bad = node.run_stdin(
        &["block", "put", "--cid-codec", "dag-pb"],
        b"\xff\xffnot protobuf",
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("DAG-PB"));
    node.ok(&["block", "rm", &cid]);
    assert!(node.fails(&["block", "get", &cid]).contains("not found"));
    assert!(
        node.fails(&[
            "object",
            "stat",
            "bafkreie7q3iidccmpvszul7kudcvvuavuo7u6gzlbobczuk5nqk3b4akba"
        ])
        .contains("dag-pb")
    );
}
