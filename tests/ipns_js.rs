//! IPNS records between rsipfs and js-ipns (npm `ipns`, tests/js/
//! ipns-interop.mjs; `.ci/run` installs it): records js-ipns makes validate
//! here and resolve after `name put`; records rsipfs publishes validate in
//! js-ipns; a damaged one is refused by both.

mod common;

use std::path::Path;
use std::process::Command;

use common::Node;

fn js(args: &[&str]) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/ipns-interop.mjs");
    let out = Command::new("node")
        .arg(&script)
        .args(args)
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "ipns-interop.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from the script")
}

#[test]
fn records_js_ipns_makes_validate_and_resolve_here() {
    if !common::js_package_available("ipns") {
        return;
    }
    let node = Node::new();
    let made = js(&["create", node.work().to_str().unwrap(), "2"]);
    let made = made.as_array().expect("a list");
    assert_eq!(made.len(), 12);
    for record in made {
        let (name, file) = (
            record["name"].as_str().unwrap(),
            record["file"].as_str().unwrap(),
        );
        let inspected = node.ok(&["name", "inspect", "--verify", name, file]);
        assert!(inspected.contains(" Valid: true"), "{file}: {inspected}");
        let value = record["value"].as_str().unwrap();
        assert!(inspected.contains(&format!("{value:?}")), "{inspected}");
    }
    // Put in order of sequence: each replaces the one before.
    for record in made {
        let (name, file) = (
            record["name"].as_str().unwrap(),
            record["file"].as_str().unwrap(),
        );
        if !file.ends_with("_v1.rec") {
            continue;
        }
        node.ok(&["name", "put", name, file]);
        let resolved = node.ok(&["name", "resolve", "--recursive=false", name]);
        assert_eq!(resolved.trim(), record["value"].as_str().unwrap());
    }
}

#[test]
fn records_rsipfs_publishes_validate_in_js_ipns() {
    if !common::js_package_available("ipns") {
        return;
    }
    let node = Node::new();
    let cid = String::from_utf8(node.run_stdin(&["add", "-Q"], b"for js-ipns\n").stdout)
        .unwrap()
        .trim()
        .to_string();
    node.ok(&["key", "gen", "other"]);
    node.ok(&["key", "gen", "--type", "rsa", "rsa"]);
    for key in ["self", "other", "rsa"] {
        for sequence in 0..3 {
            let path = format!("/ipfs/{cid}/{sequence}");
            let name = node.ok(&[
                "name",
                "publish",
                "--allow-offline",
                "--resolve=false",
                "-Q",
                "--key",
                key,
                &path,
            ]);
            let name = name.trim();
            let file = node.work().join(format!("{key}-{sequence}.rec"));
            std::fs::write(&file, node.ok_bytes(&["name", "get", name])).unwrap();
            let judged = js(&["validate", name, file.to_str().unwrap()]);
            assert_eq!(judged["valid"], true, "{key} {sequence}: {judged}");
            assert_eq!(judged["value"], path);
            assert_eq!(judged["sequence"], sequence);

            let mut damaged = std::fs::read(&file).unwrap();
            let at = damaged.len() - 10;
            damaged[at] ^= 0x01;
            std::fs::write(&file, damaged).unwrap();
            let judged = js(&["validate", name, file.to_str().unwrap()]);
            assert_eq!(judged["valid"], false, "damaged: {judged}");
            let here = node.run(&["name", "inspect", "--verify", name, file.to_str().unwrap()]);
            assert!(!String::from_utf8_lossy(&here.stdout).contains(" Valid: true"));
        }
    }
}

#[test]
fn rsa_records_js_ipns_makes_validate_and_resolve_here() {
    if !common::js_package_available("ipns") {
        return;
    }
    let node = Node::new();
    let made = js(&["create", node.work().to_str().unwrap(), "1", "RSA"]);
    let made = made.as_array().expect("a list");
    assert_eq!(made.len(), 6);
    for record in made {
        let (name, file) = (
            record["name"].as_str().unwrap(),
            record["file"].as_str().unwrap(),
        );
        assert!(name.starts_with("k2k4r8"), "{name}");
        let inspected = node.ok(&["name", "inspect", "--verify", name, file]);
        assert!(inspected.contains(" Valid: true"), "{file}: {inspected}");
        if file.ends_with("_v2.rec") {
            node.ok(&["name", "put", name, file]);
            let resolved = node.ok(&["name", "resolve", "--recursive=false", name]);
            assert_eq!(resolved.trim(), record["value"].as_str().unwrap());
        }
    }
}

/// Key files move between rsipfs and @libp2p/crypto (which writes them as
/// go-libp2p does): the same key gives the same name on both sides.
#[test]
fn key_files_move_between_rsipfs_and_js_libp2p() {
    if !common::js_package_available("ipns") {
        return;
    }
    let node = Node::new();
    for kind in ["Ed25519", "RSA"] {
        let from_js = node.work().join(format!("js-{kind}.key"));
        let made = js(&["key-make", from_js.to_str().unwrap(), kind]);
        let imported = node.ok(&[
            "key",
            "import",
            &format!("js-{kind}"),
            from_js.to_str().unwrap(),
        ]);
        assert_eq!(imported.trim(), made["name"].as_str().unwrap(), "{kind}");

        let ours = format!("ours-{kind}");
        let id = node
            .ok(&["key", "gen", "--type", &kind.to_lowercase(), &ours])
            .trim()
            .to_string();
        let exported = node.work().join(format!("{ours}.key"));
        node.ok(&["key", "export", &ours, "-o", exported.to_str().unwrap()]);
        let read = js(&["key-read", exported.to_str().unwrap()]);
        assert_eq!(read["name"], id.as_str(), "{kind}");
        assert_eq!(read["type"], kind);
    }
}
