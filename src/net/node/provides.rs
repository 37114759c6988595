//! Our provides, queued: each CID is a DHT query (a lookup of the closest
//! peers, then `ADD_PROVIDER` to each), so an add of 100 000 files must not
//! start 100 000 queries at once. A bounded number run in each DHT; the
//! rest wait in order, each CID once. Also the counts of DHT requests we
//! answered, by kind, for `stats dht`.

use std::collections::{HashMap, HashSet, VecDeque};

use libp2p::PeerId;
use libp2p::kad::{self, RecordKey};

use super::{BOTH, Dht, NodeTask};
use crate::codec::cid::Cid;

/// Provide queries running at once in each DHT. Each asks about 3 peers at
/// a time, so this keeps a few dozen streams open on a small network and
/// spreads them over many peers on a large one.
const IN_FLIGHT: usize = 32;
/// CIDs waiting: past this many, more are refused with a log line (the
/// next reprovide round announces them). The reprovider waits for room.
const QUEUE_MAX: usize = 1_000_000;

pub(super) struct ProvideQueue {
    limit: usize,
    waiting: VecDeque<RecordKey>,
    queued: HashSet<RecordKey>,
    /// Running queries, and the CID's key each announces.
    running: HashMap<(Dht, kad::QueryId), RecordKey>,
    /// DHTs whose query for a key is still running.
    pending: HashMap<RecordKey, usize>,
}

impl Default for ProvideQueue {
    fn default() -> Self {
        ProvideQueue::with_limit(QUEUE_MAX)
    }
}

impl ProvideQueue {
    fn with_limit(limit: usize) -> Self {
        ProvideQueue {
            limit,
            waiting: VecDeque::new(),
            queued: HashSet::new(),
            running: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    pub(super) fn queued(&self) -> usize {
        self.waiting.len() + self.pending.len()
    }

    /// Queues `cids`; how many were refused (the queue is full).
    fn push(&mut self, cids: Vec<Cid>) -> usize {
        let mut refused = 0;
        for cid in cids {
            let key = RecordKey::new(&cid.hash().to_bytes());
            if self.queued.contains(&key) || self.pending.contains_key(&key) {
                continue;
            }
            if self.waiting.len() >= self.limit {
                refused += 1;
                continue;
            }
            self.queued.insert(key.clone());
            self.waiting.push_back(key);
        }
        refused
    }

    fn running_in(&self, dht: Dht) -> usize {
        self.running.keys().filter(|(d, _)| *d == dht).count()
    }
}

impl NodeTask {
    pub(super) fn queue_provides(&mut self, cids: Vec<Cid>) {
        let refused = self.provides.push(cids);
        if refused > 0 {
            tracing::warn!(
                "provide queue full ({} CIDs): {refused} not provided now \
                 (the next reprovide round announces them)",
                self.provides.limit
            );
        }
        self.start_provides();
    }

    /// The DHTs a provide goes to: both, as Kubo's dual DHT sends them,
    /// unless every peer of the WAN table is in the LAN one too (a network
    /// of private addresses alone, where both reach the same peers and
    /// their one book of records): then the LAN one, not the same records
    /// twice.
    fn provide_dhts(&mut self) -> &'static [Dht] {
        let lan: HashSet<PeerId> = self
            .kad(Dht::Lan)
            .kbuckets()
            .flat_map(|b| b.iter().map(|e| *e.node.key.preimage()).collect::<Vec<_>>())
            .collect();
        let wan_adds_peers = self
            .kad(Dht::Wan)
            .kbuckets()
            .any(|b| b.iter().any(|e| !lan.contains(e.node.key.preimage())));
        if wan_adds_peers || lan.is_empty() {
            &BOTH
        } else {
            &[Dht::Lan]
        }
    }

    /// Starts queued provides while both DHTs have room.
    pub(super) fn start_provides(&mut self) {
        if self.provides.waiting.is_empty() {
            self.stats.provides_queued(self.provides.queued());
            return;
        }
        let dhts = self.provide_dhts();
        while BOTH
            .iter()
            .all(|&dht| self.provides.running_in(dht) < IN_FLIGHT)
        {
            let Some(key) = self.provides.waiting.pop_front() else {
                break;
            };
            self.provides.queued.remove(&key);
            let mut started = 0;
            for &dht in dhts {
                match self.kad(dht).start_providing(key.clone()) {
                    Ok(id) => {
                        self.provides.running.insert((dht, id), key.clone());
                        started += 1;
                    }
                    Err(err) => tracing::warn!("providing: {err}"),
                }
            }
            if started > 0 {
                self.provides.pending.insert(key, started);
            }
        }
        self.stats.provides_queued(self.provides.queued());
    }

    /// A provide query is over (or failed): the next ones may start.
    pub(super) fn provide_done(&mut self, dht: Dht, id: kad::QueryId) {
        let Some(key) = self.provides.running.remove(&(dht, id)) else {
            return;
        };
        if let Some(left) = self.provides.pending.get_mut(&key) {
            *left -= 1;
            if *left == 0 {
                self.provides.pending.remove(&key);
                self.stats.provided(1);
            }
        }
        self.start_provides();
    }
}

/// The DHT requests a server answered, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub find_node: u64,
    pub get_providers: u64,
    pub add_provider: u64,
    pub get_value: u64,
    pub put_value: u64,
}

impl RequestCounts {
    pub(super) fn count(&mut self, request: &kad::InboundRequest) {
        let counter = match request {
            kad::InboundRequest::FindNode { .. } => &mut self.find_node,
            kad::InboundRequest::GetProvider { .. } => &mut self.get_providers,
            kad::InboundRequest::AddProvider { .. } => &mut self.add_provider,
            kad::InboundRequest::GetRecord { .. } => &mut self.get_value,
            kad::InboundRequest::PutRecord { .. } => &mut self.put_value,
        };
        *counter += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cid::{CidBuilder, RAW};

    fn cid(n: u32) -> Cid {
        CidBuilder::v1().cid_of(RAW, &n.to_be_bytes())
    }

    #[test]
    fn each_cid_waits_once_and_the_queue_is_bounded() {
        let mut queue = ProvideQueue::with_limit(3);
        assert_eq!(queue.push(vec![cid(1), cid(2), cid(1)]), 0);
        assert_eq!(queue.queued(), 2);
        assert_eq!(queue.push(vec![cid(2), cid(3), cid(4), cid(5)]), 2);
        assert_eq!(queue.queued(), 3);
        let first = queue.waiting.pop_front().expect("a key");
        assert_eq!(first, RecordKey::new(&cid(1).hash().to_bytes()));
    }

    #[test]
    fn requests_are_counted_by_kind() {
        let mut counts = RequestCounts::default();
        counts.count(&kad::InboundRequest::FindNode {
            num_closer_peers: 3,
        });
        counts.count(&kad::InboundRequest::AddProvider { record: None });
        counts.count(&kad::InboundRequest::AddProvider { record: None });
        assert_eq!(
            (counts.find_node, counts.add_provider, counts.get_value),
            (1, 2, 0)
        );
    }
}
