//! Provider records kept as a DHT server: in the repository's datastore (so
//! they are served after a restart), valid 48 h as Kubo's
//! (`ProvideValidity`), bounded per key and in all. Both DHTs (WAN and LAN)
//! share one book, as Kubo's dual DHT shares its datastore.
//!
//! Records added are buffered and written in one commit per tick: a DHT
//! server may take many `ADD_PROVIDER`s a second.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use libp2p::kad::store::{self, MemoryStore, RecordStore};
use libp2p::kad::{ProviderRecord, Record, RecordKey};
use libp2p::{Multiaddr, PeerId};

use crate::repo::Repo;
use crate::repo::providers::{ProviderLimits, ProviderRow};

/// How long a provider record is valid (Kubo's `ProvideValidity`).
pub const PROVIDE_VALIDITY: Duration = Duration::from_secs(48 * 3600);
/// Kubo keeps no fixed number; these keep a hostile peer from filling the
/// disk: 20 providers a key (libp2p's default) and a million records.
pub const LIMITS: ProviderLimits = ProviderLimits {
    per_key: 20,
    total: 1_000_000,
};
/// Buffered records are written at once past this many.
const PENDING_MAX: usize = 1024;

/// Where provider records are kept.
pub trait ProviderBook: Send + Sync {
    /// Keeps `rows`; how many were refused (over the limits).
    fn keep(&self, rows: &[ProviderRow]) -> Result<usize, String>;
    /// The unexpired records for `key`.
    fn providers(&self, key: &[u8], now: u64) -> Result<Vec<ProviderRow>, String>;
    fn remove(&self, key: &[u8], provider: &[u8]) -> Result<(), String>;
    /// Drops expired records; how many.
    fn expire(&self, now: u64) -> Result<usize, String>;
}

impl ProviderBook for Repo {
    fn keep(&self, rows: &[ProviderRow]) -> Result<usize, String> {
        self.datastore()
            .and_then(|ds| ds.keep_providers(rows, LIMITS))
            .map_err(|e| e.to_string())
    }

    fn providers(&self, key: &[u8], now: u64) -> Result<Vec<ProviderRow>, String> {
        self.datastore()
            .and_then(|ds| ds.providers(key, now))
            .map_err(|e| e.to_string())
    }

    fn remove(&self, key: &[u8], provider: &[u8]) -> Result<(), String> {
        self.datastore()
            .and_then(|ds| ds.remove_provider(key, provider))
            .map_err(|e| e.to_string())
    }

    fn expire(&self, now: u64) -> Result<usize, String> {
        self.datastore()
            .and_then(|ds| ds.expire_providers(now))
            .map_err(|e| e.to_string())
    }
}

/// Rows by (key, provider).
type Rows = HashMap<(Vec<u8>, Vec<u8>), ProviderRow>;

/// A book in memory (a node without a repository: tools and tests).
#[derive(Default)]
pub struct MemoryProviders {
    rows: Mutex<Rows>,
}

