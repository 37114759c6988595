//! HAMT-sharded directories (UnixFS type 5) as Kubo writes them
//! (SPEC-NOTES §7): murmur3-x64-128 h1 of the name, big-endian, consumed
//! most-significant bits first; upper-case hex link prefixes; the bitfield as
//! a big-endian integer without leading zero bytes.

use std::sync::Arc;

use super::{BuiltDir, DirEntry, DirError, DirNode, DirOptions, Dirs, decode_dir, store_node};
use crate::blockstore::{Blockstore, get_required};
use crate::codec::cid::{Cid, cid_string};
use crate::codec::dagpb::{PbLink, PbNode};
use crate::codec::unixfs_pb::{DataType, UnixfsData};
use bytes::Bytes;

pub const MURMUR3_X64_64: u64 = 0x22;
/// Readers refuse larger fanouts (boxo, CVE-2023-23625).
const MAX_FANOUT: u64 = 1024;

/// The 8-byte HAMT key of a name: h1 of murmur3 x64_128 (seed 0), big-endian.
pub fn hamt_key(name: &str) -> [u8; 8] {
    let hash = murmur3::murmur3_x64_128(&mut name.as_bytes(), 0)
        .expect("hashing a byte slice cannot fail");
    (hash as u64).to_be_bytes()
}

/// Shard geometry derived from the fanout.
#[derive(Clone, Copy)]
struct Geometry {
    bits: u32,
    hex_width: usize,
    fanout: u64,
}

impl Geometry {
    fn new(fanout: u64) -> Option<Self> {
        if !fanout.is_power_of_two()
            || fanout < 8
            || !fanout.is_multiple_of(8)
            || fanout > MAX_FANOUT
        {
            return None;
        }
        Some(Geometry {
            bits: fanout.trailing_zeros(),
            hex_width: format!("{:X}", fanout - 1).len(),
            fanout,
        })
    }

    fn max_depth(&self) -> usize {
        (64 / self.bits) as usize
    }

    /// The bucket at `depth`: bits [depth*bits, (depth+1)*bits) from the top.
    fn bucket(&self, key: &[u8; 8], depth: usize) -> usize {
        let value = u64::from_be_bytes(*key);
        let shift = 64 - self.bits as usize * (depth + 1);
        ((value >> shift) & (self.fanout - 1)) as usize
    }

    fn prefix(&self, bucket: usize) -> String {
        format!("{:0width$X}", bucket, width = self.hex_width)
    }
}

pub fn build(
    store: &dyn Blockstore,
    entries: Vec<DirEntry>,
    opts: &DirOptions,
) -> Result<BuiltDir, DirError> {
    let geometry = Geometry::new(opts.fanout).ok_or_else(|| DirError::BadShard {
        cid: "(new)".into(),
        reason: format!("fanout {} is not allowed", opts.fanout),
    })?;
    let keyed: Vec<([u8; 8], DirEntry)> = entries
        .into_iter()
        .map(|e| (hamt_key(&e.name), e))
        .collect();
    build_shard(store, keyed, opts, geometry, 0)
}

fn build_shard(
    store: &dyn Blockstore,
    keyed: Vec<([u8; 8], DirEntry)>,
    opts: &DirOptions,
    geometry: Geometry,
    depth: usize,
) -> Result<BuiltDir, DirError> {
    if depth >= geometry.max_depth() {
        return Err(DirError::BadShard {
            cid: "(new)".into(),
            reason: "sharded directory too deep: names collide".into(),
        });
    }
    let mut buckets: Vec<Vec<([u8; 8], DirEntry)>> =
        (0..geometry.fanout).map(|_| Vec::new()).collect();
    for (key, entry) in keyed {
        buckets[geometry.bucket(&key, depth)].push((key, entry));
    }
    let mut bitfield = vec![0u8; (geometry.fanout / 8) as usize];
    let mut links = Vec::new();
    for (index, mut members) in buckets.into_iter().enumerate() {
        if members.is_empty() {
            continue;
        }
        let byte = bitfield.len() - 1 - index / 8;
        bitfield[byte] |= 1 << (index % 8);
        let prefix = geometry.prefix(index);
        if members.len() == 1 {
            let (_, entry) = members.pop().expect("one member");
            links.push(PbLink::new(
                entry.cid,
                format!("{prefix}{}", entry.name),
                entry.size,
            ));
        } else {
            let child = build_shard(
                store,
                members,
                &DirOptions {
                    mode: None,
                    mtime: None,
                    ..opts.clone()
                },
                geometry,
                depth + 1,
            )?;
            links.push(PbLink::new(child.cid, prefix, child.size));
        }
    }
    let first_set = bitfield
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bitfield.len());
    let mut data = UnixfsData::new(DataType::HamtShard);
    data.data = Some(Bytes::copy_from_slice(&bitfield[first_set..]));
    data.hash_type = Some(MURMUR3_X64_64);
    data.fanout = Some(geometry.fanout);
    data.mode = opts.mode;
    data.mtime = opts.mtime;
    store_node(
        store,
        &opts.cid,
        &PbNode {
            links,
            data: Some(data.encode()),
        },
    )
}

