//! The read-only /ipfs mount, mounted for real and used with std::fs and
//! real tools (cp, tar, find, du, sha256sum).

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use mount_tests::{Node, fuse_available};

fn add_tree(node: &Node) -> String {
    node.make_tree("tree");
    node.ok(&["add", "-Q", "-r", "tree"]).trim().to_string()
}

fn files_under(root: &Path) -> Vec<String> {
    let out = Command::new("find")
        .arg(".")
        .arg("-type")
        .arg("f")
        .current_dir(root)
        .output()
        .expect("find");
    assert!(out.status.success());
    let mut files: Vec<String> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_string)
        .collect();
    files.sort();
    files
}

/// The directories under `root` that `add -r` takes (no hidden ones), `.` first.
fn dirs_under(root: &Path) -> Vec<String> {
    let out = Command::new("find")
        .args([
            ".", "-type", "d", "-not", "-path", "*/.*/*", "-not", "-name", ".?*",
        ])
        .current_dir(root)
        .output()
        .expect("find");
    assert!(out.status.success());
    let mut dirs: Vec<String> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_string)
        .collect();
    dirs.sort();
    assert!(dirs.len() > 3, "the tree has nested directories: {dirs:?}");
    dirs
}

/// Subdirectories of `dir` that are not hidden (symlinks not followed).
fn subdirs_of(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry"))
        .filter(|e| e.file_type().expect("type").is_dir())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .count() as u64
}

