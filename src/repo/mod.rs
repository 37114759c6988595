//! The fs-repo v1 on disk (seed 002): `version`, `config`, `keys/`, `blocks/`
//! (flat files in multihash-hex tiers), `datastore/` (redb), `logs/`,
//! `hooks/`, and `repo.lock` holding the PID of the process that owns it.

mod config;
mod datastore;
mod direct_io;
mod flatfs;
mod ipns_trees;
mod journal;
mod keys;
pub mod keystore;
pub use ipns_trees::IpnsTree;
mod lock;
pub mod private_key;
mod profile;
pub mod providers;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub use config::{DEFAULT_BOOTSTRAP, DEFAULT_SWARM, default_config};
pub use datastore::{DATASTORE_FILE, Datastore, PinKind, Rebuilt};
pub use flatfs::FlatFs;
pub use journal::JOURNAL_FILE;
pub use lock::RepoLock;
pub use profile::{Profile, ProfileError};

use crate::blockstore::{Blockstore, GcLock};
use crate::codec::cid::{Cid, cid_from_bytes, cid_string, multihash_hex, verify};

pub const VERSION_TEXT: &str = "fs-repo: 1";
/// Datastore key of the MFS root CID (as Kubo names it).
pub const MFS_ROOT_KEY: &str = "/local/filesroot";

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("no rsipfs repository at {0} (run `rsipfs init`)")]
    NotInitialized(String),
    #[error("a repository already exists at {0}")]
    AlreadyInitialized(String),
    #[error(
        "{0} holds a Kubo repository; rsipfs uses its own fs-repo v1 layout and will not touch it"
    )]
    KuboRepo(String),
    #[error(
        "{path} holds an unsupported repository version {found:?} (rsipfs reads \"fs-repo: 1\")"
    )]
    UnsupportedVersion { path: String, found: String },
    #[error("{0} is not empty and is not an rsipfs repository; refusing to write into it")]
    NotEmpty(String),
    #[error("the repository at {path} is locked by process {pid} (another rsipfs is running)")]
    Locked { path: String, pid: u32 },
    #[error("invalid config {path}: {reason}")]
    Config { path: String, reason: String },
    #[error("invalid key {0}")]
    Key(String),
    #[error("datastore error: {0}")]
    Datastore(String),
    #[error(
        "the datastore {path} is missing (pins and the MFS root live there); \
         run `rsipfs repo fsck` to rebuild it from {JOURNAL_FILE}, or restore it from a backup"
    )]
    DatastoreMissing { path: String },
    #[error(
        "the datastore {path} is damaged ({reason}); run `rsipfs repo fsck` to rebuild \
         pins and the MFS root from {JOURNAL_FILE} (the damaged file is kept), \
         or restore it from a backup"
    )]
    DatastoreDamaged { path: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Block(#[from] crate::blockstore::BlockstoreError),
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

pub type Result<T> = std::result::Result<T, RepoError>;

/// Config changes one at a time, so a read-modify-write never loses
/// another's change (one lock for the process: changes are rare, and the
/// repository lock keeps other processes out).
static CONFIG_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl RepoError {
    /// The same error again (for one kept to be given on every use).
    fn duplicate(&self) -> RepoError {
        match self {
            RepoError::DatastoreMissing { path } => {
                RepoError::DatastoreMissing { path: path.clone() }
            }
            RepoError::DatastoreDamaged { path, reason } => RepoError::DatastoreDamaged {
                path: path.clone(),
                reason: reason.clone(),
            },
            other => RepoError::Datastore(other.to_string()),
        }
    }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RepoError + '_ {
    move |source| RepoError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[derive(Clone, Debug, Default)]
pub struct InitOptions {
    /// Applied in order to the default config before it is written.
    pub profiles: Vec<Profile>,
}

/// `$IPFS_PATH`, else `~/.ipfs`.
pub fn default_repo_path() -> PathBuf {
    if let Some(path) = std::env::var_os("IPFS_PATH") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"));
    home.join(".ipfs")
}

pub struct Repo {
    path: PathBuf,
    blocks: Arc<FlatFs>,
    /// Opened on first use: commands that need no pins nor MFS root work
    /// even when it is damaged.
    datastore: OnceLock<Result<Datastore>>,
    gc_lock: Arc<GcLock>,
    peer_id: String,
    // Dropped last: the lock outlives every other handle on the repo.
    _lock: RepoLock,
}

#[derive(Clone, Debug)]
pub struct RepoStat {
    pub blocks: u64,
    pub bytes: u64,
    pub path: PathBuf,
    pub version: String,
}

impl Repo {
    /// Creates a repository at `path` (which must be missing or empty).
    pub fn init(path: &Path, opts: &InitOptions) -> Result<Repo> {
        match classify(path)? {
            Found::Missing | Found::Empty => {}
            Found::Ours => return Err(RepoError::AlreadyInitialized(path.display().to_string())),
            Found::Kubo => return Err(RepoError::KuboRepo(path.display().to_string())),
            Found::OtherVersion(found) => {
                return Err(RepoError::UnsupportedVersion {
                    path: path.display().to_string(),
                    found,
                });
            }
            Found::Foreign => return Err(RepoError::NotEmpty(path.display().to_string())),
        }
        // Profiles first: one that cannot be applied leaves nothing behind.
        let mut config = default_config();
        for profile in &opts.profiles {
            profile.apply(&mut config)?;
        }
        std::fs::create_dir_all(path).map_err(io_err(path))?;
        for dir in ["blocks", "datastore", "keys", "logs", "hooks"] {
            std::fs::create_dir_all(path.join(dir)).map_err(io_err(&path.join(dir)))?;
        }
        let identity = keys::generate(&path.join("keys"))?;
        config::set_identity(&mut config, &identity);
        config::write(&path.join("config"), &config)?;
        std::fs::write(path.join("logs/events.log"), b"")
            .map_err(io_err(&path.join("logs/events.log")))?;
        drop(Datastore::create(
            &path.join("datastore"),
            &path.join(JOURNAL_FILE),
        )?);
        // `version` last: a half-made repo is never mistaken for a complete one.
        write_atomic(
            &path.join("version"),
            format!("{VERSION_TEXT}\n").as_bytes(),
        )?;
        Repo::open(path)
    }

    /// Opens an existing repository, taking `repo.lock`.
    pub fn open(path: &Path) -> Result<Repo> {
        match classify(path)? {
            Found::Ours => {}
            Found::Kubo => return Err(RepoError::KuboRepo(path.display().to_string())),
            Found::OtherVersion(found) => {
                return Err(RepoError::UnsupportedVersion {
                    path: path.display().to_string(),
                    found,
                });
            }
            Found::Missing | Found::Empty | Found::Foreign => {
                return Err(RepoError::NotInitialized(path.display().to_string()));
            }
        }
        let lock = RepoLock::acquire(path)?;
        let config = config::read(&path.join("config"))?;
        let peer_id = config
            .pointer("/Identity/PeerID")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let blocks = Arc::new(FlatFs::open(&path.join("blocks"))?);
        blocks.set_hash_on_read(
            config::get(&config, "Datastore.HashOnRead").and_then(|v| v.as_bool()) != Some(false),
        );
        Ok(Repo {
            path: path.to_path_buf(),
            blocks,
            datastore: OnceLock::new(),
            gc_lock: GcLock::new(),
            peer_id,
            _lock: lock,
        })
    }

    /// Kubo's `key rotate`: a new identity for the node, the old one kept
    /// in the keystore as `old_name`. It takes the repository lock, so it
    /// refuses while a daemon or mount holds the repository. Returns the
    /// new peer ID.
    pub fn rotate_identity(
        path: &Path,
        old_name: &str,
        spec: private_key::KeySpec,
    ) -> Result<String> {
        let repo = Repo::open(path)?;
        let keys_dir = path.join("keys");
        let old = keys::load_private(&keys_dir)?;
        let new =
            private_key::PrivateKey::generate(spec).map_err(|e| RepoError::Key(e.to_string()))?;
        // The old key is kept first: a name that is taken or not allowed
        // stops the rotation before anything changes.
        keystore::Keystore::new(path.join("keystore"), old.keypair().clone())
            .import(old_name, &old)
            .map_err(|e| RepoError::Key(e.to_string()))?;
        let identity = keys::write(&keys_dir, &new)?;
        let config_path = path.join("config");
        let mut config = config::read(&config_path)?;
        for (key, value) in [
            ("Identity.PeerID", &identity.peer_id),
            ("Identity.PrivKey", &identity.private_key_base64),
        ] {
            config::set(&mut config, key, serde_json::Value::String(value.clone())).map_err(
                |reason| RepoError::Config {
                    path: config_path.display().to_string(),
                    reason,
                },
            )?;
        }
        config::write(&config_path, &config)?;
        drop(repo);
        Ok(identity.peer_id)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn blocks(&self) -> &FlatFs {
        &self.blocks
    }

    pub fn blocks_shared(&self) -> Arc<FlatFs> {
        Arc::clone(&self.blocks)
    }

    /// The datastore, opened on first use; an error (missing, damaged)
    /// is kept and given again on every later use.
    pub fn datastore(&self) -> Result<&Datastore> {
        let opened = self.datastore.get_or_init(|| {
            Datastore::open(&self.path.join("datastore"), &self.path.join(JOURNAL_FILE))
        });
        match opened {
            Ok(datastore) => Ok(datastore),
            Err(err) => Err(err.duplicate()),
        }
    }

    /// `repo fsck`: rebuilds a missing, damaged or inconsistent datastore
    /// from the journal (see [`Datastore::rebuild`]).
    pub fn fsck(&mut self) -> Result<Option<Rebuilt>> {
        // Close it first: the file may be moved aside.
        self.datastore = OnceLock::new();
        let rebuilt =
            Datastore::rebuild(&self.path.join("datastore"), &self.path.join(JOURNAL_FILE))?;
        self.datastore()?;
        Ok(rebuilt)
    }

    /// Writers hold its pin guard until what they wrote is rooted; garbage
    /// collection holds it exclusively.
    pub fn gc_lock(&self) -> &Arc<GcLock> {
        &self.gc_lock
    }

    /// The node's identity key pair (`keys/id.pri`).
    pub fn keypair(&self) -> Result<libp2p_identity::Keypair> {
        keys::load(&self.path.join("keys"))
    }

    /// The IPNS keystore of the repository at `path`, `self` being its
    /// identity. Key files are written whole and renamed into place, so
    /// it needs no repository lock.
    pub fn keystore_at(path: &Path) -> Result<keystore::Keystore> {
        let identity = keys::load(&path.join("keys"))?;
        Ok(keystore::Keystore::new(path.join("keystore"), identity))
    }

    pub fn peer_id(&self) -> &str {
        &self.peer_id
    }

    pub fn config_get(&self, key: &str) -> Result<serde_json::Value> {
        let path = self.path.join("config");
        let value = config::read(&path)?;
        config::get(&value, key)
            .cloned()
            .ok_or_else(|| RepoError::Config {
                path: path.display().to_string(),
                reason: format!("key {key:?} has no value"),
            })
    }

    pub fn config_set(&self, key: &str, value: serde_json::Value) -> Result<()> {
        let path = self.path.join("config");
        self.config_update(|config| config::set(config, key, value))?
            .map_err(|reason| RepoError::Config {
                path: path.display().to_string(),
                reason,
            })
    }

    /// Reads the config, has `change` edit it, and writes it back unless
    /// `change` failed (its error is the inner one).
    pub fn config_update<T, E>(
        &self,
        change: impl FnOnce(&mut serde_json::Value) -> std::result::Result<T, E>,
    ) -> Result<std::result::Result<T, E>> {
        let _one_at_a_time = CONFIG_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let path = self.path.join("config");
        let mut config = config::read(&path)?;
        let changed = change(&mut config);
        if changed.is_ok() {
            config::write(&path, &config)?;
        }
        Ok(changed)
    }

    /// Kubo's `config profile apply`: the config before and after. Unless
    /// `dry_run`, the old config is first kept as `config-pre-NAME-…`.
    pub fn apply_profile(
        &self,
        profile: Profile,
        dry_run: bool,
    ) -> Result<(serde_json::Value, serde_json::Value)> {
        let _one_at_a_time = CONFIG_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let path = self.path.join("config");
        let old = config::read(&path)?;
        let mut new = old.clone();
        profile.apply(&mut new)?;
        if !dry_run {
            config::write(&self.backup_path(&format!("pre-{}", profile.name()))?, &old)?;
            config::write(&path, &new)?;
        }
        Ok((old, new))
    }

    /// A fresh `config-PREFIX-N` path, made empty so no one else takes it.
    fn backup_path(&self, prefix: &str) -> Result<PathBuf> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        for n in 0..1000 {
            let path = self.path.join(format!("config-{prefix}-{}", stamp + n));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(_) => return Ok(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err(&path)(e)),
            }
        }
        let path = self.path.join(format!("config-{prefix}-{stamp}"));
        Err(io_err(&path)(std::io::ErrorKind::AlreadyExists.into()))
    }

    /// The MFS root recorded in the datastore, if any.
    pub fn mfs_root(&self) -> Result<Option<Cid>> {
        match self.datastore()?.get(MFS_ROOT_KEY)? {
            Some(bytes) => {
                Ok(Some(cid_from_bytes(&bytes).map_err(|e| {
                    RepoError::Datastore(format!("MFS root: {e}"))
                })?))
            }
            None => Ok(None),
        }
    }

    /// Records a new MFS root. Its blocks must already be durable.
    pub fn set_mfs_root(&self, root: &Cid) -> Result<()> {
        self.datastore()?.put(MFS_ROOT_KEY, &root.to_bytes())
    }

    /// The newest commit of the MFS history, if any.
    pub fn mfs_history(&self) -> Result<Option<Cid>> {
        match self.datastore()?.get(crate::mfs::history::HISTORY_KEY)? {
            Some(bytes) => {
                Ok(Some(cid_from_bytes(&bytes).map_err(|e| {
                    RepoError::Datastore(format!("MFS history: {e}"))
                })?))
            }
            None => Ok(None),
        }
    }

    /// Records a new MFS root and the history commit that holds it.
    pub fn set_mfs_state(&self, root: &Cid, head: &Cid) -> Result<()> {
        self.datastore()?.put_all(&[
            (crate::mfs::history::HISTORY_KEY, &head.to_bytes()),
            (MFS_ROOT_KEY, &root.to_bytes()),
        ])
    }

    /// Rehashes every block; returns one line per corrupt or unreadable
    /// block, and per block set aside as damaged earlier and not stored
    /// again since.
    pub fn verify(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        for key in self.blocks.all_keys()? {
            let hex = multihash_hex(key.hash());
            // Read unchecked and check here: the read path would set a
            // damaged block aside, and verify should report, not repair.
            match self.blocks.get_unchecked(&key) {
                Ok(Some(data)) => {
                    if let Err(err) = verify(&key, &data) {
                        problems.push(format!("corrupt block {hex} ({}): {err}", cid_string(&key)));
                    }
                }
                Ok(None) => problems.push(format!("block {hex} vanished during verify")),
                Err(err) => problems.push(format!("unreadable block {hex}: {err}")),
            }
        }
        for (hex, path) in self.blocks.quarantined()? {
            problems.push(format!(
                "damaged block {hex}: found corrupt on read and set aside in {}; add or fetch it again",
                path.display()
            ));
        }
        Ok(problems)
    }

    pub fn stat(&self) -> Result<RepoStat> {
        let (blocks, bytes) = self.blocks.usage()?;
        Ok(RepoStat {
            blocks,
            bytes,
            path: self.path.clone(),
            version: VERSION_TEXT.replace(": ", "@"),
        })
    }
}

enum Found {
    Missing,
    Empty,
    Ours,
    Kubo,
    OtherVersion(String),
    Foreign,
}

/// What is at `path`, decided by reading only (SPEC-NOTES §11.2).
fn classify(path: &Path) -> Result<Found> {
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Missing),
        Err(e) => return Err(io_err(path)(e)),
    };
    if entries.count() == 0 {
        return Ok(Found::Empty);
    }
    if path.join("datastore_spec").exists() || path.join("blocks/SHARDING").exists() {
        return Ok(Found::Kubo);
    }
    match std::fs::read(path.join("version")) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            if text == VERSION_TEXT {
                Ok(Found::Ours)
            } else if text.parse::<u64>().is_ok() {
                Ok(Found::Kubo)
            } else {
                Ok(Found::OtherVersion(text))
            }
        }
        Err(_) => Ok(Found::Foreign),
    }
}

