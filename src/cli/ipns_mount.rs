//! The /ipns mount of `rsipfs mount`: the names of the repository's
//! [`NameSystem`], our keys from its keystore, and publishing through the
//! same path as `name publish`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use rsipfs::blockstore::Blockstore;
use rsipfs::codec::cid::{Cid, cid_string};
use rsipfs::commands::Core;
use rsipfs::commands::name::{self, PublishOptions};
use rsipfs::fs::ipfs::IpfsFs;
use rsipfs::fs::ipns::{IpnsFs, NameService, OwnKey, RecordInfo, Resolution, SavedTree};
use rsipfs::fs::mfs::{MfsFs, PersistRoot};
use rsipfs::fs::summaries::SummaryStore;
use rsipfs::fuse::{MountOptions, mount_ipns, unmount};
use rsipfs::ipns::{Name, Record};
use rsipfs::names::{NameSystem, ResolveOptions};
use rsipfs::repo::{IpnsTree, Repo};
use rsipfs::unixfs::dir::{DirOptions, build_directory};

/// At most one publish of a name per this long (`Ipns.PublishDebounce`).
const DEFAULT_DEBOUNCE: Duration = Duration::from_secs(1);

/// The repository's names, as the /ipns tree asks for them.
pub struct RepoNames {
    repo: Arc<Repo>,
    store: Arc<dyn Blockstore>,
    names: Arc<NameSystem>,
    /// How long resolving a name may take (`--dht-timeout`).
    timeout: Duration,
    /// Our keys as last read, with the keystore's state then: every
    /// lookup under /ipns asks for them, and reading and decoding each key
    /// file for it would cost more than the lookup itself.
    own_keys: Mutex<Option<(KeysState, Vec<OwnKey>)>>,
}

/// When the keystore directory and the identity's key file last changed:
/// keys are added, renamed, removed and rotated by replacing files.
type KeysState = (Option<SystemTime>, Option<SystemTime>);

fn record_info(record: &Record) -> RecordInfo {
    RecordInfo {
        value: record.value_text(),
        sequence: record.sequence,
        eol: record.eol.map(rsipfs::ipns::eol::format),
        ttl: record.ttl,
    }
}

impl RepoNames {
    pub fn new(
        repo: Arc<Repo>,
        store: Arc<dyn Blockstore>,
        names: Arc<NameSystem>,
        timeout: Duration,
    ) -> Self {
        RepoNames {
            repo,
            store,
            names,
            timeout,
            own_keys: Mutex::new(None),
        }
    }

    fn keys_state(&self) -> KeysState {
        let changed = |file: &str| {
            std::fs::metadata(self.repo.path().join(file))
                .and_then(|meta| meta.modified())
                .ok()
        };
        (changed("keystore"), changed("keys"))
    }

    fn read_own_keys(&self) -> Result<Vec<OwnKey>, String> {
        let keystore = Repo::keystore_at(self.repo.path()).map_err(|e| e.to_string())?;
        Ok(keystore
            .list()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|info| OwnKey {
                name: Name::of_key(&info.key.public()).to_string(),
                key: info.name,
            })
            .collect())
    }

    fn core(&self) -> Core<'_> {
        Core {
            repo: &self.repo,
            store: self.store.as_ref(),
            names: &self.names,
        }
    }

    fn options(&self) -> ResolveOptions {
        ResolveOptions {
            recursive: true,
            nocache: false,
            timeout: self.timeout,
        }
    }
}

