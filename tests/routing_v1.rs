//! The delegated routing API on the gateway (`/routing/v1`): plain HTTP
//! for shapes and errors on an offline gateway, and Helia's own client
//! (npm `@helia/delegated-routing-v1-http-api-client`, tests/js/
//! delegated-routing.mjs) against a node whose DHT finds what another node
//! provides, in a loopback network namespace. The same two nodes check that
//! a bitswap fetch moves the metrics of both.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Node;
use common::gateway::{get, header, start_gateway};
use common::prometheus::{scrape, value};
use serde_json::Value;

fn body(response: common::gateway::Response) -> String {
    response.into_body().read_to_string().expect("body")
}

fn put(url: &str, content_type: &str, bytes: &[u8]) -> common::gateway::Response {
    ureq::put(url)
        .config()
        .http_status_as_error(false)
        .build()
        .header("Content-Type", content_type)
        .send(bytes)
        .expect("PUT")
}

const RECORD: &str = "application/vnd.ipfs.ipns-record";

#[test]
fn bad_cids_peers_and_names_are_400_and_offline_answers_are_empty() {
    let node = Node::new();
    let (_gateway, base, _repo) = start_gateway(&node);
    for path in [
        "providers/not-a-cid",
        "peers/not-a-peer",
        // A CID, but not of a key.
        "peers/bafkqaaa",
        "ipns/not-a-name",
    ] {
        let answer = get(&format!("{base}/routing/v1/{path}"), &[("Accept", RECORD)]);
        assert_eq!(answer.status(), 400, "{path}");
        assert!(body(answer).contains("invalid"), "{path}");
    }
    let cid = "bafkqaaa";
    let answer = get(&format!("{base}/routing/v1/providers/{cid}"), &[]);
    assert_eq!(answer.status(), 200);
    assert_eq!(header(&answer, "content-type"), "application/json");
    assert!(header(&answer, "cache-control").contains("max-age=15"));
    assert_eq!(header(&answer, "vary"), "Accept");
    let json: Value = serde_json::from_str(&body(answer)).unwrap();
    assert_eq!(json, serde_json::json!({"Providers": []}));

    let streamed = get(
        &format!("{base}/routing/v1/providers/{cid}"),
        &[("Accept", "application/x-ndjson")],
    );
    assert_eq!(streamed.status(), 200);
    assert_eq!(header(&streamed, "content-type"), "application/x-ndjson");
    assert_eq!(body(streamed), "");

    let html = get(
        &format!("{base}/routing/v1/providers/{cid}"),
        &[("Accept", "text/html")],
    );
    assert_eq!(html.status(), 400);

    let peer = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
    let answer = get(&format!("{base}/routing/v1/peers/{peer}"), &[]);
    assert_eq!(answer.status(), 200);
    assert_eq!(body(answer), r#"{"Peers":[]}"#);

    let name = "k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8";
    let none = get(
        &format!("{base}/routing/v1/ipns/{name}"),
        &[("Accept", RECORD)],
    );
    assert_eq!(none.status(), 404);
    let no_accept = get(&format!("{base}/routing/v1/ipns/{name}"), &[]);
    assert_eq!(no_accept.status(), 406);
    let garbage = put(
        &format!("{base}/routing/v1/ipns/{name}"),
        RECORD,
        b"garbage",
    );
    assert_eq!(garbage.status(), 400);
    let untyped = put(
        &format!("{base}/routing/v1/ipns/{name}"),
        "application/octet-stream",
        b"garbage",
    );
    assert_eq!(untyped.status(), 400);
}

#[test]
fn a_record_put_is_validated_kept_and_served() {
    // The record comes from another node, as `name get` gives it.
    let publisher = Node::new();
    let cid = publisher
        .run_stdin(&["add", "-Q"], b"named content\n")
        .stdout;
    let cid = String::from_utf8(cid).unwrap().trim().to_string();
    let published = publisher.ok(&["name", "publish", "--allow-offline", &cid]);
    let name = published
        .strip_prefix("Published to ")
        .and_then(|rest| rest.split(':').next())
        .expect("name")
        .to_string();
    let record = publisher.ok_bytes(&["name", "get", &name]);

    let node = Node::new();
    let (_gateway, base, _repo) = start_gateway(&node);
    let url = format!("{base}/routing/v1/ipns/{name}");
    let mut damaged = record.clone();
    let at = damaged.len() - 5;
    damaged[at] ^= 0xff;
    let refused = put(&url, RECORD, &damaged);
    assert_eq!(refused.status(), 400);
    assert_eq!(get(&url, &[("Accept", RECORD)]).status(), 404);

    let kept = put(&url, RECORD, &record);
    assert_eq!(kept.status(), 200, "{}", body(kept));
    let served = get(&url, &[("Accept", RECORD)]);
    assert_eq!(served.status(), 200);
    assert_eq!(header(&served, "content-type"), RECORD);
    assert!(header(&served, "cache-control").starts_with("public, max-age="));
    assert_eq!(served.into_body().read_to_vec().unwrap(), record);
}

#[test]
fn the_routing_api_can_be_turned_off() {
    let node = Node::new();
    let repo = std::sync::Arc::new(rsipfs::repo::Repo::open(&node.repo()).unwrap());
    let sources = rsipfs::gateway::Sources {
        repo: std::sync::Arc::clone(&repo),
        store: repo.blocks_shared(),
        names: std::sync::Arc::new(rsipfs::names::NameSystem::new(None, None)),
    };
    let extras = rsipfs::gateway::Extras {
        routing_api: false,
        ..Default::default()
    };
    let gateway = rsipfs::gateway::start_with(
        "127.0.0.1:0".parse().unwrap(),
        sources,
        rsipfs::gateway::Hosts::default(),
        rsipfs::api::Limits::default(),
        extras,
    )
    .unwrap();
    let answer = get(
        &format!("http://{}/routing/v1/providers/bafkqaaa", gateway.addr),
        &[],
    );
    assert_eq!(answer.status(), 404);
}

/// Whether the test's body runs here; outside the namespace it runs the
/// test again inside a fresh one and asserts that passed.
fn inside_loopback_namespace(test: &str) -> bool {
    if common::in_loopback_namespace(test) {
        return true;
    }
    let (Some(_), Some(netns)) = (
        common::node22_with("@helia/delegated-routing-v1-http-api-client"),
        common::netns_script(),
    ) else {
        return false;
    };
    common::rerun_in_loopback_namespace(&netns, test);
    false
}

fn log(node: &Node) -> String {
    std::fs::read_to_string(node.dir.path().join("daemon.log")).unwrap_or_default()
}

/// An online daemon listening on 127.0.0.1:`port`; its peer ID.
fn online(node: &Node, port: u16) -> (common::Daemon, String) {
    let swarm = format!("[\"/ip4/127.0.0.1/tcp/{port}\"]");
    node.ok(&["config", "--json", "Addresses.Swarm", &swarm]);
    let daemon = common::start_daemon_with(node, &[]);
    let id: Value = serde_json::from_str(&node.ok(&["id"])).expect("id JSON");
    (daemon, id["ID"].as_str().expect("ID").to_string())
}

/// Scrapes `node` until `series` is at least `least`.
fn wait_for_metric(
    node: &Node,
    series: &str,
    least: f64,
) -> std::collections::HashMap<String, f64> {
    let started = Instant::now();
    loop {
        let samples = scrape(&node.api_url());
        if value(&samples, series) >= least {
            return samples;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{series} stayed below {least}: {samples:?}\n{}",
            log(node)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn helias_routing_client_finds_providers_peers_and_names_through_our_gateway() {
    let test = "helias_routing_client_finds_providers_peers_and_names_through_our_gateway";
    if !inside_loopback_namespace(test) {
        return;
    }
    let provider = Node::new();
    let content = mount_tests::pseudo_random(700_000, 3);
    let added = provider.run_stdin(&["add", "--cid-version", "1", "-Q"], &content);
    let cid = String::from_utf8(added.stdout).unwrap().trim().to_string();
    let (_provider_daemon, provider_id) = online(&provider, 4711);
    let asker = Node::new();
    let (_asker_daemon, _) = online(&asker, 4712);
    asker.ok(&[
        "swarm",
        "connect",
        &format!("/ip4/127.0.0.1/tcp/4711/p2p/{provider_id}"),
    ]);
    // Each has the other in its DHT routing table (the metrics say so).
    wait_for_metric(&asker, "rsipfs_dht_routing_table_peers", 1.0);
    wait_for_metric(&provider, "rsipfs_dht_routing_table_peers", 1.0);
    let published = provider.ok(&["name", "publish", &format!("/ipfs/{cid}")]);
    let name = published
        .strip_prefix("Published to ")
        .and_then(|rest| rest.split(':').next())
        .expect("name")
        .to_string();
    let record = provider.ok_bytes(&["name", "get", &name]);

    let gateway = std::fs::read_to_string(asker.repo().join("gateway")).expect("gateway file");
    let node22 = common::node22_with("@helia/delegated-routing-v1-http-api-client").unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/delegated-routing.mjs");
    // The name is the provider's peer ID as a libp2p-key CID.
    let out = Command::new(node22)
        .arg(script)
        .args([&gateway, &cid, &name, &name])
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "delegated-routing.mjs: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        log(&asker)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let found = |list: &Value| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"].as_str() == Some(&name) || p["id"].as_str() == Some(&provider_id))
            .cloned()
    };
    let listed = found(&answer["providers"]).unwrap_or_else(|| panic!("{answer}\n{}", log(&asker)));
    assert!(
        listed["addrs"].to_string().contains("/tcp/4711"),
        "{answer}"
    );
    assert_eq!(
        listed["protocols"],
        serde_json::json!(["transport-bitswap"])
    );
    let peer = found(&answer["peers"]).unwrap_or_else(|| panic!("{answer}"));
    assert!(peer["addrs"].to_string().contains("/tcp/4711"), "{answer}");
    let hex: String = record.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(answer["record"].as_str(), Some(hex.as_str()), "{answer}");
    assert_eq!(answer["putAgain"], "ok", "{answer}");
    assert!(
        answer["putDamaged"].as_str().unwrap().starts_with("failed"),
        "{answer}"
    );

    // JSON too, by plain HTTP.
    let plain = get(&format!("{gateway}/routing/v1/providers/{cid}"), &[]);
    assert_eq!(plain.status(), 200);
    assert!(header(&plain, "cache-control").contains("max-age=300"));
    let json: Value = serde_json::from_str(&body(plain)).unwrap();
    assert_eq!(json["Providers"][0]["Schema"], "peer");
    assert_eq!(json["Providers"][0]["ID"], provider_id.as_str());

    // A bitswap fetch moves both nodes' counters.
    let sent_before = value(
        &scrape(&provider.api_url()),
        "rsipfs_bitswap_blocks_sent_total",
    );
    let fetched = asker.ok_bytes(&["cat", &cid]);
    assert_eq!(fetched, content);
    let asked = scrape(&asker.api_url());
    assert!(
        value(&asked, "rsipfs_bitswap_blocks_received_total") >= 4.0,
        "{asked:?}"
    );
    assert!(value(&asked, "rsipfs_bitswap_received_bytes_total") >= content.len() as f64);
    wait_for_metric(
        &provider,
        "rsipfs_bitswap_blocks_sent_total",
        sent_before + 4.0,
    );
    assert!(
        value(&asked, "rsipfs_gateway_requests_total{code=\"200\"}") >= 4.0,
        "{asked:?}"
    );
    let provided = scrape(&provider.api_url());
    assert!(value(&provided, "rsipfs_bitswap_sent_bytes_total") >= content.len() as f64);
}

/// The provider in a `{"Providers"|"Peers": [...]}` answer, if listed.
fn listed(answer: &Value, key: &str, id: &str) -> Option<Value> {
    answer[key]
        .as_array()
        .expect("a list")
        .iter()
        .find(|p| p["ID"].as_str() == Some(id))
        .cloned()
}

#[test]
fn ipip_484_filters_pick_addresses_and_protocols() {
    let test = "ipip_484_filters_pick_addresses_and_protocols";
    if !common::in_loopback_namespace(test) {
        if let Some(netns) = common::netns_script() {
            common::rerun_in_loopback_namespace(&netns, test);
        }
        return;
    }
    let provider = Node::new();
    let added = provider.run_stdin(&["add", "--cid-version", "1", "-Q"], b"filtered\n");
    let cid = String::from_utf8(added.stdout).unwrap().trim().to_string();
    let (_provider_daemon, provider_id) = online(&provider, 4721);
    let asker = Node::new();
    let (_asker_daemon, _) = online(&asker, 4722);
    asker.ok(&[
        "swarm",
        "connect",
        &format!("/ip4/127.0.0.1/tcp/4721/p2p/{provider_id}"),
    ]);
    wait_for_metric(&asker, "rsipfs_dht_routing_table_peers", 1.0);
    let gateway = std::fs::read_to_string(asker.repo().join("gateway")).expect("gateway file");
    let ask = |path: &str| -> Value {
        let answer = get(&format!("{gateway}/routing/v1/{path}"), &[]);
        assert_eq!(answer.status(), 200, "{path}");
        serde_json::from_str(&body(answer)).unwrap()
    };
    // Found without filters first (the provider record may take a moment).
    let started = Instant::now();
    let whole = loop {
        let answer = ask(&format!("providers/{cid}"));
        if let Some(found) = listed(&answer, "Providers", &provider_id) {
            break found;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{answer}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(whole["Addrs"].to_string().contains("/tcp/4721"), "{whole}");

    for (query, kept) in [
        ("filter-addrs=tcp", true),
        ("filter-addrs=TCP,webtransport", true),
        ("filter-addrs=!ip6", true),
        ("filter-addrs=!tcp", false),
        ("filter-addrs=quic-v1", false),
        ("filter-protocols=transport-bitswap", true),
        ("filter-protocols=unknown,transport-bitswap", true),
        ("filter-protocols=transport-ipfs-gateway-http", false),
        ("filter-protocols=unknown", false),
        (
            "filter-protocols=transport-bitswap&filter-addrs=!ip4",
            false,
        ),
    ] {
        let answer = ask(&format!("providers/{cid}?{query}"));
        let found = listed(&answer, "Providers", &provider_id);
        assert_eq!(found.is_some(), kept, "{query}: {answer}");
        if let Some(found) = found {
            // Protocols pass whole; only the addresses the filter names stay.
            assert_eq!(found["Protocols"], serde_json::json!(["transport-bitswap"]));
            for addr in found["Addrs"].as_array().unwrap() {
                assert!(addr.as_str().unwrap().contains("/tcp/"), "{query}: {found}");
            }
        }
    }
    let answer = ask(&format!("peers/{provider_id}?filter-addrs=ip4"));
    assert!(listed(&answer, "Peers", &provider_id).is_some(), "{answer}");
    let answer = ask(&format!("peers/{provider_id}?filter-addrs=ip6"));
    assert_eq!(answer, serde_json::json!({"Peers": []}));
    let streamed = get(
        &format!("{gateway}/routing/v1/providers/{cid}?filter-addrs=!tcp"),
        &[("Accept", "application/x-ndjson")],
    );
    assert_eq!(body(streamed), "", "no record passes");
}
