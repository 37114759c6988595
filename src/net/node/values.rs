//! Values in the DHT (`PUT_VALUE` / `GET_VALUE`), as Kubo's DHT does them:
//! a put goes to every one of the closest peers found for the key and
//! counts who took it; a lookup streams each value as a peer answers, and
//! values others put with us are judged before they are kept.

use std::sync::mpsc as std_mpsc;
use std::time::SystemTime;

use libp2p::kad::{self, store::RecordStore};

use super::{Found, NodeTask, PendingPut};
use crate::net::NetError;
use crate::net::records;

impl NodeTask {
    /// Keeps the value here too when it is one we would keep from a peer
    /// (so we serve it), then looks for the closest peers to send it to.
    pub(super) fn put_value(
        &mut self,
        key: Vec<u8>,
        value: Vec<u8>,
        reply: std_mpsc::Sender<Result<usize, NetError>>,
    ) {
        let mut record = kad::Record::new(key.clone(), value);
        record.publisher = Some(*self.swarm.local_peer_id());
        self.keep_if_acceptable(record.clone(), None);
        let kad = &mut self.swarm.behaviour_mut().kad;
        let id = kad.get_closest_peers(key);
        self.finding_peers.insert(id, PendingPut { record, reply });
    }

    /// Keeps `record` in the DHT store when valid and not worse than the
    /// one held; returns why not otherwise.
    fn keep_if_acceptable(
        &mut self,
        mut record: kad::Record,
        from: Option<libp2p::PeerId>,
    ) -> Option<records::Refusal> {
        let store = self.swarm.behaviour_mut().kad.store_mut();
        let held = store.get(&record.key).map(|r| r.value.clone());
        match records::accept(
            record.key.as_ref(),
            &record.value,
            held.as_deref(),
            SystemTime::now(),
        ) {
            Ok(until) => {
                if let (Some(peer), Ok(name)) = (from, records::ipns_name(record.key.as_ref())) {
                    tracing::debug!("kept a DHT record for {name} from {peer}");
                }
                record.expires = Some(until);
                if let Err(err) = store.put(record) {
                    tracing::warn!("DHT store full: {err}");
                }
                None
            }
            Err(refusal) => {
                match from {
                    Some(peer) => tracing::info!("refused a DHT record from {peer}: {refusal}"),
                    None => tracing::debug!("not keeping our own DHT value: {refusal}"),
                }
                Some(refusal)
            }
        }
    }

