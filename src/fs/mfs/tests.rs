use std::sync::Mutex as StdMutex;

use super::*;
use crate::blockstore::MemoryBlockstore;
use crate::codec::cid_string;
use crate::mfs::history;
use crate::unixfs::dir;
use crate::unixfs::node::Kind;

/// Roots and history heads persisted so far.
type Persisted = Arc<StdMutex<Vec<(Cid, Cid)>>>;

struct Setup {
    fs: MfsFs,
    store: Arc<MemoryBlockstore>,
    saved: Persisted,
}

/// An empty tree over `store`, and the roots it persists.
fn empty_tree(store: Arc<dyn Blockstore>) -> (MfsFs, Persisted) {
    let empty = dir::build_directory(store.as_ref(), Vec::new(), &DirOptions::default())
        .unwrap()
        .cid;
    let saved = Arc::new(StdMutex::new(Vec::new()));
    let sink = Arc::clone(&saved);
    let persist: PersistRoot = Box::new(move |root: &Cid, head: &Cid| {
        sink.lock().unwrap().push((*root, *head));
        Ok(())
    });
    let fs = MfsFs::new(store, empty, None, Caller::default(), persist).unwrap();
    (fs, saved)
}

fn setup() -> Setup {
    let store = Arc::new(MemoryBlockstore::new());
    let (fs, saved) = empty_tree(store.clone());
    Setup { fs, store, saved }
}

fn file(fs: &MfsFs, parent: u64, name: &str, data: &[u8]) -> u64 {
    let (attr, fh) = fs.create(Caller::default(), parent, name, 0o644).unwrap();
    fs.write(attr.ino, 0, data).unwrap();
    fs.flush_handle(fh).unwrap();
    fs.release(fh);
    attr.ino
}

pub(super) fn dir_node(fs: &MfsFs, parent: u64, name: &str) -> u64 {
    fs.make(
        Caller::default(),
        parent,
        name,
        &NewNode::of(FileKind::Directory, 0o755),
    )
    .unwrap()
    .ino
}

#[test]
fn a_flushed_tree_has_the_cids_add_gives() {
    let s = setup();
    file(&s.fs, ROOT_INO, "hello.txt", b"Hello World!\n");
    let root = s.fs.sync(true).unwrap();
    // `add -w` of hello.txt (Kubo): the same directory.
    assert_eq!(
        cid_string(&root),
        "QmSh4Xjoy16v6XmnREE1yCrPM1dnizZc2h6LfrqXsnbBV7"
    );
    let saved = s.saved.lock().unwrap().clone();
    assert_eq!(saved.last().unwrap().0, root);
    let commit = history::read(s.store.as_ref(), &saved.last().unwrap().1).unwrap();
    assert_eq!(commit.root, root);
}

#[test]
fn posix_errors() {
    let s = setup();
    let d = dir_node(&s.fs, ROOT_INO, "d");
    file(&s.fs, d, "f", b"x");
    let mkdir = |name: &str| {
        s.fs.make(
            Caller::default(),
            ROOT_INO,
            name,
            &NewNode::of(FileKind::Directory, 0o755),
        )
    };
    assert_eq!(mkdir("d").unwrap_err(), FsError::Exists);
    assert_eq!(mkdir(&"n".repeat(256)).unwrap_err(), FsError::NameTooLong);
    assert_eq!(s.fs.rmdir(ROOT_INO, "d").unwrap_err(), FsError::NotEmpty);
    assert_eq!(
        s.fs.unlink(ROOT_INO, "d").unwrap_err(),
        FsError::IsADirectory
    );
    assert_eq!(
        s.fs.rename(ROOT_INO, "d", d, "inside", RenameMode::Replace)
            .unwrap_err(),
        FsError::Invalid
    );
    file(&s.fs, ROOT_INO, "g", b"y");
    assert_eq!(
        s.fs.rename(ROOT_INO, "g", d, "f", RenameMode::NoReplace)
            .unwrap_err(),
        FsError::Exists
    );
    s.fs.rename(ROOT_INO, "g", d, "f", RenameMode::Replace)
        .unwrap();
    let f = s.fs.lookup(d, "f").unwrap();
    assert_eq!(&s.fs.read(f.ino, 0, 10).unwrap()[..], b"y");
    assert_eq!(s.fs.lookup(ROOT_INO, "g").unwrap_err(), FsError::NotFound);
}

