//! `rsipfs files`: the mutable file system, with Kubo's output formats. The
//! root CID is read from and written back to the repository's datastore.

use std::io::Write;

use anyhow::{Context, Result, bail};
use rsipfs::blockstore::Blockstore;
use rsipfs::codec::cid::{CidBuilder, HashFn, Version, parse_cid};
use rsipfs::codec::cid_string;
use rsipfs::codec::unixfs_pb::UnixTime;
use rsipfs::mfs::history;
use rsipfs::mfs::{Mfs, WriteOptions};

use super::args::FilesCmd;
use super::stat_format;
use super::{Ctx, finish, stdout};

pub fn run(ctx: &Ctx, cmd: FilesCmd) -> Result<()> {
    let repo = ctx.open_repo()?;
    let store = repo.blocks();
    let mut mfs = Mfs::open(store, repo.mfs_root()?)?;
    let before = mfs.root();
    let mut out = stdout();
    match cmd {
        FilesCmd::Ls { path, long } => {
            for (entry, kind, size) in mfs.ls(&path)? {
                if long {
                    let suffix = if kind.is_dir() { "/" } else { "" };
                    writeln!(
                        out,
                        "{}{suffix}\t{}\t{size}",
                        entry.name,
                        cid_string(&entry.cid)
                    )?;
                } else {
                    writeln!(out, "{}", entry.name)?;
                }
            }
        }
        FilesCmd::Mkdir { path, parents } => mfs.mkdir(&path, parents)?,
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
                    mfs.write(&path, &mut input, &opts)?;
                }
                None => {
                    mfs.write(&path, &mut std::io::stdin().lock(), &opts)?;
                }
            }
        }
        FilesCmd::Read {
            path,
            offset,
            count,
        } => {
            mfs.read(&path, offset, count, &mut out)?;
        }
        FilesCmd::Rm { path, recursive } => mfs.rm(&path, recursive)?,
        FilesCmd::Cp { src, dst, parents } => mfs.cp(&src, &dst, parents)?,
        FilesCmd::Mv { src, dst } => mfs.mv(&src, &dst)?,
        FilesCmd::Stat {
            path,
            hash,
            size,
            format,
        } => {
            let stat = mfs.stat(&path)?;
            let format = match (hash, size) {
                (true, _) => "<hash>",
                (_, true) => "<size>",
                _ => format.as_deref().unwrap_or(stat_format::DEFAULT_FORMAT),
            };
            writeln!(out, "{}", stat_format::render(format, &stat))?;
        }
        FilesCmd::Flush { path } => writeln!(out, "{}", cid_string(&mfs.stat(&path)?.cid))?,
        FilesCmd::Chcid {
            path,
            cid_version,
            hash,
        } => {
            let hash = HashFn::parse(hash.as_deref().unwrap_or("sha2-256"))?;
            let version = match (cid_version, hash) {
                (Some(0) | None, HashFn::Sha2_256) => Version::V0,
                (Some(0), _) => bail!("CIDv0 only supports sha2-256"),
                (Some(1) | None, _) => Version::V1,
                (Some(v), _) => bail!("unknown CID version {v}"),
            };
            let builder = CidBuilder {
                version,
                hash,
                inline_limit: None,
            };
            mfs.chcid(&path, &builder)?;
        }
        FilesCmd::Log => {
            let commits = history::log(store, repo.mfs_history()?.as_ref())?;
            let count = commits.len();
            for (i, commit) in commits.iter().enumerate() {
                writeln!(
                    out,
                    "{}\t{}\t{}\tcommit {}",
                    count - i,
                    format_time(commit.time.seconds),
                    cid_string(&commit.root),
                    cid_string(&commit.cid)
                )?;
            }
        }
        FilesCmd::Restore { version } => {
            let commits = history::log(store, repo.mfs_history()?.as_ref())?;
            let count = commits.len();
            let chosen = match version.parse::<usize>() {
                Ok(n) if (1..=count).contains(&n) => commits[count - n],
                Ok(n) => bail!("no version {n}: there are {count}"),
                Err(_) => {
                    let cid = parse_cid(&version)?;
                    history::read(store, &cid)?
                }
            };
            mfs.set_root(chosen.root)?;
            writeln!(out, "{}", cid_string(&chosen.root))?;
        }
    }
    let recorded = repo.mfs_history()?;
    let head_root = match &recorded {
        Some(head) => Some(history::read(store, head)?.root),
        None => None,
    };
    if mfs.root() != before || repo.mfs_root()?.is_none() || head_root != Some(mfs.root()) {
        let mut recorder = history::Recorder::new(store, recorded.as_ref(), 0)?;
        let head = recorder.commit(store, &mfs.root(), now())?;
        repo.blocks()
            .sync()
            .context("making the MFS change durable")?;
        repo.set_mfs_state(&mfs.root(), &head)
            .context("saving the MFS root")?;
    }
    finish(out)
}

fn now() -> UnixTime {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    UnixTime {
        seconds: since.as_secs() as i64,
        nanos: since.subsec_nanos(),
    }
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
