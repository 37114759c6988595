//! The server's ledger: what each peer wants from us (its wantlist, kept
//! up to date by full and partial lists and cancels), what is being served
//! to it right now, the bytes exchanged with it, and whose turn it is.
//! Peers are served in turn, a batch each, so one peer asking for a lot
//! does not starve the others; each peer's list is bounded.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::Hash;

use crate::codec::Cid;

/// Entries kept per peer (queued or being served); more are ignored until
/// some are served.
pub const MAX_ENTRIES_PER_PEER: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    pub cid: Cid,
    /// A want-have (answer HAVE/DONT_HAVE), else a want-block.
    pub have_only: bool,
    pub send_dont_have: bool,
    priority: i32,
    /// Arrival order; also tells a task from a later want of the same CID.
    seq: u64,
}

impl Task {
    /// A task outside any ledger (for tests of what serves it).
    #[cfg(test)]
    pub fn new(cid: Cid, have_only: bool, send_dont_have: bool) -> Self {
        Task {
            cid,
            have_only,
            send_dont_have,
            priority: 0,
            seq: 0,
        }
    }

    /// Want-haves first (answering them is cheap and lets the peer decide
    /// whom to ask for blocks), then by priority (highest first), then
    /// arrival.
    fn key(&self) -> QueueKey {
        (!self.have_only, std::cmp::Reverse(self.priority), self.seq)
    }
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
    queue: BTreeMap<QueueKey, Task>,
    keys: HashMap<Cid, QueueKey>,
    /// Taken by a worker and not finished: CID → the task's seq, and
    /// whether it is a want-have.
    serving: HashMap<Cid, (u64, bool)>,
    sent_bytes: u64,
    received_bytes: u64,
}

impl PeerWants {
    fn len(&self) -> usize {
        self.queue.len() + self.serving.len()
    }
}

pub struct Ledger<P> {
    peers: HashMap<P, PeerWants>,
    /// Peers with something queued, in the order they are served.
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
    /// Applies a peer's wantlist; a full one replaces what it wanted
    /// (including what is being served: what the new list lacks is
    /// cancelled).
    pub fn update(&mut self, peer: P, entries: &[Wanted], full: bool) {
        let wants = self.peers.entry(peer).or_default();
        if full {
            wants.queue.clear();
            wants.keys.clear();
            let listed: HashSet<Cid> = entries
                .iter()
                .filter(|e| !e.cancel)
                .map(|e| e.cid)
                .collect();
            wants.serving.retain(|cid, _| listed.contains(cid));
        }
        for entry in entries {
            if let Some(key) = wants.keys.remove(&entry.cid) {
                wants.queue.remove(&key);
            }
            if entry.cancel {
                wants.serving.remove(&entry.cid);
                continue;
            }
            // Already on its way (unless only a HAVE is: a want-block
            // then still wants the block), or over the bound.
            let on_its_way = wants
                .serving
                .get(&entry.cid)
                .is_some_and(|&(_, have_only)| entry.have_only || !have_only);
            if on_its_way || wants.len() >= MAX_ENTRIES_PER_PEER {
                continue;
            }
            let task = Task {
                cid: entry.cid,
                have_only: entry.have_only,
                send_dont_have: entry.send_dont_have,
                priority: entry.priority,
                seq: self.next_seq,
            };
            self.next_seq += 1;
            wants.keys.insert(task.cid, task.key());
            wants.queue.insert(task.key(), task);
        }
        self.take_turn_if_pending(peer);
    }

