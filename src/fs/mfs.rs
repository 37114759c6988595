//! The writable MFS filesystem, free of FUSE: an inode tree with POSIX
//! semantics over the MFS DAG.
//!
//! Directories are loaded from the DAG when first visited. Every change marks
//! the changed inode and its ancestors dirty; a flush rebuilds only dirty
//! directories (bottom-up) and commits changed files with the `add` importer,
//! so every file and directory keeps the CID `add` would give it. Attributes
//! that UnixFS cannot hold without changing CIDs (owner, permissions set
//! after creation, times) and special files (fifos, sockets, devices) live
//! in memory for the life of the mount.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime};

use super::{Attr, FileKind, FsError, Listing};
use crate::blockstore::{Blockstore, GcLock, InFlightStore, PinGuard};
use crate::codec::cid::{Cid, DAG_PB};
use crate::codec::dagpb::PbNode;
use crate::codec::unixfs_pb::{UnixTime, UnixfsData};
use crate::mfs::content::{Committed, FileContent};
use crate::mfs::history::{self, Recorder};
use crate::mfs::session_blocks::SessionBlocks;
use crate::unixfs::dir::{self, DirEntry, DirOptions};
use crate::unixfs::file::{FileOptions, import_file};
use crate::unixfs::node::{Kind, Node};
use crate::unixfs::reader::load;

pub const ROOT_INO: u64 = 1;
/// The read-only directory of past versions, at the root of the mount.
pub const HISTORY_DIR: &str = ".history";
/// Flushes closer together than this are recorded as one version.
pub const SQUASH_SECS: i64 = 30;
const NAME_MAX: usize = 255;

/// Who asks: the owner of anything created.
#[derive(Clone, Copy, Debug, Default)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
}

/// Attribute changes (`setattr`); `None` leaves a field alone.
#[derive(Clone, Debug, Default)]
pub struct SetAttr {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    /// `Some(None)` means "now".
    pub atime: Option<Option<UnixTime>>,
    pub mtime: Option<Option<UnixTime>>,
    pub ctime: Option<UnixTime>,
}

/// What `make` creates.
#[derive(Clone, Copy, Debug)]
pub struct NewNode<'a> {
    pub kind: FileKind,
    pub perm: u32,
    /// Device number of a character or block device.
    pub rdev: u32,
    /// A symlink's target.
    pub target: Option<&'a [u8]>,
}

