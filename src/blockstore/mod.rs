//! The storage seam: a `Blockstore` keyed by multihash (so CIDv0 and CIDv1 of
//! the same bytes are one block), an in-memory implementation for tests, and
//! the shared test suite every implementation must pass.

mod discard;
pub mod gc_lock;
mod memory;
#[cfg(test)]
pub mod suite;
mod write_behind;

use bytes::Bytes;

use crate::codec::cid::{Cid, is_identity};

pub use discard::DiscardBlockstore;
pub use gc_lock::{GcGuard, GcLock, InFlightStore, PinGuard, RecordingStore};
pub use memory::MemoryBlockstore;
pub use write_behind::WriteBehind;

#[derive(Debug, thiserror::Error)]
pub enum BlockstoreError {
    #[error("block {0} not found")]
    NotFound(String),
    #[error("block {cid} is corrupt: {reason}")]
    Corrupt { cid: String, reason: String },
    /// Asked of the network, the block did not come before the deadline.
    #[error("block {0} could not be had from the network in time")]
    TimedOut(String),
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

impl BlockstoreError {
    /// A copy to report again (I/O errors keep their kind and OS code).
    pub fn duplicate(&self) -> BlockstoreError {
        match self {
            BlockstoreError::NotFound(cid) => BlockstoreError::NotFound(cid.clone()),
            BlockstoreError::Corrupt { cid, reason } => BlockstoreError::Corrupt {
                cid: cid.clone(),
                reason: reason.clone(),
            },
            BlockstoreError::Io { path, source } => BlockstoreError::Io {
                path: path.clone(),
                source: match source.raw_os_error() {
                    Some(code) => std::io::Error::from_raw_os_error(code),
                    None => std::io::Error::new(source.kind(), source.to_string()),
                },
            },
            BlockstoreError::TimedOut(cid) => BlockstoreError::TimedOut(cid.clone()),
            BlockstoreError::Other(text) => BlockstoreError::Other(text.clone()),
        }
    }
}

pub type Result<T> = std::result::Result<T, BlockstoreError>;

pub trait Blockstore: Send + Sync {
    /// The block's bytes, or `None` when it is not stored. Identity CIDs are
    /// answered from the CID itself and never stored.
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>>;
    /// As `get`, in a buffer that may be shared: a store that can hand out
    /// the buffer it read into, without a copy, does (the flatfs).
    fn get_shared(&self, cid: &Cid) -> Result<Option<Bytes>> {
        Ok(self.get(cid)?.map(Bytes::from))
    }
    fn has(&self, cid: &Cid) -> Result<bool>;
    /// Stores a block; storing one that is already there is a no-op.
    /// The caller vouches that `data` hashes to `cid`.
    fn put(&self, cid: &Cid, data: &[u8]) -> Result<()>;
    /// As `put`, handing over a buffer the caller is done with: a store
    /// that keeps or queues the block takes it without a copy.
    fn put_shared(&self, cid: &Cid, data: Bytes) -> Result<()> {
        self.put(cid, &data)
    }
    /// Removes a block; returns whether it was there.
    fn delete(&self, cid: &Cid) -> Result<bool>;
    /// Makes every `put` so far durable.
    fn sync(&self) -> Result<()>;
    /// Every stored block, as a CIDv1 raw-codec key over its multihash (the
    /// store does not know codecs).
    fn all_keys(&self) -> Result<Vec<Cid>>;
    /// A hint that `cids` are about to be read, in this order: a store that
    /// fetches from elsewhere starts fetching them all at once, so the
    /// reads that follow wait for one round trip rather than one each.
    /// Stores that hold everything locally ignore it.
    fn prefetch(&self, _cids: &[Cid]) {}
}

/// For implementations: the bytes of an identity CID.
pub fn identity_data(cid: &Cid) -> Option<Vec<u8>> {
    is_identity(cid).then(|| cid.hash().digest().to_vec())
}

/// `get` that turns a missing block into an error naming the CID.
pub fn get_required(store: &dyn Blockstore, cid: &Cid) -> Result<Vec<u8>> {
    store.get(cid)?.ok_or_else(|| not_found(cid))
}

/// `get_shared` that turns a missing block into an error naming the CID.
pub fn get_required_shared(store: &dyn Blockstore, cid: &Cid) -> Result<Bytes> {
    store.get_shared(cid)?.ok_or_else(|| not_found(cid))
}

pub fn not_found(cid: &Cid) -> BlockstoreError {
    BlockstoreError::NotFound(crate::codec::cid_string(cid))
}

impl<T: Blockstore + ?Sized> Blockstore for std::sync::Arc<T> {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        (**self).get(cid)
    }
    fn get_shared(&self, cid: &Cid) -> Result<Option<Bytes>> {
        (**self).get_shared(cid)
    }
    fn has(&self, cid: &Cid) -> Result<bool> {
        (**self).has(cid)
    }
    fn put(&self, cid: &Cid, data: &[u8]) -> Result<()> {
        (**self).put(cid, data)
    }
    fn put_shared(&self, cid: &Cid, data: Bytes) -> Result<()> {
        (**self).put_shared(cid, data)
    }
    fn delete(&self, cid: &Cid) -> Result<bool> {
        (**self).delete(cid)
    }
    fn sync(&self) -> Result<()> {
        (**self).sync()
    }
    fn all_keys(&self) -> Result<Vec<Cid>> {
        (**self).all_keys()
    }
    fn prefetch(&self, cids: &[Cid]) {
        (**self).prefetch(cids)
    }
}
