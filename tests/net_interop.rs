//! The node on the network, tested for real inside fresh network namespaces
//! (loopback only): with a real Kubo node (tools/kubo-peer), three rsipfs
//! nodes and the DHT, and a lying peer.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

mod common;

fn shared_tools() -> Option<PathBuf> {
    let dir = std::env::var_os("SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("tools");
    dir.join("kubo-peer").exists().then_some(dir)
}

/// Runs tests/net/SCRIPT with the rsipfs binary, `extra` arguments and a
/// work directory, inside tools/netns.sh; asserts it printed every check.
/// Returns false (the test skipped, with a message) where it cannot run,
/// which under CI is a failure instead.
fn run_script(
    test: &str,
    script: &str,
    extra: impl Fn(&PathBuf) -> Vec<OsString>,
    checks: &[&str],
) -> bool {
    if !mount_tests::fuse_available(test) {
        return false;
    }
    let Some(tools) = shared_tools() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: ../shared/tools is missing under CI"
        );
        eprintln!("SKIPPED {test}: ../shared/tools is not here");
        return false;
    };
    let work = tempfile::tempdir().unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/net")
        .join(script);
    let out = Command::new(tools.join("netns.sh"))
        .arg("bash")
        .arg(&script)
        .arg(mount_tests::rsipfs_bin())
        .args(extra(&tools))
        .arg(work.path())
        .output()
        .expect("run netns.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let logs: String = std::fs::read_dir(work.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".err"))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            format!("--- {}:\n{text}\n", e.file_name().to_string_lossy())
        })
        .collect();
    for check in checks {
        assert!(
            out.status.success() && stdout.contains(check),
            "{test}: missing {check:?}\nstdout:\n{stdout}\nstderr:\n{}\n{logs}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    true
}

#[test]
fn blocks_flow_both_ways_between_rsipfs_and_kubo() {
    run_script(
        "blocks_flow_both_ways_between_rsipfs_and_kubo",
        "kubo_interop.sh",
        |tools| vec![tools.clone().into_os_string()],
        &[
            "OK peers",
            "OK mount file",
            "OK mount listing",
            "OK mount tree",
            "OK files cp",
            "OK cli cat",
            "OK cli cat path",
            "OK cli get",
            "OK kubo fetch",
        ],
    );
}

#[test]
fn two_providers_share_a_fetch_without_sending_blocks_twice() {
    run_script(
        "two_providers_share_a_fetch_without_sending_blocks_twice",
        "two_providers.sh",
        |tools| vec![tools.clone().into_os_string()],
        &[
            "OK same file on both",
            "OK read intact",
            "OK no block fetched twice",
            "OK both providers served",
        ],
    );
}

#[test]
fn a_block_is_found_through_the_dht_two_hops_away() {
    run_script(
        "a_block_is_found_through_the_dht_two_hops_away",
        "dht_three_nodes.sh",
        |_| Vec::new(),
        &[
            "OK found through the DHT",
            "OK content added while running is found too",
        ],
    );
}

#[test]
fn blocks_with_the_wrong_hash_are_ignored_and_the_read_succeeds() {
    let liar = mount_tests::rsipfs_bin()
        .parent()
        .expect("target dir")
        .join("examples/liar_peer");
    assert!(
        liar.exists(),
        "{} is missing: build with --all-targets",
        liar.display()
    );
    run_script(
        "blocks_with_the_wrong_hash_are_ignored_and_the_read_succeeds",
        "liar.sh",
        |_| vec![liar.clone().into_os_string()],
        &[
            "OK read the true bytes",
            "OK the liar answered",
            "OK nothing false stored",
        ],
    );
}

#[test]
fn a_damaged_block_fails_its_read_at_once_and_is_fetched_again() {
    run_script(
        "a_damaged_block_fails_its_read_at_once_and_is_fetched_again",
        "repair.sh",
        |_| Vec::new(),
        &[
            "OK the damaged read failed at once",
            "OK a good copy came from the peer",
            "OK nothing damaged left",
        ],
    );
}

#[test]
fn ipns_names_travel_through_the_dht_and_bad_records_are_refused() {
    // tests/net/ipns_dht.sh says what is checked.
    let tool = mount_tests::rsipfs_bin()
        .parent()
        .expect("target dir")
        .join("examples/dht_value");
    assert!(
        tool.exists(),
        "{} is missing: build with --all-targets",
        tool.display()
    );
    run_script(
        "ipns_names_travel_through_the_dht_and_bad_records_are_refused",
        "ipns_dht.sh",
        |_| vec![tool.clone().into_os_string()],
        &[
            "OK resolved on C through the DHT",
            "OK resolved through C's API",
            "OK the newer record replaced the older on C",
            "OK C keeps the newer record",
            "OK C's lookup gave the record to D, which lacked it",
            "OK servers serve the current record",
            "OK name put on an online node reaches the DHT servers",
            "OK the forged record is refused by the DHT servers",
            "OK the flipped record is refused by the DHT servers",
            "OK the oversized record is refused by the DHT servers",
            "OK B logged the refusals",
            "OK C still resolves the true record",
            "OK the expired record is refused by the DHT servers",
            "OK C does not resolve the expired name, at once",
        ],
    );
}

#[test]
fn a_file_written_through_one_nodes_ipns_mount_reads_on_another() {
    // tests/net/ipns_mount_two_nodes.sh says what is checked.
    run_script(
        "a_file_written_through_one_nodes_ipns_mount_reads_on_another",
        "ipns_mount_two_nodes.sh",
        |_| Vec::new(),
        &[
            "OK A reads its write by name",
            "OK B's CLI sees the first version",
            "OK B's mount sees the first version",
            "OK A reads its overwrite",
            "OK B's CLI sees the second version",
            "OK B's mount sees the second version",
            "OK B keeps A's newer record",
        ],
    );
}

#[test]
fn the_daemon_republishes_its_names() {
    run_script(
        "the_daemon_republishes_its_names",
        "ipns_republish.sh",
        |_| Vec::new(),
        &[
            "OK a lifetime shorter than the period is refused",
            "OK B holds the republished record",
            "OK same value and sequence, later end of life",
        ],
    );
}

/// Whether dnsmasq is here; where it is not, a failure under CI.
fn dnsmasq_available(test: &str) -> bool {
    let here = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq"]
        .iter()
        .any(|p| std::path::Path::new(p).exists());
    if !here {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: dnsmasq is not installed (apt-get install dnsmasq-base)"
        );
        eprintln!("SKIPPED {test}: dnsmasq is not installed");
    }
    here
}

