//! The MFS engine under concurrency, against exact models: each of several
//! owner threads works in a home directory only it touches, by inode (as
//! the kernel does) and by path (as `files` does), and checks every result
//! against its own sequential model. Meanwhile disturbers flush, stat,
//! list and read everywhere, work in the shared directories above the
//! homes, and move the area that holds the homes back and forth. A result
//! that differs from the model is a bug: nothing else changes a home.
//!
//! Path operations of owners and disturbers hold the area lock for
//! reading while a move holds it for writing: a path that a move makes
//! stale mid-way is the caller's race, not the engine's. Inode operations
//! take no lock, so moves race with them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex as StdMutex, RwLock};

use super::tests::dir_node;
use super::*;
use crate::blockstore::MemoryBlockstore;
use crate::commands::files;
use crate::mfs::WriteOptions;
use crate::unixfs::dir;

const OWNERS: usize = 4;
const OPS_PER_OWNER: usize = 600;
const ROUNDS: u64 = 20;
const NAMES: [&str; 3] = ["a", "b", "c"];
/// Where the area that holds the homes can be.
const AREA_PARENTS: [&str; 2] = ["/shared", "/moved"];

/// A small deterministic generator (splitmix64): each owner's sequence of
/// operations depends only on the round and the owner.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2545_F491_4F6C_DD1D)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn path(&mut self) -> Path {
        let depth = 1 + self.below(3) as usize;
        (0..depth).map(|_| self.pick(&NAMES).to_string()).collect()
    }

    fn bytes(&mut self) -> Vec<u8> {
        let len = match self.below(10) {
            0 => 200_000 + self.below(400_000),
            1 => self.below(5_000),
            _ => self.below(40),
        } as usize;
        let seed = self.next() as u8;
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect()
    }

    fn offset(&mut self) -> u64 {
        if self.below(4) == 0 {
            self.below(300_000)
        } else {
            self.below(64)
        }
    }
}

/// Names below a home; the home itself is the empty list.
type Path = Vec<String>;

fn parent_of(path: &Path) -> Path {
    path[..path.len().saturating_sub(1)].to_vec()
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Dir,
    File(Vec<u8>),
}

#[derive(Clone, Debug)]
struct Node {
    kind: Kind,
    /// The engine's inode, once known (entries that `files` commands
    /// create are looked up when first needed, as the kernel would).
    ino: Option<u64>,
}

#[derive(Clone, Debug)]
enum Op {
    Mkdir(Path),
    Create(Path, Vec<u8>),
    Write(Path, u64, Vec<u8>),
    Truncate(Path, u64),
    Unlink(Path),
    Rmdir(Path),
    Rename(Path, Path, RenameMode),
    Read(Path),
    List(Path),
    /// `files write --create`, truncating unless at an offset.
    FilesWrite(Path, Option<u64>, Vec<u8>),
    /// `files mv` to a name that does not exist.
    FilesMv(Path, Path),
    FilesRm(Path, bool),
    FilesMkdir(Path),
    /// `files cp` to a name that does not exist.
    FilesCp(Path, Path),
    FilesRead(Path),
    FilesStat(Path),
}

fn op(rng: &mut Rng) -> Op {
    match rng.below(34) {
        0..=3 => Op::Mkdir(rng.path()),
        4..=7 => Op::Create(rng.path(), rng.bytes()),
        8..=11 => Op::Write(rng.path(), rng.offset(), rng.bytes()),
        12 => Op::Truncate(rng.path(), rng.offset()),
        13..=14 => Op::Unlink(rng.path()),
        15..=16 => Op::Rmdir(rng.path()),
        17..=21 => {
            let mode = match rng.below(6) {
                0 => RenameMode::NoReplace,
                1 => RenameMode::Exchange,
                _ => RenameMode::Replace,
            };
            Op::Rename(rng.path(), rng.path(), mode)
        }
        22..=23 => Op::Read(rng.path()),
        24 => Op::List(rng.path()),
        25..=26 => {
            let offset = (rng.below(2) == 0).then(|| rng.offset());
            Op::FilesWrite(rng.path(), offset, rng.bytes())
        }
        27..=28 => Op::FilesMv(rng.path(), rng.path()),
        29 => Op::FilesRm(rng.path(), rng.below(2) == 0),
        30 => Op::FilesMkdir(rng.path()),
        31 => Op::FilesCp(rng.path(), rng.path()),
        32 => Op::FilesRead(rng.path()),
        _ => Op::FilesStat(rng.path()),
    }
}

/// One owner's home as it must be.
struct Model {
    home: u64,
    nodes: BTreeMap<Path, Node>,
}

