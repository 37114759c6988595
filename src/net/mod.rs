//! The node on the network: libp2p (TCP and QUIC, noise, yamux, identify,
//! ping, DNS names resolved on dial, AutoNAT, circuit relay v2, DCUtR) and
//! bitswap, on its own tokio runtime.
//! The sync core reaches it only through [`NetHandle`]: ask for a block
//! with a deadline, get the verified block or an error naming the CID.

pub mod announce;
mod candidates;
pub mod connmgr;
pub mod delegated;
pub mod dnsaddr;
mod inbound;
pub mod ledger;
pub mod limits;
pub mod message;
mod node;
mod outbox;
pub mod providers;
mod quic;
pub mod reach;
mod receiver;
pub mod records;
mod server;
mod stats;
pub mod wants;

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

pub use node::{
    DhtTable, Found, NetConfig, NetHandle, Node, PeerIdentity, PeerInfo, PeerRecord, RoutingConfig,
    start,
};
pub use stats::{ProvideStats, StatsSnapshot};

use crate::blockstore::{Blockstore, BlockstoreError, Result as StoreResult};
use crate::codec::cid::{Cid, Mh, cid_string};
use crate::names::RoutingError;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("block {0} could not be found on the network in time")]
    Timeout(String),
    #[error("the network node has stopped")]
    Stopped,
    #[error("cannot connect to {addr}: {reason}")]
    Connect { addr: String, reason: String },
    #[error("invalid address {0}")]
    BadAddress(String),
    #[error("starting the network node: {0}")]
    Start(String),
    #[error("no peer to put the value with: the DHT knows no peers")]
    NoPeers,
    #[error("putting a value in the DHT: {0}")]
    Put(String),
}

/// Values in the DHT, for IPNS: Kubo's resolver stops at 16 answers.
impl crate::names::ValueRouting for NetHandle {
    fn put_value(
        &self,
        key: Vec<u8>,
        value: Vec<u8>,
        limit: Duration,
    ) -> Result<usize, RoutingError> {
        NetHandle::put_value(self, key, value, limit).map_err(routing_error)
    }

    fn get_values(&self, key: Vec<u8>, limit: Duration) -> Result<Vec<Vec<u8>>, RoutingError> {
        NetHandle::get_values(self, key, VALUES_ENOUGH, limit).map_err(routing_error)
    }
}

fn routing_error(err: NetError) -> RoutingError {
    match err {
        NetError::NoPeers => RoutingError::NoPeers,
        other => RoutingError::Failed(other.to_string()),
    }
}

/// Answers a value lookup waits for at most (Kubo's `--dht-record-count`).
pub const VALUES_ENOUGH: usize = 16;

/// A blockstore that fetches what the local one lacks from the network
/// (the node stores what it fetches). A block the local store finds damaged
/// is an error for the read that found it, at once; a good copy is fetched
/// in the background, for the reads after.
pub struct NetworkBlockstore {
    local: Arc<dyn Blockstore>,
    net: NetHandle,
    deadline: Duration,
    repairing: Arc<Mutex<HashSet<Mh>>>,
    /// Fetches started by `prefetch` and not yet read, with when each
    /// started: a read of one takes it from here rather than from the
    /// local store (which the node also writes it to, but reading it back
    /// would cost a disk read and a hash).
    started: Mutex<HashMap<Mh, (Receiver<Bytes>, Instant)>>,
}

/// Prefetched blocks waiting to be read, at most: bounds the memory held
/// for readers that stopped reading (256 KiB blocks: 64 MiB).
const STARTED_AT_MOST: usize = 256;

impl NetworkBlockstore {
    pub fn new(local: Arc<dyn Blockstore>, net: NetHandle, deadline: Duration) -> Self {
        NetworkBlockstore {
            local,
            net,
            deadline,
            repairing: Arc::default(),
            started: Mutex::default(),
        }
    }