impl NewNode<'_> {
    pub fn of(kind: FileKind, perm: u32) -> Self {
        NewNode {
            kind,
            perm,
            rdev: 0,
            target: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenameMode {
    Replace,
    NoReplace,
    Exchange,
}

/// Called with each new root and history head once their blocks are durable.
pub type PersistRoot = Box<dyn Fn(&Cid, &Cid) -> Result<(), String> + Send + Sync>;

pub struct MfsFs {
    store: Arc<dyn Blockstore>,
    created: Arc<SessionBlocks>,
    file_opts: FileOptions,
    dir_opts: DirOptions,
    tree: Mutex<Tree>,
    handles: Mutex<HashMap<u64, Handle>>,
    next_handle: AtomicU64,
    /// Set by every change, cleared by a flush that saw it.
    changed: AtomicBool,
    persist: PersistRoot,
    invalidate: Mutex<Option<Invalidate>>,
    /// Operations that write blocks hold its pin guard (see `live_roots`).
    gc: Arc<GcLock>,
    /// The stores of imports running in the background.
    in_flight: Mutex<Vec<Weak<InFlightStore>>>,
}

#[derive(Clone, Copy)]
struct Handle {
    ino: u64,
    writes: bool,
}

struct Tree {
    inodes: HashMap<u64, Inode>,
    next_ino: u64,
    /// The root as last persisted.
    persisted: Cid,
    empty_file: Committed,
    /// Times and owner for nodes loaded from the DAG without metadata.
    loaded_time: UnixTime,
    owner: Caller,
    recorder: Recorder,
    attrs: Option<Arc<dyn AttrStore>>,
    history_ino: u64,
    /// Inodes of past versions under `.history`, by commit.
    versions: HashMap<Cid, u64>,
}

pub(crate) struct Inode {
    kind: FileKind,
    perm: u16,
    uid: u32,
    gid: u32,
    rdev: u32,
    atime: UnixTime,
    mtime: UnixTime,
    ctime: UnixTime,
    nlink: u32,
    /// The directories linking to it, once per link.
    parents: Vec<u64>,
    open: u32,
    writers: u32,
    /// Part of a past version: read-only.
    frozen: bool,
    body: Body,
    /// The stored form while unchanged: CID and cumulative size.
    stored: Option<(Cid, u64)>,
}

enum Body {
    /// `None` until the entries are loaded from `stored`.
    Dir(Option<BTreeMap<String, u64>>),
    File(Arc<Mutex<FileContent>>),
    Symlink(Vec<u8>),
    Special,
}

fn now() -> UnixTime {
    crate::fuse::unix_time(SystemTime::now())
}

fn io_error(err: impl std::fmt::Display) -> FsError {
    let text = err.to_string();
    if text.contains("No space left") || text.contains("Disk quota") {
        FsError::NoSpace
    } else {
        tracing::error!("MFS: {text}");
        FsError::Io(text)
    }
}

fn check_name(name: &str) -> Result<(), FsError> {
    if name.len() > NAME_MAX {
        return Err(FsError::NameTooLong);
    }
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(FsError::Invalid);
    }
    Ok(())
}

impl MfsFs {
    /// Opens the tree stored at `root`. `owner` owns whatever is loaded
    /// from the DAG (it has no owner of its own).
    pub fn new(
        store: Arc<dyn Blockstore>,
        root: Cid,
        history_head: Option<Cid>,
        owner: Caller,
        persist: PersistRoot,
    ) -> Result<Self, FsError> {
        let created = Arc::new(SessionBlocks::new(store));
        let store: Arc<dyn Blockstore> = created.clone();
        let file_opts = FileOptions::kubo_defaults();
        let empty_file = Committed::from(
            import_file(store.as_ref(), &mut &[][..], &file_opts, &mut |_| {}).map_err(io_error)?,
        );
        let loaded_time = now();
        let recorder =
            Recorder::new(store.as_ref(), history_head.as_ref(), SQUASH_SECS).map_err(io_error)?;
        let mut tree = Tree {
            inodes: HashMap::new(),
            next_ino: ROOT_INO + 2,
            persisted: root,
            empty_file,
            loaded_time,
            owner,
            recorder,
            attrs: None,
            history_ino: ROOT_INO + 1,
            versions: HashMap::new(),
        };
        let node = load(store.as_ref(), &root).map_err(io_error)?;
        if !node.kind().is_dir() {
            return Err(FsError::NotADirectory);
        }
        let size = node.cumulative_size();
        let mut inode = tree.inode_from_node(&root, size, &node);
        inode.parents.push(ROOT_INO);
        let mut versions = tree.inode_from_node(&root, size, &node);
        tree.inodes.insert(ROOT_INO, inode);
        versions.body = Body::Dir(Some(BTreeMap::new()));
        versions.stored = None;
        versions.frozen = true;
        versions.parents = vec![ROOT_INO];
        tree.inodes.insert(tree.history_ino, versions);
        Ok(MfsFs {
            store,
            created,
            file_opts,
            dir_opts: DirOptions::default(),
            tree: Mutex::new(tree),
            handles: Mutex::new(HashMap::new()),
            next_handle: AtomicU64::new(1),
            changed: AtomicBool::new(false),
            persist,
            invalidate: Mutex::new(None),
            gc: GcLock::new(),
            in_flight: Mutex::new(Vec::new()),
        })
    }

    /// Keeps attributes beside the DAG in `attrs` (see `attrs`), and shows
    /// the root's recorded ones.
    pub fn with_attrs(self, attrs: Arc<dyn AttrStore>) -> Self {
        {
            let mut tree = self.tree();
            if let Some(root) = tree.get(ROOT_INO).ok().and_then(|i| i.stored)
                && let Some(saved) = attrs.load(&root.0)
                && let Some((_, own)) = saved.iter().find(|(name, _)| name == attrs::SELF)
                && let Ok(inode) = tree.get_mut(ROOT_INO)
            {
                own.apply(inode);
            }
            tree.attrs = Some(attrs);
        }
        self
    }

    /// Shares the repository's GC lock: garbage collection then waits for
    /// writes in progress and keeps what `live_roots` reports.
    pub fn with_gc_lock(mut self, gc: Arc<GcLock>) -> Self {
        self.gc = gc;
        self
    }

    /// Held by every operation that may write blocks, taken before any
    /// other lock: between operations every block written is reachable
    /// from `live_roots`.
    fn writing(&self) -> PinGuard {
        self.gc.pin_guard()
    }

    fn tree(&self) -> MutexGuard<'_, Tree> {
        self.tree
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn changed(&self) {
        self.changed.store(true, Ordering::SeqCst);
    }

    pub fn lookup(&self, parent: u64, name: &str) -> Result<Attr, FsError> {
        if name.len() > NAME_MAX {
            return Err(FsError::NameTooLong);
        }
        let mut tree = self.tree();
        let ino = tree
            .child(&*self.store, parent, name)?
            .ok_or(FsError::NotFound)?;
        tree.attr(&*self.store, ino)
    }

    pub fn getattr(&self, ino: u64) -> Result<Attr, FsError> {
        self.tree().attr(&*self.store, ino)
    }

    pub fn readlink(&self, ino: u64) -> Result<Vec<u8>, FsError> {
        match &self.tree().get(ino)?.body {
            Body::Symlink(target) => Ok(target.clone()),
            _ => Err(FsError::Invalid),
        }
    }

    /// Every entry of a directory with its attributes.
    pub fn readdir(&self, ino: u64) -> Result<Vec<Listing>, FsError> {
        let mut tree = self.tree();
        let mut children: Vec<(String, u64)> = tree
            .children(&*self.store, ino)?
            .iter()
            .map(|(name, &child)| (name.clone(), child))
            .collect();
        if ino == ROOT_INO {
            children.push((HISTORY_DIR.to_string(), tree.history_ino));
        }
        children
            .into_iter()
            .map(|(name, child)| {
                Ok(Listing {
                    name,
                    attr: tree.attr(&*self.store, child)?,
                })
            })
            .collect()
    }

    /// Creates a regular file, directory, symlink or special file.
    pub fn make(
        &self,
        caller: Caller,
        parent: u64,
        name: &str,
        new: &NewNode,
    ) -> Result<Attr, FsError> {
        let NewNode {
            kind,
            perm,
            rdev,
            target,
        } = *new;
        check_name(name)?;
        let mut tree = self.tree();
        tree.writable(parent)?;
        if tree.child(&*self.store, parent, name)?.is_some() {
            return Err(FsError::Exists);
        }
        let time = now();
        let body = match kind {
            FileKind::Directory => Body::Dir(Some(BTreeMap::new())),
            FileKind::File => Body::File(Arc::new(Mutex::new(FileContent::empty()))),
            FileKind::Symlink => Body::Symlink(target.unwrap_or_default().to_vec()),
            _ => Body::Special,
        };
        let parent_gid = tree.get(parent)?.gid;
        let parent_setgid = tree.get(parent)?.perm & 0o2000 != 0;
        let mut perm = (perm & 0o7777) as u16;
        if kind == FileKind::Symlink {
            perm = 0o777;
        }
        if kind == FileKind::Directory && parent_setgid {
            perm |= 0o2000;
        }
        let ino = tree.next_ino;
        tree.next_ino += 1;
        tree.inodes.insert(
            ino,
            Inode {
                kind,
                perm,
                uid: caller.uid,
                gid: if parent_setgid {
                    parent_gid
                } else {
                    caller.gid
                },
                rdev,
                atime: time,
                mtime: time,
                ctime: time,
                nlink: 1,
                parents: vec![parent],
                open: 0,
                writers: 0,
                frozen: false,
                body,
                stored: None,
            },
        );
        tree.children_mut(parent)?.insert(name.to_string(), ino);
        tree.touch_dir(parent, time);
        tree.mark_dirty(ino);
        self.changed();
        tree.attr(&*self.store, ino)
    }

    pub fn link(&self, ino: u64, parent: u64, name: &str) -> Result<Attr, FsError> {
        check_name(name)?;
        let mut tree = self.tree();
        tree.writable(parent)?;
        tree.writable(ino)?;
        if tree.get(ino)?.kind == FileKind::Directory {
            return Err(FsError::NotPermitted);
        }
        if tree.child(&*self.store, parent, name)?.is_some() {
            return Err(FsError::Exists);
        }
        let time = now();
        tree.children_mut(parent)?.insert(name.to_string(), ino);
        let inode = tree.get_mut(ino)?;
        inode.nlink += 1;
        inode.parents.push(parent);
        inode.ctime = time;
        tree.touch_dir(parent, time);
        tree.mark_dirty(parent);
        self.changed();
        tree.attr(&*self.store, ino)
    }

    pub fn unlink(&self, parent: u64, name: &str) -> Result<(), FsError> {
        let mut tree = self.tree();
        let ino = tree
            .child(&*self.store, parent, name)?
            .ok_or(FsError::NotFound)?;
        if tree.get(ino)?.kind == FileKind::Directory {
            return Err(FsError::IsADirectory);
        }
        tree.detach(parent, name, ino, now())?;
        self.changed();
        Ok(())
    }

    pub fn rmdir(&self, parent: u64, name: &str) -> Result<(), FsError> {
        let mut tree = self.tree();
        let ino = tree
            .child(&*self.store, parent, name)?
            .ok_or(FsError::NotFound)?;
        if tree.get(ino)?.kind != FileKind::Directory {
            return Err(FsError::NotADirectory);
        }
        tree.writable(parent)?;
        tree.writable(ino)?;
        if !tree.children(&*self.store, ino)?.is_empty() {
            return Err(FsError::NotEmpty);
        }
        tree.detach(parent, name, ino, now())?;
        self.changed();
        Ok(())
    }

    pub fn rename(
        &self,
        parent: u64,
        name: &str,
        new_parent: u64,
        new_name: &str,
        mode: RenameMode,
    ) -> Result<(), FsError> {
        check_name(new_name)?;
        let mut tree = self.tree();
        let store = &*self.store;
        let ino = tree.child(store, parent, name)?.ok_or(FsError::NotFound)?;
        if tree.children(store, new_parent).is_err() {
            return Err(FsError::NotADirectory);
        }
        for touched in [ino, parent, new_parent] {
            tree.writable(touched)?;
        }
        if ino == new_parent || tree.is_ancestor(ino, new_parent) {
            return Err(FsError::Invalid);
        }
        let existing = tree.child(store, new_parent, new_name)?;
        if let Some(other) = existing {
            tree.writable(other)?;
        }
        let time = now();
        match (mode, existing) {
            (RenameMode::NoReplace, Some(_)) => return Err(FsError::Exists),
            (RenameMode::Exchange, None) => return Err(FsError::NotFound),
            (RenameMode::Exchange, Some(other)) => {
                if tree.is_ancestor(other, parent) {
                    return Err(FsError::Invalid);
                }
                tree.children_mut(parent)?.insert(name.to_string(), other);
                tree.children_mut(new_parent)?
                    .insert(new_name.to_string(), ino);
                tree.reparent(ino, parent, new_parent);
                tree.reparent(other, new_parent, parent);
                for moved in [ino, other] {
                    tree.get_mut(moved)?.ctime = time;
                }
                tree.touch_dir(parent, time);
                tree.touch_dir(new_parent, time);
                self.changed();
                return Ok(());
            }
            (_, Some(other)) if other == ino => return Ok(()),
            (_, Some(other)) => {
                let moving_dir = tree.get(ino)?.kind == FileKind::Directory;
                let other_dir = tree.get(other)?.kind == FileKind::Directory;
                match (moving_dir, other_dir) {
                    (true, false) => return Err(FsError::NotADirectory),
                    (false, true) => return Err(FsError::IsADirectory),
                    (true, true) if !tree.children(store, other)?.is_empty() => {
                        return Err(FsError::NotEmpty);
                    }
                    _ => {}
                }
                tree.detach(new_parent, new_name, other, time)?;
            }
            (_, None) => {}
        }
        tree.children_mut(parent)?.remove(name);
        tree.children_mut(new_parent)?
            .insert(new_name.to_string(), ino);
        tree.reparent(ino, parent, new_parent);
        tree.get_mut(ino)?.ctime = time;
        tree.touch_dir(parent, time);
        tree.touch_dir(new_parent, time);
        self.changed();
        Ok(())
    }

    pub fn setattr(&self, ino: u64, set: &SetAttr) -> Result<Attr, FsError> {
        let _writing = self.writing();
        self.tree().writable(ino)?;
        let time = now();
        if let Some(size) = set.size {
            let content = self.file_content(ino)?;
            let mut content = content.lock().unwrap_or_else(|p| p.into_inner());
            content
                .truncate(&self.store, &self.file_opts, size)
                .map_err(io_error)?;
        }
        let mut tree = self.tree();
        let inode = tree.get_mut(ino)?;
        if let Some(mode) = set.mode {
            inode.perm = (mode & 0o7777) as u16;
        }
        if let Some(uid) = set.uid {
            inode.uid = uid;
        }
        if let Some(gid) = set.gid {
            inode.gid = gid;
        }
        if let Some(atime) = set.atime {
            inode.atime = atime.unwrap_or(time);
        }
        if let Some(mtime) = set.mtime {
            inode.mtime = mtime.unwrap_or(time);
        }
        inode.ctime = set.ctime.unwrap_or(time);
        // Attributes are recorded with the parent directory when it is
        // rebuilt; a new size also changes the content.
        tree.mark_dirty(ino);
        self.changed();
        tree.attr(&*self.store, ino)
    }

    fn file_content(&self, ino: u64) -> Result<Arc<Mutex<FileContent>>, FsError> {
        match &self.tree().get(ino)?.body {
            Body::File(content) => Ok(Arc::clone(content)),
            Body::Dir(_) => Err(FsError::IsADirectory),
            _ => Err(FsError::Invalid),
        }
    }

    /// Opens a file; returns the handle.
    pub fn open(&self, ino: u64, writes: bool) -> Result<u64, FsError> {
        let mut tree = self.tree();
        if writes {
            tree.writable(ino)?;
        }
        let inode = tree.get_mut(ino)?;
        inode.open += 1;
        if writes {
            inode.writers += 1;
        }
        let fh = self.next_handle.fetch_add(1, Ordering::Relaxed);
        self.handles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(fh, Handle { ino, writes });
        Ok(fh)
    }

    /// Creates a regular file and opens it for writing.
    pub fn create(
        &self,
        caller: Caller,
        parent: u64,
        name: &str,
        perm: u32,
    ) -> Result<(Attr, u64), FsError> {
        let attr = self.make(caller, parent, name, &NewNode::of(FileKind::File, perm))?;
        let fh = self.open(attr.ino, true)?;
        Ok((attr, fh))
    }

    pub fn read(&self, ino: u64, offset: u64, size: u32) -> Result<Vec<u8>, FsError> {
        // Reading a file being imported finishes the import.
        let _writing = self.writing();
        let content = self.file_content(ino)?;
        let mut content = content.lock().unwrap_or_else(|p| p.into_inner());
        content
            .read(&self.store, &self.file_opts, offset, size as usize)
            .map_err(io_error)
    }

    pub fn write(&self, ino: u64, offset: u64, data: &[u8]) -> Result<u32, FsError> {
        let _writing = self.writing();
        // An import this write starts in the background keeps the store:
        // what it puts counts as live until the file is committed.
        let in_flight = Arc::new(InFlightStore::new(
            Arc::clone(&self.store),
            Arc::clone(&self.gc),
        ));
        let store: Arc<dyn Blockstore> = in_flight.clone();
        let content = self.file_content(ino)?;
        {
            let mut content = content.lock().unwrap_or_else(|p| p.into_inner());
            content
                .write(&store, &self.file_opts, offset, data)
                .map_err(io_error)?;
        }
        drop(store);
        if Arc::strong_count(&in_flight) > 1 {
            let mut running = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            running.retain(|store| store.strong_count() > 0);
            running.push(Arc::downgrade(&in_flight));
        }
        // Marked after the bytes are in: a flush in between sees them.
        let mut tree = self.tree();
        let time = now();
        let inode = tree.get_mut(ino)?;
        inode.mtime = time;
        inode.ctime = time;
        tree.mark_dirty(ino);
        self.changed();
        Ok(data.len() as u32)
    }

    /// On close: imports the file's bytes, reporting import errors to close.
    pub fn flush_handle(&self, fh: u64) -> Result<(), FsError> {
        let Some(handle) = self.handle(fh) else {
            return Ok(());
        };
        if !handle.writes {
            return Ok(());
        }
        let _writing = self.writing();
        let content = self.file_content(handle.ino)?;
        let mut content = content.lock().unwrap_or_else(|p| p.into_inner());
        content
            .commit(&self.store, &self.file_opts)
            .map_err(io_error)?;
        Ok(())
    }

    fn handle(&self, fh: u64) -> Option<Handle> {
        self.handles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&fh)
            .copied()
    }

    pub fn release(&self, fh: u64) {
        let Some(handle) = self
            .handles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&fh)
        else {
            return;
        };
        let mut tree = self.tree();
        if let Ok(inode) = tree.get_mut(handle.ino) {
            inode.open = inode.open.saturating_sub(1);
            if handle.writes {
                inode.writers = inode.writers.saturating_sub(1);
            }
            if inode.open == 0 && inode.nlink == 0 {
                tree.inodes.remove(&handle.ino);
            }
        }
    }

    /// The CID of an inode's current content (committing what it needs).
    pub fn cid_of(&self, ino: u64) -> Result<Cid, FsError> {
        let _writing = self.writing();
        let mut tree = self.tree();
        let flushed = tree.flush(&self.store, &self.file_opts, &self.dir_opts, ino, true)?;
        flushed
            .map(|(stored, _)| stored.0)
            .ok_or(FsError::NotSupported)
    }

    /// Commits everything (files still open for writing too when `all`),
    /// makes the blocks durable and persists the new root. Returns the root.
    pub fn sync(&self, all: bool) -> Result<Cid, FsError> {
        let writing = self.writing();
        let had_changes = self.changed.swap(false, Ordering::SeqCst);
        let mut tree = self.tree();
        let flushed = tree.flush(&self.store, &self.file_opts, &self.dir_opts, ROOT_INO, all);
        let (root, provisional) = match flushed {
            Ok(Some(((cid, _), provisional))) => (cid, provisional),
            Ok(None) => unreachable!("the root is a directory"),
            Err(err) => {
                self.changed();
                return Err(err);
            }
        };
        if provisional {
            // Open files were left out: flush again later.
            self.changed();
        }
        if root != tree.persisted || (all && had_changes) {
            let head = tree
                .recorder
                .commit(self.store.as_ref(), &root, now())
                .map_err(io_error)?;
            self.store.sync().map_err(io_error)?;
            if root != tree.persisted {
                (self.persist)(&root, &head).map_err(FsError::Io)?;
                tree.persisted = root;
                self.remove_dead_versions(&tree, &writing);
            }
        }
        Ok(root)
    }

    /// Ends the current version: the next flush records a new one rather
    /// than replacing it (called at unmount).
    pub fn seal_history(&self) {
        self.tree().recorder.seal();
    }

    /// Deletes blocks this mount wrote that nothing uses any more: versions
    /// of files replaced since. Every file's last committed version stays,
    /// whether or not the tree links it yet.
    /// Runs only when no other operation writes blocks (the GC lock taken
    /// exclusively; background imports pause), and keeps what imports in
    /// flight have put, so that nothing in flight looks dead.
    fn remove_dead_versions(&self, tree: &Tree, writing: &PinGuard) {
        let Some(_alone) = writing.try_exclusive() else {
            return;
        };
        let mut live = tree.live_roots();
        live.extend(self.in_flight_roots());
        match self.created.sweep(&live) {
            Ok(0) => {}
            Ok(removed) => tracing::debug!("MFS: removed {removed} blocks of replaced versions"),
            Err(err) => tracing::warn!("MFS: removing replaced versions: {err}"),
        }
    }

    /// Blocks (multihash bytes) a pin now holds: the sweep of dead versions
    /// leaves them alone even when this tree stops using them.
    pub fn keep_blocks(&self, blocks: &std::collections::HashSet<Vec<u8>>) {
        self.created.forget(blocks);
    }

    /// What garbage collection must keep besides the persisted root: the
    /// last committed version of every file and the stored form of every
    /// node, flushed into a persisted root or not. Asked under the GC
    /// lock, when no operation is writing.
    pub fn live_roots(&self) -> Vec<Cid> {
        let mut live = self.tree().live_roots();
        live.extend(self.in_flight_roots());
        live
    }

    /// Every block the imports running in the background have put.
    fn in_flight_roots(&self) -> Vec<Cid> {
        let running = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        running
            .iter()
            .filter_map(Weak::upgrade)
            .flat_map(|store| store.written())
            .collect()
    }

    /// Whether anything changed since the last flush.
    pub fn has_changes(&self) -> bool {
        self.changed.load(Ordering::SeqCst)
    }

    /// The newest recorded version.
    pub fn history_head(&self) -> Option<Cid> {
        self.tree().recorder.head()
    }

    pub fn root_cid(&self) -> Cid {
        self.tree().persisted
    }
}

