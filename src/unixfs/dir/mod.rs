//! UnixFS directories: building a basic directory or a HAMT-sharded one
//! exactly where Kubo switches, and reading both (lookup by name, listing).

mod basic;
mod cache;
mod hamt;

pub use cache::DirCache;

use crate::blockstore::{Blockstore, BlockstoreError, get_required};
use crate::codec::CodecError;
use crate::codec::cid::{Cid, CidBuilder, cid_string};
use crate::codec::dagpb::PbNode;
use crate::codec::unixfs_pb::{DataType, UnixTime, UnixfsData};

pub use hamt::hamt_key;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub cid: Cid,
    /// Cumulative size of the entry's DAG (the link's Tsize).
    pub size: u64,
}

/// When the links-bytes estimate equals the threshold exactly, Kubo ≥ 0.40
/// keeps a basic directory (`Greater`) and Kubo ≤ 0.39 shards (`GreaterOrEqual`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShardRule {
    Greater,
    GreaterOrEqual,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirOptions {
    pub cid: CidBuilder,
    pub shard_threshold: u64,
    pub shard_rule: ShardRule,
    pub fanout: u64,
    pub mode: Option<u32>,
    pub mtime: Option<UnixTime>,
}

impl Default for DirOptions {
    fn default() -> Self {
        DirOptions {
            cid: CidBuilder::default(),
            shard_threshold: 256 * 1024,
            shard_rule: ShardRule::Greater,
            fanout: 256,
            mode: None,
            mtime: None,
        }
    }
}

impl DirOptions {
    /// Whether a directory of these entries is written as a HAMT.
    pub fn shards(&self, entries: &[DirEntry]) -> bool {
        self.should_shard(links_bytes(entries))
    }

