//! `dag get|put|import|export|stat`.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{CidLink, CommandError, Core, bad_argument, failed};
use crate::blockstore::get_required;
use crate::codec::cbor::Item;
use crate::codec::cid::{CidBuilder, DAG_CBOR, DAG_PB, RAW};
use crate::codec::dagpb::{PbLink, PbNode};
use crate::codec::{cbor, cid_string, dagjson, parse_cid};
use crate::dag;
use crate::repo::PinKind;
use crate::unixfs::dir;

/// `dag/put`.
#[derive(Debug, Serialize, Deserialize)]
pub struct DagPut {
    #[serde(rename = "Cid")]
    pub cid: CidLink,
}

/// One root of `dag/import`: pinned unless `PinErrorMsg` says why not.
#[derive(Debug, Serialize, Deserialize)]
pub struct ImportedRoot {
    #[serde(rename = "Root")]
    pub root: RootPin,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RootPin {
    #[serde(rename = "Cid")]
    pub cid: CidLink,
    #[serde(rename = "PinErrorMsg", default)]
    pub pin_error: String,
}

/// `dag/stat`.
#[derive(Debug, Serialize, Deserialize)]
pub struct DagStat {
    #[serde(rename = "Size")]
    pub size: u64,
    #[serde(rename = "NumBlocks")]
    pub blocks: u64,
}

/// The node or value at `path` as DAG-JSON. The path is walked as Kubo
/// walks it: through dag-pb by UnixFS link names (HAMT shards included),
/// through dag-cbor by map keys and list indices, and on across every link
/// it meets, so a path that ends on a link gives the linked node.
pub fn get(core: &Core, path: &str) -> Result<serde_json::Value, CommandError> {
    let path = core.content_path(path)?;
    let mut cid = path.root;
    let mut segments = path.components.iter();
    'blocks: loop {
        let block = get_required(core.store, &cid).map_err(failed)?;
        match cid.codec() {
            DAG_CBOR => {
                let item = cbor::decode(&block).map_err(failed)?;
                let mut at = &item;
                for segment in segments.by_ref() {
                    at = cbor_field(at, segment).ok_or_else(|| {
                        failed(format!("no field {segment:?} in {}", cid_string(&cid)))
                    })?;
                    if let Item::Link(next) = at {
                        cid = *next;
                        continue 'blocks;
                    }
                }
                return Ok(dagjson::to_json(at));
            }
            DAG_PB => match segments.next() {
                None => return Ok(pb_as_dag_json(&PbNode::decode(&block).map_err(failed)?)),
                Some(name) => {
                    cid = dir::lookup(core.store, &cid, name)
                        .map_err(failed)?
                        .ok_or_else(|| {
                            failed(format!("no link named {name:?} under {}", cid_string(&cid)))
                        })?
                        .cid;
                }
            },
            RAW => {
                return match segments.next() {
                    None => Ok(json!({ "/": { "bytes": base64(&block) } })),
                    Some(name) => Err(failed(format!(
                        "no field {name:?} in raw block {}",
                        cid_string(&cid)
                    ))),
                };
            }
            other => {
                return Err(failed(format!(
                    "dag get of codec 0x{other:x} is not supported"
                )));
            }
        }
    }
}

/// One step into a dag-cbor value: a map's key or a list's index.
fn cbor_field<'a>(item: &'a Item, segment: &str) -> Option<&'a Item> {
    match item {
        Item::Map(_) => cbor::map_get(item, segment),
        Item::List(items) => items.get(segment.parse::<usize>().ok()?),
        _ => None,
    }
}

/// Stores `data`, read as `input` and stored as `store_as`.
pub fn put(
    core: &Core,
    data: Vec<u8>,
    input: &str,
    store_as: &str,
    pin: bool,
) -> Result<DagPut, CommandError> {
    let json = || -> Result<serde_json::Value, CommandError> {
        serde_json::from_slice(&data)
            .map_err(|e| bad_argument(format!("the input is not JSON: {e}")))
    };
    let (codec, block) = match (input, store_as) {
        ("dag-json" | "json", "dag-cbor") => (
            DAG_CBOR,
            cbor::encode(&dagjson::from_json(&json()?).map_err(bad_argument)?),
        ),
        ("dag-json" | "json", "dag-pb") => (DAG_PB, pb_from_dag_json(&json()?)?.encode()),
        ("dag-cbor", "dag-cbor") => (
            DAG_CBOR,
            cbor::encode(&cbor::decode(&data).map_err(bad_argument)?),
        ),
        ("dag-pb", "dag-pb") => {
            PbNode::decode(&data)
                .map_err(|e| bad_argument(format!("the input is not valid DAG-PB: {e}")))?;
            (DAG_PB, data)
        }
        ("raw", "raw") => (RAW, data),
        (i, s) => {
            return Err(bad_argument(format!(
                "dag put from {i} to {s} is not supported (dag-json or dag-cbor → dag-cbor, dag-json → dag-pb, dag-pb, raw)"
            )));
        }
    };
    let cid = CidBuilder::v1().cid_of(codec, &block);
    core.store_block(&cid, &block, pin)?;
    Ok(DagPut {
        cid: CidLink::new(&cid),
    })
}

