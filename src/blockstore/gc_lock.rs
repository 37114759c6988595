//! The lock that keeps garbage collection from racing writers (Kubo's
//! GCLocker). Whoever writes blocks that nothing roots yet (an import, a
//! block or DAG put, a pin, an MFS write) holds a shared [`PinGuard`] from
//! its first block until the result is rooted (pinned, or linked into the
//! persisted MFS root, or recorded where a roots provider reports it).
//! Collection takes the [`GcGuard`] exclusively: it waits for the writers,
//! and new writers wait for it.
//!
//! A guard is never taken by a thread that already holds one: a collector
//! waiting would block the second one forever. A holder that needs another
//! guard clones its own instead.
//!
//! Work that outlives the operation that started it (an MFS file imported
//! in the background while it is being written) holds no guard between
//! its writes: a collection waiting for it would block the next write,
//! which that work waits for. It writes through an [`InFlightStore`]
//! instead: each put pauses only while a collection runs, and what it put
//! is reported as roots until its result is linked.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use bytes::Bytes;

use super::{Blockstore, Result};
use crate::codec::cid::Cid;

/// Reports roots that live only in a process's memory (an MFS tree's open
/// and unflushed files); asked under the exclusive guard.
pub type RootsProvider = Box<dyn Fn() -> Vec<Cid> + Send + Sync>;

/// Told which blocks (by multihash bytes) were just rooted: an owner that
/// deletes blocks it wrote once it stops using them (a running MFS tree)
/// must leave these alone from then on.
pub type RootedListener = Box<dyn Fn(&HashSet<Vec<u8>>) + Send + Sync>;

#[derive(Default)]
pub struct GcLock {
    state: Mutex<State>,
    changed: Condvar,
    providers: Mutex<Vec<RootsProvider>>,
    listeners: Mutex<Vec<RootedListener>>,
}

#[derive(Default)]
struct State {
    holders: usize,
    collecting: bool,
    collectors_waiting: usize,
}

/// Shared: blocks written meanwhile are not collected.
pub struct PinGuard {
    lock: Arc<GcLock>,
}

/// Exclusive: no writer holds a [`PinGuard`] meanwhile.
pub struct GcGuard {
    lock: Arc<GcLock>,
}

