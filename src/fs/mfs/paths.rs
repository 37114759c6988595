//! `files` commands on the mounted tree: the same operations the kernel
//! asks for, addressed by MFS path instead of inode, so that a running mount
//! serves `rsipfs files …` itself and both always see one tree. Changes made
//! here are reported through the invalidation hook so the kernel drops what
//! it cached.

use std::io::{Read, Write};

use super::flush::Scratch;
use super::*;
use crate::codec::CidBuilder;
use crate::mfs::{Stat, WriteOptions, parse_path};
use crate::unixfs::dir::DirEntry;
use crate::unixfs::node::Kind;

/// What the kernel must forget after a change made outside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalidation {
    /// The attributes and cached pages of an inode.
    Inode(u64),
    /// A name in a directory.
    Entry(u64, String),
}

pub type Invalidate = Box<dyn Fn(&Invalidation) + Send + Sync>;

fn bad_path(_: crate::mfs::MfsError) -> FsError {
    FsError::Invalid
}

impl MfsFs {
    /// Installs the hook that tells the kernel about changes made by path.
    pub fn set_invalidate(&self, hook: Invalidate) {
        *self.invalidate.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(hook));
    }

    /// As `notify`, from another thread: inside a kernel request on the
    /// same inode (a write), telling the kernel at once would deadlock.
    pub(super) fn notify_later(&self, changes: Vec<Invalidation>) {
        let hook = self
            .invalidate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(hook) = hook {
            let spawned = std::thread::Builder::new()
                .name("mfs-invalidate".into())
                .spawn(move || changes.iter().for_each(|change| hook(change)));
            if let Err(err) = spawned {
                tracing::warn!("MFS: cannot tell the kernel of a reverted file: {err}");
            }
        }
    }

    fn notify(&self, changes: &[Invalidation]) {
        if let Some(hook) = &*self.invalidate.lock().unwrap_or_else(|p| p.into_inner()) {
            for change in changes {
                hook(change);
            }
        }
    }

    /// The inode at an MFS path.
    pub fn resolve(&self, path: &str) -> Result<u64, FsError> {
        let mut ino = ROOT_INO;
        for name in parse_path(path).map_err(bad_path)? {
            ino = self.lookup(ino, &name)?.ino;
        }
        Ok(ino)
    }

    /// The parent's inode and the last name of a path (not the root).
    fn split(&self, path: &str, parents: bool) -> Result<(u64, String), FsError> {
        let mut parts = parse_path(path).map_err(bad_path)?;
        let name = parts.pop().ok_or(FsError::NotPermitted)?;
        let mut parent = ROOT_INO;
        for dir in parts {
            parent = match self.lookup(parent, &dir) {
                Ok(attr) if attr.kind == FileKind::Directory => attr.ino,
                Ok(_) => return Err(FsError::NotADirectory),
                Err(FsError::NotFound) if parents => self.mkdir_in(parent, &dir)?,
                Err(err) => return Err(err),
            };
        }
        Ok((parent, name))
    }

    fn mkdir_in(&self, parent: u64, name: &str) -> Result<u64, FsError> {
        let owner = self.tree().owner;
        let attr = self.make(
            owner,
            parent,
            name,
            &NewNode::of(FileKind::Directory, 0o755),
        )?;
        Ok(attr.ino)
    }

    pub fn path_mkdir(&self, path: &str, parents: bool) -> Result<(), FsError> {
        if parse_path(path).map_err(bad_path)?.is_empty() {
            return if parents {
                Ok(())
            } else {
                Err(FsError::Exists)
            };
        }
        let (parent, name) = self.split(path, parents)?;
        match self.lookup(parent, &name) {
            Ok(attr) if parents && attr.kind == FileKind::Directory => Ok(()),
            Ok(_) => Err(FsError::Exists),
            Err(FsError::NotFound) => self.mkdir_in(parent, &name).map(|_| ()),
            Err(err) => Err(err),
        }
    }

    /// `files write`: bytes from `data` at `offset`, as Kubo's flags say.
    pub fn path_write(
        &self,
        path: &str,
        data: &mut dyn Read,
        opts: &WriteOptions,
    ) -> Result<(), FsError> {
        let (parent, name) = self.split(path, opts.parents)?;
        let ino = match self.lookup(parent, &name) {
            Ok(attr) if attr.kind == FileKind::Directory => return Err(FsError::IsADirectory),
            Ok(attr) => attr.ino,
            Err(FsError::NotFound) if opts.create => {
                let owner = self.tree().owner;
                self.make(owner, parent, &name, &NewNode::of(FileKind::File, 0o644))?
                    .ino
            }
            Err(err) => return Err(err),
        };
        let fh = self.open(ino, true)?;
        let written = self.write_stream(ino, data, opts);
        let flushed = self.flush_handle(fh);
        self.release(fh);
        self.notify(&[Invalidation::Inode(ino), Invalidation::Inode(parent)]);
        written.and(flushed)
    }

    fn write_stream(
        &self,
        ino: u64,
        data: &mut dyn Read,
        opts: &WriteOptions,
    ) -> Result<(), FsError> {
        if opts.truncate {
            self.setattr(
                ino,
                &SetAttr {
                    size: Some(0),
                    ..SetAttr::default()
                },
            )?;
        }
        let mut offset = opts.offset.unwrap_or(0);
        let mut left = opts.count.unwrap_or(u64::MAX);
        let mut buf = vec![0u8; 1 << 20];
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = match data.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(FsError::from_error(err)),
            };
            self.write(ino, offset, &buf[..n])?;
            offset += n as u64;
            left -= n as u64;
        }
        Ok(())
    }

    pub fn path_read(
        &self,
        path: &str,
        offset: u64,
        count: Option<u64>,
        out: &mut dyn Write,
    ) -> Result<(), FsError> {
        let ino = self.resolve(path)?;
        let attr = self.getattr(ino)?;
        if attr.kind != FileKind::File {
            return Err(FsError::IsADirectory);
        }
        let end = count.map_or(attr.size, |c| offset.saturating_add(c).min(attr.size));
        let mut at = offset;
        while at < end {
            let n = (end - at).min(1 << 20) as u32;
            let bytes = self.read(ino, at, n)?;
            if bytes.is_empty() {
                break;
            }
            out.write_all(&bytes).map_err(FsError::from_error)?;
            at += bytes.len() as u64;
        }
        Ok(())
    }

    pub fn path_rm(&self, path: &str, recursive: bool) -> Result<(), FsError> {
        let (parent, name) = self.split(path, false)?;
        let attr = self.lookup(parent, &name)?;
        if attr.kind == FileKind::Directory {
            if !recursive {
                return Err(FsError::IsADirectory);
            }
            self.empty_dir(attr.ino)?;
            self.rmdir(parent, &name)?;
        } else {
            self.unlink(parent, &name)?;
        }
        self.notify(&[Invalidation::Entry(parent, name)]);
        Ok(())
    }

    fn empty_dir(&self, dir: u64) -> Result<(), FsError> {
        for entry in self.readdir(dir)? {
            if entry.attr.kind == FileKind::Directory {
                self.empty_dir(entry.attr.ino)?;
                self.rmdir(dir, &entry.name)?;
            } else {
                self.unlink(dir, &entry.name)?;
            }
        }
        Ok(())
    }

    /// `files mv`: into `dst` when it is a directory, else to `dst`.
    pub fn path_mv(&self, src: &str, dst: &str) -> Result<(), FsError> {
        let (from, name) = self.split(src, false)?;
        let (to, new_name) = self.target(dst, &name)?;
        self.rename(from, &name, to, &new_name, RenameMode::Replace)?;
        self.notify(&[
            Invalidation::Entry(from, name),
            Invalidation::Entry(to, new_name),
        ]);
        Ok(())
    }

    /// Where `files cp`/`mv` put `name`: inside `dst` if it is a directory.
    fn target(&self, dst: &str, name: &str) -> Result<(u64, String), FsError> {
        match self.resolve(dst) {
            Ok(ino) if self.getattr(ino)?.kind == FileKind::Directory => {
                Ok((ino, name.to_string()))
            }
            _ => self.split(dst, false),
        }
    }

    /// `files cp`: links the DAG `cid` (already resolved by the caller from
    /// an MFS path or /ipfs/…) at `dst`, copying no data.
    pub fn path_cp(
        &self,
        cid: &Cid,
        src_name: &str,
        dst: &str,
        parents: bool,
    ) -> Result<(), FsError> {
        self.path_cp_holding(cid, src_name, dst, parents, &self.writing())
    }

    /// `path_cp` of a CID that `writing` has kept since it was read (see
    /// `path_cid_pinned`).
    pub fn path_cp_holding(
        &self,
        cid: &Cid,
        src_name: &str,
        dst: &str,
        parents: bool,
        writing: &PinGuard,
    ) -> Result<(), FsError> {
        let (parent, name) = match self.target(dst, src_name) {
            Ok(found) => found,
            Err(FsError::NotFound) if parents => self.split(dst, true)?,
            Err(err) => return Err(err),
        };
        self.insert_cid_holding(parent, &name, cid, writing)?;
        self.notify(&[Invalidation::Entry(parent, name)]);
        Ok(())
    }

    /// Adds the DAG at `cid` as `name` in `parent`.
    pub fn insert_cid(&self, parent: u64, name: &str, cid: &Cid) -> Result<Attr, FsError> {
        // From the check that `cid` is there until the tree links it.
        self.insert_cid_holding(parent, name, cid, &self.writing())
    }

    fn insert_cid_holding(
        &self,
        parent: u64,
        name: &str,
        cid: &Cid,
        _writing: &PinGuard,
    ) -> Result<Attr, FsError> {
        check_name(name)?;
        let node = load(&*self.store, cid).map_err(io_error)?;
        self.load_dirs(&[parent])?;
        let mut tree = self.tree();
        tree.writable(parent)?;
        if tree.child(&*self.store, parent, name)?.is_some() {
            return Err(FsError::Exists);
        }
        let mut inode = tree.inode_from_node(cid, node.cumulative_size(), &node);
        inode.parents.push(parent);
        let ino = tree.next_ino;
        tree.next_ino += 1;
        tree.inodes.insert(ino, inode);
        tree.children_mut(parent)?.insert(name.to_string(), ino);
        tree.touch_dir(parent, now());
        self.changed();
        tree.attr(&*self.store, ino)
    }

    /// `files chcid`: gives the directory at `path` the CID `builder` makes
    /// of its block (the same bytes, so the same children). Its parents
    /// link to the new CID; a later change inside it rebuilds it with the
    /// defaults, as offline.
    pub fn path_chcid(&self, path: &str, builder: &CidBuilder) -> Result<Cid, FsError> {
        let ino = self.resolve(path)?;
        if self.getattr(ino)?.kind != FileKind::Directory {
            return Err(FsError::NotADirectory);
        }
        let cid = self.cid_of(ino)?;
        let _writing = self.writing();
        let block = crate::blockstore::get_required(&*self.store, &cid).map_err(io_error)?;
        let new = builder.cid_of(cid.codec(), &block);
        self.store.put(&new, &block).map_err(io_error)?;
        let mut tree = self.tree();
        let size = tree
            .get(ino)?
            .stored
            .map_or(block.len() as u64, |(_, size)| size);
        tree.mark_dirty(ino);
        tree.get_mut(ino)?.stored = Some((new, size));
        drop(tree);
        self.changed();
        Ok(new)
    }

    /// `files restore`: the tree becomes what the directory `root` (a past
    /// version's) holds, as a new change.
    pub fn path_restore(&self, root: &Cid) -> Result<(), FsError> {
        let wanted = crate::unixfs::dir::list(&*self.store, root).map_err(io_error)?;
        for entry in self.readdir(ROOT_INO)? {
            if entry.name != HISTORY_DIR {
                self.path_rm(&format!("/{}", entry.name), true)?;
            }
        }
        for entry in wanted {
            self.insert_cid(ROOT_INO, &entry.name, &entry.cid)?;
            self.notify(&[Invalidation::Entry(ROOT_INO, entry.name)]);
        }
        Ok(())
    }

    /// The stored form of a path (committing what it needs).
    pub fn path_cid(&self, path: &str) -> Result<Cid, FsError> {
        self.cid_of(self.resolve(path)?)
    }

    /// `path_cid`, with the guard that keeps its blocks until let go: a
    /// flush elsewhere that replaces the path sweeps the version it
    /// replaced, unless a guard is held.
    pub fn path_cid_pinned(&self, path: &str) -> Result<(Cid, PinGuard), FsError> {
        let writing = self.writing();
        let cid = self
            .flushed_holding(self.resolve(path)?, &writing)?
            .map(|(cid, _)| cid)
            .ok_or(FsError::NotSupported)?;
        Ok((cid, writing))
    }

    /// `files stat` figures of a path.
    pub fn path_stat(&self, path: &str) -> Result<Stat, FsError> {
        let ino = self.resolve(path)?;
        let scratch = Scratch::over(self.store.as_ref());
        // Held until the node is read: a flush elsewhere may replace it
        // meanwhile, and its sweep would remove it.
        let writing = self.writing();
        let (cid, _) = self
            .flushed_or_described(ino, &scratch, &writing)?
            .ok_or(FsError::NotSupported)?;
        crate::mfs::stat(&scratch, &cid).map_err(io_error)
    }

    /// `files ls`: a directory's entries, or a file as its one entry.
    pub fn path_ls(&self, path: &str) -> Result<Vec<(DirEntry, Kind, u64)>, FsError> {
        let ino = self.resolve(path)?;
        let attr = self.getattr(ino)?;
        let listing_dir = attr.kind == FileKind::Directory;
        let named: Vec<(String, u64)> = if listing_dir {
            self.readdir(ino)?
                .into_iter()
                .filter(|e| !(ino == ROOT_INO && e.name == HISTORY_DIR))
                .map(|e| (e.name, e.attr.ino))
                .collect()
        } else {
            let name = parse_path(path)
                .map_err(bad_path)?
                .pop()
                .unwrap_or_default();
            vec![(name, ino)]
        };
        let mut entries = Vec::with_capacity(named.len());
        let writing = self.writing();
        // An entry removed since the listing is not there to show: the
        // directory itself still is.
        let gone = |err: &FsError| listing_dir && *err == FsError::NotFound;
        for (name, child) in named {
            let (flushed, child_attr) = match self
                .flushed_holding(child, &writing)
                .and_then(|flushed| self.getattr(child).map(|attr| (flushed, attr)))
            {
                Err(err) if gone(&err) => continue,
                other => other?,
            };
            let Some((cid, size)) = flushed else {
                continue; // fifos and the like have no CID
            };
            let (kind, content_size) = match child_attr.kind {
                FileKind::Directory => (Kind::Directory, 0),
                FileKind::Symlink => (Kind::Symlink, child_attr.size),
                _ => (Kind::File, child_attr.size),
            };
            entries.push((DirEntry { name, cid, size }, kind, content_size));
        }
        Ok(entries)
    }
}