    /// The block of a fetch `prefetch` started, once it arrives; None when
    /// none was started (or it gave up: the caller fetches for itself).
    fn take_started(&self, cid: &Cid) -> Option<StoreResult<Bytes>> {
        let (rx, since) = self.started.lock().ok()?.remove(cid.hash())?;
        let left = (since + self.deadline).saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(block) => Some(Ok(block)),
            Err(RecvTimeoutError::Timeout) => {
                tracing::warn!("{}: not had from the network in time", cid_string(cid));
                Some(Err(BlockstoreError::TimedOut(cid_string(cid))))
            }
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Passes a local error on; a damaged block also starts its repair.
    fn local_failed(&self, cid: &Cid, err: BlockstoreError) -> BlockstoreError {
        if matches!(err, BlockstoreError::Corrupt { .. }) {
            self.repair(cid);
        }
        err
    }

    /// Fetches a good copy of a damaged block on a thread of its own, one
    /// at a time per block.
    fn repair(&self, cid: &Cid) {
        let started = self
            .repairing
            .lock()
            .map(|mut repairing| repairing.insert(*cid.hash()))
            .unwrap_or(false);
        if !started {
            return;
        }
        let (net, deadline, repairing, cid) = (
            self.net.clone(),
            self.deadline,
            Arc::clone(&self.repairing),
            *cid,
        );
        let spawned = std::thread::Builder::new()
            .name("block-repair".into())
            .spawn(move || {
                match net.fetch(&cid, deadline) {
                    Ok(_) => tracing::info!("damaged block {} fetched again", cid_string(&cid)),
                    Err(err) => tracing::warn!("no good copy of damaged block: {err}"),
                }
                if let Ok(mut repairing) = repairing.lock() {
                    repairing.remove(cid.hash());
                }
            });
        if let Err(err) = spawned {
            tracing::warn!("cannot fetch damaged block {}: {err}", cid_string(&cid));
            if let Ok(mut repairing) = self.repairing.lock() {
                repairing.remove(cid.hash());
            }
        }
    }
}

impl NetworkBlockstore {
    /// The block from the network, or None (logged) when it cannot be had
    /// within the deadline.
    /// A block from the network: a deadline passed is a timeout, not a
    /// missing block.
    fn fetch(&self, cid: &Cid) -> StoreResult<Option<Bytes>> {
        match self.net.fetch(cid, self.deadline) {
            Ok(block) => Ok(Some(block)),
            Err(NetError::Timeout(_)) => {
                tracing::warn!("{}: not had from the network in time", cid_string(cid));
                Err(BlockstoreError::TimedOut(cid_string(cid)))
            }
            Err(err) => {
                tracing::warn!("{}: {err}", cid_string(cid));
                Ok(None)
            }
        }
    }
}

impl Blockstore for NetworkBlockstore {
    fn get(&self, cid: &Cid) -> StoreResult<Option<Vec<u8>>> {
        if let Some(started) = self.take_started(cid) {
            return started.map(|block| Some(block.to_vec()));
        }
        let local = self.local.get(cid);
        if let Some(block) = local.map_err(|e| self.local_failed(cid, e))? {
            return Ok(Some(block));
        }
        Ok(self.fetch(cid)?.map(|block| block.to_vec()))
    }

    fn get_shared(&self, cid: &Cid) -> StoreResult<Option<Bytes>> {
        if let Some(started) = self.take_started(cid) {
            return started.map(Some);
        }
        let local = self.local.get_shared(cid);
        if let Some(block) = local.map_err(|e| self.local_failed(cid, e))? {
            return Ok(Some(block));
        }
        self.fetch(cid)
    }

    fn has(&self, cid: &Cid) -> StoreResult<bool> {
        self.local.has(cid)
    }

    fn put(&self, cid: &Cid, data: &[u8]) -> StoreResult<()> {
        self.local.put(cid, data)
    }

    fn delete(&self, cid: &Cid) -> StoreResult<bool> {
        self.local.delete(cid)
    }

    fn sync(&self) -> StoreResult<()> {
        self.local.sync()
    }

    fn all_keys(&self) -> StoreResult<Vec<Cid>> {
        self.local.all_keys()
    }

    /// Starts fetching, all at once, those of `cids` neither stored nor
    /// already on their way, as many as there is room for.
    fn prefetch(&self, cids: &[Cid]) {
        let missing: Vec<Cid> = cids
            .iter()
            .filter(|cid| !self.local.has(cid).unwrap_or(true))
            .copied()
            .collect();
        if missing.is_empty() {
            return;
        }
        let Ok(mut started) = self.started.lock() else {
            return;
        };
        let now = Instant::now();
        started.retain(|_, (_, since)| now.duration_since(*since) < self.deadline);
        let mut seen = HashSet::new();
        let mut wanted: Vec<Cid> = missing
            .into_iter()
            .filter(|cid| !started.contains_key(cid.hash()) && seen.insert(*cid.hash()))
            .collect();
        wanted.truncate(STARTED_AT_MOST.saturating_sub(started.len()));
        if wanted.is_empty() {
            return;
        }
        match self.net.start_fetches(&wanted, self.deadline) {
            Ok(receivers) => {
                for (cid, rx) in wanted.iter().zip(receivers) {
                    started.insert(*cid.hash(), (rx, now));
                }
            }
            Err(err) => tracing::debug!("prefetch: {err}"),
        }
    }
}
