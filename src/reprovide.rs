//! Reprovide: what the repository holds is announced in the DHT again every
//! `Reprovider.Interval` (Kubo's default 22 h; "0" turns it off), chosen by
//! `Reprovider.Strategy` with Kubo's meanings: `all` (every block), `pinned`
//! (the blocks of pinned DAGs), `roots` (the pinned roots), `mfs` (the
//! blocks of the MFS tree). Newer Kubo's `Provide.DHT.Interval` and
//! `Provide.Strategy` win when set. CIDs go out in batches; the time of the
//! last round is kept in the datastore, so a restart neither announces at
//! once nor forgets when the next round is due.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::blockstore::Blockstore;
use crate::codec::cid::Cid;
use crate::dag;
use crate::net::NetHandle;
use crate::repo::{PinKind, Repo};

/// Kubo's `Reprovider.Interval` default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(22 * 3600);
/// CIDs handed to the DHT at a time, with a pause between batches so the
/// DHT queries they start do not all run at once.
pub const BATCH: usize = 256;
const BATCH_PAUSE: Duration = Duration::from_millis(50);
/// CIDs a round leaves in the node's provide queue before it adds more.
const QUEUED_AT_MOST: usize = 16 * BATCH;
/// Datastore key of the last round's start (unix seconds).
pub const LAST_RUN_KEY: &str = "/local/reprovider/last-run";

