//! The commands the CLI runs on a local repository and the HTTP API runs for
//! a client while a daemon holds it. Each takes a request and returns
//! values shaped as Kubo's API answers (serde, Kubo's field names), so the
//! CLI renders the same text from either.

pub mod add;
pub mod blocks;
pub mod bootstrap;
pub mod dags;
pub mod files;
pub mod keys;
pub mod listing;
pub mod name;
pub mod objects;
pub mod pins;
pub mod repo;

use crate::blockstore::Blockstore;
use crate::codec::{Cid, IpfsPath};
use crate::names::NameSystem;
use crate::repo::Repo;
use crate::unixfs::resolve::resolve;

/// What a command works on: the repository, and the store it reads blocks
/// through (the repository's own, or one that fetches from the network).
pub struct Core<'a> {
    pub repo: &'a Repo,
    pub store: &'a dyn Blockstore,
    /// How `/ipns/` names are resolved and published.
    pub names: &'a NameSystem,
}

impl<'a> Core<'a> {
    pub fn local(repo: &'a Repo) -> Self {
        Core {
            repo,
            store: repo.blocks(),
            names: NameSystem::offline(),
        }
    }

    /// Stores one block durably, pinned if asked.
    pub fn store_block(&self, cid: &Cid, data: &[u8], pin: bool) -> Result<(), CommandError> {
        let writing = self.repo.gc_lock().pin_guard();
        self.store.put(cid, data).map_err(failed)?;
        self.store.sync().map_err(failed)?;
        if pin {
            self.repo
                .datastore()
                .and_then(|ds| ds.set_pin(cid, crate::repo::PinKind::Recursive))
                .map_err(failed)?;
            let block = std::collections::HashSet::from([cid.hash().to_bytes()]);
            self.repo.gc_lock().rooted(&writing, &block);
        }
        Ok(())
    }

    /// A CID, `/ipfs/` or `/ipns/` path argument as an `/ipfs/` path: a
    /// name is resolved (through names pointing at names) first.
    pub fn content_path(&self, text: &str) -> Result<IpfsPath, CommandError> {
        let resolved;
        let text = if text.starts_with("/ipns/") {
            let opts = crate::names::ResolveOptions::default();
            resolved = name::resolve(self, Some(text), &opts)?.path;
            &resolved
        } else {
            text
        };
        IpfsPath::parse(text).map_err(|e| bad_argument(format!("{text}: {e}")))
    }

    /// A CID, `/ipfs/` or `/ipns/` path argument → the CID it names.
    pub fn resolve_cid(&self, text: &str) -> Result<Cid, CommandError> {
        let path = self.content_path(text)?;
        if path.components.is_empty() {
            return Ok(path.root);
        }
        Ok(resolve(self.store, &path).map_err(failed)?.cid)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The request itself is wrong (HTTP 400).
    #[error("{0}")]
    BadArgument(String),
    /// The request was understood but could not be carried out (HTTP 500).
    #[error("{0}")]
    Failed(String),
}

/// Any lower layer's error, as the message users see.
pub fn failed(err: impl std::fmt::Display) -> CommandError {
    CommandError::Failed(err.to_string())
}

pub fn bad_argument(err: impl std::fmt::Display) -> CommandError {
    CommandError::BadArgument(err.to_string())
}

/// Kubo's JSON form of a link to a CID: `{"/": "<cid>"}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CidLink {
    #[serde(rename = "/")]
    pub cid: String,
}

impl CidLink {
    pub fn new(cid: &Cid) -> Self {
        CidLink {
            cid: crate::codec::cid_string(cid),
        }
    }
}
