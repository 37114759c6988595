//! A decoded block seen as UnixFS: what kind of thing it is and its bytes.

use bytes::Bytes;

use crate::codec::CodecError;
use crate::codec::cid::{Cid, DAG_PB, RAW, cid_string};
use crate::codec::dagpb::{PbLink, PbNode};
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
    Raw(Bytes),
    /// DAG-PB: its links, and its Data decoded as UnixFS (when present).
    Pb {
        links: Vec<PbLink>,
        unixfs: Option<UnixfsData>,
        block_len: usize,
    },
    Opaque {
        codec: u64,
        block_len: usize,
    },
}

impl Node {
    pub fn decode(cid: &Cid, block: Bytes) -> Result<Node, CodecError> {
        match cid.codec() {
            RAW => Ok(Node::Raw(block)),
            DAG_PB => {
                let named = |e: CodecError| CodecError::DagPb(format!("{}: {e}", cid_string(cid)));
                // A file leaf's content stays in the block's buffer: reading
                // it through the mount copies it nowhere in our process.
                let (links, data) = PbNode::decode_borrowed(&block).map_err(named)?;
                let unixfs = match data {
                    Some(data) => Some(
                        UnixfsData::decode_shared(&block.slice_ref(data))
                            .map_err(|e| CodecError::Unixfs(format!("{}: {e}", cid_string(cid))))?,
                    ),
                    None => None,
                };
                Ok(Node::Pb {
                    links,
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
                links, block_len, ..
            } => crate::codec::dagpb::cumulative_size(links, *block_len),
            Node::Opaque { block_len, .. } => *block_len as u64,
        }
    }

    pub fn links(&self) -> &[PbLink] {
        match self {
            Node::Pb { links, .. } => links,
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

/// What a listing needs to know of a node without its block: kind, content
/// size, and UnixFS mode/mtime. Content-addressed, so it never goes stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    pub kind: Kind,
    pub size: u64,
    pub mode: Option<u32>,
    pub mtime: Option<crate::codec::unixfs_pb::UnixTime>,
    /// For a directory, how many of its entries are directories, where
    /// known: a node alone does not tell (DAG-PB links carry no type), the
    /// importer and a full listing do.
    pub subdirs: Option<u32>,
}

impl Node {
    pub fn summary(&self) -> Summary {
        let unixfs = self.unixfs();
        Summary {
            kind: self.kind(),
            size: self.content_size(),
            mode: unixfs.and_then(|u| u.mode),
            mtime: unixfs.and_then(|u| u.mtime),
            subdirs: None,
        }
    }
}

impl Summary {
    pub fn is_directory(&self) -> bool {
        matches!(self.kind, Kind::Directory | Kind::HamtShard)
    }

    /// `kind, flags, size, [mode], [seconds, nanos], [subdirs]` as varints;
    /// the flags say which optional fields follow.
    pub fn encode(&self) -> Vec<u8> {
        use crate::codec::wire::put_varint;
        let kind = match self.kind {
            Kind::File => 0,
            Kind::Directory => 1,
            Kind::HamtShard => 2,
            Kind::Symlink => 3,
            Kind::Other => 4,
        };
        let flags = u64::from(self.mode.is_some())
            | (u64::from(self.mtime.is_some()) << 1)
            | (u64::from(self.subdirs.is_some()) << 2);
        let mut out = Vec::with_capacity(16);
        put_varint(&mut out, kind);
        put_varint(&mut out, flags);
        put_varint(&mut out, self.size);
        if let Some(mode) = self.mode {
            put_varint(&mut out, mode as u64);
        }
        if let Some(t) = self.mtime {
            put_varint(&mut out, t.seconds as u64);
            put_varint(&mut out, t.nanos as u64);
        }
        if let Some(subdirs) = self.subdirs {
            put_varint(&mut out, u64::from(subdirs));
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Summary> {
        let mut r = crate::codec::wire::Reader::new(bytes);
        let kind = match r.varint().ok()? {
            0 => Kind::File,
            1 => Kind::Directory,
            2 => Kind::HamtShard,
            3 => Kind::Symlink,
            4 => Kind::Other,
            _ => return None,
        };
        let flags = r.varint().ok()?;
        if flags > 0b111 {
            return None;
        }
        let size = r.varint().ok()?;
        let mode = if flags & 1 != 0 {
            Some(u32::try_from(r.varint().ok()?).ok()?)
        } else {
            None
        };
        let mtime = if flags & 2 != 0 {
            let seconds = r.varint().ok()? as i64;
            let nanos = u32::try_from(r.varint().ok()?).ok()?;
            Some(crate::codec::unixfs_pb::UnixTime { seconds, nanos })
        } else {
            None
        };
        let subdirs = if flags & 4 != 0 {
            Some(u32::try_from(r.varint().ok()?).ok()?)
        } else {
            None
        };
        r.is_empty().then_some(Summary {
            kind,
            size,
            mode,
            mtime,
            subdirs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::unixfs_pb::UnixTime;

    #[test]
    fn summaries_round_trip_and_reject_garbage() {
        for s in [
            Summary {
                kind: Kind::File,
                size: 123_456_789,
                mode: None,
                mtime: None,
                subdirs: None,
            },
            Summary {
                kind: Kind::Directory,
                size: 0,
                mode: Some(0o755),
                mtime: Some(UnixTime {
                    seconds: -3,
                    nanos: 9,
                }),
                subdirs: Some(12),
            },
            Summary {
                kind: Kind::Symlink,
                size: 7,
                mode: None,
                mtime: Some(UnixTime {
                    seconds: 1,
                    nanos: 0,
                }),
                subdirs: None,
            },
        ] {
            assert_eq!(Summary::decode(&s.encode()), Some(s));
        }
        assert_eq!(Summary::decode(&[9, 0, 0]), None);
        assert_eq!(
            Summary::decode(&[0, 1, 5]),
            None,
            "mode flag without a mode"
        );
        assert_eq!(Summary::decode(&[0, 0, 5, 1]), None, "trailing bytes");
        assert_eq!(
            Summary::decode(&[1, 4, 0]),
            None,
            "subdirs flag without a count"
        );
        assert_eq!(Summary::decode(&[1, 8, 0]), None, "unknown flag");
        // A summary cached before the subdirectory count existed still reads.
        assert_eq!(Summary::decode(&[1, 0, 0]).map(|s| s.subdirs), Some(None));
    }
}
