//! Reading commands: `cat`, `get`, `ls`, `refs`.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use rsipfs::codec::IpfsPath;
use rsipfs::codec::cid_string;
use rsipfs::dag;
use rsipfs::unixfs::dir;
use rsipfs::unixfs::export::export;
use rsipfs::unixfs::node::Kind;
use rsipfs::unixfs::reader::{FileReader, load};
use rsipfs::unixfs::resolve::resolve;

use super::args::{CatArgs, GetArgs, LsArgs, RefsArgs};
use super::{Ctx, Opened, finish, stdout};
use rsipfs::unixfs::tar::extract_tar;

pub fn cat(ctx: &Ctx, args: CatArgs) -> Result<()> {
    let repo = match ctx.open_repo_or_api()? {
        Opened::Repo(repo) => repo,
        Opened::Api(api) => {
            let mut query = vec![("arg", args.path), ("offset", args.offset.to_string())];
            query.extend(args.length.map(|l| ("length", l.to_string())));
            let mut out = stdout();
            std::io::copy(&mut api.call("cat", &query)?, &mut out)?;
            return finish(out);
        }
    };
    let path = IpfsPath::parse(&args.path)?;
    let resolved = resolve(repo.blocks(), &path)?;
    if resolved.node.kind().is_dir() {
        bail!("{path} is a directory");
    }
    let reader = FileReader::from_node(repo.blocks(), &resolved.cid, resolved.node)?;
    let mut out = stdout();
    reader.copy_to(&mut out, args.offset, args.length.unwrap_or(u64::MAX))?;
    finish(out)
}

pub fn get(ctx: &Ctx, args: GetArgs) -> Result<()> {
    let opened = ctx.open_repo_or_api()?;
    let path = IpfsPath::parse(&args.path)?;
    let dest = match args.output {
        Some(dest) => dest,
        None => PathBuf::from(
            path.components
                .last()
                .cloned()
                .unwrap_or_else(|| cid_string(&path.root)),
        ),
    };
    if dest.symlink_metadata().is_ok() {
        bail!("{} already exists", dest.display());
    }
    println!("Saving file(s) to {}", dest.display());
    match opened {
        Opened::Repo(repo) => {
            let resolved = resolve(repo.blocks(), &path)?;
            export(repo.blocks(), &resolved.cid, resolved.node, &dest)
        }
        // Through a running daemon: Kubo's tar stream, extracted safely.
        Opened::Api(api) => extract_tar(api.call("get", &[("arg", args.path)])?, &dest),
    }
    .with_context(|| format!("writing {}", dest.display()))?;
    Ok(())
}

pub fn ls(ctx: &Ctx, args: LsArgs) -> Result<()> {
    let repo = ctx.open_repo()?;
    let store = repo.blocks();
    let mut out = stdout();
    let many = args.paths.len() > 1;
    for (i, text) in args.paths.iter().enumerate() {
        let path = IpfsPath::parse(text)?;
        let resolved = resolve(store, &path)?;
        if many {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "{text}:")?;
        }
        if args.headers {
            writeln!(out, "Hash Size Name")?;
        }
        if !resolved.node.kind().is_dir() {
            let size = resolved.node.content_size();
            writeln!(out, "{} {} {}", cid_string(&resolved.cid), size, text)?;
            continue;
        }
        for entry in dir::list(store, &resolved.cid)? {
            let child = load(store, &entry.cid)?;
            let (size, suffix) = match child.kind() {
                Kind::Directory | Kind::HamtShard => ("-".to_string(), "/"),
                _ => (child.content_size().to_string(), ""),
            };
            if args.size {
                writeln!(
                    out,
                    "{} {} {}{}",
                    cid_string(&entry.cid),
                    size,
                    entry.name,
                    suffix
                )?;
            } else {
                writeln!(out, "{} {}{}", cid_string(&entry.cid), entry.name, suffix)?;
            }
        }
    }
    finish(out)
}

pub fn refs(ctx: &Ctx, args: RefsArgs) -> Result<()> {
    let repo = ctx.open_repo()?;
    let store = repo.blocks();
    let mut out = stdout();
    let mut printed = HashSet::new();
    for text in &args.paths {
        let resolved = resolve(store, &IpfsPath::parse(text)?)?;
        let mut emit = |child: &rsipfs::codec::Cid| {
            if !args.unique || printed.insert(child.hash().to_bytes()) {
                let _ = writeln!(out, "{}", cid_string(child));
            }
        };
        if args.recursive {
            dag::walk(store, &resolved.cid, &mut |_, _| Ok(()), &mut |_, child| {
                emit(child)
            })?;
        } else {
            let block = rsipfs::blockstore::get_required(store, &resolved.cid)?;
            for child in rsipfs::codec::links::links_of(&resolved.cid, &block)? {
                emit(&child);
            }
        }
    }
    finish(out)
}
