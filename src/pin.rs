//! Pins (recursive, direct, and the indirect ones they imply) and garbage
//! collection of everything no pin and not the MFS root reaches.

use std::collections::HashSet;

use crate::codec::cid::{Cid, cid_string};
use crate::dag::{self, DagError};
use crate::repo::{PinKind, Repo, RepoError};

#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error(transparent)]
    Dag(#[from] DagError),
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error("{0} is not pinned")]
    NotPinned(String),
    #[error("{0} is pinned recursively; use a recursive removal")]
    PinnedRecursively(String),
    #[error("{0} is pinned indirectly by {1}")]
    PinnedIndirectly(String, String),
    #[error(
        "refusing to collect garbage, nothing was deleted: {root} ({what}) cannot be read in \
         full: {source}. Restore the missing blocks, or unpin it / fix the MFS tree first"
    )]
    RootUnreadable {
        root: String,
        what: &'static str,
        #[source]
        source: DagError,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinFilter {
    All,
    Direct,
    Indirect,
    Recursive,
}

impl PinFilter {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "all" => PinFilter::All,
            "direct" => PinFilter::Direct,
            "indirect" => PinFilter::Indirect,
            "recursive" => PinFilter::Recursive,
            _ => return None,
        })
    }
}

/// Pins `cid`; a recursive pin first checks the whole DAG is present.
pub fn add(repo: &Repo, cid: &Cid, recursive: bool) -> Result<(), PinError> {
    // From the check that the blocks are there until the pin holds them.
    let writing = repo.gc_lock().pin_guard();
    if recursive {
        let blocks = dag::reachable(repo.blocks(), std::slice::from_ref(cid))?;
        repo.datastore()?.set_pin(cid, PinKind::Recursive)?;
        repo.gc_lock().rooted(&writing, &blocks);
    } else {
        crate::blockstore::get_required(repo.blocks(), cid).map_err(DagError::from)?;
        let already_recursive = pin_kind(repo, cid)? == Some(PinKind::Recursive);
        if !already_recursive {
            repo.datastore()?.set_pin(cid, PinKind::Direct)?;
        }
        repo.gc_lock()
            .rooted(&writing, &HashSet::from([cid.hash().to_bytes()]));
    }
    Ok(())
}

pub fn remove(repo: &Repo, cid: &Cid, recursive: bool) -> Result<(), PinError> {
    match pin_kind(repo, cid)? {
        Some(PinKind::Recursive) if !recursive => Err(PinError::PinnedRecursively(cid_string(cid))),
        Some(_) => Ok(repo.datastore()?.remove_pin(cid)?),
        None => match indirect_parent(repo, cid)? {
            Some(parent) => Err(PinError::PinnedIndirectly(
                cid_string(cid),
                cid_string(&parent),
            )),
            None => Err(PinError::NotPinned(cid_string(cid))),
        },
    }
}

fn pin_kind(repo: &Repo, cid: &Cid) -> Result<Option<PinKind>, PinError> {
    Ok(repo
        .datastore()?
        .pins()?
        .into_iter()
        .find(|(c, _)| c.hash() == cid.hash())
        .map(|(_, k)| k))
}

fn indirect_parent(repo: &Repo, cid: &Cid) -> Result<Option<Cid>, PinError> {
    for (root, kind) in repo.datastore()?.pins()? {
        if kind == PinKind::Recursive
            && dag::reachable(repo.blocks(), &[root])?.contains(&cid.hash().to_bytes())
        {
            return Ok(Some(root));
        }
    }
    Ok(None)
}

/// Pins matching `filter` as (CID, "recursive" | "direct" | "indirect").
pub fn list(repo: &Repo, filter: PinFilter) -> Result<Vec<(Cid, &'static str)>, PinError> {
    let pins = repo.datastore()?.pins()?;
    let mut out = Vec::new();
    for (cid, kind) in &pins {
        let (wanted, name) = match kind {
            PinKind::Recursive => (
                matches!(filter, PinFilter::All | PinFilter::Recursive),
                "recursive",
            ),
            PinKind::Direct => (
                matches!(filter, PinFilter::All | PinFilter::Direct),
                "direct",
            ),
        };
        if wanted {
            out.push((*cid, name));
        }
    }
    if matches!(filter, PinFilter::All | PinFilter::Indirect) {
        let explicit: HashSet<Vec<u8>> = pins.iter().map(|(c, _)| c.hash().to_bytes()).collect();
        let mut seen = HashSet::new();
        for (root, kind) in &pins {
            if *kind != PinKind::Recursive {
                continue;
            }
            dag::walk(repo.blocks(), root, &mut |_, _| Ok(()), &mut |_, child| {
                let key = child.hash().to_bytes();
                if !explicit.contains(&key) && seen.insert(key) {
                    out.push((*child, "indirect"));
                }
            })?;
        }
    }
    Ok(out)
}

