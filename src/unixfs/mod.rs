//! UnixFS: chunkers, layouts, importer, directories and HAMT shards, reader.

pub mod adder;
pub mod chunker;
pub mod dir;
pub mod export;
pub mod file;
pub mod node;
pub mod plan;
pub mod reader;
pub mod resolve;
pub mod scope;
pub mod streamed;
pub mod tar;

use crate::blockstore::BlockstoreError;
use crate::codec::CodecError;

#[derive(Debug, thiserror::Error)]
pub enum UnixfsError {
    #[error(transparent)]
    Block(#[from] BlockstoreError),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("{0} is not a file")]
    NotAFile(String),
    #[error("{0} is not a directory")]
    NotADirectory(String),
    #[error("no link named {name:?} under {parent}")]
    NoSuchLink { parent: String, name: String },
    #[error("block {cid} is not valid UnixFS: {reason}")]
    Corrupt { cid: String, reason: String },
    #[error("refusing entry name {0:?}: it would escape the destination")]
    UnsafeName(String),
    #[error("I/O error: {0}")]
    Io(String),
    #[error(transparent)]
    Dir(#[from] dir::DirError),
}
