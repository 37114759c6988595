//! The swarm task: one tokio task owns the libp2p swarm and the bitswap
//! state (wants and waiters); a task per peer writes its outgoing messages,
//! and a task per incoming stream reads messages in.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, Transport, autonat, connection_limits, dcutr,
    identify, kad, noise, ping, relay, tcp, yamux,
};
use tokio::sync::mpsc;

use super::NetError;
use super::announce::{AnnounceConfig, is_private};
use super::connmgr::{self, Backoff, Connected, Watermarks};
use super::dnsaddr;
use super::limits::{Limits, RefusalLog};
use super::message::{self, DONT_HAVE, Entry, HAVE, Message, WANT_BLOCK, WANT_HAVE, Wantlist};
use super::outbox::{Outbox, spawn_writer};
use super::providers::{DhtStore, ProviderBook, ProviderCache};
use super::reach::{ReachConfig, Reachability, is_relayed};
use super::receiver::{Checked, Incoming, Receiver, WantedSet};
use super::server::Server;
use super::stats::{Stats, StatsSnapshot};
use super::wants::{Ask, AskKind, WantManager};
pub use provides::RequestCounts;

mod lookups;
mod provides;
mod reach;
mod routing;
mod values;
use crate::blockstore::Blockstore;
use crate::codec::cid::{Cid, cid_string};
use crate::names::DnsLinkLookup;
pub use lookups::PeerRecord;
pub use routing::RoutingConfig;

/// Newest first: outgoing streams try them in this order (all but the
/// unversioned one).
const BITSWAP: &[&str] = &[
    "/ipfs/bitswap/1.2.0",
    "/ipfs/bitswap/1.1.0",
    "/ipfs/bitswap/1.0.0",
    "/ipfs/bitswap",
];
/// Deadlines, slow block requests and the DHT are looked at this often.
const TICK: Duration = Duration::from_secs(1);
/// How long asking for our listen addresses waits for listeners to start.
const LISTEN_WAIT: Duration = Duration::from_secs(3);
/// Each peer gets our whole wantlist again this often, in case a message
/// was lost. Not more often: a want-block repeated while the block is on
/// its way makes the peer send it twice.
const FULL_WANTLIST_EVERY: Duration = Duration::from_secs(10);
const KAD_PROTOCOL: &str = "/ipfs/kad/1.0.0";
/// Kubo's LAN DHT: only peers on private and loopback addresses.
const LAN_KAD_PROTOCOL: &str = "/ipfs/lan/kad/1.0.0";
/// How often expired provider records are swept from the datastore.
const EXPIRE_PROVIDERS_EVERY: Duration = Duration::from_secs(3600);

/// Which of the two DHTs (Kubo's dual DHT): the public one, or the LAN one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Dht {
    Wan,
    Lan,
}

/// Lookups, provides and puts go to both, as Kubo's dual DHT sends them.
/// Unlike Kubo's, our WAN DHT also takes peers on private addresses (so
/// rsipfs and Helia nodes on a LAN find each other on it): provides go to
/// both rather than to the WAN one alone once it has peers.
const BOTH: [Dht; 2] = [Dht::Wan, Dht::Lan];
/// A DHT query (a lookup, or the puts to the closest peers) gives up after
/// this; a put is two of them.
pub const KAD_QUERY_TIMEOUT: Duration = Duration::from_secs(30);
/// A block request unanswered this long goes to another peer.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(2);

pub struct NetConfig {
    pub keypair: Keypair,
    pub listen: Vec<Multiaddr>,
    /// Dialled at start; `/dnsaddr` entries once resolved.
    pub bootstrap: Vec<Multiaddr>,
    /// Where `/dnsaddr` TXT records are read (the system's resolver).
    pub dns: Arc<dyn DnsLinkLookup>,
    /// `Swarm.ConnMgr`; None when its type is `none`.
    pub watermarks: Option<Watermarks>,
    /// `Peering.Peers`: kept connected, never trimmed.
    pub peering: Vec<(PeerId, Vec<Multiaddr>)>,
    pub limits: Limits,
    pub announce: AnnounceConfig,
    /// Where provider records kept as a DHT server go.
    pub providers: Arc<dyn ProviderBook>,
    pub routing: RoutingConfig,
    /// AutoNAT, relays, hole punching.
    pub reach: ReachConfig,
}

/// Refused connections are logged at most this often.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// How long the `/dnsaddr` bootstrap entries may take to resolve, all of them.
const BOOTSTRAP_DNS_LIMIT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub struct PeerInfo {
    pub peer: PeerId,
    pub addr: Multiaddr,
    /// We dialled it (else it dialled us).
    pub outbound: bool,
    /// The last ping's round trip.
    pub latency: Option<Duration>,
}

/// What a peer told us about itself (identify).
#[derive(Clone, Debug)]
pub struct PeerIdentity {
    pub public_key: libp2p::identity::PublicKey,
    pub addrs: Vec<Multiaddr>,
    pub agent: String,
    pub protocols: Vec<String>,
}

enum Command {
    /// Each block, to its own receiver; wanted together (one message per peer).
    Fetch {
        blocks: Vec<(Cid, std_mpsc::Sender<Bytes>)>,
        deadline: Instant,
    },
    /// Dials `peer` at any of `addrs` and answers when connected.
    Connect {
        addrs: Vec<Multiaddr>,
        peer: PeerId,
        reply: std_mpsc::Sender<Result<(), String>>,
    },
    /// Dials these addresses, one dial per peer they name.
    Dial {
        addrs: Vec<Multiaddr>,
    },
    Disconnect {
        peer: PeerId,
    },
    /// Announce in the DHT that we have these blocks.
    Provide {
        cids: Vec<Cid>,
    },
    Peers {
        reply: std_mpsc::Sender<Vec<PeerInfo>>,
    },
    ListenAddrs {
        reply: std_mpsc::Sender<Vec<Multiaddr>>,
    },
    /// The addresses we announce (identify, `id`).
    Announced {
        reply: std_mpsc::Sender<Vec<Multiaddr>>,
    },
    Identity {
        peer: PeerId,
        reply: std_mpsc::Sender<Option<PeerIdentity>>,
    },
    PeeringAdd {
        peer: PeerId,
        addrs: Vec<Multiaddr>,
    },
    PeeringRemove {
        peer: PeerId,
        reply: std_mpsc::Sender<bool>,
    },
    PeeringList {
        reply: std_mpsc::Sender<Vec<(PeerId, Vec<Multiaddr>)>>,
    },
    Wantlist {
        reply: std_mpsc::Sender<Vec<Cid>>,
    },
    /// Puts a value with the peers closest to its key.
    PutValue {
        key: Vec<u8>,
        value: Vec<u8>,
        reply: std_mpsc::Sender<Result<usize, NetError>>,
    },
    /// Streams the values peers hold under a key.
    GetValues {
        key: Vec<u8>,
        found: std_mpsc::Sender<Found>,
    },
    /// Streams the providers of a block, each once, until the lookup ends.
    FindProviders {
        cid: Cid,
        found: std_mpsc::Sender<PeerRecord>,
    },
    /// A peer's addresses: known here, or looked up in the DHT.
    FindPeer {
        peer: PeerId,
        reply: std_mpsc::Sender<Option<PeerRecord>>,
    },
    Reach {
        reply: std_mpsc::Sender<Reachability>,
    },
    DhtTables {
        reply: std_mpsc::Sender<Vec<DhtTable>>,
    },
    Shutdown,
}

