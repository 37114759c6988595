//! The filesystem core, free of FUSE: inodes, attributes and the operations
//! the kernel asks for, as plain Rust that unit tests can drive. `crate::fuse`
//! only translates between this and the kernel.

pub mod attr;
pub mod cache;
pub mod file_reads;
pub mod inodes;
pub mod ipfs;
pub mod ipns;
pub mod mfs;
pub mod prefetch;
pub mod read_streams;
pub mod summaries;
pub mod writable;

use std::sync::Arc;

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
    #[error("across filesystems")]
    CrossDevice,
    #[error("I/O error: {0}")]
    Io(IoCause),
}

/// What made an operation fail with EIO: the error itself, so that callers
/// and logs see its whole chain.
#[derive(Clone, Debug)]
pub struct IoCause(Arc<dyn std::error::Error + Send + Sync>);

impl IoCause {
    pub fn message(text: impl Into<String>) -> Self {
        IoCause(Arc::new(std::io::Error::other(text.into())))
    }

    pub fn error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

impl std::fmt::Display for IoCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for IoCause {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for IoCause {}

/// The OS error code deepest in an error's chain of causes.
pub fn os_error_in(err: &(dyn std::error::Error + 'static)) -> Option<i32> {
    let mut found = None;
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(code) = err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error)
        {
            found = Some(code);
        }
        current = err.source();
    }
    found
}

impl FsError {
    /// A failure of the layers below as the filesystem reports it: a full
    /// disk (found by its OS error code anywhere in the chain) is ENOSPC,
    /// anything else EIO with the error kept.
    pub fn from_error(err: impl std::error::Error + Send + Sync + 'static) -> FsError {
        match os_error_in(&err) {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => FsError::NoSpace,
            _ => FsError::Io(IoCause(Arc::new(err))),
        }
    }

    pub fn io(text: impl Into<String>) -> FsError {
        FsError::Io(IoCause::message(text))
    }

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
            FsError::CrossDevice => libc::EXDEV,
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

#[cfg(test)]
mod error_tests {
    use super::*;
    use crate::blockstore::BlockstoreError;

    #[test]
    fn a_full_disk_is_found_by_its_os_code_and_other_failures_keep_their_cause() {
        let full = BlockstoreError::Io {
            path: "blocks/x".into(),
            source: std::io::Error::from_raw_os_error(libc::ENOSPC),
        };
        assert_eq!(FsError::from_error(full), FsError::NoSpace);
        // The words alone do not make a full disk.
        let worded = BlockstoreError::Other("No space left on device".into());
        assert_eq!(FsError::from_error(worded).errno(), libc::EIO);

        let late = FsError::from_error(BlockstoreError::TimedOut("bafyexample".into()));
        assert_eq!(late.errno(), libc::EIO);
        let FsError::Io(cause) = &late else {
            panic!("{late:?}")
        };
        assert!(
            cause.error().downcast_ref::<BlockstoreError>().is_some_and(
                |e| matches!(e, BlockstoreError::TimedOut(cid) if cid == "bafyexample")
            ),
            "{cause}"
        );
    }
}