/// Removes every block not reachable from a pin, the MFS root, its history
/// or a root a running MFS tree reports; returns the removed keys. Direct
/// pins keep only their own block. Waits for writers holding a pin guard,
/// and refuses (deleting nothing) when any root cannot be read in full.
pub fn gc(repo: &Repo) -> Result<Vec<Cid>, PinError> {
    let collecting = repo.gc_lock().gc_guard();
    // Pinned DAGs must be here in full. The MFS tree may link content
    // never fetched (`files cp /ipfs/…`): as Kubo, what is not here is
    // passed over, unless it was here and was set aside as damaged, whose
    // blocks below are kept for it to be restored.
    let mut roots: Vec<(Cid, &'static str)> = Vec::new();
    let mut mfs_roots: Vec<(Cid, &'static str)> = Vec::new();
    let mut keep: HashSet<Vec<u8>> = HashSet::new();
    for (cid, kind) in repo.datastore()?.pins()? {
        match kind {
            PinKind::Recursive => roots.push((cid, "a recursive pin")),
            PinKind::Direct => {
                crate::blockstore::get_required(repo.blocks(), &cid).map_err(|e| {
                    PinError::RootUnreadable {
                        root: cid_string(&cid),
                        what: "a direct pin",
                        source: e.into(),
                    }
                })?;
                keep.insert(cid.hash().to_bytes());
            }
        }
    }
    mfs_roots.extend(repo.mfs_root()?.map(|cid| (cid, "the MFS root")));
    mfs_roots.extend(repo.mfs_history()?.map(|cid| (cid, "the MFS history")));
    mfs_roots.extend(
        repo.ipns_tree_roots()?
            .into_iter()
            .map(|cid| (cid, "a tree of the /ipns mount")),
    );
    mfs_roots.extend(
        repo.gc_lock()
            .extra_roots(&collecting)
            .into_iter()
            .map(|cid| (cid, "a file the running MFS tree holds")),
    );
    let mut walked = HashSet::new();
    let unreadable = |root: &Cid, what| {
        let root = cid_string(root);
        move |source| PinError::RootUnreadable { root, what, source }
    };
    for (root, what) in roots {
        if walked.insert(root.hash().to_bytes()) {
            keep.extend(dag::reachable(repo.blocks(), &[root]).map_err(unreadable(&root, what))?);
        }
    }
    let mut damaged = |cid: &Cid| {
        if repo.blocks().quarantine_path(cid.hash()).exists() {
            return Err(DagError::Block(
                crate::blockstore::BlockstoreError::Corrupt {
                    cid: cid_string(cid),
                    reason: "it was found damaged and set aside (see `rsipfs repo verify`)".into(),
                },
            ));
        }
        Ok(())
    };
    for (root, what) in mfs_roots {
        if walked.insert(root.hash().to_bytes()) {
            let here = dag::reachable_here(repo.blocks(), &root, &mut damaged)
                .map_err(unreadable(&root, what))?;
            keep.extend(here);
        }
    }
    let mut removed = Vec::new();
    for key in repo.blocks().all_keys().map_err(DagError::from)? {
        if !keep.contains(&key.hash().to_bytes()) {
            repo.blocks().delete(&key).map_err(DagError::from)?;
            removed.push(key);
        }
    }
    Ok(removed)
}

use crate::blockstore::Blockstore;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cid::CidBuilder;
    use crate::repo::InitOptions;

    #[test]
    fn gc_waits_for_writers_and_keeps_what_providers_report() {
        let dir = tempfile::tempdir().unwrap();
        let repo = std::sync::Arc::new(Repo::init(dir.path(), &InitOptions::default()).unwrap());
        let builder = CidBuilder::default();
        let block = |text: &[u8]| {
            let cid = builder.cid_of(crate::codec::cid::RAW, text);
            repo.blocks().put(&cid, text).unwrap();
            cid
        };
        let writing = repo.gc_lock().pin_guard();
        let (reported, dropped) = (block(b"in a running MFS tree"), block(b"garbage"));
        repo.gc_lock()
            .add_roots_provider(Box::new(move || vec![reported]));
        let collector = {
            let repo = std::sync::Arc::clone(&repo);
            std::thread::spawn(move || gc(&repo).unwrap())
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !repo.gc_lock().collector_waiting() {
            assert!(std::time::Instant::now() < deadline, "gc never queued");
            std::thread::yield_now();
        }
        assert!(
            repo.blocks().has(&dropped).unwrap(),
            "gc ran under a pin guard"
        );
        drop(writing);
        let removed = collector.join().unwrap();
        assert_eq!(removed, vec![dropped]);
        assert!(repo.blocks().has(&reported).unwrap());
    }
}
