//! `block get|put|stat|rm`.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{CommandError, Core, bad_argument, failed};
use crate::blockstore::{Blockstore, get_required};
use crate::codec::cid::{CidBuilder, DAG_CBOR, DAG_PB, HashFn, RAW, Version};
use crate::codec::dagpb::PbNode;
use crate::codec::{cid_string, parse_cid};
use crate::repo::PinKind;

/// `block/put` and `block/stat`.
#[derive(Debug, Serialize, Deserialize)]
pub struct BlockStat {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Size")]
    pub size: u64,
}

/// One line of `block/rm`: an empty `Error` means removed.
#[derive(Debug, Serialize, Deserialize)]
pub struct BlockRemoved {
    #[serde(rename = "Hash")]
    pub hash: String,
    #[serde(rename = "Error", default)]
    pub error: String,
}

pub fn codec_code(name: &str) -> Result<u64, CommandError> {
    Ok(match name {
        "raw" => RAW,
        "dag-pb" | "protobuf" => DAG_PB,
        "dag-cbor" | "cbor" => DAG_CBOR,
        other => return Err(bad_argument(format!("unknown codec {other}"))),
    })
}

pub fn get(core: &Core, path: &str) -> Result<Vec<u8>, CommandError> {
    let cid = core.resolve_cid(path)?;
    get_required(core.store, &cid).map_err(failed)
}

pub fn put(
    core: &Core,
    data: &[u8],
    codec: &str,
    hash: &str,
    pin: bool,
) -> Result<BlockStat, CommandError> {
    let codec = codec_code(codec)?;
    if codec == DAG_PB {
        PbNode::decode(data)
            .map_err(|e| bad_argument(format!("the input is not valid DAG-PB: {e}")))?;
    }
    let builder = CidBuilder {
        version: Version::V1,
        hash: HashFn::parse(hash).map_err(bad_argument)?,
        inline_limit: None,
    };
    let cid = builder.cid_of(codec, data);
    core.store_block(&cid, data, pin)?;
    Ok(BlockStat {
        key: cid_string(&cid),
        size: data.len() as u64,
    })
}

pub fn stat(core: &Core, path: &str) -> Result<BlockStat, CommandError> {
    let cid = core.resolve_cid(path)?;
    let data = get_required(core.store, &cid).map_err(failed)?;
    Ok(BlockStat {
        key: cid_string(&cid),
        size: data.len() as u64,
    })
}

/// Removes blocks no pin holds, directly or through a recursive pin.
/// With `force`, blocks already absent are not errors.
pub fn remove(
    core: &Core,
    cids: &[String],
    force: bool,
) -> Result<Vec<BlockRemoved>, CommandError> {
    let cids = cids
        .iter()
        .map(|text| parse_cid(text).map_err(|e| bad_argument(format!("{text}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let pins = core
        .repo
        .datastore()
        .and_then(|ds| ds.pins())
        .map_err(failed)?;
    let pinned: HashSet<Vec<u8>> = pins.iter().map(|(c, _)| c.hash().to_bytes()).collect();
    let recursive: Vec<_> = pins
        .iter()
        .filter(|(_, kind)| *kind == PinKind::Recursive)
        .map(|(cid, _)| *cid)
        .collect();
    let held = crate::dag::reachable(core.repo.blocks(), &recursive).map_err(failed)?;
    let mut results = Vec::new();
    for cid in cids {
        let key = cid.hash().to_bytes();
        let error = if pinned.contains(&key) {
            "pinned".to_string()
        } else if held.contains(&key) {
            "pinned indirectly".to_string()
        } else if core.repo.blocks().delete(&cid).map_err(failed)? {
            String::new()
        } else if force {
            continue;
        } else {
            "block not found".to_string()
        };
        results.push(BlockRemoved {
            hash: cid_string(&cid),
            error,
        });
    }
    Ok(results)
}