    fn take_turn_if_pending(&mut self, peer: P) {
        let pending = self.peers.get(&peer).is_some_and(|w| !w.queue.is_empty());
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
    /// has room), and up to `max_tasks` of its wants, moved from its list
    /// to those being served. The peer goes to the back of the line.
    /// Every batch must be handed back to [`Ledger::finish`].
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
                wants.serving.insert(task.cid, (task.seq, task.have_only));
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

    /// A batch is done: `unsent` (what did not fit in the peer's outgoing
    /// queue) goes back to the head of its list, in its old place, unless
    /// the peer cancelled it meanwhile.
    pub fn finish(&mut self, peer: &P, batch: &[Task], unsent: &[Task], sent_bytes: u64) {
        let Some(wants) = self.peers.get_mut(peer) else {
            return;
        };
        wants.sent_bytes += sent_bytes;
        for task in batch {
            if wants.serving.get(&task.cid).map(|&(seq, _)| seq) == Some(task.seq) {
                wants.serving.remove(&task.cid);
                if unsent.contains(task) && !wants.keys.contains_key(&task.cid) {
                    wants.keys.insert(task.cid, task.key());
                    wants.queue.insert(task.key(), *task);
                }
            }
        }
        self.take_turn_if_pending(*peer);
    }

    pub fn record_received(&mut self, peer: P, bytes: u64) {
        self.peers.entry(peer).or_default().received_bytes += bytes;
    }

    pub fn sent_bytes(&self, peer: &P) -> u64 {
        self.peers.get(peer).map_or(0, |w| w.sent_bytes)
    }

    pub fn received_bytes(&self, peer: &P) -> u64 {
        self.peers.get(peer).map_or(0, |w| w.received_bytes)
    }

    /// Wants queued for `peer`, not counting those being served.
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

    fn cancel(n: u32) -> Wanted {
        Wanted {
            cancel: true,
            ..want(n)
        }
    }

    fn cids(tasks: &[Task]) -> Vec<Cid> {
        tasks.iter().map(|t| t.cid).collect()
    }

    #[test]
    fn a_want_block_that_comes_while_its_want_have_is_served_is_kept() {
        let mut ledger = Ledger::default();
        let have = Wanted {
            have_only: true,
            ..want(1)
        };
        ledger.update(1u8, &[have], false);
        let (_, batch) = ledger.next_batch(16, |_| true).unwrap();
        assert!(batch[0].have_only);
        // The block is asked for while the HAVE is on its way.
        ledger.update(1u8, &[want(1)], false);
        ledger.finish(&1, &batch, &[], 0);
        let (_, batch) = ledger.next_batch(16, |_| true).unwrap();
        assert_eq!(cids(&batch), vec![cid(1)]);
        assert!(!batch[0].have_only);
        // A block on its way is not queued again, nor is a HAVE asked for after it.
        ledger.update(1u8, &[want(1), have], false);
        assert_eq!(ledger.pending(&1), 0);
    }

    #[test]
    fn cancels_and_full_lists_update_what_a_peer_wants() {
        let mut ledger = Ledger::default();
        ledger.update(1u8, &[want(1), want(2), want(3)], false);
        assert_eq!(ledger.pending(&1), 3);
        ledger.update(1, &[cancel(2)], false);
        assert_eq!(ledger.pending(&1), 2);
        ledger.update(1, &[want(4)], false);
        assert_eq!(ledger.pending(&1), 3, "a partial list adds");
        ledger.update(1, &[want(9)], true);
        assert_eq!(ledger.pending(&1), 1, "a full list replaces");
        let (peer, tasks) = ledger.next_batch(10, |_| true).unwrap();
        assert_eq!((peer, cids(&tasks)), (1, vec![cid(9)]));
        ledger.finish(&1, &tasks, &[], 10);
        assert!(!ledger.has_work());
        assert!(ledger.next_batch(10, |_| true).is_none());
        assert_eq!(ledger.sent_bytes(&1), 10);
    }

    #[test]
    fn a_want_repeated_while_queued_or_served_is_served_once() {
        let mut ledger = Ledger::default();
        ledger.update(1u8, &[want(1), want(1)], false);
        assert_eq!(ledger.pending(&1), 1);
        let (_, tasks) = ledger.next_batch(10, |_| true).unwrap();
        ledger.update(1, &[want(1)], false);
        ledger.update(1, &[want(1)], true);
        assert_eq!(ledger.pending(&1), 0, "already being served");
        ledger.finish(&1, &tasks, &[], 0);
        assert!(!ledger.has_work());
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
        assert_eq!(cids(&tasks), [cid(8), cid(5), cid(1), cid(2)]);
    }

    #[test]
    fn what_did_not_fit_goes_back_in_its_place_unless_cancelled() {
        let mut ledger = Ledger::default();
        ledger.update(1u8, &(0..6).map(want).collect::<Vec<_>>(), false);
        let (_, tasks) = ledger.next_batch(4, |_| true).unwrap();
        assert_eq!(cids(&tasks), [cid(0), cid(1), cid(2), cid(3)]);
        // Cancelled while its block was being read.
        ledger.update(1, &[cancel(3)], false);
        ledger.finish(&1, &tasks, &tasks[2..], 0);
        let (_, tasks) = ledger.next_batch(10, |_| true).unwrap();
        assert_eq!(cids(&tasks), [cid(2), cid(4), cid(5)]);
    }

    #[test]
    fn two_peers_asking_a_lot_are_served_interleaved() {
        let mut ledger = Ledger::default();
        ledger.update(1u8, &(0..100).map(want).collect::<Vec<_>>(), false);
        ledger.update(2u8, &(100..200).map(want).collect::<Vec<_>>(), false);
        let mut order = Vec::new();
        while let Some((peer, tasks)) = ledger.next_batch(8, |_| true) {
            order.push(peer);
            ledger.finish(&peer, &tasks, &[], 0);
        }
        // 13 turns each (100 wants, 8 a turn), alternating.
        assert_eq!(order.len(), 26);
        assert!(order.chunks(2).all(|pair| pair == [1, 2]), "{order:?}");
    }

    #[test]
    fn a_small_peer_is_not_starved_and_a_busy_peer_is_skipped() {
        let mut ledger = Ledger::default();
        ledger.update(1u8, &(0..100).map(want).collect::<Vec<_>>(), false);
        ledger.update(2u8, &[want(1000), want(1001)], false);
        let (first, _) = ledger.next_batch(8, |_| true).unwrap();
        let (second, _) = ledger.next_batch(8, |_| true).unwrap();
        let (third, _) = ledger.next_batch(8, |_| true).unwrap();
        assert_eq!((first, second, third), (1, 2, 1));
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
        // Those being served count too.
        let (_, tasks) = ledger.next_batch(100, |_| true).unwrap();
        ledger.update(7, &[want(1_000_000)], false);
        assert_eq!(ledger.pending(&7), MAX_ENTRIES_PER_PEER - 100);
        ledger.finish(&7, &tasks, &[], 0);
        ledger.update(7, &[want(1_000_000)], false);
        assert_eq!(ledger.pending(&7), MAX_ENTRIES_PER_PEER - 99);
        ledger.record_received(7, 1234);
        assert_eq!(ledger.received_bytes(&7), 1234);
    }
}