impl MemoryProviders {
    fn rows(&self) -> MutexGuard<'_, Rows> {
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ProviderBook for MemoryProviders {
    fn keep(&self, rows: &[ProviderRow]) -> Result<usize, String> {
        let mut held = self.rows();
        let mut refused = 0;
        for row in rows {
            let at = (row.key.clone(), row.provider.clone());
            let for_key = held.keys().filter(|(k, _)| *k == row.key).count();
            if !held.contains_key(&at) && (for_key >= LIMITS.per_key || held.len() >= LIMITS.total)
            {
                refused += 1;
                continue;
            }
            held.insert(at, row.clone());
        }
        Ok(refused)
    }

    fn providers(&self, key: &[u8], now: u64) -> Result<Vec<ProviderRow>, String> {
        Ok(self
            .rows()
            .values()
            .filter(|r| r.key == key && r.expires > now)
            .cloned()
            .collect())
    }

    fn remove(&self, key: &[u8], provider: &[u8]) -> Result<(), String> {
        self.rows().remove(&(key.to_vec(), provider.to_vec()));
        Ok(())
    }

    fn expire(&self, now: u64) -> Result<usize, String> {
        let mut rows = self.rows();
        let before = rows.len();
        rows.retain(|_, r| r.expires > now);
        Ok(before - rows.len())
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The book and the records not written to it yet.
pub struct ProviderCache {
    book: Arc<dyn ProviderBook>,
    pending: Mutex<Vec<ProviderRow>>,
}

impl ProviderCache {
    pub fn new(book: Arc<dyn ProviderBook>) -> Arc<Self> {
        Arc::new(ProviderCache {
            book,
            pending: Mutex::default(),
        })
    }

    fn pending(&self) -> MutexGuard<'_, Vec<ProviderRow>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, row: ProviderRow) {
        let full = {
            let mut pending = self.pending();
            pending.push(row);
            pending.len() >= PENDING_MAX
        };
        if full {
            self.flush();
        }
    }

    /// Writes the buffered records.
    pub fn flush(&self) {
        let rows = std::mem::take(&mut *self.pending());
        match self.book.keep(&rows) {
            Ok(0) => {}
            Ok(refused) => tracing::info!("{refused} provider records refused: the store is full"),
            Err(err) => tracing::warn!("provider records not kept: {err}"),
        }
    }

    /// Drops expired records from the book.
    pub fn expire(&self) {
        match self.book.expire(unix_now()) {
            Ok(0) => {}
            Ok(dropped) => tracing::debug!("{dropped} expired provider records dropped"),
            Err(err) => tracing::warn!("expiring provider records: {err}"),
        }
    }

    fn providers(&self, key: &[u8]) -> Vec<ProviderRow> {
        let now = unix_now();
        let mut rows = self.book.providers(key, now).unwrap_or_else(|err| {
            tracing::warn!("reading provider records: {err}");
            Vec::new()
        });
        for row in self.pending().iter().filter(|r| r.key == key) {
            match rows.iter_mut().find(|r| r.provider == row.provider) {
                Some(held) => *held = row.clone(),
                None => rows.push(row.clone()),
            }
        }
        rows.retain(|r| r.expires > now);
        rows.truncate(LIMITS.per_key);
        rows
    }

    fn remove(&self, key: &[u8], provider: &[u8]) {
        self.pending()
            .retain(|r| !(r.key == key && r.provider == provider));
        if let Err(err) = self.book.remove(key, provider) {
            tracing::warn!("removing a provider record: {err}");
        }
    }
}

impl Drop for ProviderCache {
    fn drop(&mut self) {
        self.flush();
    }
}

fn to_row(record: &ProviderRecord) -> ProviderRow {
    let valid_for = record
        .expires
        .map(|at| at.saturating_duration_since(Instant::now()))
        .unwrap_or(PROVIDE_VALIDITY)
        .min(PROVIDE_VALIDITY);
    ProviderRow {
        key: record.key.to_vec(),
        provider: record.provider.to_bytes(),
        expires: unix_now() + valid_for.as_secs(),
        addrs: record.addresses.iter().map(|a| a.to_vec()).collect(),
    }
}

fn from_row(row: ProviderRow) -> Option<ProviderRecord> {
    let left = Duration::from_secs(row.expires.saturating_sub(unix_now()));
    Some(ProviderRecord {
        key: RecordKey::from(row.key),
        provider: PeerId::from_bytes(&row.provider).ok()?,
        expires: Some(Instant::now() + left),
        addresses: row
            .addrs
            .into_iter()
            .filter_map(|a| Multiaddr::try_from(a).ok())
            .collect(),
    })
}

/// A DHT's record store: values in memory (IPNS records, judged before
/// they are kept), provider records in the shared book.
pub struct DhtStore {
    values: MemoryStore,
    providers: Arc<ProviderCache>,
}

impl DhtStore {
    pub fn new(local: PeerId, providers: Arc<ProviderCache>) -> Self {
        DhtStore {
            values: MemoryStore::new(local),
            providers,
        }
    }
}

impl RecordStore for DhtStore {
    type RecordsIter<'a> = <MemoryStore as RecordStore>::RecordsIter<'a>;
    type ProvidedIter<'a> = std::iter::Empty<Cow<'a, ProviderRecord>>;

    fn get(&self, k: &RecordKey) -> Option<Cow<'_, Record>> {
        self.values.get(k)
    }

    fn put(&mut self, r: Record) -> store::Result<()> {
        self.values.put(r)
    }

    fn remove(&mut self, k: &RecordKey) {
        self.values.remove(k)
    }

    fn records(&self) -> Self::RecordsIter<'_> {
        self.values.records()
    }

    fn add_provider(&mut self, record: ProviderRecord) -> store::Result<()> {
        self.providers.add(to_row(&record));
        Ok(())
    }

    fn providers(&self, key: &RecordKey) -> Vec<ProviderRecord> {
        self.providers
            .providers(key.as_ref())
            .into_iter()
            .filter_map(from_row)
            .collect()
    }

    /// Our own records are announced again by the reprovider, not by the
    /// DHT's republishing (which is off).
    fn provided(&self) -> Self::ProvidedIter<'_> {
        std::iter::empty()
    }

    fn remove_provider(&mut self, k: &RecordKey, p: &PeerId) {
        self.providers.remove(k.as_ref(), &p.to_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: &[u8], provider: PeerId, valid: Duration) -> ProviderRecord {
        ProviderRecord {
            key: RecordKey::new(&key),
            provider,
            expires: Some(Instant::now() + valid),
            addresses: vec!["/ip4/127.0.0.2/tcp/4001".parse().unwrap()],
        }
    }

    #[test]
    fn records_are_served_before_and_after_they_are_written() {
        let book = Arc::new(MemoryProviders::default());
        let cache = ProviderCache::new(book.clone());
        let mut store = DhtStore::new(PeerId::random(), Arc::clone(&cache));
        let (a, b) = (PeerId::random(), PeerId::random());
        let key = RecordKey::new(b"k");
        store
            .add_provider(record(b"k", a, PROVIDE_VALIDITY))
            .unwrap();
        assert_eq!(store.providers(&key).len(), 1);
        cache.flush();
        store
            .add_provider(record(b"k", b, PROVIDE_VALIDITY))
            .unwrap();
        let found: Vec<PeerId> = store.providers(&key).iter().map(|r| r.provider).collect();
        assert_eq!(found, [a, b]);
        assert_eq!(store.providers(&key)[0].addresses.len(), 1);
        // A new store over the same book (a restart) serves them too.
        drop(store);
        drop(cache);
        let store = DhtStore::new(PeerId::random(), ProviderCache::new(book));
        assert_eq!(store.providers(&key).len(), 2);
    }

    #[test]
    fn a_record_is_kept_no_longer_than_the_provide_validity() {
        let row = to_row(&record(b"k", PeerId::random(), PROVIDE_VALIDITY * 10));
        assert!(row.expires <= unix_now() + PROVIDE_VALIDITY.as_secs());
        let mut no_expiry = record(b"k", PeerId::random(), PROVIDE_VALIDITY);
        no_expiry.expires = None;
        assert!(to_row(&no_expiry).expires >= unix_now() + PROVIDE_VALIDITY.as_secs() - 5);
        let expired = to_row(&record(b"k", PeerId::random(), Duration::ZERO));
        let book = MemoryProviders::default();
        book.keep(&[expired]).unwrap();
        assert_eq!(book.providers(b"k", unix_now()).unwrap(), []);
    }
}
