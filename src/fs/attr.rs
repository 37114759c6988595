//! File attributes derived from UnixFS nodes.

use crate::codec::unixfs_pb::UnixTime;
use crate::unixfs::node::{Kind, Node, Summary};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Directory,
    File,
    Symlink,
    /// Special files live only in a mounted MFS: UnixFS cannot store them.
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr {
    pub ino: u64,
    pub kind: FileKind,
    pub size: u64,
    /// 512-byte blocks, as `st_blocks` counts them.
    pub blocks: u64,
    pub perm: u16,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u32,
    pub atime: UnixTime,
    pub mtime: UnixTime,
    pub ctime: UnixTime,
}

/// Preferred I/O size reported to the kernel.
pub const BLOCK_SIZE: u32 = 1 << 20;

impl Attr {
    /// Read-only attributes for a node: UnixFS mode and mtime where present
    /// (write bits removed), else 0444 files, 0555 directories, 0777 symlinks.
    pub fn read_only(ino: u64, node: &Node, nlink: u32) -> Attr {
        Self::from_summary(ino, &node.summary(), nlink)
    }

    pub fn from_summary(ino: u64, summary: &Summary, nlink: u32) -> Attr {
        let kind = match summary.kind {
            Kind::Directory | Kind::HamtShard => FileKind::Directory,
            Kind::Symlink => FileKind::Symlink,
            Kind::File | Kind::Other => FileKind::File,
        };
        let mtime = summary.mtime.unwrap_or_default();
        let perm = match (kind, summary.mode.map(|m| m & 0o7777)) {
            (FileKind::Symlink, _) => 0o777,
            (_, Some(mode)) => (mode & !0o222) as u16,
            (FileKind::Directory, None) => 0o555,
            (_, None) => 0o444,
        };
        Attr {
            ino,
            kind,
            size: summary.size,
            blocks: summary.size.div_ceil(512),
            perm,
            nlink,
            uid: 0,
            gid: 0,
            rdev: 0,
            atime: mtime,
            mtime,
            ctime: mtime,
        }
    }

    /// The synthetic root of the /ipfs mount.
    pub fn root(ino: u64) -> Attr {
        Attr {
            ino,
            kind: FileKind::Directory,
            size: 0,
            blocks: 0,
            perm: 0o555,
            // Its entries (the pins) come and go: subdirectories uncounted.
            nlink: 1,
            uid: 0,
            gid: 0,
            rdev: 0,
            atime: UnixTime::default(),
            mtime: UnixTime::default(),
            ctime: UnixTime::default(),
        }
    }
}
