//! A blockstore wrapper that stores blocks on background threads, so that
//! `add` hashes the next chunks while the previous ones are written, and
//! several writes are at the device at once (one writer waits on each
//! O_DIRECT write and each file creation in turn). The queue is bounded
//! (memory stays bounded); `sync` waits for it to drain and reports the
//! first write error.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender, bounded};

use super::{Blockstore, BlockstoreError, Result};
use crate::codec::cid::Cid;

/// Writers by default: enough to keep a virtual disk's queue busy while
/// each waits on its own write.
pub const DEFAULT_WRITERS: usize = 4;

struct Job {
    cid: Cid,
    data: Bytes,
}

/// Blocks queued or being written, and the first write error.
#[derive(Default)]
struct Progress {
    pending: usize,
    failure: Option<BlockstoreError>,
}

#[derive(Default)]
struct Shared {
    progress: Mutex<Progress>,
    drained: Condvar,
}

impl Shared {
    fn progress(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct WriteBehind {
    inner: Arc<dyn Blockstore>,
    queue: Mutex<Option<Sender<Job>>>,
    shared: Arc<Shared>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl WriteBehind {
    /// Queues at most `depth` blocks ahead of [`DEFAULT_WRITERS`] writers.
    pub fn new(inner: Arc<dyn Blockstore>, depth: usize) -> Self {
        Self::with_writers(inner, depth, DEFAULT_WRITERS)
    }

    /// Queues at most `depth` blocks ahead of `writers` writer threads.
    pub fn with_writers(inner: Arc<dyn Blockstore>, depth: usize, writers: usize) -> Self {
        let (tx, rx) = bounded(depth.max(1));
        let shared = Arc::new(Shared::default());
        let workers = (0..writers.max(1))
            .map(|i| {
                let inner = Arc::clone(&inner);
                let shared = Arc::clone(&shared);
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("block-writer-{i}"))
                    .spawn(move || write_loop(inner.as_ref(), rx, &shared))
                    .expect("spawn a block writer")
            })
            .collect();
        WriteBehind {
            inner,
            queue: Mutex::new(Some(tx)),
            shared,
            workers: Mutex::new(workers),
        }
    }

    fn check(&self) -> Result<()> {
        match &self.shared.progress().failure {
            Some(failure) => Err(failure.duplicate()),
            None => Ok(()),
        }
    }

    fn send(&self, job: Job) -> Result<()> {
        let stopped = || BlockstoreError::Other("the block writers have stopped".into());
        let tx = self
            .queue
            .lock()
            .map_err(|_| BlockstoreError::Other("writer queue poisoned".into()))?
            .clone()
            .ok_or_else(stopped)?;
        self.shared.progress().pending += 1;
        // Sent outside the lock: a full queue blocks this sender alone.
        tx.send(job).map_err(|_| {
            self.shared.progress().pending -= 1;
            stopped()
        })
    }

    /// Waits for every queued block and reports the first write error.
    pub fn finish(&self) -> Result<()> {
        self.drain()
    }

    /// Waits until every queued block has been handed to the inner store.
    fn drain(&self) -> Result<()> {
        let mut progress = self.shared.progress();
        while progress.pending > 0 {
            progress = self
                .shared
                .drained
                .wait(progress)
                .unwrap_or_else(|p| p.into_inner());
        }
        match &progress.failure {
            Some(failure) => Err(failure.duplicate()),
            None => Ok(()),
        }
    }
}

fn write_loop(inner: &dyn Blockstore, rx: Receiver<Job>, shared: &Shared) {
    for job in rx {
        let stored = inner.put_shared(&job.cid, job.data);
        let mut progress = shared.progress();
        if let Err(err) = stored {
            progress.failure.get_or_insert(err);
        }
        progress.pending -= 1;
        if progress.pending == 0 {
            shared.drained.notify_all();
        }
    }
}

impl Blockstore for WriteBehind {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        self.drain()?;
        self.inner.get(cid)
    }

    fn get_shared(&self, cid: &Cid) -> Result<Option<Bytes>> {
        self.drain()?;
        self.inner.get_shared(cid)
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        self.drain()?;
        self.inner.has(cid)
    }

    fn put(&self, cid: &Cid, data: &[u8]) -> Result<()> {
        self.put_shared(cid, Bytes::copy_from_slice(data))
    }

    fn put_shared(&self, cid: &Cid, data: Bytes) -> Result<()> {
        self.check()?;
        self.send(Job { cid: *cid, data })
    }

    fn delete(&self, cid: &Cid) -> Result<bool> {
        self.drain()?;
        self.inner.delete(cid)
    }

    fn sync(&self) -> Result<()> {
        self.drain()?;
        self.inner.sync()
    }

    fn all_keys(&self) -> Result<Vec<Cid>> {
        self.drain()?;
        self.inner.all_keys()
    }
}

impl Drop for WriteBehind {
    fn drop(&mut self) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.take();
        }
        let workers = match self.workers.lock() {
            Ok(mut workers) => std::mem::take(&mut *workers),
            Err(_) => return,
        };
        for handle in workers {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockstore::MemoryBlockstore;

    #[test]
    fn passes_the_shared_suite() {
        super::super::suite::run(&WriteBehind::new(Arc::new(MemoryBlockstore::new()), 4));
    }

    struct Failing;
    impl Blockstore for Failing {
        fn get(&self, _: &Cid) -> Result<Option<Vec<u8>>> {
            Ok(None)
        }
        fn has(&self, _: &Cid) -> Result<bool> {
            Ok(false)
        }
        fn put(&self, _: &Cid, _: &[u8]) -> Result<()> {
            Err(BlockstoreError::Io {
                path: "blocks".into(),
                source: std::io::Error::from_raw_os_error(libc::ENOSPC),
            })
        }
        fn delete(&self, _: &Cid) -> Result<bool> {
            Ok(false)
        }
        fn sync(&self) -> Result<()> {
            Ok(())
        }
        fn all_keys(&self) -> Result<Vec<Cid>> {
            Ok(vec![])
        }
    }

    #[test]
    fn write_errors_surface_at_sync() {
        let store = WriteBehind::new(Arc::new(Failing), 2);
        let cid = crate::codec::cid::CidBuilder::v1().cid_of(crate::codec::cid::RAW, b"x");
        let _ = store.put(&cid, b"x");
        let err = store.sync().unwrap_err();
        let fs_err = crate::fs::FsError::from_error(store.sync().unwrap_err());
        assert_eq!(fs_err, crate::fs::FsError::NoSpace, "{err}");
    }

    /// Puts that wait (up to a deadline) until `want` of them are running
    /// at once, and note the most seen together.
    struct Overlapping {
        inner: MemoryBlockstore,
        want: usize,
        running: Mutex<(usize, usize)>,
        changed: Condvar,
    }

    impl Blockstore for Overlapping {
        fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
            self.inner.get(cid)
        }
        fn has(&self, cid: &Cid) -> Result<bool> {
            self.inner.has(cid)
        }
        fn put(&self, cid: &Cid, data: &[u8]) -> Result<()> {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            let mut running = self.running.lock().unwrap();
            running.0 += 1;
            running.1 = running.1.max(running.0);
            self.changed.notify_all();
            while running.1 < self.want {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                running = self.changed.wait_timeout(running, left).unwrap().0;
            }
            running.0 -= 1;
            drop(running);
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
    }

    #[test]
    fn writers_store_blocks_side_by_side_and_sync_waits_for_all() {
        let inner = Arc::new(Overlapping {
            inner: MemoryBlockstore::new(),
            want: 3,
            running: Mutex::new((0, 0)),
            changed: Condvar::new(),
        });
        let store = WriteBehind::with_writers(inner.clone(), 8, 3);
        let builder = crate::codec::cid::CidBuilder::v1();
        let cids: Vec<Cid> = (0..32u32)
            .map(|i| {
                let data = i.to_be_bytes();
                let cid = builder.cid_of(crate::codec::cid::RAW, &data);
                store
                    .put_shared(&cid, Bytes::copy_from_slice(&data))
                    .unwrap();
                cid
            })
            .collect();
        store.sync().unwrap();
        assert_eq!(inner.running.lock().unwrap().1, 3, "three puts at once");
        for cid in &cids {
            assert!(inner.inner.has(cid).unwrap(), "stored before sync answered");
        }
    }
}
