//! The node's side of reachability: AutoNAT's verdicts, the WAN DHT mode
//! that follows them, slots on relays, the relay service and hole punches.

use std::collections::HashMap;
use std::time::Instant;

use libp2p::core::transport::ListenerId;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId, autonat, dcutr, kad, relay};

use super::{BOTH, Dht, NodeTask};
use crate::net::connmgr::{self, Backoff};
use crate::net::reach::{Reachability, is_relayed, relay_listen_addr};

/// Relays found among connected peers that we hold slots on at most
/// (when no static relay is configured).
const DISCOVERED_RELAYS: usize = 2;

/// A slot we hold, or want, on a relay.
pub(super) struct RelaySlot {
    /// `/…/p2p/<relay>/p2p-circuit`.
    listen: Multiaddr,
    listener: Option<ListenerId>,
    backoff: Backoff,
    /// When to ask again; None while a listener is up.
    next_try: Option<Instant>,
}

impl RelaySlot {
    fn new(listen: Multiaddr) -> Self {
        RelaySlot {
            listen,
            listener: None,
            backoff: Backoff::default(),
            next_try: Some(Instant::now()),
        }
    }
}

/// The slots, by relay.
pub(super) type RelaySlots = HashMap<PeerId, RelaySlot>;

/// When to walk the DHT next for peers that offer the relay service.
pub(super) struct RelayWalk {
    backoff: Backoff,
    next: Instant,
}

impl Default for RelayWalk {
    fn default() -> Self {
        RelayWalk {
            backoff: Backoff::default(),
            next: Instant::now(),
        }
    }
}

impl NodeTask {
    /// Applies a reachability verdict: the WAN DHT serves only when we are
    /// not known to be private (until AutoNAT says, peers on a LAN still
    /// find each other through it); the relay service runs only when public.
    pub(super) fn set_reachability(&mut self, now: Reachability) {
        if now != self.reachability {
            tracing::info!("reachability: {now} (was {})", self.reachability);
        }
        let changed = now != self.reachability;
        self.reachability = now;
        if changed {
            self.refresh_announced();
        }
        let mode = match now {
            Reachability::Private => kad::Mode::Client,
            Reachability::Public | Reachability::Unknown => kad::Mode::Server,
        };
        self.kad(Dht::Wan).set_mode(Some(mode));
        if let Some(service) = self.swarm.behaviour_mut().relay.as_mut() {
            let status = match now {
                Reachability::Public => relay::Status::Enable,
                _ => relay::Status::Disable,
            };
            service.set_status(Some(status));
        }
        self.update_relays();
    }

    pub(super) fn on_autonat_event(&mut self, event: autonat::Event) {
        match event {
            autonat::Event::StatusChanged { new, .. } => {
                if self.reach.forced.is_some() {
                    return;
                }
                self.set_reachability(match new {
                    autonat::NatStatus::Public(addr) => {
                        tracing::info!("AutoNAT: reachable at {addr}");
                        Reachability::Public
                    }
                    autonat::NatStatus::Private => Reachability::Private,
                    autonat::NatStatus::Unknown => Reachability::Unknown,
                });
            }
            autonat::Event::OutboundProbe(probe) => tracing::debug!("AutoNAT probe: {probe:?}"),
            autonat::Event::InboundProbe(probe) => {
                tracing::debug!("AutoNAT dial-back for a peer: {probe:?}")
            }
        }
    }

    /// Takes, keeps or gives up slots on relays as our reachability wants:
    /// the static relays, else up to [`DISCOVERED_RELAYS`] connected peers
    /// that offer the relay service.
    pub(super) fn update_relays(&mut self) {
        if !self.reach.wants_relays(self.reachability) {
            for (relay, slot) in self.relays.drain() {
                if let Some(listener) = slot.listener {
                    tracing::info!("relay: giving up the slot on {relay}");
                    self.swarm.remove_listener(listener);
                }
            }
            return;
        }
        for addr in &self.reach.static_relays {
            match relay_listen_addr(addr) {
                Some((relay, listen)) => {
                    self.relays
                        .entry(relay)
                        .or_insert_with(|| RelaySlot::new(listen));
                }
                None => tracing::warn!("Swarm.RelayClient.StaticRelays: {addr} names no peer"),
            }
        }
        if self.reach.static_relays.is_empty() {
            self.discover_relays();
        }
        let now = Instant::now();
        for (relay, slot) in self.relays.iter_mut() {
            if slot.listener.is_some() || slot.next_try.is_none_or(|at| at > now) {
                continue;
            }
            slot.next_try = None;
            match self.swarm.listen_on(slot.listen.clone()) {
                Ok(listener) => {
                    tracing::info!("relay: asking {relay} for a slot");
                    slot.listener = Some(listener);
                }
                Err(err) => {
                    tracing::warn!("relay: cannot listen on {}: {err:?}", slot.listen);
                    retry_later(slot);
                }
            }
        }
    }

    /// Connected peers that speak the relay's hop protocol, reached
    /// directly, become relays while fewer than we want are.
    fn discover_relays(&mut self) {
        let hop = relay::HOP_PROTOCOL_NAME;
        let mut found = Vec::new();
        for (peer, info) in &self.identified {
            if self.relays.len() + found.len() >= DISCOVERED_RELAYS {
                break;
            }
            if self.relays.contains_key(peer) || !info.protocols.contains(&hop) {
                continue;
            }
            let direct = self
                .peers
                .get(peer)
                .is_some_and(|p| p.links.iter().any(|(_, a)| !is_relayed(a)));
            let addr = info.listen_addrs.iter().find(|a| !is_relayed(a));
            if let (true, Some(addr)) = (direct, addr) {
                let mut listen = addr.clone();
                if let Some(Protocol::P2p(_)) = listen.iter().last() {
                    listen.pop();
                }
                let listen = listen.with(Protocol::P2p(*peer)).with(Protocol::P2pCircuit);
                found.push((*peer, listen));
            }
        }
        for (peer, listen) in found {
            tracing::info!("relay: {peer} offers the relay service");
            self.relays.insert(peer, RelaySlot::new(listen));
        }
        self.walk_for_relays();
    }

