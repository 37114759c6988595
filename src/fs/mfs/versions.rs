//! `.history`: every recorded version of the tree, read-only.

use std::collections::BTreeMap;

use super::io_error;
use super::tree::{Body, DirBody, Tree};
use crate::blockstore::Blockstore;
use crate::fs::FsError;
use crate::mfs::history;
use crate::unixfs::reader::load;

impl Tree {
    /// `.history/<n>`: every recorded version, the oldest as 1.
    pub(super) fn refresh_versions(&mut self, store: &dyn Blockstore) -> Result<(), FsError> {
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
        self.get_mut(self.history_ino)?.body = Body::Dir(DirBody::Loaded(names));
        Ok(())
    }
}
