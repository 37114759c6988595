//! Plain UnixFS directories: one link per entry, sorted by name bytes.

use super::{BuiltDir, DirEntry, DirError, DirOptions, store_node};
use crate::blockstore::Blockstore;
use crate::codec::dagpb::{PbLink, PbNode};
use crate::codec::unixfs_pb::UnixfsData;

pub fn build(
    store: &dyn Blockstore,
    entries: Vec<DirEntry>,
    opts: &DirOptions,
) -> Result<BuiltDir, DirError> {
    let mut data = UnixfsData::directory();
    data.mode = opts.mode;
    data.mtime = opts.mtime;
    let links = entries
        .into_iter()
        .map(|e| PbLink::new(e.cid, e.name, e.size))
        .collect();
    store_node(
        store,
        &opts.cid,
        &PbNode {
            links,
            data: Some(data.encode()),
        },
    )
}

/// The first link with this name (UnixFS robustness rule for duplicates).
pub fn lookup(node: &PbNode, name: &str) -> Option<DirEntry> {
    node.links
        .iter()
        .find(|l| l.name() == name)
        .map(|l| DirEntry {
            name: name.to_string(),
            cid: l.cid,
            size: l.tsize(),
        })
}

pub fn list(node: &PbNode) -> Vec<DirEntry> {
    node.links
        .iter()
        .map(|l| DirEntry {
            name: l.name().to_string(),
            cid: l.cid,
            size: l.tsize(),
        })
        .collect()
}