#[test]
fn hard_links_share_an_inode_and_special_files_stay_out_of_the_dag() {
    let s = setup();
    let f = file(&s.fs, ROOT_INO, "a", b"shared");
    let linked = s.fs.link(f, ROOT_INO, "b").unwrap();
    assert_eq!((linked.ino, linked.nlink), (f, 2));
    s.fs.write(f, 0, b"SH").unwrap();
    let b = s.fs.lookup(ROOT_INO, "b").unwrap();
    assert_eq!(&s.fs.read(b.ino, 0, 10).unwrap()[..], b"SHared");
    s.fs.make(
        Caller::default(),
        ROOT_INO,
        "fifo",
        &NewNode::of(FileKind::Fifo, 0o644),
    )
    .unwrap();
    let root = s.fs.sync(true).unwrap();
    let names: Vec<String> = dir::list(s.store.as_ref(), &root)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn past_versions_are_read_only() {
    let s = setup();
    let f = file(&s.fs, ROOT_INO, "f", b"v1");
    s.fs.sync(true).unwrap();
    s.fs.seal_history();
    s.fs.write(f, 0, b"v2").unwrap();
    s.fs.sync(true).unwrap();
    let history = s.fs.lookup(ROOT_INO, HISTORY_DIR).unwrap();
    let listing = s.fs.readdir(history.ino).unwrap();
    assert_eq!(listing.len(), 2);
    let old = s.fs.lookup(history.ino, "1").unwrap();
    let old_f = s.fs.lookup(old.ino, "f").unwrap();
    assert_eq!(&s.fs.read(old_f.ino, 0, 10).unwrap()[..], b"v1");
    assert_eq!(old_f.perm & 0o222, 0);
    assert_eq!(s.fs.open(old_f.ino, true).unwrap_err(), FsError::ReadOnly);
    assert_eq!(s.fs.unlink(old.ino, "f").unwrap_err(), FsError::ReadOnly);
    assert_eq!(
        s.fs.rmdir(ROOT_INO, HISTORY_DIR).unwrap_err(),
        FsError::ReadOnly
    );
    // The current version is untouched.
    assert_eq!(&s.fs.read(f, 0, 10).unwrap()[..], b"v2");
}

#[test]
fn replaced_versions_leave_no_blocks_behind() {
    let s = setup();
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 253) as u8).collect();
    let f = file(&s.fs, ROOT_INO, "big", &big);
    s.fs.sync(true).unwrap();
    let after_first = s.store.len();
    // Many fsyncs within one history interval: the versions in between go.
    let fh = s.fs.open(f, true).unwrap();
    for round in 0..20u32 {
        s.fs.write(f, 500_000, &round.to_be_bytes()).unwrap();
        s.fs.sync(true).unwrap();
    }
    s.fs.release(fh);
    assert!(
        s.store.len() <= after_first + 6,
        "{} blocks after, {after_first} before",
        s.store.len()
    );
    let mut expected = big.clone();
    expected[500_000..500_004].copy_from_slice(&19u32.to_be_bytes());
    assert_eq!(s.fs.read(f, 0, 2_000_000).unwrap(), expected);
}

