//! The official JavaScript client, kubo-rpc-client, against a running
//! daemon: add, cat, ls, files write/read/stat and pin ls
//! (tests/js/rpc-client.mjs; `.ci/run` installs it with npm). Browsers are
//! refused unless their origin is configured.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Node, start_daemon};

/// The CID `add` gives `bytes` (computed without the repository).
fn cid_of(node: &Node, bytes: &[u8]) -> String {
    let out = node.run_stdin(&["add", "-n", "-Q"], bytes);
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Runs `tests/js/<script>` with node against the daemon's API; returns
/// the JSON it prints.
fn run_script(node: &Node, script: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/js")
        .join(script);
    let out = Command::new("node")
        .arg(&path)
        .arg(node.api_url())
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from the script")
}

#[test]
fn kubo_rpc_client_adds_reads_lists_and_pins() {
    if !common::js_package_available("kubo-rpc-client") {
        return;
    }
    let node = Node::new();
    let _daemon = start_daemon(&node);
    let got = run_script(&node, "rpc-client.mjs");

    let hello = b"hello from kubo-rpc-client\n";
    assert_eq!(got["single"]["cid"], cid_of(&node, hello));
    assert_eq!(got["single"]["path"], "hello.txt");
    assert_eq!(got["cat"], std::str::from_utf8(hello).unwrap());
    let big = vec![7u8; 3 * 262144 + 5];
    assert_eq!(got["big"]["cid"], cid_of(&node, &big));
    let progress = got["progress"].as_array().expect("progress");
    assert!(progress.len() >= 2, "progress while adding: {progress:?}");
    let last = progress.last().unwrap();
    assert_eq!(last["bytes"], big.len());
    assert_eq!(last["path"], "big.bin");

    // The same tree on disk, added offline without storing, gives the root.
    let dir = node.work().join("dir");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::write(dir.join("a.txt"), "first file\n").unwrap();
    std::fs::write(dir.join("sub/b.txt"), "second file\n").unwrap();
    let expected_root = node
        .ok(&["add", "-n", "-Q", "-r", "dir"])
        .trim()
        .to_string();
    let tree = got["tree"].as_array().expect("tree");
    let root = tree.last().expect("root");
    assert_eq!(root["path"], "dir");
    assert_eq!(root["cid"], expected_root.as_str());
    let paths: Vec<&str> = tree.iter().map(|e| e["path"].as_str().unwrap()).collect();
    for path in ["dir/a.txt", "dir/sub/b.txt", "dir/sub", "dir/empty", "dir"] {
        assert!(paths.contains(&path), "{path} missing from {paths:?}");
    }

    let listing = got["listing"].as_array().expect("listing");
    let names: Vec<(&str, &str)> = listing
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["type"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("a.txt", "file"), ("empty", "dir"), ("sub", "dir")]);
    assert_eq!(listing[0]["size"], 11);

    let todo = b"write through the API\n";
    assert_eq!(got["read"], std::str::from_utf8(todo).unwrap());
    assert_eq!(got["stat"]["cid"], cid_of(&node, todo));
    assert_eq!(got["stat"]["size"], todo.len());
    assert_eq!(got["stat"]["type"], "file");
    // The CLI sees what the client wrote, through the same daemon.
    assert_eq!(
        node.ok(&["files", "read", "/notes/todo.txt"]).as_bytes(),
        todo
    );

    let pins: Vec<&str> = got["pins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["cid"].as_str().unwrap())
        .collect();
    assert!(pins.contains(&expected_root.as_str()), "{pins:?}");
    assert!(pins.contains(&got["single"]["cid"].as_str().unwrap()));
}

#[test]
fn kubo_rpc_client_makes_lists_renames_and_removes_keys_and_publishes_names() {
    if !common::js_package_available("kubo-rpc-client") {
        return;
    }
    let node = Node::new();
    let daemon = start_daemon(&node);
    let got = run_script(&node, "rpc-keys.mjs");
    let ed = got["ed"]["id"].as_str().expect("ed id");
    let rsa = got["rsa"]["id"].as_str().expect("rsa id");
    assert_eq!(got["ed"]["name"], "js-ed");
    assert!(ed.starts_with("k51"), "{ed}");
    assert!(rsa.starts_with("k2k4r8"), "{rsa}");
    let listed: Vec<(&str, &str)> = got["listed"]
        .as_array()
        .expect("list")
        .iter()
        .map(|k| (k["name"].as_str().unwrap(), k["id"].as_str().unwrap()))
        .collect();
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(listed[0].0, "self");
    assert_eq!(&listed[1..], [("js-ed", ed), ("js-rsa", rsa)]);
    assert_eq!(got["renamed"]["was"], "js-ed");
    assert_eq!(got["renamed"]["now"], "js-ed2");
    assert_eq!(got["renamed"]["id"], ed);
    assert_eq!(got["renamed"]["overwrite"], false);
    assert_eq!(got["removed"]["name"], "js-ed2");
    assert_eq!(got["removed"]["id"], ed);
    for (refused, why) in [
        ("self", "cannot create key with name 'self'"),
        ("escape", "not allowed"),
        ("nul", "not allowed"),
        ("small", ">= 2048 bits"),
    ] {
        let message = got[refused]
            .as_str()
            .unwrap_or_else(|| panic!("{refused} was accepted"));
        assert!(message.contains(why), "{refused}: {message}");
    }
    assert_eq!(got["after"].as_array().unwrap().len(), 2);
    // The CLI, through the same daemon, sees the same keystore.
    assert_eq!(
        node.ok(&["key", "list", "-l"]),
        format!(
            "{} self\n{rsa} js-rsa\n",
            got["after"][0]["id"].as_str().unwrap()
        )
    );
    let published = format!("/ipfs/{}", got["cid"].as_str().expect("cid"));
    assert_eq!(got["published"]["name"], rsa);
    assert_eq!(got["published"]["value"], published.as_str());
    assert_eq!(got["resolved"], serde_json::json!([published]));
    assert_eq!(node.ok(&["name", "resolve", rsa]).trim(), published);
    daemon.assert_alive();
}

fn post(url: &str, origin: Option<&str>) -> (u16, String, Option<String>) {
    let mut request = ureq::post(url).config().http_status_as_error(false).build();
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    let mut response = request.send_empty().expect("request");
    let allowed = response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string());
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap(),
        allowed,
    )
}

