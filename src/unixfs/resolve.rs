//! `/ipfs/<cid>/a/b` → the CID and node at the end of the path, walking
//! directory links and HAMT shards one component at a time.

use super::UnixfsError;
use super::dir::{self, DirError, Dirs};
use super::node::Node;
use super::reader::load;
use crate::blockstore::Blockstore;
use crate::codec::IpfsPath;
use crate::codec::cid::{Cid, cid_string};

pub struct Resolved {
    pub cid: Cid,
    pub node: Node,
}

pub fn resolve(store: &dyn Blockstore, path: &IpfsPath) -> Result<Resolved, UnixfsError> {
    resolve_trail(store, path).map(|(resolved, _)| resolved)
}

/// As `resolve`, also giving the CID reached at each step: the root's,
/// then one per component.
pub fn resolve_trail(
    store: &dyn Blockstore,
    path: &IpfsPath,
) -> Result<(Resolved, Vec<Cid>), UnixfsError> {
    resolve_proof(store, path).map(|(resolved, proof)| (resolved, proof.trail))
}

/// What it took to walk a path: the CIDs reached (the root's, then one per
/// component), and every block read on the way before the end (each
/// directory and the HAMT shards inside it), in the order read.
#[derive(Clone)]
pub struct PathProof {
    pub trail: Vec<Cid>,
    pub blocks: Vec<Cid>,
}

/// As `resolve`, also giving the blocks that prove the path: a client given
/// them can walk the same path from the root CID alone.
pub fn resolve_proof(
    store: &dyn Blockstore,
    path: &IpfsPath,
) -> Result<(Resolved, PathProof), UnixfsError> {
    resolve_proof_in(Dirs::Blocks(store), path)
}

/// As [`resolve_proof`], with the directories on the way from `dirs`; only
/// the node at the end is decoded whole.
pub fn resolve_proof_in(
    dirs: Dirs<'_>,
    path: &IpfsPath,
) -> Result<(Resolved, PathProof), UnixfsError> {
    let mut cid = path.root;
    let mut proof = PathProof {
        trail: Vec::with_capacity(path.components.len() + 1),
        blocks: Vec::new(),
    };
    proof.trail.push(cid);
    for name in &path.components {
        proof.blocks.push(cid);
        let entry = dir::lookup_in(dirs, &cid, name, &mut proof.blocks)
            .map_err(step_failure)?
            .ok_or_else(|| UnixfsError::NoSuchLink {
                parent: cid_string(&cid),
                name: name.clone(),
            })?;
        cid = entry.cid;
        proof.trail.push(cid);
    }
    let node = load(dirs.store(), &cid)?;
    Ok((Resolved { cid, node }, proof))
}

/// A directory on the way that is none, or whose block is missing, fails
/// as the node itself would.
fn step_failure(err: DirError) -> UnixfsError {
    match err {
        DirError::NotADirectory(cid) => UnixfsError::NotADirectory(cid),
        DirError::Block(err) => UnixfsError::Block(err),
        DirError::Codec(err) => UnixfsError::Codec(err),
        other => UnixfsError::Dir(other),
    }
}

/// Parses and resolves a path argument in one step.
pub fn resolve_str(store: &dyn Blockstore, text: &str) -> Result<Resolved, UnixfsError> {
    resolve(store, &IpfsPath::parse(text)?)
}
