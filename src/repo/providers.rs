//! Provider records this node keeps as a DHT server, in their own datastore
//! table so they outlive a restart (as Kubo keeps them in its datastore).
//! Not journalled: they are soft state that providers announce again, so
//! `repo fsck` may lose them.
//!
//! A row's key is the record key (length-prefixed) then the provider's peer
//! id, so one key's providers are one range; its value is the expiry (unix
//! seconds) then the provider's addresses.

use redb::{ReadableTable, ReadableTableMetadata, TableDefinition, TableError};

use super::Result;
use super::datastore::{Datastore, db_err};

const PROVIDERS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("providers");

/// One provider record: `provider` (a peer id's bytes) has the content
/// under `key` until `expires` (unix seconds), reachable at `addrs`
/// (multiaddr bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderRow {
    pub key: Vec<u8>,
    pub provider: Vec<u8>,
    pub expires: u64,
    pub addrs: Vec<Vec<u8>>,
}

/// How many records are kept, per key and in all.
#[derive(Clone, Copy, Debug)]
pub struct ProviderLimits {
    pub per_key: usize,
    pub total: usize,
}

fn key_prefix(key: &[u8]) -> Vec<u8> {
    let len = u16::try_from(key.len()).unwrap_or(u16::MAX);
    let mut prefix = len.to_be_bytes().to_vec();
    prefix.extend_from_slice(key);
    prefix
}

fn row_key(key: &[u8], provider: &[u8]) -> Vec<u8> {
    let mut row = key_prefix(key);
    row.extend_from_slice(provider);
    row
}

fn encode_value(row: &ProviderRow) -> Vec<u8> {
    let mut value = row.expires.to_be_bytes().to_vec();
    for addr in &row.addrs {
        let Ok(len) = u16::try_from(addr.len()) else {
            continue;
        };
        value.extend_from_slice(&len.to_be_bytes());
        value.extend_from_slice(addr);
    }
    value
}

/// The row stored under `row_key`; None when it does not decode.
fn decode(row_key: &[u8], value: &[u8]) -> Option<ProviderRow> {
    let key_len = usize::from(u16::from_be_bytes(row_key.get(..2)?.try_into().ok()?));
    let key = row_key.get(2..2 + key_len)?.to_vec();
    let provider = row_key.get(2 + key_len..)?.to_vec();
    let expires = u64::from_be_bytes(value.get(..8)?.try_into().ok()?);
    let mut addrs = Vec::new();
    let mut rest = &value[8..];
    while !rest.is_empty() {
        let len = usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?));
        addrs.push(rest.get(2..2 + len)?.to_vec());
        rest = &rest[2 + len..];
    }
    Some(ProviderRow {
        key,
        provider,
        expires,
        addrs,
    })
}

