//! `/debug/metrics/prometheus` on the API port of a real mount: after a
//! read through /ipfs, a write through /mfs and gateway requests, the
//! counters of each have moved, and the repository's gauges count its
//! blocks. (Bitswap and the DHT: tests/routing_v1.rs, between two nodes.)

mod common;

use std::time::{Duration, Instant};

use common::Node;
use common::prometheus::{scrape, value};

#[test]
fn a_scrape_counts_mount_gateway_and_repo_work() {
    if !mount_tests::fuse_available("a_scrape_counts_mount_gateway_and_repo_work") {
        return;
    }
    let node = Node::new();
    let content = mount_tests::pseudo_random(600_000, 7);
    let file = node.work().join("data.bin");
    std::fs::write(&file, &content).unwrap();
    let cid = node
        .ok(&["add", "-Q", file.to_str().unwrap()])
        .trim()
        .to_string();
    let mount = node.mount();
    let api = node.api_url();
    let gateway = std::fs::read_to_string(node.repo().join("gateway")).expect("gateway file");

    // The repository is counted once, in the background: wait for it.
    let started = Instant::now();
    let before = loop {
        let samples = scrape(&api);
        if samples.contains_key("rsipfs_repo_blocks") {
            break samples;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no repo gauges: {samples:?}\n{}",
            node.mount_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // 600 000 bytes in 256 KiB chunks: 3 leaves and a root.
    assert!(value(&before, "rsipfs_repo_blocks") >= 4.0, "{before:?}");
    assert!(value(&before, "rsipfs_repo_size_bytes") >= content.len() as f64);

    let read = std::fs::read(mount.path(&cid)).expect("read through /ipfs");
    assert_eq!(read, content);
    assert!(std::fs::metadata(mount.path("bafkqaaa-no-such-cid")).is_err());
    std::fs::create_dir(mount.mfs_path("dir")).unwrap();
    std::fs::write(mount.mfs_path("dir/new.txt"), b"written through /mfs\n").unwrap();
    let answer = common::gateway::get(&format!("{gateway}/ipfs/{cid}"), &[]);
    assert_eq!(answer.status(), 200);
    // Counting the bytes keeps the length known up front.
    assert_eq!(
        common::gateway::header(&answer, "content-length"),
        content.len().to_string()
    );
    let body = answer.into_body().read_to_vec().expect("body");
    assert_eq!(body.len(), content.len());
    let missing = common::gateway::get(&format!("{gateway}/ipfs/not-a-cid"), &[]);
    assert_eq!(missing.status(), 400);

    let after = scrape(&api);
    let moved = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(
        moved("rsipfs_fuse_operations_total{op=\"mkdir\"}"),
        1.0,
        "{after:?}"
    );
    assert_eq!(
        moved("rsipfs_fuse_operations_total{op=\"create\"}"),
        1.0,
        "{after:?}"
    );
    assert!(
        moved("rsipfs_fuse_operations_total{op=\"read\"}") >= 1.0,
        "{after:?}"
    );
    assert!(
        moved("rsipfs_fuse_operations_total{op=\"lookup\"}") >= 2.0,
        "{after:?}"
    );
    assert!(
        moved("rsipfs_fuse_errors_total{op=\"lookup\"}") >= 1.0,
        "{after:?}"
    );
    assert!(
        moved("rsipfs_fuse_operations_total{op=\"write\"}") >= 1.0,
        "{after:?}"
    );
    assert!(moved("rsipfs_fuse_operation_duration_seconds_count{op=\"read\"}") >= 1.0);
    assert_eq!(
        moved("rsipfs_gateway_requests_total{code=\"200\"}"),
        1.0,
        "{after:?}"
    );
    assert_eq!(
        moved("rsipfs_gateway_requests_total{code=\"400\"}"),
        1.0,
        "{after:?}"
    );
    assert!(moved("rsipfs_gateway_sent_bytes_total") >= content.len() as f64);
    assert_eq!(moved("rsipfs_gateway_request_duration_seconds_count"), 2.0);
    // Offline: no network counters at all.
    assert!(
        !after.keys().any(|k| k.starts_with("rsipfs_bitswap")),
        "{after:?}"
    );
    mount.stop();
}
