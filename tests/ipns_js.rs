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
    for key in ["self", "other"] {
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
