//! The inode tree behind /mfs: inodes, their bodies, and the bookkeeping
//! of changes (dirty marks up to the root, links, moves). Directories are
//! read from the DAG when first needed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::attrs::AttrStore;
use super::file_node::FileNode;
use super::{Caller, HISTORY_DIR, ROOT_INO, io_error};
use crate::blockstore::Blockstore;
use crate::codec::cid::Cid;
use crate::codec::unixfs_pb::UnixTime;
use crate::fs::{Attr, FileKind, FsError};
use crate::mfs::content::{Committed, FileContent};
use crate::mfs::history::Recorder;
use crate::unixfs::dir;
use crate::unixfs::node::{Kind, Node};
use crate::unixfs::reader::load;

pub(super) struct Tree {
    pub(super) inodes: HashMap<u64, Inode>,
    pub(super) next_ino: u64,
    /// The root as last persisted.
    pub(super) persisted: Cid,
    pub(super) empty_file: Committed,
    /// Times and owner for nodes loaded from the DAG without metadata.
    pub(super) loaded_time: UnixTime,
    pub(super) owner: Caller,
    pub(super) recorder: Recorder,
    pub(super) attrs: Option<Arc<dyn AttrStore>>,
    pub(super) history_ino: u64,
    /// Inodes of past versions under `.history`, by commit.
    pub(super) versions: HashMap<Cid, u64>,
}

pub(crate) struct Inode {
    pub(super) kind: FileKind,
    pub(super) perm: u16,
    pub(super) uid: u32,
    pub(super) gid: u32,
    pub(super) rdev: u32,
    pub(super) atime: UnixTime,
    pub(super) mtime: UnixTime,
    pub(super) ctime: UnixTime,
    pub(super) nlink: u32,
    /// The directories linking to it, once per link.
    pub(super) parents: Vec<u64>,
    pub(super) open: u32,
    pub(super) writers: u32,
    /// Part of a past version: read-only.
    pub(super) frozen: bool,
    pub(super) body: Body,
    /// The stored form while unchanged: CID and cumulative size.
    pub(super) stored: Option<(Cid, u64)>,
}

pub(super) enum Body {
    Dir(DirBody),
    File(Arc<FileNode>),
    Symlink(Vec<u8>),
    Special,
}

pub(super) enum DirBody {
    /// Not read yet: the entries are those of the stored directory `Cid`,
    /// even when a change to the directory's own attributes or a move has
    /// made it dirty.
    Unloaded(Cid),
    Loaded(BTreeMap<String, u64>),
}

/// A stored directory's entries with their nodes, read from the DAG
/// without the tree (see `MfsFs::load_dir`).
pub(super) struct StoredDir {
    cid: Cid,
    entries: Vec<(dir::DirEntry, Node)>,
}

pub(super) fn read_dir(store: &dyn Blockstore, cid: &Cid) -> Result<StoredDir, FsError> {
    let entries = dir::list(store, cid)
        .map_err(io_error)?
        .into_iter()
        .map(|entry| {
            let node = load(store, &entry.cid).map_err(io_error)?;
            Ok((entry, node))
        })
        .collect::<Result<_, FsError>>()?;
    Ok(StoredDir { cid: *cid, entries })
}

impl Tree {
    /// Past versions are read-only.
    pub(super) fn writable(&self, ino: u64) -> Result<(), FsError> {
        if self.get(ino)?.frozen {
            Err(FsError::ReadOnly)
        } else {
            Ok(())
        }
    }

    pub(super) fn get(&self, ino: u64) -> Result<&Inode, FsError> {
        self.inodes.get(&ino).ok_or(FsError::NotFound)
    }

    pub(super) fn get_mut(&mut self, ino: u64) -> Result<&mut Inode, FsError> {
        self.inodes.get_mut(&ino).ok_or(FsError::NotFound)
    }

