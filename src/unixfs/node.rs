//! A decoded block seen as UnixFS: what kind of thing it is and its bytes.

use crate::codec::CodecError;
use crate::codec::cid::{Cid, DAG_PB, RAW, cid_string};
use crate::codec::dagpb::PbNode;
use crate::codec::unixfs_pb::{DataType, UnixfsData};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A UnixFS file (dag-pb File or Raw) or a raw block.
    File,
    Directory,
    HamtShard,
    Symlink,
    /// dag-pb without UnixFS data, or a codec we only store.
    Other,
}

impl Kind {
    pub fn is_dir(self) -> bool {
        matches!(self, Kind::Directory | Kind::HamtShard)
    }

    /// The word Kubo prints (`files stat`, `ls` types).
    pub fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Directory | Kind::HamtShard => "directory",
            Kind::Symlink => "symlink",
            Kind::Other => "unknown",
        }
    }
}

/// One block, decoded as far as its codec allows.
#[derive(Clone, Debug)]
pub enum Node {
    Raw(Vec<u8>),
    Pb {
        node: PbNode,
        unixfs: Option<UnixfsData>,
        block_len: usize,
    },
    Opaque {
        codec: u64,
        block_len: usize,
    },
}

impl Node {
    pub fn decode(cid: &Cid, block: Vec<u8>) -> Result<Node, CodecError> {
        match cid.codec() {
            RAW => Ok(Node::Raw(block)),
            DAG_PB => {
                let named = |e: CodecError| CodecError::DagPb(format!("{}: {e}", cid_string(cid)));
                let node = PbNode::decode(&block).map_err(named)?;
                let unixfs = match &node.data {
                    Some(data) => Some(
                        UnixfsData::decode(data)
                            .map_err(|e| CodecError::Unixfs(format!("{}: {e}", cid_string(cid))))?,
                    ),
                    None => None,
                };
                Ok(Node::Pb {
                    node,
                    unixfs,
                    block_len: block.len(),
                })
            }
            codec => Ok(Node::Opaque {
                codec,
                block_len: block.len(),
            }),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Node::Raw(_) => Kind::File,
            Node::Pb {
                unixfs: Some(u), ..
            } => match u.data_type {
                DataType::File | DataType::Raw => Kind::File,
                DataType::Directory => Kind::Directory,
                DataType::HamtShard => Kind::HamtShard,
                DataType::Symlink => Kind::Symlink,
                DataType::Metadata => Kind::Other,
            },
            _ => Kind::Other,
        }
    }

    /// File content length for files, target length for symlinks, else 0.
    pub fn content_size(&self) -> u64 {
        match self {
            Node::Raw(data) => data.len() as u64,
            Node::Pb {
                unixfs: Some(u), ..
            } => match u.data_type {
                DataType::File | DataType::Raw => u.file_size(),
                DataType::Symlink => u.data.as_ref().map_or(0, |d| d.len() as u64),
                _ => 0,
            },
            _ => 0,
        }
    }

    /// Block length plus every link's Tsize: Kubo's CumulativeSize.
    pub fn cumulative_size(&self) -> u64 {
        match self {
            Node::Raw(data) => data.len() as u64,
            Node::Pb {
                node, block_len, ..
            } => node.cumulative_size(*block_len),
            Node::Opaque { block_len, .. } => *block_len as u64,
        }
    }

    pub fn links(&self) -> &[crate::codec::dagpb::PbLink] {
        match self {
            Node::Pb { node, .. } => &node.links,
            _ => &[],
        }
    }

    pub fn unixfs(&self) -> Option<&UnixfsData> {
        match self {
            Node::Pb { unixfs, .. } => unixfs.as_ref(),
            _ => None,
        }
    }

    pub fn symlink_target(&self) -> Option<&[u8]> {
        match self.unixfs() {
            Some(u) if u.data_type == DataType::Symlink => Some(u.data.as_deref().unwrap_or(&[])),
            _ => None,
        }
    }
}