/// Flushes `fs` every `every` while it changes, until `stop` is set.
pub fn spawn_flusher(
    fs: Arc<MfsFs>,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("mfs-flush".into())
        .spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                std::thread::park_timeout(every);
                if fs.has_changes()
                    && let Err(err) = fs.sync(false)
                {
                    tracing::error!("MFS flush failed: {err}");
                }
            }
        })
        .expect("spawn the MFS flusher")
}

impl Tree {
    fn live_roots(&self) -> Vec<Cid> {
        let mut live = vec![self.persisted, self.empty_file.cid];
        live.extend(self.recorder.head());
        for inode in self.inodes.values() {
            if let Body::File(content) = &inode.body
                && let Some(committed) = content
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .committed()
            {
                live.push(committed.cid);
            }
            if let Some((cid, _)) = inode.stored {
                live.push(cid);
            }
        }
        live
    }

    /// Past versions are read-only.
    fn writable(&self, ino: u64) -> Result<(), FsError> {
        if self.get(ino)?.frozen {
            Err(FsError::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// Gives the entries of a directory just loaded from `dir` their
    /// recorded attributes, and brings back its special files.
    fn apply_saved(&mut self, dir: &Cid, ino: u64, children: &mut BTreeMap<String, u64>) {
        let Some(saved) = self.attrs.as_ref().and_then(|a| a.load(dir)) else {
            return;
        };
        let frozen = self.inodes.get(&ino).is_some_and(|i| i.frozen);
        for (name, attr) in saved {
            if name == attrs::SELF {
                continue;
            }
            match (children.get(&name), attr.special) {
                (Some(child), None) => {
                    if let Some(inode) = self.inodes.get_mut(child) {
                        attr.apply(inode);
                    }
                }
                (None, Some(kind)) => {
                    let mut inode = Inode {
                        kind,
                        perm: 0,
                        uid: 0,
                        gid: 0,
                        rdev: 0,
                        atime: UnixTime::default(),
                        mtime: UnixTime::default(),
                        ctime: UnixTime::default(),
                        nlink: 1,
                        parents: vec![ino],
                        open: 0,
                        writers: 0,
                        frozen,
                        body: Body::Special,
                        stored: None,
                    };
                    attr.apply(&mut inode);
                    let special = self.next_ino;
                    self.next_ino += 1;
                    self.inodes.insert(special, inode);
                    children.insert(name, special);
                }
                _ => {}
            }
        }
    }

    /// Records the attributes of directory `ino` (stored as `dir`) and of
    /// its entries.
    fn save_attrs(&self, dir: &Cid, ino: u64) {
        let Some(store) = &self.attrs else {
            return;
        };
        let Some(inode) = self.inodes.get(&ino) else {
            return;
        };
        let mut entries = vec![(attrs::SELF.to_string(), SavedAttr::of(inode))];
        if let Body::Dir(Some(children)) = &inode.body {
            for (name, child) in children {
                if let Some(child) = self.inodes.get(child) {
                    entries.push((name.clone(), SavedAttr::of(child)));
                }
            }
        }
        store.save(dir, &entries);
    }

    /// `.history/<n>`: every recorded version, the oldest as 1.
    fn refresh_versions(&mut self, store: &dyn Blockstore) -> Result<(), FsError> {
        let commits = history::log(store, self.recorder.head().as_ref()).map_err(io_error)?;
        let mut names = BTreeMap::new();
        for (n, commit) in commits.iter().rev().enumerate() {
            let ino = match self.versions.get(&commit.cid) {
                Some(&ino) => ino,
                None => {
                    let node = load(store, &commit.root).map_err(io_error)?;
                    let mut version =
                        self.inode_from_node(&commit.root, node.cumulative_size(), &node);
                    version.frozen = true;
                    version.parents = vec![self.history_ino];
                    version.mtime = commit.time;
                    version.ctime = commit.time;
                    let ino = self.next_ino;
                    self.next_ino += 1;
                    self.inodes.insert(ino, version);
                    self.versions.insert(commit.cid, ino);
                    ino
                }
            };
            names.insert((n + 1).to_string(), ino);
        }
        self.get_mut(self.history_ino)?.body = Body::Dir(Some(names));
        Ok(())
    }

    fn get(&self, ino: u64) -> Result<&Inode, FsError> {
        self.inodes.get(&ino).ok_or(FsError::NotFound)
    }

    fn get_mut(&mut self, ino: u64) -> Result<&mut Inode, FsError> {
        self.inodes.get_mut(&ino).ok_or(FsError::NotFound)
    }

    fn inode_from_node(&self, cid: &Cid, tsize: u64, node: &Node) -> Inode {
        let unixfs = node.unixfs();
        let (kind, body, default_perm) = match node.kind() {
            Kind::Directory | Kind::HamtShard => (FileKind::Directory, Body::Dir(None), 0o755),
            Kind::Symlink => (
                FileKind::Symlink,
                Body::Symlink(node.symlink_target().unwrap_or_default().to_vec()),
                0o777,
            ),
            Kind::File | Kind::Other => (
                FileKind::File,
                Body::File(Arc::new(Mutex::new(FileContent::stored(Committed {
                    cid: *cid,
                    tsize,
                    size: node.content_size(),
                })))),
                0o644,
            ),
        };
        let perm = unixfs
            .and_then(|u| u.mode)
            .map_or(default_perm, |m| (m & 0o7777) as u16);
        let time = unixfs.and_then(|u| u.mtime).unwrap_or(self.loaded_time);
        Inode {
            kind,
            perm,
            uid: self.owner.uid,
            gid: self.owner.gid,
            rdev: 0,
            atime: time,
            mtime: time,
            ctime: time,
            nlink: 1,
            parents: Vec::new(),
            open: 0,
            writers: 0,
            frozen: false,
            body,
            stored: Some((*cid, tsize)),
        }
    }

    /// A directory's entries, loaded from the DAG on first use.
    fn children(
        &mut self,
        store: &dyn Blockstore,
        ino: u64,
    ) -> Result<&BTreeMap<String, u64>, FsError> {
        if ino == self.history_ino {
            self.refresh_versions(store)?;
        }
        let inode = self.get(ino)?;
        let frozen = inode.frozen;
        match &inode.body {
            Body::Dir(Some(_)) => {}
            Body::Dir(None) => {
                let (cid, _) = inode
                    .stored
                    .ok_or_else(|| FsError::Io("unloaded directory without a CID".into()))?;
                let entries = dir::list(store, &cid).map_err(io_error)?;
                let mut children = BTreeMap::new();
                for entry in entries {
                    let node = load(store, &entry.cid).map_err(io_error)?;
                    let mut child = self.inode_from_node(&entry.cid, entry.size, &node);
                    child.parents.push(ino);
                    child.frozen = frozen;
                    let child_ino = self.next_ino;
                    self.next_ino += 1;
                    self.inodes.insert(child_ino, child);
                    children.insert(entry.name, child_ino);
                }
                self.apply_saved(&cid, ino, &mut children);
                self.get_mut(ino)?.body = Body::Dir(Some(children));
            }
            _ => return Err(FsError::NotADirectory),
        }
        match &self.get(ino)?.body {
            Body::Dir(Some(children)) => Ok(children),
            _ => unreachable!("just loaded"),
        }
    }

    fn children_mut(&mut self, ino: u64) -> Result<&mut BTreeMap<String, u64>, FsError> {
        match &mut self.get_mut(ino)?.body {
            Body::Dir(Some(children)) => Ok(children),
            Body::Dir(None) => Err(FsError::Io("directory not loaded".into())),
            _ => Err(FsError::NotADirectory),
        }
    }

    fn child(
        &mut self,
        store: &dyn Blockstore,
        parent: u64,
        name: &str,
    ) -> Result<Option<u64>, FsError> {
        if parent == ROOT_INO && name == HISTORY_DIR {
            return Ok(Some(self.history_ino));
        }
        Ok(self.children(store, parent)?.get(name).copied())
    }

    fn attr(&mut self, store: &dyn Blockstore, ino: u64) -> Result<Attr, FsError> {
        let nlink = match self.get(ino)?.kind {
            FileKind::Directory => {
                let children: Vec<u64> = self.children(store, ino)?.values().copied().collect();
                let subdirs = children
                    .iter()
                    .filter(|c| {
                        self.inodes
                            .get(c)
                            .is_some_and(|i| i.kind == FileKind::Directory)
                    })
                    .count();
                2 + subdirs as u32
            }
            _ => self.get(ino)?.nlink,
        };
        let inode = self.get(ino)?;
        let size = match &inode.body {
            Body::File(content) => content.lock().unwrap_or_else(|p| p.into_inner()).size(),
            Body::Symlink(target) => target.len() as u64,
            Body::Dir(_) => 4096,
            Body::Special => 0,
        };
        Ok(Attr {
            ino,
            kind: inode.kind,
            size,
            blocks: size.div_ceil(512),
            perm: if inode.frozen {
                inode.perm & !0o222
            } else {
                inode.perm
            },
            nlink,
            uid: inode.uid,
            gid: inode.gid,
            rdev: inode.rdev,
            atime: inode.atime,
            mtime: inode.mtime,
            ctime: inode.ctime,
        })
    }

    /// Marks `ino` changed, and every directory above it.
    fn mark_dirty(&mut self, ino: u64) {
        let mut stack = vec![ino];
        let mut first = true;
        while let Some(current) = stack.pop() {
            let Some(inode) = self.inodes.get_mut(&current) else {
                continue;
            };
            // Above a node already dirty, everything is dirty too.
            if inode.stored.is_none() && !first {
                continue;
            }
            first = false;
            inode.stored = None;
            stack.extend(inode.parents.iter().copied().filter(|&p| p != current));
        }
    }

    fn touch_dir(&mut self, ino: u64, time: UnixTime) {
        if let Some(dir) = self.inodes.get_mut(&ino) {
            dir.mtime = time;
            dir.ctime = time;
        }
        self.mark_dirty(ino);
    }

    /// Removes the entry `name` (which is `ino`) from `parent`.
    fn detach(&mut self, parent: u64, name: &str, ino: u64, time: UnixTime) -> Result<(), FsError> {
        self.writable(parent)?;
        self.writable(ino)?;
        self.children_mut(parent)?.remove(name);
        self.touch_dir(parent, time);
        let inode = self.get_mut(ino)?;
        inode.nlink = inode.nlink.saturating_sub(1);
        if let Some(at) = inode.parents.iter().position(|&p| p == parent) {
            inode.parents.remove(at);
        }
        inode.ctime = time;
        if inode.kind == FileKind::Directory {
            inode.nlink = 0;
        }
        if inode.nlink == 0 && inode.open == 0 {
            self.inodes.remove(&ino);
        }
        Ok(())
    }

    fn reparent(&mut self, ino: u64, from: u64, to: u64) {
        if let Some(inode) = self.inodes.get_mut(&ino)
            && let Some(at) = inode.parents.iter().position(|&p| p == from)
        {
            inode.parents[at] = to;
        }
        self.mark_dirty(ino);
    }

    /// Whether `ancestor` is a directory above `ino`.
    fn is_ancestor(&self, ancestor: u64, ino: u64) -> bool {
        let mut current = ino;
        for _ in 0..self.inodes.len() + 1 {
            if current == ROOT_INO {
                return false;
            }
            match self.inodes.get(&current).and_then(|i| i.parents.first()) {
                Some(&parent) if parent == ancestor => return true,
                Some(&parent) => current = parent,
                None => return false,
            }
        }
        false
    }

    /// The stored form of `ino` (`None` for special files), and whether it
    /// is provisional: it links an open file's last committed version.
    #[allow(clippy::type_complexity)]
    fn flush(
        &mut self,
        store: &Arc<dyn Blockstore>,
        file_opts: &FileOptions,
        dir_opts: &DirOptions,
        ino: u64,
        all: bool,
    ) -> Result<Option<((Cid, u64), bool)>, FsError> {
        let inode = self.get(ino)?;
        if let Some(stored) = inode.stored {
            return Ok(Some((stored, false)));
        }
        let (stored, provisional) = match &inode.body {
            Body::Special => return Ok(None),
            Body::File(content) => {
                let mut content = content.lock().unwrap_or_else(|p| p.into_inner());
                if inode.writers > 0 && !all && !content.is_clean() {
                    let last = content.committed().unwrap_or(self.empty_file);
                    ((last.cid, last.tsize), true)
                } else {
                    let file = content.commit(store, file_opts).map_err(io_error)?;
                    ((file.cid, file.tsize), false)
                }
            }
            Body::Symlink(target) => {
                let block = PbNode {
                    links: Vec::new(),
                    data: Some(UnixfsData::symlink(target).encode()),
                }
                .encode();
                let cid = file_opts.cid.cid_of(DAG_PB, &block);
                store.put(&cid, &block).map_err(io_error)?;
                ((cid, block.len() as u64), false)
            }
            Body::Dir(None) => unreachable!("an unloaded directory is stored"),
            Body::Dir(Some(children)) => {
                let children: Vec<(String, u64)> = children
                    .iter()
                    .map(|(name, &child)| (name.clone(), child))
                    .collect();
                let mut entries = Vec::with_capacity(children.len());
                let mut provisional = false;
                for (name, child) in children {
                    if let Some(((cid, size), child_provisional)) =
                        self.flush(store, file_opts, dir_opts, child, all)?
                    {
                        provisional |= child_provisional;
                        entries.push(DirEntry { name, cid, size });
                    }
                }
                let built =
                    dir::build_directory(store.as_ref(), entries, dir_opts).map_err(io_error)?;
                self.save_attrs(&built.cid, ino);
                ((built.cid, built.size), provisional)
            }
        };
        if !provisional {
            self.get_mut(ino)?.stored = Some(stored);
        }
        Ok(Some((stored, provisional)))
    }
}

mod attrs;
mod paths;
pub use attrs::{AttrStore, SavedAttr, decode as decode_attrs, encode as encode_attrs};
pub use paths::{Invalidate, Invalidation};

#[cfg(test)]
mod tests;
