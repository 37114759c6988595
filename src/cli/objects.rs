//! Block- and node-level commands: `block`, `dag`, `object`.

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use rsipfs::blockstore::{Blockstore, get_required};
use rsipfs::codec::cid::{CidBuilder, DAG_CBOR, DAG_PB, HashFn, RAW, Version};
use rsipfs::codec::dagpb::PbNode;
use rsipfs::codec::{IpfsPath, cbor, cid_string, dagjson, parse_cid};
use rsipfs::dag;
use rsipfs::repo::PinKind;
use rsipfs::unixfs::resolve::resolve;
use serde_json::json;

use super::args::{BlockCmd, DagCmd, ObjectCmd};
use super::{Ctx, finish, stdout};

pub fn block(ctx: &Ctx, cmd: BlockCmd) -> Result<()> {
    let repo = ctx.open_repo()?;
    let store = repo.blocks();
    let mut out = stdout();
    match cmd {
        BlockCmd::Get { cid } => {
            let cid = resolve_cid(&repo, &cid)?;
            out.write_all(&get_required(store, &cid)?)?;
        }
        BlockCmd::Put {
            file,
            cid_codec,
            mhtype,
            pin,
        } => {
            let data = read_input(file.as_ref())?;
            let codec = codec_code(&cid_codec)?;
            if codec == DAG_PB {
                PbNode::decode(&data).context("the input is not valid DAG-PB")?;
            }
            let builder = CidBuilder {
                version: Version::V1,
                hash: HashFn::parse(&mhtype)?,
                inline_limit: None,
            };
            let cid = builder.cid_of(codec, &data);
            store.put(&cid, &data)?;
            store.sync()?;
            if pin {
                repo.datastore().set_pin(&cid, PinKind::Recursive)?;
            }
            writeln!(out, "{}", cid_string(&cid))?;
        }
        BlockCmd::Stat { cid } => {
            let cid = resolve_cid(&repo, &cid)?;
            let data = get_required(store, &cid)?;
            writeln!(out, "Key: {}\nSize: {}", cid_string(&cid), data.len())?;
        }
        BlockCmd::Rm { cids, force, quiet } => {
            let mut failed = false;
            for text in cids {
                let cid = parse_cid(&text)?;
                let pinned = repo
                    .datastore()
                    .pins()?
                    .iter()
                    .any(|(c, _)| c.hash() == cid.hash());
                if pinned {
                    eprintln!("cannot remove {text}: pinned");
                    failed = true;
                } else if store.delete(&cid)? {
                    if !quiet {
                        writeln!(out, "removed {}", cid_string(&cid))?;
                    }
                } else if !force {
                    eprintln!("cannot remove {text}: block not found");
                    failed = true;
                }
            }
            if failed {
                finish(out)?;
                bail!("some blocks were not removed");
            }
        }
    }
    finish(out)
}

pub fn dag(ctx: &Ctx, cmd: DagCmd) -> Result<()> {
    let repo = ctx.open_repo()?;
    let store = repo.blocks();
    let mut out = stdout();
    match cmd {
        DagCmd::Get { path } => {
            let cid = resolve_cid(&repo, &path)?;
            let block = get_required(store, &cid)?;
            let value = match cid.codec() {
                DAG_PB => pb_as_dag_json(&PbNode::decode(&block)?),
                DAG_CBOR => dagjson::to_json(&cbor::decode(&block)?),
                RAW => json!({ "/": { "bytes": base64(&block) } }),
                other => bail!("dag get of codec 0x{other:x} is not supported"),
            };
            writeln!(out, "{value}")?;
        }
        DagCmd::Put {
            file,
            input_codec,
            store_codec,
            pin,
        } => {
            let data = read_input(file.as_ref())?;
            let json = || -> Result<serde_json::Value> {
                serde_json::from_slice(&data).context("the input is not JSON")
            };
            let (codec, block) = match (input_codec.as_str(), store_codec.as_str()) {
                ("dag-json" | "json", "dag-cbor") => {
                    (DAG_CBOR, cbor::encode(&dagjson::from_json(&json()?)?))
                }
                ("dag-json" | "json", "dag-pb") => (DAG_PB, pb_from_dag_json(&json()?)?.encode()),
                ("dag-cbor", "dag-cbor") => (DAG_CBOR, cbor::encode(&cbor::decode(&data)?)),
                ("dag-pb", "dag-pb") => {
                    PbNode::decode(&data).context("the input is not valid DAG-PB")?;
                    (DAG_PB, data)
                }
                ("raw", "raw") => (RAW, data),
                (i, s) => bail!(
                    "dag put from {i} to {s} is not supported (dag-json or dag-cbor → dag-cbor, dag-json → dag-pb, dag-pb, raw)"
                ),
            };
            let cid = CidBuilder::v1().cid_of(codec, &block);
            store.put(&cid, &block)?;
            store.sync()?;
            if pin {
                repo.datastore().set_pin(&cid, PinKind::Recursive)?;
            }
            writeln!(out, "{}", cid_string(&cid))?;
        }
        DagCmd::Export { path } => {
            let cid = resolve_cid(&repo, &path)?;
            dag::export_car(store, &cid, &mut out)?;
        }
        DagCmd::Import { files, pin_roots } => {
            for path in files {
                let file =
                    File::open(&path).with_context(|| format!("opening {}", path.display()))?;
                let imported = dag::import_car(store, std::io::BufReader::new(file))
                    .with_context(|| format!("importing {}", path.display()))?;
                store.sync()?;
                if pin_roots {
                    for root in &imported.roots {
                        if dag::reachable(store, std::slice::from_ref(root)).is_ok() {
                            repo.datastore().set_pin(root, PinKind::Recursive)?;
                            writeln!(out, "pinned root {} success", cid_string(root))?;
                        } else {
                            writeln!(
                                out,
                                "pinned root {} FAILED: the DAG is incomplete",
                                cid_string(root)
                            )?;
                        }
                    }
                }
            }
        }
        DagCmd::Stat { path } => {
            let cid = resolve_cid(&repo, &path)?;
            let stat = dag::stat(store, &cid)?;
            writeln!(out, "Size: {}, NumBlocks: {}", stat.bytes, stat.blocks)?;
        }
    }
    finish(out)
}

