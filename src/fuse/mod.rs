//! The FUSE adapter, and nothing more: it turns kernel requests into calls on
//! `crate::fs` and their results into replies. All logic lives in `fs`.

mod ipfs;
mod mfs;
mod mount;

pub use ipfs::IpfsFuse;
pub use mfs::MfsFuse;
pub use mount::{
    MountError, MountOptions, detach, detach_stale_mount, mount_ipfs, mount_ipns, mount_mfs,
    unmount,
};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{FileAttr, FileType, Generation, INodeNo, ReplyDirectory, ReplyDirectoryPlus};

use crate::codec::unixfs_pb::UnixTime;
use crate::fs::{Attr, FileKind, FsError, Listing};
use crate::metrics::FuseMetrics;

/// Runs a request's `op` on the core, counted in `metrics` when there are any.
pub(crate) fn timed<T>(
    metrics: Option<&FuseMetrics>,
    name: &'static str,
    op: impl FnOnce() -> Result<T, FsError>,
) -> Result<T, FsError> {
    match metrics {
        Some(metrics) => metrics.timed(name, op),
        None => op(),
    }
}

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

/// Fills a readdir reply from `offset`: `.` and `..`, then `listing`.
pub(crate) fn fill_readdir(
    reply: &mut ReplyDirectory,
    ino: INodeNo,
    listing: &[Listing],
    offset: u64,
) {
    let mut index = offset as usize;
    while index < 2 + listing.len() {
        let full = match index {
            0 => reply.add(ino, 1, FileType::Directory, "."),
            1 => reply.add(ino, 2, FileType::Directory, ".."),
            _ => {
                let entry = &listing[index - 2];
                reply.add(
                    INodeNo(entry.attr.ino),
                    index as u64 + 1,
                    file_type(entry.attr.kind),
                    &entry.name,
                )
            }
        };
        if full {
            break;
        }
        index += 1;
    }
}

/// Fills a readdirplus reply from `offset`; `own` answers for `.` and `..`.
/// Returns the part of `listing` that went in (the kernel counts a lookup
/// for each of those entries, and none for `.` and `..`).
pub(crate) fn fill_readdirplus(
    reply: &mut ReplyDirectoryPlus,
    own: &Attr,
    listing: &[Listing],
    offset: u64,
    ttl: &Duration,
) -> std::ops::Range<usize> {
    let first = (offset as usize).max(2).min(2 + listing.len()) - 2;
    let mut index = offset as usize;
    while index < 2 + listing.len() {
        let (name, attr) = match index {
            0 => (".", own),
            1 => ("..", own),
            _ => (listing[index - 2].name.as_str(), &listing[index - 2].attr),
        };
        if reply.add(
            INodeNo(attr.ino),
            index as u64 + 1,
            name,
            ttl,
            &file_attr(attr),
            Generation(0),
        ) {
            break;
        }
        index += 1;
    }
    first..index.max(2).min(2 + listing.len()) - 2
}

/// Directory listings taken at opendir, by handle, so that readdir at any
/// offset sees one consistent snapshot.
#[derive(Default)]
pub(crate) struct DirHandles {
    open: std::sync::Mutex<std::collections::HashMap<u64, std::sync::Arc<Vec<Listing>>>>,
    next: std::sync::atomic::AtomicU64,
}

impl DirHandles {
    pub fn open(&self, listing: Vec<Listing>) -> fuser::FileHandle {
        let fh = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if let Ok(mut open) = self.open.lock() {
            open.insert(fh, std::sync::Arc::new(listing));
        }
        fuser::FileHandle(fh)
    }

    pub fn get(&self, fh: fuser::FileHandle) -> Option<std::sync::Arc<Vec<Listing>>> {
        self.open.lock().ok()?.get(&fh.0).cloned()
    }

    /// Closes the handle; its listing is returned.
    pub fn release(&self, fh: fuser::FileHandle) -> Option<std::sync::Arc<Vec<Listing>>> {
        self.open.lock().ok()?.remove(&fh.0)
    }
}
