//! The filesystem core, free of FUSE: inodes, attributes and the operations
//! the kernel asks for, as plain Rust that unit tests can drive. `crate::fuse`
//! only translates between this and the kernel.

pub mod attr;
pub mod cache;
pub mod inodes;
pub mod ipfs;
pub mod mfs;
pub mod prefetch;
pub mod read_streams;
pub mod summaries;

pub use attr::{Attr, FileKind};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FsError {
    #[error("no such entry")]
    NotFound,
    #[error("not a directory")]
    NotADirectory,
    #[error("is a directory")]
    IsADirectory,
    #[error("read-only filesystem")]
    ReadOnly,
    #[error("no such attribute")]
    NoAttribute,
    #[error("operation not supported")]
    NotSupported,
    #[error("buffer too small")]
    Range,
    #[error("invalid argument")]
    Invalid,
    #[error("file exists")]
    Exists,
    #[error("directory not empty")]
    NotEmpty,
    #[error("operation not permitted")]
    NotPermitted,
    #[error("file name too long")]
    NameTooLong,
    #[error("no space left on device")]
    NoSpace,
    #[error("I/O error: {0}")]
    Io(String),
}

impl FsError {
    /// The one place filesystem errors become errno values.
    pub fn errno(&self) -> i32 {
        match self {
            FsError::NotFound => libc::ENOENT,
            FsError::NotADirectory => libc::ENOTDIR,
            FsError::IsADirectory => libc::EISDIR,
            FsError::ReadOnly => libc::EROFS,
            FsError::NoAttribute => libc::ENODATA,
            FsError::NotSupported => libc::EOPNOTSUPP,
            FsError::Range => libc::ERANGE,
            FsError::Invalid => libc::EINVAL,
            FsError::Exists => libc::EEXIST,
            FsError::NotEmpty => libc::ENOTEMPTY,
            FsError::NotPermitted => libc::EPERM,
            FsError::NameTooLong => libc::ENAMETOOLONG,
            FsError::NoSpace => libc::ENOSPC,
            FsError::Io(_) => libc::EIO,
        }
    }
}

/// A directory entry as `readdir` returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub name: String,
    pub attr: Attr,
}
