//! Small blocks the gateway has read lately, kept in memory: a small
//! file's request then costs no open, read and close of its block file,
//! which were a third of its whole answer. Blocks are content-addressed and
//! were checked when read, so a kept one never goes stale; but once the
//! repository has removed any block (gc), all are dropped, so that nothing
//! is served from here that the repository no longer has.

use std::sync::Mutex;

use axum::body::Bytes;
use lru::LruCache;

use crate::codec::Cid;

/// Blocks longer than this are not kept: a large file's leaves are
/// streamed, and would push out many small files for one.
pub const MAX_KEPT_BLOCK: usize = 64 << 10;

pub struct HotBlocks {
    kept: Mutex<Kept>,
    budget: usize,
}

struct Kept {
    blocks: LruCache<Cid, Bytes>,
    bytes: usize,
    /// The repository's removal count the blocks were read under.
    removals: u64,
}

impl HotBlocks {
    /// Keeps blocks adding up to at most `budget` bytes.
    pub fn new(budget: usize) -> Self {
        HotBlocks {
            kept: Mutex::new(Kept {
                blocks: LruCache::unbounded(),
                bytes: 0,
                removals: 0,
            }),
            budget,
        }
    }

    /// `removals`: the repository's count of removed blocks, read before
    /// the lookup (and before the read whose block is then kept).
    fn kept(&self, removals: u64) -> std::sync::MutexGuard<'_, Kept> {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if removals > kept.removals {
            kept.blocks.clear();
            kept.bytes = 0;
            kept.removals = removals;
        }
        kept
    }

    pub fn get(&self, cid: &Cid, removals: u64) -> Option<Bytes> {
        self.kept(removals).blocks.get(cid).cloned()
    }

    pub fn keep(&self, cid: &Cid, block: &Bytes, removals: u64) {
        if block.len() > MAX_KEPT_BLOCK || block.len() > self.budget {
            return;
        }
        let mut kept = self.kept(removals);
        if removals < kept.removals {
            return;
        }
        if let Some(old) = kept.blocks.put(*cid, block.clone()) {
            kept.bytes -= old.len();
        }
        kept.bytes += block.len();
        while kept.bytes > self.budget {
            match kept.blocks.pop_lru() {
                Some((_, freed)) => kept.bytes -= freed.len(),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cid::{CidBuilder, RAW};

    fn block(n: u8, len: usize) -> (Cid, Bytes) {
        let data = vec![n; len];
        (CidBuilder::default().cid_of(RAW, &data), Bytes::from(data))
    }

    #[test]
    fn blocks_are_kept_within_the_budget_least_recently_used_going_first() {
        let hot = HotBlocks::new(3000);
        let (a, b, c) = (block(1, 1000), block(2, 1000), block(3, 1000));
        for (cid, data) in [&a, &b, &c] {
            hot.keep(cid, data, 0);
        }
        assert_eq!(hot.get(&a.0, 0), Some(a.1.clone()));
        let d = block(4, 1000);
        hot.keep(&d.0, &d.1, 0);
        assert_eq!(hot.get(&b.0, 0), None, "the least recently used goes");
        assert!(hot.get(&a.0, 0).is_some() && hot.get(&c.0, 0).is_some());
        assert!(hot.get(&d.0, 0).is_some());
    }

    #[test]
    fn large_blocks_are_not_kept() {
        let hot = HotBlocks::new(1 << 30);
        let big = block(1, MAX_KEPT_BLOCK + 1);
        hot.keep(&big.0, &big.1, 0);
        assert_eq!(hot.get(&big.0, 0), None);
    }

    #[test]
    fn a_removal_in_the_repository_drops_every_block() {
        let hot = HotBlocks::new(1 << 20);
        let a = block(1, 100);
        hot.keep(&a.0, &a.1, 5);
        assert!(hot.get(&a.0, 5).is_some());
        assert_eq!(hot.get(&a.0, 6), None);
        // A block read before a removal is not kept after it.
        hot.keep(&a.0, &a.1, 5);
        assert_eq!(hot.get(&a.0, 6), None);
    }
}
