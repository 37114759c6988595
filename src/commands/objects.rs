//! `object get|stat|data|links`: DAG-PB nodes as Kubo's legacy commands
//! show them.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{CommandError, Core, failed};
use crate::blockstore::get_required;
use crate::codec::cid::DAG_PB;
use crate::codec::dagpb::PbNode;
use crate::codec::{Cid, cid_string};

/// `object/stat`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectStat {
    pub hash: String,
    pub num_links: u64,
    pub block_size: u64,
    pub links_size: u64,
    pub data_size: u64,
    pub cumulative_size: u64,
}

/// `object/links`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectLinks {
    pub hash: String,
    pub links: Vec<ObjectLink>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ObjectLink {
    pub name: String,
    pub hash: String,
    pub size: u64,
}

fn load_pb(core: &Core, path: &str) -> Result<(Cid, PbNode, usize), CommandError> {
    let cid = core.resolve_cid(path)?;
    if cid.codec() != DAG_PB {
        return Err(failed(format!(
            "{} is not a dag-pb object",
            cid_string(&cid)
        )));
    }
    let block = get_required(core.store, &cid).map_err(failed)?;
    Ok((cid, PbNode::decode(&block).map_err(failed)?, block.len()))
}

pub fn get(core: &Core, path: &str) -> Result<serde_json::Value, CommandError> {
    let (_, node, _) = load_pb(core, path)?;
    let links: Vec<_> = node
        .links
        .iter()
        .map(|l| json!({ "Name": l.name(), "Hash": cid_string(&l.cid), "Size": l.tsize() }))
        .collect();
    let data = String::from_utf8_lossy(node.data.as_deref().unwrap_or_default()).into_owned();
    Ok(json!({ "Links": links, "Data": data }))
}

pub fn stat(core: &Core, path: &str) -> Result<ObjectStat, CommandError> {
    let (cid, node, block_len) = load_pb(core, path)?;
    let data_len = node.data.as_ref().map_or(0, Vec::len);
    Ok(ObjectStat {
        hash: cid_string(&cid),
        num_links: node.links.len() as u64,
        block_size: block_len as u64,
        links_size: (block_len - data_len) as u64,
        data_size: data_len as u64,
        cumulative_size: node.cumulative_size(block_len),
    })
}

pub fn data(core: &Core, path: &str) -> Result<Vec<u8>, CommandError> {
    let (_, node, _) = load_pb(core, path)?;
    Ok(node.data.unwrap_or_default())
}

pub fn links(core: &Core, path: &str) -> Result<ObjectLinks, CommandError> {
    let (cid, node, _) = load_pb(core, path)?;
    Ok(ObjectLinks {
        hash: cid_string(&cid),
        links: node
            .links
            .iter()
            .map(|l| ObjectLink {
                name: l.name().to_string(),
                hash: cid_string(&l.cid),
                size: l.tsize(),
            })
            .collect(),
    })
}
