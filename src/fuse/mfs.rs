//! The FUSE adapter for writable mounts: kernel requests become calls on a
//! `crate::fs::writable::WritableFs` (the MFS tree, the /ipns names).

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use fuser::{
    BsdFileFlags, Errno, FileHandle, FopenFlags, Generation, INodeNo, InitFlags, KernelConfig,
    LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, ReplyXattr,
    Request, TimeOrNow, WriteFlags,
};

use super::{DirHandles, file_attr, unix_time};
use crate::fs::mfs::{Caller, NewNode, RenameMode, SetAttr};
use crate::fs::writable::WritableFs;
use crate::fs::{Attr, FileKind, FsError};
use crate::metrics::FuseMetrics;

pub struct MfsFuse<F: WritableFs> {
    fs: Arc<F>,
    /// Where `statfs` reports space from: the repository's disk.
    space_from: PathBuf,
    dirs: DirHandles,
    metrics: Option<FuseMetrics>,
}

impl<F: WritableFs> MfsFuse<F> {
    pub fn new(fs: Arc<F>, space_from: &Path) -> Self {
        MfsFuse {
            fs,
            space_from: space_from.to_path_buf(),
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
}

fn errno(err: FsError) -> Errno {
    Errno::from_i32(err.errno())
}

/// UnixFS names are UTF-8 strings.
fn name_str(name: &OsStr) -> Result<&str, FsError> {
    name.to_str().ok_or(FsError::Invalid)
}

fn caller(req: &Request) -> Caller {
    Caller {
        uid: req.uid(),
        gid: req.gid(),
    }
}

fn time_or_now(time: Option<TimeOrNow>) -> Option<Option<crate::codec::unixfs_pb::UnixTime>> {
    time.map(|t| match t {
        TimeOrNow::SpecificTime(at) => Some(unix_time(at)),
        TimeOrNow::Now => None,
    })
}

fn kind_of_mode(mode: u32) -> Result<FileKind, FsError> {
    match mode & libc::S_IFMT {
        libc::S_IFREG | 0 => Ok(FileKind::File),
        libc::S_IFIFO => Ok(FileKind::Fifo),
        libc::S_IFSOCK => Ok(FileKind::Socket),
        libc::S_IFCHR => Ok(FileKind::CharDevice),
        libc::S_IFBLK => Ok(FileKind::BlockDevice),
        libc::S_IFDIR => Ok(FileKind::Directory),
        _ => Err(FsError::Invalid),
    }
}

fn reply_entry(fs: &impl WritableFs, result: Result<Attr, FsError>, reply: ReplyEntry) {
    match result {
        Ok(attr) => reply.entry(&fs.ttl(attr.ino), &file_attr(&attr), Generation(0)),
        Err(err) => reply.error(errno(err)),
    }
}

fn reply_empty(result: Result<(), FsError>, reply: ReplyEmpty) {
    match result {
        Ok(()) => reply.ok(),
        Err(err) => reply.error(errno(err)),
    }
}

impl<F: WritableFs> fuser::Filesystem for MfsFuse<F> {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        let wanted = InitFlags::FUSE_DO_READDIRPLUS
            | InitFlags::FUSE_READDIRPLUS_AUTO
            | InitFlags::FUSE_PARALLEL_DIROPS
            | InitFlags::FUSE_MAX_PAGES;
        let _ = config.add_capabilities(wanted);
        let _ = config.set_max_write(1 << 20);
        let _ = config.set_max_readahead(1 << 20);
        let _ = config.set_max_background(64);
        Ok(())
    }

    fn destroy(&mut self) {
        self.fs.unmounting();
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        reply_entry(
            &*self.fs,
            self.timed("lookup", || {
                name_str(name)
                    .map_err(|_| FsError::NotFound)
                    .and_then(|name| self.fs.lookup(parent.0, name))
            }),
            reply,
        );
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.timed("getattr", || self.fs.getattr(ino.0)) {
            Ok(attr) => reply.attr(&self.fs.ttl(ino.0), &file_attr(&attr)),
            Err(err) => reply.error(errno(err)),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let set = SetAttr {
            mode,
            uid,
            gid,
            size,
            atime: time_or_now(atime),
            mtime: time_or_now(mtime),
            ctime: ctime.map(unix_time),
        };
        match self.timed("setattr", || self.fs.setattr(ino.0, &set)) {
            Ok(attr) => reply.attr(&self.fs.ttl(ino.0), &file_attr(&attr)),
            Err(err) => reply.error(errno(err)),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.timed("readlink", || self.fs.readlink(ino.0)) {
            Ok(target) => reply.data(&target),
            Err(err) => reply.error(errno(err)),
        }
    }

    fn mknod(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        rdev: u32,
        reply: ReplyEntry,
    ) {
        let result = self.timed("mknod", || {
            name_str(name).and_then(|name| {
                let kind = kind_of_mode(mode)?;
                self.fs.make(
                    caller(req),
                    parent.0,
                    name,
                    &NewNode {
                        rdev,
                        ..NewNode::of(kind, mode & !umask)
                    },
                )
            })
        });
        reply_entry(&*self.fs, result, reply);
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let result = self.timed("mkdir", || {
            name_str(name).and_then(|name| {
                self.fs.make(
                    caller(req),
                    parent.0,
                    name,
                    &NewNode::of(FileKind::Directory, mode & !umask),
                )
            })
        });
        reply_entry(&*self.fs, result, reply);
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(
            self.timed("unlink", || {
                name_str(name).and_then(|name| self.fs.unlink(parent.0, name))
            }),
            reply,
        );
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        reply_empty(
            self.timed("rmdir", || {
                name_str(name).and_then(|name| self.fs.rmdir(parent.0, name))
            }),
            reply,
        );
    }

    fn symlink(
        &self,
        req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let result = self.timed("symlink", || {
            name_str(link_name).and_then(|name| {
                let target = Some(target.as_os_str().as_bytes());
                self.fs.make(
                    caller(req),
                    parent.0,
                    name,
                    &NewNode {
                        target,
                        ..NewNode::of(FileKind::Symlink, 0o777)
                    },
                )
            })
        });
        reply_entry(&*self.fs, result, reply);
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let mode = if flags.contains(RenameFlags::RENAME_EXCHANGE) {
            RenameMode::Exchange
        } else if flags.contains(RenameFlags::RENAME_NOREPLACE) {
            RenameMode::NoReplace
        } else if flags.is_empty() {
            RenameMode::Replace
        } else {
            return reply.error(Errno::EINVAL);
        };
        let result = self.timed("rename", || {
            name_str(name).and_then(|name| {
                let new_name = name_str(newname)?;
                self.fs.rename(parent.0, name, newparent.0, new_name, mode)
            })
        });
        reply_empty(result, reply);
    }

    fn link(
        &self,
        _req: &Request,
        ino: INodeNo,
        newparent: INodeNo,
        newname: &OsStr,
        reply: ReplyEntry,
    ) {
        reply_entry(
            &*self.fs,
            self.timed("link", || {
                name_str(newname).and_then(|name| self.fs.link(ino.0, newparent.0, name))
            }),
            reply,
        );
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let writes = flags.0 & libc::O_ACCMODE != libc::O_RDONLY;
        match self.timed("open", || self.fs.open(ino.0, writes)) {
            Ok(fh) if self.fs.keeps_cache(ino.0) => {
                reply.opened(FileHandle(fh), FopenFlags::FOPEN_KEEP_CACHE)
            }
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(err) => reply.error(errno(err)),
        }
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _flags: i32,
        reply: ReplyCreate,
    ) {
        let result = self.timed("create", || {
            name_str(name).and_then(|name| {
                kind_of_mode(mode)?;
                self.fs.create(caller(req), parent.0, name, mode & !umask)
            })
        });
        match result {
            Ok((attr, fh)) => reply.created(
                &self.fs.ttl(attr.ino),
                &file_attr(&attr),
                Generation(0),
                FileHandle(fh),
                FopenFlags::empty(),
            ),
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
        match self.timed("read", || self.fs.read(ino.0, offset, size)) {
            Ok(data) => reply.data(&data),
            Err(err) => reply.error(errno(err)),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        match self.timed("write", || self.fs.write(ino.0, offset, data)) {
            Ok(written) => reply.written(written),
            Err(err) => reply.error(errno(err)),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply_empty(self.timed("flush", || self.fs.flush_handle(fh.0)), reply);
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.fs.release(fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        reply_empty(self.timed("fsync", || self.fs.fsync(ino.0)), reply);
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
        // The kernel takes each entry as the answer to a lookup, and keeps
        // it: an entry of the listing taken at opendir that was removed or
        // renamed since would name an inode that is gone or elsewhere (a
        // create in it fails, a new file of that name overwrites the
        // renamed one). So each entry is looked up now, and one gone is left
        // out; offsets stay those of the listing. The kernel holds the
        // directory while it takes this reply: no change through the mount
        // comes in between.
        let mut index = offset as usize;
        while index < 2 + listing.len() {
            let entry = match index {
                0 => Some((".", own)),
                1 => Some(("..", own)),
                _ => {
                    let listed = &listing[index - 2];
                    match self.fs.lookup(ino.0, &listed.name) {
                        Ok(attr) => Some((listed.name.as_str(), attr)),
                        Err(FsError::NotFound) => None,
                        Err(_) => Some((listed.name.as_str(), listed.attr)),
                    }
                }
            };
            if let Some((name, attr)) = entry
                && reply.add(
                    INodeNo(attr.ino),
                    index as u64 + 1,
                    name,
                    &self.fs.ttl(attr.ino),
                    &file_attr(&attr),
                    Generation(0),
                )
            {
                break;
            }
            index += 1;
        }
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

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        reply_empty(self.fs.fsync(ino.0), reply);
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.fs.forget(ino.0, nlookup);
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        match disk_space(&self.space_from) {
            Ok(vfs) => reply.statfs(
                vfs.f_blocks,
                vfs.f_bfree,
                vfs.f_bavail,
                vfs.f_files,
                vfs.f_ffree,
                vfs.f_bsize as u32,
                255,
                vfs.f_frsize as u32,
            ),
            Err(err) => reply.error(Errno::from_i32(err.raw_os_error().unwrap_or(libc::EIO))),
        }
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        let value = match name.to_str() {
            Some(name) => self.fs.getxattr(ino.0, name),
            None => Err(FsError::NotSupported),
        };
        reply_xattr(value, size, reply);
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        reply_xattr(self.fs.listxattr(ino.0), size, reply);
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

fn disk_space(path: &Path) -> io::Result<libc::statvfs> {
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: statvfs is plain data; c_path is NUL-terminated and outlives the call.
    unsafe {
        let mut vfs: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c_path.as_ptr(), &mut vfs) == 0 {
            Ok(vfs)
        } else {
            Err(io::Error::last_os_error())
        }
    }
}