    /// Too few relays among the peers we know: a walk of the DHT towards
    /// a random key connects us to peers we have not met, and those that
    /// offer the relay service show in their identify. Walks back off (5 s,
    /// growing by half, up to 10 min) while none turns up.
    fn walk_for_relays(&mut self) {
        let now = Instant::now();
        if self.relays.len() >= DISCOVERED_RELAYS || now < self.relay_walk.next {
            return;
        }
        self.relay_walk.next = now + self.relay_walk.backoff.next_delay(connmgr::jitter());
        tracing::info!("relay: walking the DHT for peers that offer the relay service");
        for dht in BOTH {
            self.kad(dht).get_closest_peers(PeerId::random());
        }
    }

    /// A listener ended: when it was a relay slot's, the slot is asked
    /// for again later.
    pub(super) fn relay_listener_closed(&mut self, listener: ListenerId, why: &str) {
        let Some((relay, slot)) = self
            .relays
            .iter_mut()
            .find(|(_, s)| s.listener == Some(listener))
        else {
            return;
        };
        tracing::warn!("relay: no slot on {relay}: {why}");
        slot.listener = None;
        retry_later(slot);
    }

    pub(super) fn on_relay_client_event(&mut self, event: relay::client::Event) {
        match event {
            relay::client::Event::ReservationReqAccepted {
                relay_peer_id,
                renewal,
                limit,
            } => {
                if let Some(slot) = self.relays.get_mut(&relay_peer_id) {
                    slot.backoff.reset();
                }
                if !renewal {
                    tracing::info!("relay: slot reserved on {relay_peer_id} (limit {limit:?})");
                }
            }
            relay::client::Event::OutboundCircuitEstablished { relay_peer_id, .. } => {
                tracing::debug!("relay: circuit through {relay_peer_id}")
            }
            relay::client::Event::InboundCircuitEstablished { src_peer_id, .. } => {
                tracing::debug!("relay: {src_peer_id} reached us through a relay")
            }
        }
    }

    pub(super) fn on_relay_service_event(&mut self, event: relay::Event) {
        match event {
            relay::Event::ReservationReqAccepted {
                src_peer_id,
                renewed: false,
            } => tracing::info!("relay service: slot reserved for {src_peer_id}"),
            relay::Event::ReservationReqDenied {
                src_peer_id,
                status,
            } => {
                if let Some(count) = self.relay_refusals.refused(Instant::now()) {
                    tracing::warn!(
                        "relay service: refused {count} reservation(s), the last from {src_peer_id}: {status:?}"
                    );
                }
            }
            relay::Event::CircuitReqDenied {
                src_peer_id,
                dst_peer_id,
                status,
            } => {
                if let Some(count) = self.relay_refusals.refused(Instant::now()) {
                    tracing::warn!(
                        "relay service: refused {count} circuit(s), the last from {src_peer_id} to {dst_peer_id}: {status:?}"
                    );
                }
            }
            relay::Event::CircuitReqAccepted {
                src_peer_id,
                dst_peer_id,
            } => tracing::info!("relay service: circuit from {src_peer_id} to {dst_peer_id}"),
            relay::Event::CircuitClosed {
                src_peer_id,
                dst_peer_id,
                error,
            } => tracing::debug!(
                "relay service: circuit from {src_peer_id} to {dst_peer_id} closed ({error:?})"
            ),
            other => tracing::debug!("relay service: {other:?}"),
        }
    }

    /// A hole punch that worked leaves the peer connected directly: its
    /// relayed connections go, so bitswap does not pick one of them (the
    /// relay's limits would cut it).
    pub(super) fn on_dcutr_event(&mut self, event: dcutr::Event) {
        let peer = event.remote_peer_id;
        match event.result {
            Ok(_) => {
                tracing::info!("hole punch: direct connection to {peer}");
                let relayed: Vec<ConnectionId> = self
                    .peers
                    .get(&peer)
                    .map(|p| {
                        p.links
                            .iter()
                            .filter(|(_, addr)| is_relayed(addr))
                            .map(|(id, _)| *id)
                            .collect()
                    })
                    .unwrap_or_default();
                for id in relayed {
                    self.swarm.close_connection(id);
                }
            }
            Err(err) => tracing::info!("hole punch to {peer} failed: {err}"),
        }
    }

    /// Our direct announced addresses, offered as candidates for AutoNAT
    /// probes and hole punches. With our peer id at the end: the swarm
    /// passes on no candidate that is already an external address, and
    /// the bare ones are.
    pub(super) fn offer_candidates(&mut self, announced: &[Multiaddr]) {
        let me = Protocol::P2p(*self.swarm.local_peer_id());
        let direct: Vec<Multiaddr> = announced
            .iter()
            .filter(|a| !is_relayed(a))
            .map(|a| match a.iter().last() {
                Some(Protocol::P2p(_)) => a.clone(),
                _ => a.clone().with(me.clone()),
            })
            .collect();
        self.swarm.behaviour_mut().candidates.offer(direct);
    }
}

fn retry_later(slot: &mut RelaySlot) {
    let delay = slot.backoff.next_delay(connmgr::jitter());
    slot.next_try = Some(Instant::now() + delay);
}