fn check_shard(cid: &Cid, data: &UnixfsData) -> Result<Geometry, DirError> {
    let bad = |reason: String| DirError::BadShard {
        cid: cid_string(cid),
        reason,
    };
    if data.hash_type != Some(MURMUR3_X64_64) {
        return Err(bad(format!(
            "hash type {:?} is not murmur3-x64-64",
            data.hash_type
        )));
    }
    if data.data.is_none() {
        return Err(bad("no bitfield".into()));
    }
    let fanout = data.fanout.ok_or_else(|| bad("no fanout".into()))?;
    Geometry::new(fanout).ok_or_else(|| bad(format!("fanout {fanout} is not allowed")))
}

fn load_shard(store: &dyn Blockstore, cid: &Cid) -> Result<(PbNode, UnixfsData), DirError> {
    let block = get_required(store, cid)?;
    match decode_dir(cid, &block)? {
        DirNode::Hamt(node, data) => Ok((node, data)),
        DirNode::Basic(_) => Err(plain_child(cid)),
    }
}

/// The entry `name` of the sharded directory `cid` (its root shard
/// `root`); `shards` gets each child shard read on the way down, in order.
pub(crate) fn lookup(
    dirs: Dirs<'_>,
    cid: &Cid,
    root: Arc<DirNode>,
    name: &str,
    shards: &mut Vec<Cid>,
) -> Result<Option<DirEntry>, DirError> {
    let DirNode::Hamt(_, data) = &*root else {
        return Err(DirError::NotADirectory(cid_string(cid)));
    };
    let geometry = check_shard(cid, data)?;
    let key = hamt_key(name);
    let (mut cid, mut shard) = (*cid, root);
    for depth in 0..geometry.max_depth() {
        let DirNode::Hamt(node, _) = &*shard else {
            return Err(plain_child(&cid));
        };
        let prefix = geometry.prefix(geometry.bucket(&key, depth));
        let Some(link) = node.links.iter().find(|l| l.name().starts_with(&prefix)) else {
            return Ok(None);
        };
        let rest = &link.name()[prefix.len()..];
        if rest.is_empty() {
            let child_cid = link.cid;
            let child = dirs.load(&child_cid)?;
            match &*child {
                DirNode::Hamt(_, child_data) => check_shard(&child_cid, child_data)?,
                DirNode::Basic(_) => return Err(plain_child(&child_cid)),
            };
            shards.push(child_cid);
            cid = child_cid;
            shard = child;
            continue;
        }
        return Ok((rest == name).then(|| DirEntry {
            name: name.to_string(),
            cid: link.cid,
            size: link.tsize(),
        }));
    }
    Err(DirError::BadShard {
        cid: cid_string(&cid),
        reason: "sharded directory too deep".into(),
    })
}

fn plain_child(cid: &Cid) -> DirError {
    DirError::BadShard {
        cid: cid_string(cid),
        reason: "child shard is a plain directory".into(),
    }
}

pub fn list(
    store: &dyn Blockstore,
    cid: &Cid,
    node: PbNode,
    data: UnixfsData,
) -> Result<Vec<DirEntry>, DirError> {
    let geometry = check_shard(cid, &data)?;
    let mut out = Vec::new();
    list_into(store, cid, &node, geometry, 0, &mut out)?;
    Ok(out)
}

