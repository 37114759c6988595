//! The /ipns mount, mounted for real: names published with `name publish`
//! (ours) or kept with `name put` (another node's) read through it, the
//! root lists our keys as they come, the record shows in xattrs, and a
//! name of ours is written through the mount and published.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use mount_tests::{Node, fuse_available};

/// Waits until `check` gives something, or fails after `limit` saying `what`.
fn wait_for<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(start.elapsed() < limit, "{what}: not after {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An extended attribute of `path` as text, if it has it.
fn xattr(path: &Path, name: &str) -> Option<String> {
    let c_path = CString::new(path.as_os_str().as_bytes()).ok()?;
    let c_name = CString::new(name).ok()?;
    let mut buf = vec![0u8; 1024];
    // SAFETY: both strings are NUL-terminated; buf is writable for its length.
    let len = unsafe {
        libc::getxattr(
            c_path.as_ptr(),
            c_name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if len < 0 {
        return None;
    }
    buf.truncate(len as usize);
    String::from_utf8(buf).ok()
}

/// A directory with `files` (name, content) added to `node`; its CID.
fn add_dir(node: &Node, dir: &str, files: &[(&str, &str)]) -> String {
    let path = node.work().join(dir);
    std::fs::create_dir_all(&path).unwrap();
    for (name, content) in files {
        std::fs::write(path.join(name), content).unwrap();
    }
    node.ok(&["add", "-r", "-Q", dir]).trim().to_string()
}

/// `key gen NAME`: the key's IPNS name.
fn key_gen(node: &Node, name: &str) -> String {
    node.ok(&["key", "gen", name]).trim().to_string()
}

fn publish(node: &Node, key: &str, cid: &str) {
    node.ok(&["name", "publish", "--allow-offline", "--key", key, cid]);
}

fn sequence(node: &Node, name: &str) -> u64 {
    let record = node.ok_bytes(&["name", "get", name]);
    let inspected = node.run_stdin(&["name", "inspect", "-"], &record);
    let text = String::from_utf8_lossy(&inspected.stdout).into_owned();
    text.lines()
        .find_map(|line| line.strip_prefix("Sequence:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sequence in {text}"))
}

#[test]
fn a_name_published_with_name_publish_reads_through_the_mount() {
    if !fuse_available("a_name_published_with_name_publish_reads_through_the_mount") {
        return;
    }
    let node = Node::new();
    let cid = add_dir(&node, "site", &[("index.html", "<p>hi</p>\n")]);
    let name = key_gen(&node, "site");
    publish(&node, "site", &cid);
    let mount = node.mount();
    let by_name = mount.ipns_path(&name);
    assert_eq!(
        std::fs::read_to_string(by_name.join("index.html")).unwrap(),
        "<p>hi</p>\n"
    );
    let listed: Vec<String> = std::fs::read_dir(&by_name)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert_eq!(listed, ["index.html"]);
    // The key's name leads to the same tree.
    assert_eq!(
        std::fs::read_to_string(mount.ipns_path("site/index.html")).unwrap(),
        "<p>hi</p>\n"
    );
}

#[test]
fn another_nodes_name_reads_through_the_mount_with_its_record_in_xattrs() {
    if !fuse_available("another_nodes_name_reads_through_the_mount_with_its_record_in_xattrs") {
        return;
    }
    let other = Node::new();
    let files = [("a.txt", "from the other node\n"), ("b.txt", "bee\n")];
    let cid = add_dir(&other, "shared", &files);
    let name = key_gen(&other, "pub");
    other.ok(&[
        "name",
        "publish",
        "--allow-offline",
        "--key",
        "pub",
        "--ttl",
        "2m",
        &cid,
    ]);
    let record = other.dir.path().join("record.bin");
    std::fs::write(&record, other.ok_bytes(&["name", "get", &name])).unwrap();

    let node = Node::new();
    assert_eq!(
        add_dir(&node, "shared", &files),
        cid,
        "the same content here"
    );
    node.ok(&["name", "put", &name, record.to_str().unwrap()]);
    let mount = node.mount();
    let root = mount.ipns_path(&name);
    assert_eq!(
        std::fs::read_to_string(root.join("a.txt")).unwrap(),
        "from the other node\n"
    );
    assert!(
        std::fs::write(root.join("c.txt"), "no").is_err(),
        "another node's name is read-only"
    );
    assert_eq!(
        xattr(&root, "user.ipns.value").as_deref(),
        Some(format!("/ipfs/{cid}").as_str())
    );
    assert_eq!(xattr(&root, "user.ipns.seq").as_deref(), Some("0"));
    assert_eq!(xattr(&root, "user.ipns.ttl").as_deref(), Some("2m0s"));
    let eol = xattr(&root, "user.ipns.eol").expect("an EOL");
    assert!(eol.ends_with('Z') && eol.contains('T'), "{eol}");
    assert_eq!(xattr(&root, "user.ipfs.cid").as_deref(), Some(cid.as_str()));
    assert_eq!(xattr(&root.join("a.txt"), "user.ipns.value"), None);
}

#[test]
fn the_root_lists_our_keys_and_a_new_key_appears_without_a_remount() {
    if !fuse_available("the_root_lists_our_keys_and_a_new_key_appears_without_a_remount") {
        return;
    }
    let node = Node::new();
    key_gen(&node, "first");
    let mount = node.mount();
    let listed = || -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&mount.ipns)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(listed(), ["first", "self"]);
    let name = key_gen(&node, "later");
    assert_eq!(listed(), ["first", "later", "self"]);
    assert!(mount.ipns_path("later").is_dir());
    assert!(mount.ipns_path(&name).is_dir());
}

#[test]
fn writing_under_our_key_publishes_the_new_content() {
    if !fuse_available("writing_under_our_key_publishes_the_new_content") {
        return;
    }
    let node = Node::new();
    let cid = add_dir(&node, "site", &[("old.txt", "old\n")]);
    let name = key_gen(&node, "blog");
    publish(&node, "blog", &cid);
    let mount = node.mount();
    let dir = mount.ipns_path("blog");
    std::fs::write(dir.join("post.txt"), "new bytes\n").unwrap();
    let resolved = wait_for(Duration::from_secs(10), "the new root published", || {
        let path = node.ok(&["name", "resolve", &name]).trim().to_string();
        (path != format!("/ipfs/{cid}")).then_some(path)
    });
    assert_eq!(
        node.ok(&["cat", &format!("{resolved}/post.txt")]),
        "new bytes\n"
    );
    assert_eq!(
        node.ok(&["cat", &format!("/ipns/{name}/post.txt")]),
        "new bytes\n"
    );
    assert_eq!(node.ok(&["cat", &format!("/ipns/{name}/old.txt")]), "old\n");
    assert_eq!(sequence(&node, &name), 1);
    assert_eq!(
        xattr(&dir, "user.ipns.value").as_deref(),
        Some(resolved.as_str())
    );
    // Kept across a remount, and by garbage collection meanwhile.
    mount.stop();
    node.ok(&["repo", "gc"]);
    let mount = node.mount();
    assert_eq!(
        std::fs::read_to_string(mount.ipns_path(&format!("{name}/post.txt"))).unwrap(),
        "new bytes\n"
    );
}

#[test]
fn a_burst_of_writes_makes_a_handful_of_publishes() {
    if !fuse_available("a_burst_of_writes_makes_a_handful_of_publishes") {
        return;
    }
    let node = Node::new();
    let name = key_gen(&node, "burst");
    let mount = node.mount();
    let log = mount.ipns_path("burst/log.txt");
    let mut expected = String::new();
    let start = Instant::now();
    for i in 0..1000 {
        use std::io::Write;
        let line = format!("line {i}\n");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        file.write_all(line.as_bytes()).unwrap();
        expected.push_str(&line);
    }
    let took = start.elapsed();
    wait_for(Duration::from_secs(10), "the whole log published", || {
        let out = node.run(&["cat", &format!("/ipns/{name}/log.txt")]);
        (out.stdout == expected.as_bytes()).then_some(())
    });
    let publishes = sequence(&node, &name) + 1;
    eprintln!("1000 writes in {took:?}: {publishes} publishes");
    // One per second at most, the first at once, one after the last.
    let allowed = took.as_secs() + 2;
    assert!(
        publishes <= allowed,
        "{publishes} publishes for 1000 writes in {took:?} (at most {allowed})"
    );
}

#[test]
fn a_name_that_cannot_be_resolved_is_not_found_at_once() {
    if !fuse_available("a_name_that_cannot_be_resolved_is_not_found_at_once") {
        return;
    }
    let other = Node::new();
    let unknown = key_gen(&other, "elsewhere");
    let node = Node::new();
    let mount = node.mount();
    let start = Instant::now();
    let err = std::fs::metadata(mount.ipns_path(&unknown)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    let err = std::fs::metadata(mount.ipns_path("not-a-name")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    wait_for(Duration::from_secs(5), "a log line naming it", || {
        node.mount_log().contains(&unknown).then_some(())
    });
}

#[test]
fn name_publish_while_mounted_is_followed_by_the_mount() {
    if !fuse_available("name_publish_while_mounted_is_followed_by_the_mount") {
        return;
    }
    let node = Node::new();
    let first = add_dir(&node, "v1", &[("version.txt", "one\n")]);
    let second = add_dir(&node, "v2", &[("version.txt", "two\n")]);
    let name = key_gen(&node, "rel");
    publish(&node, "rel", &first);
    let mount = node.mount();
    let by_key = mount.ipns_path("rel/version.txt");
    let by_name = mount.ipns_path(&format!("{name}/version.txt"));
    assert_eq!(std::fs::read_to_string(&by_key).unwrap(), "one\n");
    assert_eq!(std::fs::read_to_string(&by_name).unwrap(), "one\n");
    // Through the API of the mount process, which tells the kernel to
    // forget the name before it answers: the next read sees the new value
    // (the kernel's cache of the old one would last a second more).
    publish(&node, "rel", &second);
    assert_eq!(std::fs::read_to_string(&by_name).unwrap(), "two\n");
    assert_eq!(std::fs::read_to_string(&by_key).unwrap(), "two\n");
    assert_eq!(
        xattr(&mount.ipns_path("rel"), "user.ipns.value").as_deref(),
        Some(format!("/ipfs/{second}").as_str())
    );
    assert_eq!(sequence(&node, &name), 1, "the mount published nothing");
}

#[test]
fn what_fsync_acknowledged_survives_a_kill_and_is_published_after() {
    if !fuse_available("what_fsync_acknowledged_survives_a_kill_and_is_published_after") {
        return;
    }
    let node = Node::new();
    let name = key_gen(&node, "notes");
    let mount = node.mount();
    let path = mount.ipns_path("notes/synced.txt");
    let mut file = std::fs::File::create(&path).unwrap();
    std::io::Write::write_all(&mut file, b"acknowledged\n").unwrap();
    file.sync_all().unwrap();
    mount.kill_hard();
    let mount = node.mount();
    assert_eq!(
        std::fs::read_to_string(mount.ipns_path("notes/synced.txt")).unwrap(),
        "acknowledged\n"
    );
    wait_for(Duration::from_secs(10), "the tree published", || {
        let out = node.run(&["cat", &format!("/ipns/{name}/synced.txt")]);
        (out.stdout == b"acknowledged\n").then_some(())
    });
}
