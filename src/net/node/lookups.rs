//! Provider and peer lookups for the delegated routing API, and what the
//! node knows of other peers' addresses to answer them with: what identify
//! told, the addresses connections came from, and what the DHT reported.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::mpsc as std_mpsc;

use libp2p::{Multiaddr, PeerId, kad};
use lru::LruCache;

use super::{BOTH, Dht, NodeTask};
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

/// One caller's provider lookup, run in both DHTs.
struct ProviderStream {
    found: std_mpsc::Sender<PeerRecord>,
    sent: HashSet<PeerId>,
    /// Queries (one per DHT) not finished yet.
    open: usize,
}

/// One caller's peer lookup, run in both DHTs: the first to find the
/// peer answers; None when neither does.
struct PeerWait {
    peer: PeerId,
    reply: Option<std_mpsc::Sender<Option<PeerRecord>>>,
    open: usize,
}

type QueryKey = (Dht, kad::QueryId);

pub(super) struct Lookups {
    known: LruCache<PeerId, Known>,
    next: u64,
    /// Provider lookups: each DHT query, and the caller's stream it feeds.
    provider_queries: HashMap<QueryKey, u64>,
    provider_streams: HashMap<u64, ProviderStream>,
    /// Peer lookups, likewise.
    peer_queries: HashMap<QueryKey, u64>,
    peer_waits: HashMap<u64, PeerWait>,
}

