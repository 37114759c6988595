//! Node state in redb under `datastore/`: pins and a small key/value table
//! (the MFS root, and later IPNS records and other node state), and a cache
//! of per-CID summaries.
//!
//! Every change to pins and keys goes to `roots.journal` first (see
//! `journal`), so a lost or damaged file can be rebuilt by `repo fsck`.
//! redb may panic on a damaged file rather than answer an error: every call
//! into it is contained, and a damaged file is an error naming it.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};

use super::journal::{self, Change, Journal};
use super::{RepoError, Result};
use crate::codec::cid::{Cid, cid_from_bytes, to_v1};

pub const DATASTORE_FILE: &str = "rsipfs.redb";

const PINS: TableDefinition<&[u8], u8> = TableDefinition::new("pins");
const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
/// Opaque per-CID facts other layers cache (the mount's node summaries).
const SUMMARIES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("summaries");

/// The journal is rewritten with only the current state past this size.
const JOURNAL_COMPACT_AT: u64 = 1 << 20;

/// Memory redb may keep for pages: a tenth holds pages written by commits
/// not flushed yet, the rest pages read. Its default (1 GiB) would let a
/// mount grow with the file: every MFS flush writes summaries in a
/// non-durable commit, whose pages stay in memory until a durable one.
const CACHE_BYTES: usize = 16 << 20;

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
    file: PathBuf,
    /// Held across the journal append and the commit, so that the journal
    /// never misses a committed change (compaction reads the state).
    journal: Mutex<Journal>,
    /// Set once redb panicked: it is not called again.
    damaged: Mutex<Option<String>>,
}

/// What `repo fsck` found and did.
#[derive(Debug, Default)]
pub struct Rebuilt {
    /// Where the damaged file was moved, if there was one.
    pub moved_aside: Option<PathBuf>,
    pub pins: Vec<(Cid, PinKind)>,
    pub keys: Vec<(String, Vec<u8>)>,
    /// Journal lines that failed their checksum and were skipped.
    pub bad_lines: Vec<usize>,
}

pub(super) fn db_err(e: impl std::fmt::Display) -> RepoError {
    RepoError::Datastore(e.to_string())
}

thread_local! {
    static CONTAINING: Cell<bool> = const { Cell::new(false) };
    static CONTAINED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `f`, turning a panic into its message; the panic is not printed.
fn contain<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    static QUIET_HOOK: std::sync::Once = std::sync::Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CONTAINING.get() {
                CONTAINED.set(Some(info.to_string().replace('\n', " ")));
            } else {
                previous(info);
            }
        }));
    });
    let was = CONTAINING.replace(true);
    let outcome = catch_unwind(AssertUnwindSafe(f));
    CONTAINING.set(was);
    outcome.map_err(|_| {
        CONTAINED
            .take()
            .unwrap_or_else(|| "the database library panicked".to_string())
    })
}

fn damaged(file: &Path, reason: impl std::fmt::Display) -> RepoError {
    RepoError::DatastoreDamaged {
        path: file.display().to_string(),
        reason: reason.to_string(),
    }
}

impl Datastore {
    /// Creates an empty datastore and journal (`init`).
    pub fn create(dir: &Path, journal_path: &Path) -> Result<Datastore> {
        std::fs::create_dir_all(dir).map_err(super::io_err(dir))?;
        let file = dir.join(DATASTORE_FILE);
        let db = builder().create(&file).map_err(db_err)?;
        let txn = db.begin_write().map_err(db_err)?;
        txn.open_table(PINS).map_err(db_err)?;
        txn.open_table(KV).map_err(db_err)?;
        txn.open_table(SUMMARIES).map_err(db_err)?;
        txn.commit().map_err(db_err)?;
        let journal = Journal::rewrite(journal_path, &[])?;
        Ok(Datastore {
            db,
            file,
            journal: Mutex::new(journal),
            damaged: Mutex::new(None),
        })
    }

