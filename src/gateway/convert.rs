//! `?format=dag-json|dag-cbor` (and `json|cbor`): a block in its own codec
//! is served as stored; any other is refused (406, IPIP-524, Kubo's
//! default) unless the operator allows conversions
//! (`Gateway.AllowCodecConversion`), which are Kubo's: dag-pb becomes its
//! data-model form (`{"Data": bytes, "Links": [{"Hash", "Name", "Tsize"}]}`),
//! raw a single bytes value, dag-cbor and dag-json each other. Plain JSON
//! and CBOR are never converted to.

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
    /// What a block of `codec` is served as by default (none for UnixFS).
    pub fn of_codec(codec: u64) -> Option<Target> {
        Some(match codec {
            DAG_CBOR => Target::DagCbor,
            DAG_JSON => Target::DagJson,
            JSON => Target::Json,
            CBOR => Target::Cbor,
            _ => return None,
        })
    }

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
/// caller's (406 for no conversion, 500 for a block that does not decode).
#[derive(Debug, PartialEq, Eq)]
pub enum ConvertError {
    NotSupported(String),
    Undecodable(String),
}

/// Whether a block of `codec` is served as it is stored for `target`.
pub fn as_stored(codec: u64, target: Target) -> bool {
    target.as_stored().contains(&codec)
}

/// A DAG-JSON or DAG-CBOR block decoded to the data model (for its HTML
/// page).
pub fn decode(cid: &Cid, block: &[u8]) -> Result<Item, ConvertError> {
    let undecodable = |e: crate::codec::CodecError| ConvertError::Undecodable(e.to_string());
    match cid.codec() {
        DAG_CBOR => cbor::decode(block).map_err(undecodable),
        DAG_JSON => {
            let value: serde_json::Value = serde_json::from_slice(block)
                .map_err(|e| ConvertError::Undecodable(e.to_string()))?;
            dagjson::from_json(&value).map_err(undecodable)
        }
        codec => Err(ConvertError::NotSupported(format!(
            "codec 0x{codec:x} is not shown as a page"
        ))),
    }
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

/// The block `cid` (bytes `block`) in the `target` codec: as stored when
/// it is in that codec, else converted when `conversions` allows.
pub fn convert(
    cid: &Cid,
    block: Vec<u8>,
    target: Target,
    conversions: bool,
) -> Result<Vec<u8>, ConvertError> {
    let codec = cid.codec();
    if as_stored(codec, target) {
        return Ok(block);
    }
    let refused = || {
        ConvertError::NotSupported(format!(
            "format {:?} requested but the block has codec 0x{codec:x}: codec conversion \
             is not supported, fetch the raw block with ?format=raw and convert it \
             client-side",
            target.format()
        ))
    };
    if !conversions {
        return Err(refused());
    }
    let item = match (target, codec) {
        (Target::DagJson | Target::DagCbor, DAG_PB) => pb_item(&block)?,
        (Target::DagJson | Target::DagCbor, RAW) => Item::Bytes(block),
        (Target::DagJson, DAG_CBOR) | (Target::DagCbor, DAG_JSON) => decode(cid, &block)?,
        _ => return Err(refused()),
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
    fn ipld_codecs_have_their_media_types() {
        let media = |codec| Target::of_codec(codec).map(Target::media_type);
        assert_eq!(media(0x71), Some("application/vnd.ipld.dag-cbor"));
        assert_eq!(media(0x0129), Some("application/vnd.ipld.dag-json"));
        assert_eq!(media(0x51), Some("application/cbor"));
        assert_eq!(media(0x0200), Some("application/json"));
        assert_eq!(media(0x70), None, "dag-pb is UnixFS or nothing");
    }

    #[test]
    fn dag_pb_and_raw_convert_both_ways() {
        let file = CidBuilder::v1().cid_of(RAW, b"hello");
        let convert = |cid: &Cid, block: Vec<u8>, target| convert(cid, block, target, true);
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
            convert(&file, b"x".to_vec(), Target::Json, true),
            Err(ConvertError::NotSupported(_))
        ));
        let bad = CidBuilder::v1().cid_of(DAG_PB, b"\xff\xff");
        assert!(matches!(
            convert(&bad, b"\xff\xff".to_vec(), Target::DagJson, true),
            Err(ConvertError::Undecodable(_))
        ));
    }

    #[test]
    fn without_conversions_only_the_own_codec_is_served() {
        let cbor = CidBuilder::v1().cid_of(DAG_CBOR, b"\xa0");
        assert_eq!(
            convert(&cbor, b"\xa0".to_vec(), Target::DagCbor, false),
            Ok(b"\xa0".to_vec())
        );
        assert_eq!(
            convert(&cbor, b"\xa0".to_vec(), Target::Cbor, false),
            Ok(b"\xa0".to_vec())
        );
        for target in [Target::DagJson, Target::Json] {
            let refused = convert(&cbor, b"\xa0".to_vec(), target, false).unwrap_err();
            let ConvertError::NotSupported(why) = refused else {
                panic!("{refused:?}");
            };
            assert!(why.contains("?format=raw"), "{why}");
        }
        let file = CidBuilder::v1().cid_of(RAW, b"x");
        assert!(convert(&file, b"x".to_vec(), Target::DagJson, false).is_err());
        let json = CidBuilder::v1().cid_of(JSON, b"{}");
        assert_eq!(
            convert(&json, b"{}".to_vec(), Target::Json, false),
            Ok(b"{}".to_vec())
        );
    }
}