/// Item 8 of issue 18: the sweep of dead versions runs only when no other
/// writer holds the GC lock (an add, another MFS operation), and keeps
/// what an import running in the background has put, so nothing in flight
/// can look dead to it.
#[test]
fn dead_versions_are_swept_only_while_no_other_writer_is_at_work() {
    let s = setup();
    let gc = crate::blockstore::GcLock::new();
    let fs = s.fs.with_gc_lock(Arc::clone(&gc));
    let f = file(&fs, ROOT_INO, "f", b"first version");
    fs.sync(true).unwrap();
    let replace = |data: &[u8]| {
        let fh = fs.open(f, true).unwrap();
        fs.setattr(
            f,
            &SetAttr {
                size: Some(0),
                ..SetAttr::default()
            },
        )
        .unwrap();
        fs.write(f, 0, data).unwrap();
        fs.flush_handle(fh).unwrap();
        fs.release(fh);
        fs.cid_of(f).unwrap()
    };
    let first = fs.cid_of(f).unwrap();

    let other_writer = gc.pin_guard();
    let second = replace(b"second version");
    fs.sync(true).unwrap();
    assert!(
        s.store.has(&first).unwrap(),
        "swept under another writer's guard"
    );
    drop(other_writer);

    // An import into the tree runs in the background (past 4 MiB).
    let big: Vec<u8> = (0..5u32 << 20).map(|i| (i % 251) as u8).collect();
    let (attr, fh) = fs
        .create(Caller::default(), ROOT_INO, "big", 0o644)
        .unwrap();
    fs.write(attr.ino, 0, &big).unwrap();
    replace(b"third version");
    // The sweep may run now: it keeps what the import has put so far.
    fs.sync(false).unwrap();

    fs.flush_handle(fh).unwrap();
    fs.release(fh);
    fs.sync(true).unwrap();
    assert!(!s.store.has(&first).unwrap() && !s.store.has(&second).unwrap());
    assert_eq!(fs.read(attr.ino, 0, 6 << 20).unwrap(), big);
    assert_eq!(&fs.read(f, 0, 100).unwrap()[..], b"third version");
}

/// A collection between two writes of a file imported in the background:
/// it neither waits for the import (which waits for the next write) nor
/// deletes what the import has put so far.
#[test]
fn a_collection_between_writes_of_a_streaming_file_keeps_its_blocks() {
    use std::time::{Duration, Instant};
    let s = setup();
    let gc = crate::blockstore::GcLock::new();
    let fs = Arc::new(s.fs.with_gc_lock(Arc::clone(&gc)));
    // Every 256 KiB chunk different, so every leaf is a new block.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let data: Vec<u8> = (0..12u32 << 20)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 56) as u8
        })
        .collect();
    let (attr, fh) = fs
        .create(Caller::default(), ROOT_INO, "big", 0o644)
        .unwrap();
    let before = s.store.len();
    fs.write(attr.ino, 0, &data[..6 << 20]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.store.len() < before + 8 {
        assert!(Instant::now() < deadline, "the import stored nothing");
        std::thread::yield_now();
    }
    let (done, collected) = std::sync::mpsc::channel();
    {
        let (gc, fs, store) = (Arc::clone(&gc), Arc::clone(&fs), Arc::clone(&s.store));
        std::thread::spawn(move || {
            let _collecting = gc.gc_guard();
            let keep = crate::dag::reachable(store.as_ref(), &fs.live_roots()).unwrap();
            for key in store.all_keys().unwrap() {
                if !keep.contains(&key.hash().to_bytes()) {
                    store.delete(&key).unwrap();
                }
            }
            done.send(()).unwrap();
        });
    }
    collected
        .recv_timeout(Duration::from_secs(20))
        .expect("the collection waited for the background import");
    fs.write(attr.ino, 6 << 20, &data[6 << 20..]).unwrap();
    fs.flush_handle(fh).unwrap();
    fs.release(fh);
    fs.sync(true).unwrap();
    assert!(fs.read(attr.ino, 0, 13 << 20).unwrap() == data);
}

#[derive(Default)]
struct MemoryAttrs(StdMutex<std::collections::HashMap<Cid, Vec<(String, SavedAttr)>>>);

impl AttrStore for MemoryAttrs {
    fn load(&self, dir: &Cid) -> Option<Vec<(String, SavedAttr)>> {
        self.0.lock().unwrap().get(dir).cloned()
    }
    fn save(&self, dir: &Cid, entries: &[(String, SavedAttr)]) {
        self.0.lock().unwrap().insert(*dir, entries.to_vec());
    }
}

