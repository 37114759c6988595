use std::sync::Mutex as StdMutex;

use super::*;
use crate::blockstore::{Blockstore, MemoryBlockstore};
use crate::fs::FileKind;
use crate::unixfs::dir::{DirOptions, build_directory};

const OUR_NAME: &str = "k51-self";
const OTHER_NAME: &str = "k51-other";

/// Names kept in memory: our key `self`, records by name, what was
/// published and saved.
#[derive(Default)]
struct FakeNames {
    store: Arc<MemoryBlockstore>,
    records: StdMutex<HashMap<String, RecordInfo>>,
    saved: StdMutex<HashMap<String, SavedTree>>,
    published: StdMutex<Vec<Cid>>,
}

impl NameService for FakeNames {
    fn own_keys(&self) -> Result<Vec<OwnKey>, String> {
        Ok(vec![OwnKey {
            key: "self".into(),
            name: OUR_NAME.into(),
        }])
    }

    fn resolve(&self, name: &str) -> Result<Resolution, String> {
        let record = self.records.lock().unwrap().get(name).cloned();
        let record = record.ok_or_else(|| format!("no record for {name}"))?;
        Ok(Resolution {
            path: record.value.clone(),
            record: Some(record),
        })
    }

    fn own_record(&self, name: &str) -> Option<RecordInfo> {
        (name == OUR_NAME)
            .then(|| self.records.lock().unwrap().get(name).cloned())
            .flatten()
    }

    fn publish(&self, _key: &str, root: &Cid) -> Result<RecordInfo, String> {
        let mut records = self.records.lock().unwrap();
        let sequence = records.get(OUR_NAME).map_or(0, |r| r.sequence + 1);
        let record = record(&ipfs_path(root), sequence);
        records.insert(OUR_NAME.into(), record.clone());
        self.published.lock().unwrap().push(*root);
        Ok(record)
    }

    fn saved_tree(&self, name: &str) -> Option<SavedTree> {
        self.saved.lock().unwrap().get(name).cloned()
    }

    fn save_tree(&self, name: &str, saved: &SavedTree) -> Result<(), String> {
        self.saved
            .lock()
            .unwrap()
            .insert(name.into(), saved.clone());
        Ok(())
    }

    fn open_tree(
        &self,
        root: Option<&Cid>,
        history: Option<&Cid>,
        persist: PersistRoot,
    ) -> Result<Arc<MfsFs>, String> {
        let store: Arc<dyn Blockstore> = self.store.clone();
        let root = match root {
            Some(root) => *root,
            None => {
                build_directory(store.as_ref(), Vec::new(), &DirOptions::default())
                    .map_err(|e| e.to_string())?
                    .cid
            }
        };
        MfsFs::new(store, root, history.copied(), Caller::default(), persist)
            .map(Arc::new)
            .map_err(|e| e.to_string())
    }
}

fn record(value: &str, sequence: u64) -> RecordInfo {
    RecordInfo {
        value: value.into(),
        sequence,
        eol: Some("2030-01-01T00:00:00Z".into()),
        ttl: Duration::from_secs(90),
    }
}

/// A directory holding `files`, in `store`.
fn content_dir(store: &Arc<MemoryBlockstore>, files: &[(&str, &[u8])]) -> Cid {
    let names = FakeNames {
        store: Arc::clone(store),
        ..FakeNames::default()
    };
    let tree = names
        .open_tree(None, None, Box::new(|_, _| Ok(())))
        .unwrap();
    for (name, data) in files {
        let (attr, fh) = tree
            .create(Caller::default(), mfs::ROOT_INO, name, 0o644)
            .unwrap();
        tree.write(attr.ino, 0, data).unwrap();
        tree.release(fh);
    }
    tree.sync(true).unwrap()
}

fn mount(names: &Arc<FakeNames>, debounce: Duration) -> Arc<IpnsFs> {
    let store: Arc<dyn Blockstore> = names.store.clone();
    let content = IpfsFs::new(store, Box::new(Vec::new));
    Arc::new(IpnsFs::new(names.clone(), content, debounce))
}

