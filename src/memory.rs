//! Handing freed memory back to the system. glibc's malloc keeps what is
//! freed in per-thread arenas, where other threads do not reuse it; after a
//! burst (a connection flood, a large tree forgotten) it is returned here.

/// Returns the free pages of every malloc arena to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn release_freed_memory() {
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_freed_memory() {}

/// Keeps buffers up to a few MiB in malloc's heap, and freed memory there
/// up to `kept` bytes, rather than mapping and unmapping each one: `add`
/// passes every 256 KiB leaf from reader to hasher to writer thread, and
/// glibc's defaults unmap and fault them in again (100k page faults, a
/// tenth of the CPU, for 1 GiB).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn keep_block_buffers(kept: usize) {
    const MMAP_ABOVE: libc::c_int = 4 << 20;
    let kept = libc::c_int::try_from(kept).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only sets the allocator's thresholds.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_ABOVE);
        libc::mallopt(libc::M_TRIM_THRESHOLD, kept);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_block_buffers(_kept: usize) {}
