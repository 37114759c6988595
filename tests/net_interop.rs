//! rsipfs and a real Kubo node (tools/kubo-peer) exchange blocks both ways,
//! inside a fresh network namespace (loopback only).

use std::path::PathBuf;
use std::process::Command;

fn shared_tools() -> Option<PathBuf> {
    let dir = std::env::var_os("SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("tools");
    dir.join("kubo-peer").exists().then_some(dir)
}

#[test]
fn blocks_flow_both_ways_between_rsipfs_and_kubo() {
    if !mount_tests::fuse_available("blocks_flow_both_ways_between_rsipfs_and_kubo") {
        return;
    }
    let Some(tools) = shared_tools() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared/tools/kubo-peer is missing under CI"
        );
        eprintln!("SKIPPED: ../shared/tools/kubo-peer is not here");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/net/kubo_interop.sh");
    let out = Command::new(tools.join("netns.sh"))
        .arg("bash")
        .arg(&script)
        .arg(mount_tests::rsipfs_bin())
        .arg(&tools)
        .arg(work.path())
        .output()
        .expect("run netns.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let daemon_log = std::fs::read_to_string(work.path().join("daemon.err")).unwrap_or_default();
    assert!(
        out.status.success(),
        "interop script failed\nstdout:\n{stdout}\nstderr:\n{}\ndaemon:\n{daemon_log}",
        String::from_utf8_lossy(&out.stderr)
    );
    for check in [
        "OK peers",
        "OK mount file",
        "OK mount listing",
        "OK mount tree",
        "OK files cp",
        "OK cli cat",
        "OK cli cat path",
        "OK cli get",
        "OK kubo fetch",
    ] {
        assert!(stdout.contains(check), "missing {check:?} in:\n{stdout}");
    }
}

#[test]
fn a_block_is_found_through_the_dht_two_hops_away() {
    if !mount_tests::fuse_available("a_block_is_found_through_the_dht_two_hops_away") {
        return;
    }
    let Some(tools) = shared_tools() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared/tools/netns.sh is missing under CI"
        );
        eprintln!("SKIPPED: ../shared/tools is not here");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/net/dht_three_nodes.sh");
    let out = Command::new(tools.join("netns.sh"))
        .arg("bash")
        .arg(&script)
        .arg(mount_tests::rsipfs_bin())
        .arg(work.path())
        .output()
        .expect("run netns.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let logs: String = ["a", "b", "c"]
        .iter()
        .map(|n| {
            let log = std::fs::read_to_string(work.path().join(format!("{n}.err")));
            format!("--- {n}:\n{}\n", log.unwrap_or_default())
        })
        .collect();
    assert!(
        out.status.success() && stdout.contains("OK found through the DHT"),
        "stdout:\n{stdout}\nstderr:\n{}\n{logs}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn blocks_with_the_wrong_hash_are_ignored_and_the_read_succeeds() {
    if !mount_tests::fuse_available("blocks_with_the_wrong_hash_are_ignored_and_the_read_succeeds")
    {
        return;
    }
    let Some(tools) = shared_tools() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "../shared/tools/netns.sh is missing under CI"
        );
        eprintln!("SKIPPED: ../shared/tools is not here");
        return;
    };
    let liar = mount_tests::rsipfs_bin()
        .parent()
        .expect("target dir")
        .join("examples/liar_peer");
    assert!(
        liar.exists(),
        "{} is missing: build with --all-targets",
        liar.display()
    );
    let work = tempfile::tempdir().unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/net/liar.sh");
    let out = Command::new(tools.join("netns.sh"))
        .arg("bash")
        .arg(&script)
        .arg(mount_tests::rsipfs_bin())
        .arg(&liar)
        .arg(work.path())
        .output()
        .expect("run netns.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for check in [
        "OK read the true bytes",
        "OK the liar answered",
        "OK nothing false stored",
    ] {
        assert!(
            out.status.success() && stdout.contains(check),
            "missing {check:?}\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