fn write_file(fs: &IpnsFs, parent: u64, name: &str, data: &[u8]) {
    let (attr, fh) = fs.create(Caller::default(), parent, name, 0o644).unwrap();
    fs.write(attr.ino, 0, data).unwrap();
    fs.flush_handle(fh).unwrap();
    fs.release(fh);
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(10), "{what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn another_name_shows_its_content_and_record_and_lets_go_of_it() {
    let names = Arc::new(FakeNames::default());
    let cid = content_dir(&names.store, &[("a.txt", b"hello")]);
    names
        .records
        .lock()
        .unwrap()
        .insert(OTHER_NAME.into(), record(&ipfs_path(&cid), 7));
    let fs = mount(&names, Duration::from_secs(1));
    let top = fs.lookup(ROOT, OTHER_NAME).unwrap();
    assert!(matches!(place(top.ino), Place::Name(_)));
    assert_eq!(top.kind, FileKind::Directory);
    assert_eq!(fs.ttl(top.ino), Duration::from_secs(90));
    assert_eq!(fs.getxattr(top.ino, XATTR_SEQ).unwrap(), b"7");
    assert_eq!(
        fs.getxattr(top.ino, XATTR_VALUE).unwrap(),
        ipfs_path(&cid).into_bytes()
    );
    let file = fs.lookup(top.ino, "a.txt").unwrap();
    assert_eq!(&fs.read(file.ino, 0, 100).unwrap()[..], b"hello");
    assert_eq!(
        fs.getxattr(file.ino, XATTR_SEQ),
        Err(FsError::NoAttribute),
        "the record shows on the name only"
    );
    assert_eq!(fs.open(file.ino, true), Err(FsError::ReadOnly));
    assert_eq!(
        fs.make(
            Caller::default(),
            top.ino,
            "x",
            &NewNode::of(FileKind::File, 0o644)
        ),
        Err(FsError::ReadOnly)
    );
    // The same name and content: the same inode, held twice.
    assert_eq!(fs.lookup(ROOT, OTHER_NAME).unwrap().ino, top.ino);
    fs.forget(file.ino, 1);
    fs.forget(top.ino, 1);
    assert!(fs.getattr(top.ino).is_ok());
    fs.forget(top.ino, 1);
    assert_eq!(fs.getattr(top.ino), Err(FsError::NotFound));
    assert_eq!(fs.content.inode_count(), 0, "no content held any more");
}

#[test]
fn an_unknown_name_is_not_found() {
    let names = Arc::new(FakeNames::default());
    let fs = mount(&names, Duration::from_secs(1));
    assert_eq!(fs.lookup(ROOT, "k51-nobody"), Err(FsError::NotFound));
    assert_eq!(fs.lookup(ROOT, ".hidden"), Err(FsError::NotFound));
    assert_eq!(
        fs.make(
            Caller::default(),
            ROOT,
            "x",
            &NewNode::of(FileKind::Directory, 0o755)
        ),
        Err(FsError::ReadOnly)
    );
}

