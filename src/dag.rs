//! Walking DAGs by their links (any codec `links_of` understands): for
//! `refs`, pinning, garbage collection and `dag stat`.

use std::collections::HashSet;

use crate::blockstore::{Blockstore, BlockstoreError, get_required};
use crate::codec::CodecError;
use crate::codec::car::{CarError, CarReader, CarWriter};
use crate::codec::cid::Cid;
use crate::codec::links::links_of;

#[derive(Debug, thiserror::Error)]
pub enum DagError {
    #[error(transparent)]
    Block(#[from] BlockstoreError),
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error(transparent)]
    Car(#[from] CarError),
}

/// Called with each visited block's CID and bytes.
pub type Visit<'a> = dyn FnMut(&Cid, &[u8]) -> Result<(), DagError> + 'a;

/// Depth-first walk from `root`, visiting every distinct block once: `visit`
/// gets each block's CID and bytes; `on_edge` every (parent, child) link in
/// stored order (including links to blocks already visited).
pub fn walk(
    store: &dyn Blockstore,
    root: &Cid,
    visit: &mut Visit,
    on_edge: &mut dyn FnMut(&Cid, &Cid),
) -> Result<(), DagError> {
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut stack = vec![*root];
    while let Some(cid) = stack.pop() {
        if !seen.insert(cid.hash().to_bytes()) {
            continue;
        }
        let block = get_required(store, &cid)?;
        visit(&cid, &block)?;
        let links = links_of(&cid, &block)?;
        for child in &links {
            on_edge(&cid, child);
        }
        stack.extend(links.into_iter().rev());
    }
    Ok(())
}

/// Every block of the DAG under `root` that is here (by multihash bytes):
/// a block that is not is passed to `missing`, which fails the walk or
/// lets it go on without what lies below it. The root must be here.
pub fn reachable_here(
    store: &dyn Blockstore,
    root: &Cid,
    missing: &mut dyn FnMut(&Cid) -> Result<(), DagError>,
) -> Result<HashSet<Vec<u8>>, DagError> {
    let mut here = HashSet::new();
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut stack = vec![*root];
    while let Some(cid) = stack.pop() {
        if !seen.insert(cid.hash().to_bytes()) {
            continue;
        }
        let block = match store.get(&cid)? {
            Some(block) => block,
            None if cid == *root => return Err(crate::blockstore::not_found(&cid).into()),
            None => {
                missing(&cid)?;
                continue;
            }
        };
        here.insert(cid.hash().to_bytes());
        stack.extend(links_of(&cid, &block)?);
    }
    Ok(here)
}

/// Every block reachable from `roots` (by multihash bytes), failing on the
/// first missing one.
pub fn reachable(store: &dyn Blockstore, roots: &[Cid]) -> Result<HashSet<Vec<u8>>, DagError> {
    let mut all = HashSet::new();
    for root in roots {
        if all.contains(&root.hash().to_bytes()) {
            continue;
        }
        walk(
            store,
            root,
            &mut |cid, _| {
                all.insert(cid.hash().to_bytes());
                Ok(())
            },
            &mut |_, _| {},
        )?;
    }
    Ok(all)
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct DagStat {
    pub blocks: u64,
    pub bytes: u64,
}

pub fn stat(store: &dyn Blockstore, root: &Cid) -> Result<DagStat, DagError> {
    let mut stat = DagStat::default();
    walk(
        store,
        root,
        &mut |_, block| {
            stat.blocks += 1;
            stat.bytes += block.len() as u64;
            Ok(())
        },
        &mut |_, _| {},
    )?;
    Ok(stat)
}

#[derive(Debug)]
pub struct CarImport {
    pub roots: Vec<Cid>,
    pub blocks: u64,
}

/// Stores every block of a CAR (v1 or v2), each verified against its CID.
/// On error the blocks read so far stay stored (they are valid, just
/// unpinned) and nothing reports the roots as imported.
pub fn import_car(
    store: &dyn Blockstore,
    reader: impl std::io::Read,
) -> Result<CarImport, DagError> {
    let mut car = CarReader::new(reader)?;
    let mut blocks = 0;
    while let Some((cid, data)) = car.next_block()? {
        store.put(&cid, &data)?;
        blocks += 1;
    }
    Ok(CarImport {
        roots: car.roots().to_vec(),
        blocks,
    })
}

/// Writes the DAG under `root` as a CARv1: depth-first pre-order, links in
/// stored order, each block once (what `ipfs dag export` writes).
pub fn export_car(
    store: &dyn Blockstore,
    root: &Cid,
    writer: impl std::io::Write,
) -> Result<(), DagError> {
    let mut car = CarWriter::new(writer, std::slice::from_ref(root))?;
    walk(
        store,
        root,
        &mut |cid, block| Ok(car.write_block(cid, block)?),
        &mut |_, _| {},
    )?;
    car.finish()?;
    Ok(())
}
