//! The blocks a trustless-gateway CAR carries (`dag-scope`, `entity-bytes`
//! of the trustless gateway spec): first those that prove the path, then
//! those below its end, chosen by a depth-first walk and written to the
//! CAR as each is read, so that nothing is held but the blocks in hand.

use std::collections::HashSet;
use std::io::Write;
use std::ops::Range;

use bytes::Bytes;

use super::UnixfsError;
use super::dir;
use super::node::{Kind, Node};
use crate::blockstore::{Blockstore, get_required_shared};
use crate::codec::car::CarWriter;
use crate::codec::cid::{Cid, RAW, cid_string, is_identity};
use crate::codec::links::links_of;
use crate::codec::unixfs_pb::DataType;

/// What is sent of the DAG below a path's end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Its first block alone.
    Block,
    /// What it takes to read it: all of a file, or with `bytes` the blocks
    /// holding those bytes of it; a directory's own block (every shard of a
    /// HAMT, not what they list); any other block alone.
    Entity { bytes: Option<Range<u64>> },
    /// Everything it links to, recursively.
    All,
}

/// `entity-bytes=from:to`: byte offsets, negative ones counted from the
/// end; `to` is inclusive, `None` for `*` (the end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntityBytes {
    pub from: i64,
    pub to: Option<i64>,
}

/// A range that starts at or past the end of the file.
#[derive(Debug, PartialEq, Eq)]
pub struct PastEnd;

impl EntityBytes {
    pub fn parse(text: &str) -> Result<Self, String> {
        let (from, to) = text
            .split_once(':')
            .ok_or_else(|| format!("entity-bytes {text:?} is not from:to"))?;
        let number = |part: &str| {
            part.parse::<i64>().map_err(|_| {
                format!("entity-bytes {text:?}: {part:?} is not a whole number that fits 64 bits")
            })
        };
        let from = number(from)?;
        let to = match to {
            "*" => None,
            to => Some(number(to)?),
        };
        if let Some(to) = to
            && (from >= 0) == (to >= 0)
            && from > to
        {
            return Err(format!("entity-bytes {text:?} ends before it starts"));
        }
        Ok(EntityBytes { from, to })
    }

    /// The bytes asked of a file of `size` bytes, clamped to it: `None` when
    /// that leaves none (it ends before it starts), `PastEnd` when it starts
    /// beyond the last byte.
    pub fn within(&self, size: u64) -> Result<Option<Range<u64>>, PastEnd> {
        let size = i128::from(size);
        let at = |offset: i64| {
            let offset = i128::from(offset);
            if offset < 0 { size + offset } else { offset }
        };
        let start = at(self.from).max(0);
        if start >= size {
            return if self.from > 0 {
                Err(PastEnd)
            } else {
                Ok(None)
            };
        }
        let last = self.to.map_or(size - 1, |to| at(to).min(size - 1));
        if last < start {
            return Ok(None);
        }
        // Both lie in [0, size), so they fit a u64.
        Ok(Some(start as u64..last as u64 + 1))
    }
}

/// Deep enough for any real file (174^8 chunks); bounds hostile DAGs.
const MAX_FILE_DEPTH: usize = 32;

/// A CARv1 being written, block by block, from a blockstore.
pub struct CarBlocks<'s, W: Write> {
    store: &'s dyn Blockstore,
    car: CarWriter<W>,
    /// The blocks written so far (by multihash) when each goes once.
    written: Option<HashSet<Vec<u8>>>,
}

impl<'s, W: Write> CarBlocks<'s, W> {
    /// Writes the header naming `root`; with `duplicates`, a block that
    /// occurs again in the walk is written again.
    pub fn new(
        store: &'s dyn Blockstore,
        writer: W,
        root: &Cid,
        duplicates: bool,
    ) -> Result<Self, UnixfsError> {
        let car = CarWriter::new(writer, std::slice::from_ref(root)).map_err(car_failed)?;
        Ok(CarBlocks {
            store,
            car,
            written: (!duplicates).then(HashSet::new),
        })
    }

