//! `rsipfs name publish|resolve|get|put` on one node and between nodes
//! (records carried by hand here; tests/net/ipns_dht.sh carries them over
//! the DHT).

mod common;

use common::{Node, start_daemon};

fn add(node: &Node, text: &str) -> String {
    String::from_utf8(node.run_stdin(&["add", "-Q"], text.as_bytes()).stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

#[test]
fn a_name_is_published_resolved_and_moves_to_another_node() {
    let node = Node::new();
    let first = add(&node, "first version\n");
    let stderr = node.fails(&["name", "publish", &first]);
    assert!(stderr.contains("--allow-offline"), "{stderr}");

    let published = node.ok(&["name", "publish", "--allow-offline", &first]);
    let (_, rest) = published
        .split_once("Published to ")
        .expect("Kubo's wording");
    let (self_name, value) = rest.trim().split_once(": ").expect("name: value");
    assert!(self_name.starts_with("k51"), "{self_name}");
    assert_eq!(value, format!("/ipfs/{first}"));
    assert_eq!(node.ok(&["name", "resolve"]).trim(), value);
    assert_eq!(node.ok(&["name", "resolve", self_name]).trim(), value);
    assert_eq!(
        node.ok(&["name", "resolve", &format!("/ipns/{self_name}")])
            .trim(),
        value
    );

    // A new value raises the sequence; the record validates for the name.
    let second = add(&node, "second version\n");
    node.ok(&[
        "name",
        "publish",
        "--allow-offline",
        "--ttl",
        "30m",
        &second,
    ]);
    let record = node.ok_bytes(&["name", "get", self_name]);
    let file = node.work().join("record");
    std::fs::write(&file, &record).unwrap();
    let inspected = node.ok(&[
        "name",
        "inspect",
        "--verify",
        self_name,
        file.to_str().unwrap(),
    ]);
    assert!(inspected.contains("Sequence:       1"), "{inspected}");
    assert!(inspected.contains("TTL:            30m0s"), "{inspected}");
    assert!(inspected.contains(" Valid: true"), "{inspected}");

    // A key's name pointing at the node's name: resolved through both.
    let site = node.ok(&["key", "gen", "site"]).trim().to_string();
    let via = format!("/ipns/{self_name}");
    let out = node.ok(&[
        "name",
        "publish",
        "--allow-offline",
        "--key",
        "site",
        "-Q",
        &via,
    ]);
    assert_eq!(out.trim(), site);
    assert_eq!(
        node.ok(&["name", "resolve", &site]).trim(),
        format!("/ipfs/{second}")
    );
    assert_eq!(
        node.ok(&["name", "resolve", "--recursive=false", &site])
            .trim(),
        via
    );
    let stderr = node.fails(&[
        "name",
        "publish",
        "--allow-offline",
        "--sequence",
        "0",
        &first,
    ]);
    assert!(stderr.contains("not above"), "{stderr}");

    // /ipns/ paths work wherever a path is taken.
    assert_eq!(
        node.ok(&["cat", &format!("/ipns/{site}")]),
        "second version\n"
    );
    assert_eq!(node.ok(&["refs", &format!("/ipns/{self_name}")]), "");
    node.ok(&["pin", "add", &format!("/ipns/{site}")]);
    let out = node.work().join("fetched");
    node.ok(&["get", &format!("/ipns/{site}"), "-o", out.to_str().unwrap()]);
    assert_eq!(std::fs::read(&out).unwrap(), b"second version\n");
    let stderr = node.fails(&[
        "cat",
        "/ipns/k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w",
    ]);
    assert!(stderr.contains("could not resolve"), "{stderr}");

    // Carried to another node by hand: checked, kept, resolved.
    let other = Node::new();
    assert!(
        other
            .fails(&["name", "resolve", self_name])
            .contains("could not resolve")
    );
    let stored = other.ok(&["name", "put", self_name, file.to_str().unwrap()]);
    assert!(stored.contains(&format!("/ipfs/{second}")), "{stored}");
    assert_eq!(
        other.ok(&["name", "resolve", self_name]).trim(),
        format!("/ipfs/{second}")
    );
    // Not for another name, not older, not damaged.
    assert!(
        other
            .fails(&["name", "put", &site, file.to_str().unwrap()])
            .contains("refusing")
    );
    let older = node.work().join("older");
    node.ok(&["name", "publish", "--allow-offline", &first]);
    std::fs::write(&older, node.ok_bytes(&["name", "get", self_name])).unwrap();
    let newer_there = other.ok(&["name", "put", self_name, older.to_str().unwrap()]);
    assert!(
        newer_there.contains(&first),
        "sequence 2 replaces 1: {newer_there}"
    );
    let stderr = other.fails(&["name", "put", self_name, file.to_str().unwrap()]);
    assert!(stderr.contains("not newer"), "{stderr}");
    let mut damaged = std::fs::read(&older).unwrap();
    let at = damaged.len() / 2;
    damaged[at] ^= 1;
    std::fs::write(&older, damaged).unwrap();
    assert!(
        other
            .fails(&["name", "put", self_name, older.to_str().unwrap()])
            .contains("refusing")
    );
}

#[test]
fn publish_and_resolve_go_through_a_running_daemon() {
    let node = Node::new();
    let cid = add(&node, "served by the daemon\n");
    let _daemon = start_daemon(&node);
    let published = node.ok(&["name", "publish", "--allow-offline", "-Q", &cid]);
    let name = published.trim();
    assert_eq!(
        node.ok(&["name", "resolve", name]).trim(),
        format!("/ipfs/{cid}")
    );
    assert!(!node.ok_bytes(&["name", "get", name]).is_empty());
    assert_eq!(
        node.ok(&["cat", &format!("/ipns/{name}")]),
        "served by the daemon\n"
    );
    let dir = node.work().join("got");
    node.ok(&["get", &format!("/ipns/{name}"), "-o", dir.to_str().unwrap()]);
    assert_eq!(std::fs::read(&dir).unwrap(), b"served by the daemon\n");
    let missing = "k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w";
    assert!(
        node.fails(&["name", "resolve", missing])
            .contains("could not resolve")
    );
    let stderr = node.fails(&["name", "publish", "--allow-offline", "not-a-cid"]);
    assert!(stderr.contains("not-a-cid"), "{stderr}");
}

/// `name put` with records that must not be kept, on its own and through a
/// daemon's API: each refusal names what is wrong, and nothing is stored.
#[test]
fn bad_records_are_refused_with_the_reason_and_never_stored() {
    let maker = Node::new();
    let cid = add(&maker, "the good one\n");
    let name = maker
        .ok(&["name", "publish", "--allow-offline", "-Q", &cid])
        .trim()
        .to_string();
    let good = maker.ok_bytes(&["name", "get", &name]);
    let other_name = maker.ok(&["key", "gen", "other"]).trim().to_string();

    let mut flipped_signature = good.clone();
    // The V2 signature is the protobuf's field 8: its last byte is inside it
    // or the data after; flip a byte of the signature itself.
    let at = find(&good, &signature_v2(&good)) + 10;
    flipped_signature[at] ^= 0x01;
    let mut oversized = good.clone();
    // An unknown field (tag 15, bytes) of 12 KiB: still a protobuf.
    oversized.extend([0x7a, 0x80, 0x60]);
    oversized.extend(std::iter::repeat_n(0u8, 12 * 1024));
    let cases: [(&str, Vec<u8>, &str, &str); 5] = [
        ("empty", Vec::new(), &name, "the record is empty"),
        (
            "garbage",
            b"\xff\xff\xff not a record".to_vec(),
            &name,
            "not an IpnsEntry protobuf",
        ),
        ("oversized", oversized, &name, "more than the 10240 allowed"),
        (
            "wrongly signed",
            flipped_signature,
            &name,
            "signature does not verify",
        ),
        (
            "another name's",
            good.clone(),
            &other_name,
            "signature does not verify",
        ),
    ];
    for through_daemon in [false, true] {
        let node = Node::new();
        let daemon = through_daemon.then(|| start_daemon(&node));
        for (what, bytes, target, why) in &cases {
            let file = node.work().join(what.replace(' ', "-"));
            std::fs::write(&file, bytes).unwrap();
            let stderr = node.fails(&["name", "put", target, file.to_str().unwrap()]);
            assert!(
                stderr.contains(why),
                "{what} (daemon: {through_daemon}): {stderr}"
            );
            assert!(
                node.fails(&["name", "get", target]).contains("no record"),
                "{what} was stored"
            );
        }
        // The good one is kept, and again (a republish) is fine.
        let file = node.work().join("good");
        std::fs::write(&file, &good).unwrap();
        node.ok(&["name", "put", &name, file.to_str().unwrap()]);
        node.ok(&["name", "put", &name, file.to_str().unwrap()]);
        assert_eq!(node.ok_bytes(&["name", "get", &name]), good);
        if let Some(daemon) = daemon {
            daemon.assert_alive();
        }
    }
}

/// The V2 signature's bytes: field 8 (tag 0x42), length-prefixed.
fn signature_v2(record: &[u8]) -> Vec<u8> {
    let mut at = 0;
    while at < record.len() {
        let tag = record[at];
        at += 1;
        match tag & 0x07 {
            0 => {
                while record[at] & 0x80 != 0 {
                    at += 1;
                }
                at += 1;
            }
            2 => {
                let (mut len, mut shift) = (0usize, 0);
                loop {
                    let b = record[at];
                    at += 1;
                    len |= ((b & 0x7f) as usize) << shift;
                    shift += 7;
                    if b & 0x80 == 0 {
                        break;
                    }
                }
                if tag == 0x42 {
                    return record[at..at + len].to_vec();
                }
                at += len;
            }
            other => panic!("unexpected wire type {other}"),
        }
    }
    panic!("no V2 signature")
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("found")
}

#[test]
fn name_inspect_and_put_answer_in_kubos_shape_over_the_api() {
    let node = Node::new();
    let cid = add(&node, "inspected\n");
    let name = node
        .ok(&["name", "publish", "--allow-offline", "-Q", &cid])
        .trim()
        .to_string();
    let record = node.ok_bytes(&["name", "get", &name]);
    let _daemon = start_daemon(&node);
    let multipart = |command: &str, body: &[u8]| {
        let boundary = "b0undary";
        let mut data = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r\"\r\n\r\n"
        )
        .into_bytes();
        data.extend(body);
        data.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
        let mut response = ureq::post(&format!("{}/api/v0/{command}", node.api_url()))
            .config()
            .http_status_as_error(false)
            .build()
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .send(&data[..])
            .expect("request");
        let status = response.status().as_u16();
        let body: serde_json::Value =
            serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        (status, body)
    };
    let (status, inspected) = multipart(&format!("name/inspect?verify={name}"), &record);
    assert_eq!(status, 200, "{inspected}");
    assert_eq!(inspected["Entry"]["Value"], format!("/ipfs/{cid}"));
    assert_eq!(inspected["Entry"]["Sequence"], 0);
    assert_eq!(inspected["Entry"]["TTL"], 300_000_000_000u64);
    assert_eq!(inspected["SignatureType"], "V1+V2");
    assert_eq!(inspected["PbSize"], record.len());
    assert!(
        inspected["HexDump"]
            .as_str()
            .unwrap()
            .starts_with("00000000  ")
    );
    assert_eq!(inspected["Validation"]["Valid"], true);
    assert_eq!(inspected["Validation"]["Name"], name.as_str());

    let (status, put) = multipart(&format!("name/put?arg={name}"), &record);
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["Name"], name.as_str());
    assert_eq!(put["Value"], format!("/ipfs/{cid}"));
    let (status, refused) = multipart(&format!("name/put?arg={name}"), b"junk");
    assert_eq!(status, 400);
    assert_eq!(refused["Type"], "error");
    assert!(
        refused["Message"]
            .as_str()
            .unwrap()
            .contains("refusing the record"),
        "{refused}"
    );
}