/// Imports one CAR; with `pin_roots`, pins each root whose DAG is complete.
pub fn import(
    core: &Core,
    car: impl std::io::Read,
    pin_roots: bool,
) -> Result<Vec<ImportedRoot>, CommandError> {
    // Until the roots are pinned, what is stored is rooted nowhere.
    let writing = core.repo.gc_lock().pin_guard();
    let imported = dag::import_car(core.store, std::io::BufReader::new(car)).map_err(failed)?;
    core.store.sync().map_err(failed)?;
    let mut results = Vec::new();
    if !pin_roots {
        return Ok(results);
    }
    for root in &imported.roots {
        let pin_error = if let Ok(blocks) = dag::reachable(core.store, std::slice::from_ref(root)) {
            core.repo
                .datastore()
                .and_then(|ds| ds.set_pin(root, PinKind::Recursive))
                .map_err(failed)?;
            core.repo.gc_lock().rooted(&writing, &blocks);
            String::new()
        } else {
            "the DAG is incomplete".to_string()
        };
        results.push(ImportedRoot {
            root: RootPin {
                cid: CidLink::new(root),
                pin_error,
            },
        });
    }
    Ok(results)
}

pub fn export(core: &Core, path: &str, out: impl std::io::Write) -> Result<(), CommandError> {
    let cid = core.resolve_cid(path)?;
    dag::export_car(core.store, &cid, out).map_err(failed)
}

pub fn stat(core: &Core, path: &str) -> Result<DagStat, CommandError> {
    let cid = core.resolve_cid(path)?;
    let stat = dag::stat(core.store, &cid).map_err(failed)?;
    Ok(DagStat {
        size: stat.bytes,
        blocks: stat.blocks,
    })
}

pub fn base64(bytes: &[u8]) -> String {
    multibase::encode(multibase::Base::Base64, bytes)[1..].to_string()
}

fn pb_as_dag_json(node: &PbNode) -> serde_json::Value {
    let links: Vec<_> = node
        .links
        .iter()
        .map(|l| {
            let mut link = serde_json::Map::new();
            link.insert("Hash".into(), json!({ "/": cid_string(&l.cid) }));
            if let Some(name) = &l.name {
                link.insert("Name".into(), json!(name));
            }
            if let Some(tsize) = l.tsize {
                link.insert("Tsize".into(), json!(tsize));
            }
            serde_json::Value::Object(link)
        })
        .collect();
    let mut obj = serde_json::Map::new();
    if let Some(data) = &node.data {
        obj.insert("Data".into(), json!({ "/": { "bytes": base64(data) } }));
    }
    obj.insert("Links".into(), serde_json::Value::Array(links));
    serde_json::Value::Object(obj)
}

fn pb_from_dag_json(value: &serde_json::Value) -> Result<PbNode, CommandError> {
    let mut node = PbNode::default();
    if let Some(data) = value.get("Data") {
        let text = data
            .pointer("/~1/bytes")
            .and_then(|b| b.as_str())
            .ok_or_else(|| bad_argument("Data must be {\"/\": {\"bytes\": …}}"))?;
        node.data = Some(
            multibase::decode(format!("m{text}"))
                .map_err(|e| bad_argument(format!("Data bytes are not base64: {e}")))?
                .1,
        );
    }
    for link in value
        .get("Links")
        .and_then(|l| l.as_array())
        .into_iter()
        .flatten()
    {
        let hash = link
            .pointer("/Hash/~1")
            .and_then(|h| h.as_str())
            .ok_or_else(|| bad_argument("link without Hash"))?;
        node.links.push(PbLink {
            cid: parse_cid(hash).map_err(bad_argument)?,
            name: link
                .get("Name")
                .and_then(|n| n.as_str())
                .map(str::to_string),
            tsize: link.get("Tsize").and_then(|t| t.as_u64()),
        });
    }
    node.sort_links();
    Ok(node)
}