/// tests/net/dnsaddr_bootstrap.sh in MODE tcp or quic.
fn dnsaddr_bootstrap(test: &str, mode: &'static str) {
    if !dnsmasq_available(test) {
        return;
    }
    run_script(
        test,
        "dnsaddr_bootstrap.sh",
        |_| vec![mode.into()],
        &[
            "OK id and swarm addrs show the listen address",
            "OK joined through the dnsaddr bootstrap entry",
            "OK a dnsaddr loop is refused",
            "OK read what only A has",
            "OK C and A connected over",
        ],
    );
}

#[test]
fn a_node_bootstrapped_by_dnsaddr_reads_what_only_a_peer_two_hops_away_has() {
    dnsaddr_bootstrap(
        "a_node_bootstrapped_by_dnsaddr_reads_what_only_a_peer_two_hops_away_has",
        "tcp",
    );
}

#[test]
fn a_node_bootstrapped_by_dnsaddr_reads_from_a_quic_only_provider() {
    dnsaddr_bootstrap(
        "a_node_bootstrapped_by_dnsaddr_reads_from_a_quic_only_provider",
        "quic",
    );
}

#[test]
fn blocks_flow_both_ways_between_rsipfs_and_kubo_over_quic() {
    run_script(
        "blocks_flow_both_ways_between_rsipfs_and_kubo_over_quic",
        "kubo_quic.sh",
        |tools| vec![tools.clone().into_os_string()],
        &[
            "OK connected to Kubo over QUIC",
            "OK read from Kubo over QUIC",
            "OK Kubo fetched from rsipfs over QUIC",
        ],
    );
}

