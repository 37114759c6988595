//! Writing the tree out: files committed with the `add` importer,
//! directories rebuilt bottom-up where they changed, the new root made
//! durable and recorded, and the blocks of replaced versions removed.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use super::tree::{Body, DirBody, Tree};
use super::{MfsFs, ROOT_INO, io_error, now};
use crate::blockstore::PinGuard;
use crate::blockstore::{Blockstore, MemoryBlockstore};
use crate::codec::cid::{Cid, DAG_PB};
use crate::codec::dagpb::PbNode;
use crate::codec::unixfs_pb::UnixfsData;
use crate::fs::FsError;
use crate::unixfs::dir::{self, DirEntry, DirOptions};
use crate::unixfs::file::FileOptions;

impl MfsFs {
    /// The CID of an inode's current content (committing what it needs).
    pub fn cid_of(&self, ino: u64) -> Result<Cid, FsError> {
        self.flushed(ino)?
            .map(|(cid, _)| cid)
            .ok_or(FsError::NotSupported)
    }

    /// The stored form of `ino` and its cumulative size, committing what it
    /// needs; on a full disk, what it would be with every change not yet
    /// committed left out, so that stat and ls still answer.
    pub(super) fn flushed(&self, ino: u64) -> Result<Option<(Cid, u64)>, FsError> {
        self.flushed_holding(ino, &self.writing())
    }

    /// As `flushed`, for a caller that holds `writing` while it uses the
    /// blocks: until it lets go, no sweep removes them.
    pub(super) fn flushed_holding(
        &self,
        ino: u64,
        writing: &PinGuard,
    ) -> Result<Option<(Cid, u64)>, FsError> {
        self.flushed_or_described(ino, &Scratch::over(self.store.as_ref()), writing)
    }

    /// As `flushed_holding`, with what only describes the node in `scratch`.
    pub(super) fn flushed_or_described(
        &self,
        ino: u64,
        scratch: &Scratch<'_>,
        _writing: &PinGuard,
    ) -> Result<Option<(Cid, u64)>, FsError> {
        let plan = self.plan();
        let committed = self.commit_outside_tree(ino, true);
        let mut tree = self.tree();
        match committed.and_then(|()| tree.flush(plan, ino)) {
            Err(FsError::NoSpace) => {
                let described = Plan {
                    describe_into: Some(scratch),
                    ..plan
                };
                Ok(tree.flush(described, ino)?.map(|(stored, _)| stored))
            }
            other => Ok(other?.map(|(stored, _)| stored)),
        }
    }

    pub(super) fn plan(&self) -> Plan<'_> {
        Plan {
            store: &self.store,
            file_opts: &self.file_opts,
            dir_opts: &self.dir_opts,
            describe_into: None,
        }
    }

    /// Commits everything (files still open for writing too when `all`),
    /// makes the blocks durable and persists the new root. Returns the root.
    ///
    /// The tree is held only to rebuild the changed directories: files are
    /// committed and unread directories read before, and the blocks made
    /// durable after, so that no one waits on that I/O but other flushes.
    pub fn sync(&self, all: bool) -> Result<Cid, FsError> {
        let writing = self.writing();
        let had_changes = self.changed.swap(false, Ordering::SeqCst);
        let committed = self.commit_outside_tree(ROOT_INO, all);
        // One at a time from here: each persists a root no older than the
        // one persisted before it.
        let _alone = self.syncing.lock().unwrap_or_else(|p| p.into_inner());
        let (root, head) = {
            let mut tree = self.tree();
            let (root, provisional) =
                match committed.and_then(|()| tree.flush(self.plan(), ROOT_INO)) {
                    Ok(Some(((cid, _), provisional))) => (cid, provisional),
                    Ok(None) => return Err(FsError::io("the MFS root is not a directory")),
                    Err(err) => {
                        self.changed();
                        return Err(err);
                    }
                };
            if provisional {
                // Open files, or files written meanwhile, were left at
                // their last committed version: flush again later.
                self.changed();
            }
            if root == tree.persisted && !(all && had_changes) {
                return Ok(root);
            }
            let head = tree
                .recorder
                .commit(self.store.as_ref(), &root, now())
                .map_err(io_error)?;
            (root, head)
        };
        self.store.sync().map_err(io_error)?;
        if root != self.root_cid() {
            (self.persist)(&root, &head).map_err(FsError::io)?;
            self.tree().persisted = root;
            self.remove_dead_versions(&writing);
        }
        Ok(root)
    }

    /// Commits the changed files under `ino` (those open for writing too
    /// when `open_files`) and reads the changed directories not read yet,
    /// without holding the tree: what is left for `Tree::flush` is to
    /// rebuild directories.
    fn commit_outside_tree(&self, ino: u64, open_files: bool) -> Result<(), FsError> {
        let (files, unread) = self.tree().to_commit(ino, open_files);
        self.load_dirs(&unread)?;
        for (ino, file) in files {
            file.with(|content| content.commit(&self.store, &self.file_opts))
                .map_err(|err| self.content_failed(ino, err))?;
        }
        Ok(())
    }

    /// Ends the current version: the next flush records a new one rather
    /// than replacing it (called at unmount).
    pub fn seal_history(&self) {
        self.tree().recorder.seal();
    }

    /// Deletes blocks this mount wrote that nothing uses any more: versions
    /// of files replaced since. Every file's last committed version stays,
    /// whether or not the tree links it yet. Runs only when no other
    /// operation writes blocks (the GC lock taken exclusively; background
    /// imports pause), and keeps what imports in flight have put, so that
    /// nothing in flight looks dead.
    fn remove_dead_versions(&self, writing: &PinGuard) {
        let Some(_alone) = writing.try_exclusive() else {
            return;
        };
        let mut live = self.tree().live_roots();
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
}

