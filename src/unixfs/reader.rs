//! Random-access reading of UnixFS files: maps a byte range onto the leaves
//! through `blocksizes`, fetching only the blocks the range touches.

use super::UnixfsError;
use super::node::{Kind, Node};
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Condvar, Mutex};

use bytes::Bytes;
use lru::LruCache;

use crate::blockstore::{Blockstore, get_required_shared};
use crate::codec::cid::{Cid, cid_string};
use crate::codec::unixfs_pb::DataType;

/// Fetches and decodes one block.
pub fn load(store: &dyn Blockstore, cid: &Cid) -> Result<Node, UnixfsError> {
    let block = get_required_shared(store, cid)?;
    Ok(Node::decode(cid, block)?)
}

/// Where a reader gets its nodes: straight from a blockstore, or from a
/// cache of decoded nodes (the mount, which reads the same nodes often).
#[derive(Clone, Copy)]
pub enum Source<'a> {
    Blocks(&'a dyn Blockstore),
    Cached(&'a NodeCache),
}

impl Source<'_> {
    fn node(&self, cid: &Cid) -> Result<Arc<Node>, UnixfsError> {
        match self {
            Source::Blocks(store) => Ok(Arc::new(load(*store, cid)?)),
            Source::Cached(cache) => cache.node(cid),
        }
    }

    fn prefetch(&self, cids: &[Cid]) {
        match self {
            Source::Blocks(store) => store.prefetch(cids),
            Source::Cached(cache) => cache.prefetch(cids),
        }
    }
}

/// Children of one node a walk asks its store for ahead of reading them
/// (one hint for the next PREFETCH_BATCH once the walk is within
/// PREFETCH_AHEAD - PREFETCH_BATCH of the end of what it hinted): with
/// 256 KiB leaves, 16 MiB on their way from the network while one is read.
const PREFETCH_AHEAD: usize = 64;
const PREFETCH_BATCH: usize = 32;

/// Decoded nodes by CID, least recently used evicted. A node being loaded
/// is loaded once: other readers of it (the prefetcher and the reader it
/// runs ahead of) wait for that load instead of reading the block again.
pub struct NodeCache {
    store: Arc<dyn Blockstore>,
    nodes: Mutex<Cached>,
}

struct Cached {
    done: LruCache<Cid, Arc<Node>>,
    loading: HashMap<Cid, Arc<Loading>>,
}

impl Cached {
    /// A hit on a leaf leaves its place in line: a leaf is read once per
    /// pass of a reader, so leaves age by when they were loaded, and those
    /// a reader has passed (kept by the kernel's page cache, when mounted)
    /// go before those read ahead of it. Inner nodes, needed again for
    /// every leaf below them, stay while they are used.
    fn hit(&mut self, cid: &Cid) -> Option<Arc<Node>> {
        match self.done.peek(cid) {
            Some(node) if node.links().is_empty() => Some(Arc::clone(node)),
            Some(_) => self.done.get(cid).cloned(),
            None => None,
        }
    }
}

/// One load in progress: `Some(None)` once it failed.
#[derive(Default)]
struct Loading {
    result: Mutex<Option<Option<Arc<Node>>>>,
    finished: Condvar,
}

impl NodeCache {
    pub fn new(store: Arc<dyn Blockstore>, capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity.max(1)).expect("non-zero");
        NodeCache {
            store,
            nodes: Mutex::new(Cached {
                done: LruCache::new(capacity),
                loading: HashMap::new(),
            }),
        }
    }

    fn cached(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Passes the hint on for the blocks neither cached nor being loaded.
    fn prefetch(&self, cids: &[Cid]) {
        let missing: Vec<Cid> = {
            let cached = self.cached();
            cids.iter()
                .filter(|cid| !cached.done.contains(cid) && !cached.loading.contains_key(cid))
                .copied()
                .collect()
        };
        if !missing.is_empty() {
            self.store.prefetch(&missing);
        }
    }

    pub fn node(&self, cid: &Cid) -> Result<Arc<Node>, UnixfsError> {
        let (loading, leader) = {
            let mut cached = self.cached();
            if let Some(node) = cached.hit(cid) {
                return Ok(node);
            }
            match cached.loading.get(cid) {
                Some(loading) => (Arc::clone(loading), false),
                None => {
                    let loading = Arc::new(Loading::default());
                    cached.loading.insert(*cid, Arc::clone(&loading));
                    (loading, true)
                }
            }
        };
        if !leader {
            let mut result = loading.result.lock().unwrap_or_else(|p| p.into_inner());
            while result.is_none() {
                result = loading
                    .finished
                    .wait(result)
                    .unwrap_or_else(|p| p.into_inner());
            }
            if let Some(Some(node)) = result.as_ref() {
                return Ok(Arc::clone(node));
            }
            // The load failed: try for ourselves, to report our own error.
            return load(self.store.as_ref(), cid).map(Arc::new);
        }
        let loaded = load(self.store.as_ref(), cid).map(Arc::new);
        {
            let mut cached = self.cached();
            if let Ok(node) = &loaded {
                cached.done.put(*cid, Arc::clone(node));
            }
            cached.loading.remove(cid);
        }
        *loading.result.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(loaded.as_ref().ok().cloned());
        loading.finished.notify_all();
        loaded
    }
}