impl Model {
    fn kind(&self, path: &Path) -> Option<&Kind> {
        if path.is_empty() {
            return Some(&Kind::Dir);
        }
        self.nodes.get(path).map(|n| &n.kind)
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.kind(path) == Some(&Kind::Dir)
    }

    fn is_file(&self, path: &Path) -> bool {
        matches!(self.kind(path), Some(Kind::File(_)))
    }

    fn below<'a>(&'a self, path: &'a Path) -> impl Iterator<Item = &'a Path> + 'a {
        self.nodes
            .keys()
            .filter(move |p| p.len() > path.len() && p.starts_with(path))
    }

    fn can_make(&self, path: &Path) -> bool {
        !path.is_empty() && self.kind(path).is_none() && self.is_dir(&parent_of(path))
    }

    fn can_rename(&self, from: &Path, to: &Path) -> bool {
        if from.is_empty() || to.is_empty() || !self.is_dir(&parent_of(to)) {
            return false;
        }
        let Some(moving) = self.kind(from) else {
            return false;
        };
        if to.len() > from.len() && to.starts_with(from) {
            return false;
        }
        match (moving, self.kind(to)) {
            _ if from == to => true,
            (_, None) => true,
            (Kind::Dir, Some(Kind::Dir)) => self.below(to).next().is_none(),
            (Kind::File(_), Some(Kind::File(_))) => true,
            _ => false,
        }
    }

    fn can_exchange(&self, a: &Path, b: &Path) -> bool {
        let inside =
            |inner: &Path, outer: &Path| inner.len() > outer.len() && inner.starts_with(outer);
        !a.is_empty()
            && !b.is_empty()
            && self.kind(a).is_some()
            && self.kind(b).is_some()
            && !inside(a, b)
            && !inside(b, a)
    }

    /// RENAME_EXCHANGE: `a` and `b` trade places, each with what is below.
    fn exchange(&mut self, a: &Path, b: &Path) {
        if a == b {
            return;
        }
        let moved: Vec<(Path, Node)> = self
            .nodes
            .iter()
            .filter_map(|(p, n)| {
                let (from, to) = if p.starts_with(a) {
                    (a, b)
                } else if p.starts_with(b) {
                    (b, a)
                } else {
                    return None;
                };
                let mut renamed = to.clone();
                renamed.extend_from_slice(&p[from.len()..]);
                Some((renamed, n.clone()))
            })
            .collect();
        self.nodes
            .retain(|p, _| !p.starts_with(a) && !p.starts_with(b));
        self.nodes.extend(moved);
    }

    fn rename(&mut self, from: &Path, to: &Path) {
        if from == to {
            return;
        }
        self.nodes.remove(to);
        let moved: Vec<Path> = self
            .nodes
            .keys()
            .filter(|p| p.starts_with(from))
            .cloned()
            .collect();
        for path in moved {
            let node = self.nodes.remove(&path).expect("listed above");
            let mut renamed = to.clone();
            renamed.extend_from_slice(&path[from.len()..]);
            self.nodes.insert(renamed, node);
        }
    }

    fn remove_tree(&mut self, path: &Path) {
        self.nodes.retain(|p, _| !p.starts_with(path));
    }

    /// `files cp`: a copy of the content, with inodes of its own.
    fn copy(&mut self, from: &Path, to: &Path) {
        let copied: Vec<(Path, Kind)> = self
            .nodes
            .iter()
            .filter(|(p, _)| p.starts_with(from))
            .map(|(p, n)| {
                let mut copy = to.clone();
                copy.extend_from_slice(&p[from.len()..]);
                (copy, n.kind.clone())
            })
            .collect();
        for (path, kind) in copied {
            self.nodes.insert(path, Node { kind, ino: None });
        }
    }

    fn write(&mut self, path: &Path, offset: u64, data: &[u8]) {
        if let Some(Node {
            kind: Kind::File(bytes),
            ..
        }) = self.nodes.get_mut(path)
        {
            let end = offset as usize + data.len();
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[offset as usize..end].copy_from_slice(data);
        }
    }

    fn put(&mut self, path: &Path, kind: Kind, ino: Option<u64>) {
        self.nodes.insert(path.clone(), Node { kind, ino });
    }
}

/// What every thread shares.
struct Shared {
    fs: MfsFs,
    store: Arc<MemoryBlockstore>,
    /// Which of `AREA_PARENTS` holds the area now.
    area: RwLock<usize>,
    stop: AtomicBool,
    homes: StdMutex<Vec<u64>>,
}

impl Shared {
    fn area_path(at: usize) -> String {
        format!("{}/area", AREA_PARENTS[at])
    }

    fn home_path(at: usize, owner: usize) -> String {
        format!("{}/home{owner}", Self::area_path(at))
    }
}

struct Owner<'s> {
    shared: &'s Shared,
    id: usize,
    model: Model,
}

