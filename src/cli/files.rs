//! `rsipfs files`: the mutable file system, with Kubo's output formats. The
//! root CID is read from and written back to the repository's datastore.

use std::io::Write;

use anyhow::{Context, Result};
use std::sync::Arc;

use rsipfs::blockstore::Blockstore;
use rsipfs::codec::cid::{CidBuilder, HashFn, parse_cid};
use rsipfs::codec::cid_string;
use rsipfs::codec::unixfs_pb::UnixTime;
use rsipfs::commands::files;
use rsipfs::mfs::{Stat, WriteOptions};
use rsipfs::repo::Repo;
use rsipfs::unixfs::node::Kind;

use super::args::FilesCmd;
use super::remote::Api;
use super::stat_format;
use super::{Ctx, Opened, finish, stdout};

pub fn run(ctx: &Ctx, cmd: FilesCmd) -> Result<()> {
    match ctx.open_repo_or_api()? {
        Opened::Repo(repo) => run_local(repo, cmd),
        Opened::Api(api) => run_remote(&api, cmd),
    }
}

fn run_local(repo: Repo, cmd: FilesCmd) -> Result<()> {
    let repo = Arc::new(repo);
    let store: Arc<dyn Blockstore> = repo.blocks_shared();
    let mfs = files::open_tree(&repo, Arc::clone(&store), super::mount::process_owner())?;
    let mut out = stdout();
    match cmd {
        FilesCmd::Ls { path, long } => {
            let entries: Vec<Listed> = files::ls(&mfs, &path)?
                .into_iter()
                .map(|(entry, kind, size)| Listed {
                    name: entry.name,
                    is_dir: kind.is_dir(),
                    cid: cid_string(&entry.cid),
                    size,
                })
                .collect();
            print_ls(&mut out, &entries, long)?;
        }
        FilesCmd::Mkdir { path, parents } => files::mkdir(&mfs, &path, parents)?,
        FilesCmd::Write {
            path,
            file,
            create,
            truncate,
            parents,
            offset,
            count,
        } => {
            let opts = WriteOptions {
                create,
                truncate,
                parents,
                offset,
                count,
            };
            match file {
                Some(local) => {
                    let mut input = std::fs::File::open(&local)
                        .with_context(|| format!("opening {}", local.display()))?;
                    files::write(&mfs, &path, &mut input, &opts)?;
                }
                None => files::write(&mfs, &path, &mut std::io::stdin().lock(), &opts)?,
            }
        }
        FilesCmd::Read {
            path,
            offset,
            count,
        } => files::read(&mfs, &path, offset, count, &mut out)?,
        FilesCmd::Rm { path, recursive } => files::rm(&mfs, &[path], recursive)?,
        FilesCmd::Cp { src, dst, parents } => {
            let core = rsipfs::commands::Core {
                repo: &repo,
                store: store.as_ref(),
                names: rsipfs::names::NameSystem::offline(),
            };
            files::cp_named(&core, &mfs, &src, &dst, parents)?
        }
        FilesCmd::Mv { src, dst } => files::mv(&mfs, &src, &dst)?,
        FilesCmd::Stat {
            path,
            hash,
            size,
            format,
        } => {
            let stat = files::stat(&mfs, &path)?;
            print_stat(&mut out, &stat, hash, size, format.as_deref())?;
        }
        FilesCmd::Flush { path } => writeln!(out, "{}", cid_string(&files::flush(&mfs, &path)?))?,
        FilesCmd::Chcid {
            path,
            cid_version,
            hash,
        } => {
            let hash = HashFn::parse(hash.as_deref().unwrap_or("sha2-256"))?;
            let builder = CidBuilder::for_version(cid_version, hash).map_err(anyhow::Error::msg)?;
            files::chcid(&mfs, &path, &builder)?;
        }
        FilesCmd::Log => {
            let commits = files::log(&mfs, store.as_ref())?;
            let count = commits.len();
            for (i, commit) in commits.iter().enumerate() {
                print_version(
                    &mut out,
                    count - i,
                    commit.time.seconds,
                    &cid_string(&commit.root),
                    &cid_string(&commit.cid),
                )?;
            }
        }
        FilesCmd::Restore { version } => {
            let root = files::restore(&mfs, store.as_ref(), &version)?;
            writeln!(out, "{}", cid_string(&root))?;
        }
    }
    mfs.sync(true)
        .map_err(|e| anyhow::anyhow!("saving the MFS root: {e}"))?;
    finish(out)
}

/// One `files ls` entry, from the repository or from the API.
struct Listed {
    name: String,
    is_dir: bool,
    cid: String,
    size: u64,
}

fn print_ls(out: &mut impl Write, entries: &[Listed], long: bool) -> Result<()> {
    for entry in entries {
        if long {
            let suffix = if entry.is_dir { "/" } else { "" };
            writeln!(out, "{}{suffix}\t{}\t{}", entry.name, entry.cid, entry.size)?;
        } else {
            writeln!(out, "{}", entry.name)?;
        }
    }
    Ok(())
}

fn print_stat(
    out: &mut impl Write,
    stat: &Stat,
    hash: bool,
    size: bool,
    format: Option<&str>,
) -> Result<()> {
    let format = match (hash, size) {
        (true, _) => "<hash>",
        (_, true) => "<size>",
        _ => format.unwrap_or(stat_format::DEFAULT_FORMAT),
    };
    writeln!(out, "{}", stat_format::render(format, stat))?;
    Ok(())
}

