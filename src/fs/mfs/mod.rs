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
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::file_reads::FileReads;
use super::{Attr, FileKind, FsError, Listing};
use crate::blockstore::Blockstore;
use crate::blockstore::{GcLock, InFlightStore, PinGuard};
use crate::codec::cid::Cid;
use crate::codec::unixfs_pb::UnixTime;
use crate::mfs::content::{Committed, ContentError, FileContent};
use crate::mfs::history::Recorder;
use crate::mfs::session_blocks::SessionBlocks;
use crate::unixfs::dir::DirOptions;
use crate::unixfs::file::{FileOptions, import_file};
use crate::unixfs::reader::load;
use file_node::FileNode;
use tree::{Body, DirBody, Inode, Tree};

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
    /// Held by the flush persisting a new root.
    syncing: Mutex<()>,
    persist: PersistRoot,
    invalidate: Mutex<Option<Arc<Invalidate>>>,
    /// Operations that write blocks hold its pin guard (see `live_roots`).
    gc: Arc<GcLock>,
    /// The stores of imports running in the background.
    in_flight: Mutex<Vec<Weak<InFlightStore>>>,
    /// Reads of files as stored (not changed since their last commit);
    /// made on the first such read unless shared with another tree.
    file_reads: OnceLock<Arc<FileReads>>,
}

#[derive(Clone, Copy)]
struct Handle {
    ino: u64,
    writes: bool,
}

fn now() -> UnixTime {
    crate::fuse::unix_time(SystemTime::now())
}

fn io_error(err: impl std::error::Error + Send + Sync + 'static) -> FsError {
    let err = FsError::from_error(err);
    if let FsError::Io(cause) = &err {
        tracing::error!("MFS: {cause}");
    }
    err
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
        versions.body = Body::Dir(DirBody::Loaded(BTreeMap::new()));
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
            syncing: Mutex::new(()),
            persist,
            invalidate: Mutex::new(None),
            gc: GcLock::new(),
            in_flight: Mutex::new(Vec::new()),
            file_reads: OnceLock::new(),
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

    /// Reads directory `ino` from the DAG if no one has yet, without
    /// holding the tree: a directory whose blocks are slow to come (from
    /// the network, say) delays only those who need it.
    fn load_dir(&self, ino: u64) -> Result<(), FsError> {
        let (cid, frozen) = {
            let tree = self.tree();
            match tree.unloaded_dir(ino)? {
                Some(cid) => (cid, tree.get(ino)?.frozen),
                None => return Ok(()),
            }
        };
        let read = tree::read_dir(&*self.store, &cid)?;
        self.tree().install_dir(ino, frozen, read)
    }

    /// `load_dir` for the directories an operation works in.
    fn load_dirs(&self, dirs: &[u64]) -> Result<(), FsError> {
        dirs.iter().try_for_each(|&dir| match self.load_dir(dir) {
            Err(FsError::NotADirectory) => Ok(()),
            other => other,
        })
    }

    fn changed(&self) {
        self.changed.store(true, Ordering::SeqCst);
    }

    pub fn lookup(&self, parent: u64, name: &str) -> Result<Attr, FsError> {
        if name.len() > NAME_MAX {
            return Err(FsError::NameTooLong);
        }
        self.load_dirs(&[parent])?;
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
        self.load_dirs(&[ino])?;
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
        self.load_dirs(&[parent])?;
        let mut tree = self.tree();
        tree.writable(parent)?;
        if tree.child(&*self.store, parent, name)?.is_some() {
            return Err(FsError::Exists);
        }
        let time = now();
        let body = match kind {
            FileKind::Directory => Body::Dir(DirBody::Loaded(BTreeMap::new())),
            FileKind::File => Body::File(FileNode::new(FileContent::empty())),
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
        self.load_dirs(&[parent])?;
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
        self.load_dirs(&[parent])?;
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
        self.load_dirs(&[parent])?;
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
        self.load_dirs(&[parent, new_parent])?;
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
                if other == parent || tree.is_ancestor(other, parent) {
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
            self.file(ino)?
                .with(|content| content.truncate(&self.store, &self.file_opts, size))
                .map_err(|err| self.content_failed(ino, err))?;
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

    fn file(&self, ino: u64) -> Result<Arc<FileNode>, FsError> {
        match &self.tree().get(ino)?.body {
            Body::File(file) => Ok(Arc::clone(file)),
            Body::Dir(_) => Err(FsError::IsADirectory),
            _ => Err(FsError::Invalid),
        }
    }

    /// Opens a file; returns the handle.
    pub fn open(&self, ino: u64, writes: bool) -> Result<u64, FsError> {
        let file = {
            let mut tree = self.tree();
            if writes {
                tree.writable(ino)?;
            }
            let inode = tree.get_mut(ino)?;
            inode.open += 1;
            if writes {
                inode.writers += 1;
            }
            match &inode.body {
                Body::File(file) if writes => Some(Arc::clone(file)),
                _ => None,
            }
        };
        // After the tree is let go: the file may be busy with a long write.
        if let Some(file) = file {
            file.with(|content| content.opened_for_writing());
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

    pub fn read(&self, ino: u64, offset: u64, size: u32) -> Result<Bytes, FsError> {
        let _writing = self.writing();
        let file = self.file(ino)?;
        // Unchanged since its commit: read as /ipfs reads, through the
        // shared node cache with read-ahead, without the content's lock.
        // A write that returned before this read began has marked it dirty.
        let summary = file.summary();
        if let (true, Some(stored)) = (summary.clean, summary.committed) {
            return self
                .file_reads()
                .read(&stored.cid, offset, size)
                .map_err(|err| self.content_failed(ino, err.into()));
        }
        // Reading a file being imported finishes the import.
        file.with(|content| content.read(&self.store, &self.file_opts, offset, size as usize))
            .map(Bytes::from)
            .map_err(|err| self.content_failed(ino, err))
    }

    /// Shares `reads` (another tree's) for this tree's stored files.
    pub fn share_file_reads(&self, reads: Arc<FileReads>) {
        let _ = self.file_reads.set(reads);
    }

    fn file_reads(&self) -> &FileReads {
        self.file_reads
            .get_or_init(|| Arc::new(FileReads::new(Arc::clone(&self.store))))
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
        self.file(ino)?
            .with(|content| content.write(&store, &self.file_opts, offset, data))
            .map_err(|err| self.content_failed(ino, err))?;
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
        self.file(handle.ino)?
            .with(|content| content.commit_for_writer(&self.store, &self.file_opts))
            .map_err(|err| self.content_failed(handle.ino, err))?;
        Ok(())
    }

    /// A file operation failed, and the file went back to its last
    /// committed content: the kernel must forget the pages and size it
    /// cached from the writes given up.
    fn content_failed(&self, ino: u64, err: ContentError) -> FsError {
        self.notify_later(vec![Invalidation::Inode(ino)]);
        io_error(err)
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

    /// Whether anything changed since the last flush.
    pub fn has_changes(&self) -> bool {
        self.changed.load(Ordering::SeqCst)
    }

    /// Whether a handle open for writing is still open.
    pub fn has_open_writers(&self) -> bool {
        self.handles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .any(|handle| handle.writes)
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

mod attrs;
mod file_node;
mod flush;
mod paths;
mod tree;
mod versions;
pub use attrs::{AttrStore, SavedAttr, decode as decode_attrs, encode as encode_attrs};
pub use paths::{Invalidate, Invalidation};

#[cfg(test)]
mod concurrent_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