fn text(path: &Path) -> String {
    path.iter().map(|n| format!("/{n}")).collect()
}

impl Owner<'_> {
    fn fs(&self) -> &MfsFs {
        &self.shared.fs
    }

    /// The inode of an entry the model holds, looked up the first time.
    fn ino(&mut self, path: &Path) -> Result<u64, String> {
        if path.is_empty() {
            return Ok(self.model.home);
        }
        if let Some(ino) = self.model.nodes.get(path).and_then(|n| n.ino) {
            return Ok(ino);
        }
        let parent = self.ino(&parent_of(path))?;
        let name = path.last().expect("not the home");
        let attr = self
            .fs()
            .lookup(parent, name)
            .map_err(|err| format!("lookup of {} gave {err:?}", text(path)))?;
        if let Some(node) = self.model.nodes.get_mut(path) {
            node.ino = Some(attr.ino);
        }
        Ok(attr.ino)
    }

    /// The parent's inode and the name, when the parent exists (a kernel
    /// asks only about names in directories it has found).
    fn place(&mut self, path: &Path) -> Result<Option<(u64, String)>, String> {
        let parent = parent_of(path);
        if self.model.kind(&parent).is_none() {
            return Ok(None);
        }
        Ok(Some((
            self.ino(&parent)?,
            path.last().expect("a name").clone(),
        )))
    }

    /// Runs a `files` command on `path` (below the home) with the area
    /// held in place.
    fn by_path<T>(&self, paths: &[&Path], run: impl FnOnce(&[String]) -> T) -> T {
        let at = self.shared.area.read().unwrap_or_else(|p| p.into_inner());
        let home = Shared::home_path(*at, self.id);
        let full: Vec<String> = paths.iter().map(|p| format!("{home}{}", text(p))).collect();
        run(&full)
    }

    /// Applies `op` to the engine and, where the model says it succeeds,
    /// to the model; an outcome other than the model's is returned as the
    /// divergence.
    fn step(&mut self, op: &Op) -> Result<(), String> {
        let fs = &self.shared.fs;
        let (expected, got): (bool, Result<(), FsError>) = match op {
            Op::Mkdir(path) => {
                let Some((parent, name)) = self.place(path)? else {
                    return Ok(());
                };
                let expected = self.model.can_make(path);
                let made = fs.make(
                    Caller::default(),
                    parent,
                    &name,
                    &NewNode::of(FileKind::Directory, 0o755),
                );
                if let Ok(attr) = &made
                    && expected
                {
                    self.model.put(path, Kind::Dir, Some(attr.ino));
                }
                (expected, made.map(drop))
            }
            Op::Create(path, data) => {
                let Some((parent, name)) = self.place(path)? else {
                    return Ok(());
                };
                let expected = self.model.can_make(path);
                let got =
                    fs.create(Caller::default(), parent, &name, 0o644)
                        .and_then(|(attr, fh)| {
                            let written = fs.write(attr.ino, 0, data);
                            let flushed = fs.flush_handle(fh);
                            fs.release(fh);
                            written.and(flushed).map(|_| attr.ino)
                        });
                if let Ok(ino) = got
                    && expected
                {
                    self.model.put(path, Kind::File(data.clone()), Some(ino));
                }
                (expected, got.map(drop))
            }
            Op::Write(path, offset, data) => {
                if !self.model.is_file(path) {
                    return Ok(());
                }
                let ino = self.ino(path)?;
                let got = fs.open(ino, true).and_then(|fh| {
                    let written = fs.write(ino, *offset, data);
                    let flushed = fs.flush_handle(fh);
                    fs.release(fh);
                    written.and(flushed).map(drop)
                });
                self.model.write(path, *offset, data);
                (true, got)
            }
            Op::Truncate(path, size) => {
                if !self.model.is_file(path) {
                    return Ok(());
                }
                let ino = self.ino(path)?;
                let set = SetAttr {
                    size: Some(*size),
                    ..SetAttr::default()
                };
                let got = fs.setattr(ino, &set).map(drop);
                if let Some(Node {
                    kind: Kind::File(bytes),
                    ..
                }) = self.model.nodes.get_mut(path)
                {
                    bytes.resize(*size as usize, 0);
                }
                (true, got)
            }
            Op::Unlink(path) => {
                let Some((parent, name)) = self.place(path)? else {
                    return Ok(());
                };
                let expected = self.model.is_file(path);
                let got = fs.unlink(parent, &name);
                if got.is_ok() && expected {
                    self.model.remove_tree(path);
                }
                (expected, got)
            }
            Op::Rmdir(path) => {
                let Some((parent, name)) = self.place(path)? else {
                    return Ok(());
                };
                let expected = self.model.is_dir(path) && self.model.below(path).next().is_none();
                let got = fs.rmdir(parent, &name);
                if got.is_ok() && expected {
                    self.model.remove_tree(path);
                }
                (expected, got)
            }
            Op::Rename(from, to, mode) => {
                let (Some((parent, name)), Some((new_parent, new_name))) =
                    (self.place(from)?, self.place(to)?)
                else {
                    return Ok(());
                };
                let expected = match mode {
                    RenameMode::Replace => self.model.can_rename(from, to),
                    RenameMode::NoReplace => {
                        self.model.kind(to).is_none() && self.model.can_rename(from, to)
                    }
                    RenameMode::Exchange => self.model.can_exchange(from, to),
                };
                let got = fs.rename(parent, &name, new_parent, &new_name, *mode);
                if got.is_ok() && expected {
                    match mode {
                        RenameMode::Exchange => self.model.exchange(from, to),
                        _ => self.model.rename(from, to),
                    }
                }
                (expected, got)
            }
            Op::Read(path) => {
                let Some(Kind::File(bytes)) = self.model.kind(path).cloned() else {
                    return Ok(());
                };
                let ino = self.ino(path)?;
                let read = fs.read(ino, 0, bytes.len() as u32 + 10);
                if let Ok(read) = &read
                    && *read != bytes
                {
                    return Err(format!(
                        "read of {} gave {} bytes, not the {} written",
                        text(path),
                        read.len(),
                        bytes.len()
                    ));
                }
                (true, read.map(drop))
            }
            Op::List(path) => {
                if !self.model.is_dir(path) {
                    return Ok(());
                }
                let ino = self.ino(path)?;
                let listed = fs.readdir(ino);
                if let Ok(listed) = &listed {
                    let names: Vec<&str> = listed.iter().map(|e| e.name.as_str()).collect();
                    let expected: Vec<&str> = self
                        .model
                        .below(path)
                        .filter(|p| p.len() == path.len() + 1)
                        .map(|p| p.last().expect("a name").as_str())
                        .collect();
                    if names != expected {
                        return Err(format!("{} lists {names:?}, not {expected:?}", text(path)));
                    }
                }
                (true, listed.map(drop))
            }
            Op::FilesWrite(path, offset, data) => {
                let opts = WriteOptions {
                    create: true,
                    truncate: offset.is_none(),
                    offset: *offset,
                    ..WriteOptions::default()
                };
                let expected = self.model.is_file(path) || self.model.can_make(path);
                let got = self.by_path(&[path], |full| {
                    files::write(fs, &full[0], &mut data.as_slice(), &opts)
                });
                if got.is_ok() && expected {
                    match offset {
                        Some(offset) if self.model.is_file(path) && !data.is_empty() => {
                            self.model.write(path, *offset, data)
                        }
                        Some(_) if self.model.is_file(path) => {}
                        Some(offset) => {
                            // Nothing written: nothing to extend the new file to.
                            self.model.put(path, Kind::File(Vec::new()), None);
                            if !data.is_empty() {
                                self.model.write(path, *offset, data);
                            }
                        }
                        None => {
                            let ino = self.model.nodes.get(path).and_then(|n| n.ino);
                            self.model.put(path, Kind::File(data.clone()), ino);
                        }
                    }
                }
                (expected, command_result(got))
            }
            Op::FilesMv(from, to) => {
                if self.model.kind(to).is_some() {
                    return Ok(());
                }
                let expected = self.model.can_rename(from, to);
                let got = self.by_path(&[from, to], |full| files::mv(fs, &full[0], &full[1]));
                if got.is_ok() && expected {
                    self.model.rename(from, to);
                }
                (expected, command_result(got))
            }
            Op::FilesRm(path, recursive) => {
                let expected = match self.model.kind(path) {
                    Some(Kind::File(_)) => true,
                    Some(Kind::Dir) => *recursive,
                    None => false,
                };
                let got = self.by_path(&[path], |full| files::rm(fs, full, *recursive));
                if got.is_ok() && expected {
                    self.model.remove_tree(path);
                }
                (expected, command_result(got))
            }
            Op::FilesMkdir(path) => {
                let expected = self.model.can_make(path);
                let got = self.by_path(&[path], |full| files::mkdir(fs, &full[0], false));
                if got.is_ok() && expected {
                    self.model.put(path, Kind::Dir, None);
                }
                (expected, command_result(got))
            }
            Op::FilesCp(from, to) => {
                if self.model.kind(to).is_some() {
                    return Ok(());
                }
                let expected = self.model.kind(from).is_some()
                    && !from.is_empty()
                    && self.model.is_dir(&parent_of(to));
                let store = Arc::clone(&self.shared.store);
                let got = self.by_path(&[from, to], |full| {
                    files::cp(fs, store.as_ref(), &full[0], &full[1], false)
                });
                if got.is_ok() && expected {
                    self.model.copy(from, to);
                }
                (expected, command_result(got))
            }
            Op::FilesRead(path) => {
                let expected = self.model.is_file(path);
                let mut out = Vec::new();
                let got =
                    self.by_path(&[path], |full| files::read(fs, &full[0], 0, None, &mut out));
                if let (Ok(()), Some(Kind::File(bytes))) = (&got, self.model.kind(path))
                    && out != *bytes
                {
                    return Err(format!(
                        "files read of {} gave {} bytes, not the {} written",
                        text(path),
                        out.len(),
                        bytes.len()
                    ));
                }
                (expected, command_result(got))
            }
            Op::FilesStat(path) => {
                let expected = self.model.kind(path).is_some();
                let got = self.by_path(&[path], |full| files::stat(fs, &full[0]));
                if let (Ok(stat), Some(kind)) = (&got, self.model.kind(path)) {
                    let is_dir = stat.kind == crate::unixfs::node::Kind::Directory;
                    if is_dir != (*kind == Kind::Dir) {
                        return Err(format!("files stat of {} gave {stat:?}", text(path)));
                    }
                }
                (expected, command_result(got.map(drop)))
            }
        };
        match (expected, got) {
            (true, Ok(())) | (false, Err(_)) => Ok(()),
            (true, Err(err)) => Err(format!("failed: {err:?}")),
            (false, Ok(())) => Err("succeeded where the model says it fails".into()),
        }
    }

    fn run(mut self, ops: Vec<Op>) -> Result<Model, String> {
        let mut done: Vec<&Op> = Vec::new();
        for op in &ops {
            if self.shared.stop.load(Ordering::SeqCst) {
                break;
            }
            if let Err(divergence) = self.step(op) {
                let recent: Vec<String> = done.iter().rev().take(8).map(|op| short(op)).collect();
                return Err(format!(
                    "owner {}: {} {divergence}\n  model: {:?}\n  before, newest first: {recent:#?}",
                    self.id,
                    short(op),
                    self.model.nodes.keys().collect::<Vec<_>>(),
                ));
            }
            done.push(op);
        }
        Ok(self.model)
    }
}

