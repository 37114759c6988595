//! Names: what `/ipns/<name>` points to, and publishing our own.
//!
//! The sync core of IPNS above records: the records kept in the datastore
//! (our own and the best seen), the records peers hold (through
//! [`ValueRouting`], the DHT when online), DNSLink (through
//! [`DnsLinkLookup`]), and a cache that follows each answer's TTL. The
//! commands, the gateway and the /ipns mount all resolve through one
//! [`NameSystem`].

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::ipns::{Name, Record, RecordError};
use crate::repo::Repo;

pub mod dns;
#[cfg(test)]
mod dns_tests;
pub mod dnslink;
pub mod republish;

/// At most this many steps through names pointing at names.
pub const MAX_RESOLVE_STEPS: usize = 32;
/// How long a lookup on the network may take unless told (Kubo's
/// `--dht-timeout` default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// A lookup's limit when told there is none.
const NO_LIMIT: Duration = Duration::from_secs(3600);
/// How long a put to the DHT may take: longer than the node's two queries
/// (closest peers, then the puts), which end by themselves before.
pub const PUT_TIMEOUT: Duration = Duration::from_secs(65);

/// Values stored with peers under a key (the DHT's `PUT_VALUE` and
/// `GET_VALUE`). Values come back unvalidated: the caller judges them.
pub trait ValueRouting: Send + Sync {
    /// Stores `value` under `key` with the peers closest to the key;
    /// returns how many took it.
    fn put_value(
        &self,
        key: Vec<u8>,
        value: Vec<u8>,
        limit: Duration,
    ) -> Result<usize, RoutingError>;
    /// The values peers hold under `key`, gathered within `limit`.
    fn get_values(&self, key: Vec<u8>, limit: Duration) -> Result<Vec<Vec<u8>>, RoutingError>;
}

#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("no peer known to send it to")]
    NoPeers,
    #[error("{0}")]
    Failed(String),
}

/// DNS TXT lookups, for DNSLink.
pub trait DnsLinkLookup: Send + Sync {
    /// The TXT strings of the fully qualified `name` (none when it has no
    /// TXT record or does not exist), answered within `limit`.
    fn txt(&self, name: &str, limit: Duration) -> Result<TxtAnswer, String>;
}

/// A DNS answer's TXT strings, each record's strings joined, and how long
/// it may be kept (the least TTL among them).
#[derive(Clone, Debug, Default)]
pub struct TxtAnswer {
    pub texts: Vec<String>,
    pub ttl: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum NameError {
    #[error("{0}")]
    BadName(String),
    #[error("could not resolve name {0}: no record found")]
    NotFound(String),
    #[error("the record for {name}: {error}")]
    BadRecord { name: String, error: RecordError },
    #[error("could not resolve {0}: more than {MAX_RESOLVE_STEPS} names in a row")]
    TooDeep(String),
    #[error("routing: {0}")]
    Routing(#[from] RoutingError),
    #[error(
        "could not resolve name {0}: _dnslink.{0} has no TXT record \"dnslink=/ipfs/…\" or \
         \"dnslink=/ipns/…\" (https://docs.ipfs.tech/concepts/dnslink/)"
    )]
    NoDnsLink(String),
    #[error(
        "could not resolve name {domain}: _dnslink.{domain} holds {entry:?}, which is not \
         dnslink=/ipfs/<cid>… nor dnslink=/ipns/<name>…"
    )]
    BadDnsLink { domain: String, entry: String },
    #[error("DNS: {0}")]
    Dns(String),
    #[error("{0}")]
    Repo(String),
    #[error("config: {0}")]
    Config(String),
}

pub type Result<T, E = NameError> = std::result::Result<T, E>;

#[derive(Clone, Debug)]
pub struct ResolveOptions {
    /// Follow names pointing at names to an `/ipfs/` path.
    pub recursive: bool,
    /// Ask again rather than answer from the cache.
    pub nocache: bool,
    /// How long lookups on the network may take.
    pub timeout: Duration,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            recursive: true,
            nocache: false,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Where a path led, and how long that answer holds: the least TTL of the
/// names on the way (zero for a path without names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    pub path: String,
    pub ttl: Duration,
}

/// One step's answer, kept until its TTL runs out.
#[derive(Clone, Debug)]
struct Cached {
    value: String,
    until: Instant,
}