impl Default for Lookups {
    fn default() -> Self {
        Lookups {
            known: LruCache::new(NonZeroUsize::new(PEERS_KEPT).expect("non-zero")),
            next: 0,
            provider_queries: HashMap::new(),
            provider_streams: HashMap::new(),
            peer_queries: HashMap::new(),
            peer_waits: HashMap::new(),
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

    fn next_number(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    pub(super) fn wants_providers(&self, dht: Dht, id: &kad::QueryId) -> bool {
        self.provider_queries.contains_key(&(dht, *id))
    }

    pub(super) fn wants_peer(&self, dht: Dht, id: &kad::QueryId) -> bool {
        self.peer_queries.contains_key(&(dht, *id))
    }

    /// One of a peer lookup's queries is over, with what it found: the
    /// first record with addresses answers; None once all failed.
    fn peer_answer(&mut self, number: u64, record: Option<PeerRecord>) {
        let Some(wait) = self.peer_waits.get_mut(&number) else {
            return;
        };
        wait.open = wait.open.saturating_sub(1);
        let record = record.filter(|r| !r.addrs.is_empty());
        if (record.is_some() || wait.open == 0)
            && let Some(reply) = wait.reply.take()
        {
            let _ = reply.send(record);
        }
        if wait.open == 0 {
            self.peer_waits.remove(&number);
        }
    }

    /// One of the stream's queries is over; after the last the receiver
    /// sees the end.
    fn providers_query_done(&mut self, key: &QueryKey) {
        if let Some(number) = self.provider_queries.remove(key) {
            self.stream_query_done(number);
        }
    }

    /// One of stream `number`'s queries (a DHT's, or the routers') is over.
    fn stream_query_done(&mut self, number: u64) {
        if let Some(stream) = self.provider_streams.get_mut(&number) {
            stream.open = stream.open.saturating_sub(1);
            if stream.open == 0 {
                self.provider_streams.remove(&number);
            }
        }
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

    pub(super) fn peer_record(&self, peer: PeerId) -> PeerRecord {
        if peer == *self.swarm.local_peer_id() {
            self.own_record()
        } else {
            self.lookups.record(peer)
        }
    }

    pub(super) fn find_providers(&mut self, cid: Cid, found: std_mpsc::Sender<PeerRecord>) {
        let key = kad::RecordKey::new(&cid.hash().to_bytes());
        let number = self.lookups.next_number();
        let mut open = 0;
        if self.routing.dht {
            for dht in BOTH {
                let id = self.kad(dht).get_providers(key.clone());
                self.lookups.provider_queries.insert((dht, id), number);
                open += 1;
            }
        }
        if self.delegated_providers(number, cid) {
            open += 1;
        }
        if open > 0 {
            let stream = ProviderStream {
                found,
                sent: HashSet::new(),
                open,
            };
            self.lookups.provider_streams.insert(number, stream);
        }
    }

    /// A provider the delegated routers found for a lookup.
    pub(super) fn delegated_provider_found(&mut self, number: u64, record: PeerRecord) {
        if let Some(stream) = self.lookups.provider_streams.get_mut(&number)
            && stream.sent.insert(record.peer)
        {
            let _ = stream.found.send(record);
        }
    }

    /// The delegated routers have said all they had for a lookup.
    pub(super) fn delegated_providers_done(&mut self, number: u64) {
        self.lookups.stream_query_done(number);
    }

    /// Sends the providers not sent yet; a caller gone ends the lookup
    /// (both queries), as does the query's last step.
    pub(super) fn providers_found(
        &mut self,
        dht: Dht,
        id: kad::QueryId,
        providers: HashSet<PeerId>,
        last: bool,
    ) {
        let Some(&number) = self.lookups.provider_queries.get(&(dht, id)) else {
            return;
        };
        let records: Vec<PeerRecord> = match self.lookups.provider_streams.get(&number) {
            Some(stream) => providers
                .into_iter()
                .filter(|p| !stream.sent.contains(p))
                .map(|p| self.peer_record(p))
                .collect(),
            None => return,
        };
        let Some(stream) = self.lookups.provider_streams.get_mut(&number) else {
            return;
        };
        let mut listening = true;
        for record in records {
            stream.sent.insert(record.peer);
            if stream.found.send(record).is_err() {
                listening = false;
                break;
            }
        }
        if listening {
            if last {
                self.lookups.providers_query_done(&(dht, id));
            }
            return;
        }
        self.lookups.provider_streams.remove(&number);
        let queries: Vec<QueryKey> = self
            .lookups
            .provider_queries
            .iter()
            .filter(|(_, n)| **n == number)
            .map(|(key, _)| *key)
            .collect();
        for (dht, id) in queries {
            self.lookups.provider_queries.remove(&(dht, id));
            if let Some(mut query) = self.kad(dht).query_mut(&id) {
                query.finish();
            }
        }
    }

    /// Answers at once for this node and for connected peers (as Kubo's
    /// DHT does), else looks for the peer in both DHTs and the routers.
    pub(super) fn find_peer(&mut self, peer: PeerId, reply: std_mpsc::Sender<Option<PeerRecord>>) {
        if peer == *self.swarm.local_peer_id() || self.swarm.is_connected(&peer) {
            let _ = reply.send(Some(self.peer_record(peer)));
            return;
        }
        let number = self.lookups.next_number();
        let mut open = 0;
        if self.routing.dht {
            for dht in BOTH {
                let id = self.kad(dht).get_closest_peers(peer);
                self.lookups.peer_queries.insert((dht, id), number);
                open += 1;
            }
        }
        if self.delegated_peer(number, peer) {
            open += 1;
        }
        if open == 0 {
            let _ = reply.send(None);
            return;
        }
        let wait = PeerWait {
            peer,
            reply: Some(reply),
            open,
        };
        self.lookups.peer_waits.insert(number, wait);
    }

    /// The closest peers to a looked-for peer are in: it is found when
    /// among them (with the addresses the DHT gave and those known here).
    pub(super) fn peer_found(&mut self, dht: Dht, id: kad::QueryId, closest: Vec<kad::PeerInfo>) {
        let Some(number) = self.lookups.peer_queries.remove(&(dht, id)) else {
            return;
        };
        let Some(peer) = self.lookups.peer_waits.get(&number).map(|w| w.peer) else {
            return;
        };
        if let Some(info) = closest.into_iter().find(|p| p.peer_id == peer) {
            for addr in info.addrs {
                self.lookups.learned(peer, addr);
            }
        }
        let record = self.lookups.record(peer);
        self.lookups.peer_answer(number, Some(record));
    }

    /// What the delegated routers found for a peer lookup.
    pub(super) fn delegated_peer_found(&mut self, number: u64, record: Option<PeerRecord>) {
        self.lookups.peer_answer(number, record);
    }
}