/// An operation without its bytes, for messages.
fn short(op: &Op) -> String {
    match op {
        Op::Create(p, d) => format!("Create({}, {} bytes)", text(p), d.len()),
        Op::Write(p, o, d) => format!("Write({}, at {o}, {} bytes)", text(p), d.len()),
        Op::FilesWrite(p, o, d) => format!("FilesWrite({}, {o:?}, {} bytes)", text(p), d.len()),
        other => format!("{other:?}"),
    }
}

/// A `files` command's outcome as the filesystem error it stands for: the
/// model only tells success from failure.
fn command_result<T>(got: Result<T, crate::commands::CommandError>) -> Result<(), FsError> {
    got.map(drop).map_err(|err| FsError::io(err.to_string()))
}

/// An error a disturber may meet: a name or inode an owner removed
/// between two calls. Anything else is a bug.
fn racing(err: &FsError) -> bool {
    *err == FsError::NotFound
}

/// Touches shared state until the owners are done; returns the first
/// unexpected error.
fn disturb(shared: &Shared, seed: u64) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let fs = &shared.fs;
    let mut scratch = 0u64;
    while !shared.stop.load(Ordering::SeqCst) {
        let homes = shared
            .homes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let owner = rng.below(OWNERS as u64) as usize;
        let home = homes[owner];
        match rng.below(12) {
            0 => {
                fs.sync(rng.below(2) == 0)
                    .map_err(|e| format!("sync: {e:?}"))?;
            }
            1 => {
                fs.cid_of(ROOT_INO)
                    .map_err(|e| format!("cid_of the root: {e:?}"))?;
                files::stat(fs, "/").map_err(|e| format!("files stat /: {e}"))?;
            }
            2 => {
                let at = shared.area.read().unwrap_or_else(|p| p.into_inner());
                let path = Shared::home_path(*at, owner);
                files::stat(fs, &path).map_err(|e| format!("files stat {path}: {e}"))?;
                files::ls(fs, &path).map_err(|e| format!("files ls {path}: {e}"))?;
                files::ls(fs, &Shared::area_path(*at))
                    .map_err(|e| format!("files ls of the area: {e}"))?;
            }
            3 => {
                fs.cid_of(home)
                    .map_err(|e| format!("cid_of home {owner}: {e:?}"))?;
            }
            4 | 5 => walk(fs, home, &mut rng).map_err(|e| format!("walk of home {owner}: {e}"))?,
            6 => {
                for name in NAMES {
                    match fs.lookup(home, name) {
                        Ok(attr) => match fs.getattr(attr.ino) {
                            Err(err) if !racing(&err) => {
                                return Err(format!("getattr in home {owner}: {err:?}"));
                            }
                            _ => {}
                        },
                        Err(err) if !racing(&err) => {
                            return Err(format!("lookup in home {owner}: {err:?}"));
                        }
                        Err(_) => {}
                    }
                }
            }
            7 => {
                // Changes beside the area, in the directories above it.
                scratch += 1;
                let at = *shared.area.read().unwrap_or_else(|p| p.into_inner());
                let dir = format!("{}/scratch-{seed}-{scratch}", AREA_PARENTS[at]);
                files::write(
                    fs,
                    &format!("{dir}/f"),
                    &mut &b"scratch"[..],
                    &WriteOptions {
                        create: true,
                        parents: true,
                        ..WriteOptions::default()
                    },
                )
                .map_err(|e| format!("files write in {dir}: {e}"))?;
                files::rm(fs, std::slice::from_ref(&dir), true)
                    .map_err(|e| format!("files rm {dir}: {e}"))?;
            }
            8 => files::flush(fs, "/")
                .map(drop)
                .map_err(|e| format!("files flush /: {e}"))?,
            10 => {
                // Attribute changes mark a home and all above it changed.
                let set = SetAttr {
                    mode: Some(0o755),
                    mtime: Some(None),
                    ..SetAttr::default()
                };
                fs.setattr(home, &set)
                    .map_err(|e| format!("setattr of home {owner}: {e:?}"))?;
            }
            _ => move_area(shared, rng.below(2) == 0)?,
        }
    }
    Ok(())
}