    pub(super) fn inode_from_node(&self, cid: &Cid, tsize: u64, node: &Node) -> Inode {
        let unixfs = node.unixfs();
        let (kind, body, default_perm) = match node.kind() {
            Kind::Directory | Kind::HamtShard => (
                FileKind::Directory,
                Body::Dir(DirBody::Unloaded(*cid)),
                0o755,
            ),
            Kind::Symlink => (
                FileKind::Symlink,
                Body::Symlink(node.symlink_target().unwrap_or_default().to_vec()),
                0o777,
            ),
            Kind::File | Kind::Other => (
                FileKind::File,
                Body::File(FileNode::new(FileContent::stored(Committed {
                    cid: *cid,
                    tsize,
                    size: node.content_size(),
                }))),
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
    pub(super) fn children(
        &mut self,
        store: &dyn Blockstore,
        ino: u64,
    ) -> Result<&BTreeMap<String, u64>, FsError> {
        if ino == self.history_ino {
            self.refresh_versions(store)?;
        }
        let inode = self.get(ino)?;
        let frozen = inode.frozen;
        let cid = match &inode.body {
            Body::Dir(DirBody::Loaded(_)) => None,
            Body::Dir(DirBody::Unloaded(cid)) => Some(*cid),
            _ => return Err(FsError::NotADirectory),
        };
        if let Some(cid) = cid {
            let read = read_dir(store, &cid)?;
            self.install_dir(ino, frozen, read)?;
        }
        self.children_mut(ino).map(|children| &*children)
    }

    /// The CID of directory `ino` while its entries are not read yet.
    pub(super) fn unloaded_dir(&self, ino: u64) -> Result<Option<Cid>, FsError> {
        match &self.get(ino)?.body {
            Body::Dir(DirBody::Unloaded(cid)) => Ok(Some(*cid)),
            Body::Dir(DirBody::Loaded(_)) => Ok(None),
            _ => Err(FsError::NotADirectory),
        }
    }

    /// Gives directory `ino` the entries read from its stored form, unless
    /// someone did meanwhile.
    pub(super) fn install_dir(
        &mut self,
        ino: u64,
        frozen: bool,
        read: StoredDir,
    ) -> Result<(), FsError> {
        if self.unloaded_dir(ino)? != Some(read.cid) {
            return Ok(());
        }
        let mut children = BTreeMap::new();
        for (entry, node) in read.entries {
            let mut child = self.inode_from_node(&entry.cid, entry.size, &node);
            child.parents.push(ino);
            child.frozen = frozen;
            let child_ino = self.next_ino;
            self.next_ino += 1;
            self.inodes.insert(child_ino, child);
            children.insert(entry.name, child_ino);
        }
        self.apply_saved(&read.cid, ino, &mut children);
        self.get_mut(ino)?.body = Body::Dir(DirBody::Loaded(children));
        Ok(())
    }

    /// A loaded directory's entries, for changing them.
    pub(super) fn children_mut(&mut self, ino: u64) -> Result<&mut BTreeMap<String, u64>, FsError> {
        match &mut self.get_mut(ino)?.body {
            Body::Dir(DirBody::Loaded(children)) => Ok(children),
            Body::Dir(DirBody::Unloaded(_)) => Err(FsError::io("directory not loaded")),
            _ => Err(FsError::NotADirectory),
        }
    }

    pub(super) fn child(
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

    pub(super) fn attr(&mut self, store: &dyn Blockstore, ino: u64) -> Result<Attr, FsError> {
        let nlink = match self.get(ino)?.kind {
            // Subdirectories not counted yet: "unknown", as btrfs says.
            FileKind::Directory if self.unloaded_dir(ino)?.is_some() => 1,
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
            Body::File(file) => file.summary().size,
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
    pub(super) fn mark_dirty(&mut self, ino: u64) {
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

    pub(super) fn touch_dir(&mut self, ino: u64, time: UnixTime) {
        if let Some(dir) = self.inodes.get_mut(&ino) {
            dir.mtime = time;
            dir.ctime = time;
        }
        self.mark_dirty(ino);
    }

    /// Removes the entry `name` (which is `ino`) from `parent`.
    pub(super) fn detach(
        &mut self,
        parent: u64,
        name: &str,
        ino: u64,
        time: UnixTime,
    ) -> Result<(), FsError> {
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

    /// Moves `ino` from `from` to `to`; the caller marks both dirty. The
    /// moved node's own content, and so its stored form, is unchanged.
    pub(super) fn reparent(&mut self, ino: u64, from: u64, to: u64) {
        if let Some(inode) = self.inodes.get_mut(&ino)
            && let Some(at) = inode.parents.iter().position(|&p| p == from)
        {
            inode.parents[at] = to;
        }
    }

    /// What a flush of `ino` must do before it takes the tree: the changed
    /// files to commit (those open for writing too when `open_files`), and
    /// the changed directories not read yet.
    pub(super) fn to_commit(
        &self,
        ino: u64,
        open_files: bool,
    ) -> (Vec<(u64, Arc<FileNode>)>, Vec<u64>) {
        let mut files = Vec::new();
        let mut unread = Vec::new();
        let mut stack = vec![ino];
        while let Some(current) = stack.pop() {
            let Some(inode) = self.inodes.get(&current) else {
                continue;
            };
            if inode.stored.is_some() {
                continue;
            }
            match &inode.body {
                Body::File(file) if (open_files || inode.writers == 0) && !file.summary().clean => {
                    files.push((current, Arc::clone(file)));
                }
                Body::Dir(DirBody::Loaded(children)) => stack.extend(children.values()),
                Body::Dir(DirBody::Unloaded(_)) => unread.push(current),
                _ => {}
            }
        }
        (files, unread)
    }

    /// Whether `ancestor` is a directory above `ino`.
    pub(super) fn is_ancestor(&self, ancestor: u64, ino: u64) -> bool {
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
}
