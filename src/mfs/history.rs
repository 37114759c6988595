//! Versioned MFS history as commit objects (seed 003): each commit is a
//! DAG-PB node linking `object` (the MFS root directory of that version)
//! and `parent0` (the previous commit), with the time in its data. Unchanged
//! subtrees are shared between versions, as everything in the DAG is.

use crate::blockstore::{Blockstore, get_required};
use crate::codec::CodecError;
use crate::codec::cid::{Cid, CidBuilder, DAG_PB, cid_string};
use crate::codec::dagpb::{PbLink, PbNode};
use crate::codec::unixfs_pb::UnixTime;

/// The datastore key holding the newest commit.
pub const HISTORY_KEY: &str = "/local/mfs/history";
const OBJECT: &str = "object";
const PARENT: &str = "parent0";
const MAGIC: &str = "rsipfs-mfs-commit";

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{0} is not an MFS commit")]
    NotACommit(String),
    #[error("no version {0}: there are {1}")]
    NoSuchVersion(usize, usize),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error(transparent)]
    Block(#[from] crate::blockstore::BlockstoreError),
}

pub type Result<T> = std::result::Result<T, HistoryError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commit {
    pub cid: Cid,
    /// The MFS root directory of this version.
    pub root: Cid,
    pub parent: Option<Cid>,
    pub time: UnixTime,
}

/// Stores a commit of `root` after `parent`; returns it.
pub fn record(
    store: &dyn Blockstore,
    parent: Option<&Commit>,
    root: &Cid,
    time: UnixTime,
) -> Result<Commit> {
    let mut links = vec![PbLink::new(*root, OBJECT, 0)];
    if let Some(parent) = parent {
        links.push(PbLink::new(parent.cid, PARENT, 0));
    }
    let data = format!("{MAGIC} {}.{:09}\n", time.seconds, time.nanos).into_bytes();
    let block = PbNode {
        links,
        data: Some(data),
    }
    .encode();
    let cid = CidBuilder::default().cid_of(DAG_PB, &block);
    store.put(&cid, &block)?;
    Ok(Commit {
        cid,
        root: *root,
        parent: parent.map(|p| p.cid),
        time,
    })
}

pub fn read(store: &dyn Blockstore, cid: &Cid) -> Result<Commit> {
    let not_a_commit = || HistoryError::NotACommit(cid_string(cid));
    if cid.codec() != DAG_PB {
        return Err(not_a_commit());
    }
    let node = PbNode::decode(&get_required(store, cid)?)?;
    let text = node
        .data
        .as_deref()
        .and_then(|d| std::str::from_utf8(d).ok())
        .ok_or_else(not_a_commit)?;
    let stamp = text
        .trim_end()
        .strip_prefix(MAGIC)
        .map(str::trim)
        .ok_or_else(not_a_commit)?;
    let (seconds, nanos) = stamp.split_once('.').ok_or_else(not_a_commit)?;
    let time = UnixTime {
        seconds: seconds.parse().map_err(|_| not_a_commit())?,
        nanos: nanos.parse().map_err(|_| not_a_commit())?,
    };
    let link = |name: &str| {
        node.links
            .iter()
            .find(|l| l.name.as_deref() == Some(name))
            .map(|l| l.cid)
    };
    Ok(Commit {
        cid: *cid,
        root: link(OBJECT).ok_or_else(not_a_commit)?,
        parent: link(PARENT),
        time,
    })
}

/// Every commit from `head` back to the first, newest first.
pub fn log(store: &dyn Blockstore, head: Option<&Cid>) -> Result<Vec<Commit>> {
    let mut commits = Vec::new();
    let mut next = head.copied();
    while let Some(cid) = next {
        let commit = read(store, &cid)?;
        next = commit.parent;
        commits.push(commit);
    }
    Ok(commits)
}

/// A version by its number in `log` (1 is the oldest) or its commit CID.
pub fn choose(store: &dyn Blockstore, head: Option<&Cid>, version: &str) -> Result<Commit> {
    match version.parse::<usize>() {
        Ok(n) => {
            let commits = log(store, head)?;
            let count = commits.len();
            if !(1..=count).contains(&n) {
                return Err(HistoryError::NoSuchVersion(n, count));
            }
            Ok(commits[count - n])
        }
        Err(_) => read(store, &crate::codec::parse_cid(version)?),
    }
}

