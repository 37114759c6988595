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
