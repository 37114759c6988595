//! `rsipfs files`: the mutable file system, with Kubo's output formats. The
//! root CID is read from and written back to the repository's datastore.

use std::io::Write;

use anyhow::{Context, Result};
use rsipfs::blockstore::Blockstore;
use rsipfs::codec::cid_string;
use rsipfs::mfs::{Mfs, WriteOptions};
use rsipfs::repo::MFS_ROOT_KEY;

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
    }
    if mfs.root() != before || repo.mfs_root()?.is_none() {
        repo.blocks()
            .sync()
            .context("making the MFS change durable")?;
        repo.datastore()
            .put(MFS_ROOT_KEY, &mfs.root().to_bytes())
            .context("saving the MFS root")?;
    }
    finish(out)
}