/// One DHT's routing table, for `stats dht`.
#[derive(Clone, Debug)]
pub struct DhtTable {
    /// `wan` or `lan`.
    pub name: &'static str,
    /// It answers queries (else it only asks).
    pub server: bool,
    /// The peers of each non-empty bucket.
    pub buckets: Vec<Vec<PeerId>>,
    /// Requests answered since start.
    pub requests: RequestCounts,
}

/// What a value lookup yields, one at a time.
pub enum Found {
    Value(Vec<u8>),
    /// The lookup is over.
    Done,
}

/// A put waiting for the closest peers, then for their answers.
struct PendingPut {
    record: kad::Record,
    tally: values::PutTally,
}

enum Inbound {
    Message(PeerId, Message),
    /// A message's blocks, hashed (and stored when wanted).
    Checked(PeerId, Vec<Checked>),
    /// The peer sent something malformed or oversized.
    Misbehaved(PeerId, String),
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    /// First: a refused connection costs no other behaviour anything.
    limits: connection_limits::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    /// Reservations on relays and connections through them.
    relay_client: relay::client::Behaviour,
    /// Relaying for others (`Swarm.RelayService`).
    relay: Toggle<relay::Behaviour>,
    /// Hole punches over relayed connections (`Swarm.EnableHolePunching`).
    dcutr: Toggle<dcutr::Behaviour>,
    autonat: autonat::Behaviour,
    candidates: super::candidates::Behaviour,
    /// Outgoing bitswap streams.
    streams: libp2p_stream::Behaviour,
    /// Incoming bitswap streams.
    inbound: super::inbound::Behaviour,
    kad: kad::Behaviour<DhtStore>,
    lan_kad: kad::Behaviour<DhtStore>,
}

/// The sync side's way into the node.
#[derive(Clone)]
pub struct NetHandle {
    commands: mpsc::UnboundedSender<Command>,
    pub peer_id: PeerId,
    pub public_key: libp2p::identity::PublicKey,
    stats: Arc<Stats>,
    dns: Arc<dyn DnsLinkLookup>,
}