/// Moves the area to the other parent, by inode or by path.
fn move_area(shared: &Shared, by_path: bool) -> Result<(), String> {
    let fs = &shared.fs;
    let mut at = shared.area.write().unwrap_or_else(|p| p.into_inner());
    let to = 1 - *at;
    let moved = if by_path {
        files::mv(fs, &Shared::area_path(*at), AREA_PARENTS[to]).map_err(|e| e.to_string())
    } else {
        let from = fs.resolve(AREA_PARENTS[*at]);
        let into = fs.resolve(AREA_PARENTS[to]);
        from.and_then(|from| fs.rename(from, "area", into?, "area", RenameMode::NoReplace))
            .map_err(|e| format!("{e:?}"))
    };
    moved.map_err(|e| format!("moving the area to {}: {e}", AREA_PARENTS[to]))?;
    *at = to;
    Ok(())
}

/// Lists a directory and what is below it, reading some files.
fn walk(fs: &MfsFs, dir: u64, rng: &mut Rng) -> Result<(), String> {
    let listing = match fs.readdir(dir) {
        Ok(listing) => listing,
        Err(err) if racing(&err) => return Ok(()),
        Err(err) => return Err(format!("readdir: {err:?}")),
    };
    for entry in listing {
        let got = match entry.attr.kind {
            FileKind::Directory => {
                walk(fs, entry.attr.ino, rng)?;
                Ok(())
            }
            _ if rng.below(3) == 0 => fs.read(entry.attr.ino, rng.offset(), 4096).map(drop),
            _ => fs.getattr(entry.attr.ino).map(drop),
        };
        match got {
            Err(err) if !racing(&err) => return Err(format!("{}: {err:?}", entry.name)),
            _ => {}
        }
    }
    Ok(())
}

