//! The MFS engine against a plain in-memory model of a directory tree:
//! random sequences of kernel operations and `files` commands, flushes and
//! reopenings from the stored root (which leave every directory unvisited),
//! must leave both with the same names and bytes, and fail in the same
//! places.

use std::collections::BTreeMap;
use std::sync::Mutex as StdMutex;

use proptest::prelude::*;

use super::*;
use crate::blockstore::MemoryBlockstore;
use crate::mfs::WriteOptions;
use crate::unixfs::dir;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    Dir,
    File(Vec<u8>),
}

/// Paths as name lists; the root is the empty list.
type Path = Vec<String>;

#[derive(Clone, Debug)]
enum Op {
    Mkdir(Path),
    Create(Path, Vec<u8>),
    Write(Path, u64, Vec<u8>),
    Truncate(Path, u64),
    Unlink(Path),
    Rmdir(Path),
    Rename(Path, Path),
    /// `files mv` to a path that does not exist yet.
    FilesMv(Path, Path),
    /// `files write --create --truncate`.
    FilesWrite(Path, Vec<u8>),
    Flush,
    Reopen,
}

#[derive(Default)]
struct Model {
    entries: BTreeMap<Path, Entry>,
}

fn parent_of(path: &Path) -> Path {
    path[..path.len().saturating_sub(1)].to_vec()
}

impl Model {
    fn get(&self, path: &Path) -> Option<&Entry> {
        if path.is_empty() {
            return Some(&Entry::Dir);
        }
        self.entries.get(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.get(path) == Some(&Entry::Dir)
    }

    fn has_children(&self, path: &Path) -> bool {
        self.entries
            .keys()
            .any(|p| p.len() > path.len() && p.starts_with(path))
    }

    /// Whether the operation succeeds; applies it if so.
    fn apply(&mut self, op: &Op) -> bool {
        match op {
            Op::Mkdir(path) => self.make(path, Entry::Dir),
            Op::Create(path, data) => self.make(path, Entry::File(data.clone())),
            Op::Write(path, offset, data) => match self.entries.get_mut(path) {
                Some(Entry::File(bytes)) => {
                    let end = *offset as usize + data.len();
                    if bytes.len() < end {
                        bytes.resize(end, 0);
                    }
                    bytes[*offset as usize..end].copy_from_slice(data);
                    true
                }
                _ => false,
            },
            Op::Truncate(path, size) => match self.entries.get_mut(path) {
                Some(Entry::File(bytes)) => {
                    bytes.resize(*size as usize, 0);
                    true
                }
                _ => false,
            },
            Op::Unlink(path) => match self.entries.get(path) {
                Some(Entry::File(_)) => {
                    self.entries.remove(path);
                    true
                }
                _ => false,
            },
            Op::Rmdir(path) => {
                if path.is_empty() || !self.is_dir(path) || self.has_children(path) {
                    return false;
                }
                self.entries.remove(path);
                true
            }
            Op::Rename(from, to) => self.rename(from, to),
            Op::FilesMv(from, to) => self.get(to).is_none() && self.rename(from, to),
            Op::FilesWrite(path, data) => match self.get(path) {
                Some(Entry::File(_)) => {
                    self.entries.insert(path.clone(), Entry::File(data.clone()));
                    true
                }
                Some(Entry::Dir) => false,
                None => self.make(path, Entry::File(data.clone())),
            },
            Op::Flush | Op::Reopen => true,
        }
    }

    fn make(&mut self, path: &Path, entry: Entry) -> bool {
        if path.is_empty() || self.get(path).is_some() || !self.is_dir(&parent_of(path)) {
            return false;
        }
        self.entries.insert(path.clone(), entry);
        true
    }

    fn rename(&mut self, from: &Path, to: &Path) -> bool {
        if from.is_empty() || to.is_empty() || !self.is_dir(&parent_of(to)) {
            return false;
        }
        let Some(moving) = self.get(from).cloned() else {
            return false;
        };
        if to.starts_with(from) && to.len() > from.len() {
            return false;
        }
        if from == to {
            return true;
        }
        match (&moving, self.get(to)) {
            (_, None) => {}
            (Entry::Dir, Some(Entry::Dir)) if !self.has_children(to) => {}
            (Entry::File(_), Some(Entry::File(_))) => {}
            _ => return false,
        }
        self.entries.remove(to);
        let moved: Vec<(Path, Entry)> = self
            .entries
            .iter()
            .filter(|(p, _)| p.starts_with(from))
            .map(|(p, e)| (p.clone(), e.clone()))
            .collect();
        for (path, entry) in moved {
            self.entries.remove(&path);
            let mut renamed = to.clone();
            renamed.extend_from_slice(&path[from.len()..]);
            self.entries.insert(renamed, entry);
        }
        true
    }
}

struct Engine {
    store: Arc<MemoryBlockstore>,
    fs: MfsFs,
    roots: Arc<StdMutex<Vec<Cid>>>,
}

fn display(path: &Path) -> String {
    format!("/{}", path.join("/"))
}

impl Engine {
    fn new() -> Self {
        let store = Arc::new(MemoryBlockstore::new());
        let empty = dir::build_directory(store.as_ref(), Vec::new(), &DirOptions::default())
            .unwrap()
            .cid;
        let roots = Arc::new(StdMutex::new(vec![empty]));
        let fs = Self::open(&store, &roots, empty);
        Engine { store, fs, roots }
    }

