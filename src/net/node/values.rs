//! Values in the DHT (`PUT_VALUE` / `GET_VALUE`), as Kubo's DHT does them:
//! a put goes to every one of the closest peers found for the key and
//! counts who took it; a lookup streams each value as a peer answers, and
//! values others put with us are judged before they are kept.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use libp2p::kad::{self, store::RecordStore};

use super::{BOTH, Dht, Found, NodeTask, PendingPut, is_private};
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
        let tally = PutTally::new(BOTH.len(), reply);
        for dht in BOTH {
            self.keep_if_acceptable(dht, record.clone(), None);
            let id = self.kad(dht).get_closest_peers(key.clone());
            let put = PendingPut {
                record: record.clone(),
                tally: tally.clone(),
            };
            self.finding_peers.insert((dht, id), put);
        }
    }

    /// Keeps `record` in the DHT store when valid and not worse than the
    /// one held; returns why not otherwise.
    fn keep_if_acceptable(
        &mut self,
        dht: Dht,
        mut record: kad::Record,
        from: Option<libp2p::PeerId>,
    ) -> Option<records::Refusal> {
        let store = self.kad(dht).store_mut();
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

    pub(super) fn on_kad_event(&mut self, dht: Dht, event: kad::Event) {
        if let kad::Event::InboundRequest { request } = &event {
            self.dht_requests[dht as usize].count(request);
        }
        match event {
            // The first peer in a table: walk at once (libp2p's automatic
            // walk waits 500 ms for more), so a fresh node's first reads
            // find what is two hops away sooner.
            kad::Event::RoutingUpdated {
                is_new_peer: true, ..
            } => {
                let kad = self.kad(dht);
                if kad.kbuckets().map(|b| b.num_entries()).sum::<usize>() == 1 {
                    let _ = kad.bootstrap();
                }
            }
            kad::Event::InboundRequest {
                request:
                    kad::InboundRequest::PutRecord {
                        source,
                        record: Some(record),
                        ..
                    },
            } => {
                self.keep_if_acceptable(dht, record, Some(source));
            }
            // The LAN table takes peers met on private addresses only.
            kad::Event::RoutablePeer { peer, address }
                if dht == Dht::Lan && is_private(&address) =>
            {
                self.kad(Dht::Lan).add_address(&peer, address);
            }
            // Filtering takes provider records too: they are kept as
            // the DHT would keep them unfiltered.
            kad::Event::InboundRequest {
                request:
                    kad::InboundRequest::AddProvider {
                        record: Some(mut record),
                    },
            } => {
                if record.addresses.is_empty()
                    && let Some(info) = self.identified.get(&record.provider)
                {
                    record.addresses = info.listen_addrs.clone();
                }
                tracing::debug!("{dht:?} DHT: provider record from {}", record.provider);
                let store = self.kad(dht).store_mut();
                if let Err(err) = store.add_provider(record) {
                    tracing::info!("provider record not kept: {err}");
                }
            }
            kad::Event::OutboundQueryProgressed {
                id, result, step, ..
            } => match result {
                kad::QueryResult::GetProviders(found) => {
                    let providers = match found {
                        Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) => providers,
                        _ => Default::default(),
                    };
                    if self.lookups.wants_providers(dht, &id) {
                        self.providers_found(dht, id, providers, step.last);
                    } else {
                        self.dial_providers(providers);
                    }
                }
                kad::QueryResult::GetClosestPeers(found) => {
                    let peers = match found {
                        Ok(ok) => ok.peers,
                        Err(kad::GetClosestPeersError::Timeout { peers, .. }) => peers,
                    };
                    if self.lookups.wants_peer(dht, &id) {
                        self.peer_found(dht, id, peers);
                    } else {
                        self.send_put(dht, id, peers.into_iter().map(|p| p.peer_id).collect());
                    }
                }
                kad::QueryResult::PutRecord(result) => {
                    if let Some((asked, tally)) = self.putting.remove(&(dht, id)) {
                        tally.finish(put_outcome(asked, result));
                    }
                }
                kad::QueryResult::GetRecord(result) => self.on_value(dht, id, result, step.last),
                kad::QueryResult::StartProviding(result) => {
                    if let Err(err) = result {
                        tracing::debug!("{dht:?} DHT: a provide failed: {err}");
                    }
                    self.provide_done(dht, id);
                }
                kad::QueryResult::Bootstrap(result) if step.last => {
                    let known: usize = self.kad(dht).kbuckets().map(|b| b.num_entries()).sum();
                    let which = match dht {
                        Dht::Wan => "",
                        Dht::Lan => "LAN ",
                    };
                    match result {
                        Ok(_) => tracing::debug!("{which}DHT walk done: {known} peers known"),
                        Err(err) => {
                            tracing::debug!("{which}DHT walk ended: {err}; {known} peers known")
                        }
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// Sends a pending put to the closest peers found for its key.
    fn send_put(&mut self, dht: Dht, finder: kad::QueryId, peers: Vec<libp2p::PeerId>) {
        let Some(PendingPut { record, tally }) = self.finding_peers.remove(&(dht, finder)) else {
            return;
        };
        if peers.is_empty() {
            tally.finish(Err(NetError::NoPeers));
            return;
        }
        let asked = peers.len();
        tracing::debug!("{dht:?} DHT: putting a value with {asked} peers");
        let id = self
            .kad(dht)
            .put_record_to(record, peers.into_iter(), kad::Quorum::All);
        self.putting.insert((dht, id), (asked, tally));
    }

    fn on_value(&mut self, dht: Dht, id: kad::QueryId, result: kad::GetRecordResult, last: bool) {
        let Some(lookup) = self.getting.get_mut(&(dht, id)) else {
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
                    self.getting.remove(&(dht, id));
                    if let Some(mut query) = self.kad(dht).query_mut(&id) {
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
        if let Some(lookup) = self.getting.remove(&(dht, id)) {
            // The caller hears the end once both DHTs are done.
            if lookup.open.0.fetch_sub(1, Ordering::AcqRel) == 1 {
                let _ = lookup.found.send(Found::Done);
            }
            self.correct_peers(dht, lookup, candidates);
        }
    }

    /// After a lookup, as Kubo's DHT does: the best valid record found is
    /// sent to the peers that answered with another (older or invalid) one
    /// and to the closest peers that had none; kept here if ours was older.
    fn correct_peers(&mut self, dht: Dht, lookup: Lookup, without: Vec<libp2p::PeerId>) {
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
            self.keep_if_acceptable(dht, record.clone(), None);
        }
        outdated.sort();
        outdated.dedup();
        if !outdated.is_empty() {
            tracing::debug!("sending the best record to {} peers", outdated.len());
            self.kad(dht)
                .put_record_to(record, outdated.into_iter(), kad::Quorum::One);
        }
    }
}

/// A value lookup in one DHT: where values go as they come, and who said
/// what.
pub(super) struct Lookup {
    key: kad::RecordKey,
    found: std_mpsc::Sender<Found>,
    /// Each answer and who gave it (`None`: this node's store).
    answers: Vec<(Option<libp2p::PeerId>, Vec<u8>)>,
    /// The lookups for the same caller not finished yet (one per DHT).
    open: OpenLookups,
}

#[derive(Clone)]
pub(super) struct OpenLookups(Arc<AtomicUsize>);

impl OpenLookups {
    pub(super) fn new(count: usize) -> Self {
        OpenLookups(Arc::new(AtomicUsize::new(count)))
    }
}

impl Lookup {
    pub(super) fn new(
        key: kad::RecordKey,
        found: std_mpsc::Sender<Found>,
        open: OpenLookups,
    ) -> Self {
        Lookup {
            key,
            found,
            answers: Vec::new(),
            open,
        }
    }
}

/// One put to both DHTs: answers the caller once both are done, with how
/// many peers took the value in all. It fails only when neither DHT had
/// a peer to take it.
#[derive(Clone)]
pub(super) struct PutTally(Arc<Mutex<Tally>>);

struct Tally {
    open: usize,
    took: usize,
    error: Option<NetError>,
    reply: Option<std_mpsc::Sender<Result<usize, NetError>>>,
}

impl PutTally {
    pub(super) fn new(open: usize, reply: std_mpsc::Sender<Result<usize, NetError>>) -> Self {
        PutTally(Arc::new(Mutex::new(Tally {
            open,
            took: 0,
            error: None,
            reply: Some(reply),
        })))
    }

    pub(super) fn finish(&self, outcome: Result<usize, NetError>) {
        let mut tally = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Ok(took) => tally.took += took,
            Err(NetError::NoPeers) => {}
            Err(err) => {
                tally.error.get_or_insert(err);
            }
        }
        tally.open = tally.open.saturating_sub(1);
        if tally.open > 0 {
            return;
        }
        let answer = match (tally.took, tally.error.take()) {
            (0, Some(err)) => Err(err),
            (0, None) => Err(NetError::NoPeers),
            (took, _) => Ok(took),
        };
        if let Some(reply) = tally.reply.take() {
            let _ = reply.send(answer);
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
