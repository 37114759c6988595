//! Wire formats: CIDs, DAG-PB, the UnixFS `Data` message and CAR files.

pub mod car;
pub mod cbor;
pub mod cid;
pub mod dagjson;
pub mod dagpb;
pub mod links;
pub mod unixfs_pb;
pub(crate) mod wire;

pub use self::cid::{Cid, CidBuilder, HashFn, IpfsPath, cid_string, parse_cid};

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("invalid CID: {0}")]
    InvalidCid(String),
    #[error("invalid path: {0}")]
    InvalidPath(String),
    #[error("unsupported hash function: {0}")]
    UnsupportedHash(String),
    #[error("block does not match its CID {0}")]
    HashMismatch(String),
    #[error("malformed DAG-PB: {0}")]
    DagPb(String),
    #[error("malformed UnixFS data: {0}")]
    Unixfs(String),
    #[error("malformed DAG-CBOR: {0}")]
    Cbor(String),
}