impl Datastore {
    /// Keeps `rows` in one commit, a row for a key and provider already held
    /// replacing it. Beyond `limits` new providers are refused; returns how
    /// many were.
    pub fn keep_providers(&self, rows: &[ProviderRow], limits: ProviderLimits) -> Result<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        self.guarded(|db| {
            let txn = db.begin_write().map_err(db_err)?;
            let mut refused = 0;
            {
                let mut table = txn.open_table(PROVIDERS).map_err(db_err)?;
                for row in rows {
                    let at = row_key(&row.key, &row.provider);
                    let held = table.get(at.as_slice()).map_err(db_err)?.is_some();
                    if !held {
                        let prefix = key_prefix(&row.key);
                        let for_key = table
                            .range(prefix.as_slice()..)
                            .map_err(db_err)?
                            .take_while(|r| {
                                r.as_ref()
                                    .is_ok_and(|(k, _)| k.value().starts_with(&prefix))
                            })
                            .take(limits.per_key)
                            .count();
                        let total = table.len().map_err(db_err)?;
                        if for_key >= limits.per_key || total >= limits.total as u64 {
                            refused += 1;
                            continue;
                        }
                    }
                    table
                        .insert(at.as_slice(), encode_value(row).as_slice())
                        .map_err(db_err)?;
                }
            }
            txn.commit().map_err(db_err)?;
            Ok(refused)
        })
    }

    /// The records held for `key` that expire after `now`.
    pub fn providers(&self, key: &[u8], now: u64) -> Result<Vec<ProviderRow>> {
        self.guarded(|db| {
            let txn = db.begin_read().map_err(db_err)?;
            let table = match txn.open_table(PROVIDERS) {
                Ok(table) => table,
                Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
                Err(err) => return Err(db_err(err)),
            };
            let prefix = key_prefix(key);
            let mut rows = Vec::new();
            for entry in table.range(prefix.as_slice()..).map_err(db_err)? {
                let (row_key, value) = entry.map_err(db_err)?;
                if !row_key.value().starts_with(&prefix) {
                    break;
                }
                match decode(row_key.value(), value.value()) {
                    Some(row) if row.expires > now => rows.push(row),
                    Some(_) => {}
                    None => tracing::warn!("skipping an undecodable provider record"),
                }
            }
            Ok(rows)
        })
    }

    pub fn remove_provider(&self, key: &[u8], provider: &[u8]) -> Result<()> {
        self.guarded(|db| {
            let txn = db.begin_write().map_err(db_err)?;
            txn.open_table(PROVIDERS)
                .map_err(db_err)?
                .remove(row_key(key, provider).as_slice())
                .map_err(db_err)?;
            txn.commit().map_err(db_err)
        })
    }

    /// Drops the records expired at `now` (and any that do not decode);
    /// returns how many.
    pub fn expire_providers(&self, now: u64) -> Result<usize> {
        self.guarded(|db| {
            let txn = db.begin_write().map_err(db_err)?;
            let mut dropped = 0;
            {
                let mut table = txn.open_table(PROVIDERS).map_err(db_err)?;
                table
                    .retain(|key, value| {
                        let keep = decode(key, value).is_some_and(|row| row.expires > now);
                        dropped += usize::from(!keep);
                        keep
                    })
                    .map_err(db_err)?;
            }
            txn.commit().map_err(db_err)?;
            Ok(dropped)
        })
    }

    /// How many provider records are held, expired or not.
    pub fn provider_count(&self) -> Result<u64> {
        self.guarded(|db| {
            let txn = db.begin_read().map_err(db_err)?;
            match txn.open_table(PROVIDERS) {
                Ok(table) => table.len().map_err(db_err),
                Err(TableError::TableDoesNotExist(_)) => Ok(0),
                Err(err) => Err(db_err(err)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &[u8], provider: u8, expires: u64) -> ProviderRow {
        ProviderRow {
            key: key.to_vec(),
            provider: vec![provider; 38],
            expires,
            addrs: vec![vec![4, 127, 0, 0, 1], vec![provider]],
        }
    }

    fn datastore() -> (tempfile::TempDir, Datastore) {
        let dir = tempfile::tempdir().unwrap();
        let store = Datastore::create(&dir.path().join("ds"), &dir.path().join("j")).unwrap();
        (dir, store)
    }

    const LIMITS: ProviderLimits = ProviderLimits {
        per_key: 3,
        total: 5,
    };

    #[test]
    fn records_are_kept_per_key_replaced_and_survive_a_reopen() {
        let (dir, store) = datastore();
        let kept = [row(b"k1", 1, 100), row(b"k1", 2, 100), row(b"k2", 1, 100)];
        assert_eq!(store.keep_providers(&kept, LIMITS).unwrap(), 0);
        // A key that is a prefix of another gets only its own rows.
        store.keep_providers(&[row(b"k", 9, 100)], LIMITS).unwrap();
        // Renewed: same key and provider, later expiry.
        store.keep_providers(&[row(b"k1", 2, 200)], LIMITS).unwrap();
        drop(store);
        let store = Datastore::open(&dir.path().join("ds"), &dir.path().join("j")).unwrap();
        let found = store.providers(b"k1", 50).unwrap();
        assert_eq!(found, [row(b"k1", 1, 100), row(b"k1", 2, 200)]);
        assert_eq!(store.providers(b"k", 50).unwrap(), [row(b"k", 9, 100)]);
        assert_eq!(store.providers(b"k3", 50).unwrap(), []);
        store.remove_provider(b"k1", &[1; 38]).unwrap();
        assert_eq!(store.providers(b"k1", 50).unwrap(), [row(b"k1", 2, 200)]);
    }

    #[test]
    fn expired_records_are_not_served_and_are_swept() {
        let (_dir, store) = datastore();
        let rows = [row(b"k1", 1, 100), row(b"k1", 2, 300), row(b"k2", 1, 100)];
        store.keep_providers(&rows, LIMITS).unwrap();
        assert_eq!(store.providers(b"k1", 150).unwrap(), [row(b"k1", 2, 300)]);
        assert_eq!(store.expire_providers(150).unwrap(), 2);
        assert_eq!(store.provider_count().unwrap(), 1);
    }

    #[test]
    fn providers_beyond_the_limits_are_refused() {
        let (_dir, store) = datastore();
        let rows: Vec<_> = (0..5).map(|p| row(b"k1", p, 100)).collect();
        assert_eq!(store.keep_providers(&rows, LIMITS).unwrap(), 2);
        assert_eq!(store.providers(b"k1", 0).unwrap().len(), 3);
        // A held provider is still renewed at the limit.
        assert_eq!(
            store.keep_providers(&[row(b"k1", 0, 500)], LIMITS).unwrap(),
            0
        );
        let rows: Vec<_> = (0..4).map(|p| row(b"k2", p, 100)).collect();
        // Two more fit in all (5), the third key row is over the total.
        assert_eq!(store.keep_providers(&rows[..3], LIMITS).unwrap(), 1);
        assert_eq!(store.provider_count().unwrap(), 5);
    }
}
