//! A read-through LRU of blocks in front of a blockstore: the mount reads
//! the same internal nodes for every range of a file.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use lru::LruCache;

use crate::blockstore::{Blockstore, Result};
use crate::codec::cid::{Cid, Mh};

pub struct CachedBlockstore {
    inner: Arc<dyn Blockstore>,
    cache: Mutex<LruCache<Mh, Bytes>>,
    max_block: usize,
}

impl CachedBlockstore {
    /// Keeps up to `capacity` blocks of at most `max_block` bytes each.
    pub fn new(inner: Arc<dyn Blockstore>, capacity: usize, max_block: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity.max(1)).expect("non-zero");
        CachedBlockstore {
            inner,
            cache: Mutex::new(LruCache::new(capacity)),
            max_block,
        }
    }

    fn cached(&self, cid: &Cid) -> Option<Bytes> {
        self.cache.lock().ok()?.get(cid.hash()).cloned()
    }

    /// Keeps a copy of `data` when it is small enough: a copy, because a
    /// shared block may hold a large read buffer (a slab slot) that the
    /// cache should not keep from going back.
    fn keep(&self, cid: &Cid, data: &[u8]) {
        if data.len() <= self.max_block
            && let Ok(mut cache) = self.cache.lock()
        {
            cache.put(*cid.hash(), Bytes::copy_from_slice(data));
        }
    }
}

impl Blockstore for CachedBlockstore {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        if let Some(block) = self.cached(cid) {
            return Ok(Some(block.to_vec()));
        }
        let block = self.inner.get(cid)?;
        if let Some(data) = &block {
            self.keep(cid, data);
        }
        Ok(block)
    }

    fn get_shared(&self, cid: &Cid) -> Result<Option<Bytes>> {
        if let Some(block) = self.cached(cid) {
            return Ok(Some(block));
        }
        let block = self.inner.get_shared(cid)?;
        if let Some(data) = &block {
            self.keep(cid, data);
        }
        Ok(block)
    }

    /// Asks the store: `repo gc` removes blocks beneath this cache, and a
    /// writer told "stored" by a stale copy would link a missing block.
    fn has(&self, cid: &Cid) -> Result<bool> {
        self.inner.has(cid)
    }

    fn put(&self, cid: &Cid, data: &[u8]) -> Result<()> {
        self.inner.put(cid, data)
    }

    fn delete(&self, cid: &Cid) -> Result<bool> {
        if let Ok(mut cache) = self.cache.lock() {
            cache.pop(cid.hash());
        }
        self.inner.delete(cid)
    }

    fn sync(&self) -> Result<()> {
        self.inner.sync()
    }

    fn all_keys(&self) -> Result<Vec<Cid>> {
        self.inner.all_keys()
    }

    fn prefetch(&self, cids: &[Cid]) {
        let missing: Vec<Cid> = match self.cache.lock() {
            Ok(cache) => cids
                .iter()
                .filter(|cid| !cache.contains(cid.hash()))
                .copied()
                .collect(),
            Err(_) => cids.to_vec(),
        };
        if !missing.is_empty() {
            self.inner.prefetch(&missing);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockstore::MemoryBlockstore;
    use crate::codec::cid::{CidBuilder, DAG_PB};

    #[test]
    fn a_block_removed_beneath_the_cache_is_not_reported_stored() {
        let inner = Arc::new(MemoryBlockstore::new());
        let cache = CachedBlockstore::new(inner.clone(), 8, 1024);
        let data = b"a small directory block";
        let cid = CidBuilder::default().cid_of(DAG_PB, data);
        cache.put(&cid, data).unwrap();
        assert_eq!(cache.get(&cid).unwrap().as_deref(), Some(&data[..]));
        // `repo gc` deletes through the repository's own store.
        assert!(inner.delete(&cid).unwrap());
        assert!(!cache.has(&cid).unwrap());
    }
}