pub struct FileReader<'a> {
    source: Source<'a>,
    cid: Cid,
    root: Arc<Node>,
    size: u64,
}

impl<'a> FileReader<'a> {
    pub fn open(store: &'a dyn Blockstore, cid: &Cid) -> Result<Self, UnixfsError> {
        let root = load(store, cid)?;
        Self::from_node(store, cid, root)
    }

    /// Reads through a node cache.
    pub fn open_cached(cache: &'a NodeCache, cid: &Cid) -> Result<Self, UnixfsError> {
        let root = cache.node(cid)?;
        Self::with_source(Source::Cached(cache), cid, root)
    }

    /// Uses an already-fetched root node.
    pub fn from_node(
        store: &'a dyn Blockstore,
        cid: &Cid,
        root: Node,
    ) -> Result<Self, UnixfsError> {
        Self::with_source(Source::Blocks(store), cid, Arc::new(root))
    }

    fn with_source(source: Source<'a>, cid: &Cid, root: Arc<Node>) -> Result<Self, UnixfsError> {
        if root.kind() != Kind::File {
            return Err(UnixfsError::NotAFile(cid_string(cid)));
        }
        let size = root.content_size();
        Ok(FileReader {
            source,
            cid: *cid,
            root,
            size,
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Calls `sink` with consecutive slices covering `[offset, offset + len)`
    /// (clamped to the file's end), in file order. The slices share the
    /// cached blocks' buffers: nothing is copied to hand them over.
    pub fn read_range(
        &self,
        offset: u64,
        len: u64,
        sink: &mut dyn FnMut(Bytes) -> Result<(), UnixfsError>,
    ) -> Result<(), UnixfsError> {
        let end = offset.saturating_add(len).min(self.size);
        if offset >= end {
            return Ok(());
        }
        let mut walk = Walk {
            source: self.source,
            start: offset,
            end,
            sink,
        };
        walk.node(&self.cid, &self.root, 0, 0)
    }

    /// `[offset, offset + len)` (clamped to the file's end) as one buffer,
    /// copied only when the range spans more than one block.
    pub fn read_bytes(&self, offset: u64, len: u64) -> Result<Bytes, UnixfsError> {
        let mut pieces = Vec::new();
        self.read_range(offset, len, &mut |piece| {
            pieces.push(piece);
            Ok(())
        })?;
        if pieces.len() == 1 {
            return Ok(pieces.pop().unwrap_or_default());
        }
        Ok(Bytes::from(pieces.concat()))
    }

    /// Fills `buf` from `offset`; returns the bytes read (0 at or past the end).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize, UnixfsError> {
        let mut filled = 0;
        self.read_range(offset, buf.len() as u64, &mut |bytes| {
            buf[filled..filled + bytes.len()].copy_from_slice(&bytes);
            filled += bytes.len();
            Ok(())
        })?;
        Ok(filled)
    }

    pub fn copy_to(
        &self,
        out: &mut dyn std::io::Write,
        offset: u64,
        len: u64,
    ) -> Result<u64, UnixfsError> {
        let mut written = 0u64;
        self.read_range(offset, len, &mut |bytes| {
            out.write_all(&bytes)
                .map_err(|e| UnixfsError::Io(e.to_string()))?;
            written += bytes.len() as u64;
            Ok(())
        })?;
        Ok(written)
    }
}

/// Deep enough for any real file (174^8 chunks); bounds hostile DAGs.
const MAX_DEPTH: usize = 32;

struct Walk<'s, 'f> {
    source: Source<'s>,
    start: u64,
    end: u64,
    sink: &'f mut dyn FnMut(Bytes) -> Result<(), UnixfsError>,
}

impl Walk<'_, '_> {
    /// Emits the part of `node` (whose content begins at `base`) inside the range.
    fn node(&mut self, cid: &Cid, node: &Node, base: u64, depth: usize) -> Result<(), UnixfsError> {
        if depth > MAX_DEPTH {
            return Err(corrupt(cid, "file DAG is too deep"));
        }
        let no_data = Bytes::new();
        let (data, links, blocksizes): (&Bytes, _, &[u64]) = match node {
            Node::Raw(bytes) => (bytes, &[][..], &[]),
            Node::Pb {
                links,
                unixfs: Some(u),
                ..
            } if matches!(u.data_type, DataType::File | DataType::Raw) => (
                u.data.as_ref().unwrap_or(&no_data),
                &links[..],
                &u.blocksizes[..],
            ),
            _ => {
                return Err(corrupt(
                    cid,
                    "a file links to something that is not file data",
                ));
            }
        };
        if blocksizes.len() != links.len() {
            return Err(corrupt(cid, "blocksizes count differs from link count"));
        }
        self.emit(data, base)?;
        let mut child_base = base + data.len() as u64;
        let wanted = self.children_in_range(links, blocksizes, child_base);
        let mut hinted = wanted.start;
        for (i, (link, &child_size)) in links.iter().zip(blocksizes).enumerate() {
            let child_end = child_base.saturating_add(child_size);
            if child_end > self.start && child_base < self.end {
                // A lone child is simply read; several are asked for ahead.
                if wanted.len() > 1
                    && hinted < wanted.end
                    && i + PREFETCH_AHEAD >= hinted + PREFETCH_BATCH
                {
                    let until = (i + PREFETCH_AHEAD).min(wanted.end);
                    let cids: Vec<Cid> = links[hinted..until].iter().map(|l| l.cid).collect();
                    self.source.prefetch(&cids);
                    hinted = until;
                }
                let child = self.source.node(&link.cid)?;
                if child.content_size() != child_size {
                    return Err(corrupt(
                        &link.cid,
                        "size differs from its parent's blocksizes",
                    ));
                }
                self.node(&link.cid, &child, child_base, depth + 1)?;
            }
            if child_base >= self.end {
                break;
            }
            child_base = child_end;
        }
        Ok(())
    }

    /// The indices of the children (the first starting at `base`) that
    /// overlap the range.
    fn children_in_range(
        &self,
        links: &[crate::codec::dagpb::PbLink],
        blocksizes: &[u64],
        base: u64,
    ) -> std::ops::Range<usize> {
        let mut first = links.len();
        let mut end = 0;
        let mut child_base = base;
        for (i, &size) in blocksizes.iter().enumerate().take(links.len()) {
            let child_end = child_base.saturating_add(size);
            if child_end > self.start && child_base < self.end {
                first = first.min(i);
                end = i + 1;
            }
            if child_base >= self.end {
                break;
            }
            child_base = child_end;
        }
        first.min(end)..end
    }

    fn emit(&mut self, data: &Bytes, base: u64) -> Result<(), UnixfsError> {
        let data_end = base + data.len() as u64;
        if data_end <= self.start || base >= self.end {
            return Ok(());
        }
        let from = self.start.saturating_sub(base) as usize;
        let to = (self.end.min(data_end) - base) as usize;
        (self.sink)(data.slice(from..to))
    }
}

fn corrupt(cid: &Cid, reason: &str) -> UnixfsError {
    UnixfsError::Corrupt {
        cid: cid_string(cid),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockstore::MemoryBlockstore;
    use crate::blockstore::suite::Counted;
    use crate::codec::cid::{CidBuilder, DAG_PB, RAW};
    use crate::codec::dagpb::{PbLink, PbNode};
    use crate::codec::unixfs_pb::UnixfsData;

    /// A file of `chunks` as raw leaves under one root that also holds `head`
    /// inline (a node with both Data and links, which the spec allows).
    fn build(store: &dyn Blockstore, head: &[u8], chunks: &[&[u8]]) -> Cid {
        let mut links = Vec::new();
        let mut sizes = Vec::new();
        for chunk in chunks {
            let cid = CidBuilder::v1().cid_of(RAW, chunk);
            store.put(&cid, chunk).unwrap();
            links.push(PbLink::new(cid, "", chunk.len() as u64));
            sizes.push(chunk.len() as u64);
        }
        let total = head.len() as u64 + sizes.iter().sum::<u64>();
        put_node(
            store,
            links,
            UnixfsData::file(Some(head.to_vec()), total, sizes),
        )
    }

    /// Stores a dag-pb node of `links` and `data`; returns its CIDv0.
    fn put_node(store: &dyn Blockstore, links: Vec<PbLink>, data: UnixfsData) -> Cid {
        let block = PbNode {
            links,
            data: Some(data.encode()),
        }
        .encode();
        let cid = CidBuilder::default().cid_of(DAG_PB, &block);
        store.put(&cid, &block).unwrap();
        cid
    }

    #[test]
    fn reads_any_range_across_leaves() {
        let store = MemoryBlockstore::new();
        let cid = build(&store, b"HEAD", &[b"abc", b"", b"defgh", b"i"]);
        let reader = FileReader::open(&store, &cid).unwrap();
        let whole = b"HEADabcdefghi";
        assert_eq!(reader.size(), whole.len() as u64);
        for start in 0..=whole.len() + 2 {
            for len in 0..=whole.len() + 2 {
                let mut buf = vec![0u8; len];
                let n = reader.read_at(start as u64, &mut buf).unwrap();
                let s = start.min(whole.len());
                let e = (start + len).min(whole.len());
                assert_eq!(&buf[..n], &whole[s..e], "{start}+{len}");
            }
        }
    }

    #[test]
    fn a_read_of_many_leaves_asks_for_them_ahead_in_batches_and_no_further() {
        let store = Counted::default();
        let chunks: Vec<Vec<u8>> = (0..200u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        let cid = build(&store, b"", &refs);
        let leaves: Vec<Cid> = refs
            .iter()
            .map(|c| CidBuilder::v1().cid_of(RAW, c))
            .collect();
        let reader = FileReader::open(&store, &cid).unwrap();
        let gets_before = store.gets();

        assert_eq!(reader.read_bytes(0, 800).unwrap().len(), 800);
        let hints = store.hints();
        let hinted: Vec<Cid> = hints.iter().flat_map(|(cids, _)| cids.clone()).collect();
        assert_eq!(hinted, leaves, "each leaf hinted once, in order");
        assert!(
            hints.len() <= 200 / PREFETCH_BATCH + 1,
            "{} hints",
            hints.len()
        );
        // Every leaf was hinted before it was read, PREFETCH_AHEAD at first.
        assert_eq!(hints[0].0.len(), PREFETCH_AHEAD);
        for (i, (_, reads)) in hints.iter().enumerate().skip(1) {
            let first = hints[..i].iter().map(|(c, _)| c.len()).sum::<usize>();
            assert!(
                reads - gets_before <= first,
                "hint {i} came after its leaves were read"
            );
        }

        // A range asks for its own leaves only; one leaf is simply read.
        store.reset_hints();
        reader.read_bytes(40, 40).unwrap();
        assert_eq!(store.hints().concat_cids(), leaves[10..20].to_vec());
        store.reset_hints();
        reader.read_bytes(41, 2).unwrap();
        assert!(store.hints().is_empty());
    }

    trait HintedCids {
        fn concat_cids(&self) -> Vec<Cid>;
    }

    impl HintedCids for Vec<(Vec<Cid>, usize)> {
        fn concat_cids(&self) -> Vec<Cid> {
            self.iter().flat_map(|(cids, _)| cids.clone()).collect()
        }
    }

    /// A dag-pb file leaf holding `chunk`, as non-raw-leaves `add` makes.
    fn pb_leaf(store: &dyn Blockstore, chunk: &[u8]) -> Cid {
        let data = UnixfsData::file(Some(chunk.to_vec()), chunk.len() as u64, Vec::new());
        put_node(store, Vec::new(), data)
    }

    #[test]
    fn a_read_inside_one_leaf_shares_the_cached_block() {
        let store = Arc::new(MemoryBlockstore::new());
        let raw = build(&store, b"", &[b"abcdef", b"ghij"]);
        let pb_chunk = pb_leaf(&store, b"klmnopq");
        let cache = NodeCache::new(store.clone(), 8);
        for (file, leaf, expect) in [
            (raw, CidBuilder::v1().cid_of(RAW, b"abcdef"), &b"bcde"[..]),
            (pb_chunk, pb_chunk, &b"lmno"[..]),
        ] {
            let reader = FileReader::open_cached(&cache, &file).unwrap();
            let piece = reader.read_bytes(1, 4).unwrap();
            assert_eq!(&piece[..], expect);
            let node = cache.node(&leaf).unwrap();
            let content = match &*node {
                Node::Raw(bytes) => bytes.clone(),
                Node::Pb {
                    unixfs: Some(u), ..
                } => u.data.clone().unwrap(),
                other => panic!("unexpected leaf {other:?}"),
            };
            assert_eq!(
                piece.as_ptr(),
                content[1..].as_ptr(),
                "the read points into the cached leaf, not a copy"
            );
        }
        let reader = FileReader::open_cached(&cache, &raw).unwrap();
        assert_eq!(
            &reader.read_bytes(4, 4).unwrap()[..],
            b"efgh",
            "across two leaves"
        );
        assert_eq!(
            &reader.read_bytes(8, 100).unwrap()[..],
            b"ij",
            "clamped at the end"
        );
        assert!(reader.read_bytes(10, 4).unwrap().is_empty(), "past the end");
    }

    #[test]
    fn missing_leaf_is_an_error_naming_it() {
        let store = MemoryBlockstore::new();
        let cid = build(&store, b"", &[b"one", b"two"]);
        let two = CidBuilder::v1().cid_of(RAW, b"two");
        store.delete(&two).unwrap();
        let reader = FileReader::open(&store, &cid).unwrap();
        let mut buf = [0u8; 3];
        assert_eq!(
            reader.read_at(0, &mut buf).unwrap(),
            3,
            "the present leaf still reads"
        );
        let err = reader.read_at(3, &mut buf).unwrap_err().to_string();
        assert!(err.contains(&crate::codec::cid_string(&two)), "{err}");
    }

    #[test]
    fn lying_blocksizes_are_caught() {
        let store = MemoryBlockstore::new();
        let leaf = CidBuilder::v1().cid_of(RAW, b"abc");
        store.put(&leaf, b"abc").unwrap();
        let data = UnixfsData::file(None, 10, vec![10]);
        let cid = put_node(&store, vec![PbLink::new(leaf, "", 3)], data);
        let reader = FileReader::open(&store, &cid).unwrap();
        let mut buf = [0u8; 10];
        assert!(matches!(
            reader.read_at(0, &mut buf),
            Err(UnixfsError::Corrupt { .. })
        ));
    }

    #[test]
    fn readers_of_a_node_being_loaded_wait_for_that_load() {
        let store = Arc::new(Counted::with_slow_reads(std::time::Duration::from_millis(
            50,
        )));
        let leaf = CidBuilder::v1().cid_of(RAW, b"leaf");
        store.put(&leaf, b"leaf").unwrap();
        let missing = CidBuilder::v1().cid_of(RAW, b"absent");
        let cache = NodeCache::new(store.clone(), 4);
        let reads = || store.gets();
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    assert!(
                        matches!(&*cache.node(&leaf).unwrap(), Node::Raw(d) if d[..] == b"leaf"[..])
                    );
                });
            }
        });
        assert_eq!(reads(), 1, "six readers, one block read");
        assert!(matches!(&*cache.node(&leaf).unwrap(), Node::Raw(_)));
        assert_eq!(reads(), 1, "then served from the cache");
        // A failed load is not cached: every asker gets its own error.
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| assert!(cache.node(&missing).is_err()));
            }
        });
        assert!(cache.node(&missing).is_err());
        assert!(reads() >= 3);
    }
    #[test]
    fn leaves_leave_the_cache_in_load_order_while_inner_nodes_in_use_stay() {
        let store = Arc::new(Counted::with_slow_reads(std::time::Duration::ZERO));
        let chunks: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 8]).collect();
        let file = build(
            &store,
            b"",
            &chunks.iter().map(|c| &c[..]).collect::<Vec<_>>(),
        );
        let leaves: Vec<Cid> = chunks
            .iter()
            .map(|c| CidBuilder::v1().cid_of(RAW, c))
            .collect();
        // Room for the root and three leaves.
        let cache = NodeCache::new(store.clone(), 4);
        for cid in [&file, &leaves[0], &leaves[1], &leaves[2]] {
            cache.node(cid).unwrap();
        }
        assert_eq!(store.gets(), 4);
        // Read again: the oldest leaf keeps its place, the root moves up.
        cache.node(&leaves[0]).unwrap();
        cache.node(&file).unwrap();
        assert_eq!(store.gets(), 4, "both hits");
        cache.node(&leaves[3]).unwrap();
        cache.node(&file).unwrap();
        cache.node(&leaves[1]).unwrap();
        assert_eq!(store.gets(), 5, "the root and the second leaf were kept");
        cache.node(&leaves[0]).unwrap();
        assert_eq!(store.gets(), 6, "the first-loaded leaf went first");
    }
}