/// Whether iptables is installed; under CI its absence is a failure.
fn iptables_available(test: &str) -> bool {
    let here = ["/usr/sbin/iptables", "/sbin/iptables", "/usr/bin/iptables"]
        .iter()
        .any(|p| std::path::Path::new(p).exists());
    if !here {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: iptables is not installed (apt-get install iptables)"
        );
        eprintln!("SKIPPED {test}: iptables is not installed");
    }
    here
}

#[test]
fn names_and_providers_are_found_through_kubos_lan_dht() {
    let test = "names_and_providers_are_found_through_kubos_lan_dht";
    if !iptables_available(test) {
        return;
    }
    run_script(
        test,
        "lan_dht_kubo.sh",
        |tools| vec![tools.clone().into_os_string()],
        &[
            "OK A put its name in Kubo's LAN DHT",
            "OK a Kubo node that knows only D read A's file",
            "OK C's LAN DHT took Kubo node D",
            "OK C resolved A's name from Kubo's LAN DHT, A being gone",
            "OK C found Kubo node P through the LAN DHT provider lookup",
            "OK routing findprovs lists P",
            "OK routing findpeer gives P's address",
            "OK routing get gives A's record",
        ],
    );
}

#[test]
fn provider_records_and_the_reprovide_schedule_survive_restarts() {
    // tests/net/provider_restart.sh says what is checked.
    run_script(
        "provider_records_and_the_reprovide_schedule_survive_restarts",
        "provider_restart.sh",
        |_| Vec::new(),
        &[
            "OK X reprovides every 2 s",
            "OK stats provide shows the last round",
            "OK C found A through the record B kept across its restart",
            "OK A restarted keeps its schedule",
            "OK routing provide announced a block findprovs then finds",
        ],
    );
}

#[test]
fn a_provider_is_found_by_the_dht_lookup_alone() {
    let test = "a_provider_is_found_by_the_dht_lookup_alone";
    if !iptables_available(test) {
        return;
    }
    run_script(
        test,
        "provider_lookup.sh",
        |_| Vec::new(),
        &["OK found A through the DHT provider lookup"],
    );
}

#[test]
fn with_the_dht_off_providers_come_from_a_delegated_router() {
    let test = "with_the_dht_off_providers_come_from_a_delegated_router";
    let Some(node) = common::node22_with("@helia/delegated-routing-v1-http-api-server") else {
        return;
    };
    run_script(
        test,
        "delegated_routing.sh",
        move |_| vec![node.clone().into()],
        &[
            "OK the router knows P provides the file",
            "OK F read the file from P found through the router alone",
            "OK routing findprovs answers from the router",
            "OK F lives on with the hostile router",
        ],
    );
}

#[test]
fn content_added_to_rsipfs_is_found_by_kubo_and_helia_told_only_the_bootstrap_node() {
    let test = "content_added_to_rsipfs_is_found_by_kubo_and_helia_told_only_the_bootstrap_node";
    let Some(node) = common::node22_with("helia") else {
        return;
    };
    run_script(
        test,
        "found_by_others.sh",
        move |tools| vec![tools.clone().into(), node.clone().into()],
        &[
            "OK B keeps R's provider records",
            "OK Kubo told only B fetched R's file",
            "OK Helia told only B fetched R's block",
        ],
    );
}

#[test]
fn the_connection_manager_trims_to_its_watermarks_and_keeps_peering_peers() {
    run_script(
        "the_connection_manager_trims_to_its_watermarks_and_keeps_peering_peers",
        "connmgr.sh",
        |_| Vec::new(),
        &[
            "OK peering peer connected at start",
            "OK direction shown",
            "OK peering ls",
            "OK trimmed below the high watermark",
            "OK protected peers kept",
            "OK latency shown",
            "OK peering peer reconnected",
        ],
    );
}

