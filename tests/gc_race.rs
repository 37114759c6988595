//! `repo gc` while content is being added and written into MFS through the
//! daemon: collection waits for the writers (the GC lock), so nothing
//! being written is collected.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::{Node, start_daemon};

/// Bytes no other round shares (so every block is new).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn gc_during_add_and_files_write_keeps_what_they_wrote() {
    let node = Node::new();
    let _daemon = start_daemon(&node);
    for round in 0..3u64 {
        let added = noise(50 << 20, 2 * round + 1);
        let written = noise(20 << 20, 2 * round + 2);
        let (add_name, write_name) = (format!("add-{round}"), format!("write-{round}"));
        std::fs::write(node.work().join(&add_name), &added).expect("write");
        std::fs::write(node.work().join(&write_name), &written).expect("write");
        let mfs_path = format!("/round-{round}");
        let (adding, writing) = (AtomicBool::new(true), AtomicBool::new(true));
        let mut collections = 0;
        let cid = std::thread::scope(|s| {
            let add = s.spawn(|| {
                let out = node.run(&["add", "-Q", "--cid-version", "1", &add_name]);
                adding.store(false, Ordering::SeqCst);
                out
            });
            let write = s.spawn(|| {
                let out = node.run(&["files", "write", "-e", &mfs_path, &write_name]);
                writing.store(false, Ordering::SeqCst);
                out
            });
            while adding.load(Ordering::SeqCst) || writing.load(Ordering::SeqCst) {
                node.ok(&["repo", "gc", "--quiet"]);
                collections += 1;
                assert!(collections < 10_000, "the writers never finished");
            }
            let add = add.join().expect("add thread");
            let write = write.join().expect("write thread");
            assert!(
                add.status.success(),
                "add: {}",
                String::from_utf8_lossy(&add.stderr)
            );
            assert!(
                write.status.success(),
                "files write: {}",
                String::from_utf8_lossy(&write.stderr)
            );
            String::from_utf8(add.stdout)
                .expect("utf-8")
                .trim()
                .to_string()
        });
        assert!(collections > 0);
        node.ok(&["repo", "gc", "--quiet"]);
        assert!(node.ok_bytes(&["cat", &cid]) == added, "round {round}: cat");
        assert!(
            node.ok_bytes(&["files", "read", &mfs_path]) == written,
            "round {round}: files read"
        );
    }
    assert_eq!(
        node.ok(&["repo", "verify"]).trim(),
        "verified repo integrity"
    );
}

/// The daemon's MFS tree deletes the blocks of file versions it replaced;
/// blocks a pin took meanwhile (`add` of the same bytes, `pin add` of the
/// file) are not its to delete any more.
#[test]
fn replacing_an_mfs_file_keeps_the_blocks_a_pin_took() {
    let node = Node::new();
    let _daemon = start_daemon(&node);
    let first = noise(1 << 20, 7);
    std::fs::write(node.work().join("first"), &first).expect("write");
    node.ok(&["files", "write", "-e", "/added", "first"]);
    let pinned_file = node.run_stdin(&["files", "write", "-e", "/pinned"], b"pinned from MFS\n");
    assert!(pinned_file.status.success());
    node.ok(&["files", "flush", "/"]);
    let added = node.ok(&["add", "-Q", "first"]).trim().to_string();
    let pinned = node
        .ok(&["files", "stat", "--hash", "/pinned"])
        .trim()
        .to_string();
    node.ok(&["pin", "add", &pinned]);
    for path in ["/added", "/pinned"] {
        let out = node.run_stdin(&["files", "write", "-t", path], b"replaced\n");
        assert!(out.status.success());
    }
    node.ok(&["files", "flush", "/"]);
    assert!(
        node.ok_bytes(&["cat", &added]) == first,
        "the added file lost blocks"
    );
    assert_eq!(node.ok(&["cat", &pinned]), "pinned from MFS\n");
    assert_eq!(node.ok(&["files", "read", "/added"]), "replaced\n");
    assert_eq!(
        node.ok(&["repo", "verify"]).trim(),
        "verified repo integrity"
    );
}
