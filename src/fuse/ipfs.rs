use std::ffi::OsStr;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use fuser::{
    Errno, FileHandle, FopenFlags, Generation, INodeNo, InitFlags, KernelConfig, LockOwner,
    OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty, ReplyEntry,
    ReplyOpen, ReplyStatfs, ReplyXattr, Request,
};

use super::{DirHandles, IMMUTABLE_TTL, file_attr};
use crate::fs::FsError;
use crate::fs::inodes::ROOT;
use crate::fs::ipfs::IpfsFs;
use crate::metrics::FuseMetrics;

/// The pinned-roots listing changes as pins do; keep it fresh.
const ROOT_TTL: Duration = Duration::from_secs(1);

pub struct IpfsFuse {
    fs: Arc<IpfsFs>,
    dirs: DirHandles,
    metrics: Option<FuseMetrics>,
}

impl IpfsFuse {
    pub fn new(fs: Arc<IpfsFs>) -> Self {
        IpfsFuse {
            fs,
            dirs: DirHandles::default(),
            metrics: None,
        }
    }

    pub fn with_metrics(mut self, metrics: Option<FuseMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    fn timed<T>(
        &self,
        name: &'static str,
        op: impl FnOnce() -> Result<T, FsError>,
    ) -> Result<T, FsError> {
        super::timed(self.metrics.as_ref(), name, op)
    }

    fn ttl(ino: u64) -> Duration {
        if ino == ROOT { ROOT_TTL } else { IMMUTABLE_TTL }
    }
}

fn errno(err: FsError) -> Errno {
    Errno::from_i32(err.errno())
}

fn name_str(name: &OsStr) -> Result<&str, FsError> {
    name.to_str().ok_or(FsError::NotFound)
}

impl fuser::Filesystem for IpfsFuse {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        let wanted = InitFlags::FUSE_DO_READDIRPLUS
            | InitFlags::FUSE_READDIRPLUS_AUTO
            | InitFlags::FUSE_ASYNC_READ
            | InitFlags::FUSE_PARALLEL_DIROPS
            | InitFlags::FUSE_CACHE_SYMLINKS
            | InitFlags::FUSE_MAX_PAGES;
        let _ = config.add_capabilities(wanted);
        // Large requests: max_pages follows max(max_write, max_readahead).
        let _ = config.set_max_write(1 << 20);
        if let Err(kernel_max) = config.set_max_readahead(8 << 20) {
            tracing::debug!("kernel allows {kernel_max} bytes of readahead");
            let _ = config.set_max_readahead(kernel_max);
        }
        let _ = config.set_max_background(64);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.timed("lookup", || {
            name_str(name).and_then(|name| self.fs.lookup(parent.0, name))
        }) {
            Ok(attr) => reply.entry(&IMMUTABLE_TTL, &file_attr(&attr), Generation(0)),
            Err(err) => reply.error(errno(err)),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.timed("getattr", || self.fs.getattr(ino.0)) {
            Ok(attr) => reply.attr(&Self::ttl(ino.0), &file_attr(&attr)),
            Err(err) => reply.error(errno(err)),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.timed("readlink", || self.fs.readlink(ino.0)) {
            Ok(target) => reply.data(&target),
            Err(err) => reply.error(errno(err)),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if flags.0 & libc::O_ACCMODE != libc::O_RDONLY {
            return reply.error(errno(FsError::ReadOnly));
        }
        match self.fs.getattr(ino.0) {
            Ok(_) => reply.opened(FileHandle(0), FopenFlags::FOPEN_KEEP_CACHE),
            Err(err) => reply.error(errno(err)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        tracing::trace!("read {} bytes at {offset}", size);
        match self.timed("read", || self.fs.read(ino.0, offset, size)) {
            Ok(data) => reply.data(&data),
            Err(err) => reply.error(errno(err)),
        }
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.timed("opendir", || self.fs.readdir(ino.0)) {
            Ok(listing) => {
                reply.opened(self.dirs.open(listing), FopenFlags::empty());
            }
            Err(err) => reply.error(errno(err)),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let Some(listing) = self.dirs.get(fh) else {
            return reply.error(Errno::EBADF);
        };
        super::fill_readdir(&mut reply, ino, &listing, offset);
        reply.ok();
    }

    fn readdirplus(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectoryPlus,
    ) {
        let Some(listing) = self.dirs.get(fh) else {
            return reply.error(Errno::EBADF);
        };
        let Ok(own) = self.fs.getattr(ino.0) else {
            return reply.error(Errno::ENOENT);
        };
        let given = super::fill_readdirplus(&mut reply, &own, &listing, offset, &IMMUTABLE_TTL);
        self.fs.remember(&listing[given]);
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        if let Some(listing) = self.dirs.release(fh) {
            self.fs.release_listing(&listing);
        }
        reply.ok();
    }

    // fuser's batch_forget comes here once per inode.
    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.fs.forget([(ino.0, nlookup)]);
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        reply.statfs(
            0,
            0,
            0,
            self.fs.inode_count() as u64,
            0,
            crate::fs::attr::BLOCK_SIZE,
            255,
            4096,
        );
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        let value = name_str(name)
            .map_err(|_| FsError::NoAttribute)
            .and_then(|n| self.fs.getxattr(ino.0, n));
        reply_xattr(value, size, reply);
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        reply_xattr(self.fs.listxattr(ino.0), size, reply);
    }

    fn access(&self, _req: &Request, _ino: INodeNo, mask: fuser::AccessFlags, reply: ReplyEmpty) {
        if mask.contains(fuser::AccessFlags::W_OK) {
            return reply.error(errno(FsError::ReadOnly));
        }
        reply.ok();
    }
}

fn reply_xattr(value: Result<Vec<u8>, FsError>, size: u32, reply: ReplyXattr) {
    match value {
        Ok(data) if size == 0 => reply.size(data.len() as u32),
        Ok(data) if data.len() > size as usize => reply.error(errno(FsError::Range)),
        Ok(data) => reply.data(&data),
        Err(err) => reply.error(errno(err)),
    }
}
