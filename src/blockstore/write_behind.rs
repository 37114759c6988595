//! A blockstore wrapper that stores blocks on a background thread, so that
//! `add` hashes the next chunks while the previous ones are written. The
//! queue is bounded (memory stays bounded); `sync` waits for it to drain and
//! reports the first write error.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::{Blockstore, BlockstoreError, Result};
use crate::codec::cid::Cid;

enum Job {
    Put(Cid, Vec<u8>),
    Barrier(SyncSender<()>),
}

pub struct WriteBehind {
    inner: Arc<dyn Blockstore>,
    queue: Mutex<Option<SyncSender<Job>>>,
    failure: Arc<Mutex<Option<BlockstoreError>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl WriteBehind {
    /// Queues at most `depth` blocks ahead of the writer.
    pub fn new(inner: Arc<dyn Blockstore>, depth: usize) -> Self {
        let (tx, rx) = sync_channel(depth.max(1));
        let failure = Arc::new(Mutex::new(None));
        let worker = {
            let inner = Arc::clone(&inner);
            let failure = Arc::clone(&failure);
            std::thread::Builder::new()
                .name("block-writer".into())
                .spawn(move || write_loop(inner.as_ref(), rx, &failure))
                .expect("spawn the block writer")
        };
        WriteBehind {
            inner,
            queue: Mutex::new(Some(tx)),
            failure,
            worker: Mutex::new(Some(worker)),
        }
    }

    fn check(&self) -> Result<()> {
        match self
            .failure
            .lock()
            .map(|f| f.as_ref().map(BlockstoreError::duplicate))
        {
            Ok(Some(failure)) => Err(failure),
            _ => Ok(()),
        }
    }

    fn send(&self, job: Job) -> Result<()> {
        let queue = self
            .queue
            .lock()
            .map_err(|_| BlockstoreError::Other("writer queue poisoned".into()))?;
        let tx = queue
            .as_ref()
            .ok_or_else(|| BlockstoreError::Other("the block writer has stopped".into()))?;
        tx.send(job)
            .map_err(|_| BlockstoreError::Other("the block writer has stopped".into()))
    }

    /// Waits for every queued block and reports the first write error.
    pub fn finish(&self) -> Result<()> {
        self.drain()
    }

    /// Waits until every queued block has been handed to the inner store.
    fn drain(&self) -> Result<()> {
        let (done_tx, done_rx) = sync_channel(1);
        self.send(Job::Barrier(done_tx))?;
        done_rx
            .recv()
            .map_err(|_| BlockstoreError::Other("the block writer has stopped".into()))?;
        self.check()
    }
}

fn write_loop(inner: &dyn Blockstore, rx: Receiver<Job>, failure: &Mutex<Option<BlockstoreError>>) {
    for job in rx {
        match job {
            Job::Put(cid, data) => {
                if let Err(err) = inner.put(&cid, &data)
                    && let Ok(mut slot) = failure.lock()
                {
                    slot.get_or_insert(err);
                }
            }
            Job::Barrier(done) => {
                let _ = done.send(());
            }
        }
    }
}

impl Blockstore for WriteBehind {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        self.drain()?;
        self.inner.get(cid)
    }

    fn get_shared(&self, cid: &Cid) -> Result<Option<bytes::Bytes>> {
        self.drain()?;
        self.inner.get_shared(cid)
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        self.drain()?;
        self.inner.has(cid)
    }

    fn put(&self, cid: &Cid, data: &[u8]) -> Result<()> {
        self.check()?;
        self.send(Job::Put(*cid, data.to_vec()))
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
        if let Ok(mut worker) = self.worker.lock()
            && let Some(handle) = worker.take()
        {
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
}