#[test]
fn every_file_reads_back_identically() {
    if !fuse_available("every_file_reads_back_identically") {
        return;
    }
    let node = Node::new();
    let root = add_tree(&node);
    let mount = node.mount();
    let source = node.work().join("tree");
    let mounted = mount.path(&root);
    let expected = files_under(&source)
        .into_iter()
        .filter(|f| !f.starts_with("./."))
        .collect::<Vec<_>>();
    assert_eq!(
        files_under(&mounted),
        expected,
        "find -type f lists the same files"
    );
    for rel in &expected {
        let a = std::fs::read(source.join(rel)).expect("source");
        let b = std::fs::read(mounted.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"));
        assert!(a == b, "{rel} differs");
    }
    let sums = |dir: &Path| {
        let out = Command::new("sha256sum")
            .arg("sizes/s45613057.bin")
            .current_dir(dir)
            .output()
            .expect("sha256sum");
        String::from_utf8(out.stdout).expect("utf-8")
    };
    assert_eq!(sums(&source), sums(&mounted));
}

#[test]
fn listings_attributes_links_and_xattrs() {
    if !fuse_available("listings_attributes_links_and_xattrs") {
        return;
    }
    let node = Node::new();
    let root = add_tree(&node);
    let v1 = node
        .ok(&[
            "add",
            "-Q",
            "--pin=false",
            "--cid-version",
            "1",
            "tree/hello.txt",
        ])
        .trim()
        .to_string();
    let mount = node.mount();
    let source = node.work().join("tree");
    let mounted = mount.path(&root);

    for dir in [".", "sharded", "with space/nested"] {
        let names = |base: &Path| {
            let mut v: Vec<String> = std::fs::read_dir(base.join(dir))
                .expect("read_dir")
                .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
                .filter(|n| !n.starts_with('.'))
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(&mounted), names(&source), "listing of {dir}");
    }

    let hello = std::fs::metadata(mounted.join("hello.txt")).expect("stat");
    assert_eq!(hello.len(), 13);
    assert_eq!(hello.permissions().mode() & 0o7777, 0o444);
    assert_eq!(hello.nlink(), 1);
    assert_eq!(hello.blocks(), 1);
    let big = std::fs::metadata(mounted.join("sizes/s45613057.bin")).expect("stat");
    assert_eq!(big.len(), 45_613_057);
    assert_eq!(big.blocks(), 45_613_057u64.div_ceil(512));
    let dir = std::fs::metadata(mounted.join("sizes")).expect("stat");
    assert!(dir.is_dir());
    assert_eq!(dir.permissions().mode() & 0o7777, 0o555);
    let again = std::fs::metadata(mount.path(&format!("{root}/sizes"))).expect("stat");
    assert_eq!(dir.ino(), again.ino(), "inodes are stable");
    for rel in dirs_under(&source) {
        assert_eq!(
            std::fs::metadata(mounted.join(&rel)).expect("stat").nlink(),
            2 + subdirs_of(&source.join(&rel)),
            "nlink of {rel}: 2 and one per (visible) subdirectory, as on disk"
        );
    }

    assert_eq!(
        std::fs::read_link(mounted.join("link-to-hello")).expect("readlink"),
        Path::new("hello.txt")
    );
    assert_eq!(
        std::fs::read_to_string(mounted.join("link-to-hello")).expect("follow"),
        "Hello World!\n"
    );

    let cid = xattr(&mounted.join("hello.txt"), "user.ipfs.cid").expect("user.ipfs.cid");
    assert_eq!(cid, "QmfM2r8seH2GiRaC4esTjeraXEachRt8ZsSeGaWTPLyMoG");
    assert_eq!(xattr(&mounted, "user.ipfs.cid").expect("root cid"), root);
    assert_eq!(
        xattr(&mounted, "user.ipfs.type").expect("type"),
        "directory"
    );
    assert_eq!(
        xattr(&mounted.join("hello.txt"), "user.ipfs.size").expect("size"),
        "21"
    );
    assert_eq!(
        xattr(&mounted.join("hello.txt"), "user.nope"),
        Err(libc::ENODATA)
    );
    assert_eq!(
        xattr(&mounted.join("hello.txt"), "security.selinux"),
        Err(libc::EOPNOTSUPP),
        "only user.* attributes are supported, so ls -l stops asking"
    );
    let names = list_xattrs(&mounted.join("hello.txt"));
    assert!(names.contains(&"user.ipfs.cid".to_string()), "{names:?}");

    let root_listing: Vec<String> = std::fs::read_dir(&mount.point)
        .expect("the root is listable")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    assert_eq!(
        root_listing,
        vec![root.clone()],
        "the root lists the pinned roots"
    );
    assert_eq!(
        std::fs::metadata(mount.path("not-a-cid"))
            .expect_err("invalid name")
            .raw_os_error(),
        Some(libc::ENOENT)
    );
    assert_eq!(
        std::fs::read_to_string(mount.path(&v1)).expect("raw CIDv1 block"),
        "Hello World!\n"
    );
    let err = std::fs::write(mounted.join("new.txt"), "x").expect_err("read-only");
    assert_eq!(err.raw_os_error(), Some(libc::EROFS));
}

#[test]
fn real_tools_see_the_same_tree() {
    if !fuse_available("real_tools_see_the_same_tree") {
        return;
    }
    let node = Node::new();
    let root = add_tree(&node);
    let mount = node.mount();
    let mounted = mount.path(&root);
    let copy = node.work().join("copy");
    let status = Command::new("cp")
        .arg("-r")
        .arg(&mounted)
        .arg(&copy)
        .status()
        .expect("cp");
    assert!(status.success());
    let diff = Command::new("diff")
        .arg("-r")
        .arg("--no-dereference")
        .arg(node.work().join("tree"))
        .arg(&copy)
        .output()
        .expect("diff");
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(
        text.lines()
            .all(|l| l.starts_with("Only in") && l.contains(": .hidden")),
        "{text}"
    );
    let tar = Command::new("tar")
        .arg("cf")
        .arg(node.work().join("t.tar"))
        .arg(".")
        .current_dir(&mounted)
        .status()
        .expect("tar");
    assert!(tar.success(), "tar c through the mount");
    let du = Command::new("du")
        .arg("-s")
        .arg(&mounted)
        .output()
        .expect("du");
    assert!(du.status.success());
    let kib: u64 = String::from_utf8_lossy(&du.stdout)
        .split_whitespace()
        .next()
        .expect("du")
        .parse()
        .expect("number");
    assert!(
        kib >= 45_613_057 / 1024,
        "du counts the big file: {kib} KiB"
    );
}

#[test]
fn concurrent_random_reads_and_seeks() {
    if !fuse_available("concurrent_random_reads_and_seeks") {
        return;
    }
    let node = Node::new();
    let root = add_tree(&node);
    let mount = node.mount();
    let source = std::fs::read(node.work().join("tree/sizes/s45613057.bin")).expect("source");
    let path = mount.path(&format!("{root}/sizes/s45613057.bin"));
    std::thread::scope(|scope| {
        for worker in 0..8u64 {
            let (source, path) = (&source, &path);
            scope.spawn(move || {
                let mut file = std::fs::File::open(path).expect("open");
                let mut state = worker.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                for _ in 0..200 {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let offset = state % source.len() as u64;
                    let len = (state >> 40) as usize % 300_000 + 1;
                    file.seek(SeekFrom::Start(offset)).expect("seek");
                    let mut buf = vec![0u8; len];
                    let mut got = 0;
                    while got < len {
                        let n = file.read(&mut buf[got..]).expect("read");
                        if n == 0 {
                            break;
                        }
                        got += n;
                    }
                    let end = (offset as usize + len).min(source.len());
                    assert!(
                        buf[..got] == source[offset as usize..end],
                        "worker {worker} at {offset}+{len}"
                    );
                }
            });
        }
    });
    let mut file = std::fs::File::open(&path).expect("open");
    file.seek(SeekFrom::Start(source.len() as u64 + 1000))
        .expect("seek past the end");
    let mut buf = [0u8; 16];
    assert_eq!(file.read(&mut buf).expect("read past the end"), 0);
}

#[test]
fn missing_blocks_give_eio_promptly_and_the_mount_survives() {
    if !fuse_available("missing_blocks_give_eio_promptly_and_the_mount_survives") {
        return;
    }
    let node = Node::new();
    node.make_tree("tree");
    let root = node
        .ok(&["add", "-Q", "-r", "--pin=false", "tree"])
        .trim()
        .to_string();
    // Remove one leaf of s262145.bin (its 1-byte second chunk) from the repo.
    let refs = node.ok(&["refs", &format!("{root}/sizes/s262145.bin")]);
    let leaf = refs.lines().last().expect("two leaves").to_string();
    node.ok(&["block", "rm", &leaf]);
    let mount = node.mount();
    let start = Instant::now();
    let err = std::fs::read(mount.path(&format!("{root}/sizes/s262145.bin")))
        .expect_err("a block is missing");
    assert_eq!(err.raw_os_error(), Some(libc::EIO));
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "EIO took {:?}",
        start.elapsed()
    );
    assert_eq!(
        std::fs::read_to_string(mount.path(&format!("{root}/hello.txt"))).expect("still usable"),
        "Hello World!\n"
    );
}

