//! `add`: Kubo's options and their rules, the lines it answers with, and
//! what follows an import (durability, pins, listings for the mount).

use serde::{Deserialize, Serialize};

use super::{CommandError, Core, bad_argument, failed};
use crate::blockstore::PinGuard;
use crate::codec::Cid;
use crate::codec::cid::{CidBuilder, HashFn, Version};
use crate::fs::summaries::SummaryStore;
use crate::repo::PinKind;
use crate::unixfs::adder::{AddOptions, Added};
use crate::unixfs::chunker::ChunkerSpec;
use crate::unixfs::dir::{DirEntry, DirOptions};
use crate::unixfs::file::{FileOptions, Layout};
use crate::unixfs::node::Summary;

/// The options of `add` that decide what is built.
#[derive(Clone, Debug)]
pub struct AddRequest {
    pub cid_version: Option<u64>,
    pub hash: String,
    pub chunker: String,
    pub raw_leaves: Option<bool>,
    pub trickle: bool,
    pub inline: bool,
    pub inline_limit: u64,
    pub wrap: bool,
    pub recursive: bool,
    pub hidden: bool,
    pub preserve_mode: bool,
    pub preserve_mtime: bool,
    pub pin: bool,
}

impl Default for AddRequest {
    fn default() -> Self {
        AddRequest {
            cid_version: None,
            hash: "sha2-256".to_string(),
            chunker: "size-262144".to_string(),
            raw_leaves: None,
            trickle: false,
            inline: false,
            inline_limit: 32,
            wrap: false,
            recursive: false,
            hidden: false,
            preserve_mode: false,
            preserve_mtime: false,
            pin: true,
        }
    }
}

impl AddRequest {
    /// Kubo's rules: CIDv0 only with sha2-256, raw leaves by default with
    /// CIDv1 unless metadata is kept, an inline limit of at most 128.
    pub fn options(&self) -> Result<AddOptions, CommandError> {
        let hash = HashFn::parse(&self.hash).map_err(bad_argument)?;
        let mut cid = CidBuilder::for_version(self.cid_version, hash).map_err(bad_argument)?;
        let metadata = self.preserve_mode || self.preserve_mtime;
        let raw_leaves = match self.raw_leaves {
            Some(true) if metadata => {
                return Err(bad_argument(
                    "--raw-leaves cannot be combined with --preserve-mode/--preserve-mtime",
                ));
            }
            Some(explicit) => explicit,
            None => cid.version == Version::V1 && !metadata,
        };
        if self.inline && self.inline_limit > 128 {
            return Err(bad_argument(format!(
                "--inline-limit {} is over the maximum of 128",
                self.inline_limit
            )));
        }
        cid.inline_limit = self.inline.then_some(self.inline_limit as usize);
        let mut file = FileOptions::kubo_defaults();
        file.cid = cid;
        file.raw_leaves = raw_leaves;
        file.chunker = ChunkerSpec::parse(&self.chunker).map_err(bad_argument)?;
        file.layout = if self.trickle {
            Layout::Trickle
        } else {
            Layout::Balanced
        };
        let dir = DirOptions {
            cid,
            ..DirOptions::default()
        };
        Ok(AddOptions {
            file,
            dir,
            recursive: self.recursive,
            hidden: self.hidden,
            wrap: self.wrap,
            preserve_mode: self.preserve_mode,
            preserve_mtime: self.preserve_mtime,
        })
    }

    /// The request as Kubo's `/api/v0/add` query.
    pub fn to_query(&self) -> Vec<(&'static str, String)> {
        let mut query = vec![
            ("hash", self.hash.clone()),
            ("chunker", self.chunker.clone()),
            ("trickle", self.trickle.to_string()),
            ("wrap-with-directory", self.wrap.to_string()),
            ("pin", self.pin.to_string()),
            ("preserve-mode", self.preserve_mode.to_string()),
            ("preserve-mtime", self.preserve_mtime.to_string()),
        ];
        query.extend(self.cid_version.map(|v| ("cid-version", v.to_string())));
        query.extend(self.raw_leaves.map(|r| ("raw-leaves", r.to_string())));
        if self.inline {
            query.push(("inline", "true".to_string()));
            query.push(("inline-limit", self.inline_limit.to_string()));
        }
        query
    }
}

/// One line of `add`'s answer. `Size` is a string, as Kubo sends it.
#[derive(Debug, Serialize, Deserialize)]
pub struct AddedLine {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Hash")]
    pub hash: String,
    #[serde(rename = "Size", default)]
    pub size: String,
}

impl AddedLine {
    pub fn new(added: &Added) -> Self {
        AddedLine {
            name: added.path.clone(),
            hash: crate::codec::cid_string(&added.cid),
            size: added.size.to_string(),
        }
    }
}

/// What an import learned that the mount can use without reading it back.
#[derive(Default)]
pub struct AddRecord {
    pub summaries: Vec<(Cid, Summary)>,
    pub listings: Vec<(Cid, Vec<DirEntry>)>,
    /// Every block the import put (multihash bytes), stored before or not.
    pub written: std::collections::HashSet<Vec<u8>>,
}

impl AddRecord {
    pub fn note(&mut self, added: &Added) {
        self.summaries.push((added.cid, added.summary));
        if let Some(listing) = &added.listing {
            self.listings.push((added.cid, listing.clone()));
        }
    }
}

/// After an import (`writing` held since its first block): makes the
/// blocks durable, pins the roots if asked, and keeps the summaries and
/// listings.
pub fn record(
    core: &Core,
    writing: &PinGuard,
    roots: &[Added],
    record: &AddRecord,
    pin: bool,
) -> Result<(), CommandError> {
    core.store
        .sync()
        .map_err(|e| failed(format!("making the added blocks durable: {e}")))?;
    if pin {
        for root in roots {
            core.repo
                .datastore()
                .and_then(|ds| ds.set_pin(&root.cid, PinKind::Recursive))
                .map_err(|e| failed(format!("pinning: {e}")))?;
        }
        core.repo.gc_lock().rooted(writing, &record.written);
    }
    core.repo.save(&record.summaries);
    for (dir, entries) in &record.listings {
        core.repo.save_listing(dir, entries);
    }
    Ok(())
}
