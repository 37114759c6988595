//! The CIDs a block links to, for the codecs we walk: dag-pb (links in
//! stored order), raw (none) and dag-cbor (tag-42 links in document order).
//! Other codecs are leaves to us: an empty list, not an error, so walks
//! (gc, pins, export) still cover everything we can understand.

use super::CodecError;
use super::cid::{Cid, DAG_CBOR, DAG_PB};
use super::{cbor, dagpb::PbNode};

pub fn links_of(cid: &Cid, block: &[u8]) -> Result<Vec<Cid>, CodecError> {
    match cid.codec() {
        DAG_PB => Ok(PbNode::decode(block)?
            .links
            .into_iter()
            .map(|l| l.cid)
            .collect()),
        DAG_CBOR => {
            let mut out = Vec::new();
            cbor::links(&cbor::decode(block)?, &mut out);
            Ok(out)
        }
        _ => Ok(Vec::new()),
    }
}