/// The child shards that `node` (the shard `cid`) links to, in link order
/// (its other links are entries).
pub fn child_shards(cid: &Cid, node: &PbNode, data: &UnixfsData) -> Result<Vec<Cid>, DirError> {
    let geometry = check_shard(cid, data)?;
    Ok(node
        .links
        .iter()
        .filter(|l| l.name().len() == geometry.hex_width)
        .map(|l| l.cid)
        .collect())
}

/// Shards fetched in parallel; results in the order of `cids`.
fn load_shards(
    store: &dyn Blockstore,
    cids: &[&Cid],
) -> Vec<Result<(PbNode, UnixfsData), DirError>> {
    const WORKERS: usize = 16;
    if cids.len() <= 1 {
        return cids.iter().map(|cid| load_shard(store, cid)).collect();
    }
    let chunk = cids.len().div_ceil(WORKERS);
    std::thread::scope(|scope| {
        let parts: Vec<_> = cids
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|cid| load_shard(store, cid))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|part| {
                part.join().unwrap_or_else(|_| {
                    vec![Err(DirError::BadShard {
                        cid: "(worker)".into(),
                        reason: "shard loader panicked".into(),
                    })]
                })
            })
            .collect()
    })
}

fn list_into(
    store: &dyn Blockstore,
    cid: &Cid,
    node: &PbNode,
    geometry: Geometry,
    depth: usize,
    out: &mut Vec<DirEntry>,
) -> Result<(), DirError> {
    if depth >= geometry.max_depth() {
        return Err(DirError::BadShard {
            cid: cid_string(cid),
            reason: "sharded directory too deep".into(),
        });
    }
    for link in &node.links {
        let name = link.name();
        if name.len() < geometry.hex_width || !name.is_char_boundary(geometry.hex_width) {
            return Err(DirError::BadShard {
                cid: cid_string(cid),
                reason: format!("link name {name:?} has no bucket prefix"),
            });
        }
    }
    // All child shards of this node are known now: fetch them at once rather
    // than one at a time (cold disks and, later, the network reward that).
    let shard_links: Vec<&Cid> = node
        .links
        .iter()
        .filter(|l| l.name().len() == geometry.hex_width)
        .map(|l| &l.cid)
        .collect();
    let mut children = load_shards(store, &shard_links).into_iter();
    for link in &node.links {
        let name = link.name();
        if name.len() == geometry.hex_width {
            let (child, child_data) = children.next().unwrap_or_else(|| {
                Err(DirError::BadShard {
                    cid: cid_string(&link.cid),
                    reason: "shard was not loaded".into(),
                })
            })?;
            let child_geometry = check_shard(&link.cid, &child_data)?;
            list_into(store, &link.cid, &child, child_geometry, depth + 1, out)?;
        } else {
            out.push(DirEntry {
                name: name[geometry.hex_width..].to_string(),
                cid: link.cid,
                size: link.tsize(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_the_spec_vectors() {
        assert_eq!(hamt_key("hello"), 0xcbd8a7b341bd9b02u64.to_be_bytes());
        assert_eq!(hamt_key(""), [0; 8]);
        assert_eq!(hamt_key("470.txt"), 0x006e88df5847e67cu64.to_be_bytes());
        assert_eq!(hamt_key("742.txt"), 0x00ff87d129ae5428u64.to_be_bytes());
        assert_eq!(hamt_key("1.txt"), 0x07c182825cb447e1u64.to_be_bytes());
    }

    #[test]
    fn buckets_are_taken_most_significant_first() {
        let g = Geometry::new(256).unwrap();
        let key = hamt_key("470.txt");
        assert_eq!((g.bucket(&key, 0), g.bucket(&key, 1)), (0x00, 0x6e));
        assert_eq!(g.prefix(0x6e), "6E");
        assert_eq!(Geometry::new(1024).unwrap().hex_width, 3);
        assert!(Geometry::new(2048).is_none() && Geometry::new(100).is_none());
    }
}
