//! The behaviour every `Blockstore` must show; each implementation's tests
//! call `run` on a fresh, empty store.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{Blockstore, MemoryBlockstore, Result};
use crate::codec::cid::{Cid, CidBuilder, DAG_PB, RAW, to_v1};

/// A memory store that counts the reads and writes reaching it, and can
/// make each read slow: for tests of what a layer above asks of its store.
#[derive(Default)]
pub struct Counted {
    inner: MemoryBlockstore,
    gets: AtomicUsize,
    puts: AtomicUsize,
    get_delay: Duration,
    /// Each `prefetch` hint, and the reads so far when it came.
    hints: Mutex<Vec<(Vec<Cid>, usize)>>,
}

impl Counted {
    pub fn with_slow_reads(delay: Duration) -> Self {
        Counted {
            get_delay: delay,
            ..Counted::default()
        }
    }

    pub fn gets(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }

    pub fn puts(&self) -> usize {
        self.puts.load(Ordering::SeqCst)
    }

    pub fn hints(&self) -> Vec<(Vec<Cid>, usize)> {
        self.hints.lock().map(|h| h.clone()).unwrap_or_default()
    }

    pub fn reset_hints(&self) {
        if let Ok(mut hints) = self.hints.lock() {
            hints.clear();
        }
    }

    pub fn reset(&self) {
        self.gets.store(0, Ordering::SeqCst);
        self.puts.store(0, Ordering::SeqCst);
    }
}

impl Blockstore for Counted {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.get_delay);
        self.inner.get(cid)
    }
    fn has(&self, cid: &Cid) -> Result<bool> {
        self.inner.has(cid)
    }
    fn put(&self, cid: &Cid, data: &[u8]) -> Result<()> {
        self.puts.fetch_add(1, Ordering::SeqCst);
        self.inner.put(cid, data)
    }
    fn delete(&self, cid: &Cid) -> Result<bool> {
        self.inner.delete(cid)
    }
    fn sync(&self) -> Result<()> {
        Ok(())
    }
    fn all_keys(&self) -> Result<Vec<Cid>> {
        self.inner.all_keys()
    }
    fn prefetch(&self, cids: &[Cid]) {
        if let Ok(mut hints) = self.hints.lock() {
            hints.push((cids.to_vec(), self.gets()));
        }
    }
}

pub fn run(store: &dyn Blockstore) {
    let data = b"some block bytes".to_vec();
    let v0 = CidBuilder::default().cid_of(DAG_PB, &data);
    let v1 = to_v1(&v0);
    assert!(!store.has(&v0).unwrap());
    assert_eq!(store.get(&v0).unwrap(), None);

    store.put(&v0, &data).unwrap();
    store.put(&v0, &data).unwrap();
    assert!(store.has(&v0).unwrap());
    assert_eq!(
        store.get(&v1).unwrap().as_deref(),
        Some(&data[..]),
        "v0 and v1 share a block"
    );

    let raw = CidBuilder::v1().cid_of(RAW, b"");
    store.put(&raw, b"").unwrap();
    assert_eq!(
        store.get(&raw).unwrap().as_deref(),
        Some(&b""[..]),
        "empty block"
    );

    let inline = CidBuilder {
        inline_limit: Some(32),
        ..CidBuilder::v1()
    }
    .cid_of(RAW, b"tiny");
    assert_eq!(store.get(&inline).unwrap().as_deref(), Some(&b"tiny"[..]));
    assert!(store.has(&inline).unwrap());

    store.sync().unwrap();
    let mut keys: Vec<_> = store
        .all_keys()
        .unwrap()
        .into_iter()
        .map(|c| *c.hash())
        .collect();
    keys.sort_by_key(|k| k.to_bytes());
    let mut expected = vec![*v0.hash(), *raw.hash()];
    expected.sort_by_key(|k| k.to_bytes());
    assert_eq!(keys, expected);

    assert!(store.delete(&v1).unwrap());
    assert!(!store.delete(&v1).unwrap());
    assert!(!store.has(&v0).unwrap());
}