fn empty_tree() -> MfsFs {
    let store = Arc::new(MemoryBlockstore::new());
    let empty = dir::build_directory(store.as_ref(), Vec::new(), &DirOptions::default())
        .unwrap()
        .cid;
    let persist: PersistRoot = Box::new(|_: &Cid, _: &Cid| Ok(()));
    MfsFs::new(store, empty, None, Caller::default(), persist).unwrap()
}

/// A tree with the area and each home holding a few entries, stored and
/// reopened so that no directory below the root has been read.
fn start(round: u64) -> Shared {
    let store = Arc::new(MemoryBlockstore::new());
    let empty = dir::build_directory(store.as_ref(), Vec::new(), &DirOptions::default())
        .unwrap()
        .cid;
    let persist = || -> PersistRoot { Box::new(|_: &Cid, _: &Cid| Ok(())) };
    let first = MfsFs::new(store.clone(), empty, None, Caller::default(), persist()).unwrap();
    let create = WriteOptions {
        create: true,
        parents: true,
        ..WriteOptions::default()
    };
    first.path_mkdir(AREA_PARENTS[1], true).unwrap();
    for owner in 0..OWNERS {
        let home = Shared::home_path(0, owner);
        for (path, data) in initial_files(round, owner) {
            let full = format!("{home}{}", text(&path));
            first
                .path_write(&full, &mut data.as_slice(), &create)
                .unwrap();
        }
    }
    let root = first.sync(true).unwrap();
    let fs = MfsFs::new(store.clone(), root, None, Caller::default(), persist()).unwrap();
    Shared {
        fs,
        store,
        area: RwLock::new(0),
        stop: AtomicBool::new(false),
        homes: StdMutex::new(Vec::new()),
    }
}

