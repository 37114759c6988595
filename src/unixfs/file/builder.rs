//! Encoding and storing the nodes of a file DAG: leaves (raw, UnixFS File or
//! UnixFS Raw) and internal nodes that link to them with blocksizes.

use bytes::Bytes;

use super::{FileOptions, ImportError};
use crate::blockstore::Blockstore;
use crate::codec::cid::{Cid, DAG_PB, RAW};
use crate::codec::dagpb::{PbLink, PbNode};
use crate::codec::unixfs_pb::{DataType, UnixfsData};
use crate::codec::wire;
use crate::unixfs::chunker::Chunk;

/// A stored node, as its parent needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Built {
    pub cid: Cid,
    /// Cumulative DAG size (the parent link's Tsize).
    pub size: u64,
    /// File bytes below it (the parent's blocksizes entry).
    pub filesize: u64,
}

/// An internal node under construction.
#[derive(Default)]
pub struct Pending {
    links: Vec<PbLink>,
    sizes: Vec<u64>,
}

impl Pending {
    pub fn len(&self) -> usize {
        self.links.len()
    }

    pub fn push(&mut self, child: Built) {
        self.links.push(PbLink::new(child.cid, "", child.size));
        self.sizes.push(child.filesize);
    }
}

pub struct NodeBuilder<'s> {
    store: &'s dyn Blockstore,
    opts: &'s FileOptions,
}

impl<'s> NodeBuilder<'s> {
    pub fn new(store: &'s dyn Blockstore, opts: &'s FileOptions) -> Self {
        NodeBuilder { store, opts }
    }

    pub fn max_links(&self) -> usize {
        self.opts.max_links.max(2)
    }

    /// A leaf holding `chunk`; `leaf_type` is File (balanced) or Raw
    /// (trickle) when leaves are dag-pb. `is_root` adds the metadata.
    pub fn leaf(
        &self,
        chunk: &[u8],
        leaf_type: DataType,
        is_root: bool,
    ) -> Result<Built, ImportError> {
        let filesize = chunk.len() as u64;
        if self.raw_leaf(is_root) {
            return self.store_block(RAW, chunk.to_vec().into(), filesize);
        }
        let block = if is_root && self.has_metadata() {
            let mut data = UnixfsData::file(Some(chunk.to_vec()), filesize, Vec::new());
            data.data_type = leaf_type;
            self.add_metadata(&mut data);
            PbNode {
                links: Vec::new(),
                data: Some(data.encode()),
            }
            .encode()
        } else {
            encode_leaf(chunk, leaf_type)
        };
        self.store_block(DAG_PB, block.into(), filesize)
    }

    /// As [`NodeBuilder::leaf`], taking the chunk: a raw leaf is stored
    /// without a copy, and a dag-pb one is encoded around the chunk's bytes
    /// when the chunk has room for it.
    pub fn leaf_owned(
        &self,
        chunk: Chunk,
        leaf_type: DataType,
        is_root: bool,
    ) -> Result<Built, ImportError> {
        let filesize = chunk.len() as u64;
        if self.raw_leaf(is_root) {
            let block = Bytes::from(chunk.buf).slice(chunk.start..);
            return self.store_block(RAW, block, filesize);
        }
        if is_root && self.has_metadata() {
            return self.leaf(chunk.data(), leaf_type, is_root);
        }
        let block = match encode_leaf_in_place(chunk, leaf_type) {
            Ok(block) => block,
            Err(chunk) => encode_leaf(chunk.data(), leaf_type).into(),
        };
        self.store_block(DAG_PB, block, filesize)
    }

    fn raw_leaf(&self, is_root: bool) -> bool {
        self.opts.raw_leaves && !(is_root && self.has_metadata())
    }

    /// Encodes and stores an internal file node.
    pub fn internal(&self, pending: Pending, is_root: bool) -> Result<Built, ImportError> {
        let filesize = pending.sizes.iter().sum();
        let mut data = UnixfsData::file(None, filesize, pending.sizes);
        if is_root {
            self.add_metadata(&mut data);
        }
        let node = PbNode {
            links: pending.links,
            data: Some(data.encode()),
        };
        let block = node.encode();
        let children: u64 = node.links.iter().map(PbLink::tsize).sum();
        let built = self.store_block(DAG_PB, block.into(), filesize)?;
        Ok(Built {
            size: built.size + children,
            ..built
        })
    }

