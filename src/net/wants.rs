//! The client's wantlist manager: for each wanted block, one peer is asked
//! for the block itself and the others only whether they have it; a HAVE
//! makes its sender a candidate, a DONT_HAVE or a slow answer moves the
//! block request to the next candidate. Peers that send blocks and have few
//! requests outstanding are preferred, which spreads a large fetch across
//! the peers that hold it. Pure bookkeeping: the node sends what it returns.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::time::{Duration, Instant};

use crate::codec::Cid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AskKind {
    Block,
    Have,
    Cancel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ask<P> {
    pub peer: P,
    pub cid: Cid,
    pub kind: AskKind,
}

#[derive(Default)]
struct Score {
    /// Block requests outstanding with this peer.
    assigned: usize,
    /// Blocks it has sent us.
    received: u64,
    /// Its last answer was a DONT_HAVE: it is asked for blocks nobody said
    /// HAVE for only when no other peer may have them (a connected peer
    /// that holds none of a file then costs each block no round trip).
    missing: bool,
}

struct Want<P> {
    /// Who was asked for the block, and when.
    block_from: Option<(P, Instant)>,
    /// Everyone asked anything about it (they get the cancel).
    asked: HashSet<P>,
    have: Vec<P>,
    dont_have: HashSet<P>,
}

pub struct WantManager<P> {
    wants: HashMap<Cid, Want<P>>,
    peers: HashMap<P, Score>,
    /// A block request unanswered this long moves to another peer.
    block_timeout: Duration,
}

impl<P: Copy + Eq + Hash + Ord> WantManager<P> {
    pub fn new(block_timeout: Duration) -> Self {
        WantManager {
            wants: HashMap::new(),
            peers: HashMap::new(),
            block_timeout,
        }
    }

    pub fn is_wanted(&self, cid: &Cid) -> bool {
        self.wants.contains_key(cid)
    }

    pub fn len(&self) -> usize {
        self.wants.len()
    }

    pub fn is_empty(&self) -> bool {
        self.wants.is_empty()
    }

    /// A new want: the block from the best peer, HAVE from the rest.
    pub fn want(&mut self, cid: Cid, now: Instant) -> Vec<Ask<P>> {
        if self.wants.contains_key(&cid) {
            return Vec::new();
        }
        self.wants.insert(
            cid,
            Want {
                block_from: None,
                asked: HashSet::new(),
                have: Vec::new(),
                dont_have: HashSet::new(),
            },
        );
        let mut asks = self.reassign(&cid, now);
        let block_peer = self.wants[&cid].block_from.map(|(p, _)| p);
        let mut others: Vec<P> = self
            .peers
            .keys()
            .copied()
            .filter(|p| Some(*p) != block_peer)
            .collect();
        others.sort();
        for peer in others {
            asks.push(self.ask(&cid, peer, AskKind::Have));
        }
        asks
    }

    /// A new peer hears every want: the block where nobody is asked yet.
    pub fn connect(&mut self, peer: P, now: Instant) -> Vec<Ask<P>> {
        if self.peers.contains_key(&peer) {
            return Vec::new();
        }
        self.peers.insert(peer, Score::default());
        let cids: Vec<Cid> = self.wants.keys().copied().collect();
        let mut asks = Vec::new();
        for cid in cids {
            if self.wants[&cid].block_from.is_none() {
                asks.extend(self.reassign(&cid, now));
            } else {
                asks.push(self.ask(&cid, peer, AskKind::Have));
            }
        }
        asks
    }

    /// A peer gone: its block requests go to others.
    pub fn disconnect(&mut self, peer: P, now: Instant) -> Vec<Ask<P>> {
        if self.peers.remove(&peer).is_none() {
            return Vec::new();
        }
        let mut orphaned = Vec::new();
        for (cid, want) in &mut self.wants {
            want.asked.remove(&peer);
            want.have.retain(|p| *p != peer);
            want.dont_have.remove(&peer);
            if want.block_from.is_some_and(|(p, _)| p == peer) {
                want.block_from = None;
                orphaned.push(*cid);
            }
        }
        orphaned
            .iter()
            .flat_map(|cid| self.reassign(cid, now))
            .collect()
    }

    pub fn have(&mut self, cid: &Cid, peer: P, now: Instant) -> Vec<Ask<P>> {
        if let Some(score) = self.peers.get_mut(&peer) {
            score.missing = false;
        }
        let Some(want) = self.wants.get_mut(cid) else {
            return Vec::new();
        };
        if !want.have.contains(&peer) {
            want.have.push(peer);
        }
        want.dont_have.remove(&peer);
        match want.block_from {
            None => self.reassign(cid, now),
            // The peer asked is overdue: this one has it, ask it now.
            Some((slow, since))
                if slow != peer && now.duration_since(since) >= self.block_timeout =>
            {
                self.unassign(cid);
                vec![
                    Ask {
                        peer: slow,
                        cid: *cid,
                        kind: AskKind::Cancel,
                    },
                    self.assign(cid, peer, now),
                ]
            }
            Some(_) => Vec::new(),
        }
    }

    pub fn dont_have(&mut self, cid: &Cid, peer: P, now: Instant) -> Vec<Ask<P>> {
        if let Some(score) = self.peers.get_mut(&peer) {
            score.missing = true;
        }
        let Some(want) = self.wants.get_mut(cid) else {
            return Vec::new();
        };
        want.dont_have.insert(peer);
        want.have.retain(|p| *p != peer);
        if want.block_from.is_some_and(|(p, _)| p == peer) {
            self.unassign(cid);
            return self.reassign(cid, now);
        }
        Vec::new()
    }

    /// The block arrived (from `from`, if a peer sent it) or is no longer
    /// wanted: everyone asked gets a cancel.
    pub fn remove(&mut self, cid: &Cid, from: Option<P>) -> Vec<Ask<P>> {
        if let Some(score) = from.and_then(|p| self.peers.get_mut(&p)) {
            score.received += 1;
            score.missing = false;
        }
        self.unassign(cid);
        let Some(want) = self.wants.remove(cid) else {
            return Vec::new();
        };
        let mut asked: Vec<P> = want.asked.into_iter().collect();
        asked.sort();
        asked
            .into_iter()
            .map(|peer| Ask {
                peer,
                cid: *cid,
                kind: AskKind::Cancel,
            })
            .collect()
    }

    /// Block requests unanswered for too long move to another candidate
    /// (or are asked again when there is none).
    pub fn expire(&mut self, now: Instant) -> Vec<Ask<P>> {
        let slow: Vec<(Cid, P)> = self
            .wants
            .iter()
            .filter_map(|(cid, w)| match w.block_from {
                Some((peer, since)) if now.duration_since(since) >= self.block_timeout => {
                    Some((*cid, peer))
                }
                _ => None,
            })
            .collect();
        let mut asks = Vec::new();
        for (cid, peer) in slow {
            self.unassign(&cid);
            let candidates = self.candidates(&cid, Some(peer));
            let next = if candidates.is_empty() {
                peer
            } else {
                // Withdrawn from the slow peer, so it does not send the
                // block too if it gets to it after all.
                asks.push(Ask {
                    peer,
                    cid,
                    kind: AskKind::Cancel,
                });
                self.best(&candidates)
            };
            asks.push(self.assign(&cid, next, now));
        }
        asks
    }

    /// Everything each peer should know we want, for a periodic full
    /// wantlist: the block from its assigned peer, HAVE from the others.
    pub fn full_lists(&mut self) -> HashMap<P, Vec<Ask<P>>> {
        let mut lists: HashMap<P, Vec<Ask<P>>> = HashMap::new();
        let peers: Vec<P> = self.peers.keys().copied().collect();
        for (cid, want) in &mut self.wants {
            for &peer in &peers {
                if want.dont_have.contains(&peer) {
                    continue;
                }
                let kind = if want.block_from.is_some_and(|(p, _)| p == peer) {
                    AskKind::Block
                } else {
                    AskKind::Have
                };
                want.asked.insert(peer);
                lists.entry(peer).or_default().push(Ask {
                    peer,
                    cid: *cid,
                    kind,
                });
            }
        }
        lists
    }

    /// Peers that may have `cid`: those that said HAVE, else every peer
    /// that has not said DONT_HAVE.
    fn candidates(&self, cid: &Cid, except: Option<P>) -> Vec<P> {
        let want = &self.wants[cid];
        let said_have: Vec<P> = want
            .have
            .iter()
            .copied()
            .filter(|p| Some(*p) != except && self.peers.contains_key(p))
            .collect();
        if !said_have.is_empty() {
            return said_have;
        }
        self.peers
            .keys()
            .copied()
            .filter(|p| Some(*p) != except && !want.dont_have.contains(p))
            .collect()
    }

    /// Those that did not just say DONT_HAVE, then fewest requests
    /// outstanding, then most blocks sent, then by id.
    fn best(&self, candidates: &[P]) -> P {
        *candidates
            .iter()
            .min_by_key(|p| {
                let score = &self.peers[p];
                (
                    score.missing,
                    score.assigned,
                    std::cmp::Reverse(score.received),
                    **p,
                )
            })
            .expect("candidates is not empty")
    }

    fn reassign(&mut self, cid: &Cid, now: Instant) -> Vec<Ask<P>> {
        let candidates = self.candidates(cid, None);
        if candidates.is_empty() {
            return Vec::new();
        }
        let peer = self.best(&candidates);
        vec![self.assign(cid, peer, now)]
    }

    fn assign(&mut self, cid: &Cid, peer: P, now: Instant) -> Ask<P> {
        if let Some(score) = self.peers.get_mut(&peer) {
            score.assigned += 1;
        }
        if let Some(want) = self.wants.get_mut(cid) {
            want.block_from = Some((peer, now));
        }
        self.ask(cid, peer, AskKind::Block)
    }

    fn unassign(&mut self, cid: &Cid) {
        let Some((peer, _)) = self.wants.get_mut(cid).and_then(|w| w.block_from.take()) else {
            return;
        };
        if let Some(score) = self.peers.get_mut(&peer) {
            score.assigned = score.assigned.saturating_sub(1);
        }
    }

    fn ask(&mut self, cid: &Cid, peer: P, kind: AskKind) -> Ask<P> {
        if let Some(want) = self.wants.get_mut(cid) {
            want.asked.insert(peer);
        }
        Ask {
            peer,
            cid: *cid,
            kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cid::{CidBuilder, RAW};

    fn cid(n: u8) -> Cid {
        CidBuilder::v1().cid_of(RAW, &[n])
    }

    /// A manager with `peers` connected at `now`.
    fn with_peers(peers: &[u8], now: Instant) -> WantManager<u8> {
        let mut wants = WantManager::new(TIMEOUT);
        for &peer in peers {
            wants.connect(peer, now);
        }
        wants
    }

    fn kinds(asks: &[Ask<u8>]) -> Vec<(u8, AskKind)> {
        let mut kinds: Vec<(u8, AskKind)> = asks.iter().map(|a| (a.peer, a.kind)).collect();
        kinds.sort_by_key(|(p, _)| *p);
        kinds
    }

    const TIMEOUT: Duration = Duration::from_secs(2);

    #[test]
    fn one_peer_is_asked_for_the_block_the_others_whether_they_have_it() {
        let now = Instant::now();
        let mut wants = WantManager::new(TIMEOUT);
        assert!(wants.want(cid(1), now).is_empty(), "no peers yet");
        let asks = wants.connect(1, now);
        assert_eq!(kinds(&asks), [(1, AskKind::Block)]);
        wants.connect(2, now);
        wants.connect(3, now);
        let asks = wants.want(cid(2), now);
        assert_eq!(asks.iter().filter(|a| a.kind == AskKind::Block).count(), 1);
        assert_eq!(asks.iter().filter(|a| a.kind == AskKind::Have).count(), 2);
        // Peer 1 already has a block request, so another peer gets this one.
        let block_peer = asks.iter().find(|a| a.kind == AskKind::Block).unwrap().peer;
        assert_ne!(block_peer, 1);
        assert!(wants.want(cid(2), now).is_empty(), "asked once");
    }

    #[test]
    fn dont_have_moves_the_request_to_a_peer_that_has_it() {
        let now = Instant::now();
        let mut wants = with_peers(&[1, 2, 3], now);
        let asks = wants.want(cid(7), now);
        let first = asks.iter().find(|a| a.kind == AskKind::Block).unwrap().peer;
        let other = if first == 3 { 2 } else { 3 };
        assert!(
            wants.have(&cid(7), other, now).is_empty(),
            "already asked someone"
        );
        let moved = wants.dont_have(&cid(7), first, now);
        assert_eq!(kinds(&moved), [(other, AskKind::Block)]);
        // Nobody else: a DONT_HAVE from the last candidate leaves it waiting.
        let remaining = [1, 2, 3]
            .into_iter()
            .filter(|p| *p != first && *p != other)
            .collect::<Vec<_>>();
        let moved = wants.dont_have(&cid(7), other, now);
        assert_eq!(kinds(&moved), [(remaining[0], AskKind::Block)]);
        assert!(wants.dont_have(&cid(7), remaining[0], now).is_empty());
        // A later HAVE brings it back.
        assert_eq!(
            kinds(&wants.have(&cid(7), first, now)),
            [(first, AskKind::Block)]
        );
    }

    #[test]
    fn arrival_cancels_with_everyone_asked_and_frees_the_peer() {
        let now = Instant::now();
        let mut wants = with_peers(&[1, 2], now);
        wants.want(cid(1), now);
        let cancels = wants.remove(&cid(1), Some(1));
        assert_eq!(
            kinds(&cancels),
            [(1, AskKind::Cancel), (2, AskKind::Cancel)]
        );
        assert!(wants.is_empty());
        // Peer 1 sent a block and has nothing outstanding: it is preferred.
        let asks = wants.want(cid(2), now);
        assert_eq!(
            asks.iter().find(|a| a.kind == AskKind::Block).unwrap().peer,
            1
        );
        assert!(wants.remove(&cid(9), None).is_empty());
    }

    #[test]
    fn slow_peers_and_lost_peers_hand_their_requests_on() {
        let now = Instant::now();
        let mut wants = with_peers(&[1], now);
        wants.want(cid(1), now);
        assert!(wants.expire(now + Duration::from_secs(1)).is_empty());
        // Alone and slow: asked again.
        let again = wants.expire(now + TIMEOUT);
        assert_eq!(kinds(&again), [(1, AskKind::Block)]);
        wants.connect(2, now);
        let later = now + TIMEOUT * 3;
        let moved = wants.expire(later);
        assert_eq!(kinds(&moved), [(1, AskKind::Cancel), (2, AskKind::Block)]);
        let moved = wants.disconnect(2, later);
        assert_eq!(kinds(&moved), [(1, AskKind::Block)]);
        assert!(wants.disconnect(2, later).is_empty());
    }

    #[test]
    fn a_have_takes_over_an_overdue_block_request() {
        let now = Instant::now();
        let mut wants = with_peers(&[1], now);
        wants.want(cid(1), now);
        wants.connect(2, now);
        assert!(wants.have(&cid(1), 2, now + TIMEOUT / 2).is_empty());
        let later = now + TIMEOUT;
        assert_eq!(
            kinds(&wants.have(&cid(1), 2, later)),
            [(1, AskKind::Cancel), (2, AskKind::Block)]
        );
        assert!(wants.have(&cid(1), 1, later).is_empty(), "2 is asked now");
        let cancels = wants.remove(&cid(1), Some(2));
        assert_eq!(
            kinds(&cancels),
            [(1, AskKind::Cancel), (2, AskKind::Cancel)]
        );
    }

    #[test]
    fn a_peer_that_just_said_dont_have_is_asked_for_blocks_last() {
        let now = Instant::now();
        let mut wants = with_peers(&[1, 2], now);
        let block_peer = |asks: &[Ask<u8>]| {
            asks.iter()
                .find(|a| a.kind == AskKind::Block)
                .map(|a| a.peer)
        };
        assert_eq!(block_peer(&wants.want(cid(1), now)), Some(1));
        assert_eq!(block_peer(&wants.dont_have(&cid(1), 1, now)), Some(2));
        // Peer 2 has every request outstanding, yet gets the next ones too.
        for n in 2..6 {
            assert_eq!(block_peer(&wants.want(cid(n), now)), Some(2), "{n}");
        }
        // Once it says HAVE (or sends a block), peer 1 is asked again.
        wants.have(&cid(9), 1, now);
        assert_eq!(block_peer(&wants.want(cid(6), now)), Some(1));
        // With nobody else, it is asked all the same.
        wants.dont_have(&cid(6), 1, now);
        wants.disconnect(2, now);
        assert_eq!(block_peer(&wants.want(cid(7), now)), Some(1));
    }

    #[test]
    fn many_wants_spread_over_the_peers() {
        let now = Instant::now();
        let mut wants = with_peers(&[1, 2, 3, 4], now);
        let mut per_peer = HashMap::new();
        for n in 0..100 {
            for ask in wants.want(cid(n), now) {
                if ask.kind == AskKind::Block {
                    *per_peer.entry(ask.peer).or_insert(0) += 1;
                }
            }
        }
        assert_eq!(per_peer.len(), 4);
        assert!(per_peer.values().all(|&n| n == 25), "{per_peer:?}");
        let lists = wants.full_lists();
        assert_eq!(lists.len(), 4);
        assert!(lists.values().all(|l| l.len() == 100));
    }
}