#[test]
fn our_name_is_a_tree_whose_changes_are_published_at_most_once_per_debounce() {
    let names = Arc::new(FakeNames::default());
    let fs = mount(&names, Duration::from_secs(3600));
    let listing = fs.readdir(ROOT).unwrap();
    assert_eq!(listing.len(), 1);
    assert_eq!(listing[0].name, "self");
    let root = fs.lookup(ROOT, OUR_NAME).unwrap();
    assert_eq!(
        root.ino, listing[0].attr.ino,
        "key name and IPNS name alike"
    );
    assert!(matches!(place(root.ino), Place::Tree(_, mfs::ROOT_INO)));
    let publisher = spawn_publisher(Arc::clone(&fs));
    write_file(&fs, root.ino, "one.txt", b"1");
    wait_until("the first change published at once", || {
        names.published.lock().unwrap().len() == 1
    });
    // An open writer holds the publish back; later changes wait for the
    // debounce interval (an hour here).
    for i in 0..20 {
        write_file(&fs, root.ino, &format!("more-{i}.txt"), b"x");
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(names.published.lock().unwrap().len(), 1);
    fs.stop_publishing();
    publisher.join().unwrap();
    // At unmount what is left goes out.
    fs.publish_all();
    let published = names.published.lock().unwrap().clone();
    assert_eq!(published.len(), 2);
    let last = *published.last().unwrap();
    let saved = names.saved.lock().unwrap()[OUR_NAME].clone();
    assert_eq!((saved.root, saved.based_on), (last, Some(1)));
    assert!(saved.history.is_some());
    assert_eq!(
        crate::unixfs::dir::list(names.store.as_ref(), &last)
            .unwrap()
            .len(),
        21
    );
    assert_eq!(fs.getxattr(root.ino, XATTR_SEQ).unwrap(), b"1");
}

#[test]
fn a_tree_reopens_from_its_saved_root_and_follows_a_newer_record() {
    let names = Arc::new(FakeNames::default());
    let fs = mount(&names, Duration::from_secs(1));
    let root = fs.lookup(ROOT, "self").unwrap();
    write_file(&fs, root.ino, "kept.txt", b"kept");
    fs.fsync(root.ino).unwrap();
    let saved = names.saved.lock().unwrap()[OUR_NAME].clone();
    assert_eq!(saved.based_on, None, "saved before any publish");

    // A new mount starts from the saved root, not yet published.
    let again = mount(&names, Duration::from_secs(1));
    let root = again.lookup(ROOT, "self").unwrap();
    assert!(again.lookup(root.ino, "kept.txt").is_ok());
    again.publish_all();
    assert_eq!(names.published.lock().unwrap().as_slice(), &[saved.root]);

    // Someone publishes another directory for our name: the tree follows.
    let other = content_dir(&names.store, &[("new.txt", b"new")]);
    names
        .records
        .lock()
        .unwrap()
        .insert(OUR_NAME.into(), record(&ipfs_path(&other), 5));
    again.name_kept(OUR_NAME);
    assert_eq!(again.getattr(root.ino), Err(FsError::NotFound));
    let followed = again.lookup(ROOT, "self").unwrap();
    assert_ne!(followed.ino, root.ino);
    assert!(again.lookup(followed.ino, "new.txt").is_ok());
    assert_eq!(
        again.lookup(followed.ino, "kept.txt"),
        Err(FsError::NotFound)
    );
}

#[test]
fn a_rename_between_two_trees_is_refused_as_across_filesystems() {
    let names = Arc::new(FakeNames::default());
    let fs = mount(&names, Duration::from_secs(1));
    let root = fs.lookup(ROOT, "self").unwrap();
    write_file(&fs, root.ino, "f", b"x");
    let cid = content_dir(&names.store, &[("g", b"y")]);
    names
        .records
        .lock()
        .unwrap()
        .insert(OTHER_NAME.into(), record(&ipfs_path(&cid), 0));
    let other = fs.lookup(ROOT, OTHER_NAME).unwrap();
    assert_eq!(
        fs.rename(root.ino, "f", other.ino, "f", RenameMode::Replace),
        Err(FsError::ReadOnly)
    );
    let (tag, _) = match place(root.ino) {
        Place::Tree(tag, sub) => (tag, sub),
        other => panic!("{other:?}"),
    };
    let elsewhere = numbers::tree_ino(tag + 1, mfs::ROOT_INO).unwrap();
    assert_eq!(
        fs.rename(root.ino, "f", elsewhere, "f", RenameMode::Replace),
        Err(FsError::NotFound)
    );
    assert!(IpnsFs::same_tree(tag, tag + 1) == Err(FsError::CrossDevice));
}

#[test]
fn our_name_leading_to_a_file_is_shown_read_only_under_the_key_name_too() {
    let names = Arc::new(FakeNames::default());
    let cid = content_dir(&names.store, &[("a.txt", b"just a file")]);
    names.records.lock().unwrap().insert(
        OUR_NAME.into(),
        record(&format!("{}/a.txt", ipfs_path(&cid)), 3),
    );
    let fs = mount(&names, Duration::from_secs(1));
    for name in ["self", OUR_NAME] {
        let attr = fs.lookup(ROOT, name).unwrap();
        assert!(matches!(place(attr.ino), Place::Name(_)), "{name}");
        assert_eq!(attr.kind, FileKind::File);
        assert_eq!(&fs.read(attr.ino, 0, 100).unwrap()[..], b"just a file");
        assert_eq!(fs.getxattr(attr.ino, XATTR_SEQ).unwrap(), b"3");
    }
}