#[derive(Debug, thiserror::Error)]
pub enum ReprovideError {
    #[error("Reprovider.Strategy {0:?}: expected all, pinned, roots or mfs")]
    BadStrategy(String),
    #[error("Reprovider.Interval {0:?} is not a duration")]
    BadInterval(String),
    #[error(transparent)]
    Repo(#[from] crate::repo::RepoError),
    #[error(transparent)]
    Blocks(#[from] crate::blockstore::BlockstoreError),
    #[error(transparent)]
    Dag(#[from] dag::DagError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    All,
    Pinned,
    Roots,
    Mfs,
}

impl Strategy {
    pub fn parse(text: &str) -> Result<Self, ReprovideError> {
        match text {
            "" | "all" => Ok(Strategy::All),
            "pinned" => Ok(Strategy::Pinned),
            "roots" => Ok(Strategy::Roots),
            "mfs" => Ok(Strategy::Mfs),
            other => Err(ReprovideError::BadStrategy(other.to_string())),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReprovideConfig {
    /// None: reproviding is off.
    pub interval: Option<Duration>,
    pub strategy: Strategy,
}

impl ReprovideConfig {
    pub fn from_repo(repo: &Repo) -> Result<Self, ReprovideError> {
        let text = |keys: &[&str]| {
            keys.iter()
                .find_map(|key| {
                    repo.config_get(key)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                })
                .unwrap_or_default()
        };
        let interval = text(&["Provide.DHT.Interval", "Reprovider.Interval"]);
        let interval = match interval.as_str() {
            "" => DEFAULT_INTERVAL,
            given => crate::go_duration::parse(given)
                .ok_or_else(|| ReprovideError::BadInterval(given.to_string()))?,
        };
        Ok(ReprovideConfig {
            interval: (!interval.is_zero()).then_some(interval),
            strategy: Strategy::parse(&text(&["Provide.Strategy", "Reprovider.Strategy"]))?,
        })
    }
}

/// Collects CIDs and hands them on `BATCH` at a time.
struct Batcher<'a> {
    batch: Vec<Cid>,
    sent: usize,
    send: &'a mut dyn FnMut(Vec<Cid>),
}

impl Batcher<'_> {
    fn push(&mut self, cid: Cid) {
        self.batch.push(cid);
        if self.batch.len() >= BATCH {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.batch.is_empty() {
            self.sent += self.batch.len();
            (self.send)(std::mem::take(&mut self.batch));
        }
    }
}

/// Hands what `strategy` chooses to `send`, in batches of at most `BATCH`;
/// how many CIDs in all. A DAG with blocks missing here is announced as
/// far as it is here.
pub fn for_each_batch(
    repo: &Repo,
    strategy: Strategy,
    send: &mut dyn FnMut(Vec<Cid>),
) -> Result<usize, ReprovideError> {
    let store = repo.blocks();
    let mut out = Batcher {
        batch: Vec::with_capacity(BATCH),
        sent: 0,
        send,
    };
    match strategy {
        Strategy::All => {
            for cid in store.all_keys()? {
                out.push(cid);
            }
        }
        Strategy::Roots => {
            for (cid, _) in repo.datastore()?.pins()? {
                out.push(cid);
            }
        }
        Strategy::Pinned => {
            for (cid, kind) in repo.datastore()?.pins()? {
                match kind {
                    PinKind::Direct => out.push(cid),
                    PinKind::Recursive => walk_here(store, &cid, &mut out),
                }
            }
        }
        Strategy::Mfs => {
            if let Some(root) = repo.mfs_root()? {
                walk_here(store, &root, &mut out);
            }
        }
    }
    out.flush();
    Ok(out.sent)
}

/// The blocks of the DAG under `root` that are here, root first.
fn walk_here(store: &dyn Blockstore, root: &Cid, out: &mut Batcher) {
    let walked = dag::walk(
        store,
        root,
        &mut |cid, _| {
            out.push(*cid);
            Ok(())
        },
        &mut |_, _| {},
    );
    if let Err(err) = walked {
        tracing::debug!("reprovide: the DAG under {root} is partly here: {err}");
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// How long until the next round: at once when none ran yet, else an
/// interval after the last one.
pub fn due_in(last_run: Option<u64>, now: u64, interval: Duration) -> Duration {
    match last_run {
        None => Duration::ZERO,
        Some(last) => Duration::from_secs(last.saturating_add(interval.as_secs()))
            .saturating_sub(Duration::from_secs(now)),
    }
}

fn last_run(repo: &Repo) -> Option<u64> {
    let bytes = repo.datastore().ok()?.get(LAST_RUN_KEY).ok()??;
    Some(u64::from_be_bytes(bytes.as_slice().try_into().ok()?))
}

/// The reprovider's thread; dropping it stops the thread.
pub struct Reprovider {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Reprovider {
    /// Starts the schedule; None when reproviding is off.
    pub fn start(
        repo: Arc<Repo>,
        net: NetHandle,
        config: ReprovideConfig,
    ) -> std::io::Result<Option<Self>> {
        let Some(interval) = config.interval else {
            tracing::info!("Reprovider.Interval is 0: not reproviding");
            return Ok(None);
        };
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("reprovider".into())
            .spawn(move || {
                loop {
                    let wait = due_in(last_run(&repo), unix_now(), interval);
                    tracing::info!("next reprovide in {}s", wait.as_secs());
                    match stopped.recv_timeout(wait) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    reprovide(&repo, &net, config.strategy, &stopped);
                }
            })?;
        Ok(Some(Reprovider {
            stop: Some(stop),
            thread: Some(thread),
        }))
    }
}

impl Drop for Reprovider {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One round: the start time is saved first, so a crash midway does not
/// make the next start announce everything again at once.
fn reprovide(repo: &Repo, net: &NetHandle, strategy: Strategy, stopped: &mpsc::Receiver<()>) {
    let started = Instant::now();
    if let Err(err) = repo
        .datastore()
        .and_then(|ds| ds.put(LAST_RUN_KEY, &unix_now().to_be_bytes()))
    {
        tracing::warn!("reprovide: the schedule is not saved: {err}");
    }
    let mut send = |batch: Vec<Cid>| {
        net.provide(batch);
        // Pauses that a stop request cuts short, until the node's queue has
        // room: a round of millions of CIDs waits here, not in memory.
        loop {
            if !matches!(
                stopped.recv_timeout(BATCH_PAUSE),
                Err(RecvTimeoutError::Timeout)
            ) || net.provide_stats().queued <= QUEUED_AT_MOST as u64
            {
                break;
            }
        }
    };
    match for_each_batch(repo, strategy, &mut send) {
        Ok(count) => {
            let took = started.elapsed();
            tracing::info!("reprovided {count} CIDs ({strategy:?}) in {took:?}");
            net.reprovided(count, took);
        }
        Err(err) => tracing::warn!("reprovide: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_round_is_an_interval_after_the_last() {
        let hour = Duration::from_secs(3600);
        assert_eq!(due_in(None, 1000, hour), Duration::ZERO);
        assert_eq!(due_in(Some(1000), 1000, hour), hour);
        assert_eq!(
            due_in(Some(1000), 1600, hour),
            hour - Duration::from_secs(600)
        );
        assert_eq!(due_in(Some(1000), 1000 + 7200, hour), Duration::ZERO);
    }

    use crate::codec::cid::{CidBuilder, DAG_PB, RAW};
    use crate::codec::dagpb::{PbLink, PbNode};
    use crate::repo::InitOptions;
    use std::collections::BTreeSet;

    /// Stores a raw leaf, or a DAG-PB node over `children`.
    fn put(repo: &Repo, name: &str, children: &[Cid]) -> Cid {
        let (codec, bytes) = if children.is_empty() {
            (RAW, name.as_bytes().to_vec())
        } else {
            let node = PbNode {
                links: children.iter().map(|c| PbLink::new(*c, "", 1)).collect(),
                data: Some(name.as_bytes().to_vec()),
            };
            (DAG_PB, node.encode())
        };
        let cid = CidBuilder::v1().cid_of(codec, &bytes);
        repo.blocks().put(&cid, &bytes).unwrap();
        cid
    }

    fn chosen(repo: &Repo, strategy: Strategy) -> (BTreeSet<String>, Vec<usize>) {
        let mut cids = BTreeSet::new();
        let mut sizes = Vec::new();
        let count = for_each_batch(repo, strategy, &mut |batch| {
            sizes.push(batch.len());
            cids.extend(batch.iter().map(|c| c.to_string()));
        })
        .unwrap();
        assert_eq!(count, sizes.iter().sum::<usize>());
        (cids, sizes)
    }

    fn set(cids: &[Cid]) -> BTreeSet<String> {
        cids.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn each_strategy_chooses_what_kubos_does() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::init(dir.path(), &InitOptions::default()).unwrap();
        let before = repo.blocks().all_keys().unwrap();
        let (leaf1, leaf2) = (put(&repo, "leaf1", &[]), put(&repo, "leaf2", &[]));
        let pinned = put(&repo, "pinned", &[leaf1, leaf2]);
        let direct_child = put(&repo, "direct child", &[]);
        let direct = put(&repo, "direct", &[direct_child]);
        let mfs_leaf = put(&repo, "mfs leaf", &[]);
        let mfs_root = put(&repo, "mfs", &[mfs_leaf]);
        let loose = put(&repo, "loose", &[]);
        let ds = repo.datastore().unwrap();
        ds.set_pin(&pinned, PinKind::Recursive).unwrap();
        ds.set_pin(&direct, PinKind::Direct).unwrap();
        repo.set_mfs_root(&mfs_root).unwrap();

        let mut all = before.clone();
        all.extend([
            leaf1,
            leaf2,
            pinned,
            direct_child,
            direct,
            mfs_leaf,
            mfs_root,
            loose,
        ]);
        // The flat store knows multihashes only (and provider records are
        // by multihash): compare those.
        let hashes = |cids: BTreeSet<String>| -> BTreeSet<String> {
            cids.iter()
                .map(|c| format!("{:?}", c.parse::<Cid>().unwrap().hash().to_bytes()))
                .collect()
        };
        assert_eq!(hashes(chosen(&repo, Strategy::All).0), hashes(set(&all)));
        assert_eq!(
            chosen(&repo, Strategy::Pinned).0,
            set(&[pinned, leaf1, leaf2, direct])
        );
        assert_eq!(chosen(&repo, Strategy::Roots).0, set(&[pinned, direct]));
        assert_eq!(chosen(&repo, Strategy::Mfs).0, set(&[mfs_root, mfs_leaf]));
    }

    #[test]
    fn cids_go_out_in_bounded_batches() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::init(dir.path(), &InitOptions::default()).unwrap();
        for i in 0..(BATCH * 2 + 10) {
            put(&repo, &format!("block {i}"), &[]);
        }
        let total = repo.blocks().all_keys().unwrap().len();
        let (cids, sizes) = chosen(&repo, Strategy::All);
        assert_eq!(cids.len(), total);
        assert!(sizes.iter().all(|&n| n <= BATCH), "{sizes:?}");
        assert_eq!(sizes.len(), total.div_ceil(BATCH));
    }

    #[test]
    fn strategies_parse_as_kubos() {
        assert_eq!(Strategy::parse("").unwrap(), Strategy::All);
        assert_eq!(Strategy::parse("pinned").unwrap(), Strategy::Pinned);
        assert_eq!(Strategy::parse("roots").unwrap(), Strategy::Roots);
        assert_eq!(Strategy::parse("mfs").unwrap(), Strategy::Mfs);
        assert!(Strategy::parse("flat-ish").is_err());
    }
}