pub struct NameSystem {
    routing: Option<Arc<dyn ValueRouting>>,
    dnslink: Option<Arc<dyn DnsLinkLookup>>,
    cache: Mutex<HashMap<String, Cached>>,
    kept: Mutex<Vec<KeptListener>>,
    /// Records read from the datastore and found valid, with their bytes:
    /// the same bytes read again need no second signature check (every
    /// lookup of a name of ours under /ipns reads its record).
    checked: Mutex<HashMap<String, (Vec<u8>, Record)>>,
}

/// Stored records whose check is remembered, at most.
const CHECKED_RECORDS: usize = 1024;

/// Told of each record kept here (the /ipns mount follows our names).
pub type KeptListener = Box<dyn Fn(&Name) + Send + Sync>;

fn datastore_key(name: &Name) -> String {
    format!("ipns/{name}")
}

fn repo_error(err: impl std::fmt::Display) -> NameError {
    NameError::Repo(err.to_string())
}

/// `/ipns/<target>/rest` → (`target`, `rest`).
fn split_ipns(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/ipns/")?;
    Some(rest.split_once('/').unwrap_or((rest, "")))
}

fn join(value: &str, below: &str) -> String {
    if below.is_empty() {
        value.to_string()
    } else {
        format!("{}/{below}", value.trim_end_matches('/'))
    }
}

/// Offline, names still resolve through the records here and through DNS
/// (DNSLink), as Kubo's do.
static OFFLINE: LazyLock<NameSystem> = LazyLock::new(|| NameSystem::new(None, Some(dns::system())));

impl NameSystem {
    pub fn new(
        routing: Option<Arc<dyn ValueRouting>>,
        dnslink: Option<Arc<dyn DnsLinkLookup>>,
    ) -> Self {
        NameSystem {
            routing,
            dnslink,
            cache: Mutex::default(),
            kept: Mutex::default(),
            checked: Mutex::default(),
        }
    }