fn print_version(
    out: &mut impl Write,
    number: usize,
    time: i64,
    root: &str,
    commit: &str,
) -> Result<()> {
    writeln!(
        out,
        "{number}\t{}\t{root}\tcommit {commit}",
        format_time(time)
    )?;
    Ok(())
}

/// The same commands through a running mount's API.
fn run_remote(api: &Api, cmd: FilesCmd) -> Result<()> {
    let mut out = stdout();
    let flag = |on: bool| on.to_string();
    match cmd {
        FilesCmd::Ls { path, long } => {
            let reply = api.json("files/ls", &[("arg", path), ("long", flag(true))])?;
            let entries: Vec<Listed> = reply["Entries"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|e| Listed {
                    name: e["Name"].as_str().unwrap_or_default().to_string(),
                    is_dir: e["Type"].as_u64() == Some(1),
                    cid: e["Hash"].as_str().unwrap_or_default().to_string(),
                    size: e["Size"].as_u64().unwrap_or(0),
                })
                .collect();
            print_ls(&mut out, &entries, long)?;
        }
        FilesCmd::Mkdir { path, parents } => {
            api.call("files/mkdir", &[("arg", path), ("parents", flag(parents))])?;
        }
        FilesCmd::Write {
            path,
            file,
            create,
            truncate,
            parents,
            offset,
            count,
        } => {
            let mut query = vec![
                ("arg", path),
                ("create", flag(create)),
                ("truncate", flag(truncate)),
                ("parents", flag(parents)),
            ];
            query.extend(offset.map(|o| ("offset", o.to_string())));
            query.extend(count.map(|c| ("count", c.to_string())));
            match file {
                Some(local) => {
                    let input = std::fs::File::open(&local)
                        .with_context(|| format!("opening {}", local.display()))?;
                    api.call_with_file("files/write", &query, input)?;
                }
                None => {
                    api.call_with_file("files/write", &query, std::io::stdin())?;
                }
            }
        }
        FilesCmd::Read {
            path,
            offset,
            count,
        } => {
            let mut query = vec![("arg", path), ("offset", offset.to_string())];
            query.extend(count.map(|c| ("count", c.to_string())));
            std::io::copy(&mut api.call("files/read", &query)?, &mut out)?;
        }
        FilesCmd::Rm { path, recursive } => {
            api.call("files/rm", &[("arg", path), ("recursive", flag(recursive))])?;
        }
        FilesCmd::Cp { src, dst, parents } => {
            api.call(
                "files/cp",
                &[("arg", src), ("arg", dst), ("parents", flag(parents))],
            )?;
        }
        FilesCmd::Mv { src, dst } => {
            api.call("files/mv", &[("arg", src), ("arg", dst)])?;
        }
        FilesCmd::Stat {
            path,
            hash,
            size,
            format,
        } => {
            let reply = api.json("files/stat", &[("arg", path)])?;
            let stat = stat_from_json(&reply)?;
            print_stat(&mut out, &stat, hash, size, format.as_deref())?;
        }
        FilesCmd::Flush { path } => {
            let reply = api.json("files/flush", &[("arg", path)])?;
            writeln!(out, "{}", reply["Cid"].as_str().unwrap_or_default())?;
        }
        FilesCmd::Chcid {
            path,
            cid_version,
            hash,
        } => {
            let mut query = vec![("arg", path)];
            query.extend(cid_version.map(|v| ("cid-version", v.to_string())));
            query.extend(hash.map(|h| ("hash", h)));
            api.call("files/chcid", &query)?;
        }
        FilesCmd::Log => {
            let reply = api.json("files/log", &[])?;
            for c in reply["Commits"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                print_version(
                    &mut out,
                    c["Number"].as_u64().unwrap_or(0) as usize,
                    c["Time"].as_i64().unwrap_or(0),
                    c["Root"].as_str().unwrap_or_default(),
                    c["Cid"].as_str().unwrap_or_default(),
                )?;
            }
        }
        FilesCmd::Restore { version } => {
            let reply = api.json("files/restore", &[("arg", version)])?;
            writeln!(out, "{}", reply["Root"].as_str().unwrap_or_default())?;
        }
    }
    finish(out)
}

fn stat_from_json(reply: &serde_json::Value) -> Result<Stat> {
    let cid =
        parse_cid(reply["Hash"].as_str().unwrap_or_default()).context("the API sent no CID")?;
    let kind = match reply["Type"].as_str() {
        Some("directory") => Kind::Directory,
        Some("symlink") => Kind::Symlink,
        _ => Kind::File,
    };
    let mtime = reply["Mtime"].as_i64().map(|seconds| UnixTime {
        seconds,
        nanos: reply["MtimeNsecs"].as_u64().unwrap_or(0) as u32,
    });
    Ok(Stat {
        cid,
        size: reply["Size"].as_u64().unwrap_or(0),
        cumulative_size: reply["CumulativeSize"].as_u64().unwrap_or(0),
        child_blocks: reply["Blocks"].as_u64().unwrap_or(0) as usize,
        kind,
        mode: reply["Mode"].as_u64().map(|m| m as u32),
        mtime,
    })
}

/// `YYYY-MM-DD HH:MM:SS UTC` for a Unix time.
fn format_time(seconds: i64) -> String {
    let (year, month, day, secs) = stat_format::civil(seconds);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}
