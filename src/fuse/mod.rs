//! The FUSE adapter, and nothing more: it turns kernel requests into calls on
//! `crate::fs` and their results into replies. All logic lives in `fs`.

mod ipfs;
mod mount;

pub use ipfs::IpfsFuse;
pub use mount::{MountError, MountOptions, detach_stale_mount, mount_ipfs};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{FileAttr, FileType, INodeNo};

use crate::fs::{Attr, FileKind};

/// Read-only content never changes: let the kernel cache it for long.
pub const IMMUTABLE_TTL: Duration = Duration::from_secs(24 * 3600);

pub fn file_attr(attr: &Attr) -> FileAttr {
    let mtime = if attr.mtime.seconds >= 0 {
        UNIX_EPOCH + Duration::new(attr.mtime.seconds as u64, attr.mtime.nanos)
    } else {
        UNIX_EPOCH
    };
    FileAttr {
        ino: INodeNo(attr.ino),
        size: attr.size,
        blocks: attr.blocks,
        atime: mtime,
        mtime,
        ctime: mtime,
        crtime: SystemTime::UNIX_EPOCH,
        kind: file_type(attr.kind),
        perm: attr.perm,
        nlink: attr.nlink,
        uid: 0,
        gid: 0,
        rdev: 0,
        blksize: crate::fs::attr::BLOCK_SIZE,
        flags: 0,
    }
}

pub fn file_type(kind: FileKind) -> FileType {
    match kind {
        FileKind::Directory => FileType::Directory,
        FileKind::File => FileType::RegularFile,
        FileKind::Symlink => FileType::Symlink,
    }
}