    fn has_metadata(&self) -> bool {
        self.opts.mode.is_some() || self.opts.mtime.is_some()
    }

    fn add_metadata(&self, data: &mut UnixfsData) {
        data.mode = self.opts.mode;
        data.mtime = self.opts.mtime;
    }

    fn store_block(&self, codec: u64, block: Bytes, filesize: u64) -> Result<Built, ImportError> {
        let cid = self.opts.cid.cid_of(codec, &block);
        let size = block.len() as u64;
        self.store.put_shared(&cid, block)?;
        Ok(Built {
            cid,
            size,
            filesize,
        })
    }
}

/// The bytes of a dag-pb leaf before its chunk: the node's Data field tag
/// and length, the UnixFS Type, the Data field tag and length.
fn leaf_header(n: usize, leaf_type: DataType) -> Vec<u8> {
    let n = n as u64;
    let unixfs_len = 2 + 1 + wire::varint_len(n) + n as usize + 1 + wire::varint_len(n);
    let mut header = Vec::with_capacity(24);
    wire::put_tag(&mut header, 1, wire::LEN);
    wire::put_varint(&mut header, unixfs_len as u64);
    wire::put_uint(&mut header, 1, leaf_type as u64);
    wire::put_tag(&mut header, 2, wire::LEN);
    wire::put_varint(&mut header, n);
    header
}

/// The leaf of a non-empty chunk encoded in the chunk's own buffer (header
/// in the room before it, filesize after it), or the chunk back when the
/// room is short or it is empty.
fn encode_leaf_in_place(chunk: Chunk, leaf_type: DataType) -> Result<Bytes, Chunk> {
    let n = chunk.len();
    let header = leaf_header(n, leaf_type);
    let trailer_len = 1 + wire::varint_len(n as u64);
    let room_after = chunk.buf.capacity() - chunk.buf.len();
    if n == 0 || header.len() > chunk.start || trailer_len > room_after {
        return Err(chunk);
    }
    let Chunk { mut buf, start } = chunk;
    let first = start - header.len();
    buf[first..start].copy_from_slice(&header);
    wire::put_uint(&mut buf, 3, n as u64);
    Ok(Bytes::from(buf).slice(first..))
}

/// A dag-pb leaf `{Data: {Type, Data: chunk, filesize}}` written in one
/// pass with a single copy of the chunk.
fn encode_leaf(chunk: &[u8], leaf_type: DataType) -> Vec<u8> {
    let n = chunk.len() as u64;
    let data_field = if chunk.is_empty() {
        0
    } else {
        1 + wire::varint_len(n) + chunk.len()
    };
    let unixfs_len = 2 + data_field + 1 + wire::varint_len(n);
    let mut out = Vec::with_capacity(1 + wire::varint_len(unixfs_len as u64) + unixfs_len);
    wire::put_tag(&mut out, 1, wire::LEN);
    wire::put_varint(&mut out, unixfs_len as u64);
    wire::put_uint(&mut out, 1, leaf_type as u64);
    if !chunk.is_empty() {
        wire::put_bytes(&mut out, 2, chunk);
    }
    wire::put_uint(&mut out, 3, n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_leaf_encoding_matches_the_generic_encoder() {
        for chunk in [&b""[..], b"x", &[7u8; 300], &vec![1u8; 262_144]] {
            for leaf_type in [DataType::File, DataType::Raw] {
                let mut data =
                    UnixfsData::file(Some(chunk.to_vec()), chunk.len() as u64, Vec::new());
                data.data_type = leaf_type;
                let generic = PbNode {
                    links: Vec::new(),
                    data: Some(data.encode()),
                }
                .encode();
                assert_eq!(
                    encode_leaf(chunk, leaf_type),
                    generic,
                    "{} bytes, {leaf_type:?}",
                    chunk.len()
                );
                let mut buf = vec![0u8; crate::unixfs::chunker::HEADROOM];
                buf.reserve(chunk.len() + crate::unixfs::chunker::TAILROOM);
                buf.extend_from_slice(chunk);
                let start = crate::unixfs::chunker::HEADROOM;
                match encode_leaf_in_place(Chunk { buf, start }, leaf_type) {
                    Ok(in_place) => assert_eq!(in_place, generic, "in place, {}", chunk.len()),
                    Err(_) => assert!(chunk.is_empty(), "room enough for {}", chunk.len()),
                }
            }
        }
    }
}