fn initial_files(round: u64, owner: usize) -> Vec<(Path, Vec<u8>)> {
    let p = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Path>();
    let tag = format!("round {round} owner {owner}").into_bytes();
    vec![
        (p(&["a", "b"]), tag.clone()),
        (p(&["a", "c", "a"]), vec![owner as u8; 300_000]),
        (p(&["b"]), tag),
    ]
}

fn initial_model(round: u64, owner: usize, home: u64) -> Model {
    let mut model = Model {
        home,
        nodes: BTreeMap::new(),
    };
    for (path, data) in initial_files(round, owner) {
        for depth in 1..path.len() {
            model.put(&path[..depth].to_vec(), Kind::Dir, None);
        }
        model.put(&path, Kind::File(data), None);
    }
    model
}

/// What the engine holds below `dir`, as a model's entries.
fn contents(fs: &MfsFs, dir: u64, at: &Path, out: &mut BTreeMap<Path, Kind>) {
    for entry in fs.readdir(dir).unwrap() {
        let mut path = at.clone();
        path.push(entry.name.clone());
        if entry.attr.kind == FileKind::Directory {
            out.insert(path.clone(), Kind::Dir);
            contents(fs, entry.attr.ino, &path, out);
        } else {
            let bytes = fs
                .read(entry.attr.ino, 0, entry.attr.size as u32 + 1)
                .unwrap()
                .to_vec();
            out.insert(path, Kind::File(bytes));
        }
    }
}

fn run_round(round: u64) {
    let shared = start(round);
    let homes: Vec<u64> = (0..OWNERS)
        .map(|owner| shared.fs.resolve(&Shared::home_path(0, owner)).unwrap())
        .collect();
    *shared.homes.lock().unwrap() = homes.clone();
    let (owners, disturbers) = std::thread::scope(|scope| {
        let disturbers: Vec<_> = (0..2)
            .map(|d| {
                let shared = &shared;
                scope.spawn(move || {
                    let result = disturb(shared, round * 100 + d);
                    if result.is_err() {
                        shared.stop.store(true, Ordering::SeqCst);
                    }
                    result
                })
            })
            .collect();
        let owners: Vec<_> = (0..OWNERS)
            .map(|id| {
                let shared = &shared;
                let home = homes[id];
                scope.spawn(move || {
                    let mut rng = Rng::new(round * 1000 + id as u64 + 1);
                    let ops: Vec<Op> = (0..OPS_PER_OWNER).map(|_| op(&mut rng)).collect();
                    let owner = Owner {
                        shared,
                        id,
                        model: initial_model(round, id, home),
                    };
                    let result = owner.run(ops);
                    if result.is_err() {
                        shared.stop.store(true, Ordering::SeqCst);
                    }
                    result
                })
            })
            .collect();
        let owners: Vec<_> = owners.into_iter().map(|t| t.join().unwrap()).collect();
        shared.stop.store(true, Ordering::SeqCst);
        let disturbers: Vec<_> = disturbers.into_iter().map(|t| t.join().unwrap()).collect();
        (owners, disturbers)
    });
    for result in disturbers {
        if let Err(err) = result {
            panic!("round {round}: a disturber met {err}");
        }
    }
    let models: Vec<Model> = owners
        .into_iter()
        .map(|result| result.unwrap_or_else(|err| panic!("round {round}: {err}")))
        .collect();
    // Every home as its model says, now and after a reopening.
    let root = shared.fs.sync(true).unwrap();
    let at = *shared.area.read().unwrap();
    let reopened = MfsFs::new(
        shared.store.clone(),
        root,
        None,
        Caller::default(),
        Box::new(|_: &Cid, _: &Cid| Ok(())),
    )
    .unwrap();
    for (owner, model) in models.iter().enumerate() {
        let expected: BTreeMap<Path, Kind> = model
            .nodes
            .iter()
            .map(|(p, n)| (p.clone(), n.kind.clone()))
            .collect();
        for (fs, when) in [(&shared.fs, "live"), (&reopened, "reopened")] {
            let home = fs.resolve(&Shared::home_path(at, owner)).unwrap();
            let mut actual = BTreeMap::new();
            contents(fs, home, &Vec::new(), &mut actual);
            assert!(
                actual == expected,
                "round {round}, owner {owner}, {when}: {:?} instead of {:?}",
                actual.keys().collect::<Vec<_>>(),
                expected.keys().collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn owners_see_their_models_while_others_flush_list_and_move_the_area() {
    for round in 0..ROUNDS {
        run_round(round);
    }
}

/// `files ls` of a directory whose entries come and go lists what is
/// there at some moment; an entry removed while it lists is left out, not
/// "file does not exist" for the directory.
#[test]
fn ls_of_a_directory_that_changes_meanwhile_succeeds() {
    let fs = empty_tree();
    let dir = dir_node(&fs, ROOT_INO, "d");
    let changes = AtomicU64::new(0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for n in 0..20_000u64 {
                let name = format!("f{}", n % 16);
                match fs.create(Caller::default(), dir, &name, 0o644) {
                    Ok((attr, fh)) => {
                        fs.write(attr.ino, 0, &n.to_le_bytes()).unwrap();
                        fs.flush_handle(fh).unwrap();
                        fs.release(fh);
                    }
                    Err(FsError::Exists) => fs.unlink(dir, &name).unwrap(),
                    Err(err) => panic!("create: {err:?}"),
                }
                changes.store(n + 1, Ordering::SeqCst);
            }
        });
        // As long as the entries change.
        let mut listed = Ok(());
        while listed.is_ok() && changes.load(Ordering::SeqCst) < 20_000 {
            listed = files::ls(&fs, "/d").map(drop);
        }
        listed.unwrap();
    });
}

/// `files stat` reads the node it flushed: a flush elsewhere that sweeps
/// replaced versions meanwhile must not delete it first.
#[test]
fn stat_of_a_directory_that_changes_meanwhile_succeeds() {
    let fs = empty_tree();
    let dir = dir_node(&fs, ROOT_INO, "d");
    let changes = AtomicU64::new(0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for n in 0..3_000u64 {
                let name = format!("f{}", n % 4);
                let (attr, fh) = match fs.create(Caller::default(), dir, &name, 0o644) {
                    Ok(created) => created,
                    Err(FsError::Exists) => {
                        let ino = fs.lookup(dir, &name).unwrap().ino;
                        (fs.getattr(ino).unwrap(), fs.open(ino, true).unwrap())
                    }
                    Err(err) => panic!("create: {err:?}"),
                };
                fs.write(attr.ino, 0, &n.to_le_bytes()).unwrap();
                fs.flush_handle(fh).unwrap();
                fs.release(fh);
                fs.sync(true).unwrap();
                changes.store(n + 1, Ordering::SeqCst);
            }
        });
        let mut stat = Ok(());
        while stat.is_ok() && changes.load(Ordering::SeqCst) < 3_000 {
            stat = files::stat(&fs, "/")
                .and_then(|_| files::stat(&fs, "/d"))
                .map(drop);
        }
        stat.unwrap();
    });
}