pub fn object(ctx: &Ctx, cmd: ObjectCmd) -> Result<()> {
    let repo = ctx.open_repo()?;
    let store = repo.blocks();
    let mut out = stdout();
    let load_pb = |path: &str| -> Result<(rsipfs::codec::Cid, PbNode, usize)> {
        let cid = resolve_cid(&repo, path)?;
        if cid.codec() != DAG_PB {
            bail!("{} is not a dag-pb object", cid_string(&cid));
        }
        let block = get_required(store, &cid)?;
        Ok((cid, PbNode::decode(&block)?, block.len()))
    };
    match cmd {
        ObjectCmd::Get { path } => {
            let (_, node, _) = load_pb(&path)?;
            let links: Vec<_> = node
                .links
                .iter()
                .map(|l| json!({ "Name": l.name(), "Hash": cid_string(&l.cid), "Size": l.tsize() }))
                .collect();
            let data =
                String::from_utf8_lossy(node.data.as_deref().unwrap_or_default()).into_owned();
            writeln!(out, "{}", json!({ "Links": links, "Data": data }))?;
        }
        ObjectCmd::Stat { path } => {
            let (_, node, block_len) = load_pb(&path)?;
            let data_len = node.data.as_ref().map_or(0, Vec::len);
            writeln!(out, "NumLinks:       {}", node.links.len())?;
            writeln!(out, "BlockSize:      {block_len}")?;
            writeln!(out, "LinksSize:      {}", block_len - data_len)?;
            writeln!(out, "DataSize:       {data_len}")?;
            writeln!(out, "CumulativeSize: {}", node.cumulative_size(block_len))?;
        }
        ObjectCmd::Data { path } => {
            let (_, node, _) = load_pb(&path)?;
            out.write_all(node.data.as_deref().unwrap_or_default())?;
        }
        ObjectCmd::Links { path, headers } => {
            let (_, node, _) = load_pb(&path)?;
            if headers {
                writeln!(out, "Hash Size Name")?;
            }
            for link in &node.links {
                writeln!(
                    out,
                    "{} {} {}",
                    cid_string(&link.cid),
                    link.tsize(),
                    link.name()
                )?;
            }
        }
    }
    finish(out)
}

/// A CID or `/ipfs/` path argument → the CID it names.
fn resolve_cid(repo: &rsipfs::repo::Repo, text: &str) -> Result<rsipfs::codec::Cid> {
    let path = IpfsPath::parse(text)?;
    if path.components.is_empty() {
        return Ok(path.root);
    }
    Ok(resolve(repo.blocks(), &path)?.cid)
}

fn read_input(file: Option<&PathBuf>) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    match file {
        Some(path) => {
            File::open(path)
                .and_then(|mut f| f.read_to_end(&mut data))
                .with_context(|| format!("reading {}", path.display()))?;
        }
        None => {
            std::io::stdin()
                .lock()
                .read_to_end(&mut data)
                .context("reading standard input")?;
        }
    }
    Ok(data)
}

fn codec_code(name: &str) -> Result<u64> {
    Ok(match name {
        "raw" => RAW,
        "dag-pb" | "protobuf" => DAG_PB,
        "dag-cbor" | "cbor" => DAG_CBOR,
        other => bail!("unknown codec {other}"),
    })
}

fn base64(bytes: &[u8]) -> String {
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

fn pb_from_dag_json(value: &serde_json::Value) -> Result<PbNode> {
    let mut node = PbNode::default();
    if let Some(data) = value.get("Data") {
        let text = data
            .pointer("/~1/bytes")
            .and_then(|b| b.as_str())
            .context("Data must be {\"/\": {\"bytes\": …}}")?;
        node.data = Some(
            multibase::decode(format!("m{text}"))
                .context("Data bytes are not base64")?
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
            .context("link without Hash")?;
        node.links.push(rsipfs::codec::dagpb::PbLink {
            cid: parse_cid(hash)?,
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
