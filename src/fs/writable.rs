//! The operations a writable mount serves, as one trait: the FUSE adapter
//! for writable trees (`crate::fuse::MfsFuse`) drives any filesystem that
//! has them, the /mfs tree and the /ipns names alike.

use std::time::Duration;

use bytes::Bytes;

use super::mfs::{Caller, MfsFs, NewNode, RenameMode, SetAttr};
use super::{Attr, FsError, Listing};

/// How long the kernel may keep what a writable tree answers: only the
/// mount changes it and it tells the kernel of every change it makes; a
/// short timeout still bounds any staleness.
pub const WRITABLE_TTL: Duration = Duration::from_secs(1);

const CID_XATTR: &str = "user.ipfs.cid";

pub trait WritableFs: Send + Sync + 'static {
    fn lookup(&self, parent: u64, name: &str) -> Result<Attr, FsError>;
    fn getattr(&self, ino: u64) -> Result<Attr, FsError>;
    fn setattr(&self, ino: u64, set: &SetAttr) -> Result<Attr, FsError>;
    fn readlink(&self, ino: u64) -> Result<Vec<u8>, FsError>;
    fn make(&self, caller: Caller, parent: u64, name: &str, new: &NewNode)
    -> Result<Attr, FsError>;
    fn link(&self, ino: u64, parent: u64, name: &str) -> Result<Attr, FsError>;
    fn unlink(&self, parent: u64, name: &str) -> Result<(), FsError>;
    fn rmdir(&self, parent: u64, name: &str) -> Result<(), FsError>;
    fn rename(
        &self,
        parent: u64,
        name: &str,
        new_parent: u64,
        new_name: &str,
        mode: RenameMode,
    ) -> Result<(), FsError>;
    /// Opens `ino`; returns the handle.
    fn open(&self, ino: u64, writes: bool) -> Result<u64, FsError>;
    fn create(
        &self,
        caller: Caller,
        parent: u64,
        name: &str,
        perm: u32,
    ) -> Result<(Attr, u64), FsError>;
    fn read(&self, ino: u64, offset: u64, size: u32) -> Result<Bytes, FsError>;
    fn write(&self, ino: u64, offset: u64, data: &[u8]) -> Result<u32, FsError>;
    /// A handle is closed (`close(2)`): errors of its writes are reported.
    fn flush_handle(&self, fh: u64) -> Result<(), FsError>;
    fn release(&self, fh: u64);
    /// `fsync` on `ino`: what it holds is durable when this returns.
    fn fsync(&self, ino: u64) -> Result<(), FsError>;
    /// A directory's entries, taken at opendir.
    fn readdir(&self, ino: u64) -> Result<Vec<Listing>, FsError>;
    /// A listing from `readdir` is no longer used.
    fn release_listing(&self, _listing: &[Listing]) {}
    /// The kernel gives back `count` lookups of `ino`.
    fn forget(&self, _ino: u64, _count: u64) {}
    fn getxattr(&self, ino: u64, name: &str) -> Result<Vec<u8>, FsError>;
    /// The attribute names of `ino`, each NUL-terminated.
    fn listxattr(&self, ino: u64) -> Result<Vec<u8>, FsError>;
    /// How long the kernel may keep `ino`'s attributes and its name.
    fn ttl(&self, _ino: u64) -> Duration {
        WRITABLE_TTL
    }
    /// Whether pages the kernel cached for `ino` stay valid across opens.
    fn keeps_cache(&self, _ino: u64) -> bool {
        false
    }
    /// The mount goes away: make everything durable.
    fn unmounting(&self);
}

impl WritableFs for MfsFs {
    fn lookup(&self, parent: u64, name: &str) -> Result<Attr, FsError> {
        MfsFs::lookup(self, parent, name)
    }
    fn getattr(&self, ino: u64) -> Result<Attr, FsError> {
        MfsFs::getattr(self, ino)
    }
    fn setattr(&self, ino: u64, set: &SetAttr) -> Result<Attr, FsError> {
        MfsFs::setattr(self, ino, set)
    }
    fn readlink(&self, ino: u64) -> Result<Vec<u8>, FsError> {
        MfsFs::readlink(self, ino)
    }
    fn make(
        &self,
        caller: Caller,
        parent: u64,
        name: &str,
        new: &NewNode,
    ) -> Result<Attr, FsError> {
        MfsFs::make(self, caller, parent, name, new)
    }
    fn link(&self, ino: u64, parent: u64, name: &str) -> Result<Attr, FsError> {
        MfsFs::link(self, ino, parent, name)
    }
    fn unlink(&self, parent: u64, name: &str) -> Result<(), FsError> {
        MfsFs::unlink(self, parent, name)
    }
    fn rmdir(&self, parent: u64, name: &str) -> Result<(), FsError> {
        MfsFs::rmdir(self, parent, name)
    }
    fn rename(
        &self,
        parent: u64,
        name: &str,
        new_parent: u64,
        new_name: &str,
        mode: RenameMode,
    ) -> Result<(), FsError> {
        MfsFs::rename(self, parent, name, new_parent, new_name, mode)
    }
    fn open(&self, ino: u64, writes: bool) -> Result<u64, FsError> {
        MfsFs::open(self, ino, writes)
    }
    fn create(
        &self,
        caller: Caller,
        parent: u64,
        name: &str,
        perm: u32,
    ) -> Result<(Attr, u64), FsError> {
        MfsFs::create(self, caller, parent, name, perm)
    }
    fn read(&self, ino: u64, offset: u64, size: u32) -> Result<Bytes, FsError> {
        MfsFs::read(self, ino, offset, size)
    }
    fn write(&self, ino: u64, offset: u64, data: &[u8]) -> Result<u32, FsError> {
        MfsFs::write(self, ino, offset, data)
    }
    fn flush_handle(&self, fh: u64) -> Result<(), FsError> {
        MfsFs::flush_handle(self, fh)
    }
    fn release(&self, fh: u64) {
        MfsFs::release(self, fh)
    }
    fn fsync(&self, _ino: u64) -> Result<(), FsError> {
        self.sync(true).map(|_| ())
    }
    fn readdir(&self, ino: u64) -> Result<Vec<Listing>, FsError> {
        MfsFs::readdir(self, ino)
    }
    fn getxattr(&self, ino: u64, name: &str) -> Result<Vec<u8>, FsError> {
        match name {
            CID_XATTR => self
                .cid_of(ino)
                .map(|cid| crate::codec::cid_string(&cid).into_bytes()),
            other if other.starts_with("user.") => Err(FsError::NoAttribute),
            _ => Err(FsError::NotSupported),
        }
    }
    fn listxattr(&self, _ino: u64) -> Result<Vec<u8>, FsError> {
        Ok(format!("{CID_XATTR}\0").into_bytes())
    }
    fn unmounting(&self) {
        if let Err(err) = self.sync(true) {
            tracing::error!("MFS: the last flush failed: {err}");
        }
    }
}