/// A running node; dropping it stops it.
pub struct Node {
    pub handle: NetHandle,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.handle.commands.send(Command::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl NetHandle {
    fn ask<T>(
        &self,
        make: impl FnOnce(std_mpsc::Sender<T>) -> Command,
        limit: Duration,
    ) -> Option<T> {
        let (tx, rx) = std_mpsc::channel();
        self.commands.send(make(tx)).ok()?;
        rx.recv_timeout(limit).ok()
    }

    /// The block `cid` from connected peers, verified and stored locally.
    pub fn fetch(&self, cid: &Cid, limit: Duration) -> Result<Bytes, NetError> {
        let mut started = self.start_fetches(&[*cid], limit)?;
        let rx = started.pop().ok_or(NetError::Stopped)?;
        rx.recv_timeout(limit)
            .map_err(|_| NetError::Timeout(cid_string(cid)))
    }

    /// Starts fetching `cids` (all wanted at once) without waiting: each
    /// receiver gets its block, verified and stored, unless `limit` passes
    /// first (then it is dropped).
    pub fn start_fetches(
        &self,
        cids: &[Cid],
        limit: Duration,
    ) -> Result<Vec<std_mpsc::Receiver<Bytes>>, NetError> {
        let deadline = Instant::now() + limit;
        let (blocks, receivers): (Vec<_>, Vec<_>) = cids
            .iter()
            .map(|cid| {
                let (tx, rx) = std_mpsc::channel();
                ((*cid, tx), rx)
            })
            .unzip();
        self.commands
            .send(Command::Fetch { blocks, deadline })
            .map_err(|_| NetError::Stopped)?;
        Ok(receivers)
    }

    /// Dials `/ip4/…/tcp/…/p2p/<peer>` (or `/udp/…/quic-v1`, `/dns…`,
    /// `/dnsaddr/…`) and waits for the connection.
    pub fn connect(&self, addr: &Multiaddr, limit: Duration) -> Result<PeerId, NetError> {
        let peer = match addr.iter().last() {
            Some(Protocol::P2p(peer)) => peer,
            _ => {
                return Err(NetError::BadAddress(format!(
                    "{addr}: the address must end in /p2p/<peer id>"
                )));
            }
        };
        let deadline = Instant::now() + limit;
        let addrs = if dnsaddr::has_dnsaddr(addr) {
            dnsaddr::expand(addr, self.dns.as_ref(), limit).map_err(|err| NetError::Connect {
                addr: addr.to_string(),
                reason: err.to_string(),
            })?
        } else {
            vec![addr.clone()]
        };
        let result = self
            .ask(
                |reply| Command::Connect { addrs, peer, reply },
                deadline.saturating_duration_since(Instant::now()),
            )
            .ok_or_else(|| NetError::Connect {
                addr: addr.to_string(),
                reason: "timed out".into(),
            })?;
        result.map_err(|reason| NetError::Connect {
            addr: addr.to_string(),
            reason,
        })?;
        Ok(peer)
    }

    /// Announces in the DHT (in the background) that we have `cids`.
    pub fn provide(&self, cids: Vec<Cid>) {
        let _ = self.commands.send(Command::Provide { cids });
    }

    /// Notes a reprovide round, for `stats provide`.
    pub fn reprovided(&self, cids: usize, took: Duration) {
        self.stats.reprovided(cids, took);
    }

    pub fn provide_stats(&self) -> super::ProvideStats {
        self.stats.provide_stats()
    }

    pub fn disconnect(&self, peer: PeerId) {
        let _ = self.commands.send(Command::Disconnect { peer });
    }

    pub fn peers(&self) -> Vec<PeerInfo> {
        self.ask(|reply| Command::Peers { reply }, Duration::from_secs(5))
            .unwrap_or_default()
    }

    /// The blocks wanted from the network right now.
    pub fn wantlist(&self) -> Vec<Cid> {
        self.ask(|reply| Command::Wantlist { reply }, Duration::from_secs(5))
            .unwrap_or_default()
    }

    pub fn bitswap_stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Puts `value` under `key` with the peers closest to the key (and
    /// keeps it here when it is a valid IPNS record); how many took it.
    pub fn put_value(
        &self,
        key: Vec<u8>,
        value: Vec<u8>,
        limit: Duration,
    ) -> Result<usize, NetError> {
        let (reply, answer) = std_mpsc::channel();
        self.commands
            .send(Command::PutValue { key, value, reply })
            .map_err(|_| NetError::Stopped)?;
        answer
            .recv_timeout(limit)
            .map_err(|_| NetError::Put("no answer in time".into()))?
    }

    /// The values held under `key` here and by the peers closest to it,
    /// unvalidated: at most `enough` of them, gathered until the lookup
    /// ends or `limit` passes.
    pub fn get_values(
        &self,
        key: Vec<u8>,
        enough: usize,
        limit: Duration,
    ) -> Result<Vec<Vec<u8>>, NetError> {
        let deadline = Instant::now() + limit;
        let (found, values_rx) = std_mpsc::channel();
        self.commands
            .send(Command::GetValues { key, found })
            .map_err(|_| NetError::Stopped)?;
        let mut values = Vec::new();
        while values.len() < enough {
            let left = deadline.saturating_duration_since(Instant::now());
            match values_rx.recv_timeout(left) {
                Ok(Found::Value(value)) => values.push(value),
                Ok(Found::Done) | Err(_) => break,
            }
        }
        // Dropping the receiver ends the lookup at its next answer.
        Ok(values)
    }

    /// The providers of `cid` in the DHT (this node too, when it provides
    /// it), each once as the lookup finds them; the receiver ends with the
    /// lookup. Dropping it ends the lookup.
    pub fn find_providers(&self, cid: &Cid) -> Result<std_mpsc::Receiver<PeerRecord>, NetError> {
        let (found, records) = std_mpsc::channel();
        self.commands
            .send(Command::FindProviders { cid: *cid, found })
            .map_err(|_| NetError::Stopped)?;
        Ok(records)
    }

    /// What AutoNAT (or the config) says of our reachability.
    pub fn reachability(&self) -> Option<Reachability> {
        self.ask(|reply| Command::Reach { reply }, Duration::from_secs(5))
    }

    /// The routing tables of both DHTs.
    pub fn dht_tables(&self) -> Vec<DhtTable> {
        self.ask(|reply| Command::DhtTables { reply }, Duration::from_secs(5))
            .unwrap_or_default()
    }

    /// `peer`'s addresses, when connected or found in the DHT within `limit`.
    pub fn find_peer(&self, peer: PeerId, limit: Duration) -> Option<PeerRecord> {
        self.ask(|reply| Command::FindPeer { peer, reply }, limit)
            .flatten()
    }

    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.ask(
            |reply| Command::ListenAddrs { reply },
            Duration::from_secs(5),
        )
        .unwrap_or_default()
    }

    /// The addresses we tell peers (`Addresses.Announce` and the rest).
    pub fn announced_addrs(&self) -> Vec<Multiaddr> {
        self.ask(|reply| Command::Announced { reply }, Duration::from_secs(5))
            .unwrap_or_default()
    }

    /// What a connected peer told us about itself.
    pub fn identity_of(&self, peer: PeerId) -> Option<PeerIdentity> {
        self.ask(
            |reply| Command::Identity { peer, reply },
            Duration::from_secs(5),
        )
        .flatten()
    }

    /// Protects `peer` and keeps it connected (`swarm peering add`).
    pub fn peering_add(&self, peer: PeerId, addrs: Vec<Multiaddr>) -> Result<(), NetError> {
        self.commands
            .send(Command::PeeringAdd { peer, addrs })
            .map_err(|_| NetError::Stopped)
    }

    /// Whether `peer` was a peering peer.
    pub fn peering_remove(&self, peer: PeerId) -> Result<bool, NetError> {
        self.ask(
            |reply| Command::PeeringRemove { peer, reply },
            Duration::from_secs(5),
        )
        .ok_or(NetError::Stopped)
    }

    pub fn peering_list(&self) -> Vec<(PeerId, Vec<Multiaddr>)> {
        self.ask(
            |reply| Command::PeeringList { reply },
            Duration::from_secs(5),
        )
        .unwrap_or_default()
    }
}

/// Starts the node on a thread of its own, listening on `config.listen`.
pub fn start(config: NetConfig, store: Arc<dyn Blockstore>) -> Result<Node, NetError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("net")
        .enable_all()
        .build()
        .map_err(|e| NetError::Start(e.to_string()))?;
    let public_key = config.keypair.public();
    let peer_id = public_key.to_peer_id();
    let (commands, command_rx) = mpsc::unbounded_channel();
    let (started_tx, started_rx) = std_mpsc::channel();
    let stats = Arc::new(Stats::default());
    let task_stats = Arc::clone(&stats);
    let dns = Arc::clone(&config.dns);
    let dnsaddr_bootstrap: Vec<Multiaddr> = config
        .bootstrap
        .iter()
        .filter(|a| dnsaddr::has_dnsaddr(a))
        .cloned()
        .collect();
    let thread = std::thread::Builder::new()
        .name("net-node".into())
        .spawn(move || {
            runtime.block_on(async move {
                match NodeTask::new(config, store, task_stats) {
                    Ok(task) => {
                        let _ = started_tx.send(Ok(()));
                        task.run(command_rx).await;
                    }
                    Err(err) => {
                        let _ = started_tx.send(Err(err));
                    }
                }
            });
        })
        .map_err(|e| NetError::Start(e.to_string()))?;
    match started_rx.recv() {
        Ok(Ok(())) => {
            let handle = NetHandle {
                commands,
                peer_id,
                public_key,
                stats,
                dns,
            };
            resolve_bootstrap(&handle, dnsaddr_bootstrap);
            Ok(Node {
                handle,
                thread: Some(thread),
            })
        }
        Ok(Err(err)) => Err(err),
        Err(_) => Err(NetError::Start("the node thread stopped".into())),
    }
}

/// Resolves the `/dnsaddr` bootstrap entries on a thread of their own (DNS
/// may be slow or down) and dials what they name.
fn resolve_bootstrap(handle: &NetHandle, entries: Vec<Multiaddr>) {
    if entries.is_empty() {
        return;
    }
    tracing::info!("Bootstrap: resolving {} /dnsaddr entries", entries.len());
    let handle = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("dnsaddr-bootstrap".into())
        .spawn(move || {
            let deadline = Instant::now() + BOOTSTRAP_DNS_LIMIT;
            for entry in entries {
                let left = deadline.saturating_duration_since(Instant::now());
                match dnsaddr::expand(&entry, handle.dns.as_ref(), left) {
                    Ok(addrs) => {
                        tracing::info!("bootstrap {entry}: {} addresses", addrs.len());
                        let _ = handle.commands.send(Command::Dial { addrs });
                    }
                    Err(err) => tracing::warn!("bootstrap: {err}"),
                }
            }
        });
    if let Err(err) = spawned {
        tracing::warn!("not resolving the /dnsaddr bootstrap entries: {err}");
    }
}

/// The system's DNS configuration for the swarm's DNS transport; without
/// one (no /etc/resolv.conf) names simply do not resolve.
fn dns_config() -> (libp2p::dns::ResolverConfig, libp2p::dns::ResolverOpts) {
    match hickory_resolver::system_conf::read_system_conf() {
        Ok(config) => config,
        Err(err) => {
            tracing::warn!("no DNS for /dns addresses: reading /etc/resolv.conf: {err}");
            (
                libp2p::dns::ResolverConfig::from_name_servers(Vec::new()),
                libp2p::dns::ResolverOpts::default(),
            )
        }
    }
}

/// An inbound connection still without a secure, multiplexed session
/// after this is dropped (go-libp2p's accept timeout): a socket that never
/// speaks must not hold a pending slot for ever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// TCP with noise and yamux, at most `streams` streams per connection.
fn tcp_transport(
    key: &Keypair,
    streams: usize,
) -> Result<
    libp2p::core::transport::Boxed<(PeerId, StreamMuxerBox)>,
    Box<dyn std::error::Error + Send + Sync>,
> {
    Ok(
        tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
            .upgrade(libp2p::core::upgrade::Version::V1Lazy)
            .authenticate(noise::Config::new(key)?)
            .multiplex(muxer(streams))
            .timeout(HANDSHAKE_TIMEOUT)
            .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
            .boxed(),
    )
}

/// Yamux with at most `streams` streams per connection (TCP and relayed
/// connections).
fn muxer(streams: usize) -> yamux::Config {
    let mut yamux = yamux::Config::default();
    yamux.set_max_num_streams(streams);
    yamux
}

/// Dial options for `addrs`: one per peer named by a `/p2p` suffix (all
/// its addresses in one dial), one per address naming none.
fn dials(addrs: Vec<Multiaddr>) -> Vec<DialOpts> {
    let mut by_peer: Vec<(PeerId, Vec<Multiaddr>)> = Vec::new();
    let mut dials = Vec::new();
    for addr in addrs {
        match addr.iter().last() {
            Some(Protocol::P2p(peer)) => match by_peer.iter_mut().find(|(p, _)| *p == peer) {
                Some((_, list)) => list.push(addr),
                None => by_peer.push((peer, vec![addr])),
            },
            _ => dials.push(DialOpts::unknown_peer_id().address(addr).build()),
        }
    }
    dials.extend(
        by_peer
            .into_iter()
            .map(|(peer, addrs)| DialOpts::peer_id(peer).addresses(addrs).build()),
    );
    dials
}

struct NodeTask {
    swarm: Swarm<Behaviour>,
    store: Arc<dyn Blockstore>,
    control: libp2p_stream::Control,
    /// Who waits for each wanted block.
    wants: HashMap<Cid, Vec<Waiter>>,
    /// The keys of `wants`, for the receiving threads.
    wanted: WantedSet,
    /// Hashes and stores the blocks peers send.
    receiver: Receiver,
    /// Which peer is asked what for each wanted block.
    asking: WantManager<PeerId>,
    server: Server,
    stats: Arc<Stats>,
    /// When each open want was first made, and last looked up in the DHT.
    want_times: HashMap<Cid, (Instant, Option<Instant>)>,
    peers: HashMap<PeerId, Peer>,
    connecting: HashMap<PeerId, Vec<std_mpsc::Sender<Result<(), String>>>>,
    inbound_tx: mpsc::UnboundedSender<Inbound>,
    inbound_rx: mpsc::UnboundedReceiver<Inbound>,
    routing: RoutingConfig,
    routers: routing::Routers,
    delegated_rx: mpsc::UnboundedReceiver<routing::Delegated>,
    last_full_wantlist: Instant,
    /// Puts looking for the closest peers, and puts sent to them.
    finding_peers: HashMap<(Dht, kad::QueryId), PendingPut>,
    putting: HashMap<(Dht, kad::QueryId), (usize, values::PutTally)>,
    /// Value lookups under way.
    getting: HashMap<(Dht, kad::QueryId), values::Lookup>,
    /// Provider records kept as a DHT server (both DHTs).
    providers: Arc<ProviderCache>,
    last_expiry: Instant,
    watermarks: Option<Watermarks>,
    peering: HashMap<PeerId, PeeringPeer>,
    /// What connected peers told us about themselves.
    identified: HashMap<PeerId, identify::Info>,
    announce: AnnounceConfig,
    refusals: RefusalLog,
    /// Provider and peer lookups asked for by the routing API.
    lookups: lookups::Lookups,
    provides: provides::ProvideQueue,
    /// DHT requests answered, WAN and LAN.
    dht_requests: [provides::RequestCounts; 2],
    /// Listeners that have reported no address yet: until they have (or
    /// LISTEN_WAIT passed), asking for our listen addresses waits, so the
    /// daemon prints them all once ready.
    starting_listeners: HashSet<libp2p::core::transport::ListenerId>,
    listen_addrs_asked: Vec<std_mpsc::Sender<Vec<Multiaddr>>>,
    started_at: Instant,
    reach: ReachConfig,
    reachability: Reachability,
    relays: reach::RelaySlots,
    relay_walk: reach::RelayWalk,
    /// Reservations and circuits the relay service refused.
    relay_refusals: RefusalLog,
}

/// A protected peer kept connected: reconnected with a backoff.
struct PeeringPeer {
    addrs: Vec<Multiaddr>,
    backoff: Backoff,
    /// When to dial next; None while connected or a dial is under way.
    next_dial: Option<Instant>,
}

impl PeeringPeer {
    fn new(addrs: Vec<Multiaddr>) -> Self {
        PeeringPeer {
            addrs,
            backoff: Backoff::default(),
            next_dial: Some(Instant::now()),
        }
    }

