//! Reachability: whether peers can dial us (AutoNAT, or forced by
//! config), and what follows from it, as Kubo decides it: a public node
//! serves the WAN DHT and may relay for others; a private one is a WAN DHT
//! client and takes slots on relays (circuit v2) so peers reach it through
//! them, until a hole punch (DCUtR) gives a direct connection.

use std::fmt;
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId, autonat, relay};

/// What AutoNAT (or `Internal.Libp2pForceReachability`) says of us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reachability {
    Unknown,
    Public,
    Private,
}

impl fmt::Display for Reachability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reachability::Unknown => "Unknown",
            Reachability::Public => "Public",
            Reachability::Private => "Private",
        })
    }
}

/// The config behind reachability (`AutoNAT`, `Internal`, `Swarm.Relay*`,
/// `Swarm.EnableHolePunching`).
#[derive(Clone, Debug)]
pub struct ReachConfig {
    /// `AutoNAT.ServiceMode` is not `disabled`: we dial back for others.
    pub autonat_service: bool,
    /// `Internal.Libp2pForceReachability`: AutoNAT's verdict is not asked.
    pub forced: Option<Reachability>,
    /// rsipfs only, `AutoNAT.AllowPrivateAddresses`: probes on private and
    /// loopback addresses count (a LAN without a public address, tests).
    pub autonat_private: bool,
    /// `Swarm.RelayClient.Enabled` (None: unset, on while private).
    pub relay_client: Option<bool>,
    /// `Swarm.RelayClient.StaticRelays`: `/…/p2p/<relay>` addresses.
    pub static_relays: Vec<Multiaddr>,
    /// `Swarm.RelayService`, None when disabled.
    pub relay_service: Option<RelayLimits>,
    /// `Swarm.EnableHolePunching`.
    pub hole_punching: bool,
}

impl Default for ReachConfig {
    fn default() -> Self {
        ReachConfig {
            autonat_service: true,
            forced: None,
            autonat_private: false,
            relay_client: None,
            static_relays: Vec::new(),
            relay_service: Some(RelayLimits::default()),
            hole_punching: true,
        }
    }
}

impl ReachConfig {
    /// Whether we hold relay slots while `now` is our reachability: when
    /// private (unless `Swarm.RelayClient.Enabled` is false), or always
    /// when the client is switched on with static relays.
    pub fn wants_relays(&self, now: Reachability) -> bool {
        match self.relay_client {
            Some(false) => false,
            Some(true) if !self.static_relays.is_empty() => true,
            _ => now == Reachability::Private,
        }
    }

    /// The AutoNAT v1 behaviour (client and server) for this config.
    pub fn autonat(&self, me: PeerId) -> autonat::Behaviour {
        let mut config = autonat::Config {
            only_global_ips: !self.autonat_private,
            ..autonat::Config::default()
        };
        if !self.autonat_service {
            // v1 serves in the same behaviour as it probes: a zero budget
            // refuses every dial-back request.
            config.throttle_clients_global_max = 0;
            config.throttle_clients_peer_max = 0;
        }
        if self.forced.is_some() {
            // The verdict is given: no probing.
            config.boot_delay = NEVER;
            config.retry_interval = NEVER;
            config.refresh_interval = NEVER;
        }
        autonat::Behaviour::new(me, config)
    }
}

/// Long enough to mean "not in this process's life" without overflowing
/// a timer.
const NEVER: Duration = Duration::from_secs(365 * 24 * 3600);

/// `Swarm.RelayService` limits, with Kubo's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct RelayLimits {
    /// `MaxReservations`: slots held by all peers together.
    pub max_reservations: usize,
    /// `MaxReservationsPerPeer`.
    pub max_reservations_per_peer: usize,
    /// `ReservationTTL`.
    pub reservation_ttl: Duration,
    /// `MaxCircuits`: relayed connections open at once to one peer.
    pub max_circuits: usize,
    /// `Limit.Duration`: a relayed connection's life (zero: no limit).
    pub circuit_duration: Duration,
    /// `Limit.Data`: bytes each way on a relayed connection (zero: no limit).
    pub circuit_data: u64,
}

impl Default for RelayLimits {
    fn default() -> Self {
        RelayLimits {
            max_reservations: 128,
            max_reservations_per_peer: 4,
            reservation_ttl: Duration::from_secs(3600),
            max_circuits: 16,
            circuit_duration: Duration::from_secs(120),
            circuit_data: 128 << 10,
        }
    }
}

impl RelayLimits {
    pub fn relay_config(&self) -> relay::Config {
        let duration = if self.circuit_duration.is_zero() {
            NEVER
        } else {
            self.circuit_duration
        };
        relay::Config {
            max_reservations: self.max_reservations,
            max_reservations_per_peer: self.max_reservations_per_peer,
            reservation_duration: self.reservation_ttl,
            // Kubo's limit is per reserving peer; all of them together
            // hold at most this many.
            max_circuits: self.max_circuits.saturating_mul(self.max_reservations),
            max_circuits_per_peer: self.max_circuits,
            max_circuit_duration: duration,
            max_circuit_bytes: self.circuit_data,
            ..relay::Config::default()
        }
    }
}

/// Whether `addr` goes through a relay.
pub fn is_relayed(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| p == Protocol::P2pCircuit)
}

/// The relay a `/…/p2p/<relay>` address names, and the address to listen
/// on through it (`/…/p2p/<relay>/p2p-circuit`).
pub fn relay_listen_addr(relay: &Multiaddr) -> Option<(PeerId, Multiaddr)> {
    let mut addr = relay.clone();
    if addr.iter().last() == Some(Protocol::P2pCircuit) {
        addr.pop();
    }
    let Some(Protocol::P2p(peer)) = addr.iter().last() else {
        return None;
    };
    Some((peer, addr.with(Protocol::P2pCircuit)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_are_wanted_when_private_or_forced_on_with_static_relays() {
        let mut config = ReachConfig::default();
        assert!(!config.wants_relays(Reachability::Unknown));
        assert!(config.wants_relays(Reachability::Private));
        config.relay_client = Some(true);
        assert!(!config.wants_relays(Reachability::Public));
        config.static_relays = vec![
            "/ip4/1.2.3.4/tcp/1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
                .parse()
                .unwrap(),
        ];
        assert!(config.wants_relays(Reachability::Public));
        config.relay_client = Some(false);
        assert!(!config.wants_relays(Reachability::Private));
    }

    #[test]
    fn a_relay_address_becomes_a_circuit_listen_address() {
        let id = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
        let relay: Multiaddr = format!("/ip4/1.2.3.4/udp/1/quic-v1/p2p/{id}")
            .parse()
            .unwrap();
        let (peer, listen) = relay_listen_addr(&relay).unwrap();
        assert_eq!(peer.to_string(), id);
        assert_eq!(listen.to_string(), format!("{relay}/p2p-circuit"));
        assert!(is_relayed(&listen) && !is_relayed(&relay));
        assert_eq!(relay_listen_addr(&listen).unwrap().1, listen);
        assert!(relay_listen_addr(&"/ip4/1.2.3.4/tcp/1".parse().unwrap()).is_none());
    }

    #[test]
    fn zero_limits_mean_none() {
        let limits = RelayLimits {
            circuit_duration: Duration::ZERO,
            circuit_data: 0,
            ..RelayLimits::default()
        };
        let config = limits.relay_config();
        assert_eq!(config.max_circuit_bytes, 0);
        assert_eq!(config.max_circuit_duration, NEVER);
        assert_eq!(
            RelayLimits::default().relay_config().max_circuit_bytes,
            131072
        );
    }
}
