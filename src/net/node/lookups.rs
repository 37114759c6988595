//! Provider and peer lookups for the delegated routing API, and what the
//! node knows of other peers' addresses to answer them with: what identify
//! told, the addresses connections came from, and what the DHT reported.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::mpsc as std_mpsc;

use libp2p::{Multiaddr, PeerId, kad};
use lru::LruCache;

use super::NodeTask;
use crate::codec::cid::Cid;

/// Peers whose addresses are remembered, the least recently seen going first.
const PEERS_KEPT: usize = 4096;
/// Addresses kept per peer, the newest.
const ADDRS_KEPT: usize = 16;

/// A peer as the routing API describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRecord {
    pub peer: PeerId,
    pub addrs: Vec<Multiaddr>,
    /// It said (through identify) that it speaks bitswap.
    pub bitswap: bool,
}

#[derive(Default)]
struct Known {
    addrs: Vec<Multiaddr>,
    bitswap: bool,
}

pub(super) struct Lookups {
    known: LruCache<PeerId, Known>,
    /// Provider lookups: where records go, and who was already sent.
    providers: HashMap<kad::QueryId, (std_mpsc::Sender<PeerRecord>, HashSet<PeerId>)>,
    /// Peer lookups: who is looked for, and who waits for the answer.
    peers: HashMap<kad::QueryId, (PeerId, std_mpsc::Sender<Option<PeerRecord>>)>,
}

impl Default for Lookups {
    fn default() -> Self {
        Lookups {
            known: LruCache::new(NonZeroUsize::new(PEERS_KEPT).expect("non-zero")),
            providers: HashMap::new(),
            peers: HashMap::new(),
        }
    }
}

impl Lookups {
    /// What identify told of `peer`: its listen addresses replace those known.
    pub(super) fn identified(&mut self, peer: PeerId, addrs: &[Multiaddr], bitswap: bool) {
        let known = self.known.get_or_insert_mut(peer, Known::default);
        known.bitswap = bitswap;
        if !addrs.is_empty() {
            known.addrs = addrs.iter().take(ADDRS_KEPT).cloned().collect();
        }
    }

    /// One more address of `peer`.
    pub(super) fn learned(&mut self, peer: PeerId, mut addr: Multiaddr) {
        if let Some(libp2p::multiaddr::Protocol::P2p(_)) = addr.iter().last() {
            addr.pop();
        }
        let known = self.known.get_or_insert_mut(peer, Known::default);
        if !known.addrs.contains(&addr) {
            if known.addrs.len() == ADDRS_KEPT {
                known.addrs.remove(0);
            }
            known.addrs.push(addr);
        }
    }

    fn record(&self, peer: PeerId) -> PeerRecord {
        let known = self.known.peek(&peer);
        PeerRecord {
            peer,
            addrs: known.map(|k| k.addrs.clone()).unwrap_or_default(),
            bitswap: known.is_some_and(|k| k.bitswap),
        }
    }

    pub(super) fn wants_providers(&self, id: &kad::QueryId) -> bool {
        self.providers.contains_key(id)
    }

    pub(super) fn wants_peer(&self, id: &kad::QueryId) -> bool {
        self.peers.contains_key(id)
    }

    /// The lookup is over: its receiver sees the end.
    pub(super) fn providers_done(&mut self, id: &kad::QueryId) {
        self.providers.remove(id);
    }
}

impl NodeTask {
    /// This node as a peer record: its listen and external addresses.
    fn own_record(&self) -> PeerRecord {
        let mut addrs: Vec<Multiaddr> = self.swarm.external_addresses().cloned().collect();
        for addr in self.swarm.listeners() {
            if !addrs.contains(addr) {
                addrs.push(addr.clone());
            }
        }
        PeerRecord {
            peer: *self.swarm.local_peer_id(),
            addrs,
            bitswap: true,
        }
    }

    fn peer_record(&self, peer: PeerId) -> PeerRecord {
        if peer == *self.swarm.local_peer_id() {
            self.own_record()
        } else {
            self.lookups.record(peer)
        }
    }

    pub(super) fn find_providers(&mut self, cid: Cid, found: std_mpsc::Sender<PeerRecord>) {
        let key = kad::RecordKey::new(&cid.hash().to_bytes());
        let id = self.swarm.behaviour_mut().kad.get_providers(key);
        self.lookups.providers.insert(id, (found, HashSet::new()));
    }

    /// Sends the providers not sent yet; a caller gone ends the lookup.
    pub(super) fn providers_found(&mut self, id: kad::QueryId, providers: HashSet<PeerId>) {
        let records: Vec<PeerRecord> = match self.lookups.providers.get(&id) {
            Some((_, sent)) => providers
                .into_iter()
                .filter(|p| !sent.contains(p))
                .map(|p| self.peer_record(p))
                .collect(),
            None => return,
        };
        let Some((found, sent)) = self.lookups.providers.get_mut(&id) else {
            return;
        };
        for record in records {
            sent.insert(record.peer);
            if found.send(record).is_err() {
                self.lookups.providers.remove(&id);
                if let Some(mut query) = self.swarm.behaviour_mut().kad.query_mut(&id) {
                    query.finish();
                }
                return;
            }
        }
    }

    /// Answers at once for this node and for connected peers (as Kubo's
    /// DHT does), else looks for the peer in the DHT.
    pub(super) fn find_peer(&mut self, peer: PeerId, reply: std_mpsc::Sender<Option<PeerRecord>>) {
        if peer == *self.swarm.local_peer_id() || self.swarm.is_connected(&peer) {
            let _ = reply.send(Some(self.peer_record(peer)));
            return;
        }
        let id = self.swarm.behaviour_mut().kad.get_closest_peers(peer);
        self.lookups.peers.insert(id, (peer, reply));
    }

    /// The closest peers to a looked-for peer are in: it is found when
    /// among them (with the addresses the DHT gave and those known here).
    pub(super) fn peer_found(&mut self, id: kad::QueryId, closest: Vec<kad::PeerInfo>) {
        let Some((peer, reply)) = self.lookups.peers.remove(&id) else {
            return;
        };
        let answer = closest.into_iter().find(|p| p.peer_id == peer).map(|info| {
            for addr in info.addrs {
                self.lookups.learned(peer, addr);
            }
            self.lookups.record(peer)
        });
        let _ = reply.send(answer.filter(|record| !record.addrs.is_empty()));
    }
}
