//! Block- and node-level commands: `block`, `dag`, `object`.

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use rsipfs::commands::{Core, blocks, dags, objects};

use super::args::{BlockCmd, DagCmd, ObjectCmd};
use super::remote::{Part, PartContent};
use super::{Ctx, Opened, args_query, finish, stdout};

pub fn block(ctx: &Ctx, cmd: BlockCmd) -> Result<()> {
    let opened = ctx.open_repo_or_api()?;
    let mut out = stdout();
    match cmd {
        BlockCmd::Get { cid } => {
            let query = [("arg", cid.clone())];
            out.write_all(&opened.run_bytes("block/get", &query, |core| blocks::get(core, &cid))?)?;
        }
        BlockCmd::Put {
            file,
            cid_codec,
            mhtype,
            pin,
        } => {
            let data = read_input(file.as_ref())?;
            let stat = match &opened {
                Opened::Repo(repo) => {
                    blocks::put(&Core::local(repo), &data, &cid_codec, &mhtype, pin)?
                }
                Opened::Api(api) => {
                    let query = [
                        ("cid-codec", cid_codec),
                        ("mhtype", mhtype),
                        ("pin", pin.to_string()),
                    ];
                    let reply =
                        api.call_with_file("block/put", &query, std::io::Cursor::new(data))?;
                    serde_json::from_reader(reply)
                        .context("the API answered with unexpected JSON")?
                }
            };
            writeln!(out, "{}", stat.key)?;
        }
        BlockCmd::Stat { cid } => {
            let query = [("arg", cid.clone())];
            let stat = opened.run("block/stat", &query, |core| blocks::stat(core, &cid))?;
            writeln!(out, "Key: {}\nSize: {}", stat.key, stat.size)?;
        }
        BlockCmd::Rm { cids, force, quiet } => {
            let mut query = args_query(&cids);
            query.push(("force", force.to_string()));
            let results = opened.run_lines("block/rm", &query, |core| {
                blocks::remove(core, &cids, force)
            })?;
            let mut failed = false;
            for result in results {
                if !result.error.is_empty() {
                    eprintln!("cannot remove {}: {}", result.hash, result.error);
                    failed = true;
                } else if !quiet {
                    writeln!(out, "removed {}", result.hash)?;
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
    let opened = ctx.open_repo_or_api()?;
    let mut out = stdout();
    match cmd {
        DagCmd::Get { path } => {
            let query = [("arg", path.clone())];
            let value: serde_json::Value =
                opened.run("dag/get", &query, |core| dags::get(core, &path))?;
            writeln!(out, "{value}")?;
        }
        DagCmd::Put {
            file,
            input_codec,
            store_codec,
            pin,
        } => {
            let data = read_input(file.as_ref())?;
            let put = match &opened {
                Opened::Repo(repo) => {
                    dags::put(&Core::local(repo), data, &input_codec, &store_codec, pin)?
                }
                Opened::Api(api) => {
                    let query = [
                        ("input-codec", input_codec),
                        ("store-codec", store_codec),
                        ("pin", pin.to_string()),
                    ];
                    let reply =
                        api.call_with_file("dag/put", &query, std::io::Cursor::new(data))?;
                    serde_json::from_reader(reply)
                        .context("the API answered with unexpected JSON")?
                }
            };
            writeln!(out, "{}", put.cid.cid)?;
        }
        DagCmd::Export { path } => match &opened {
            Opened::Repo(repo) => dags::export(&Core::local(repo), &path, &mut out)?,
            Opened::Api(api) => {
                let answer = api.call("dag/export", &[("arg", path.clone())])?;
                super::remote::copy_answer(&format!("dag export {path}"), answer, &mut out)?;
            }
        },
        DagCmd::Import { files, pin_roots } => {
            let roots = match &opened {
                Opened::Repo(repo) => {
                    let mut roots = Vec::new();
                    for path in &files {
                        let file = File::open(path)
                            .with_context(|| format!("opening {}", path.display()))?;
                        roots.extend(
                            dags::import(&Core::local(repo), file, pin_roots)
                                .with_context(|| format!("importing {}", path.display()))?,
                        );
                    }
                    roots
                }
                Opened::Api(api) => {
                    let opened = files
                        .iter()
                        .map(|path| {
                            File::open(path).with_context(|| format!("opening {}", path.display()))
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let parts = opened.into_iter().map(|file| {
                        Ok(Part {
                            path: String::new(),
                            content: PartContent::File(Box::new(file)),
                            field: "file".to_string(),
                        })
                    });
                    let query = [("pin-roots", pin_roots.to_string())];
                    let reply = api.call_with_parts("dag/import", &query, Box::new(parts))?;
                    super::remote::parse_lines(reply)?
                }
            };
            for imported in roots {
                let root = imported.root;
                if root.pin_error.is_empty() {
                    writeln!(out, "pinned root {} success", root.cid.cid)?;
                } else {
                    writeln!(
                        out,
                        "pinned root {} FAILED: {}",
                        root.cid.cid, root.pin_error
                    )?;
                }
            }
        }
        DagCmd::Stat { path } => {
            let query = [("arg", path.clone())];
            let stat = opened.run("dag/stat", &query, |core| dags::stat(core, &path))?;
            writeln!(out, "Size: {}, NumBlocks: {}", stat.size, stat.blocks)?;
        }
    }
    finish(out)
}

pub fn object(ctx: &Ctx, cmd: ObjectCmd) -> Result<()> {
    let opened = ctx.open_repo_or_api()?;
    let mut out = stdout();
    match cmd {
        ObjectCmd::Get { path } => {
            let query = [("arg", path.clone())];
            let value: serde_json::Value =
                opened.run("object/get", &query, |core| objects::get(core, &path))?;
            writeln!(out, "{value}")?;
        }
        ObjectCmd::Stat { path } => {
            let query = [("arg", path.clone())];
            let stat = opened.run("object/stat", &query, |core| objects::stat(core, &path))?;
            writeln!(out, "NumLinks:       {}", stat.num_links)?;
            writeln!(out, "BlockSize:      {}", stat.block_size)?;
            writeln!(out, "LinksSize:      {}", stat.links_size)?;
            writeln!(out, "DataSize:       {}", stat.data_size)?;
            writeln!(out, "CumulativeSize: {}", stat.cumulative_size)?;
        }
        ObjectCmd::Data { path } => {
            let query = [("arg", path.clone())];
            out.write_all(
                &opened.run_bytes("object/data", &query, |core| objects::data(core, &path))?,
            )?;
        }
        ObjectCmd::Links { path, headers } => {
            let query = [("arg", path.clone())];
            let links = opened.run("object/links", &query, |core| objects::links(core, &path))?;
            if headers {
                writeln!(out, "Hash Size Name")?;
            }
            for link in links.links {
                writeln!(out, "{} {} {}", link.hash, link.size, link.name)?;
            }
        }
    }
    finish(out)
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
