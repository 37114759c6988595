//! Block file I/O past the page cache (O_DIRECT), through buffers that each
//! sit in a single 2 MiB huge page.
//!
//! Why: on these virtual disks a request costs per memory segment it spans.
//! A block read into the page cache lands in many small pages (tens of
//! segments per 256 KiB block), and a direct read into an ordinary buffer is
//! no better; into one physically contiguous huge page it is a single
//! segment, and cold block reads go about 1.5x faster with a third of the
//! CPU. The page cache is skipped only where it would not help: a block
//! already cached is read from the cache, and the mount keeps what it reads
//! in its own caches anyway.
//!
//! A reader that keeps the block (the mount) gets it in a slot of a slab of
//! such huge pages, shared as `Bytes` and returned to the slab when the last
//! user drops it: no copy out of the read buffer, and the FUSE reply that
//! sends a leaf's bytes pins one huge page rather than 64 small ones.
//!
//! Filesystems without O_DIRECT (tmpfs, some FUSE) refuse it with EINVAL;
//! callers then fall back to ordinary I/O.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::io::AsRawFd;
use std::ptr::NonNull;
use std::sync::Mutex;

use bytes::Bytes;

/// Blocks smaller than this (directory and tree nodes, mostly) stay with the
/// page cache, where repeated reads of them find them.
pub const MIN_DIRECT: usize = 64 << 10;
/// The huge page size, which is also the largest block moved this way.
const HUGE: usize = 2 << 20;
/// O_DIRECT wants buffer, offset and length aligned to the logical block size.
const ALIGN: usize = 4096;
/// cachestat(2), Linux 6.5+, the same number on every architecture; the libc
/// crate does not name it for all targets yet.
const SYS_CACHESTAT: libc::c_long = 451;

/// An aligned buffer: a 2 MiB window, on a 2 MiB boundary, of a zeroed
/// allocation twice that size. Only the window is ever touched, so only it
/// becomes resident.
struct Window {
    memory: Vec<u8>,
    start: usize,
}

impl Window {
    fn new() -> Self {
        let memory = vec![0u8; 2 * HUGE];
        let start = memory.as_ptr().align_offset(HUGE);
        // SAFETY: madvise on a range inside our own allocation; it only
        // changes how the kernel backs it. Failure (no THP) just leaves
        // ordinary pages.
        unsafe {
            libc::madvise(
                memory.as_ptr().add(start) as *mut libc::c_void,
                HUGE,
                libc::MADV_HUGEPAGE,
            );
        }
        Window { memory, start }
    }

    fn slice(&mut self, len: usize) -> &mut [u8] {
        &mut self.memory[self.start..self.start + len]
    }

    /// The window, kept for the life of the process.
    fn leak(self) -> NonNull<u8> {
        let memory: &'static mut [u8] = Box::leak(self.memory.into_boxed_slice());
        NonNull::from(&mut memory[self.start])
    }
}

/// Buffers between uses. A burst of more concurrent readers than this gets
/// buffers of its own that are freed after.
static IDLE: Mutex<Vec<Window>> = Mutex::new(Vec::new());
const IDLE_KEPT: usize = 16;

