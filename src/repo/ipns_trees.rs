//! The trees of the /ipns mount: for each name of ours written through it,
//! the last root made durable, its history, and the sequence of the
//! record it follows. Garbage collection keeps them, as it keeps the MFS
//! root.

use serde::{Deserialize, Serialize};

use super::{Repo, RepoError, Result};
use crate::codec::cid::{Cid, cid_string, parse_cid};

const PREFIX: &str = "/local/ipnsmount/";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpnsTree {
    pub root: Cid,
    pub history: Option<Cid>,
    /// The sequence of the record the tree started from or last published.
    pub based_on: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    root: String,
    history: Option<String>,
    based_on: Option<u64>,
}

fn decode(name: &str, bytes: &[u8]) -> Result<IpnsTree> {
    let bad = |reason: String| RepoError::Datastore(format!("the /ipns tree of {name}: {reason}"));
    let stored: Stored = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let cid = |text: &str| parse_cid(text).map_err(|e| bad(e.to_string()));
    Ok(IpnsTree {
        root: cid(&stored.root)?,
        history: stored.history.as_deref().map(cid).transpose()?,
        based_on: stored.based_on,
    })
}

impl Repo {
    /// The tree the /ipns mount keeps for our name `name`, if any.
    pub fn ipns_tree(&self, name: &str) -> Result<Option<IpnsTree>> {
        self.datastore()?
            .get(&format!("{PREFIX}{name}"))?
            .map(|bytes| decode(name, &bytes))
            .transpose()
    }

    /// Records the tree of `name`. Its blocks must already be durable.
    pub fn set_ipns_tree(&self, name: &str, tree: &IpnsTree) -> Result<()> {
        let stored = Stored {
            root: cid_string(&tree.root),
            history: tree.history.as_ref().map(cid_string),
            based_on: tree.based_on,
        };
        let bytes = serde_json::to_vec(&stored)
            .map_err(|e| RepoError::Datastore(format!("the /ipns tree of {name}: {e}")))?;
        self.datastore()?.put(&format!("{PREFIX}{name}"), &bytes)
    }

    /// The roots and histories of every /ipns tree kept.
    pub fn ipns_tree_roots(&self) -> Result<Vec<Cid>> {
        let mut roots = Vec::new();
        for (key, bytes) in self.datastore()?.entries()? {
            if let Some(name) = key.strip_prefix(PREFIX) {
                let tree = decode(name, &bytes)?;
                roots.push(tree.root);
                roots.extend(tree.history);
            }
        }
        Ok(roots)
    }
}