    fn retry_later(&mut self, peer: &PeerId) {
        let delay = self.backoff.next_delay(connmgr::jitter());
        tracing::debug!("peering: {peer} redialled in {delay:?}");
        self.next_dial = Some(Instant::now() + delay);
    }
}

/// Someone waiting for a block, until its deadline.
type Waiter = (std_mpsc::Sender<Bytes>, Instant);

struct Peer {
    /// Each connection and the address at its other end.
    links: Vec<(ConnectionId, Multiaddr)>,
    outbox: Outbox,
    since: Instant,
    outbound: bool,
    latency: Option<Duration>,
    /// Block bytes received from it.
    useful: u64,
}

impl Peer {
    /// The address to show: a direct connection's, when there is one.
    fn addr(&self) -> Option<&Multiaddr> {
        let mut addrs = self.links.iter().map(|(_, addr)| addr);
        addrs
            .clone()
            .find(|a| !is_relayed(a))
            .or_else(|| addrs.next())
    }
}

fn entry_for(ask: &Ask<PeerId>) -> Entry {
    Entry {
        block: ask.cid.to_bytes(),
        priority: 1,
        cancel: ask.kind == AskKind::Cancel,
        want_type: if ask.kind == AskKind::Have {
            WANT_HAVE
        } else {
            WANT_BLOCK
        },
        send_dont_have: ask.kind != AskKind::Cancel,
    }
}

fn wantlist(entries: Vec<Entry>, full: bool) -> Message {
    Message {
        wantlist: Some(Wantlist { entries, full }),
        ..Message::default()
    }
}

/// A Kademlia behaviour for one of the two DHTs, storing provider records
/// in the shared book.
fn dht_behaviour(
    key: &Keypair,
    dht: Dht,
    providers: Arc<ProviderCache>,
) -> kad::Behaviour<DhtStore> {
    let peer = key.public().to_peer_id();
    let protocol = match dht {
        Dht::Wan => KAD_PROTOCOL,
        Dht::Lan => LAN_KAD_PROTOCOL,
    };
    let mut config = kad::Config::new(StreamProtocol::new(protocol));
    // Values others put are judged before being kept
    // (`on_put_request`); republishing is the owner's job,
    // as in Kubo, not the DHT's.
    config
        .set_query_timeout(KAD_QUERY_TIMEOUT)
        .set_record_filtering(kad::StoreInserts::FilterBoth)
        .set_replication_interval(None)
        .set_publication_interval(None)
        .set_provider_record_ttl(Some(super::providers::PROVIDE_VALIDITY))
        // Every closest peer that had no record is told
        // the best one after a lookup (`values.rs`).
        .set_caching(kad::Caching::Enabled {
            max_peers: kad::K_VALUE.get() as u16,
        });
    if dht == Dht::Lan {
        // Only peers on private addresses enter the LAN table
        // (`on_kad_event` checks each).
        config.set_kbucket_inserts(kad::BucketInserts::Manual);
    }
    let mut kad = kad::Behaviour::with_config(peer, DhtStore::new(peer, providers), config);
    // Answer queries even without a confirmed public address:
    // on a LAN or loopback there is none.
    kad.set_mode(Some(kad::Mode::Server));
    kad
}

/// Sweeps expired provider records off the async runtime.
fn expire_providers(providers: &Arc<ProviderCache>) {
    let providers = Arc::clone(providers);
    tokio::task::spawn_blocking(move || providers.expire());
}

impl NodeTask {
    pub(super) fn kad(&mut self, dht: Dht) -> &mut kad::Behaviour<DhtStore> {
        match dht {
            Dht::Wan => &mut self.swarm.behaviour_mut().kad,
            Dht::Lan => &mut self.swarm.behaviour_mut().lan_kad,
        }
    }

