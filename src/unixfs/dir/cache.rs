//! Decoded directory nodes (basic directories and HAMT shards) by CID, for
//! a reader that walks the same directories for request after request (the
//! gateway): decoding a shard's links costs more than finding one in it.
//! Content-addressed, so an entry never goes stale; kept within a budget of
//! block bytes, least recently used evicted first.

use std::sync::{Arc, Mutex};

use lru::LruCache;

use super::{DirError, DirNode, decode_dir};
use crate::blockstore::{Blockstore, get_required_shared};
use crate::codec::cid::Cid;

pub struct DirCache {
    kept: Mutex<Kept>,
    budget: usize,
}

struct Kept {
    nodes: LruCache<Cid, (Arc<DirNode>, usize)>,
    bytes: usize,
}

impl DirCache {
    /// Keeps directories whose blocks add up to at most `budget` bytes.
    pub fn new(budget: usize) -> Self {
        DirCache {
            kept: Mutex::new(Kept {
                nodes: LruCache::unbounded(),
                bytes: 0,
            }),
            budget,
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn load(&self, store: &dyn Blockstore, cid: &Cid) -> Result<Arc<DirNode>, DirError> {
        if let Some((node, _)) = self.kept().nodes.get(cid) {
            return Ok(Arc::clone(node));
        }
        let block = get_required_shared(store, cid)?;
        let node = Arc::new(decode_dir(cid, &block)?);
        let cost = block.len();
        if cost <= self.budget {
            let mut kept = self.kept();
            if let Some((_, old)) = kept.nodes.put(*cid, (Arc::clone(&node), cost)) {
                kept.bytes -= old;
            }
            kept.bytes += cost;
            while kept.bytes > self.budget {
                match kept.nodes.pop_lru() {
                    Some((_, (_, freed))) => kept.bytes -= freed,
                    None => break,
                }
            }
        }
        Ok(node)
    }

    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        let kept = self.kept();
        (kept.nodes.len(), kept.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockstore::MemoryBlockstore;
    use crate::blockstore::suite::Counted;
    use crate::unixfs::dir::{DirEntry, DirOptions, Dirs, build_directory, lookup_in};

    fn directory(store: &dyn Blockstore, names: &[&str]) -> Cid {
        let file = crate::codec::cid::CidBuilder::default().cid_of(crate::codec::cid::RAW, b"x");
        store.put(&file, b"x").unwrap();
        let entries = names
            .iter()
            .map(|name| DirEntry {
                name: name.to_string(),
                cid: file,
                size: 1,
            })
            .collect();
        build_directory(store, entries, &DirOptions::default())
            .unwrap()
            .cid
    }

    #[test]
    fn a_directory_is_read_from_the_store_once() {
        let store = Counted::default();
        let dir = directory(&store, &["a", "b"]);
        store.reset();
        let cache = DirCache::new(1 << 20);
        let dirs = Dirs::Cached(&store, &cache);
        for name in ["a", "b", "a"] {
            assert!(
                lookup_in(dirs, &dir, name, &mut Vec::new())
                    .unwrap()
                    .is_some()
            );
        }
        assert!(
            lookup_in(dirs, &dir, "c", &mut Vec::new())
                .unwrap()
                .is_none()
        );
        assert_eq!(store.gets(), 1);
    }

    #[test]
    fn the_budget_bounds_what_is_kept() {
        let store = MemoryBlockstore::new();
        let dirs: Vec<Cid> = (0..8)
            .map(|i| directory(&store, &[&format!("entry-{i}")]))
            .collect();
        let one = get_required_shared(&store, &dirs[0]).unwrap().len();
        let cache = DirCache::new(3 * one);
        for dir in &dirs {
            cache.load(&store, dir).unwrap();
        }
        let (count, bytes) = cache.held();
        assert!(
            count <= 3 && bytes <= 3 * one,
            "{count} kept, {bytes} bytes"
        );
        // The most recent stay.
        assert!(cache.kept().nodes.contains(&dirs[7]));
    }
}