#[test]
fn attributes_and_special_files_survive_a_reopen() {
    let s = setup();
    let attrs: Arc<MemoryAttrs> = Arc::new(MemoryAttrs::default());
    let fs = s.fs.with_attrs(attrs.clone());
    let d = dir_node(&fs, ROOT_INO, "d");
    let f = file(&fs, d, "f", b"content");
    let when = UnixTime {
        seconds: 1_000_000_000,
        nanos: 5,
    };
    fs.setattr(
        f,
        &SetAttr {
            mode: Some(0o600),
            uid: Some(1001),
            mtime: Some(Some(when)),
            ..SetAttr::default()
        },
    )
    .unwrap();
    fs.setattr(
        ROOT_INO,
        &SetAttr {
            mode: Some(0o700),
            ..SetAttr::default()
        },
    )
    .unwrap();
    fs.make(
        Caller::default(),
        d,
        "pipe",
        &NewNode::of(FileKind::Fifo, 0o640),
    )
    .unwrap();
    let root = fs.sync(true).unwrap();
    // The same content CID as without any attributes.
    let plain = setup();
    let pd = dir_node(&plain.fs, ROOT_INO, "d");
    file(&plain.fs, pd, "f", b"content");
    assert_eq!(plain.fs.sync(true).unwrap(), root);

    let again = reopen(s.store.clone(), root).with_attrs(attrs);
    assert_eq!(again.getattr(ROOT_INO).unwrap().perm, 0o700);
    let d = again.lookup(ROOT_INO, "d").unwrap();
    let f = again.lookup(d.ino, "f").unwrap();
    assert_eq!((f.perm, f.uid, f.mtime), (0o600, 1001, when));
    let pipe = again.lookup(d.ino, "pipe").unwrap();
    assert_eq!((pipe.kind, pipe.perm), (FileKind::Fifo, 0o640));
}

/// Opens the tree stored at `root` afresh, as a new mount or command would.
fn reopen(store: Arc<dyn Blockstore>, root: Cid) -> MfsFs {
    MfsFs::new(
        store,
        root,
        None,
        Caller::default(),
        Box::new(|_: &Cid, _: &Cid| Ok(())),
    )
    .unwrap()
}

fn read_path(fs: &MfsFs, path: &str) -> Vec<u8> {
    let mut out = Vec::new();
    fs.path_read(path, 0, None, &mut out).unwrap();
    out
}

#[test]
fn an_unvisited_directory_moves_by_path_and_keeps_its_content() {
    let s = setup();
    let a = dir_node(&s.fs, ROOT_INO, "a");
    let b = dir_node(&s.fs, a, "b");
    let c = dir_node(&s.fs, b, "c");
    file(&s.fs, c, "deep", b"deep content");
    file(&s.fs, b, "g", b"g content");
    let root = s.fs.sync(true).unwrap();

    // Nothing below the root has been read by the fresh tree.
    let fresh = reopen(s.store.clone(), root);
    fresh.path_mv("/a/b", "/x").unwrap();
    assert_eq!(read_path(&fresh, "/x/g"), b"g content");
    let moved = fresh.path_stat("/x").unwrap();
    assert_eq!(moved.kind, Kind::Directory);
    let new_root = fresh.sync(true).unwrap();

    let again = reopen(s.store.clone(), new_root);
    assert_eq!(read_path(&again, "/x/c/deep"), b"deep content");
    assert_eq!(read_path(&again, "/x/g"), b"g content");
    assert_eq!(again.path_stat("/x").unwrap().cid, moved.cid);
    assert_eq!(again.resolve("/a/b").unwrap_err(), FsError::NotFound);
}

#[test]
fn an_unvisited_directory_whose_attributes_change_is_rebuilt_from_its_entries() {
    let s = setup();
    let a = dir_node(&s.fs, ROOT_INO, "a");
    let b = dir_node(&s.fs, a, "b");
    file(&s.fs, b, "f", b"f content");
    let root = s.fs.sync(true).unwrap();

    let fresh = reopen(s.store.clone(), root);
    let a = fresh.resolve("/a").unwrap();
    // Only the name is looked up in /a; /a/b itself is not read.
    let b = fresh.tree().child(&*fresh.store, a, "b").unwrap().unwrap();
    fresh.tree().mark_dirty(b);
    assert_eq!(fresh.sync(true).unwrap(), root);
    assert_eq!(read_path(&fresh, "/a/b/f"), b"f content");
}