    /// A peer's listen addresses go to each DHT it speaks: all of them to
    /// the WAN one, the private ones to the LAN one.
    fn on_identify(&mut self, peer: PeerId, info: identify::Info) {
        let bitswap = info.protocols.iter().any(|p| BITSWAP.contains(&p.as_ref()));
        self.lookups.identified(peer, &info.listen_addrs, bitswap);
        let speaks = |protocol: &str| info.protocols.iter().any(|p| p.as_ref() == protocol);
        if speaks(KAD_PROTOCOL) {
            for addr in &info.listen_addrs {
                self.kad(Dht::Wan).add_address(&peer, addr.clone());
            }
        }
        if speaks(LAN_KAD_PROTOCOL) {
            for addr in info.listen_addrs.iter().filter(|a| is_private(a)) {
                self.kad(Dht::Lan).add_address(&peer, addr.clone());
            }
        }
        if self.peers.contains_key(&peer) {
            self.identified.insert(peer, info);
        }
    }

    /// Dials providers a lookup found, for bitswap to ask.
    pub(super) fn dial_providers(&mut self, providers: impl IntoIterator<Item = PeerId>) {
        for provider in providers {
            if provider != *self.swarm.local_peer_id() && !self.swarm.is_connected(&provider) {
                tracing::debug!("dialling provider {provider}");
                let _ = self.swarm.dial(provider);
            }
        }
    }

