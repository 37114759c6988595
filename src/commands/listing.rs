//! `ls` (directory entries) and `refs` (the links of nodes).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{CommandError, Core, failed};
use crate::codec::{Cid, cid_string};
use crate::dag;
use crate::unixfs::dir;
use crate::unixfs::node::Kind;
use crate::unixfs::reader::load;
use crate::unixfs::resolve::resolve;

/// `ls`: one object per path argument.
#[derive(Debug, Serialize, Deserialize)]
pub struct Listing {
    #[serde(rename = "Objects")]
    pub objects: Vec<ListedObject>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ListedObject {
    /// The path argument as given.
    #[serde(rename = "Hash")]
    pub path: String,
    #[serde(rename = "Links")]
    pub links: Vec<ListedLink>,
}

/// Kubo's UnixFS type numbers, as `ls` reports them.
pub const TYPE_DIRECTORY: u32 = 1;
pub const TYPE_FILE: u32 = 2;
pub const TYPE_SYMLINK: u32 = 4;

#[derive(Debug, Serialize, Deserialize)]
pub struct ListedLink {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Hash")]
    pub hash: String,
    #[serde(rename = "Size")]
    pub size: u64,
    #[serde(rename = "Type")]
    pub kind: u32,
    #[serde(rename = "Target", default)]
    pub target: String,
}

/// One line of `refs`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Ref {
    #[serde(rename = "Ref")]
    pub cid: String,
    #[serde(rename = "Err", default)]
    pub error: String,
}

fn kind_number(kind: Kind) -> u32 {
    match kind {
        Kind::Directory | Kind::HamtShard => TYPE_DIRECTORY,
        Kind::Symlink => TYPE_SYMLINK,
        _ => TYPE_FILE,
    }
}

/// The entries of each directory; a file is listed as itself, named by
/// its path argument.
pub fn ls(core: &Core, paths: &[String]) -> Result<Listing, CommandError> {
    let mut objects = Vec::new();
    for text in paths {
        let path = core.content_path(text)?;
        let resolved = resolve(core.store, &path).map_err(failed)?;
        let links = if resolved.node.kind().is_dir() {
            let mut links = Vec::new();
            for entry in dir::list(core.store, &resolved.cid).map_err(failed)? {
                let child = load(core.store, &entry.cid).map_err(failed)?;
                let kind = kind_number(child.kind());
                links.push(ListedLink {
                    name: entry.name,
                    hash: cid_string(&entry.cid),
                    size: if kind == TYPE_DIRECTORY {
                        0
                    } else {
                        child.content_size()
                    },
                    kind,
                    target: String::new(),
                });
            }
            links
        } else {
            vec![ListedLink {
                name: text.clone(),
                hash: cid_string(&resolved.cid),
                size: resolved.node.content_size(),
                kind: kind_number(resolved.node.kind()),
                target: String::new(),
            }]
        };
        objects.push(ListedObject {
            path: text.clone(),
            links,
        });
    }
    Ok(Listing { objects })
}

/// The CIDs each path's node links to (`recursive`: the whole DAG below
/// it), each once with `unique`.
pub fn refs(
    core: &Core,
    paths: &[String],
    recursive: bool,
    unique: bool,
) -> Result<Vec<Ref>, CommandError> {
    let roots = refs_roots(core, paths)?;
    let mut refs = Vec::new();
    refs_each(core, &roots, recursive, unique, &mut |found| {
        refs.push(found)
    })?;
    Ok(refs)
}

/// The nodes `refs` starts from: every path resolved before anything is
/// listed, so a bad path fails the command before it answers. A bare CID
/// is not read as UnixFS: any DAG can be walked (MFS history commits are
/// dag-pb nodes with other data).
pub fn refs_roots(core: &Core, paths: &[String]) -> Result<Vec<Cid>, CommandError> {
    paths
        .iter()
        .map(|text| {
            let path = core.content_path(text)?;
            if path.components.is_empty() {
                crate::blockstore::get_required(core.store, &path.root).map_err(failed)?;
                return Ok(path.root);
            }
            Ok(resolve(core.store, &path).map_err(failed)?.cid)
        })
        .collect()
}

/// `refs` from resolved roots, each found CID handed to `emit` as the walk
/// reaches it.
pub fn refs_each(
    core: &Core,
    roots: &[Cid],
    recursive: bool,
    unique: bool,
    emit: &mut dyn FnMut(Ref),
) -> Result<(), CommandError> {
    let mut seen = HashSet::new();
    let mut found = |child: &Cid| {
        if !unique || seen.insert(child.hash().to_bytes()) {
            emit(Ref {
                cid: cid_string(child),
                error: String::new(),
            });
        }
    };
    for root in roots {
        if recursive {
            dag::walk(core.store, root, &mut |_, _| Ok(()), &mut |_, child| {
                found(child)
            })
            .map_err(failed)?;
        } else {
            let block = crate::blockstore::get_required(core.store, root).map_err(failed)?;
            for child in crate::codec::links::links_of(root, &block).map_err(failed)? {
                found(&child);
            }
        }
    }
    Ok(())
}