/// Temp file + fsync + rename + directory fsync.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let mut file = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
    file.write_all(bytes).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_then_open_and_refuse_second_init() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repo");
        let repo = Repo::init(&path, &InitOptions::default()).unwrap();
        assert!(repo.peer_id().starts_with("12D3KooW"));
        assert_eq!(
            std::fs::read_to_string(path.join("version")).unwrap(),
            "fs-repo: 1\n"
        );
        drop(repo);
        assert!(matches!(
            Repo::init(&path, &InitOptions::default()),
            Err(RepoError::AlreadyInitialized(_))
        ));
        let repo = Repo::open(&path).unwrap();
        assert_eq!(repo.config_get("Mounts.IPFS").unwrap(), "/ipfs");
    }

    #[test]
    fn second_open_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let _repo = Repo::init(dir.path(), &InitOptions::default()).unwrap();
        match Repo::open(dir.path()) {
            Err(RepoError::Locked { pid, .. }) => assert_eq!(pid, std::process::id()),
            other => panic!("expected Locked, got {:?}", other.err()),
        }
    }

    #[test]
    fn refuses_kubo_and_other_versions_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("version"), "18\n").unwrap();
        assert!(matches!(
            Repo::open(dir.path()),
            Err(RepoError::KuboRepo(_))
        ));
        assert!(matches!(
            Repo::init(dir.path(), &InitOptions::default()),
            Err(RepoError::KuboRepo(_))
        ));
        std::fs::write(dir.path().join("version"), "fs-repo: 2\n").unwrap();
        assert!(matches!(
            Repo::open(dir.path()),
            Err(RepoError::UnsupportedVersion { .. })
        ));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "nothing was written"
        );
    }

    #[test]
    fn config_set_creates_nested_keys() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::init(dir.path(), &InitOptions::default()).unwrap();
        repo.config_set("Experimental.Thing.Deep", serde_json::json!(5))
            .unwrap();
        assert_eq!(repo.config_get("Experimental.Thing.Deep").unwrap(), 5);
        assert!(repo.config_get("No.Such.Key").is_err());
    }

    #[test]
    fn corrupt_config_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        drop(Repo::init(dir.path(), &InitOptions::default()).unwrap());
        std::fs::write(dir.path().join("config"), "{not json").unwrap();
        assert!(matches!(
            Repo::open(dir.path()),
            Err(RepoError::Config { .. })
        ));
    }
}