impl NameService for RepoNames {
    fn own_keys(&self) -> Result<Vec<OwnKey>, String> {
        let state = self.keys_state();
        let mut cached = self.own_keys.lock().unwrap_or_else(|p| p.into_inner());
        // A file's time moves in coarse ticks: two changes a moment apart
        // may leave the same time, so a state this recent is not trusted.
        let settled = |time: Option<SystemTime>| {
            time.is_none_or(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(1)))
        };
        if let Some((seen, keys)) = cached.as_ref()
            && *seen == state
            && settled(state.0)
            && settled(state.1)
        {
            return Ok(keys.clone());
        }
        let keys = self.read_own_keys()?;
        *cached = Some((state, keys.clone()));
        Ok(keys)
    }

    fn resolve(&self, target: &str) -> Result<Resolution, String> {
        let opts = self.options();
        let record = match Name::parse(target) {
            Ok(name) => Some(
                self.names
                    .best_record(&self.repo, &name, &opts)
                    .map_err(|e| e.to_string())?,
            ),
            Err(_) => None,
        };
        let start = match &record {
            Some(record) => record.value_text(),
            None => format!("/ipns/{target}"),
        };
        let path = self
            .names
            .resolve(&self.repo, &start, &opts)
            .map_err(|e| e.to_string())?;
        Ok(Resolution {
            path,
            record: record.as_ref().map(record_info),
        })
    }

    fn own_record(&self, target: &str) -> Option<RecordInfo> {
        let name = Name::parse(target).ok()?;
        match self.names.stored_record(&self.repo, &name) {
            Ok(record) => record.as_ref().map(record_info),
            Err(err) => {
                tracing::warn!("/ipns/{target}: {err}");
                None
            }
        }
    }

    fn publish(&self, key: &str, root: &Cid) -> Result<RecordInfo, String> {
        let opts = PublishOptions {
            key: key.to_string(),
            lifetime: name::DEFAULT_LIFETIME,
            ttl: None,
            sequence: None,
            allow_offline: true,
            resolve: false,
        };
        let published = name::publish(&self.core(), &format!("/ipfs/{}", cid_string(root)), &opts)
            .map_err(|e| e.to_string())?;
        self.own_record(&published.name).ok_or_else(|| {
            format!(
                "the record for {} is not here after publishing",
                published.name
            )
        })
    }

    fn saved_tree(&self, target: &str) -> Option<SavedTree> {
        match self.repo.ipns_tree(target) {
            Ok(tree) => tree.map(|tree| SavedTree {
                root: tree.root,
                history: tree.history,
                based_on: tree.based_on,
            }),
            Err(err) => {
                tracing::warn!("/ipns/{target}: {err}");
                None
            }
        }
    }

    fn save_tree(&self, target: &str, saved: &SavedTree) -> Result<(), String> {
        let tree = IpnsTree {
            root: saved.root,
            history: saved.history,
            based_on: saved.based_on,
        };
        self.repo
            .set_ipns_tree(target, &tree)
            .map_err(|e| e.to_string())
    }

    fn open_tree(
        &self,
        root: Option<&Cid>,
        history: Option<&Cid>,
        persist: PersistRoot,
    ) -> Result<Arc<MfsFs>, String> {
        let root = match root {
            Some(root) => *root,
            None => {
                let empty =
                    build_directory(self.store.as_ref(), Vec::new(), &DirOptions::default())
                        .map_err(|e| e.to_string())?;
                self.store.sync().map_err(|e| e.to_string())?;
                empty.cid
            }
        };
        rsipfs::commands::files::open_tree_at(
            &self.repo,
            Arc::clone(&self.store),
            root,
            history.copied(),
            super::mount::process_owner(),
            persist,
        )
        .map_err(|e| e.to_string())
    }
}

/// The mounted /ipns tree and its publisher.
pub struct IpnsMount {
    fs: Arc<IpnsFs>,
    session: fuser::BackgroundSession,
    dir: PathBuf,
    publisher: std::thread::JoinHandle<()>,
}

/// `Ipns.PublishDebounce`, a Go duration.
fn debounce(repo: &Repo) -> Result<Duration> {
    match repo.config_get("Ipns.PublishDebounce").ok() {
        Some(serde_json::Value::String(text)) => rsipfs::go_duration::parse(&text)
            .with_context(|| format!("config Ipns.PublishDebounce: {text:?} is not a duration")),
        _ => Ok(DEFAULT_DEBOUNCE),
    }
}

impl IpnsMount {
    pub fn mount(service: RepoNames, dir: &Path, opts: &MountOptions) -> Result<IpnsMount> {
        let repo = Arc::clone(&service.repo);
        let summaries: Arc<dyn SummaryStore> = repo.clone();
        let content =
            IpfsFs::new(Arc::clone(&service.store), Box::new(Vec::new)).with_summaries(summaries);
        let names = Arc::clone(&service.names);
        let fs = Arc::new(IpnsFs::new(Arc::new(service), content, debounce(&repo)?));
        let session = mount_ipns(Arc::clone(&fs), dir, repo.path(), opts)
            .with_context(|| format!("mounting /ipns at {}", dir.display()))?;
        fs.set_invalidate(super::mount::kernel_invalidator(&session));
        let following = Arc::downgrade(&fs);
        names.on_kept(Box::new(move |name| {
            if let Some(fs) = following.upgrade() {
                fs.name_kept(&name.to_string());
            }
        }));
        let publisher = rsipfs::fs::ipns::spawn_publisher(Arc::clone(&fs));
        println!("IPNS mounted at: {}", dir.display());
        Ok(IpnsMount {
            fs,
            session,
            dir: dir.to_path_buf(),
            publisher,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Unmounts, then publishes what changed last.
    pub fn stop(self) {
        eprintln!("unmounting {}", self.dir.display());
        unmount(self.session, &self.dir);
        self.fs.stop_publishing();
        let _ = self.publisher.join();
        self.fs.publish_all();
    }
}
