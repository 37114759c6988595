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
            kad::Event::OutboundQueryProgressed {
                id, result, step, ..
            } => match result {
                kad::QueryResult::GetClosestPeers(found) => {
                    let peers = match found {
                        Ok(ok) => ok.peers,
                        Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
                    };
                    self.send_put(id, peers.into_iter().map(|p| p.peer_id).collect());
                }
                kad::QueryResult::PutRecord(result) => {
                    if let Some((asked, reply)) = self.putting.remove(&id) {
                        let _ = reply.send(put_outcome(asked, result));
                    }
                }
                kad::QueryResult::GetRecord(result) => self.on_value(id, result, step.last),
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
        let Some(found) = self.getting.get(&id) else {
            return;
        };
        let delivered = match result {
            Ok(kad::GetRecordOk::FoundRecord(peer_record)) => {
                found.send(Found::Value(peer_record.record.value)).is_ok()
            }
            Ok(kad::GetRecordOk::FinishedWithNoAdditionalRecord { .. }) | Err(_) => false,
        };
        if delivered && !last {
            return;
        }
        // Over, or nobody listens any more: stop asking.
        if let Some(found) = self.getting.remove(&id) {
            let _ = found.send(Found::Done);
        }
        if let Some(mut query) = self.swarm.behaviour_mut().kad.query_mut(&id) {
            query.finish();
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
