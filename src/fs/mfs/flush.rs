//! Writing the tree out: files committed with the `add` importer,
//! directories rebuilt bottom-up where they changed, the new root made
//! durable and recorded, and the blocks of replaced versions removed.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::tree::{Body, DirBody, Tree};
use super::{MfsFs, ROOT_INO, io_error, now};
use crate::blockstore::Blockstore;
use crate::codec::cid::{Cid, DAG_PB};
use crate::codec::dagpb::PbNode;
use crate::codec::unixfs_pb::UnixfsData;
use crate::fs::FsError;
use crate::mfs::content::streams_active;
use crate::unixfs::dir::{self, DirEntry, DirOptions};
use crate::unixfs::file::FileOptions;

impl MfsFs {
    /// The CID of an inode's current content (committing what it needs).
    pub fn cid_of(&self, ino: u64) -> Result<Cid, FsError> {
        let mut tree = self.tree();
        let flushed = tree.flush(&self.store, &self.file_opts, &self.dir_opts, ino, true)?;
        flushed
            .map(|(stored, _)| stored.0)
            .ok_or(FsError::NotSupported)
    }

    /// Commits everything (files still open for writing too when `all`),
    /// makes the blocks durable and persists the new root. Returns the root.
    pub fn sync(&self, all: bool) -> Result<Cid, FsError> {
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
                (self.persist)(&root, &head).map_err(FsError::io)?;
                tree.persisted = root;
                self.remove_dead_versions(&tree);
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
    fn remove_dead_versions(&self, tree: &Tree) {
        if streams_active() > 0 {
            return;
        }
        let mut live = vec![tree.persisted, tree.empty_file.cid];
        live.extend(tree.recorder.head());
        for inode in tree.inodes.values() {
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
            if let Body::Dir(DirBody::Unloaded(cid)) = &inode.body {
                live.push(*cid);
            }
        }
        match self.created.sweep(&live) {
            Ok(0) => {}
            Ok(removed) => tracing::debug!("MFS: removed {removed} blocks of replaced versions"),
            Err(err) => tracing::warn!("MFS: removing replaced versions: {err}"),
        }
    }
}

impl Tree {
    /// The stored form of `ino` (`None` for special files), and whether it
    /// is provisional: it links an open file's last committed version.
    #[allow(clippy::type_complexity)]
    pub(super) fn flush(
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
            Body::Dir(_) => {
                // A directory changed only in its attributes, or moved, may
                // not have been read yet.
                let children: Vec<(String, u64)> = self
                    .children(store.as_ref(), ino)?
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
