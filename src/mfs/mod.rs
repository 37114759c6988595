//! MFS: the parts of the mutable tree that are not the tree itself (which
//! is `fs::mfs`, the one engine behind the mount, the API and the offline
//! CLI): file contents being edited, the history of versions, the blocks a
//! session wrote, and the path and stat conventions of `files`.

pub mod content;
pub mod history;
pub mod session_blocks;

use crate::blockstore::Blockstore;
use crate::codec::cid::Cid;
use crate::codec::unixfs_pb::UnixTime;
use crate::unixfs::UnixfsError;
use crate::unixfs::node::Kind;
use crate::unixfs::reader::load;

#[derive(Debug, thiserror::Error)]
pub enum MfsError {
    #[error("{0}: not an absolute MFS path of plain names")]
    BadPath(String),
    #[error(transparent)]
    Unixfs(#[from] UnixfsError),
}

pub type Result<T> = std::result::Result<T, MfsError>;

/// `ipfs files stat` figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    pub cid: Cid,
    pub size: u64,
    pub cumulative_size: u64,
    pub child_blocks: usize,
    pub kind: Kind,
    pub mode: Option<u32>,
    pub mtime: Option<UnixTime>,
}

/// Splits `/a/b/c` into its names; the root is the empty list.
pub fn parse_path(path: &str) -> Result<Vec<String>> {
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| MfsError::BadPath(path.to_string()))?;
    let parts: Vec<String> = rest
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if parts
        .iter()
        .any(|p| p == "." || p == ".." || p.contains('\0'))
    {
        return Err(MfsError::BadPath(path.to_string()));
    }
    Ok(parts)
}

/// `files stat` figures of the node `cid`.
pub fn stat(store: &dyn Blockstore, cid: &Cid) -> Result<Stat> {
    let node = load(store, cid)?;
    Ok(Stat {
        cid: *cid,
        size: node.content_size(),
        cumulative_size: node.cumulative_size(),
        child_blocks: node.links().len(),
        kind: node.kind(),
        mode: node.unixfs().and_then(|u| u.mode),
        mtime: node.unixfs().and_then(|u| u.mtime),
    })
}

#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    pub create: bool,
    pub truncate: bool,
    pub parents: bool,
    pub offset: Option<u64>,
    pub count: Option<u64>,
}
