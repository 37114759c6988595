//! `?format=dag-json|dag-cbor` (and `json|cbor`): a block as the other
//! IPLD codec, as Kubo converts it. dag-pb becomes its data-model form
//! (`{"Data": bytes, "Links": [{"Hash", "Name", "Tsize"}]}`), raw a single
//! bytes value; a block already in the asked codec is served as stored.

use crate::codec::cbor::{self, Item};
use crate::codec::cid::{Cid, DAG_CBOR, DAG_PB, RAW};
use crate::codec::dagjson;
use crate::codec::dagpb::PbNode;

pub const DAG_JSON: u64 = 0x0129;
pub const JSON: u64 = 0x0200;
pub const CBOR: u64 = 0x51;

/// The codecs a block can be asked as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    DagJson,
    DagCbor,
    /// Plain JSON / CBOR: only blocks already in that form (no conversion).
    Json,
    Cbor,
}

impl Target {
    pub fn media_type(self) -> &'static str {
        match self {
            Target::DagJson => "application/vnd.ipld.dag-json",
            Target::DagCbor => "application/vnd.ipld.dag-cbor",
            Target::Json => "application/json",
            Target::Cbor => "application/cbor",
        }
    }

    /// The `?format=` word, also the ETag's suffix.
    pub fn format(self) -> &'static str {
        match self {
            Target::DagJson => "dag-json",
            Target::DagCbor => "dag-cbor",
            Target::Json => "json",
            Target::Cbor => "cbor",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Target::DagJson | Target::Json => "json",
            Target::DagCbor | Target::Cbor => "cbor",
        }
    }

    /// Block codecs served as they are for this target.
    fn as_stored(self) -> &'static [u64] {
        match self {
            Target::DagJson => &[DAG_JSON],
            Target::DagCbor => &[DAG_CBOR],
            Target::Json => &[JSON, DAG_JSON],
            Target::Cbor => &[CBOR, DAG_CBOR],
        }
    }
}

/// Why a block could not be given in the asked codec: the status is the
/// caller's (400 for no conversion, 500 for a block that does not decode).
#[derive(Debug, PartialEq, Eq)]
pub enum ConvertError {
    NotSupported(String),
    Undecodable(String),
}

fn pb_item(block: &[u8]) -> Result<Item, ConvertError> {
    let node = PbNode::decode(block).map_err(|e| ConvertError::Undecodable(e.to_string()))?;
    let links = node
        .links
        .iter()
        .map(|link| {
            let mut fields = vec![("Hash".to_string(), Item::Link(link.cid))];
            if let Some(name) = &link.name {
                fields.push(("Name".into(), Item::Text(name.clone())));
            }
            if let Some(size) = link.tsize {
                fields.push(("Tsize".into(), Item::Uint(size)));
            }
            Item::Map(fields)
        })
        .collect();
    let mut fields = Vec::new();
    if let Some(data) = node.data {
        fields.push(("Data".to_string(), Item::Bytes(data)));
    }
    fields.push(("Links".into(), Item::List(links)));
    Ok(Item::Map(fields))
}

/// The block `cid` (bytes `block`) in the `target` codec.
pub fn convert(cid: &Cid, block: Vec<u8>, target: Target) -> Result<Vec<u8>, ConvertError> {
    let codec = cid.codec();
    if target.as_stored().contains(&codec) {
        return Ok(block);
    }
    let undecodable = |e: crate::codec::CodecError| ConvertError::Undecodable(e.to_string());
    let item = match (target, codec) {
        (Target::DagJson | Target::DagCbor, DAG_PB) => pb_item(&block)?,
        (Target::DagJson | Target::DagCbor, RAW) => Item::Bytes(block),
        (Target::DagJson, DAG_CBOR) => cbor::decode(&block).map_err(undecodable)?,
        (Target::DagCbor, DAG_JSON) => {
            let value: serde_json::Value = serde_json::from_slice(&block)
                .map_err(|e| ConvertError::Undecodable(e.to_string()))?;
            dagjson::from_json(&value).map_err(undecodable)?
        }
        _ => {
            return Err(ConvertError::NotSupported(format!(
                "format {:?} requested but the block has codec 0x{codec:x}: this conversion \
                 is not supported, fetch the raw block with ?format=raw and convert it \
                 client-side",
                target.format()
            )));
        }
    };
    Ok(match target {
        Target::DagJson => dagjson::to_json(&item).to_string().into_bytes(),
        _ => cbor::encode(&item),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cid::CidBuilder;

    #[test]
    fn dag_pb_and_raw_convert_both_ways() {
        let file = CidBuilder::v1().cid_of(RAW, b"hello");
        let raw_json = convert(&file, b"hello".to_vec(), Target::DagJson).unwrap();
        assert_eq!(raw_json, br#"{"/":{"bytes":"aGVsbG8"}}"#);
        let raw_cbor = convert(&file, b"hello".to_vec(), Target::DagCbor).unwrap();
        assert_eq!(raw_cbor, b"\x45hello");
        // An empty UnixFS directory: Data 0x0801, no links.
        let dir = CidBuilder::v1().cid_of(DAG_PB, b"\x0a\x02\x08\x01");
        let json = convert(&dir, b"\x0a\x02\x08\x01".to_vec(), Target::DagJson).unwrap();
        assert_eq!(json, br#"{"Data":{"/":{"bytes":"CAE"}},"Links":[]}"#);
        let as_cbor = convert(&dir, b"\x0a\x02\x08\x01".to_vec(), Target::DagCbor).unwrap();
        let cbor_cid = CidBuilder::v1().cid_of(DAG_CBOR, &as_cbor);
        let back = convert(&cbor_cid, as_cbor, Target::DagJson).unwrap();
        assert_eq!(back, json);
        // Already in the asked codec: as stored.
        assert_eq!(
            convert(&cbor_cid, vec![1, 2], Target::DagCbor).unwrap(),
            vec![1, 2]
        );
    }

    #[test]
    fn what_cannot_be_converted_says_so() {
        let file = CidBuilder::v1().cid_of(RAW, b"x");
        assert!(matches!(
            convert(&file, b"x".to_vec(), Target::Json),
            Err(ConvertError::NotSupported(_))
        ));
        let bad = CidBuilder::v1().cid_of(DAG_PB, b"\xff\xff");
        assert!(matches!(
            convert(&bad, b"\xff\xff".to_vec(), Target::DagJson),
            Err(ConvertError::Undecodable(_))
        ));
    }
}