/// What a `Faulty` store does before it reads or writes.
trait Faults: Send + Sync {
    fn before_get(&self, _cid: &Cid) {}
    fn before_put(&self, _inner: &MemoryBlockstore, _cid: &Cid) -> crate::blockstore::Result<()> {
        Ok(())
    }
}

/// A memory store with faults: the disk and network troubles tests need.
struct Faulty<F: Faults> {
    inner: Arc<MemoryBlockstore>,
    faults: F,
}

impl<F: Faults> Blockstore for Faulty<F> {
    fn get(&self, cid: &Cid) -> crate::blockstore::Result<Option<Vec<u8>>> {
        self.faults.before_get(cid);
        self.inner.get(cid)
    }
    fn has(&self, cid: &Cid) -> crate::blockstore::Result<bool> {
        self.inner.has(cid)
    }
    fn put(&self, cid: &Cid, data: &[u8]) -> crate::blockstore::Result<()> {
        self.faults.before_put(&self.inner, cid)?;
        self.inner.put(cid, data)
    }
    fn delete(&self, cid: &Cid) -> crate::blockstore::Result<bool> {
        self.inner.delete(cid)
    }
    fn sync(&self) -> crate::blockstore::Result<()> {
        Ok(())
    }
    fn all_keys(&self) -> crate::blockstore::Result<Vec<Cid>> {
        self.inner.all_keys()
    }
}

/// A disk that can be made full: every new block then fails with ENOSPC.
#[derive(Default)]
struct FullDisk {
    full: std::sync::atomic::AtomicBool,
}

impl Faults for FullDisk {
    fn before_put(&self, inner: &MemoryBlockstore, cid: &Cid) -> crate::blockstore::Result<()> {
        if self.full.load(Ordering::SeqCst) && !inner.has(cid)? {
            return Err(crate::blockstore::BlockstoreError::Io {
                path: "blocks/test".into(),
                source: std::io::Error::from_raw_os_error(libc::ENOSPC),
            });
        }
        Ok(())
    }
}

type Fullable = Faulty<FullDisk>;

impl Fullable {
    fn set_full(&self, full: bool) {
        self.faults.full.store(full, Ordering::SeqCst);
    }
}