    fn open(store: &Arc<MemoryBlockstore>, roots: &Arc<StdMutex<Vec<Cid>>>, root: Cid) -> MfsFs {
        let sink = Arc::clone(roots);
        let persist: PersistRoot = Box::new(move |root: &Cid, _: &Cid| {
            sink.lock().unwrap().push(*root);
            Ok(())
        });
        MfsFs::new(store.clone(), root, None, Caller::default(), persist).unwrap()
    }

    fn parent_and_name(&self, path: &Path) -> Result<(u64, String), FsError> {
        let name = path.last().cloned().ok_or(FsError::Invalid)?;
        Ok((self.fs.resolve(&display(&parent_of(path)))?, name))
    }

    fn apply(&mut self, op: &Op) -> Result<(), FsError> {
        let fs = &self.fs;
        match op {
            Op::Mkdir(path) => {
                let (parent, name) = self.parent_and_name(path)?;
                fs.make(
                    Caller::default(),
                    parent,
                    &name,
                    &NewNode::of(FileKind::Directory, 0o755),
                )
                .map(drop)
            }
            Op::Create(path, data) => {
                let (parent, name) = self.parent_and_name(path)?;
                let (attr, fh) = fs.create(Caller::default(), parent, &name, 0o644)?;
                let written = fs.write(attr.ino, 0, data).map(drop);
                let flushed = fs.flush_handle(fh);
                fs.release(fh);
                written.and(flushed)
            }
            Op::Write(path, offset, data) => {
                let ino = fs.resolve(&display(path))?;
                if fs.getattr(ino)?.kind != FileKind::File {
                    return Err(FsError::IsADirectory);
                }
                let fh = fs.open(ino, true)?;
                let written = fs.write(ino, *offset, data).map(drop);
                let flushed = fs.flush_handle(fh);
                fs.release(fh);
                written.and(flushed)
            }
            Op::Truncate(path, size) => {
                let ino = fs.resolve(&display(path))?;
                if fs.getattr(ino)?.kind != FileKind::File {
                    return Err(FsError::IsADirectory);
                }
                let set = SetAttr {
                    size: Some(*size),
                    ..SetAttr::default()
                };
                fs.setattr(ino, &set).map(drop)
            }
            Op::Unlink(path) => {
                let (parent, name) = self.parent_and_name(path)?;
                fs.unlink(parent, &name)
            }
            Op::Rmdir(path) => {
                let (parent, name) = self.parent_and_name(path)?;
                fs.rmdir(parent, &name)
            }
            Op::Rename(from, to) => {
                let (parent, name) = self.parent_and_name(from)?;
                let (new_parent, new_name) = self.parent_and_name(to)?;
                fs.rename(parent, &name, new_parent, &new_name, RenameMode::Replace)
            }
            Op::FilesMv(from, to) => {
                if fs.resolve(&display(to)).is_ok() {
                    return Err(FsError::Exists);
                }
                fs.path_mv(&display(from), &display(to))
            }
            Op::FilesWrite(path, data) => {
                let opts = WriteOptions {
                    create: true,
                    truncate: true,
                    ..WriteOptions::default()
                };
                fs.path_write(&display(path), &mut data.as_slice(), &opts)
            }
            Op::Flush => fs.sync(true).map(drop),
            Op::Reopen => {
                let root = fs.sync(true)?;
                assert_eq!(self.roots.lock().unwrap().last(), Some(&root));
                self.fs = Self::open(&self.store, &self.roots, root);
                Ok(())
            }
        }
    }