    /// The blocks that prove a path, in the order it was walked.
    pub fn path(&mut self, blocks: &[Cid]) -> Result<(), UnixfsError> {
        for cid in blocks {
            if !self.written_before(cid) {
                self.take(cid)?;
            }
        }
        Ok(())
    }

    /// The blocks `selection` takes from the DAG at `end`.
    pub fn select(&mut self, end: &Cid, selection: &Selection) -> Result<(), UnixfsError> {
        match selection {
            Selection::Block => self.take(end).map(drop),
            Selection::All => self.all(end),
            Selection::Entity { bytes } => self.entity(end, bytes.as_ref()),
        }
    }

    pub fn finish(self) -> Result<W, UnixfsError> {
        self.car.finish().map_err(car_failed)
    }

    fn written_before(&self, cid: &Cid) -> bool {
        self.written
            .as_ref()
            .is_some_and(|written| written.contains(&cid.hash().to_bytes()))
    }

    /// Reads `cid` and writes it, unless it went before and each goes
    /// once; identity blocks live in their CID and are never written.
    fn take(&mut self, cid: &Cid) -> Result<Bytes, UnixfsError> {
        let block = get_required_shared(self.store, cid)?;
        if is_identity(cid) {
            return Ok(block);
        }
        let first = match &mut self.written {
            Some(written) => written.insert(cid.hash().to_bytes()),
            None => true,
        };
        if first {
            self.car.write_block(cid, &block).map_err(car_failed)?;
        }
        Ok(block)
    }

    fn all(&mut self, root: &Cid) -> Result<(), UnixfsError> {
        let mut stack = vec![*root];
        while let Some(cid) = stack.pop() {
            // Below a block written before, all was written then too.
            if self.written_before(&cid) {
                continue;
            }
            let block = self.take(&cid)?;
            stack.extend(links_of(&cid, &block)?.into_iter().rev());
        }
        Ok(())
    }

    fn entity(&mut self, end: &Cid, bytes: Option<&Range<u64>>) -> Result<(), UnixfsError> {
        let block = self.take(end)?;
        let node = Node::decode(end, block.clone())?;
        match node.kind() {
            Kind::File => match bytes {
                Some(range) => self.file_range(end, &node, 0, range, 0),
                None => {
                    // A file links to nothing but its own parts.
                    for child in links_of(end, &block)? {
                        self.all(&child)?;
                    }
                    Ok(())
                }
            },
            Kind::HamtShard => self.shards(end, &block),
            _ => Ok(()),
        }
    }

    /// The shards below the HAMT shard `cid`, depth-first.
    fn shards(&mut self, cid: &Cid, block: &[u8]) -> Result<(), UnixfsError> {
        let mut stack: Vec<Cid> = dir::child_shards(cid, block)?.into_iter().rev().collect();
        while let Some(shard) = stack.pop() {
            let block = self.take(&shard)?;
            stack.extend(dir::child_shards(&shard, &block)?.into_iter().rev());
        }
        Ok(())
    }

    /// The blocks under `node` (file content from offset `base`) that hold
    /// bytes of `range`; `node` itself is written already.
    fn file_range(
        &mut self,
        cid: &Cid,
        node: &Node,
        base: u64,
        range: &Range<u64>,
        depth: usize,
    ) -> Result<(), UnixfsError> {
        if depth > MAX_FILE_DEPTH {
            return Err(corrupt(cid, "file DAG is too deep"));
        }
        let Node::Pb {
            links,
            unixfs: Some(unixfs),
            ..
        } = node
        else {
            return Ok(()); // a raw leaf
        };
        if !matches!(unixfs.data_type, DataType::File | DataType::Raw) {
            return Err(corrupt(
                cid,
                "a file links to something that is not file data",
            ));
        }
        if unixfs.blocksizes.len() != links.len() {
            return Err(corrupt(cid, "blocksizes count differs from link count"));
        }
        let inline = unixfs.data.as_ref().map_or(0, |d| d.len() as u64);
        let mut child_base = base.saturating_add(inline);
        for (link, &size) in links.iter().zip(&unixfs.blocksizes) {
            if child_base >= range.end {
                break;
            }
            let child_end = child_base.saturating_add(size);
            if child_end > range.start {
                // A raw leaf written before needs nothing more; an inner
                // node may, for another part of the range, below it.
                if !(link.cid.codec() == RAW && self.written_before(&link.cid)) {
                    let block = self.take(&link.cid)?;
                    let child = Node::decode(&link.cid, block)?;
                    self.file_range(&link.cid, &child, child_base, range, depth + 1)?;
                }
            }
            child_base = child_end;
        }
        Ok(())
    }
}

