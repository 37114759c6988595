//! Content routing for wants and lookups: the DHTs (unless `Routing.Type`
//! turns them off) and the delegated HTTP routers, asked in parallel; what
//! either finds is dialled over the addresses it came with.

use std::time::{Duration, Instant};

use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::{PeerId, kad};
use tokio::sync::mpsc;

use super::{BOTH, NodeTask};
use crate::codec::cid::{Cid, cid_string};
use crate::net::delegated::{HttpRouters, RoutedPeer};

/// A want no connected peer answered this fast is looked up by the routers.
pub(super) const ASK_ROUTERS_AFTER: Duration = Duration::from_millis(300);
/// The routers are asked again for a want still open after this.
const ASK_ROUTERS_AGAIN: Duration = Duration::from_secs(10);
/// Open wants are checked against those delays this often.
pub(super) const ROUTE_TICK: Duration = Duration::from_millis(100);

/// Where content and peers are looked up (`Routing.Type`,
/// `Routing.DelegatedRouters`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingConfig {
    /// Lookups and provides go to the DHTs.
    pub dht: bool,
    /// `/routing/v1` servers asked beside them.
    pub routers: Vec<String>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            dht: true,
            routers: Vec::new(),
        }
    }
}

/// A delegated router's answer, back on the node's task.
pub(super) enum Delegated {
    /// A provider of a block that is wanted.
    ForWant(RoutedPeer),
    /// A provider for a routing API lookup.
    ForLookup(u64, RoutedPeer),
    /// The routers have said all they had for that lookup.
    LookupDone(u64),
    /// A peer looked for by the routing API.
    ForPeer(u64, Option<RoutedPeer>),
}

/// The delegated routers and the channel their answers come back on.
pub(super) struct Routers {
    http: Option<HttpRouters>,
    answers: mpsc::UnboundedSender<Delegated>,
}

impl Routers {
    pub(super) fn new(urls: Vec<String>, answers: mpsc::UnboundedSender<Delegated>) -> Self {
        let http = (!urls.is_empty()).then(|| HttpRouters::new(urls));
        Routers { http, answers }
    }

    pub(super) fn any(&self) -> bool {
        self.http.is_some()
    }

    /// Runs `ask` on the blocking pool; it sends its answers back itself.
    fn spawn(
        &self,
        ask: impl FnOnce(&HttpRouters, &mpsc::UnboundedSender<Delegated>) + Send + 'static,
    ) {
        let Some(http) = self.http.clone() else {
            return;
        };
        let answers = self.answers.clone();
        tokio::task::spawn_blocking(move || ask(&http, &answers));
    }
}

impl NodeTask {
    /// Asks the routers for providers of the wants that connected peers
    /// have not answered in time.
    pub(super) fn ask_routers(&mut self) {
        if self.want_times.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut due = Vec::new();
        for (cid, (since, asked)) in self.want_times.iter_mut() {
            let ready = match asked {
                None => now.duration_since(*since) >= ASK_ROUTERS_AFTER,
                Some(at) => now.duration_since(*at) >= ASK_ROUTERS_AGAIN,
            };
            if ready {
                *asked = Some(now);
                due.push(*cid);
            }
        }
        for cid in due {
            if self.routing.dht {
                tracing::debug!("asking the DHT for providers of {}", cid_string(&cid));
                let key = kad::RecordKey::new(&cid.hash().to_bytes());
                for dht in BOTH {
                    self.kad(dht).get_providers(key.clone());
                }
            }
            if self.routers.any() {
                tracing::debug!(
                    "asking the delegated routers for providers of {}",
                    cid_string(&cid)
                );
            }
            self.routers.spawn(move |http, answers| {
                http.providers(&cid, &|found| {
                    let _ = answers.send(Delegated::ForWant(found));
                })
            });
        }
    }

    /// Starts the delegated half of a routing API provider lookup; true
    /// when there are routers to ask.
    pub(super) fn delegated_providers(&mut self, number: u64, cid: Cid) -> bool {
        self.routers.spawn(move |http, answers| {
            http.providers(&cid, &|found| {
                let _ = answers.send(Delegated::ForLookup(number, found));
            });
            let _ = answers.send(Delegated::LookupDone(number));
        });
        self.routers.any()
    }

    pub(super) fn delegated_peer(&mut self, number: u64, peer: PeerId) -> bool {
        self.routers.spawn(move |http, answers| {
            let _ = answers.send(Delegated::ForPeer(number, http.peer(&peer)));
        });
        self.routers.any()
    }

    pub(super) fn on_delegated(&mut self, answer: Delegated) {
        match answer {
            Delegated::ForWant(routed) => {
                self.learn(&routed);
                self.dial_routed(routed);
            }
            Delegated::ForLookup(number, routed) => {
                self.learn(&routed);
                let record = self.peer_record(routed.peer);
                self.delegated_provider_found(number, record);
            }
            Delegated::LookupDone(number) => self.delegated_providers_done(number),
            Delegated::ForPeer(number, found) => {
                let record = found.map(|routed| {
                    self.learn(&routed);
                    self.peer_record(routed.peer)
                });
                self.delegated_peer_found(number, record);
            }
        }
    }

    fn learn(&mut self, routed: &RoutedPeer) {
        for addr in &routed.addrs {
            self.lookups.learned(routed.peer, addr.clone());
        }
    }

    fn dial_routed(&mut self, routed: RoutedPeer) {
        if routed.peer == *self.swarm.local_peer_id() || self.swarm.is_connected(&routed.peer) {
            return;
        }
        tracing::debug!("dialling provider {} (delegated routing)", routed.peer);
        let dial = DialOpts::peer_id(routed.peer)
            .condition(PeerCondition::DisconnectedAndNotDialing)
            .addresses(routed.addrs)
            .build();
        if let Err(err) = self.swarm.dial(dial) {
            tracing::debug!("not dialling {}: {err}", routed.peer);
        }
    }
}
