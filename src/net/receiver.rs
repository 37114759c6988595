//! Received blocks are hashed and stored on threads of their own, so the
//! swarm task, which reads every connection, never waits on a hash or a
//! disk write. Each block is checked against the CID its prefix names (one
//! that is not what we asked for is dropped) and, when wanted, stored
//! before the swarm task hears of it: a block handed to a reader is always
//! on disk too.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;
use crossbeam_channel::{Sender, unbounded};
use libp2p::PeerId;

use super::message::{self, MAX_BLOCK};
use crate::blockstore::Blockstore;
use crate::codec::cid::{Cid, CidBuilder, DAG_PB, cid_string};

/// Threads hashing and storing: hashing takes a core, each write waits on
/// the disk, so a few overlap both.
const WORKERS: usize = 3;

/// The blocks the node wants, as the receiving threads see them: a block
/// not in it is not stored.
#[derive(Clone, Default)]
pub struct WantedSet(Arc<Mutex<HashSet<Cid>>>);

impl WantedSet {
    pub fn insert(&self, cid: Cid) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(cid);
    }

    pub fn remove(&self, cid: &Cid) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(cid);
    }

    fn contains(&self, cid: &Cid) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(cid)
    }
}

/// A block as it came: with its CID prefix (bitswap 1.1+), or none
/// (1.0.0: a CIDv0 dag-pb block).
pub struct Incoming {
    pub prefix: Option<Vec<u8>>,
    pub data: Bytes,
}

/// A block that hashed to `cid`.
pub struct Checked {
    pub cid: Cid,
    pub data: Bytes,
    /// It was wanted when checked, and is stored.
    pub stored: bool,
    /// It was not wanted and we had it already.
    pub duplicate: bool,
}

struct Job {
    from: PeerId,
    blocks: Vec<Incoming>,
}

pub struct Receiver {
    jobs: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl Receiver {
    /// `done` gets each message's checked blocks (those that hashed to a
    /// CID we can compute), in the order the message had them.
    pub fn start(
        store: Arc<dyn Blockstore>,
        wanted: WantedSet,
        done: impl Fn(PeerId, Vec<Checked>) + Clone + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = unbounded::<Job>();
        let mut receiver = Receiver {
            jobs: Some(tx),
            workers: Vec::new(),
        };
        for i in 0..WORKERS {
            let (rx, store, wanted, done) =
                (rx.clone(), Arc::clone(&store), wanted.clone(), done.clone());
            receiver.workers.push(
                std::thread::Builder::new()
                    .name(format!("bitswap-recv-{i}"))
                    .spawn(move || {
                        for job in rx {
                            let checked = check(store.as_ref(), &wanted, job.blocks);
                            done(job.from, checked);
                        }
                    })?,
            );
        }
        Ok(receiver)
    }

    /// Queues one message's blocks.
    pub fn submit(&self, from: PeerId, blocks: Vec<Incoming>) {
        if let Some(jobs) = &self.jobs {
            // The threads end only when `jobs` is dropped.
            let _ = jobs.send(Job { from, blocks });
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.jobs.take();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

/// Hashes each block and stores the wanted ones.
fn check(store: &dyn Blockstore, wanted: &WantedSet, blocks: Vec<Incoming>) -> Vec<Checked> {
    let v0 = CidBuilder::default();
    blocks
        .into_iter()
        .filter(|b| b.data.len() <= MAX_BLOCK)
        .filter_map(|b| {
            let cid = match &b.prefix {
                Some(prefix) => message::cid_for(prefix, &b.data)?,
                None => v0.cid_of(DAG_PB, &b.data),
            };
            let stored = wanted.contains(&cid);
            if stored && let Err(err) = store.put_shared(&cid, b.data.clone()) {
                tracing::error!("storing {}: {err}", cid_string(&cid));
            }
            let duplicate = !stored && store.has(&cid).unwrap_or(false);
            Some(Checked {
                cid,
                data: b.data,
                stored,
                duplicate,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockstore::MemoryBlockstore;
    use crate::codec::cid::RAW;
    use std::sync::mpsc;

    #[test]
    fn only_wanted_blocks_that_hash_to_their_cid_are_stored() {
        let store = Arc::new(MemoryBlockstore::new());
        let wanted = WantedSet::default();
        let good = Bytes::from_static(b"wanted block");
        let cid = CidBuilder::v1().cid_of(RAW, &good);
        let prefix = message::prefix_of(&cid);
        wanted.insert(cid);
        let other = Bytes::from_static(b"not wanted");
        let other_cid = CidBuilder::v1().cid_of(RAW, &other);
        let (tx, rx) = mpsc::channel();
        let receiver = Receiver::start(store.clone(), wanted, move |from, checked| {
            let _ = tx.send((from, checked));
        })
        .unwrap();
        let peer = PeerId::random();
        let blocks = vec![
            // Bytes that do not hash to the wanted CID: another CID, unwanted.
            Incoming {
                prefix: Some(prefix.clone()),
                data: Bytes::from_static(b"forged bytes"),
            },
            Incoming {
                prefix: Some(prefix.clone()),
                data: good.clone(),
            },
            Incoming {
                prefix: Some(prefix),
                data: other.clone(),
            },
        ];
        receiver.submit(peer, blocks);
        let (from, checked) = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
        assert_eq!(from, peer);
        let stored: Vec<Cid> = checked.iter().filter(|c| c.stored).map(|c| c.cid).collect();
        assert_eq!(stored, vec![cid]);
        assert_eq!(store.get(&cid).unwrap().as_deref(), Some(&good[..]));
        assert!(!store.has(&other_cid).unwrap());
        assert_eq!(checked.len(), 3);
        assert!(checked.iter().all(|c| !c.duplicate));
    }
}
