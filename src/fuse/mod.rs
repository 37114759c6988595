//! The FUSE adapter, and nothing more: it turns kernel requests into calls on
//! `crate::fs` and their results into replies. All logic lives in `fs`.

mod ipfs;
mod mfs;
mod mount;

pub use ipfs::IpfsFuse;
pub use mfs::MfsFuse;
pub use mount::{
    MountError, MountOptions, detach, detach_stale_mount, mount_ipfs, mount_mfs, unmount,
};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{FileAttr, FileType, INodeNo};

use crate::codec::unixfs_pb::UnixTime;
use crate::fs::{Attr, FileKind};

/// Read-only content never changes: let the kernel cache it for long.
pub const IMMUTABLE_TTL: Duration = Duration::from_secs(24 * 3600);

pub fn system_time(time: UnixTime) -> SystemTime {
    if time.seconds >= 0 {
        UNIX_EPOCH + Duration::new(time.seconds as u64, time.nanos)
    } else {
        UNIX_EPOCH - Duration::from_secs(time.seconds.unsigned_abs())
            + Duration::from_nanos(time.nanos.into())
    }
}

pub fn unix_time(time: SystemTime) -> UnixTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => UnixTime {
            seconds: since.as_secs() as i64,
            nanos: since.subsec_nanos(),
        },
        Err(before) => {
            let before = before.duration();
            let mut seconds = -(before.as_secs() as i64);
            let mut nanos = before.subsec_nanos();
            if nanos > 0 {
                seconds -= 1;
                nanos = 1_000_000_000 - nanos;
            }
            UnixTime { seconds, nanos }
        }
    }
}

pub fn file_attr(attr: &Attr) -> FileAttr {
    FileAttr {
        ino: INodeNo(attr.ino),
        size: attr.size,
        blocks: attr.blocks,
        atime: system_time(attr.atime),
        mtime: system_time(attr.mtime),
        ctime: system_time(attr.ctime),
        crtime: SystemTime::UNIX_EPOCH,
        kind: file_type(attr.kind),
        perm: attr.perm,
        nlink: attr.nlink,
        uid: attr.uid,
        gid: attr.gid,
        rdev: attr.rdev,
        blksize: crate::fs::attr::BLOCK_SIZE,
        flags: 0,
    }
}

pub fn file_type(kind: FileKind) -> FileType {
    match kind {
        FileKind::Directory => FileType::Directory,
        FileKind::File => FileType::RegularFile,
        FileKind::Symlink => FileType::Symlink,
        FileKind::Fifo => FileType::NamedPipe,
        FileKind::Socket => FileType::Socket,
        FileKind::CharDevice => FileType::CharDevice,
        FileKind::BlockDevice => FileType::BlockDevice,
    }
}