    fn new(
        config: NetConfig,
        store: Arc<dyn Blockstore>,
        stats: Arc<Stats>,
    ) -> Result<Self, NetError> {
        let start_err = |e: &dyn std::fmt::Display| NetError::Start(e.to_string());
        let (accepted_tx, accepted_rx) = mpsc::unbounded_channel();
        let dns_resolver = dns_config();
        let limits = config.limits.clone();
        tracing::info!(
            "resource limits: {} inbound connections ({} in handshake), {} per peer, {} streams per connection",
            limits.inbound,
            limits.pending_inbound,
            limits.per_peer,
            limits.streams_per_connection
        );
        let streams = limits.streams_per_connection;
        let providers = ProviderCache::new(config.providers);
        expire_providers(&providers);
        let me = config.keypair.public().to_peer_id();
        let reach_config = config.reach.clone();
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair)
            .with_tokio()
            .with_other_transport(|key| tcp_transport(key, streams))
            .map_err(|e| start_err(&e))?
            .with_other_transport(move |key| super::quic::transport(key, streams))
            .map_err(|e| start_err(&e))?
            .with_dns_config(dns_resolver.0, dns_resolver.1)
            .with_relay_client(noise::Config::new, move || muxer(streams))
            .map_err(|e| start_err(&e))?
            .with_behaviour(|key, relay_client| Behaviour {
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_established_incoming(Some(limits.inbound))
                        .with_max_pending_incoming(Some(limits.pending_inbound))
                        .with_max_established_per_peer(Some(limits.per_peer)),
                ),
                // Peers hear the announced addresses (external ones, set
                // in `refresh_announced`), not the raw listen addresses.
                identify: identify::Behaviour::new(
                    identify::Config::new("/ipfs/id/1.0.0".into(), key.public())
                        .with_agent_version(format!("rsipfs/{}", env!("CARGO_PKG_VERSION")))
                        .with_hide_listen_addrs(true)
                        .with_push_listen_addr_updates(true),
                ),
                ping: ping::Behaviour::default(),
                relay_client,
                relay: Toggle::from(
                    reach_config
                        .relay_service
                        .as_ref()
                        .map(|limits| relay::Behaviour::new(me, limits.relay_config())),
                ),
                dcutr: Toggle::from(
                    reach_config
                        .hole_punching
                        .then(|| dcutr::Behaviour::new(me)),
                ),
                autonat: reach_config.autonat(me),
                candidates: super::candidates::Behaviour::default(),
                streams: libp2p_stream::Behaviour::new(),
                inbound: super::inbound::Behaviour::new(BITSWAP, accepted_tx),
                kad: dht_behaviour(key, Dht::Wan, Arc::clone(&providers)),
                lan_kad: dht_behaviour(key, Dht::Lan, Arc::clone(&providers)),
            })
            .map_err(|e| start_err(&e))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
            .build();
        // As Kubo: one address that cannot be listened on (IPv6 off, a port
        // taken) is logged; only when none can be is the start a failure.
        let mut listen_errors = Vec::new();
        let mut starting_listeners = HashSet::new();
        for addr in &config.listen {
            match swarm.listen_on(addr.clone()) {
                Ok(id) => {
                    starting_listeners.insert(id);
                }
                Err(e) => {
                    tracing::warn!("not listening on {addr}: {e}");
                    listen_errors.push(format!("listening on {addr}: {e}"));
                }
            }
        }
        if !config.listen.is_empty() && listen_errors.len() == config.listen.len() {
            return Err(NetError::Start(listen_errors.join("; ")));
        }
        let direct = config
            .bootstrap
            .into_iter()
            .filter(|a| !dnsaddr::has_dnsaddr(a));
        for dial in dials(direct.collect()) {
            if let Err(err) = swarm.dial(dial) {
                tracing::warn!("bootstrap: {err}");
            }
        }
        let control = swarm.behaviour().streams.new_control();
        let (inbound_tx, inbound_rx) = mpsc::unbounded_channel();
        let wanted = WantedSet::default();
        let checked_tx = inbound_tx.clone();
        let receiver = Receiver::start(Arc::clone(&store), wanted.clone(), move |peer, blocks| {
            let _ = checked_tx.send(Inbound::Checked(peer, blocks));
        })
        .map_err(|e| start_err(&e))?;
        let (delegated_tx, delegated_rx) = mpsc::unbounded_channel();
        let routers = routing::Routers::new(config.routing.routers.clone(), delegated_tx);
        let peering = config
            .peering
            .into_iter()
            .map(|(peer, addrs)| (peer, PeeringPeer::new(addrs)))
            .collect();
        let mut task = NodeTask {
            swarm,
            server: Server::start(Arc::clone(&store), Arc::clone(&stats)),
            stats,
            store,
            control,
            asking: WantManager::new(BLOCK_TIMEOUT),
            wants: HashMap::new(),
            wanted,
            receiver,
            want_times: HashMap::new(),
            peers: HashMap::new(),
            connecting: HashMap::new(),
            inbound_tx,
            inbound_rx,
            routing: config.routing,
            routers,
            delegated_rx,
            last_full_wantlist: Instant::now(),
            finding_peers: HashMap::new(),
            putting: HashMap::new(),
            getting: HashMap::new(),
            watermarks: config.watermarks,
            peering,
            identified: HashMap::new(),
            announce: config.announce,
            refusals: RefusalLog::new(REFUSAL_LOG_EVERY),
            lookups: lookups::Lookups::default(),
            provides: provides::ProvideQueue::default(),
            dht_requests: Default::default(),
            starting_listeners,
            listen_addrs_asked: Vec::new(),
            started_at: Instant::now(),
            providers,
            last_expiry: Instant::now(),
            reach: config.reach,
            reachability: Reachability::Unknown,
            relays: reach::RelaySlots::new(),
            relay_walk: reach::RelayWalk::default(),
            relay_refusals: RefusalLog::new(REFUSAL_LOG_EVERY),
        };
        task.set_reachability(task.reach.forced.unwrap_or(Reachability::Unknown));
        task.refresh_announced();
        task.dial_peering();
        task.read_incoming(accepted_rx);
        Ok(task)
    }

    /// Reads every incoming bitswap stream into the inbound channel.
    fn read_incoming(&self, mut accepted: mpsc::UnboundedReceiver<super::inbound::Accepted>) {
        let inbound = self.inbound_tx.clone();
        tokio::spawn(async move {
            while let Some((peer, mut stream)) = accepted.recv().await {
                let inbound = inbound.clone();
                tokio::spawn(async move {
                    loop {
                        match message::read_message(&mut stream).await {
                            Ok(Some(msg)) => {
                                if inbound.send(Inbound::Message(peer, msg)).is_err() {
                                    break;
                                }
                            }
                            Ok(None) | Err(message::WireError::Io(_)) => break,
                            Err(err) => {
                                let _ = inbound.send(Inbound::Misbehaved(peer, err.to_string()));
                                break;
                            }
                        }
                    }
                });
            }
        });
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut tick = tokio::time::interval(TICK);
        let mut route_tick = tokio::time::interval(routing::ROUTE_TICK);
        route_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                command = commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                    Some(command) => self.on_command(command),
                },
                Some(inbound) = self.inbound_rx.recv() => self.on_inbound(inbound),
                Some(answer) = self.delegated_rx.recv() => self.on_delegated(answer),
                _ = route_tick.tick() => self.ask_routers(),
                _ = tick.tick() => {
                    self.answer_listen_addrs(self.started_at.elapsed() > LISTEN_WAIT);
                    self.trim_connections();
                    self.dial_peering();
                    self.update_relays();
                    self.providers.flush();
                    if self.last_expiry.elapsed() >= EXPIRE_PROVIDERS_EVERY {
                        self.last_expiry = Instant::now();
                        expire_providers(&self.providers);
                    }
                    self.rebroadcast();
                }
            }
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => self.on_identify(peer_id, info),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                peer,
                result: Ok(rtt),
                ..
            })) => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.latency = Some(rtt);
                }
            }
            SwarmEvent::NewExternalAddrOfPeer { peer_id, address } => {
                self.lookups.learned(peer_id, address);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(event)) => self.on_kad_event(Dht::Wan, event),
            SwarmEvent::Behaviour(BehaviourEvent::Autonat(event)) => self.on_autonat_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::RelayClient(event)) => {
                self.on_relay_client_event(event)
            }
            SwarmEvent::Behaviour(BehaviourEvent::Relay(event)) => {
                self.on_relay_service_event(event)
            }
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(event)) => self.on_dcutr_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::LanKad(event)) => {
                self.on_kad_event(Dht::Lan, event)
            }
            SwarmEvent::NewListenAddr {
                address,
                listener_id,
            } => {
                tracing::info!("listening on {address}");
                self.refresh_announced();
                self.listener_started(listener_id);
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                let why = match &reason {
                    Ok(()) => "closed".to_string(),
                    Err(err) => err.to_string(),
                };
                self.relay_listener_closed(listener_id, &why);
                self.listener_started(listener_id);
                self.refresh_announced();
            }
            SwarmEvent::ListenerError { listener_id, error } => {
                self.relay_listener_closed(listener_id, &error.to_string());
            }
            SwarmEvent::ExpiredListenAddr { .. } => self.refresh_announced(),
            SwarmEvent::IncomingConnectionError {
                error: libp2p::swarm::ListenError::Denied { cause },
                send_back_addr,
                ..
            } => {
                if let Some(count) = self.refusals.refused(Instant::now()) {
                    tracing::warn!(
                        "refused {count} incoming connection(s), the last from {send_back_addr}: {cause}"
                    );
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                connection_id,
                ..
            } => {
                self.lookups
                    .learned(peer_id, endpoint.get_remote_address().clone());
                if endpoint.is_dialer() {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer_id, endpoint.get_remote_address().clone());
                }
                let mut addr = endpoint.get_remote_address().clone();
                if let Some(Protocol::P2p(_)) = addr.iter().last() {
                    addr.pop();
                }
                if let Some(peering) = self.peering.get_mut(&peer_id) {
                    peering.backoff.reset();
                    peering.next_dial = None;
                }
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.links.push((connection_id, addr));
                } else {
                    let outbox = spawn_writer(self.control.clone(), peer_id, &BITSWAP[..3]);
                    self.server.connect(peer_id, outbox.clone());
                    self.peers.insert(
                        peer_id,
                        Peer {
                            links: vec![(connection_id, addr)],
                            outbox,
                            since: Instant::now(),
                            outbound: endpoint.is_dialer(),
                            latency: None,
                            useful: 0,
                        },
                    );
                    // A new peer hears everything we want.
                    let asks = self.asking.connect(peer_id, Instant::now());
                    self.send_asks(asks);
                }
                for reply in self.connecting.remove(&peer_id).unwrap_or_default() {
                    let _ = reply.send(Ok(()));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                connection_id,
                ..
            } if num_established > 0 => {
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.links.retain(|(id, _)| *id != connection_id);
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, .. } => {
                self.peers.remove(&peer_id);
                self.identified.remove(&peer_id);
                if let Some(peering) = self.peering.get_mut(&peer_id) {
                    tracing::info!("peering: lost {peer_id}");
                    peering.retry_later(&peer_id);
                }
                self.server.disconnect(&peer_id);
                let asks = self.asking.disconnect(peer_id, Instant::now());
                self.send_asks(asks);
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error,
                ..
            } => {
                for reply in self.connecting.remove(&peer).unwrap_or_default() {
                    let _ = reply.send(Err(error.to_string()));
                }
                if !self.swarm.is_connected(&peer)
                    && let Some(peering) = self.peering.get_mut(&peer)
                    && peering.next_dial.is_none()
                {
                    peering.retry_later(&peer);
                }
            }
            _ => {}
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Fetch { blocks, deadline } => {
                let now = Instant::now();
                let mut asks = Vec::new();
                for (cid, reply) in blocks {
                    if let Ok(Some(block)) = self.store.get_shared(&cid) {
                        let _ = reply.send(block);
                        continue;
                    }
                    tracing::debug!("want {}", cid_string(&cid));
                    let first = !self.wants.contains_key(&cid);
                    self.wants.entry(cid).or_default().push((reply, deadline));
                    self.want_times.entry(cid).or_insert((now, None));
                    if first {
                        self.wanted.insert(cid);
                        asks.extend(self.asking.want(cid, now));
                    }
                }
                self.send_asks(asks);
            }
            Command::Connect { addrs, peer, reply } => {
                if self.swarm.is_connected(&peer) {
                    let _ = reply.send(Ok(()));
                    return;
                }
                match self.swarm.dial(
                    DialOpts::peer_id(peer)
                        .condition(PeerCondition::Disconnected)
                        .addresses(addrs)
                        .build(),
                ) {
                    Ok(()) => self.connecting.entry(peer).or_default().push(reply),
                    Err(err) => {
                        let _ = reply.send(Err(err.to_string()));
                    }
                }
            }
            Command::Dial { addrs } => {
                for dial in dials(addrs) {
                    if let Err(err) = self.swarm.dial(dial) {
                        tracing::warn!("dial: {err}");
                    }
                }
            }
            Command::Disconnect { peer } => {
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Command::Provide { cids } if !self.routing.dht => {
                tracing::debug!("Routing.Type has no DHT: {} CIDs not provided", cids.len());
            }
            Command::Provide { cids } => self.queue_provides(cids),
            Command::Peers { reply } => {
                let peers = self
                    .peers
                    .iter()
                    .filter_map(|(peer, p)| {
                        Some(PeerInfo {
                            peer: *peer,
                            addr: p.addr()?.clone(),
                            outbound: p.outbound,
                            latency: p.latency,
                        })
                    })
                    .collect();
                let _ = reply.send(peers);
            }
            Command::ListenAddrs { reply } => {
                self.listen_addrs_asked.push(reply);
                self.answer_listen_addrs(false);
            }
            Command::Announced { reply } => {
                let _ = reply.send(self.swarm.external_addresses().cloned().collect());
            }
            Command::Identity { peer, reply } => {
                let _ = reply.send(self.identified.get(&peer).map(|info| PeerIdentity {
                    public_key: info.public_key.clone(),
                    addrs: info.listen_addrs.clone(),
                    agent: info.agent_version.clone(),
                    protocols: info.protocols.iter().map(|p| p.to_string()).collect(),
                }));
            }
            Command::PeeringAdd { peer, addrs } => {
                let mut entry = PeeringPeer::new(addrs);
                if self.swarm.is_connected(&peer) {
                    entry.next_dial = None;
                }
                self.peering.insert(peer, entry);
                self.dial_peering();
            }
            Command::PeeringRemove { peer, reply } => {
                let _ = reply.send(self.peering.remove(&peer).is_some());
            }
            Command::PeeringList { reply } => {
                let _ = reply.send(
                    self.peering
                        .iter()
                        .map(|(peer, p)| (*peer, p.addrs.clone()))
                        .collect(),
                );
            }
            Command::Wantlist { reply } => {
                let _ = reply.send(self.wants.keys().copied().collect());
            }
            Command::PutValue { key, value, reply } => self.put_value(key, value, reply),
            Command::GetValues { key, found } => {
                let key = kad::RecordKey::new(&key);
                let open = values::OpenLookups::new(BOTH.len());
                for dht in BOTH {
                    let id = self.kad(dht).get_record(key.clone());
                    let lookup = values::Lookup::new(key.clone(), found.clone(), open.clone());
                    self.getting.insert((dht, id), lookup);
                }
            }
            Command::FindProviders { cid, found } => self.find_providers(cid, found),
            Command::FindPeer { peer, reply } => self.find_peer(peer, reply),
            Command::Reach { reply } => {
                let _ = reply.send(self.reachability);
            }
            Command::DhtTables { reply } => {
                let _ = reply.send(self.dht_tables());
            }
            Command::Shutdown => {}
        }
    }

    fn on_inbound(&mut self, inbound: Inbound) {
        match inbound {
            Inbound::Checked(peer, blocks) => self.receive_blocks(peer, blocks),
            Inbound::Misbehaved(peer, why) => {
                tracing::warn!("disconnecting {peer}: {why}");
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Inbound::Message(peer, mut msg) => {
                let blocks: Vec<Incoming> = std::mem::take(&mut msg.payload)
                    .into_iter()
                    .map(|b| Incoming {
                        prefix: Some(b.prefix),
                        data: b.data,
                    })
                    .chain(
                        std::mem::take(&mut msg.blocks)
                            .into_iter()
                            .map(|data| Incoming { prefix: None, data }),
                    )
                    .collect();
                if !blocks.is_empty() {
                    self.receiver.submit(peer, blocks);
                }
                self.receive_presences(peer, &msg);
                if let Some(list) = &msg.wantlist {
                    self.server.wantlist(peer, list);
                }
            }
        }
    }

    /// Blocks come here hashed, and stored when they were wanted (see
    /// `receiver`): one that does not hash to a wanted CID is simply not
    /// what we asked for, and is dropped.
    fn receive_blocks(&mut self, from: PeerId, blocks: Vec<Checked>) {
        let mut cancels = Vec::new();
        let mut bytes = 0;
        for block in blocks {
            let (cid, data) = (block.cid, block.data);
            bytes += data.len();
            let waiters = match self.wants.remove(&cid) {
                Some(waiters) if block.stored => waiters,
                // Wanted only since it was checked: not stored, so asked
                // again (it is on its way, or the next copy is).
                Some(waiters) => {
                    self.wants.insert(cid, waiters);
                    continue;
                }
                None => {
                    if block.stored || block.duplicate {
                        tracing::debug!("duplicate {} from {from}", cid_string(&cid));
                        self.stats.received(data.len(), true);
                    } else {
                        tracing::debug!("unwanted {} from {from}", cid_string(&cid));
                    }
                    continue;
                }
            };
            self.wanted.remove(&cid);
            self.stats.received(data.len(), false);
            self.want_times.remove(&cid);
            tracing::debug!("received {}", cid_string(&cid));
            for (reply, _) in waiters {
                let _ = reply.send(data.clone());
            }
            cancels.extend(self.asking.remove(&cid, Some(from)));
        }
        if bytes > 0 {
            self.server.received(from, bytes);
            if let Some(peer) = self.peers.get_mut(&from) {
                peer.useful += bytes as u64;
            }
        }
        self.send_asks(cancels);
    }

    /// HAVE makes the sender a candidate for the block; DONT_HAVE moves
    /// the request elsewhere.
    fn receive_presences(&mut self, from: PeerId, msg: &Message) {
        let now = Instant::now();
        let mut asks = Vec::new();
        for presence in &msg.block_presences {
            let Ok(cid) = Cid::try_from(presence.cid.as_slice()) else {
                continue;
            };
            tracing::debug!(
                "{} from {from}: {}",
                if presence.r#type == HAVE {
                    "HAVE"
                } else {
                    "DONT_HAVE"
                },
                cid_string(&cid)
            );
            asks.extend(match presence.r#type {
                HAVE => self.asking.have(&cid, from, now),
                DONT_HAVE => self.asking.dont_have(&cid, from, now),
                _ => Vec::new(),
            });
        }
        self.send_asks(asks);
    }

    /// Sends asks, one message per peer.
    fn send_asks(&self, asks: Vec<Ask<PeerId>>) {
        let mut per_peer: HashMap<PeerId, Vec<Entry>> = HashMap::new();
        for ask in &asks {
            per_peer.entry(ask.peer).or_default().push(entry_for(ask));
        }
        for (peer, entries) in per_peer {
            self.send(peer, wantlist(entries, false));
        }
    }

    fn send(&self, peer: PeerId, msg: Message) {
        if let Some(p) = self.peers.get(&peer)
            && !p.outbox.send_wants(msg)
        {
            tracing::debug!("{peer}: want queue full, message dropped");
        }
    }

    /// Sets the external addresses, which identify sends, to what
    /// `Addresses.Announce` and its siblings make of the listen addresses,
    /// and pushes them to connected peers when they changed.
    fn refresh_announced(&mut self) {
        let listening: Vec<Multiaddr> = self.swarm.listeners().cloned().collect();
        let wanted = self
            .announce
            .addresses(&listening, self.reachability == Reachability::Private);
        let current: Vec<Multiaddr> = self.swarm.external_addresses().cloned().collect();
        if wanted != current {
            self.offer_candidates(&wanted);
        }
        let mut changed = false;
        for addr in current.iter().filter(|a| !wanted.contains(a)) {
            self.swarm.remove_external_address(addr);
            changed = true;
        }
        for addr in wanted.into_iter().filter(|a| !current.contains(a)) {
            self.swarm.add_external_address(addr);
            changed = true;
        }
        if changed {
            let peers: Vec<PeerId> = self.peers.keys().copied().collect();
            if !peers.is_empty() {
                self.swarm.behaviour_mut().identify.push(peers);
            }
        }
    }

    fn listener_started(&mut self, id: libp2p::core::transport::ListenerId) {
        self.starting_listeners.remove(&id);
        self.answer_listen_addrs(false);
    }

    /// Answers those who asked for our listen addresses, once every
    /// listener has reported (or `anyway`).
    fn answer_listen_addrs(&mut self, anyway: bool) {
        if self.listen_addrs_asked.is_empty() || !(anyway || self.starting_listeners.is_empty()) {
            return;
        }
        let addrs: Vec<Multiaddr> = self.swarm.listeners().cloned().collect();
        for reply in self.listen_addrs_asked.drain(..) {
            let _ = reply.send(addrs.clone());
        }
    }

    fn dht_tables(&mut self) -> Vec<DhtTable> {
        BOTH.iter()
            .map(|&dht| {
                let kad = self.kad(dht);
                let server = kad.mode() == kad::Mode::Server;
                let buckets = kad
                    .kbuckets()
                    .map(|b| b.iter().map(|e| *e.node.key.preimage()).collect())
                    .filter(|peers: &Vec<PeerId>| !peers.is_empty())
                    .collect();
                DhtTable {
                    name: match dht {
                        Dht::Wan => "wan",
                        Dht::Lan => "lan",
                    },
                    server,
                    buckets,
                    requests: self.dht_requests[dht as usize],
                }
            })
            .collect()
    }

    /// Above the high watermark, disconnects the least useful peers down
    /// to the low one (`Swarm.ConnMgr`).
    fn trim_connections(&mut self) {
        let Some(marks) = &self.watermarks else {
            return;
        };
        let connected: Vec<Connected<PeerId>> = self
            .peers
            .iter()
            .map(|(peer, p)| Connected {
                peer: *peer,
                connections: p.links.len(),
                since: p.since,
                protected: self.peering.contains_key(peer),
                useful: p.useful,
            })
            .collect();
        let trimmed = connmgr::to_trim(marks, &connected, Instant::now());
        if trimmed.is_empty() {
            return;
        }
        tracing::info!(
            "connection manager: {} peers over the high watermark {}, closing {}",
            connected.len(),
            marks.high,
            trimmed.len()
        );
        for peer in trimmed {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    /// Dials the peering peers whose turn has come.
    fn dial_peering(&mut self) {
        let now = Instant::now();
        let due: Vec<(PeerId, Vec<Multiaddr>)> = self
            .peering
            .iter_mut()
            .filter(|(_, p)| p.next_dial.is_some_and(|at| at <= now))
            .map(|(peer, p)| {
                p.next_dial = None;
                (*peer, p.addrs.clone())
            })
            .collect();
        for (peer, addrs) in due {
            if self.swarm.is_connected(&peer) {
                continue;
            }
            let dial = DialOpts::peer_id(peer)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .addresses(addrs)
                .build();
            if let Err(err) = self.swarm.dial(dial) {
                tracing::debug!("peering: dialling {peer}: {err}");
                if let Some(p) = self.peering.get_mut(&peer) {
                    p.retry_later(&peer);
                }
            }
        }
    }

    /// Drops waiters past their deadline, asks again for the rest, and
    /// looks up in the DHT who provides what no connected peer had.
    fn rebroadcast(&mut self) {
        let now = Instant::now();
        let mut given_up = Vec::new();
        self.wants.retain(|cid, waiters| {
            waiters.retain(|(_, deadline)| *deadline > now);
            if waiters.is_empty() {
                given_up.push(*cid);
            }
            !waiters.is_empty()
        });
        for cid in &given_up {
            self.wanted.remove(cid);
        }
        let wants = &self.wants;
        self.want_times.retain(|cid, _| wants.contains_key(cid));
        let mut asks = Vec::new();
        for cid in given_up {
            asks.extend(self.asking.remove(&cid, None));
        }
        asks.extend(self.asking.expire(now));
        self.send_asks(asks);
        self.stats.set_wantlist(self.wants.len());
        let kad = &mut self.swarm.behaviour_mut().kad;
        let known: usize = kad.kbuckets().map(|b| b.num_entries()).sum();
        self.stats.set_routing_table_peers(known);
        if self.wants.is_empty() {
            // Counted from when there is something to want again.
            self.last_full_wantlist = now;
            return;
        }
        if now.duration_since(self.last_full_wantlist) >= FULL_WANTLIST_EVERY {
            self.last_full_wantlist = now;
            for (peer, asks) in self.asking.full_lists() {
                self.send(peer, wantlist(asks.iter().map(entry_for).collect(), true));
            }
        }
    }
}