fn fullable_setup() -> (MfsFs, Arc<Fullable>, Persisted) {
    let store = Arc::new(Fullable {
        inner: Arc::new(MemoryBlockstore::new()),
        faults: FullDisk::default(),
    });
    let (fs, saved) = empty_tree(store.clone());
    (fs, store, saved)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn a_full_disk_leaves_every_file_at_its_last_durable_content() {
    let (fs, store, saved) = fullable_setup();
    let kept = pattern(3 << 20, 1);
    let keep = file(&fs, ROOT_INO, "keep", &kept);
    let durable_root = fs.sync(true).unwrap();

    store.set_full(true);
    // An append that cannot be stored: the writer hears of it, the file
    // keeps its durable bytes.
    let fh = fs.open(keep, true).unwrap();
    fs.write(keep, kept.len() as u64, &pattern(1 << 20, 2))
        .unwrap();
    assert_eq!(fs.flush_handle(fh).unwrap_err(), FsError::NoSpace);
    assert_eq!(
        fs.write(keep, 0, b"more").unwrap_err(),
        FsError::NoSpace,
        "writes fail until the writer closes"
    );
    fs.release(fh);
    assert_eq!(read_path(&fs, "/keep"), kept);

    // A new file large enough to stream: empty, not half-written.
    let (attr, fh) = fs
        .create(Caller::default(), ROOT_INO, "new", 0o644)
        .unwrap();
    let mut failed = None;
    for piece in 0..16u64 {
        if let Err(err) = fs.write(attr.ino, piece << 20, &pattern(1 << 20, 3)) {
            failed = Some(err);
            break;
        }
    }
    let closed = fs.flush_handle(fh);
    fs.release(fh);
    assert_eq!(failed.or(closed.err()), Some(FsError::NoSpace));
    assert_eq!(fs.getattr(attr.ino).unwrap().size, 0);

    // Metadata still answers on the full disk.
    assert_eq!(fs.path_stat("/keep").unwrap().size, kept.len() as u64);
    assert_eq!(fs.path_stat("/").unwrap().kind, Kind::Directory);
    let names: Vec<String> = fs
        .path_ls("/")
        .unwrap()
        .into_iter()
        .map(|e| e.0.name)
        .collect();
    assert_eq!(names, ["keep", "new"]);
    assert!(fs.sync(true).is_err(), "nothing new can be stored");
    assert_eq!(saved.lock().unwrap().last().unwrap().0, durable_root);

    // With room again, the tree is written out as it stands.
    store.set_full(false);
    let root = fs.sync(true).unwrap();
    let again = reopen(store.clone(), root);
    assert_eq!(read_path(&again, "/keep"), kept);
    assert_eq!(read_path(&again, "/new"), b"");
}

/// Reads of one block wait, once the gate is armed, until the test lets
/// them go, as a block asked of the network that does not come.
struct Gate {
    gated: Cid,
    armed: AtomicBool,
    reached: std::sync::mpsc::SyncSender<()>,
    open: std::sync::Condvar,
    released: StdMutex<bool>,
}

impl Faults for Gate {
    fn before_get(&self, cid: &Cid) {
        if *cid != self.gated || !self.armed.load(Ordering::SeqCst) {
            return;
        }
        let _ = self.reached.try_send(());
        let mut released = self.released.lock().unwrap();
        while !*released {
            released = self.open.wait(released).unwrap();
        }
    }
}

impl Gate {
    fn release(&self) {
        *self.released.lock().unwrap() = true;
        self.open.notify_all();
    }
}

/// A tree with `/slow/inside` and `/fast/near`, reopened over a store whose
/// gate holds back the block of `/slow/inside` once armed; and the receiver
/// told when a read reaches the gate.
fn slow_and_fast(armed: bool) -> (Arc<MfsFs>, Arc<Faulty<Gate>>, std::sync::mpsc::Receiver<()>) {
    let s = setup();
    let slow = dir_node(&s.fs, ROOT_INO, "slow");
    file(&s.fs, slow, "inside", b"far away");
    let fast = dir_node(&s.fs, ROOT_INO, "fast");
    file(&s.fs, fast, "near", b"close by");
    let root = s.fs.sync(true).unwrap();
    let gated = s.fs.path_cid("/slow/inside").unwrap();
    let (reached, blocked) = std::sync::mpsc::sync_channel(1);
    let store = Arc::new(Faulty {
        inner: s.store.clone(),
        faults: Gate {
            gated,
            armed: AtomicBool::new(armed),
            reached,
            open: std::sync::Condvar::new(),
            released: StdMutex::new(false),
        },
    });
    let fs = Arc::new(reopen(store.clone(), root));
    (fs, store, blocked)
}

/// Runs `work` on its own thread (so that a tree held by someone waiting
/// fails the test instead of hanging it) and returns how long it took.
fn time_elsewhere(fs: &Arc<MfsFs>, work: impl FnOnce(&MfsFs) + Send + 'static) -> Duration {
    let (done, finished) = std::sync::mpsc::channel();
    let fs = Arc::clone(fs);
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        work(&fs);
        let _ = done.send(started.elapsed());
    });
    finished
        .recv_timeout(Duration::from_secs(5))
        .expect("work elsewhere waited for the block that does not come")
}

fn assert_quick(took: Duration) {
    assert!(
        took < Duration::from_millis(100),
        "work elsewhere took {took:?} while a block was waited for"
    );
}

