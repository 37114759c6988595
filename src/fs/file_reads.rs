//! Reads of stored files, whichever tree shows them: decoded nodes kept in
//! one cache, and read-ahead filling it for sequential readers. Stored
//! content is immutable, so readers of one CID through /ipfs, a name under
//! /ipns or a clean file of a writable tree share both.

use std::sync::Arc;

use bytes::Bytes;

use super::prefetch::Prefetcher;
use super::read_streams::{AHEAD_IN_ALL, SLICE};
use crate::blockstore::Blockstore;
use crate::codec::cid::Cid;
use crate::unixfs::UnixfsError;
use crate::unixfs::reader::{FileReader, NodeCache};

/// Decoded nodes kept: the leaves all readers share ahead of them, 8 MiB
/// more for the inner nodes and the leaves being read, counted in the
/// default chunker's 256 KiB leaves (128 nodes).
const CACHED_NODES: usize = ((AHEAD_IN_ALL + (8 << 20)) / (256 << 10)) as usize;

pub struct FileReads {
    nodes: Arc<NodeCache>,
    prefetcher: Prefetcher,
}

impl FileReads {
    pub fn new(store: Arc<dyn Blockstore>) -> Self {
        let nodes = Arc::new(NodeCache::new(store, CACHED_NODES));
        let prefetcher = Prefetcher::new(Arc::clone(&nodes));
        FileReads { nodes, prefetcher }
    }

    /// Up to `size` bytes of file `cid` from `offset` (fewer at its end).
    pub fn read(&self, cid: &Cid, offset: u64, size: u32) -> Result<Bytes, UnixfsError> {
        let reader = FileReader::open_cached(&self.nodes, cid)?;
        let bytes = reader.read_bytes(offset, u64::from(size))?;
        self.prefetcher
            .advance(cid, offset..offset + bytes.len() as u64, reader.size());
        Ok(bytes)
    }

    /// As [`FileReads::read`] without read-ahead (for a look at a file's
    /// first bytes, or a short range that nothing is likely to follow), in
    /// a buffer of its own rather than a slice of a cached leaf: it may
    /// wait for a slow client, and should hold no more than its bytes.
    pub fn peek(&self, cid: &Cid, offset: u64, len: u64) -> Result<Bytes, UnixfsError> {
        let reader = FileReader::open_cached(&self.nodes, cid)?;
        let end = offset.saturating_add(len).min(reader.size());
        let mut out = Vec::with_capacity(end.saturating_sub(offset) as usize);
        reader.read_range(offset, len, &mut |piece| {
            out.extend_from_slice(&piece);
            Ok(())
        })?;
        Ok(Bytes::from(out))
    }

    /// Hands `sink` the bytes of file `cid` in `[offset, offset + len)`
    /// (clamped to its end) in order, as slices of its leaves: nothing is
    /// copied. Read-ahead runs within that range, never past it, so a
    /// short range costs no more than its own bytes.
    pub fn stream(
        &self,
        cid: &Cid,
        offset: u64,
        len: u64,
        sink: &mut dyn FnMut(Bytes) -> Result<(), UnixfsError>,
    ) -> Result<(), UnixfsError> {
        let reader = FileReader::open_cached(&self.nodes, cid)?;
        let end = offset.saturating_add(len).min(reader.size());
        // The first and last pieces may be small parts of their leaves: a
        // copy of them lets those leaves go while the pieces wait for a
        // slow client, so what waits is no more than what was asked.
        let mut sent = offset;
        let mut handed = |piece: Bytes| {
            let from = sent;
            sent += piece.len() as u64;
            if from == offset || sent == end {
                sink(Bytes::copy_from_slice(&piece))
            } else {
                sink(piece)
            }
        };
        let mut at = offset;
        while at < end {
            let step = (end - at).min(SLICE);
            reader.read_range(at, step, &mut handed)?;
            self.prefetcher.advance(cid, at..at + step, end);
            at += step;
        }
        Ok(())
    }
}