#[test]
fn a_killed_mount_can_be_mounted_again() {
    if !fuse_available("a_killed_mount_can_be_mounted_again") {
        return;
    }
    let node = Node::new();
    let root = add_tree(&node);
    let mount = node.mount();
    assert!(mount.path(&root).is_dir());
    mount.kill_hard();
    let again = node.mount();
    let text = std::fs::read_to_string(again.path(&format!("{root}/hello.txt")));
    assert_eq!(
        text.ok().as_deref(),
        Some("Hello World!\n"),
        "{}",
        node.mount_log()
    );
    again.stop();
}

fn xattr(path: &Path, name: &str) -> Result<String, i32> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path");
    let c_name = std::ffi::CString::new(name).expect("name");
    let mut buf = vec![0u8; 256];
    // SAFETY: valid C strings and a buffer of the length we pass.
    let n = unsafe {
        libc::getxattr(
            c_path.as_ptr(),
            c_name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    buf.truncate(n as usize);
    Ok(String::from_utf8(buf).expect("utf-8 value"))
}

fn list_xattrs(path: &Path) -> Vec<String> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path");
    let mut buf = vec![0u8; 1024];
    // SAFETY: valid C string and a buffer of the length we pass.
    let n = unsafe { libc::listxattr(c_path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    assert!(n >= 0, "listxattr failed");
    buf.truncate(n as usize);
    buf.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

#[test]
fn preserved_mode_and_mtime_show_through_the_mount() {
    if !fuse_available("preserved_mode_and_mtime_show_through_the_mount") {
        return;
    }
    let node = Node::new();
    let cid = node.add_with_metadata("script.sh", "#!/bin/sh\necho hi\n", 0o751, 1_600_000_000);
    let plain = node.ok(&["add", "-Q", "script.sh"]).trim().to_string();
    assert_ne!(cid, plain, "metadata changes the CID");
    let mount = node.mount();
    let meta = std::fs::metadata(mount.path(&cid)).expect("stat");
    assert_eq!(
        meta.permissions().mode() & 0o7777,
        0o551,
        "stored mode minus write bits"
    );
    assert_eq!(meta.mtime(), 1_600_000_000);
    assert_eq!(
        std::fs::read_to_string(mount.path(&cid)).expect("read"),
        "#!/bin/sh\necho hi\n"
    );
}

#[test]
fn imported_content_without_cached_summaries_lists_correctly() {
    if !fuse_available("imported_content_without_cached_summaries_lists_correctly") {
        return;
    }
    let node = Node::new();
    let car = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/path_gateway_unixfs/dir-with-files.car");
    node.ok(&["dag", "import", car.to_str().expect("utf-8 path")]);
    let mount = node.mount();
    let dir = mount.path("bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy");
    let mut sizes: Vec<(String, u64)> = std::fs::read_dir(&dir)
        .expect("list")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().into_string().expect("utf-8"),
                e.metadata().expect("stat").len(),
            )
        })
        .collect();
    sizes.sort();
    assert_eq!(
        sizes,
        [
            ("ascii-copy.txt".to_string(), 31),
            ("ascii.txt".to_string(), 31),
            ("hello.txt".to_string(), 12),
            ("multiblock.txt".to_string(), 1026)
        ]
    );
    assert_eq!(
        std::fs::read(dir.join("multiblock.txt"))
            .expect("read")
            .len(),
        1026
    );
}