#[test]
fn a_directory_whose_blocks_do_not_come_delays_no_one_else() {
    let (fs, store, blocked) = slow_and_fast(true);
    let listing = {
        let fs = Arc::clone(&fs);
        std::thread::spawn(move || {
            let slow = fs.lookup(ROOT_INO, "slow")?.ino;
            fs.readdir(slow)
        })
    };
    blocked
        .recv_timeout(Duration::from_secs(10))
        .expect("the listing of /slow waits for its block");

    let took = time_elsewhere(&fs, |fs| {
        let names: Vec<String> = fs
            .readdir(ROOT_INO)
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["fast", "slow", HISTORY_DIR]);
        assert_eq!(read_path(fs, "/fast/near"), b"close by");
        let fast = fs.resolve("/fast").unwrap();
        file(fs, fast, "new", b"written meanwhile");
        fs.sync(false).unwrap();
    });
    let still_waiting = !listing.is_finished();
    store.faults.release();
    assert_quick(took);
    assert!(still_waiting, "the listing of /slow was still waiting");
    let listed = listing.join().unwrap().unwrap();
    assert_eq!(listed[0].name, "inside");
}

#[test]
fn a_file_whose_blocks_do_not_come_delays_no_one_else() {
    let (fs, store, blocked) = slow_and_fast(false);
    let slow = fs.resolve("/slow").unwrap();
    let inside = fs.resolve("/slow/inside").unwrap();
    store.faults.armed.store(true, Ordering::SeqCst);
    // A write into the middle of the file needs the bytes around it.
    let writer = {
        let fs = Arc::clone(&fs);
        std::thread::spawn(move || {
            let fh = fs.open(inside, true)?;
            fs.write(inside, 2, b"XX")?;
            fs.flush_handle(fh)?;
            fs.release(fh);
            Ok::<_, FsError>(())
        })
    };
    blocked
        .recv_timeout(Duration::from_secs(10))
        .expect("the write waits for the file's block");

    // `ls -l` of its directory, a flush of what is not open, work elsewhere.
    let took = time_elsewhere(&fs, move |fs| {
        let listed = fs.readdir(slow).unwrap();
        assert_eq!(
            (listed[0].name.as_str(), listed[0].attr.size),
            ("inside", 8)
        );
        assert_eq!(read_path(fs, "/fast/near"), b"close by");
        let fast = fs.resolve("/fast").unwrap();
        file(fs, fast, "new", b"written meanwhile");
        fs.sync(false).unwrap();
        fs.path_cid("/fast").unwrap();
    });
    let still_waiting = !writer.is_finished();
    store.faults.release();
    assert_quick(took);
    assert!(still_waiting, "the write was still waiting");
    writer.join().unwrap().unwrap();
    assert_eq!(read_path(&fs, "/slow/inside"), b"faXXaway");
    let root = fs.sync(true).unwrap();
    assert_eq!(
        read_path(&reopen(store.clone(), root), "/slow/inside"),
        b"faXXaway"
    );
}

#[test]
fn a_flush_that_waits_for_a_directory_delays_no_one_else() {
    let (fs, store, blocked) = slow_and_fast(false);
    // A change to a directory nobody has read: the flush must read it.
    let slow = fs.lookup(ROOT_INO, "slow").unwrap().ino;
    fs.setattr(
        slow,
        &SetAttr {
            mode: Some(0o700),
            ..SetAttr::default()
        },
    )
    .unwrap();
    store.faults.armed.store(true, Ordering::SeqCst);
    let flush = {
        let fs = Arc::clone(&fs);
        std::thread::spawn(move || fs.sync(false))
    };
    blocked
        .recv_timeout(Duration::from_secs(10))
        .expect("the flush waits for the directory's entries");

    let took = time_elsewhere(&fs, |fs| {
        assert_eq!(fs.readdir(ROOT_INO).unwrap().len(), 3);
        assert_eq!(read_path(fs, "/fast/near"), b"close by");
        let fast = fs.resolve("/fast").unwrap();
        file(fs, fast, "new", b"written meanwhile");
        fs.path_cid("/fast").unwrap();
    });
    let still_waiting = !flush.is_finished();
    store.faults.release();
    assert_quick(took);
    assert!(still_waiting, "the flush was still waiting");
    let root = flush.join().unwrap().unwrap();
    let again = reopen(store.clone(), root);
    assert_eq!(read_path(&again, "/slow/inside"), b"far away");
    assert_eq!(read_path(&again, "/fast/new"), b"written meanwhile");
}