fn car_failed(err: crate::codec::car::CarError) -> UnixfsError {
    UnixfsError::Io(err.to_string())
}

fn corrupt(cid: &Cid, reason: &str) -> UnixfsError {
    UnixfsError::Corrupt {
        cid: cid_string(cid),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockstore::MemoryBlockstore;
    use crate::codec::IpfsPath;
    use crate::codec::car::CarReader;
    use crate::codec::cid::CidBuilder;
    use crate::unixfs::chunker::ChunkerSpec;
    use crate::unixfs::dir::{DirEntry, DirOptions, build_directory};
    use crate::unixfs::file::{FileOptions, import_file};
    use crate::unixfs::reader::FileReader;
    use crate::unixfs::resolve::resolve_proof;

    const CHUNK: usize = 256;

    /// Raw leaves of 256 bytes, at most 4 links a node: three levels for
    /// a few dozen chunks.
    fn add(store: &MemoryBlockstore, data: &[u8]) -> Cid {
        let opts = FileOptions {
            cid: CidBuilder::v1(),
            raw_leaves: true,
            chunker: ChunkerSpec::Size(CHUNK),
            max_links: 4,
            ..FileOptions::kubo_defaults()
        };
        import_file(store, &mut &data[..], &opts, &mut |_| {})
            .unwrap()
            .cid
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    fn car_of(
        store: &MemoryBlockstore,
        proof: &[Cid],
        end: &Cid,
        selection: &Selection,
        duplicates: bool,
    ) -> Vec<(Cid, Vec<u8>)> {
        let mut car = CarBlocks::new(store, Vec::new(), end, duplicates).unwrap();
        car.path(proof).unwrap();
        car.select(end, selection).unwrap();
        let bytes = car.finish().unwrap();
        let mut reader = CarReader::new(&bytes[..]).unwrap();
        assert_eq!(reader.roots(), &[*end]);
        let mut blocks = Vec::new();
        while let Some(block) = reader.next_block().unwrap() {
            blocks.push(block);
        }
        blocks
    }

    fn stored(blocks: &[(Cid, Vec<u8>)]) -> MemoryBlockstore {
        let store = MemoryBlockstore::new();
        for (cid, data) in blocks {
            store.put(cid, data).unwrap();
        }
        store
    }

    fn range(from: i64, to: Option<i64>, size: u64) -> Option<Range<u64>> {
        EntityBytes { from, to }.within(size).unwrap()
    }

    #[test]
    fn entity_bytes_parse_and_clamp_as_the_spec_says() {
        let parsed = |text| EntityBytes::parse(text);
        assert_eq!(parsed("0:*"), Ok(EntityBytes { from: 0, to: None }));
        assert_eq!(
            parsed("-1024:-1"),
            Ok(EntityBytes {
                from: -1024,
                to: Some(-1)
            })
        );
        assert_eq!(
            parsed("499:-1000"),
            Ok(EntityBytes {
                from: 499,
                to: Some(-1000)
            })
        );
        for bad in [
            "",
            "5",
            "1:2:3",
            "a:1",
            "1:b",
            "*:5",
            "10:5",
            "-1:-5",
            "0:1e3",
            "0:99999999999999999999",
        ] {
            assert!(parsed(bad).is_err(), "{bad}");
        }
        let size = 1026;
        assert_eq!(range(0, None, size), Some(0..1026));
        assert_eq!(range(512, Some(1023), size), Some(512..1024));
        assert_eq!(range(512, Some(-256), size), Some(512..771));
        assert_eq!(range(-5, None, size), Some(1021..1026));
        assert_eq!(range(-9999, None, size), Some(0..1026));
        assert_eq!(range(-9999, Some(-3), size), Some(0..1024));
        assert_eq!(range(0, Some(0), size), Some(0..1));
        assert_eq!(range(1000, Some(1 << 40), size), Some(1000..1026));
        assert_eq!(range(1025, None, size), Some(1025..1026));
        // Nothing left: the end comes before the start.
        assert_eq!(range(600, Some(-1000), size), None);
        assert_eq!(range(0, None, 0), None);
        assert_eq!(range(-5, None, 0), None);
        assert_eq!(
            EntityBytes {
                from: 1026,
                to: None
            }
            .within(size),
            Err(PastEnd)
        );
        assert_eq!(
            EntityBytes {
                from: i64::MAX,
                to: None
            }
            .within(size),
            Err(PastEnd)
        );
        assert_eq!(
            EntityBytes {
                from: i64::MIN,
                to: Some(i64::MAX)
            }
            .within(size),
            Ok(Some(0..1026))
        );
    }

    /// Every range, at and around chunk and subtree boundaries: the CAR
    /// holds exactly the leaves that hold bytes of it, and with the blocks
    /// of the CAR alone those bytes read back.
    #[test]
    fn a_range_takes_exactly_the_leaves_it_touches() {
        let store = MemoryBlockstore::new();
        let data = pattern(CHUNK * 37 + 11);
        let file = add(&store, &data);
        let leaves: Vec<Cid> = car_of(&store, &[], &file, &Selection::All, true)
            .into_iter()
            .map(|(cid, _)| cid)
            .filter(|cid| cid.codec() == RAW)
            .collect();
        assert_eq!(leaves.len(), 38);
        let size = data.len() as u64;
        let mut edges = vec![0u64, 1, size - 1, size];
        for k in [1u64, 4, 16, 17, 36, 37] {
            let at = k * CHUNK as u64;
            edges.extend([at - 1, at, at + 1]);
        }
        for &start in &edges {
            for &last in &edges {
                if last < start || start >= size {
                    continue;
                }
                let last = last.min(size - 1);
                let bytes = start..last + 1;
                let blocks = car_of(
                    &store,
                    &[],
                    &file,
                    &Selection::Entity {
                        bytes: Some(bytes.clone()),
                    },
                    false,
                );
                assert_eq!(blocks[0].0, file, "the file's root first");
                let sent: Vec<Cid> = blocks
                    .iter()
                    .map(|(cid, _)| *cid)
                    .filter(|cid| cid.codec() == RAW)
                    .collect();
                let first = (start / CHUNK as u64) as usize;
                let last_leaf = (last / CHUNK as u64) as usize;
                assert_eq!(sent, leaves[first..=last_leaf], "{bytes:?}");
                let only = stored(&blocks);
                let reader = FileReader::open(&only, &file).unwrap();
                let got = reader.read_bytes(start, last + 1 - start).unwrap();
                assert!(
                    got[..] == data[start as usize..=last as usize],
                    "{bytes:?} reads back"
                );
            }
        }
    }

    #[test]
    fn duplicates_go_once_or_each_time_as_asked() {
        let store = MemoryBlockstore::new();
        let zeros = vec![0u8; CHUNK * 9];
        let file = add(&store, &zeros);
        let once = car_of(&store, &[], &file, &Selection::All, false);
        let each = car_of(&store, &[], &file, &Selection::All, true);
        let leaves =
            |blocks: &[(Cid, Vec<u8>)]| blocks.iter().filter(|(c, _)| c.codec() == RAW).count();
        assert_eq!(leaves(&once), 1);
        assert_eq!(leaves(&each), 9);
        let distinct: HashSet<_> = once.iter().map(|(c, _)| *c).collect();
        assert_eq!(distinct.len(), once.len(), "no block twice");
        // The same whole file as an entity.
        let entity = car_of(
            &store,
            &[],
            &file,
            &Selection::Entity { bytes: None },
            false,
        );
        assert_eq!(entity, once);
    }

    /// A file of one subtree twice over: a range across the seam needs the
    /// last leaf of the first copy and the first leaf of the second, so
    /// the second copy's inner node, written already, is walked again.
    #[test]
    fn a_range_across_a_repeated_subtree_still_has_all_its_leaves() {
        let store = MemoryBlockstore::new();
        let quarter = pattern(CHUNK * 4);
        let data = [quarter.clone(), quarter].concat();
        let file = add(&store, &data);
        let seam = (CHUNK * 4) as u64;
        let bytes = seam - 10..seam + 10;
        for duplicates in [false, true] {
            let blocks = car_of(
                &store,
                &[],
                &file,
                &Selection::Entity {
                    bytes: Some(bytes.clone()),
                },
                duplicates,
            );
            let only = stored(&blocks);
            let got = FileReader::open(&only, &file)
                .unwrap()
                .read_bytes(bytes.start, 20)
                .unwrap();
            assert!(got[..] == data[bytes.start as usize..bytes.end as usize]);
            let repeated =
                blocks.len() - blocks.iter().map(|(c, _)| *c).collect::<HashSet<_>>().len();
            assert_eq!(repeated > 0, duplicates, "{duplicates}");
        }
    }

    fn sharded(store: &MemoryBlockstore) -> (Cid, Vec<DirEntry>) {
        let mut entries = Vec::new();
        for i in 0..300 {
            let data = format!("entry {i}\n");
            entries.push(DirEntry {
                name: format!("{i}.txt"),
                cid: add(store, data.as_bytes()),
                size: data.len() as u64,
            });
        }
        let opts = DirOptions {
            cid: CidBuilder::v1(),
            shard_threshold: 100,
            fanout: 16,
            ..DirOptions::default()
        };
        let built = build_directory(store, entries.clone(), &opts).unwrap();
        (built.cid, entries)
    }

    #[test]
    fn a_hamt_entity_is_its_shards_and_a_block_is_its_root() {
        let store = MemoryBlockstore::new();
        let (dir, entries) = sharded(&store);
        let shards = car_of(&store, &[], &dir, &Selection::Entity { bytes: None }, false);
        assert!(shards.len() > 16, "several levels: {}", shards.len());
        assert_eq!(shards[0].0, dir);
        let entry_cids: HashSet<Cid> = entries.iter().map(|e| e.cid).collect();
        assert!(shards.iter().all(|(cid, _)| !entry_cids.contains(cid)));
        // With them alone, the directory lists whole.
        let only = stored(&shards);
        assert_eq!(dir::list(&only, &dir).unwrap().len(), entries.len());
        let block = car_of(&store, &[], &dir, &Selection::Block, false);
        assert_eq!(block.len(), 1);
        assert_eq!(block[0].0, dir);
        // All: the shards and every file.
        let all = car_of(&store, &[], &dir, &Selection::All, false);
        assert_eq!(all.len(), shards.len() + entries.len());
    }

    #[test]
    fn a_path_through_a_hamt_is_proven_by_the_shards_on_the_way() {
        let store = MemoryBlockstore::new();
        let (dir, entries) = sharded(&store);
        let path = IpfsPath {
            root: dir,
            components: vec!["123.txt".into()],
        };
        let (resolved, proof) = resolve_proof(&store, &path).unwrap();
        assert_eq!(proof.blocks[0], dir);
        assert!(proof.blocks.len() >= 2, "{:?}", proof.blocks);
        assert_eq!(proof.trail, vec![dir, resolved.cid]);
        let wanted = entries.iter().find(|e| e.name == "123.txt").unwrap();
        assert_eq!(resolved.cid, wanted.cid);
        let blocks = car_of(
            &store,
            &proof.blocks,
            &resolved.cid,
            &Selection::Block,
            false,
        );
        // A client with these blocks alone walks the same path.
        let only = stored(&blocks);
        let (again, _) = resolve_proof(&only, &path).unwrap();
        assert_eq!(again.cid, wanted.cid);
        assert_eq!(blocks.len(), proof.blocks.len() + 1);
    }
}
