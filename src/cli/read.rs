//! Reading commands: `cat`, `get`, `ls`, `refs`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use rsipfs::commands::{Core, listing};
use rsipfs::unixfs::export::export;
use rsipfs::unixfs::reader::FileReader;
use rsipfs::unixfs::resolve::resolve;

use super::args::{CatArgs, GetArgs, LsArgs, RefsArgs};
use super::{Ctx, Opened, args_query, finish, stdout};
use rsipfs::unixfs::tar::extract_tar;

pub fn cat(ctx: &Ctx, args: CatArgs) -> Result<()> {
    let repo = match ctx.open_repo_or_api()? {
        Opened::Repo(repo) => repo,
        Opened::Api(api) => {
            let what = format!("cat {}", args.path);
            let mut query = vec![("arg", args.path), ("offset", args.offset.to_string())];
            query.extend(args.length.map(|l| ("length", l.to_string())));
            let mut out = stdout();
            super::remote::copy_answer(&what, api.call("cat", &query)?, &mut out)?;
            return finish(out);
        }
    };
    let path = Core::local(&repo).content_path(&args.path)?;
    let resolved = resolve(repo.blocks(), &path)?;
    if resolved.node.kind().is_dir() {
        bail!("{path} is a directory");
    }
    let reader = FileReader::from_node(repo.blocks(), &resolved.cid, resolved.node)?;
    let mut out = stdout();
    reader
        .copy_to(&mut out, args.offset, args.length.unwrap_or(u64::MAX))
        .with_context(|| format!("reading {path}"))?;
    finish(out)
}

pub fn get(ctx: &Ctx, args: GetArgs) -> Result<()> {
    let opened = ctx.open_repo_or_api()?;
    // Named after the path's last part, as Kubo names it.
    let dest = match args.output {
        Some(dest) => dest,
        None => PathBuf::from(
            args.path
                .rsplit('/')
                .find(|part| !part.is_empty() && *part != "." && *part != "..")
                .unwrap_or("out"),
        ),
    };
    if dest.symlink_metadata().is_ok() {
        bail!("{} already exists", dest.display());
    }
    println!("Saving file(s) to {}", dest.display());
    match opened {
        Opened::Repo(repo) => {
            let path = Core::local(&repo).content_path(&args.path)?;
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
    let opened = ctx.open_repo_or_api()?;
    let query = args_query(&args.paths);
    let listing = opened.run("ls", &query, |core| listing::ls(core, &args.paths))?;
    let mut out = stdout();
    let many = listing.objects.len() > 1;
    for (i, object) in listing.objects.iter().enumerate() {
        if many {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "{}:", object.path)?;
        }
        if args.headers {
            writeln!(out, "Hash Size Name")?;
        }
        for link in &object.links {
            let (size, suffix) = match link.kind {
                listing::TYPE_DIRECTORY => ("-".to_string(), "/"),
                _ => (link.size.to_string(), ""),
            };
            if args.size {
                writeln!(out, "{} {} {}{}", link.hash, size, link.name, suffix)?;
            } else {
                writeln!(out, "{} {}{}", link.hash, link.name, suffix)?;
            }
        }
    }
    finish(out)
}

pub fn refs(ctx: &Ctx, args: RefsArgs) -> Result<()> {
    let opened = ctx.open_repo_or_api()?;
    let mut query = args_query(&args.paths);
    query.push(("recursive", args.recursive.to_string()));
    query.push(("unique", args.unique.to_string()));
    let refs = opened.run_lines("refs", &query, |core| {
        listing::refs(core, &args.paths, args.recursive, args.unique)
    })?;
    let mut out = stdout();
    for found in refs {
        writeln!(out, "{}", found.cid)?;
    }
    finish(out)
}
