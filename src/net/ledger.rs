//! The server's ledger: what each peer wants from us (its wantlist, kept
//! up to date by full and partial lists and cancels), and whose turn it is.
//! Peers are served in turn, a batch each, so one peer asking for a lot
//! does not starve the others; each peer's list is bounded.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::Hash;

use crate::codec::Cid;

/// Entries kept per peer; more are ignored until some are served.
pub const MAX_ENTRIES_PER_PEER: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    pub cid: Cid,
    /// A want-have (answer HAVE/DONT_HAVE), else a want-block.
    pub have_only: bool,
    pub send_dont_have: bool,
}

/// One entry of a received wantlist.
#[derive(Clone, Copy, Debug)]
pub struct Wanted {
    pub cid: Cid,
    pub priority: i32,
    pub cancel: bool,
    pub have_only: bool,
    pub send_dont_have: bool,
}

type QueueKey = (bool, std::cmp::Reverse<i32>, u64);

#[derive(Default)]
struct PeerWants {
    /// Want-haves first (answering them is cheap and lets the peer decide
    /// whom to ask for blocks), then by priority (highest first), then
    /// arrival.
    queue: BTreeMap<QueueKey, Task>,
    keys: HashMap<Cid, QueueKey>,
    sent_bytes: u64,
}

pub struct Ledger<P> {
    peers: HashMap<P, PeerWants>,
    /// Peers with something pending, in the order they are served.
    turns: VecDeque<P>,
    next_seq: u64,
}

impl<P: Copy + Eq + Hash> Default for Ledger<P> {
    fn default() -> Self {
        Ledger {
            peers: HashMap::new(),
            turns: VecDeque::new(),
            next_seq: 0,
        }
    }
}

impl<P: Copy + Eq + Hash> Ledger<P> {
    /// Applies a peer's wantlist; a full one replaces what it wanted.
    pub fn update(&mut self, peer: P, entries: &[Wanted], full: bool) {
        let wants = self.peers.entry(peer).or_default();
        if full {
            wants.queue.clear();
            wants.keys.clear();
        }
        for entry in entries {
            if let Some(key) = wants.keys.remove(&entry.cid) {
                wants.queue.remove(&key);
            }
            if entry.cancel || wants.keys.len() >= MAX_ENTRIES_PER_PEER {
                continue;
            }
            let key = (
                !entry.have_only,
                std::cmp::Reverse(entry.priority),
                self.next_seq,
            );
            self.next_seq += 1;
            wants.keys.insert(entry.cid, key);
            wants.queue.insert(
                key,
                Task {
                    cid: entry.cid,
                    have_only: entry.have_only,
                    send_dont_have: entry.send_dont_have,
                },
            );
        }
        let pending = !wants.queue.is_empty();
        if pending && !self.turns.contains(&peer) {
            self.turns.push_back(peer);
        }
    }

    pub fn remove_peer(&mut self, peer: &P) {
        self.peers.remove(peer);
        self.turns.retain(|p| p != peer);
    }

    pub fn has_work(&self) -> bool {
        !self.turns.is_empty()
    }

    /// The next peer in turn that `ready` accepts (one whose outgoing queue
    /// has room), and up to `max_tasks` of its wants, removed from its list.
    /// The peer goes to the back of the line.
    pub fn next_batch(
        &mut self,
        max_tasks: usize,
        mut ready: impl FnMut(&P) -> bool,
    ) -> Option<(P, Vec<Task>)> {
        for _ in 0..self.turns.len() {
            let peer = self.turns.pop_front()?;
            let Some(wants) = self.peers.get_mut(&peer) else {
                continue;
            };
            if !ready(&peer) {
                self.turns.push_back(peer);
                continue;
            }
            let mut tasks = Vec::new();
            while tasks.len() < max_tasks {
                let Some((_, task)) = wants.queue.pop_first() else {
                    break;
                };
                wants.keys.remove(&task.cid);
                tasks.push(task);
            }
            if !wants.queue.is_empty() {
                self.turns.push_back(peer);
            }
            if !tasks.is_empty() {
                return Some((peer, tasks));
            }
        }
        None
    }