#[test]
fn publish_refuses_lifetimes_and_ttls_kubo_refuses() {
    let node = Node::new();
    let cid = add(&node, "bounded\n");
    let publish = |extra: &[&str]| {
        let mut args = vec!["name", "publish", "--allow-offline"];
        args.extend_from_slice(extra);
        args.push(&cid);
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| node.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(run(publish(&["--lifetime", "0s"])).contains("--lifetime must be positive"));
    let stderr = run(publish(&["--lifetime", "1m", "--ttl", "2m"]));
    assert!(
        stderr.contains("must not be longer than --lifetime"),
        "{stderr}"
    );
    // Without --ttl, the default (5m) is capped to the lifetime.
    let args = publish(&["--lifetime", "1m", "-Q"]);
    let name = node.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let record = node.work().join("bounded.rec");
    std::fs::write(&record, node.ok_bytes(&["name", "get", name.trim()])).unwrap();
    let inspected = node.ok(&["name", "inspect", record.to_str().unwrap()]);
    assert!(inspected.contains("TTL:            1m0s"), "{inspected}");
}

#[test]
fn routing_put_stores_a_checked_record_offline_only_when_allowed_and_through_the_daemon() {
    let publisher = Node::new();
    let first = add(&publisher, "routing put\n");
    let published = publisher.ok(&["name", "publish", "--allow-offline", &first]);
    let name = published
        .split_once("Published to ")
        .and_then(|(_, rest)| rest.split_once(':'))
        .map(|(name, _)| name.trim().to_string())
        .expect("a name");
    let record = publisher.ok_bytes(&["name", "get", &name]);

    let keeper = Node::new();
    let file = keeper.work().join("record");
    std::fs::write(&file, &record).unwrap();
    let key = format!("/ipns/{name}");
    let file = file.to_str().unwrap();

    let refused = keeper.fails(&["routing", "put", &key, file]);
    assert!(refused.contains("--allow-offline"), "{refused}");
    keeper.fails(&["name", "resolve", &name]);
    let not_ipns = keeper.fails(&["routing", "put", "/pk/abc", file, "--allow-offline"]);
    assert!(not_ipns.contains("only /ipns/"), "{not_ipns}");
    let mut damaged = record.clone();
    let at = damaged.len() - 5;
    damaged[at] ^= 0xff;
    let damaged_file = keeper.work().join("damaged");
    std::fs::write(&damaged_file, &damaged).unwrap();
    keeper.fails(&[
        "routing",
        "put",
        &key,
        damaged_file.to_str().unwrap(),
        "--allow-offline",
    ]);

    let id: serde_json::Value = serde_json::from_str(&keeper.ok(&["id"])).expect("id JSON");
    let own_id = id["ID"].as_str().expect("ID").to_string();
    let printed = keeper.ok(&["routing", "put", "--allow-offline", &key, file]);
    assert_eq!(printed.trim(), own_id.trim());
    assert_eq!(
        keeper.ok(&["name", "resolve", &name]).trim(),
        format!("/ipfs/{first}")
    );

    // Through a daemon (offline: it says so, and --allow-offline stores).
    let daemon = start_daemon(&keeper);
    let refused = keeper.fails(&["routing", "put", &key, file]);
    assert!(refused.contains("--allow-offline"), "{refused}");
    let printed = keeper.ok(&["routing", "put", "--allow-offline", &key, file]);
    assert_eq!(printed.trim(), own_id.trim());
    daemon.assert_alive();
}
