//! The datastore's memory stays bounded while summaries pour in: every MFS
//! flush records its directories' attributes in a non-durable commit, and a
//! mount running for hours makes millions of them. Counted here with an
//! allocator of its own, so this test has a binary to itself.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use rsipfs::codec::cid::{CidBuilder, DAG_PB};
use rsipfs::fs::summaries::SummaryStore;
use rsipfs::repo::{InitOptions, Repo};
use rsipfs::unixfs::dir::DirEntry;

/// The bytes allocated and not freed yet.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to the system allocator unchanged; only the
// count of live bytes is kept beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            LIVE.fetch_add(new_size, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const MIB: usize = 1 << 20;

#[test]
fn summaries_written_without_a_durable_commit_do_not_pile_up_in_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = Repo::init(&dir.path().join("repo"), &InitOptions::default()).expect("init");
    let cids = CidBuilder::default();
    // 400 entries of about 60 bytes: a 24 KiB record, as a directory of 400
    // files records its listing (or its attributes) at each flush.
    let entries: Vec<DirEntry> = (0..400)
        .map(|i| DirEntry {
            name: format!("file-{i:05}-with-a-longish-name"),
            cid: cids.cid_of(DAG_PB, format!("entry {i}").as_bytes()),
            size: 262_144 + i,
        })
        .collect();
    repo.save_listing(&cids.cid_of(DAG_PB, b"warm-up"), &entries);
    let before = LIVE.load(Ordering::Relaxed);
    let mut peak = 0;
    // 2 000 records, about 48 MiB written in all.
    for version in 0..2000u32 {
        let dir_cid = cids.cid_of(DAG_PB, &version.to_le_bytes());
        repo.save_listing(&dir_cid, &entries);
        peak = peak.max(LIVE.load(Ordering::Relaxed).saturating_sub(before));
    }
    assert!(
        repo.load_listing(&cids.cid_of(DAG_PB, &1999u32.to_le_bytes()))
            .is_some_and(|read| read == entries),
        "the last record reads back"
    );
    assert!(
        peak < 24 * MIB,
        "the datastore held {} MiB more after 48 MiB of summaries (bound: 24 MiB)",
        peak / MIB
    );
}