#[test]
fn web_pages_are_refused_unless_their_origin_is_configured() {
    let node = Node::new();
    node.ok(&[
        "config",
        "--json",
        "API.HTTPHeaders",
        r#"{"Access-Control-Allow-Origin": ["http://webui.test"]}"#,
    ]);
    let _daemon = start_daemon(&node);
    let version = format!("{}/api/v0/version", node.api_url());

    let (status, body, _) = post(&version, None);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"Version\""), "{body}");

    let (status, body, allowed) = post(&version, Some("http://evil.test"));
    assert_eq!(status, 403);
    let error: serde_json::Value = serde_json::from_str(&body).expect("Kubo-style JSON error");
    assert_eq!(error["Type"], "error");
    assert!(allowed.is_none());

    let (status, _, allowed) = post(&version, Some("http://webui.test"));
    assert_eq!(status, 200);
    assert_eq!(allowed.as_deref(), Some("http://webui.test"));

    let preflight = ureq::options(&version)
        .config()
        .http_status_as_error(false)
        .build()
        .header("Origin", "http://webui.test")
        .header("Access-Control-Request-Method", "POST")
        .call()
        .expect("preflight");
    assert_eq!(preflight.status().as_u16(), 200);

    let get = ureq::get(&version)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .expect("GET");
    assert_eq!(get.status().as_u16(), 405, "POST only, as Kubo");
}