/// The history as a mount records it: a commit per flush, except that a
/// commit this session made less than `squash_within` ago is replaced rather
/// than followed, so an fsync-heavy workload keeps one version per interval.
pub struct Recorder {
    head: Option<Commit>,
    /// The head, when this recorder made it (only those are squashed).
    own: Option<Cid>,
    squash_within_secs: i64,
}

impl Recorder {
    pub fn new(
        store: &dyn Blockstore,
        head: Option<&Cid>,
        squash_within_secs: i64,
    ) -> Result<Self> {
        let head = head.map(|cid| read(store, cid)).transpose()?;
        Ok(Recorder {
            head,
            own: None,
            squash_within_secs,
        })
    }

    pub fn head(&self) -> Option<Cid> {
        self.head.map(|c| c.cid)
    }

    /// Records `root` (unless it is the head's already); returns the head.
    pub fn commit(&mut self, store: &dyn Blockstore, root: &Cid, now: UnixTime) -> Result<Cid> {
        if let Some(head) = &self.head
            && head.root == *root
        {
            return Ok(head.cid);
        }
        let squash = match &self.head {
            Some(head) => {
                self.own == Some(head.cid)
                    && now.seconds - head.time.seconds < self.squash_within_secs
            }
            None => false,
        };
        let parent = if squash {
            let replaced = self.head.expect("squash needs a head");
            replaced.parent.map(|p| read(store, &p)).transpose()?
        } else {
            self.head
        };
        let commit = record(store, parent.as_ref(), root, now)?;
        self.head = Some(commit);
        self.own = Some(commit.cid);
        Ok(commit.cid)
    }

    /// Ends squashing into the current head (at unmount, say).
    pub fn seal(&mut self) {
        self.own = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockstore::MemoryBlockstore;
    use crate::unixfs::dir::{DirOptions, build_directory};

    fn at(seconds: i64) -> UnixTime {
        UnixTime { seconds, nanos: 5 }
    }

    fn roots(store: &MemoryBlockstore, n: usize) -> Vec<Cid> {
        (0..n)
            .map(|i| {
                let file = crate::unixfs::file::import_file(
                    store,
                    &mut format!("v{i}").as_bytes(),
                    &Default::default(),
                    &mut |_| {},
                )
                .unwrap();
                build_directory(
                    store,
                    vec![crate::unixfs::dir::DirEntry {
                        name: "f".into(),
                        cid: file.cid,
                        size: file.size,
                    }],
                    &DirOptions::default(),
                )
                .unwrap()
                .cid
            })
            .collect()
    }

    #[test]
    fn commits_chain_and_read_back() {
        let store = MemoryBlockstore::new();
        let r = roots(&store, 2);
        let first = record(&store, None, &r[0], at(100)).unwrap();
        let second = record(&store, Some(&first), &r[1], at(200)).unwrap();
        assert_eq!(read(&store, &second.cid).unwrap(), second);
        let log = log(&store, Some(&second.cid)).unwrap();
        assert_eq!(log, vec![second, first]);
        assert!(matches!(
            read(&store, &r[0]),
            Err(HistoryError::NotACommit(_))
        ));
    }

    #[test]
    fn quick_successive_flushes_squash_into_one_commit() {
        let store = MemoryBlockstore::new();
        let r = roots(&store, 4);
        let earlier = record(&store, None, &r[0], at(0)).unwrap();
        let mut recorder = Recorder::new(&store, Some(&earlier.cid), 30).unwrap();
        // The first commit of a session never replaces an older session's.
        recorder.commit(&store, &r[1], at(10)).unwrap();
        recorder.commit(&store, &r[2], at(20)).unwrap();
        let head = recorder.commit(&store, &r[2], at(21)).unwrap();
        let log1 = log(&store, Some(&head)).unwrap();
        assert_eq!(
            log1.iter().map(|c| c.root).collect::<Vec<_>>(),
            vec![r[2], r[0]]
        );
        // After the interval, or after sealing, a new commit follows.
        recorder.seal();
        let head = recorder.commit(&store, &r[3], at(22)).unwrap();
        assert_eq!(log(&store, Some(&head)).unwrap().len(), 3);
    }
}