#[test]
fn imported_directories_learn_their_link_counts_from_a_listing() {
    if !fuse_available("imported_directories_learn_their_link_counts_from_a_listing") {
        return;
    }
    let adder = Node::new();
    let root = add_tree(&adder);
    let car = adder.work().join("tree.car");
    std::fs::write(&car, adder.ok_bytes(&["dag", "export", &root])).expect("write car");
    let source = adder.work().join("tree");

    let node = Node::new();
    node.ok(&["dag", "import", car.to_str().expect("utf-8 path")]);
    let mount = node.mount();
    let mounted = mount.path(&root);
    assert_eq!(
        std::fs::metadata(&mounted).expect("stat").nlink(),
        1,
        "an imported directory's subdirectories are not counted before it is listed"
    );
    let visible = files_under(&source)
        .into_iter()
        .filter(|f| !f.starts_with("./."))
        .count();
    assert_eq!(
        files_under(&mounted).len(),
        visible,
        "find walks the whole tree"
    );
    mount.stop();

    let mount = node.mount();
    let mounted = mount.path(&root);
    for rel in dirs_under(&source) {
        assert_eq!(
            std::fs::metadata(mounted.join(&rel)).expect("stat").nlink(),
            2 + subdirs_of(&source.join(&rel)),
            "nlink of {rel} after it was listed once"
        );
    }
}

#[test]
fn an_imported_hamt_lists_from_its_blocks_and_then_from_the_record() {
    if !fuse_available("an_imported_hamt_lists_from_its_blocks_and_then_from_the_record") {
        return;
    }
    let node = Node::new();
    let car = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../shared/fixtures/trustless_gateway_car/single-layer-hamt-with-multi-block-files.car",
    );
    node.ok(&["dag", "import", car.to_str().expect("utf-8 path")]);
    let root = "bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i";
    let expected: Vec<String> = {
        let mut names: Vec<String> = (1..=1000).map(|i| format!("{i}.txt")).collect();
        names.sort();
        names
    };
    for round in [
        "from the shard blocks",
        "from the recorded listing after a remount",
    ] {
        let mount = node.mount();
        let mut names: Vec<String> = std::fs::read_dir(mount.path(root))
            .expect("list")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        names.sort();
        assert_eq!(names, expected, "{round}");
        assert_eq!(
            std::fs::metadata(mount.path(&format!("{root}/470.txt")))
                .expect("stat")
                .len(),
            1026,
            "{round}"
        );
        mount.stop();
    }
}

#[test]
fn mount_asks_a_running_daemon_to_mount() {
    if !fuse_available("mount_asks_a_running_daemon_to_mount") {
        return;
    }
    let node = Node::new();
    let cid = add_tree(&node);
    let log = std::fs::File::create(node.dir.path().join("daemon.log")).unwrap();
    let mut daemon = node
        .cmd(&["daemon", "--offline"])
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !node.repo().join("api").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "daemon not ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let ipfs = node.dir.path().join("asked-ipfs");
    let mfs = node.dir.path().join("asked-mfs");
    let ipns = node.dir.path().join("asked-ipns");
    let said = node.ok(&[
        "mount",
        "--ipfs",
        ipfs.to_str().unwrap(),
        "--mfs",
        mfs.to_str().unwrap(),
        "--ipns",
        ipns.to_str().unwrap(),
    ]);
    assert!(said.contains("IPFS mounted at"), "{said}");
    assert!(said.contains("IPNS mounted at"), "{said}");
    let keys: Vec<_> = std::fs::read_dir(&ipns)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(keys, ["self"]);
    // The daemon serves both mounts; the mount command has returned.
    assert_eq!(
        std::fs::read(ipfs.join(&cid).join("hello.txt")).unwrap(),
        b"Hello World!\n"
    );
    std::fs::write(mfs.join("note.txt"), b"via the daemon").unwrap();
    assert_eq!(node.ok(&["files", "read", "/note.txt"]), "via the daemon");
    assert!(
        node.fails(&["mount", "--ipfs", ipfs.to_str().unwrap()])
            .contains("already mounted")
    );
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe { libc::kill(daemon.id() as i32, libc::SIGTERM) };
    assert!(daemon.wait().unwrap().success());
    assert!(!mount_tests::is_mountpoint(&ipfs) && !mount_tests::is_mountpoint(&mfs));
    assert!(!mount_tests::is_mountpoint(&ipns));
    assert_eq!(node.ok(&["files", "read", "/note.txt"]), "via the daemon");
}