fn idle() -> std::sync::MutexGuard<'static, Vec<Window>> {
    IDLE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` on an aligned buffer, `len` bytes of it, or gives None when
/// `len` is larger than a buffer.
fn with_window<T>(len: usize, f: impl FnOnce(&mut [u8]) -> T) -> Option<T> {
    if len > HUGE {
        return None;
    }
    let mut window = idle().pop().unwrap_or_else(Window::new);
    let out = f(window.slice(len));
    let mut idle = idle();
    if idle.len() < IDLE_KEPT {
        idle.push(window);
    }
    Some(out)
}

/// A slab slot holds one block of up to this many bytes: the default
/// chunker's leaf (256 KiB of data and its DAG-PB/UnixFS envelope), padded.
const SLOT: usize = 260 << 10;
const SLOTS_PER_PAGE: usize = HUGE / SLOT;
/// The slab grows a huge page at a time up to this many (80 MiB); past
/// that, blocks are copied out of a window as before. Enough for the
/// mount's node cache and its read-ahead together.
const SLAB_PAGES: usize = 40;

/// The start of a slot: memory leaked for the life of the process, used by
/// one owner at a time.
#[derive(Clone, Copy)]
struct SlotStart(NonNull<u8>);
// SAFETY: a slot is plain memory that lives forever; whoever holds its
// SlotStart (the slab's free list, or one SlabBlock) is its only user.
unsafe impl Send for SlotStart {}

struct Slab {
    free: Vec<SlotStart>,
    pages: usize,
}

static SLAB: Mutex<Slab> = Mutex::new(Slab {
    free: Vec::new(),
    pages: 0,
});

fn slab() -> std::sync::MutexGuard<'static, Slab> {
    SLAB.lock().unwrap_or_else(|p| p.into_inner())
}

fn take_slot() -> Option<SlotStart> {
    let mut slab = slab();
    if let Some(slot) = slab.free.pop() {
        return Some(slot);
    }
    if slab.pages >= SLAB_PAGES {
        return None;
    }
    slab.pages += 1;
    let page = Window::new().leak();
    // SAFETY: every offset is inside the page's HUGE bytes.
    let slots = (0..SLOTS_PER_PAGE).map(|i| SlotStart(unsafe { page.add(i * SLOT) }));
    slab.free.extend(slots.skip(1));
    Some(SlotStart(page))
}

/// A block in a slot; the slot goes back to the slab when this is dropped.
struct SlabBlock {
    slot: SlotStart,
    len: usize,
}

impl SlabBlock {
    fn whole_slot(&mut self) -> &mut [u8] {
        // SAFETY: the slot is SLOT bytes of initialized (zeroed, or earlier
        // block) memory, and this SlabBlock is its only user.
        unsafe { std::slice::from_raw_parts_mut(self.slot.0.as_ptr(), SLOT) }
    }
}

impl AsRef<[u8]> for SlabBlock {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: as in whole_slot; len <= SLOT, and no &mut exists once the
        // block is shared.
        unsafe { std::slice::from_raw_parts(self.slot.0.as_ptr(), self.len) }
    }
}

impl Drop for SlabBlock {
    fn drop(&mut self) {
        slab().free.push(self.slot);
    }
}

fn padded(len: usize) -> usize {
    len.div_ceil(ALIGN) * ALIGN
}

/// Whether every page of `file`'s first `len` bytes is in the page cache.
/// Unknown (no cachestat) counts as cached, so callers read normally.
fn fully_cached(file: &File, len: usize) -> bool {
    #[repr(C)]
    struct Range {
        off: u64,
        len: u64,
    }
    #[repr(C)]
    #[derive(Default)]
    struct Stat {
        cache: u64,
        dirty: u64,
        writeback: u64,
        evicted: u64,
        recently_evicted: u64,
    }
    let whole = Range { off: 0, len: 0 };
    let mut stat = Stat::default();
    // SAFETY: cachestat reads `whole` and writes `stat`, both ours and
    // laid out as the kernel's structs.
    let rc = unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            file.as_raw_fd(),
            &whole as *const Range,
            &mut stat as *mut Stat,
            0,
        )
    };
    rc != 0 || stat.cache * ALIGN as u64 >= len as u64
}

/// Whether a file of `len` bytes is worth reading directly.
fn wants_direct(file: &File, len: usize) -> bool {
    (MIN_DIRECT..=HUGE).contains(&len) && !fully_cached(file, len)
}

/// The whole of a block file: read directly when it is large and not in the
/// page cache already, else the ordinary way (also for what does not fit
/// the buffer, and on filesystems without O_DIRECT).
pub fn read_file(file: File) -> std::io::Result<Vec<u8>> {
    let len = file.metadata()?.len() as usize;
    read_file_of(file, len)
}

/// As `read_file`, the file's length `len` known already.
fn read_file_of(file: File, len: usize) -> std::io::Result<Vec<u8>> {
    if wants_direct(&file, len) {
        let direct = with_window(padded(len), |buffer| {
            read_direct(&file, buffer, len).map(|()| buffer[..len].to_vec())
        });
        match direct.unwrap_or_else(|| Err(einval())) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
            done => return done,
        }
    }
    // A block file does not change once written: reading no more than its
    // length saves the read that would only find the end (a syscall per
    // block read).
    let mut data = Vec::with_capacity(len);
    file.take(len as u64).read_to_end(&mut data)?;
    Ok(data)
}

/// As `read_file`, but a block read directly stays in the buffer it was
/// read into (a slab slot), which the returned `Bytes` shares.
pub fn read_file_shared(file: File) -> std::io::Result<Bytes> {
    let len = file.metadata()?.len() as usize;
    if padded(len) <= SLOT
        && wants_direct(&file, len)
        && let Some(slot) = take_slot()
    {
        let mut block = SlabBlock { slot, len: 0 };
        match read_direct(&file, &mut block.whole_slot()[..padded(len)], len) {
            Ok(()) => {
                block.len = len;
                return Ok(Bytes::from_owner(block));
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
            Err(e) => return Err(e),
        }
    }
    read_file_of(file, len).map(Bytes::from)
}

fn einval() -> std::io::Error {
    std::io::Error::from_raw_os_error(libc::EINVAL)
}

/// Reads the file's `len` bytes into `buffer` (aligned, `len` padded) with
/// O_DIRECT.
fn read_direct(file: &File, buffer: &mut [u8], len: usize) -> std::io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own for the duration of the call.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above; O_DIRECT is refused with EINVAL where unsupported.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_DIRECT) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut filled = 0;
    while filled < len {
        let rest = &mut buffer[filled..];
        // SAFETY: pread into `rest`, which is ours and `rest.len()` long;
        // `filled` stays a multiple of ALIGN until the short read at EOF.
        let n = unsafe {
            libc::pread(
                fd,
                rest.as_mut_ptr() as *mut libc::c_void,
                rest.len(),
                filled as libc::off_t,
            )
        };
        match n {
            n if n < 0 => {
                let err = std::io::Error::last_os_error();
                if err.kind() != std::io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
            0 => break,
            n => filled += n as usize,
        }
    }
    if filled != len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("block file changed size while read: {filled} of {len} bytes"),
        ));
    }
    Ok(())
}

/// Writes `data` as the whole of `file` (opened with O_DIRECT), padded to
/// the alignment and truncated back to its real length.
pub fn write_file(file: &mut File, data: &[u8]) -> std::io::Result<()> {
    let written = with_window(padded(data.len()), |buffer| {
        buffer[..data.len()].copy_from_slice(data);
        buffer[data.len()..].fill(0);
        file.write_all(buffer)
    });
    written.unwrap_or_else(|| Err(einval()))?;
    file.set_len(data.len() as u64)
}

/// The whole of the file at `path` when reading it now cannot wait on the
/// disk: its path resolved from the dentry cache alone (`openat2` with
/// `RESOLVE_CACHED`) and every byte read from the page cache
/// (`preadv2` with `RWF_NOWAIT`). None when it might have to wait, or the
/// kernel cannot tell: then the caller reads it where blocking is fine.
pub fn read_if_in_memory(path: &std::path::Path) -> std::io::Result<Option<Vec<u8>>> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::io::FromRawFd;
    let Ok(name) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return Ok(None);
    };
    /// The kernel's `struct open_how`.
    #[repr(C)]
    struct OpenHow {
        flags: u64,
        mode: u64,
        resolve: u64,
    }
    let how = OpenHow {
        flags: (libc::O_RDONLY | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: libc::RESOLVE_CACHED,
    };
    // SAFETY: openat2 reads the NUL-terminated `name` and `how`, both
    // alive for the call, `how`'s size given.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            name.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        let err = std::io::Error::last_os_error();
        return match err.raw_os_error() {
            Some(libc::ENOENT) => Err(err),
            // EAGAIN: not all in the dentry cache; ENOSYS, EINVAL, E2BIG:
            // a kernel without openat2 or RESOLVE_CACHED.
            _ => Ok(None),
        };
    }
    let Ok(fd) = i32::try_from(fd) else {
        return Ok(None);
    };
    // SAFETY: `fd` was just opened here and is owned by nothing else.
    let file = unsafe { File::from_raw_fd(fd) };
    let len = file.metadata()?.len() as usize;
    let mut data: Vec<u8> = Vec::with_capacity(len);
    let iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: len,
    };
    // SAFETY: the one iovec covers `data`'s `len` bytes of spare capacity.
    let got = unsafe { libc::preadv2(file.as_raw_fd(), &iov, 1, 0, libc::RWF_NOWAIT) };
    // A short read: the rest is not in the page cache (or the file is not
    // what its length said); EAGAIN: none of it is.
    if got < 0 || got as usize != len {
        return Ok(None);
    }
    // SAFETY: preadv2 wrote all `len` bytes.
    unsafe { data.set_len(len) };
    Ok(Some(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes() -> [usize; 6] {
        [0, 1, ALIGN, MIN_DIRECT - 1, 256 * 1024 + 14, HUGE]
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// Writes `data` to `path` directly where the filesystem allows; says
    /// whether it did.
    fn write_directly(path: &std::path::Path, data: &[u8]) -> bool {
        use std::os::unix::fs::OpenOptionsExt;
        let direct = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_DIRECT)
            .open(path);
        match direct {
            Ok(mut file) => {
                write_file(&mut file, data).unwrap();
                true
            }
            // A test directory on a filesystem without O_DIRECT.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                std::fs::write(path, data).unwrap();
                false
            }
            Err(e) => panic!("open {}: {e}", path.display()),
        }
    }

    /// Opens `path` with its pages dropped from the page cache (where the
    /// filesystem allows); says whether they are gone.
    fn open_uncached(path: &std::path::Path, len: usize) -> (File, bool) {
        let file = File::open(path).unwrap();
        // SAFETY: fadvise on our own descriptor.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        let dropped = len > 0 && !fully_cached(&file, len);
        (file, dropped)
    }

    #[test]
    fn what_is_written_directly_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        for len in sizes() {
            let path = dir.path().join(format!("b{len}"));
            let data = pattern(len);
            let has_direct_io = write_directly(&path, &data);
            assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, len);
            assert_eq!(std::fs::read(&path).unwrap(), data, "{len} via the cache");
            // Dropped from the cache (where the filesystem allows), then read
            // again: directly this time.
            let (file, dropped) = open_uncached(&path, len);
            let again = File::open(&path).unwrap();
            assert_eq!(read_file(file).unwrap(), data, "{len} read back");
            if has_direct_io && dropped && len >= MIN_DIRECT {
                assert!(
                    !fully_cached(&again, len),
                    "{len}: a direct read leaves the page cache alone"
                );
            }
            let (file, _) = open_uncached(&path, len);
            assert_eq!(read_file_shared(file).unwrap(), data, "{len} read shared");
        }
    }

    #[test]
    fn a_shared_read_keeps_its_slab_slot_until_the_last_user_drops_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leaf");
        let data = pattern(256 * 1024 + 14);
        let has_direct_io = write_directly(&path, &data);
        let (file, dropped) = open_uncached(&path, data.len());
        let block = read_file_shared(file).unwrap();
        assert_eq!(block, data);
        if !(has_direct_io && dropped) {
            eprintln!("no O_DIRECT or fadvise here: the slab is not used");
            return;
        }
        let start = block.as_ptr();
        assert_eq!(
            (start as usize % HUGE) % SLOT,
            0,
            "the block sits at the start of a slot"
        );
        let in_slab = |start: *const u8| {
            slab()
                .free
                .iter()
                .any(|s| std::ptr::eq(s.0.as_ptr(), start))
        };
        let part = block.slice(100..200);
        drop(block);
        assert!(!in_slab(start), "a slice still uses the slot");
        assert_eq!(part, data[100..200]);
        drop(part);
        assert!(in_slab(start), "the slot is free again");
    }

    #[test]
    fn a_block_larger_than_a_slot_is_read_shared_by_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big-leaf");
        let data = pattern(SLOT + ALIGN);
        write_directly(&path, &data);
        let (file, _) = open_uncached(&path, data.len());
        assert_eq!(read_file_shared(file).unwrap(), data);
    }

    #[test]
    fn larger_than_the_buffer_is_read_the_ordinary_way() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let data = pattern(HUGE + ALIGN + 3);
        std::fs::write(&path, &data).unwrap();
        assert_eq!(read_file(File::open(&path).unwrap()).unwrap(), data);
        let mut file = File::create(dir.path().join("big-direct")).unwrap();
        let err = write_file(&mut file, &data).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
    }
}