#[test]
fn floods_are_held_to_the_resource_limits_and_announced_addresses_reach_peers() {
    let flood = mount_tests::rsipfs_bin()
        .parent()
        .expect("target dir")
        .join("examples/stream_flood");
    assert!(
        flood.exists(),
        "{} is missing: build with --all-targets",
        flood.display()
    );
    run_script(
        "floods_are_held_to_the_resource_limits_and_announced_addresses_reach_peers",
        "limits_announce.sh",
        |_| vec![flood.clone().into_os_string()],
        &[
            "OK NoAnnounce and AppendAnnounce seen by a peer",
            "OK id shows the announced addresses",
            "OK Announce replaces the listen addresses",
            "OK stream flood held to the limit",
            "OK id answers during the flood",
            "OK a block is served during the flood",
            "OK descriptors bounded",
            "OK refusals logged, rate-limited",
        ],
    );
}

#[test]
fn a_private_node_is_reached_through_a_relay_and_a_hole_punch_makes_it_direct() {
    // tests/net/relay.sh says what is checked.
    let test = "a_private_node_is_reached_through_a_relay_and_a_hole_punch_makes_it_direct";
    if !iptables_available(test) {
        return;
    }
    run_script(
        test,
        "relay.sh",
        |_| Vec::new(),
        &[
            "OK B reserved a slot on R and announces its relay address",
            "OK private B is a WAN DHT client, public R a server",
            "OK A read B's file through the relay, sha256 equal",
            "OK A is connected to B through R only",
            "OK the hole punch made D's connection to B direct",
            "OK D read B's second file, sha256 equal",
            "OK R refused a reservation over its limit and kept B's",
        ],
    );
}

#[test]
fn autonat_finds_who_is_reachable_and_the_dht_mode_follows() {
    // tests/net/autonat.sh says what is checked.
    let test = "autonat_finds_who_is_reachable_and_the_dht_mode_follows";
    if !iptables_available(test) {
        return;
    }
    run_script(
        test,
        "autonat.sh",
        |_| Vec::new(),
        &[
            "OK reachability unknown at first, the WAN DHT serving",
            "OK Q found public, its WAN DHT a server",
            "OK B found private, its WAN DHT a client, its LAN DHT a server",
            "OK B holds a slot on P, a relay it met",
            "OK a node with AutoNAT.ServiceMode disabled refuses to dial back",
        ],
    );
}

#[test]
fn hostile_dht_messages_are_refused_and_lies_cost_a_fetch_nothing() {
    // tests/net/hostile_dht.sh says what is checked.
    let junk = mount_tests::rsipfs_bin()
        .parent()
        .expect("target dir")
        .join("examples/dht_junk");
    assert!(
        junk.exists(),
        "{} is missing: build with --all-targets",
        junk.display()
    );
    run_script(
        "hostile_dht_messages_are_refused_and_lies_cost_a_fetch_nothing",
        "hostile_dht.sh",
        |_| vec![junk.clone().into_os_string()],
        &[
            "OK garbage: stream closed",
            "OK oversized: stream closed",
            "OK malformed: stream closed",
            "OK unknown type: stream closed",
            "OK the node answers after the junk",
            "OK the liar's record is kept beside the honest one",
            "OK a record in another peer's name is not kept",
            "OK the node answers after the flood",
            "OK refusals logged",
            "OK the file is read from the honest provider",
            "OK memory bounded",
            "OK the node is up",
        ],
    );
}

#[test]
fn a_private_node_finds_a_relay_on_a_dht_walk() {
    // tests/net/relay_walk.sh says what is checked.
    run_script(
        "a_private_node_finds_a_relay_on_a_dht_walk",
        "relay_walk.sh",
        |_| Vec::new(),
        &[
            "OK E, private without relays, walks the DHT for one",
            "OK E took a slot on P, met on a later walk",
            "OK E announces its address through P",
            "OK Q was not taken for a relay",
        ],
    );
}
