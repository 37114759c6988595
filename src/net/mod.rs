//! The node on the network: libp2p (TCP, noise, yamux, identify, ping) and
//! bitswap, on its own tokio runtime. The sync core reaches it only through
//! [`NetHandle`]: ask for a block with a deadline, get the verified block or
//! an error naming the CID.

mod inbound;
pub mod ledger;
pub mod message;
mod node;
mod outbox;
mod server;
mod stats;
pub mod wants;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

pub use node::{NetConfig, NetHandle, Node, PeerInfo, start};
pub use stats::StatsSnapshot;

use crate::blockstore::{Blockstore, Result as StoreResult};
use crate::codec::cid::{Cid, cid_string};

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
}

/// A blockstore that fetches what the local one lacks from the network
/// (the node stores what it fetches).
pub struct NetworkBlockstore {
    local: Arc<dyn Blockstore>,
    net: NetHandle,
    deadline: Duration,
}

impl NetworkBlockstore {
    pub fn new(local: Arc<dyn Blockstore>, net: NetHandle, deadline: Duration) -> Self {
        NetworkBlockstore {
            local,
            net,
            deadline,
        }
    }
}

impl NetworkBlockstore {
    /// The block from the network, or None (logged) when it cannot be had
    /// within the deadline.
    fn fetch(&self, cid: &Cid) -> Option<Vec<u8>> {
        match self.net.fetch(cid, self.deadline) {
            Ok(block) => Some(block),
            Err(err) => {
                tracing::warn!("{}: {err}", cid_string(cid));
                None
            }
        }
    }
}

impl Blockstore for NetworkBlockstore {
    fn get(&self, cid: &Cid) -> StoreResult<Option<Vec<u8>>> {
        if let Some(block) = self.local.get(cid)? {
            return Ok(Some(block));
        }
        Ok(self.fetch(cid))
    }

    fn get_shared(&self, cid: &Cid) -> StoreResult<Option<Bytes>> {
        if let Some(block) = self.local.get_shared(cid)? {
            return Ok(Some(block));
        }
        Ok(self.fetch(cid).map(Bytes::from))
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
}
