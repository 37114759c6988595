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

/// At most this many steps through names pointing at names.
pub const MAX_RESOLVE_STEPS: usize = 32;
/// How long a lookup on the network may take unless told (Kubo's
/// `--dht-timeout` default).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Values stored with peers under a key (the DHT's `PUT_VALUE` and
/// `GET_VALUE`). Values come back unvalidated: the caller judges them.
pub trait ValueRouting: Send + Sync {
    /// Stores `value` under `key` with the peers closest to the key;
    /// returns how many took it.
    fn put_value(&self, key: Vec<u8>, value: Vec<u8>, limit: Duration) -> Result<usize, String>;
    /// The values peers hold under `key`, gathered within `limit`.
    fn get_values(&self, key: Vec<u8>, limit: Duration) -> Result<Vec<Vec<u8>>, String>;
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
    Routing(String),
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
}

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
    /// a better one from peers is kept.
    pub fn best_record(&self, repo: &Repo, name: &Name, _opts: &ResolveOptions) -> Result<Record> {
        self.stored_record(repo, name)?
            .ok_or_else(|| NameError::NotFound(name.to_string()))
    }

    /// The record stored here for `name`, valid now.
    pub fn stored_record(&self, repo: &Repo, name: &Name) -> Result<Option<Record>> {
        let stored = repo
            .datastore()
            .map_err(repo_error)?
            .get(&datastore_key(name))
            .map_err(repo_error)?;
        match stored {
            None => Ok(None),
            Some(bytes) => match Record::validate(&bytes, name, SystemTime::now()) {
                Ok(record) => Ok(Some(record)),
                Err(RecordError::Expired(_)) => Ok(None),
                Err(error) => Err(NameError::BadRecord {
                    name: name.to_string(),
                    error,
                }),
            },
        }
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
    /// name.
    pub fn publish(&self, repo: &Repo, name: &Name, record: &Record) -> Result<()> {
        self.keep_record(repo, name, record)
    }
}
