//! Blocks a mounted MFS wrote, and the removal of those it left behind.
//!
//! Every commit of an edited file writes new blocks, and the versions it
//! replaces become unreachable. A workload that calls fsync often (a
//! database, fsx) would otherwise fill the disk with dead versions. This
//! store remembers which blocks it created (they did not exist before) and
//! their links; after a new root is persisted, created blocks that no live
//! root reaches are deleted. Blocks that existed before are never touched,
//! and a block created now cannot be linked from an older one (CIDs are
//! hashes), so the walk only follows created blocks.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::blockstore::{Blockstore, Result};
use crate::codec::cid::Cid;
use crate::codec::links::links_of;

pub struct SessionBlocks {
    inner: Arc<dyn Blockstore>,
    created: Mutex<HashMap<Cid, Vec<Cid>>>,
}

impl SessionBlocks {
    pub fn new(inner: Arc<dyn Blockstore>) -> Self {
        SessionBlocks {
            inner,
            created: Mutex::new(HashMap::new()),
        }
    }

    fn created(&self) -> std::sync::MutexGuard<'_, HashMap<Cid, Vec<Cid>>> {
        self.created.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Deletes the created blocks that none of `live` reaches; returns how
    /// many. Callers pass every root still in use: the persisted tree, open
    /// files' last versions, anything being written.
    pub fn sweep(&self, live: &[Cid]) -> Result<usize> {
        let mut created = self.created();
        let mut reached = HashSet::new();
        let mut stack: Vec<Cid> = live
            .iter()
            .filter(|c| created.contains_key(c))
            .copied()
            .collect();
        while let Some(cid) = stack.pop() {
            if !reached.insert(cid) {
                continue;
            }
            if let Some(links) = created.get(&cid) {
                stack.extend(links.iter().filter(|l| created.contains_key(l)).copied());
            }
        }
        let dead: Vec<Cid> = created
            .keys()
            .filter(|c| !reached.contains(c))
            .copied()
            .collect();
        for cid in &dead {
            self.inner.delete(cid)?;
            created.remove(cid);
        }
        Ok(dead.len())
    }

    /// Gives up `blocks` (multihash bytes): something else roots them now
    /// (a pin), so no sweep may delete them.
    pub fn forget(&self, blocks: &HashSet<Vec<u8>>) {
        self.created()
            .retain(|cid, _| !blocks.contains(&cid.hash().to_bytes()));
    }

    pub fn created_count(&self) -> usize {
        self.created().len()
    }
}

impl Blockstore for SessionBlocks {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        self.inner.get(cid)
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        self.inner.has(cid)
    }

    fn put(&self, cid: &Cid, data: &[u8]) -> Result<()> {
        // Asked of the store even for a block created here: `repo gc` may
        // have removed it while no root used it (a directory back to an
        // earlier listing makes the same block again).
        if self.inner.has(cid)? {
            return Ok(());
        }
        self.inner.put(cid, data)?;
        let links = links_of(cid, data).unwrap_or_default();
        self.created().insert(*cid, links);
        Ok(())
    }

    fn delete(&self, cid: &Cid) -> Result<bool> {
        self.created().remove(cid);
        self.inner.delete(cid)
    }

    fn sync(&self) -> Result<()> {
        self.inner.sync()
    }

    fn all_keys(&self) -> Result<Vec<Cid>> {
        self.inner.all_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockstore::MemoryBlockstore;
    use crate::unixfs::file::{FileOptions, import_file};

    #[test]
    fn only_unreached_blocks_created_here_are_removed() {
        let inner = Arc::new(MemoryBlockstore::new());
        let opts = FileOptions::kubo_defaults();
        let before = import_file(inner.as_ref(), &mut &b"old"[..], &opts, &mut |_| {}).unwrap();
        let session = SessionBlocks::new(inner.clone());
        let big: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        let kept = import_file(&session, &mut &big[..], &opts, &mut |_| {}).unwrap();
        let dropped = import_file(&session, &mut &b"temporary"[..], &opts, &mut |_| {}).unwrap();
        // Written again: it existed before, so it is not ours to remove.
        import_file(&session, &mut &b"old"[..], &opts, &mut |_| {}).unwrap();
        assert_eq!(session.sweep(&[kept.cid]).unwrap(), 1);
        assert!(!inner.has(&dropped.cid).unwrap());
        assert!(inner.has(&before.cid).unwrap());
        assert!(inner.has(&kept.cid).unwrap());
        let reader = crate::unixfs::reader::FileReader::open(inner.as_ref(), &kept.cid).unwrap();
        let mut out = Vec::new();
        reader.copy_to(&mut out, 0, u64::MAX).unwrap();
        assert_eq!(out, big);
    }

    #[test]
    fn a_block_made_again_after_gc_removed_it_is_written_again() {
        let inner = Arc::new(MemoryBlockstore::new());
        let opts = FileOptions::kubo_defaults();
        let session = SessionBlocks::new(inner.clone());
        let first = import_file(&session, &mut &b"same bytes"[..], &opts, &mut |_| {}).unwrap();
        // `repo gc` goes to the store beneath, while nothing links the block.
        assert!(inner.delete(&first.cid).unwrap());
        let again = import_file(&session, &mut &b"same bytes"[..], &opts, &mut |_| {}).unwrap();
        assert_eq!(again.cid, first.cid);
        assert!(inner.has(&first.cid).unwrap(), "the block is stored again");
    }
}