    pub(super) fn on_kad_event(&mut self, event: kad::Event) {
        match event {
            kad::Event::InboundRequest {
                request:
                    kad::InboundRequest::PutRecord {
                        source,
                        record: Some(record),
                        ..
                    },
            } => {
                self.keep_if_acceptable(record, Some(source));
            }
            // Filtering takes provider records too: they are kept as
            // the DHT would keep them unfiltered.
            kad::Event::InboundRequest {
                request:
                    kad::InboundRequest::AddProvider {
                        record: Some(record),
                    },
            } => {
                let store = self.swarm.behaviour_mut().kad.store_mut();
                if let Err(err) = store.add_provider(record) {
                    tracing::info!("provider record not kept: {err}");
                }
            }
            kad::Event::OutboundQueryProgressed {
                id, result, step, ..
            } => match result {
                kad::QueryResult::GetClosestPeers(found) => {
                    let peers = match found {
                        Ok(ok) => ok.peers,
                        Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
                    };
                    if self.lookups.wants_peer(&id) {
                        self.peer_found(id, peers);
                    } else {
                        self.send_put(id, peers.into_iter().map(|p| p.peer_id).collect());
                    }
                }
                kad::QueryResult::GetProviders(_) if step.last => self.lookups.providers_done(&id),
                kad::QueryResult::StartProviding(Ok(_)) => self.stats.provided(),
                kad::QueryResult::PutRecord(result) => {
                    if let Some((asked, reply)) = self.putting.remove(&id) {
                        let _ = reply.send(put_outcome(asked, result));
                    }
                }
                kad::QueryResult::GetRecord(result) => self.on_value(id, result, step.last),
                kad::QueryResult::Bootstrap(result) if step.last => {
                    let kad = &mut self.swarm.behaviour_mut().kad;
                    let known: usize = kad.kbuckets().map(|b| b.num_entries()).sum();
                    match result {
                        Ok(_) => tracing::debug!("DHT walk done: {known} peers known"),
                        Err(err) => tracing::debug!("DHT walk ended: {err}; {known} peers known"),
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// Sends a pending put to the closest peers found for its key.
    fn send_put(&mut self, finder: kad::QueryId, peers: Vec<libp2p::PeerId>) {
        let Some(PendingPut { record, reply }) = self.finding_peers.remove(&finder) else {
            return;
        };
        if peers.is_empty() {
            let _ = reply.send(Err(NetError::NoPeers));
            return;
        }
        let asked = peers.len();
        tracing::debug!("putting a value with {asked} peers");
        let kad = &mut self.swarm.behaviour_mut().kad;
        let id = kad.put_record_to(record, peers.into_iter(), kad::Quorum::All);
        self.putting.insert(id, (asked, reply));
    }

    fn on_value(&mut self, id: kad::QueryId, result: kad::GetRecordResult, last: bool) {
        let Some(lookup) = self.getting.get_mut(&id) else {
            return;
        };
        let candidates = match result {
            Ok(kad::GetRecordOk::FoundRecord(found)) => {
                let value = found.record.value;
                lookup.answers.push((found.peer, value.clone()));
                let listening = lookup.found.send(Found::Value(value)).is_ok();
                if listening && !last {
                    return;
                }
                if !listening {
                    // The caller has enough: stop asking, and (as Kubo
                    // when its quorum is met) correct nobody.
                    self.getting.remove(&id);
                    if let Some(mut query) = self.swarm.behaviour_mut().kad.query_mut(&id) {
                        query.finish();
                    }
                    return;
                }
                Vec::new()
            }
            Ok(kad::GetRecordOk::FinishedWithNoAdditionalRecord { cache_candidates }) => {
                cache_candidates.into_values().collect()
            }
            Err(_) => Vec::new(),
        };
        if let Some(lookup) = self.getting.remove(&id) {
            let _ = lookup.found.send(Found::Done);
            self.correct_peers(lookup, candidates);
        }
    }

    /// After a lookup, as Kubo's DHT does: the best valid record found is
    /// sent to the peers that answered with another (older or invalid) one
    /// and to the closest peers that had none; kept here if ours was older.
    fn correct_peers(&mut self, lookup: Lookup, without: Vec<libp2p::PeerId>) {
        let Lookup { key, answers, .. } = lookup;
        let values = answers.iter().map(|(_, value)| value.as_slice());
        let Some(best) = records::best(key.as_ref(), values, SystemTime::now()) else {
            return;
        };
        let best = answers[best].1.clone();
        let mut outdated = without;
        let mut ours_outdated = false;
        for (peer, value) in &answers {
            match peer {
                _ if *value == best => {}
                Some(peer) => outdated.push(*peer),
                None => ours_outdated = true,
            }
        }
        let record = kad::Record::new(key, best);
        if ours_outdated {
            self.keep_if_acceptable(record.clone(), None);
        }
        outdated.sort();
        outdated.dedup();
        if !outdated.is_empty() {
            tracing::debug!("sending the best record to {} peers", outdated.len());
            let kad = &mut self.swarm.behaviour_mut().kad;
            kad.put_record_to(record, outdated.into_iter(), kad::Quorum::One);
        }
    }
}

/// A value lookup: where values go as they come, and who said what.
pub(super) struct Lookup {
    key: kad::RecordKey,
    found: std_mpsc::Sender<Found>,
    /// Each answer and who gave it (`None`: this node's store).
    answers: Vec<(Option<libp2p::PeerId>, Vec<u8>)>,
}

impl Lookup {
    pub(super) fn new(key: kad::RecordKey, found: std_mpsc::Sender<Found>) -> Self {
        Lookup {
            key,
            found,
            answers: Vec::new(),
        }
    }
}

/// How many peers took a put: every one asked (quorum all), or those that
/// answered before the others failed or timed out.
fn put_outcome(asked: usize, result: kad::PutRecordResult) -> Result<usize, NetError> {
    match result {
        Ok(_) => Ok(asked),
        Err(
            kad::PutRecordError::QuorumFailed { success, .. }
            | kad::PutRecordError::Timeout { success, .. },
        ) if !success.is_empty() => Ok(success.len()),
        Err(err) => Err(NetError::Put(err.to_string())),
    }
}