impl GcLock {
    pub fn new() -> Arc<Self> {
        Arc::new(GcLock::default())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits while a collection runs or waits to run.
    pub fn pin_guard(self: &Arc<Self>) -> PinGuard {
        let mut state = self.state();
        while state.collecting || state.collectors_waiting > 0 {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.holders += 1;
        PinGuard {
            lock: Arc::clone(self),
        }
    }

    /// A guard for one write of background work: waits only while a
    /// collection runs or is about to take the lock, never for a waiting
    /// one (the operation it waits for may be waiting for this write).
    fn background_guard(self: &Arc<Self>) -> PinGuard {
        let mut state = self.state();
        while state.collecting || (state.collectors_waiting > 0 && state.holders == 0) {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.holders += 1;
        PinGuard {
            lock: Arc::clone(self),
        }
    }

    /// Waits until no writer holds a guard, then keeps new ones out.
    pub fn gc_guard(self: &Arc<Self>) -> GcGuard {
        let mut state = self.state();
        state.collectors_waiting += 1;
        while state.collecting || state.holders > 0 {
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.collectors_waiting -= 1;
        state.collecting = true;
        GcGuard {
            lock: Arc::clone(self),
        }
    }

    /// Adds a source of in-memory roots for every later collection.
    pub fn add_roots_provider(&self, provider: RootsProvider) {
        self.providers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(provider);
    }

    pub fn add_rooted_listener(&self, listener: RootedListener) {
        self.listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(listener);
    }

    /// Announces blocks a pin now holds (with its writer's guard held, so
    /// that no sweep runs in between).
    pub fn rooted(&self, _writing: &PinGuard, blocks: &HashSet<Vec<u8>>) {
        if blocks.is_empty() {
            return;
        }
        let listeners = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        for listener in listeners.iter() {
            listener(blocks);
        }
    }

    /// What the providers report; only a collector may ask, so that no
    /// writer changes the answer before the collection ends.
    pub fn extra_roots(&self, _collecting: &GcGuard) -> Vec<Cid> {
        let providers = self.providers.lock().unwrap_or_else(|p| p.into_inner());
        providers.iter().flat_map(|provider| provider()).collect()
    }

    #[cfg(test)]
    fn holders(&self) -> usize {
        self.state().holders
    }

    /// Whether a collection waits for writers to finish.
    #[cfg(test)]
    pub(crate) fn collector_waiting(&self) -> bool {
        self.state().collectors_waiting > 0
    }
}

impl PinGuard {
    /// The exclusive guard, if this is the only guard held (no other
    /// writer is at work); never waits.
    pub fn try_exclusive(&self) -> Option<GcGuard> {
        let mut state = self.lock.state();
        if state.holders != 1 || state.collecting {
            return None;
        }
        state.collecting = true;
        Some(GcGuard {
            lock: Arc::clone(&self.lock),
        })
    }
}

impl Clone for PinGuard {
    /// Never waits: while this guard is held no collection can start.
    fn clone(&self) -> Self {
        self.lock.state().holders += 1;
        PinGuard {
            lock: Arc::clone(&self.lock),
        }
    }
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        let mut state = self.lock.state();
        state.holders -= 1;
        // Only a collector waits for the last holder to go.
        if state.holders == 0 && state.collectors_waiting > 0 {
            self.lock.changed.notify_all();
        }
    }
}

impl Drop for GcGuard {
    fn drop(&mut self) {
        self.lock.state().collecting = false;
        self.lock.changed.notify_all();
    }
}

/// The store of background work (see the module notes): every put waits
/// while a collection runs, and the blocks put are kept for [`written`]
/// (the roots a collection must keep until the work's result is linked).
///
/// [`written`]: InFlightStore::written
pub struct InFlightStore {
    inner: Arc<dyn Blockstore>,
    lock: Arc<GcLock>,
    written: Mutex<Vec<Cid>>,
}

impl InFlightStore {
    pub fn new(inner: Arc<dyn Blockstore>, lock: Arc<GcLock>) -> Self {
        InFlightStore {
            inner,
            lock,
            written: Mutex::new(Vec::new()),
        }
    }

    fn note(&self, cid: &Cid) {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(*cid);
    }

    pub fn written(&self) -> Vec<Cid> {
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Blockstore for InFlightStore {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        self.inner.get(cid)
    }
    fn get_shared(&self, cid: &Cid) -> Result<Option<Bytes>> {
        self.inner.get_shared(cid)
    }
    fn has(&self, cid: &Cid) -> Result<bool> {
        self.inner.has(cid)
    }
    fn put(&self, cid: &Cid, data: &[u8]) -> Result<()> {
        let _writing = self.lock.background_guard();
        self.inner.put(cid, data)?;
        self.note(cid);
        Ok(())
    }
    fn put_shared(&self, cid: &Cid, data: Bytes) -> Result<()> {
        let _writing = self.lock.background_guard();
        self.inner.put_shared(cid, data)?;
        self.note(cid);
        Ok(())
    }
    fn delete(&self, cid: &Cid) -> Result<bool> {
        self.inner.delete(cid)
    }
    fn sync(&self) -> Result<()> {
        self.inner.sync()
    }
    fn all_keys(&self) -> Result<Vec<Cid>> {
        self.inner.all_keys()
    }
}

/// A store that notes every block put through it (by multihash bytes),
/// present before or not: what a writer announces as rooted.
pub struct RecordingStore {
    inner: Arc<dyn Blockstore>,
    put: Mutex<HashSet<Vec<u8>>>,
}

impl RecordingStore {
    pub fn new(inner: Arc<dyn Blockstore>) -> Self {
        RecordingStore {
            inner,
            put: Mutex::new(HashSet::new()),
        }
    }

    fn note(&self, cid: &Cid) {
        self.put
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cid.hash().to_bytes());
    }

    pub fn take_put(&self) -> HashSet<Vec<u8>> {
        std::mem::take(&mut *self.put.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Blockstore for RecordingStore {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        self.inner.get(cid)
    }
    fn get_shared(&self, cid: &Cid) -> Result<Option<Bytes>> {
        self.inner.get_shared(cid)
    }
    fn has(&self, cid: &Cid) -> Result<bool> {
        self.inner.has(cid)
    }
    fn put(&self, cid: &Cid, data: &[u8]) -> Result<()> {
        self.inner.put(cid, data)?;
        self.note(cid);
        Ok(())
    }
    fn put_shared(&self, cid: &Cid, data: Bytes) -> Result<()> {
        self.inner.put_shared(cid, data)?;
        self.note(cid);
        Ok(())
    }
    fn delete(&self, cid: &Cid) -> Result<bool> {
        self.inner.delete(cid)
    }
    fn sync(&self) -> Result<()> {
        self.inner.sync()
    }
    fn all_keys(&self) -> Result<Vec<Cid>> {
        self.inner.all_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn collection_waits_for_pin_guards_and_writers_wait_for_it() {
        let lock = GcLock::new();
        let writer = lock.pin_guard();
        let collected = Arc::new(AtomicBool::new(false));
        let (started, waiting) = mpsc::channel();
        let collector = {
            let (lock, collected) = (Arc::clone(&lock), Arc::clone(&collected));
            std::thread::spawn(move || {
                started.send(()).unwrap();
                let _gc = lock.gc_guard();
                collected.store(true, Ordering::SeqCst);
            })
        };
        waiting.recv().unwrap();
        // Wait until the collector is queued, then check it stays queued.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !lock.collector_waiting() {
            assert!(
                std::time::Instant::now() < deadline,
                "collector never queued"
            );
            std::thread::yield_now();
        }
        assert!(
            !collected.load(Ordering::SeqCst),
            "gc ran under a pin guard"
        );
        let copy = writer.clone();
        drop(writer);
        assert!(!collected.load(Ordering::SeqCst), "a clone still protects");
        drop(copy);
        collector.join().unwrap();
        assert!(collected.load(Ordering::SeqCst));
        assert_eq!(lock.holders(), 0);
    }

    #[test]
    fn a_new_writer_waits_for_a_running_collection() {
        let lock = GcLock::new();
        let gc = lock.gc_guard();
        let (tx, rx) = mpsc::channel();
        let writer = {
            let lock = Arc::clone(&lock);
            std::thread::spawn(move || {
                let _guard = lock.pin_guard();
                tx.send(()).unwrap();
            })
        };
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(gc);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        writer.join().unwrap();
    }

    #[test]
    fn background_writes_pause_for_a_running_collection_only() {
        let lock = GcLock::new();
        let operation = lock.pin_guard();
        let collector = {
            let lock = Arc::clone(&lock);
            std::thread::spawn(move || drop(lock.gc_guard()))
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !lock.collector_waiting() {
            assert!(
                std::time::Instant::now() < deadline,
                "collector never queued"
            );
            std::thread::yield_now();
        }
        // The operation may be waiting for this write: it must not wait.
        drop(lock.background_guard());
        drop(operation);
        collector.join().unwrap();
        let gc = lock.gc_guard();
        let (tx, rx) = mpsc::channel();
        let background = {
            let lock = Arc::clone(&lock);
            std::thread::spawn(move || {
                let _write = lock.background_guard();
                tx.send(()).unwrap();
            })
        };
        assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
        drop(gc);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        background.join().unwrap();
    }

    #[test]
    fn exclusive_only_for_a_lone_holder() {
        let lock = GcLock::new();
        let one = lock.pin_guard();
        let two = one.clone();
        assert!(one.try_exclusive().is_none());
        drop(two);
        let exclusive = one.try_exclusive().expect("alone");
        assert!(one.try_exclusive().is_none(), "already exclusive");
        drop(exclusive);
        drop(one);
        drop(lock.gc_guard());
    }

    #[test]
    fn providers_report_under_the_exclusive_guard() {
        let lock = GcLock::new();
        let cid =
            crate::codec::cid::parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        lock.add_roots_provider(Box::new(move || vec![cid]));
        let gc = lock.gc_guard();
        assert_eq!(lock.extra_roots(&gc), vec![cid]);
    }
}
