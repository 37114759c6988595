//! Node state in redb under `datastore/`: pins and a small key/value table
//! (the MFS root, and later IPNS records and other node state).

use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition};

use super::{RepoError, Result};
use crate::codec::cid::{Cid, cid_from_bytes, to_v1};

const PINS: TableDefinition<&[u8], u8> = TableDefinition::new("pins");
const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
/// Opaque per-CID facts other layers cache (the mount's node summaries).
const SUMMARIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("summaries");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinKind {
    Recursive,
    Direct,
}

impl PinKind {
    fn code(self) -> u8 {
        match self {
            PinKind::Recursive => 1,
            PinKind::Direct => 2,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(PinKind::Recursive),
            2 => Some(PinKind::Direct),
            _ => None,
        }
    }
}

pub struct Datastore {
    db: Database,
}

fn db_err(e: impl std::fmt::Display) -> RepoError {
    RepoError::Datastore(e.to_string())
}

impl Datastore {
    pub fn open(dir: &Path) -> Result<Datastore> {
        std::fs::create_dir_all(dir).map_err(super::io_err(dir))?;
        let db = Database::create(dir.join("rsipfs.redb")).map_err(db_err)?;
        let txn = db.begin_write().map_err(db_err)?;
        txn.open_table(PINS).map_err(db_err)?;
        txn.open_table(KV).map_err(db_err)?;
        txn.open_table(SUMMARIES).map_err(db_err)?;
        txn.commit().map_err(db_err)?;
        Ok(Datastore { db })
    }

    pub fn set_pin(&self, cid: &Cid, kind: PinKind) -> Result<()> {
        let txn = self.db.begin_write().map_err(db_err)?;
        txn.open_table(PINS)
            .map_err(db_err)?
            .insert(cid.to_bytes().as_slice(), kind.code())
            .map_err(db_err)?;
        txn.commit().map_err(db_err)
    }

    /// Removes a pin (matched by multihash, so v0 and v1 spellings are one pin).
    pub fn remove_pin(&self, cid: &Cid) -> Result<()> {
        let matching: Vec<Vec<u8>> = self
            .pins()?
            .into_iter()
            .filter(|(c, _)| c.hash() == cid.hash())
            .map(|(c, _)| c.to_bytes())
            .collect();
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let mut table = txn.open_table(PINS).map_err(db_err)?;
            for key in matching {
                table.remove(key.as_slice()).map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)
    }

    pub fn pins(&self) -> Result<Vec<(Cid, PinKind)>> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(PINS).map_err(db_err)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(db_err)? {
            let (key, value) = row.map_err(db_err)?;
            let cid = cid_from_bytes(key.value())
                .map_err(|e| RepoError::Datastore(format!("pin key: {e}")))?;
            let kind = PinKind::from_code(value.value()).ok_or_else(|| {
                RepoError::Datastore(format!("unknown pin kind {}", value.value()))
            })?;
            out.push((cid, kind));
        }
        Ok(out)
    }

    /// The summaries stored for `cids` (keyed by codec and multihash).
    pub fn summaries(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(SUMMARIES).map_err(db_err)?;
        cids.iter()
            .map(|cid| {
                Ok(table
                    .get(to_v1(cid).to_bytes().as_slice())
                    .map_err(db_err)?
                    .map(|v| v.value().to_vec()))
            })
            .collect()
    }

    pub fn put_summaries(&self, items: &[(Cid, Vec<u8>)]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        let mut txn = self.db.begin_write().map_err(db_err)?;
        // A cache: losing the last writes in a crash costs only a reload.
        txn.set_durability(redb::Durability::None);
        {
            let mut table = txn.open_table(SUMMARIES).map_err(db_err)?;
            for (cid, value) in items {
                table
                    .insert(to_v1(cid).to_bytes().as_slice(), value.as_slice())
                    .map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(KV).map_err(db_err)?;
        Ok(table.get(key).map_err(db_err)?.map(|v| v.value().to_vec()))
    }

    pub fn put(&self, key: &str, value: &[u8]) -> Result<()> {
        let txn = self.db.begin_write().map_err(db_err)?;
        txn.open_table(KV)
            .map_err(db_err)?
            .insert(key, value)
            .map_err(db_err)?;
        txn.commit().map_err(db_err)
    }

    pub fn delete(&self, key: &str) -> Result<()> {
        let txn = self.db.begin_write().map_err(db_err)?;
        txn.open_table(KV)
            .map_err(db_err)?
            .remove(key)
            .map_err(db_err)?;
        txn.commit().map_err(db_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cid::{parse_cid, to_v1};

    #[test]
    fn pins_and_values_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let cid = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        {
            let ds = Datastore::open(dir.path()).unwrap();
            ds.set_pin(&cid, PinKind::Recursive).unwrap();
            ds.put("/local/filesroot", &cid.to_bytes()).unwrap();
        }
        let ds = Datastore::open(dir.path()).unwrap();
        assert_eq!(ds.pins().unwrap(), vec![(cid, PinKind::Recursive)]);
        assert_eq!(ds.get("/local/filesroot").unwrap(), Some(cid.to_bytes()));
        ds.remove_pin(&to_v1(&cid)).unwrap();
        assert!(ds.pins().unwrap().is_empty());
        ds.delete("/local/filesroot").unwrap();
        assert_eq!(ds.get("/local/filesroot").unwrap(), None);
    }
}