/// `files cp` links the version it read: a flush elsewhere that replaces
/// the source meanwhile must not sweep that version before it is linked.
#[test]
fn cp_of_a_file_that_changes_meanwhile_succeeds() {
    let fs = empty_tree();
    let store: Arc<dyn Blockstore> = Arc::new(MemoryBlockstore::new());
    let dir = dir_node(&fs, ROOT_INO, "d");
    let source = fs.create(Caller::default(), dir, "f", 0o644).unwrap();
    fs.release(source.1);
    let source = source.0.ino;
    let changes = AtomicU64::new(0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for n in 0..3_000u64 {
                let fh = fs.open(source, true).unwrap();
                fs.write(source, 0, &n.to_le_bytes()).unwrap();
                fs.flush_handle(fh).unwrap();
                fs.release(fh);
                fs.sync(true).unwrap();
                changes.store(n + 1, Ordering::SeqCst);
            }
        });
        let mut copied = Ok(());
        while copied.is_ok() && changes.load(Ordering::SeqCst) < 3_000 {
            copied = files::cp(&fs, store.as_ref(), "/d/f", "/copy", false)
                .and_then(|()| files::rm(&fs, &["/copy".to_string()], false));
        }
        copied.unwrap();
    });
}

/// RENAME_EXCHANGE of an entry with its own parent would make that
/// parent its own child, cut off from the root (the kernel refuses it
/// before asking; the engine must too).
#[test]
fn exchanging_an_entry_with_its_parent_is_invalid() {
    let fs = empty_tree();
    let p = dir_node(&fs, ROOT_INO, "p");
    let x = dir_node(&fs, p, "x");
    assert_eq!(
        fs.rename(p, "x", ROOT_INO, "p", RenameMode::Exchange),
        Err(FsError::Invalid)
    );
    assert_eq!(
        fs.rename(ROOT_INO, "p", p, "x", RenameMode::Exchange),
        Err(FsError::Invalid)
    );
    assert_eq!(fs.lookup(ROOT_INO, "p").unwrap().ino, p);
    assert_eq!(fs.lookup(p, "x").unwrap().ino, x);
}
