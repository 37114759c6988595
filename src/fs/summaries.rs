//! A persistent cache of node summaries by CID, so that listing a directory
//! needs no child block: a cold `ls -l` of 20 000 entries would otherwise
//! open 20 000 block files.

use crate::codec::cid::{Cid, cid_from_bytes};
use crate::codec::wire::{Reader, put_varint};
use crate::repo::Repo;
use crate::unixfs::dir::DirEntry;
use crate::unixfs::node::Summary;

pub trait SummaryStore: Send + Sync {
    /// One answer per CID, in order; `None` where nothing is known.
    fn load(&self, cids: &[Cid]) -> Vec<Option<Summary>>;
    fn save(&self, items: &[(Cid, Summary)]);
    /// The entries of a (large) directory, if recorded.
    fn load_listing(&self, dir: &Cid) -> Option<Vec<DirEntry>>;
    fn save_listing(&self, dir: &Cid, entries: &[DirEntry]);
}

/// Directories with at least this many entries get their listing recorded.
pub const LISTING_MIN_ENTRIES: usize = 256;

impl SummaryStore for Repo {
    fn load(&self, cids: &[Cid]) -> Vec<Option<Summary>> {
        match self.datastore().and_then(|ds| ds.summaries(cids)) {
            Ok(found) => found
                .into_iter()
                .map(|bytes| bytes.and_then(|b| Summary::decode(&b)))
                .collect(),
            Err(err) => {
                tracing::debug!("summary cache unavailable: {err}");
                vec![None; cids.len()]
            }
        }
    }

    fn save(&self, items: &[(Cid, Summary)]) {
        let encoded: Vec<(Cid, Vec<u8>)> =
            items.iter().map(|(cid, s)| (*cid, s.encode())).collect();
        if let Err(err) = self.datastore().and_then(|ds| ds.put_summaries(&encoded)) {
            tracing::debug!("could not cache summaries: {err}");
        }
    }

    fn load_listing(&self, dir: &Cid) -> Option<Vec<DirEntry>> {
        let bytes = self
            .datastore()
            .ok()?
            .summaries(&[listing_key(dir)])
            .ok()?
            .pop()??;
        decode_listing(&bytes)
    }

    fn save_listing(&self, dir: &Cid, entries: &[DirEntry]) {
        if let Err(err) = self
            .datastore()
            .and_then(|ds| ds.put_summaries(&[(listing_key(dir), encode_listing(entries))]))
        {
            tracing::debug!("could not cache a listing: {err}");
        }
    }
}

/// Listings share the summaries table under a key no block CID can have:
/// the directory's multihash wrapped in a CIDv1 of a private-use codec.
/// MFS attributes beside the DAG (see `fs::mfs::attrs`), in the same
/// per-CID table under their own private codec.
impl crate::fs::mfs::AttrStore for Repo {
    fn load(&self, dir: &Cid) -> Option<Vec<(String, crate::fs::mfs::SavedAttr)>> {
        let bytes = self
            .datastore()
            .ok()?
            .summaries(&[attrs_key(dir)])
            .ok()?
            .pop()??;
        crate::fs::mfs::decode_attrs(&bytes)
    }

    fn save(&self, dir: &Cid, entries: &[(String, crate::fs::mfs::SavedAttr)]) {
        let encoded = crate::fs::mfs::encode_attrs(entries);
        if let Err(err) = self
            .datastore()
            .and_then(|ds| ds.put_summaries(&[(attrs_key(dir), encoded)]))
        {
            tracing::warn!("could not record MFS attributes: {err}");
        }
    }
}

fn attrs_key(dir: &Cid) -> Cid {
    const ATTRS_CODEC: u64 = 0x30_0002;
    Cid::new_v1(ATTRS_CODEC, *dir.hash())
}

fn listing_key(dir: &Cid) -> Cid {
    const LISTING_CODEC: u64 = 0x30_0001;
    Cid::new_v1(LISTING_CODEC, *dir.hash())
}

fn encode_listing(entries: &[DirEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, entries.len() as u64);
    for entry in entries {
        let cid = entry.cid.to_bytes();
        put_varint(&mut out, entry.name.len() as u64);
        out.extend_from_slice(entry.name.as_bytes());
        put_varint(&mut out, cid.len() as u64);
        out.extend_from_slice(&cid);
        put_varint(&mut out, entry.size);
    }
    out
}

fn decode_listing(bytes: &[u8]) -> Option<Vec<DirEntry>> {
    let mut r = Reader::new(bytes);
    let count = r.varint().ok()?;
    let mut entries = Vec::with_capacity(count.min(1 << 20) as usize);
    for _ in 0..count {
        let name = String::from_utf8(r.bytes().ok()?.to_vec()).ok()?;
        let cid = cid_from_bytes(r.bytes().ok()?).ok()?;
        let size = r.varint().ok()?;
        entries.push(DirEntry { name, cid, size });
    }
    r.is_empty().then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cid::parse_cid;

    #[test]
    fn listings_round_trip_and_reject_garbage() {
        let cid = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        let entries = vec![
            DirEntry {
                name: "a b".into(),
                cid,
                size: 4,
            },
            DirEntry {
                name: "ünï".into(),
                cid,
                size: u64::MAX,
            },
        ];
        let bytes = encode_listing(&entries);
        assert_eq!(decode_listing(&bytes), Some(entries));
        assert_eq!(decode_listing(&bytes[..bytes.len() - 1]), None);
        assert_eq!(decode_listing(&[5]), None);
        assert_ne!(
            listing_key(&cid).to_bytes(),
            crate::codec::cid::to_v1(&cid).to_bytes()
        );
    }
}
