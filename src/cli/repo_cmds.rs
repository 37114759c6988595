//! `rsipfs init`, `config`, `repo verify|gc|stat|version`.

use std::io::Write;

use anyhow::{Context, Result, bail};
use rsipfs::codec::cid_string;
use rsipfs::pin;
use rsipfs::repo::{InitOptions, Repo};

use super::args::{ConfigArgs, RepoCmd};
use super::{Ctx, finish, stdout};

pub fn init(ctx: &Ctx) -> Result<()> {
    println!("generating ED25519 keypair...done");
    let repo = Repo::init(&ctx.repo_path, &InitOptions::default()).with_context(|| {
        format!(
            "cannot initialise a repository at {}",
            ctx.repo_path.display()
        )
    })?;
    println!("peer identity: {}", repo.peer_id());
    println!("initializing rsipfs node at {}", ctx.repo_path.display());
    Ok(())
}

pub fn config(ctx: &Ctx, args: ConfigArgs) -> Result<()> {
    let repo = ctx.open_repo()?;
    let mut out = stdout();
    match (args.key, args.value) {
        (None, _) if args.show => {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&repo.config_get("")?)?
            )?;
        }
        (None, _) => bail!("config needs a KEY (or --show)"),
        (Some(key), None) => {
            let value = repo.config_get(&key)?;
            match value {
                serde_json::Value::String(s) => writeln!(out, "{s}")?,
                other => writeln!(out, "{}", serde_json::to_string_pretty(&other)?)?,
            }
        }
        (Some(key), Some(value)) => {
            let parsed = if args.json {
                serde_json::from_str(&value)
                    .with_context(|| format!("{value:?} is not valid JSON"))?
            } else if args.bool {
                serde_json::Value::Bool(
                    value
                        .parse()
                        .with_context(|| format!("{value:?} is not true or false"))?,
                )
            } else {
                serde_json::Value::String(value)
            };
            repo.config_set(&key, parsed)?;
        }
    }
    finish(out)
}

pub fn repo(ctx: &Ctx, cmd: RepoCmd) -> Result<()> {
    let repo = ctx.open_repo()?;
    let mut out = stdout();
    match cmd {
        RepoCmd::Verify => {
            let bad = repo.verify()?;
            if bad.is_empty() {
                writeln!(out, "verified repo integrity")?;
            } else {
                for problem in &bad {
                    writeln!(out, "{problem}")?;
                }
                finish(out)?;
                bail!("{} blocks are corrupt", bad.len());
            }
        }
        RepoCmd::Gc { quiet } => {
            for cid in pin::gc(&repo)? {
                if !quiet {
                    writeln!(out, "removed {}", cid_string(&cid))?;
                }
            }
        }
        RepoCmd::Stat { human } => {
            let stat = repo.stat()?;
            writeln!(out, "NumObjects: {}", stat.blocks)?;
            if human {
                writeln!(
                    out,
                    "RepoSize:   {:.1} MiB",
                    stat.bytes as f64 / (1 << 20) as f64
                )?;
            } else {
                writeln!(out, "RepoSize:   {}", stat.bytes)?;
            }
            writeln!(out, "RepoPath:   {}", stat.path.display())?;
            writeln!(out, "Version:    {}", stat.version)?;
        }
        RepoCmd::Version => writeln!(out, "{}", repo.stat()?.version)?,
    }
    finish(out)
}