    fn should_shard(&self, estimate: u64) -> bool {
        match self.shard_rule {
            ShardRule::Greater => estimate > self.shard_threshold,
            ShardRule::GreaterOrEqual => estimate >= self.shard_threshold,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltDir {
    pub cid: Cid,
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum DirError {
    #[error("invalid entry name {0:?}")]
    InvalidName(String),
    #[error("duplicate entry name {0:?}")]
    DuplicateName(String),
    #[error("{0} is not a directory")]
    NotADirectory(String),
    #[error("malformed HAMT shard {cid}: {reason}")]
    BadShard { cid: String, reason: String },
    #[error(transparent)]
    Block(#[from] BlockstoreError),
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// Kubo's size estimate: Σ len(name) + len(CID bytes).
pub fn links_bytes(entries: &[DirEntry]) -> u64 {
    entries
        .iter()
        .map(|e| (e.name.len() + e.cid.encoded_len()) as u64)
        .sum()
}

pub fn build_directory(
    store: &dyn Blockstore,
    mut entries: Vec<DirEntry>,
    opts: &DirOptions,
) -> Result<BuiltDir, DirError> {
    for entry in &entries {
        if entry.name.is_empty()
            || entry.name == "."
            || entry.name == ".."
            || entry.name.contains(['/', '\0'])
        {
            return Err(DirError::InvalidName(entry.name.clone()));
        }
    }
    entries.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    if let Some(pair) = entries.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(DirError::DuplicateName(pair[0].name.clone()));
    }
    if opts.should_shard(links_bytes(&entries)) {
        hamt::build(store, entries, opts)
    } else {
        basic::build(store, entries, opts)
    }
}

/// Stores an encoded node and returns it with its cumulative size.
fn store_node(
    store: &dyn Blockstore,
    builder: &CidBuilder,
    node: &PbNode,
) -> Result<BuiltDir, DirError> {
    let block = node.encode();
    let cid = builder.cid_of(crate::codec::cid::DAG_PB, &block);
    store.put(&cid, &block)?;
    Ok(BuiltDir {
        cid,
        size: node.cumulative_size(block.len()),
    })
}

/// Where directory nodes come from: the store each time, or through a
/// cache of decoded ones.
#[derive(Clone, Copy)]
pub enum Dirs<'a> {
    Blocks(&'a dyn Blockstore),
    Cached(&'a dyn Blockstore, &'a DirCache),
}

impl<'a> Dirs<'a> {
    pub fn store(&self) -> &'a dyn Blockstore {
        match *self {
            Dirs::Blocks(store) | Dirs::Cached(store, _) => store,
        }
    }

    pub(crate) fn load(&self, cid: &Cid) -> Result<std::sync::Arc<DirNode>, DirError> {
        match *self {
            Dirs::Blocks(store) => load_dir(store, cid).map(std::sync::Arc::new),
            Dirs::Cached(store, cache) => cache.load(store, cid),
        }
    }
}

/// A directory-like node: basic or HAMT shard.
pub(crate) enum DirNode {
    Basic(PbNode),
    Hamt(PbNode, UnixfsData),
}

pub(crate) fn load_dir(store: &dyn Blockstore, cid: &Cid) -> Result<DirNode, DirError> {
    let block = get_required(store, cid)?;
    decode_dir(cid, &block)
}

/// Classifies already-fetched bytes, so callers need not fetch twice.
pub(crate) fn decode_dir(cid: &Cid, block: &[u8]) -> Result<DirNode, DirError> {
    if cid.codec() != crate::codec::cid::DAG_PB {
        return Err(DirError::NotADirectory(cid_string(cid)));
    }
    let node = PbNode::decode(block)?;
    let data = node
        .data
        .as_deref()
        .ok_or_else(|| DirError::NotADirectory(cid_string(cid)))?;
    let unixfs = UnixfsData::decode(data)?;
    match unixfs.data_type {
        DataType::Directory => Ok(DirNode::Basic(node)),
        DataType::HamtShard => Ok(DirNode::Hamt(node, unixfs)),
        _ => Err(DirError::NotADirectory(cid_string(cid))),
    }
}

/// The entry named `name` in the directory `dir`, if any.
pub fn lookup(store: &dyn Blockstore, dir: &Cid, name: &str) -> Result<Option<DirEntry>, DirError> {
    lookup_through(store, dir, name, &mut Vec::new())
}

/// As [`lookup`]; `shards` gets the HAMT shards below `dir` that were read
/// to find the entry, in order (none for a basic directory).
pub fn lookup_through(
    store: &dyn Blockstore,
    dir: &Cid,
    name: &str,
    shards: &mut Vec<Cid>,
) -> Result<Option<DirEntry>, DirError> {
    lookup_in(Dirs::Blocks(store), dir, name, shards)
}

/// As [`lookup_through`], with the directories from `dirs`.
pub fn lookup_in(
    dirs: Dirs<'_>,
    dir: &Cid,
    name: &str,
    shards: &mut Vec<Cid>,
) -> Result<Option<DirEntry>, DirError> {
    let node = dirs.load(dir)?;
    match &*node {
        DirNode::Basic(node) => Ok(basic::lookup(node, name)),
        DirNode::Hamt(_, _) => hamt::lookup(dirs, dir, node, name, shards),
    }
}

/// The shards a HAMT shard links to, in link order: empty for a basic
/// directory.
pub fn child_shards(dir: &Cid, block: &[u8]) -> Result<Vec<Cid>, DirError> {
    match decode_dir(dir, block)? {
        DirNode::Basic(_) => Ok(Vec::new()),
        DirNode::Hamt(node, data) => hamt::child_shards(dir, &node, &data),
    }
}

/// Every entry of the directory `dir` (a HAMT enumerated through all shards).
pub fn list(store: &dyn Blockstore, dir: &Cid) -> Result<Vec<DirEntry>, DirError> {
    match load_dir(store, dir)? {
        DirNode::Basic(node) => Ok(basic::list(&node)),
        DirNode::Hamt(node, data) => hamt::list(store, dir, node, data),
    }
}