#[test]
fn a_damaged_block_gives_eio_at_once_and_the_mount_survives() {
    if !fuse_available("a_damaged_block_gives_eio_at_once_and_the_mount_survives") {
        return;
    }
    let node = Node::new();
    let data = mount_tests::pseudo_random((4 << 18) + 99, 11);
    std::fs::write(node.work().join("file.bin"), &data).expect("write");
    std::fs::write(node.work().join("other.txt"), "still here\n").expect("write");
    let file = node.ok(&["add", "-Q", "file.bin"]).trim().to_string();
    let other = node.ok(&["add", "-Q", "other.txt"]).trim().to_string();
    let leaves: Vec<String> = node
        .ok(&["refs", &file])
        .lines()
        .map(str::to_string)
        .collect();
    let damaged = node.damage_block(&leaves[2]);
    let mount = node.mount();

    let start = Instant::now();
    let err = std::fs::read(mount.path(&file)).expect_err("a block is damaged");
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "EIO took {:?}",
        start.elapsed()
    );
    assert!(!damaged.exists(), "the damaged block was set aside");
    // The chunks before the damaged one still read; the damaged one never does.
    let mut reader = std::fs::File::open(mount.path(&file)).expect("open");
    let mut head = vec![0u8; 2 << 18];
    reader.read_exact(&mut head).expect("the first two chunks");
    assert!(head == data[..2 << 18]);
    let mut chunk = vec![0u8; 1 << 18];
    let err = reader
        .read_exact(&mut chunk)
        .expect_err("the damaged chunk");
    assert_eq!(err.raw_os_error(), Some(libc::EIO), "{err}");
    assert_eq!(
        std::fs::read_to_string(mount.path(&other)).expect("still usable"),
        "still here\n"
    );
    assert!(
        node.mount_log().contains(&leaves[2]),
        "the log names the block: {}",
        node.mount_log()
    );
}

/// Inodes the mount holds now (statfs's file count).
fn inodes_held(mount_point: &Path) -> u64 {
    let out = Command::new("stat")
        .args(["-f", "-c", "%c"])
        .arg(mount_point)
        .output()
        .expect("stat -f");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .parse()
        .expect("a count")
}

/// Entries under `dir`, each stat'ed, the directories listed (as `find`).
fn walk(dir: &Path) -> u64 {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        let meta = std::fs::symlink_metadata(&path).expect("stat");
        count += 1;
        if meta.is_dir() {
            count += walk(&path);
        }
    }
    count
}

#[test]
fn inodes_the_kernel_forgets_leave_the_table_and_come_back_on_lookup() {
    if !fuse_available("inodes_the_kernel_forgets_leave_the_table_and_come_back_on_lookup") {
        return;
    }
    let node = Node::new();
    let (dirs, files) = (20, 100);
    for d in 0..dirs {
        let dir = node.work().join(format!("big/d{d:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        for f in 0..files {
            std::fs::write(dir.join(format!("f{f:03}.txt")), format!("{d} {f}\n")).unwrap();
        }
    }
    let cid = node.ok(&["add", "-Q", "-r", "big"]).trim().to_string();
    let mount = node.mount();
    let root = mount.path(&cid);
    assert_eq!(walk(&root), dirs * (files + 1));
    let held = inodes_held(&mount.point);
    assert!(held > dirs * files, "{held} inodes held after the walk");

    // Dropping the kernel's dentries and inodes makes it forget them all.
    std::fs::write("/proc/sys/vm/drop_caches", "2").expect("drop_caches (needs root)");
    let started = Instant::now();
    let mut left = inodes_held(&mount.point);
    while left > 50 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
        left = inodes_held(&mount.point);
    }
    assert!(
        left <= 50,
        "{left} of {held} inodes still held after the forgets"
    );

    // Looked up again, they work.
    assert_eq!(std::fs::read(root.join("d07/f042.txt")).unwrap(), b"7 42\n");
    let ino = std::fs::metadata(root.join("d07")).unwrap().ino();
    assert_eq!(
        std::fs::metadata(root.join("d07/.")).unwrap().ino(),
        ino,
        "a directory keeps its inode while held"
    );
    assert_eq!(walk(&root), dirs * (files + 1));
    mount.stop();
}
