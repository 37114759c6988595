//! What `name publish` and `name put` acknowledged survives faults: the
//! daemon killed with SIGKILL at random moments while names are being
//! published, and a disk that fills up. A publish that was not acknowledged
//! may or may not have taken effect, but the name never points anywhere
//! else and the datastore keeps working.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mount_tests::{Node, SmallDisk, fuse_available, pseudo_random};

/// Adds one small file per value; their CIDs.
fn add_files(node: &Node, count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            let path = node.work().join(format!("v{i}"));
            std::fs::write(&path, format!("version {i}\n")).unwrap();
            node.ok(&["add", "-Q", path.to_str().unwrap()])
                .trim()
                .to_string()
        })
        .collect()
}

/// The path our own name (`self`) points at.
fn resolved(node: &Node) -> String {
    node.ok(&["name", "resolve"]).trim().to_string()
}

/// One `name publish` that was started: its path and whether it answered success.
struct Attempt {
    path: String,
    acknowledged: bool,
}

/// What the name may point at after a crash: the last acknowledged path,
/// or the path of a publish started after it that never answered.
fn allowed_after(attempts: &[Attempt], before: Option<&str>) -> Vec<String> {
    let last_ack = attempts.iter().rposition(|a| a.acknowledged);
    let mut allowed: Vec<String> = match last_ack {
        Some(i) => vec![attempts[i].path.clone()],
        None => before.map(str::to_string).into_iter().collect(),
    };
    let unanswered = last_ack.map_or(0, |i| i + 1);
    allowed.extend(attempts[unanswered..].iter().map(|a| a.path.clone()));
    allowed
}

#[test]
fn acknowledged_publishes_survive_sigkill_at_random_moments() {
    if !fuse_available("acknowledged_publishes_survive_sigkill_at_random_moments") {
        return;
    }
    let node = Node::new();
    let cids = add_files(&node, 150);
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7);
    let delays = pseudo_random(5, seed);
    eprintln!("seed {seed}");
    let mut next = 0;
    let mut current: Option<String> = None;
    let mut acknowledged = 0;
    for (round, random) in delays.iter().enumerate() {
        let mount = node.mount();
        if let Some(path) = &current {
            assert_eq!(&resolved(&node), path, "round {round}: after the restart");
        }
        let attempts = Mutex::new(Vec::new());
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while !stop.load(Ordering::SeqCst) && next < cids.len() {
                    let path = format!("/ipfs/{}", cids[next]);
                    next += 1;
                    let out = node.run(&["name", "publish", "-Q", "--allow-offline", &path]);
                    attempts.lock().unwrap().push(Attempt {
                        path,
                        acknowledged: out.status.success(),
                    });
                }
            });
            // A random moment, 20 to 275 ms into the publishing.
            let delay = 20 + u64::from(*random);
            std::thread::sleep(Duration::from_millis(delay));
            stop.store(true, Ordering::SeqCst);
            mount.kill_hard();
        });
        let attempts = attempts.into_inner().unwrap();
        let acked = attempts.iter().filter(|a| a.acknowledged).count();
        eprintln!(
            "round {round}: {} publishes, {acked} acknowledged",
            attempts.len()
        );
        acknowledged += acked;
        let allowed = allowed_after(&attempts, current.as_deref());
        // Offline, the repository as the killed daemon left it.
        let now = resolved(&node);
        assert!(
            allowed.contains(&now),
            "round {round}: the name points at {now}, allowed {allowed:?}; log: {}",
            node.mount_log()
        );
        current = Some(now);
    }
    assert!(acknowledged > 0, "no publish was acknowledged in any round");
    // Publishing goes on from there with a higher sequence.
    let mount = node.mount();
    let last = format!("/ipfs/{}", cids[cids.len() - 1]);
    node.ok(&["name", "publish", "--allow-offline", &last]);
    assert_eq!(resolved(&node), last);
    mount.stop();
}

/// Fills the filesystem holding `dir` with a file there; returns its path.
fn fill_disk(dir: &std::path::Path) -> std::path::PathBuf {
    let ballast = dir.join("ballast");
    let mut file = std::fs::File::create(&ballast).unwrap();
    for chunk in [1 << 20, 4096, 512] {
        let bytes = vec![7u8; chunk];
        while file.write_all(&bytes).is_ok() {}
    }
    let _ = file.sync_all();
    ballast
}

#[test]
fn a_full_disk_fails_publish_and_put_clearly_and_keeps_what_was_acknowledged() {
    if !fuse_available("a_full_disk_fails_publish_and_put_clearly_and_keeps_what_was_acknowledged")
    {
        return;
    }
    let disk = SmallDisk::new(64);
    let node = Node::in_dir(disk.tempdir());
    let cids = add_files(&node, 3);
    // A record of another node's name, for `name put`.
    let other = Node::new();
    let other_cid = add_files(&other, 1).remove(0);
    let other_name = other
        .ok(&[
            "name",
            "publish",
            "-Q",
            "--allow-offline",
            &format!("/ipfs/{other_cid}"),
        ])
        .trim()
        .to_string();
    let record = node.work().join("other.record");
    std::fs::write(&record, other.ok_bytes(&["name", "get", &other_name])).unwrap();

    let mount = node.mount();
    let first = format!("/ipfs/{}", cids[0]);
    node.ok(&["name", "publish", "--allow-offline", &first]);
    let ballast = fill_disk(disk.root());

    let second = format!("/ipfs/{}", cids[1]);
    let published = node.run(&["name", "publish", "--allow-offline", &second]);
    let expected = if published.status.success() {
        second
    } else {
        let err = String::from_utf8_lossy(&published.stderr);
        assert!(
            err.contains("space") || err.contains("ENOSPC"),
            "a failed publish on a full disk says why: {err}"
        );
        first
    };
    eprintln!(
        "publish, disk full: {}",
        String::from_utf8_lossy(&published.stderr).trim()
    );
    let put = node.run(&["name", "put", &other_name, record.to_str().unwrap()]);
    eprintln!(
        "put, disk full: {}",
        String::from_utf8_lossy(&put.stderr).trim()
    );
    if !put.status.success() {
        let err = String::from_utf8_lossy(&put.stderr);
        assert!(
            err.contains("space") || err.contains("ENOSPC"),
            "a failed put on a full disk says why: {err}"
        );
    }
    // Reads go on while the disk is full.
    assert_eq!(resolved(&node), expected, "while the disk is full");

    mount.kill_hard();
    std::fs::remove_file(&ballast).unwrap();
    let mount = node.mount();
    assert_eq!(resolved(&node), expected, "after a restart with room again");
    if put.status.success() {
        let kept = node.ok_bytes(&["name", "get", &other_name]);
        assert_eq!(kept, std::fs::read(&record).unwrap(), "the put record");
    }
    node.ok(&["name", "put", &other_name, record.to_str().unwrap()]);
    let third = format!("/ipfs/{}", cids[2]);
    node.ok(&["name", "publish", "--allow-offline", &third]);
    assert_eq!(resolved(&node), third);
    mount.stop();
}