impl Tree {
    fn live_roots(&self) -> Vec<Cid> {
        let mut live = vec![self.persisted, self.empty_file.cid];
        live.extend(self.recorder.head());
        for inode in self.inodes.values() {
            match &inode.body {
                Body::File(file) => live.extend(file.summary().committed.map(|c| c.cid)),
                Body::Dir(DirBody::Unloaded(cid)) => live.push(*cid),
                _ => {}
            }
            if let Some((cid, _)) = inode.stored {
                live.push(cid);
            }
        }
        live
    }
}

/// How a flush goes about it.
#[derive(Clone, Copy)]
pub(super) struct Plan<'a> {
    pub store: &'a Arc<dyn Blockstore>,
    pub file_opts: &'a FileOptions,
    pub dir_opts: &'a DirOptions,
    /// Only the CIDs are wanted (on a full disk): nothing is committed,
    /// new blocks go to this scratch store, and a changed file counts as
    /// its last committed version.
    pub describe_into: Option<&'a Scratch<'a>>,
}

/// Blocks of a flush that only describes, held in memory over the store.
pub(super) struct Scratch<'a> {
    below: &'a dyn Blockstore,
    written: MemoryBlockstore,
}

impl<'a> Scratch<'a> {
    pub(super) fn over(below: &'a dyn Blockstore) -> Self {
        Scratch {
            below,
            written: MemoryBlockstore::new(),
        }
    }
}

impl Blockstore for Scratch<'_> {
    fn get(&self, cid: &Cid) -> crate::blockstore::Result<Option<Vec<u8>>> {
        match self.written.get(cid)? {
            Some(block) => Ok(Some(block)),
            None => self.below.get(cid),
        }
    }
    fn has(&self, cid: &Cid) -> crate::blockstore::Result<bool> {
        Ok(self.written.has(cid)? || self.below.has(cid)?)
    }
    fn put(&self, cid: &Cid, data: &[u8]) -> crate::blockstore::Result<()> {
        self.written.put(cid, data)
    }
    fn delete(&self, cid: &Cid) -> crate::blockstore::Result<bool> {
        self.written.delete(cid)
    }
    fn sync(&self) -> crate::blockstore::Result<()> {
        Ok(())
    }
    fn all_keys(&self) -> crate::blockstore::Result<Vec<Cid>> {
        self.below.all_keys()
    }
}

impl Tree {
    /// The stored form of `ino` (`None` for special files), and whether it
    /// is provisional: it links an open file's last committed version, or
    /// was only described.
    #[allow(clippy::type_complexity)]
    pub(super) fn flush(
        &mut self,
        plan: Plan<'_>,
        ino: u64,
    ) -> Result<Option<((Cid, u64), bool)>, FsError> {
        let describe_only = plan.describe_into.is_some();
        let writes_to: &dyn Blockstore = match plan.describe_into {
            Some(scratch) => scratch,
            None => plan.store.as_ref(),
        };
        let inode = self.get(ino)?;
        if let Some(stored) = inode.stored {
            return Ok(Some((stored, false)));
        }
        let (stored, provisional) = match &inode.body {
            Body::Special => return Ok(None),
            Body::File(file) => {
                // Committed before (`MfsFs::commit_outside_tree`) unless
                // left open, only described, or written since: then its
                // last committed version stands in for it.
                let summary = file.summary();
                let last = summary.committed.unwrap_or(self.empty_file);
                ((last.cid, last.tsize), !summary.clean)
            }
            Body::Symlink(target) => {
                let block = PbNode {
                    links: Vec::new(),
                    data: Some(UnixfsData::symlink(target).encode()),
                }
                .encode();
                let cid = plan.file_opts.cid.cid_of(DAG_PB, &block);
                writes_to.put(&cid, &block).map_err(io_error)?;
                ((cid, block.len() as u64), describe_only)
            }
            Body::Dir(_) => {
                // A directory changed only in its attributes, or moved, may
                // not have been read yet.
                let children: Vec<(String, u64)> = self
                    .children(plan.store.as_ref(), ino)?
                    .iter()
                    .map(|(name, &child)| (name.clone(), child))
                    .collect();
                let mut entries = Vec::with_capacity(children.len());
                let mut provisional = describe_only;
                for (name, child) in children {
                    if let Some(((cid, size), child_provisional)) = self.flush(plan, child)? {
                        provisional |= child_provisional;
                        entries.push(DirEntry { name, cid, size });
                    }
                }
                let built =
                    dir::build_directory(writes_to, entries, plan.dir_opts).map_err(io_error)?;
                if !describe_only {
                    self.save_attrs(&built.cid, ino);
                }
                ((built.cid, built.size), provisional)
            }
        };
        if !provisional {
            self.get_mut(ino)?.stored = Some(stored);
        }
        Ok(Some((stored, provisional)))
    }
}