    /// Opens the datastore of an initialised repository. A missing file is
    /// an error (never silently recreated: pins and the MFS root would be
    /// gone), and so is a damaged one; both name `repo fsck`.
    pub fn open(dir: &Path, journal_path: &Path) -> Result<Datastore> {
        let file = dir.join(DATASTORE_FILE);
        match std::fs::metadata(&file) {
            Ok(meta) if meta.len() == 0 => return Err(damaged(&file, "the file is empty")),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RepoError::DatastoreMissing {
                    path: file.display().to_string(),
                });
            }
            Err(e) => return Err(super::io_err(&file)(e)),
        }
        let db = contain(|| open_db(&file))
            .map_err(|panic| damaged(&file, panic))?
            .map_err(|e| match e {
                redb::DatabaseError::Storage(redb::StorageError::Io(io)) => {
                    super::io_err(&file)(io)
                }
                redb::DatabaseError::DatabaseAlreadyOpen => db_err(e),
                other => damaged(&file, other),
            })?;
        let journal = match Journal::open(journal_path) {
            Ok(journal) => journal,
            // A repository from before the journal: it starts with the
            // current state.
            Err(RepoError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                Journal::rewrite(journal_path, &[])?
            }
            Err(err) => return Err(err),
        };
        let store = Datastore {
            db,
            file,
            journal: Mutex::new(journal),
            damaged: Mutex::new(None),
        };
        // A first read of every root, so that damage shows now.
        let state = store.state()?;
        let mut journal = store.journal();
        if journal.len() == 0 && !state.is_empty() {
            *journal = Journal::rewrite(journal_path, &state)?;
        }
        drop(journal);
        Ok(store)
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    fn journal(&self) -> MutexGuard<'_, Journal> {
        self.journal.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the database unless it is known damaged; a panic marks
    /// it damaged and is an error naming the file.
    pub(super) fn guarded<T>(&self, f: impl FnOnce(&Database) -> Result<T>) -> Result<T> {
        let mut known = self.damaged.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(reason) = known.as_ref() {
            return Err(damaged(&self.file, reason));
        }
        drop(known);
        match contain(|| f(&self.db)) {
            Ok(result) => result.map_err(|err| match err {
                RepoError::Datastore(reason) => {
                    RepoError::Datastore(format!("{}: {reason}", self.file.display()))
                }
                other => other,
            }),
            Err(panic) => {
                known = self.damaged.lock().unwrap_or_else(|p| p.into_inner());
                *known = Some(panic.clone());
                Err(damaged(&self.file, panic))
            }
        }
    }

    /// Journals `changes`, then commits what `apply` writes; compacts the
    /// journal when it has grown.
    fn change(
        &self,
        changes: &[Change],
        apply: impl FnOnce(&WriteTransaction) -> Result<()>,
    ) -> Result<()> {
        let mut journal = self.journal();
        journal.append(changes)?;
        self.guarded(|db| {
            let txn = db.begin_write().map_err(db_err)?;
            apply(&txn)?;
            txn.commit().map_err(db_err)
        })?;
        if journal.len() > JOURNAL_COMPACT_AT {
            let state = self.state()?;
            let path = journal.path().to_path_buf();
            *journal = Journal::rewrite(&path, &state)?;
        }
        Ok(())
    }

    /// Every pin and key, as the changes that rebuild them.
    fn state(&self) -> Result<Vec<Change>> {
        let mut state: Vec<Change> = self
            .pins()?
            .into_iter()
            .map(|(cid, kind)| Change::Pin(cid, kind))
            .collect();
        state.extend(
            self.entries()?
                .into_iter()
                .map(|(key, value)| Change::Put(key, value)),
        );
        Ok(state)
    }

    pub fn set_pin(&self, cid: &Cid, kind: PinKind) -> Result<()> {
        self.change(&[Change::Pin(*cid, kind)], |txn| insert_pin(txn, cid, kind))
    }

    /// Removes a pin (matched by multihash, so v0 and v1 spellings are one pin).
    pub fn remove_pin(&self, cid: &Cid) -> Result<()> {
        let matching = self.matching_pins(cid)?;
        self.change(&[Change::Unpin(*cid)], |txn| remove_pins(txn, &matching))
    }

    fn matching_pins(&self, cid: &Cid) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .pins()?
            .into_iter()
            .filter(|(c, _)| c.hash() == cid.hash())
            .map(|(c, _)| c.to_bytes())
            .collect())
    }

    pub fn pins(&self) -> Result<Vec<(Cid, PinKind)>> {
        self.guarded(|db| {
            let txn = db.begin_read().map_err(db_err)?;
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
        })
    }

    /// Every key of the key/value table with its value.
    pub fn entries(&self) -> Result<Vec<(String, Vec<u8>)>> {
        self.guarded(|db| {
            let txn = db.begin_read().map_err(db_err)?;
            let table = txn.open_table(KV).map_err(db_err)?;
            let mut out = Vec::new();
            for row in table.iter().map_err(db_err)? {
                let (key, value) = row.map_err(db_err)?;
                out.push((key.value().to_string(), value.value().to_vec()));
            }
            Ok(out)
        })
    }

    /// The summaries stored for `cids` (keyed by codec and multihash).
    pub fn summaries(&self, cids: &[Cid]) -> Result<Vec<Option<Vec<u8>>>> {
        self.guarded(|db| {
            let txn = db.begin_read().map_err(db_err)?;
            let table = txn.open_table(SUMMARIES).map_err(db_err)?;
            cids.iter()
                .map(|cid| {
                    Ok(table
                        .get(to_v1(cid).to_bytes().as_slice())
                        .map_err(db_err)?
                        .map(|v| v.value().to_vec()))
                })
                .collect()
        })
    }

    pub fn put_summaries(&self, items: &[(Cid, Vec<u8>)]) -> Result<()> {
        if items.is_empty() {
            return Ok(());
        }
        self.guarded(|db| {
            let mut txn = db.begin_write().map_err(db_err)?;
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
        })
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.guarded(|db| {
            let txn = db.begin_read().map_err(db_err)?;
            let table = txn.open_table(KV).map_err(db_err)?;
            Ok(table.get(key).map_err(db_err)?.map(|v| v.value().to_vec()))
        })
    }

    pub fn put(&self, key: &str, value: &[u8]) -> Result<()> {
        self.put_all(&[(key, value)])
    }

    /// Sets several keys in one commit (and one journal write).
    pub fn put_all(&self, items: &[(&str, &[u8])]) -> Result<()> {
        for (key, _) in items {
            journal::check_key(key)?;
        }
        let changes: Vec<Change> = items
            .iter()
            .map(|(key, value)| Change::Put(key.to_string(), value.to_vec()))
            .collect();
        self.change(&changes, |txn| {
            let mut table = txn.open_table(KV).map_err(db_err)?;
            for (key, value) in items {
                table.insert(*key, *value).map_err(db_err)?;
            }
            Ok(())
        })
    }

    pub fn delete(&self, key: &str) -> Result<()> {
        journal::check_key(key)?;
        self.change(&[Change::Delete(key.to_string())], |txn| {
            txn.open_table(KV)
                .map_err(db_err)?
                .remove(key)
                .map_err(db_err)?;
            Ok(())
        })
    }

    /// `repo fsck`: when the datastore cannot be opened, or does not hold
    /// what the journal says, moves it aside (it is never deleted) and
    /// builds a fresh one from the journal. `None`: it was sound.
    pub fn rebuild(dir: &Path, journal_path: &Path) -> Result<Option<Rebuilt>> {
        if !journal_path.exists() {
            return Err(RepoError::Datastore(format!(
                "{} is missing: there is nothing to rebuild the datastore from \
                 (restore {} from a backup)",
                journal_path.display(),
                dir.join(DATASTORE_FILE).display()
            )));
        }
        let replay = journal::read(journal_path)?;
        let mut wanted = Datastore::state_after(&replay.changes);
        wanted.bad_lines = replay.bad_lines;
        if let Ok(current) = Datastore::open(dir, journal_path) {
            let mut pins = current.pins()?;
            let mut keys = current.entries()?;
            pins.sort_by_key(|(cid, _)| cid.to_bytes());
            keys.sort();
            if pins == wanted.pins && keys == wanted.keys {
                return Ok(None);
            }
        }
        std::fs::create_dir_all(dir).map_err(super::io_err(dir))?;
        let file = dir.join(DATASTORE_FILE);
        if file.exists() {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let aside = dir.join(format!("{DATASTORE_FILE}.damaged-{stamp}"));
            std::fs::rename(&file, &aside).map_err(super::io_err(&aside))?;
            wanted.moved_aside = Some(aside);
        }
        let db = builder().create(&file).map_err(db_err)?;
        let txn = db.begin_write().map_err(db_err)?;
        txn.open_table(SUMMARIES).map_err(db_err)?;
        for (cid, kind) in &wanted.pins {
            insert_pin(&txn, cid, *kind)?;
        }
        {
            let mut table = txn.open_table(KV).map_err(db_err)?;
            for (key, value) in &wanted.keys {
                table
                    .insert(key.as_str(), value.as_slice())
                    .map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)?;
        Ok(Some(wanted))
    }

    /// The pins and keys `changes` leave, sorted.
    fn state_after(changes: &[Change]) -> Rebuilt {
        let mut pins: Vec<(Cid, PinKind)> = Vec::new();
        let mut keys: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
        for change in changes {
            match change {
                Change::Pin(cid, kind) => {
                    pins.retain(|(c, _)| c.to_bytes() != cid.to_bytes());
                    pins.push((*cid, *kind));
                }
                Change::Unpin(cid) => pins.retain(|(c, _)| c.hash() != cid.hash()),
                Change::Put(key, value) => {
                    keys.insert(key.clone(), value.clone());
                }
                Change::Delete(key) => {
                    keys.remove(key);
                }
            }
        }
        pins.sort_by_key(|(cid, _)| cid.to_bytes());
        Rebuilt {
            pins,
            keys: keys.into_iter().collect(),
            ..Rebuilt::default()
        }
    }
}