    /// The name system of a process without a network node.
    pub fn offline() -> &'static NameSystem {
        &OFFLINE
    }

    pub fn is_online(&self) -> bool {
        self.routing.is_some()
    }

    /// `/ipns/<name>/rest` → the path it points to: `/ipfs/…` when
    /// `recursive`, else after one step.
    pub fn resolve(&self, repo: &Repo, path: &str, opts: &ResolveOptions) -> Result<String> {
        self.resolve_path(repo, path, opts).map(|done| done.path)
    }

    /// As [`NameSystem::resolve`], with how long the answer holds.
    pub fn resolve_path(
        &self,
        repo: &Repo,
        path: &str,
        opts: &ResolveOptions,
    ) -> Result<Resolution> {
        let mut path = path.to_string();
        let mut ttl = None::<Duration>;
        for _ in 0..MAX_RESOLVE_STEPS {
            let Some((target, below)) = split_ipns(&path) else {
                break;
            };
            let (value, holds) = self.resolve_one(repo, target, opts)?;
            ttl = Some(ttl.map_or(holds, |t| t.min(holds)));
            path = join(&value, below);
            if !opts.recursive {
                break;
            }
        }
        if opts.recursive && split_ipns(&path).is_some() {
            return Err(NameError::TooDeep(path));
        }
        Ok(Resolution {
            path,
            ttl: ttl.unwrap_or_default(),
        })
    }

    /// What one name (a key's name or a DNSLink domain) points to, and for
    /// how much longer.
    fn resolve_one(
        &self,
        repo: &Repo,
        target: &str,
        opts: &ResolveOptions,
    ) -> Result<(String, Duration)> {
        if !opts.nocache
            && let Some(hit) = self.cached(target)
        {
            return Ok(hit);
        }
        let (value, ttl) = match Name::parse(target) {
            Ok(name) => {
                let record = self.best_record(repo, &name, opts)?;
                (record.value_text(), record.ttl)
            }
            Err(err) => match &self.dnslink {
                Some(dns) if dnslink::is_domain(target) => {
                    self.dnslink_value(dns.as_ref(), target, opts)?
                }
                _ => return Err(NameError::BadName(err.to_string())),
            },
        };
        self.remember(target, &value, ttl);
        Ok((value, ttl))
    }

    /// The path `domain`'s DNSLink points to, kept as long as DNS says.
    fn dnslink_value(
        &self,
        dns: &dyn DnsLinkLookup,
        domain: &str,
        opts: &ResolveOptions,
    ) -> Result<(String, Duration)> {
        let domain = domain.trim_end_matches('.');
        let answer = dns
            .txt(&dnslink::txt_name(domain), opts.timeout)
            .map_err(NameError::Dns)?;
        match dnslink::pick(&answer.texts) {
            dnslink::Link::To(path) => Ok((path, answer.ttl)),
            dnslink::Link::Invalid(entry) => Err(NameError::BadDnsLink {
                domain: domain.to_string(),
                entry,
            }),
            dnslink::Link::Missing => Err(NameError::NoDnsLink(domain.to_string())),
        }
    }

    fn cached(&self, target: &str) -> Option<(String, Duration)> {
        let cache = self.cache.lock().ok()?;
        let hit = cache.get(target)?;
        let left = hit.until.checked_duration_since(Instant::now())?;
        (!left.is_zero()).then(|| (hit.value.clone(), left))
    }

    fn remember(&self, target: &str, value: &str, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(
                target.to_string(),
                Cached {
                    value: value.to_string(),
                    until: Instant::now() + ttl,
                },
            );
        }
    }

    /// Forgets what was cached for `target`.
    pub fn forget(&self, target: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(target);
        }
    }

    /// The best valid record for `name` known here or (online) to peers;
    /// a better one from peers is kept. Peers' records that are not valid
    /// for the name are ignored.
    pub fn best_record(&self, repo: &Repo, name: &Name, opts: &ResolveOptions) -> Result<Record> {
        let stored = self.stored_record(repo, name)?;
        let Some(routing) = &self.routing else {
            return stored.ok_or_else(|| NameError::NotFound(name.to_string()));
        };
        // Zero is no limit (Kubo's `--dht-timeout 0`): the DHT's own query
        // timeout ends the lookup then.
        let limit = if opts.timeout.is_zero() {
            NO_LIMIT
        } else {
            opts.timeout
        };
        let values = match routing.get_values(name.routing_key(), limit) {
            Ok(values) => values,
            Err(err) if stored.is_some() => {
                tracing::warn!("looking up {name} in the DHT: {err}");
                Vec::new()
            }
            Err(err) => return Err(err.into()),
        };
        let now = SystemTime::now();
        let mut best_seen: Option<Record> = None;
        for value in values {
            match Record::validate(&value, name, now) {
                Ok(record) => {
                    if best_seen
                        .as_ref()
                        .is_none_or(|best| record.better_than(best))
                    {
                        best_seen = Some(record);
                    }
                }
                Err(err) => tracing::info!("ignoring a record for {name} from the DHT: {err}"),
            }
        }
        match (stored, best_seen) {
            (Some(stored), Some(seen)) if !seen.better_than(&stored) => Ok(stored),
            (_, Some(seen)) => {
                self.keep_record(repo, name, &seen)?;
                Ok(seen)
            }
            (Some(stored), None) => Ok(stored),
            (None, None) => Err(NameError::NotFound(name.to_string())),
        }
    }

    /// The record stored here for `name`, valid now.
    pub fn stored_record(&self, repo: &Repo, name: &Name) -> Result<Option<Record>> {
        let stored = repo
            .datastore()
            .map_err(repo_error)?
            .get(&datastore_key(name))
            .map_err(repo_error)?;
        let Some(bytes) = stored else {
            return Ok(None);
        };
        let now = SystemTime::now();
        let key = name.to_string();
        if let Some((seen, record)) = self.checked().get(&key)
            && *seen == bytes
        {
            // Checked already; only time has passed since.
            return Ok(record
                .eol
                .is_some_and(|eol| eol > now)
                .then(|| record.clone()));
        }
        match Record::validate(&bytes, name, now) {
            Ok(record) => {
                let mut checked = self.checked();
                if checked.len() >= CHECKED_RECORDS {
                    checked.clear();
                }
                checked.insert(key, (bytes, record.clone()));
                Ok(Some(record))
            }
            Err(RecordError::Expired(_)) => Ok(None),
            Err(error) => Err(NameError::BadRecord {
                name: name.to_string(),
                error,
            }),
        }
    }

    fn checked(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Vec<u8>, Record)>> {
        self.checked.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps a valid record for `name` here, replacing what was stored.
    pub fn keep_record(&self, repo: &Repo, name: &Name, record: &Record) -> Result<()> {
        repo.datastore()
            .map_err(repo_error)?
            .put(&datastore_key(name), &record.to_bytes())
            .map_err(repo_error)?;
        self.forget(&name.to_string());
        if let Ok(listeners) = self.kept.lock() {
            listeners.iter().for_each(|listener| listener(name));
        }
        Ok(())
    }

    /// Calls `listener` with the name of each record kept from now on.
    pub fn on_kept(&self, listener: KeptListener) {
        if let Ok(mut listeners) = self.kept.lock() {
            listeners.push(listener);
        }
    }

    /// Keeps `record` and (online) sends it to the peers closest to the
    /// name; returns how many peers took it. With no peer known the record
    /// is only kept here (and the republisher sends it later).
    pub fn publish(&self, repo: &Repo, name: &Name, record: &Record) -> Result<usize> {
        self.keep_record(repo, name, record)?;
        let Some(routing) = &self.routing else {
            return Ok(0);
        };
        match routing.put_value(name.routing_key(), record.to_bytes(), PUT_TIMEOUT) {
            Ok(taken) => {
                tracing::debug!("the record for {name} went to {taken} peers");
                Ok(taken)
            }
            Err(RoutingError::NoPeers) => {
                tracing::warn!("the record for {name} is kept here only: no peers known");
                Ok(0)
            }
            Err(err) => Err(err.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipns::record::NewRecord;
    use crate::repo::InitOptions;
    use libp2p_identity::Keypair;

    /// Peers holding fixed values; remembers what was put.
    #[derive(Default)]
    struct FakePeers {
        held: Mutex<Vec<Vec<u8>>>,
        asked: Mutex<Vec<Duration>>,
    }

    impl ValueRouting for FakePeers {
        fn put_value(
            &self,
            _key: Vec<u8>,
            value: Vec<u8>,
            _limit: Duration,
        ) -> Result<usize, RoutingError> {
            self.held.lock().unwrap().push(value);
            Ok(1)
        }
        fn get_values(&self, _key: Vec<u8>, limit: Duration) -> Result<Vec<Vec<u8>>, RoutingError> {
            self.asked.lock().unwrap().push(limit);
            Ok(self.held.lock().unwrap().clone())
        }
    }

    fn record(key: &Keypair, value: &str, sequence: u64, valid: Duration) -> Record {
        Record::create(
            key,
            &NewRecord {
                value,
                sequence,
                eol: SystemTime::now() + valid,
                ttl: Duration::from_secs(60),
                v1_compat: true,
            },
        )
        .unwrap()
    }

    const HOUR: Duration = Duration::from_secs(3600);

    fn online() -> (tempfile::TempDir, Repo, Arc<FakePeers>, NameSystem) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::init(dir.path(), &InitOptions::default()).unwrap();
        let peers = Arc::new(FakePeers::default());
        let names = NameSystem::new(Some(peers.clone() as Arc<dyn ValueRouting>), None);
        (dir, repo, peers, names)
    }

    #[test]
    fn the_best_valid_record_from_peers_wins_and_is_kept() {
        let (_dir, repo, peers, names) = online();
        let key = Keypair::generate_ed25519();
        let name = Name::of_key(&key.public());
        let intruder = Keypair::generate_ed25519();
        names
            .keep_record(&repo, &name, &record(&key, "/ipfs/old", 1, HOUR))
            .unwrap();
        let mut flipped = record(&key, "/ipfs/flipped", 9, HOUR).to_bytes();
        let last = flipped.len() - 3;
        flipped[last] ^= 1;
        *peers.held.lock().unwrap() = vec![
            record(&key, "/ipfs/newer", 2, HOUR).to_bytes(),
            record(&key, "/ipfs/newest", 3, HOUR).to_bytes(),
            // Higher sequences, but forged, flipped or expired: ignored.
            record(&intruder, "/ipfs/forged", 10, HOUR).to_bytes(),
            flipped,
            record(&key, "/ipfs/expired", 11, Duration::ZERO).to_bytes(),
            b"garbage".to_vec(),
        ];
        let opts = ResolveOptions {
            timeout: Duration::from_secs(7),
            ..ResolveOptions::default()
        };
        let best = names.best_record(&repo, &name, &opts).unwrap();
        assert_eq!(best.value_text(), "/ipfs/newest");
        assert_eq!(*peers.asked.lock().unwrap(), [Duration::from_secs(7)]);
        let kept = names.stored_record(&repo, &name).unwrap().unwrap();
        assert_eq!(kept.sequence, 3);
    }

    #[test]
    fn a_stored_record_checked_once_is_still_refused_when_damaged_or_expired() {
        let (_dir, repo, _peers, names) = online();
        let key = Keypair::generate_ed25519();
        let name = Name::of_key(&key.public());
        let short = record(&key, "/ipfs/short", 1, Duration::from_millis(300));
        names.keep_record(&repo, &name, &short).unwrap();
        let read = names.stored_record(&repo, &name).unwrap().unwrap();
        assert_eq!(read.value_text(), "/ipfs/short");
        // Read again: the same record, from the check remembered.
        assert_eq!(names.stored_record(&repo, &name).unwrap().unwrap(), read);
        // Its end of life passes: no longer valid, though checked before.
        let deadline = Instant::now() + Duration::from_secs(5);
        while SystemTime::now() <= read.eol.unwrap() {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(names.stored_record(&repo, &name).unwrap(), None);
        // Different bytes under the name (a flipped bit on disk) are checked.
        let long = record(&key, "/ipfs/long", 2, HOUR);
        names.keep_record(&repo, &name, &long).unwrap();
        assert_eq!(names.stored_record(&repo, &name).unwrap().unwrap(), long);
        let mut flipped = long.to_bytes();
        let last = flipped.len() - 3;
        flipped[last] ^= 1;
        repo.datastore()
            .unwrap()
            .put(&datastore_key(&name), &flipped)
            .unwrap();
        assert!(matches!(
            names.stored_record(&repo, &name),
            Err(NameError::BadRecord { .. })
        ));
    }

    #[test]
    fn a_better_stored_record_is_not_replaced_by_an_older_one_from_peers() {
        let (_dir, repo, peers, names) = online();
        let key = Keypair::generate_ed25519();
        let name = Name::of_key(&key.public());
        names
            .keep_record(&repo, &name, &record(&key, "/ipfs/mine", 5, HOUR))
            .unwrap();
        *peers.held.lock().unwrap() = vec![record(&key, "/ipfs/stale", 4, HOUR).to_bytes()];
        let best = names
            .best_record(&repo, &name, &ResolveOptions::default())
            .unwrap();
        assert_eq!(best.value_text(), "/ipfs/mine");
    }

    #[test]
    fn resolution_is_cached_by_ttl_unless_nocache() {
        let (_dir, repo, peers, names) = online();
        let key = Keypair::generate_ed25519();
        let name = Name::of_key(&key.public());
        names
            .publish(&repo, &name, &record(&key, "/ipfs/one", 1, HOUR))
            .unwrap();
        assert_eq!(peers.held.lock().unwrap().len(), 1, "published to peers");
        let path = format!("/ipns/{name}");
        let opts = ResolveOptions::default();
        assert_eq!(names.resolve(&repo, &path, &opts).unwrap(), "/ipfs/one");
        *peers.held.lock().unwrap() = vec![record(&key, "/ipfs/two", 2, HOUR).to_bytes()];
        // Within the TTL the cached answer stands, without asking peers.
        let asked = peers.asked.lock().unwrap().len();
        assert_eq!(names.resolve(&repo, &path, &opts).unwrap(), "/ipfs/one");
        assert_eq!(peers.asked.lock().unwrap().len(), asked);
        let fresh = ResolveOptions {
            nocache: true,
            ..ResolveOptions::default()
        };
        assert_eq!(names.resolve(&repo, &path, &fresh).unwrap(), "/ipfs/two");
    }

    #[test]
    fn an_unknown_name_is_not_found() {
        let (_dir, repo, _peers, names) = online();
        let name = Name::of_key(&Keypair::generate_ed25519().public());
        assert!(matches!(
            names.best_record(&repo, &name, &ResolveOptions::default()),
            Err(NameError::NotFound(_))
        ));
    }
}