    pub fn record_sent(&mut self, peer: &P, bytes: u64) {
        if let Some(wants) = self.peers.get_mut(peer) {
            wants.sent_bytes += bytes;
        }
    }

    pub fn sent_bytes(&self, peer: &P) -> u64 {
        self.peers.get(peer).map_or(0, |w| w.sent_bytes)
    }

    pub fn pending(&self, peer: &P) -> usize {
        self.peers.get(peer).map_or(0, |w| w.queue.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cid::{CidBuilder, RAW};

    fn cid(n: u32) -> Cid {
        CidBuilder::v1().cid_of(RAW, &n.to_be_bytes())
    }

    fn want(n: u32) -> Wanted {
        Wanted {
            cid: cid(n),
            priority: 1,
            cancel: false,
            have_only: false,
            send_dont_have: false,
        }
    }

    #[test]
    fn cancels_and_full_lists_update_what_a_peer_wants() {
        let mut ledger = Ledger::default();
        ledger.update(1u8, &[want(1), want(2), want(3)], false);
        assert_eq!(ledger.pending(&1), 3);
        let cancel = Wanted {
            cancel: true,
            ..want(2)
        };
        ledger.update(1, &[cancel], false);
        assert_eq!(ledger.pending(&1), 2);
        ledger.update(1, &[want(9)], true);
        assert_eq!(ledger.pending(&1), 1, "a full list replaces");
        let (peer, tasks) = ledger.next_batch(10, |_| true).unwrap();
        assert_eq!((peer, tasks.len(), tasks[0].cid), (1, 1, cid(9)));
        assert!(!ledger.has_work());
        assert!(ledger.next_batch(10, |_| true).is_none());
    }

    #[test]
    fn questions_first_then_by_priority_then_in_order() {
        let mut ledger = Ledger::default();
        let urgent = Wanted {
            priority: 10,
            ..want(5)
        };
        let question = Wanted {
            have_only: true,
            ..want(8)
        };
        ledger.update(1u8, &[want(1), want(2), urgent, question], false);
        let (_, tasks) = ledger.next_batch(4, |_| true).unwrap();
        let order: Vec<Cid> = tasks.iter().map(|t| t.cid).collect();
        assert_eq!(order, [cid(8), cid(5), cid(1), cid(2)]);
    }

    #[test]
    fn peers_take_turns_and_a_busy_peer_is_skipped() {
        let mut ledger = Ledger::default();
        let many: Vec<Wanted> = (0..100).map(want).collect();
        ledger.update(1u8, &many, false);
        ledger.update(2u8, &[want(1000), want(1001)], false);
        let (first, _) = ledger.next_batch(8, |_| true).unwrap();
        let (second, _) = ledger.next_batch(8, |_| true).unwrap();
        assert_eq!((first, second), (1, 2), "the small peer is not starved");
        let (third, _) = ledger.next_batch(8, |_| true).unwrap();
        assert_eq!(third, 1);
        // Peer 1's outbox is full: nothing for it, and it keeps its place.
        assert!(ledger.next_batch(8, |p| *p != 1).is_none());
        assert_eq!(ledger.pending(&1), 100 - 16);
        ledger.remove_peer(&1);
        assert!(!ledger.has_work());
    }

    #[test]
    fn a_peer_cannot_queue_without_bound() {
        let mut ledger = Ledger::default();
        let flood: Vec<Wanted> = (0..(MAX_ENTRIES_PER_PEER as u32 + 500)).map(want).collect();
        ledger.update(7u8, &flood, false);
        assert_eq!(ledger.pending(&7), MAX_ENTRIES_PER_PEER);
        ledger.record_sent(&7, 1234);
        assert_eq!(ledger.sent_bytes(&7), 1234);
    }
}