    /// Every entry below `path`, as the model holds them.
    fn contents(&self, path: &Path, ino: u64, out: &mut BTreeMap<Path, Entry>) {
        for entry in self.fs.readdir(ino).unwrap() {
            if ino == ROOT_INO && entry.name == HISTORY_DIR {
                continue;
            }
            let mut child = path.clone();
            child.push(entry.name.clone());
            match entry.attr.kind {
                FileKind::Directory => {
                    out.insert(child.clone(), Entry::Dir);
                    self.contents(&child, entry.attr.ino, out);
                }
                _ => {
                    let mut bytes = Vec::new();
                    self.fs
                        .path_read(&display(&child), 0, None, &mut bytes)
                        .unwrap();
                    assert_eq!(bytes.len() as u64, entry.attr.size, "{child:?}");
                    out.insert(child, Entry::File(bytes));
                }
            }
        }
    }
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![Just("a"), Just("b"), Just("c")].prop_map(str::to_string)
}

fn path() -> impl Strategy<Value = Path> {
    prop_oneof![
        2 => proptest::collection::vec(name(), 1..=2),
        1 => proptest::collection::vec(name(), 3..=3),
    ]
}

/// Each case starts from this tree, stored and reopened, so that its first
/// operations meet directories no one has visited.
fn prologue() -> Vec<Op> {
    let p = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Path>();
    vec![
        Op::Mkdir(p(&["a"])),
        Op::Mkdir(p(&["a", "b"])),
        Op::Create(p(&["a", "b", "c"]), b"deep".to_vec()),
        Op::Create(p(&["a", "c"]), vec![7; 300_000]),
        Op::Create(p(&["b"]), b"top".to_vec()),
        Op::Reopen,
    ]
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        // Past one 256 KiB chunk: several leaves, edits of some of them.
        (1usize..3, any::<u8>()).prop_map(|(chunks, seed)| {
            (0..chunks * 200_000)
                .map(|i| (i as u8).wrapping_add(seed))
                .collect()
        }),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => path().prop_map(Op::Mkdir),
        3 => (path(), bytes()).prop_map(|(p, b)| Op::Create(p, b)),
        4 => (path(), 0u64..300_000, bytes()).prop_map(|(p, o, b)| Op::Write(p, o, b)),
        1 => (path(), 0u64..300_000).prop_map(|(p, s)| Op::Truncate(p, s)),
        1 => path().prop_map(Op::Unlink),
        1 => path().prop_map(Op::Rmdir),
        5 => (path(), path()).prop_map(|(a, b)| Op::Rename(a, b)),
        3 => (path(), path()).prop_map(|(a, b)| Op::FilesMv(a, b)),
        1 => (path(), bytes()).prop_map(|(p, b)| Op::FilesWrite(p, b)),
        2 => Just(Op::Flush),
        1 => Just(Op::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_behaves_as_the_model(ops in proptest::collection::vec(op(), 1..50)) {
        let mut model = Model::default();
        let mut engine = Engine::new();
        for (step, op) in prologue().iter().chain(&ops).enumerate() {
            let expected = model.apply(op);
            let got = engine.apply(op);
            prop_assert_eq!(expected, got.is_ok(), "step {}: {:?} gave {:?}", step, op, got);


        }
        // What is left after one more reopening: everything durable.
        engine.apply(&Op::Reopen).unwrap();
        let mut actual = BTreeMap::new();
        engine.contents(&Vec::new(), ROOT_INO, &mut actual);
        prop_assert!(actual == model.entries, "trees differ: {:?}",
            actual.keys().collect::<Vec<_>>());
    }
}