fn builder() -> redb::Builder {
    let mut builder = Database::builder();
    builder.set_cache_size(CACHE_BYTES);
    builder
}

fn open_db(file: &Path) -> std::result::Result<Database, redb::DatabaseError> {
    let warned = std::sync::atomic::AtomicBool::new(false);
    let shown = file.display().to_string();
    builder()
        .set_repair_callback(move |_| {
            if !warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
                tracing::warn!("{shown} was not closed cleanly: repairing it");
            }
        })
        .open(file)
}

fn insert_pin(txn: &WriteTransaction, cid: &Cid, kind: PinKind) -> Result<()> {
    txn.open_table(PINS)
        .map_err(db_err)?
        .insert(cid.to_bytes().as_slice(), kind.code())
        .map_err(db_err)?;
    Ok(())
}

fn remove_pins(txn: &WriteTransaction, keys: &[Vec<u8>]) -> Result<()> {
    let mut table = txn.open_table(PINS).map_err(db_err)?;
    for key in keys {
        table.remove(key.as_slice()).map_err(db_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cid::{parse_cid, to_v1};

    fn journal(dir: &Path) -> PathBuf {
        dir.join(journal::JOURNAL_FILE)
    }

    #[test]
    fn pins_and_values_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let (ds_dir, journal) = (dir.path().join("datastore"), journal(dir.path()));
        let cid = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        {
            let ds = Datastore::create(&ds_dir, &journal).unwrap();
            ds.set_pin(&cid, PinKind::Recursive).unwrap();
            ds.put("/local/filesroot", &cid.to_bytes()).unwrap();
        }
        let ds = Datastore::open(&ds_dir, &journal).unwrap();
        assert_eq!(ds.pins().unwrap(), vec![(cid, PinKind::Recursive)]);
        assert_eq!(ds.get("/local/filesroot").unwrap(), Some(cid.to_bytes()));
        ds.remove_pin(&to_v1(&cid)).unwrap();
        assert!(ds.pins().unwrap().is_empty());
        ds.delete("/local/filesroot").unwrap();
        assert_eq!(ds.get("/local/filesroot").unwrap(), None);
    }

    #[test]
    fn a_missing_file_is_an_error_and_is_not_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let (ds_dir, journal) = (dir.path().join("datastore"), journal(dir.path()));
        drop(Datastore::create(&ds_dir, &journal).unwrap());
        std::fs::remove_dir_all(&ds_dir).unwrap();
        assert!(matches!(
            Datastore::open(&ds_dir, &journal),
            Err(RepoError::DatastoreMissing { .. })
        ));
        assert!(!ds_dir.exists());
    }

    #[test]
    fn damage_is_an_error_naming_the_file_and_fsck_rebuilds_from_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let (ds_dir, journal) = (dir.path().join("datastore"), journal(dir.path()));
        let cid = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        {
            let ds = Datastore::create(&ds_dir, &journal).unwrap();
            ds.set_pin(&cid, PinKind::Recursive).unwrap();
            ds.put("/local/filesroot", &cid.to_bytes()).unwrap();
        }
        assert!(Datastore::rebuild(&ds_dir, &journal).unwrap().is_none());
        let file = ds_dir.join(DATASTORE_FILE);
        // Each kind of damage seen to make redb panic or refuse.
        let good = std::fs::read(&file).unwrap();
        let mut scribbled = good.clone();
        scribbled[4096..4 * 4096].fill(0xA5);
        for damage in [good[..4096].to_vec(), scribbled, Vec::new()] {
            std::fs::write(&file, &damage).unwrap();
            match Datastore::open(&ds_dir, &journal) {
                Err(err @ RepoError::DatastoreDamaged { .. }) => {
                    assert!(
                        err.to_string().contains(&file.display().to_string()),
                        "{err}"
                    );
                    assert!(err.to_string().contains("repo fsck"), "{err}");
                }
                other => panic!("expected DatastoreDamaged, got {:?}", other.err()),
            }
            let rebuilt = Datastore::rebuild(&ds_dir, &journal).unwrap().unwrap();
            assert_eq!(rebuilt.pins, vec![(cid, PinKind::Recursive)]);
            let aside = rebuilt.moved_aside.unwrap();
            assert_eq!(std::fs::read(&aside).unwrap(), damage);
            std::fs::remove_file(aside).unwrap();
            let ds = Datastore::open(&ds_dir, &journal).unwrap();
            assert_eq!(ds.pins().unwrap(), vec![(cid, PinKind::Recursive)]);
            assert_eq!(ds.get("/local/filesroot").unwrap(), Some(cid.to_bytes()));
        }
    }

    #[test]
    fn a_repository_from_before_the_journal_gets_one_with_its_state() {
        let dir = tempfile::tempdir().unwrap();
        let (ds_dir, journal_path) = (dir.path().join("datastore"), journal(dir.path()));
        let cid = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        drop(
            Datastore::create(&ds_dir, &journal_path)
                .and_then(|ds| ds.set_pin(&cid, PinKind::Direct)),
        );
        std::fs::remove_file(&journal_path).unwrap();
        drop(Datastore::open(&ds_dir, &journal_path).unwrap());
        let replay = journal::read(&journal_path).unwrap();
        assert_eq!(replay.changes, vec![Change::Pin(cid, PinKind::Direct)]);
    }

    #[test]
    fn a_change_journaled_but_not_committed_is_recovered() {
        // What a kill -9 between the journal write and the commit leaves.
        let dir = tempfile::tempdir().unwrap();
        let (ds_dir, journal_path) = (dir.path().join("datastore"), journal(dir.path()));
        let cid = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        drop(Datastore::create(&ds_dir, &journal_path).unwrap());
        Journal::open(&journal_path)
            .unwrap()
            .append(&[Change::Pin(cid, PinKind::Recursive)])
            .unwrap();
        let rebuilt = Datastore::rebuild(&ds_dir, &journal_path).unwrap().unwrap();
        assert_eq!(rebuilt.pins, vec![(cid, PinKind::Recursive)]);
        let ds = Datastore::open(&ds_dir, &journal_path).unwrap();
        assert_eq!(ds.pins().unwrap(), vec![(cid, PinKind::Recursive)]);
    }

    #[test]
    fn the_journal_is_compacted_to_the_current_state() {
        let dir = tempfile::tempdir().unwrap();
        let (ds_dir, journal_path) = (dir.path().join("datastore"), journal(dir.path()));
        let cid = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        let ds = Datastore::create(&ds_dir, &journal_path).unwrap();
        ds.set_pin(&cid, PinKind::Direct).unwrap();
        let value = vec![7u8; 4096];
        for _ in 0..(JOURNAL_COMPACT_AT / 8192 + 2) {
            ds.put("/k", &value).unwrap();
        }
        let size = std::fs::metadata(&journal_path).unwrap().len();
        assert!(size < JOURNAL_COMPACT_AT, "{size}");
        let replay = journal::read(&journal_path).unwrap();
        assert!(replay.changes.contains(&Change::Pin(cid, PinKind::Direct)));
        assert!(replay.changes.contains(&Change::Put("/k".into(), value)));
    }
}
