//! `rsipfs init`, `config`, `repo verify|gc|stat|version`.

use std::io::Write;

use anyhow::{Context, Result, bail};
use rsipfs::commands::repo::{self, ValueKind};
use rsipfs::repo::{InitOptions, Profile, Repo};

use super::args::{ConfigArgs, ConfigCmd, InitArgs, ProfileCmd, RepoCmd};
use super::{Ctx, finish, stdout};

pub fn init(ctx: &Ctx, args: InitArgs) -> Result<()> {
    let profiles = Profile::parse_list(args.profile.as_deref().unwrap_or_default())?;
    println!("generating ED25519 keypair...done");
    let repo = Repo::init(&ctx.repo_path, &InitOptions { profiles }).with_context(|| {
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
    if let Some(ConfigCmd::Profile(ProfileCmd::Apply { profile, dry_run })) = args.cmd {
        return profile_apply(ctx, &profile, dry_run);
    }
    let opened = ctx.open_repo_or_api()?;
    let mut out = stdout();
    match (args.key, args.value) {
        (None, _) if args.show => {
            let config: serde_json::Value = opened.run("config/show", &[], |core| {
                Ok(repo::config_get(core, "")?.value)
            })?;
            writeln!(out, "{}", serde_json::to_string_pretty(&config)?)?;
        }
        (None, _) => bail!("config needs a KEY (or --show)"),
        (Some(key), None) => {
            let query = [("arg", key.clone())];
            let entry = opened.run("config", &query, |core| repo::config_get(core, &key))?;
            match entry.value {
                serde_json::Value::String(s) => writeln!(out, "{s}")?,
                other => writeln!(out, "{}", serde_json::to_string_pretty(&other)?)?,
            }
        }
        (Some(key), Some(value)) => {
            let kind = if args.json {
                ValueKind::Json
            } else if args.bool {
                ValueKind::Bool
            } else {
                ValueKind::String
            };
            let query = [
                ("arg", key.clone()),
                ("arg", value.clone()),
                ("json", args.json.to_string()),
                ("bool", args.bool.to_string()),
            ];
            opened.run("config", &query, |core| {
                repo::config_set(core, &key, &value, kind)
            })?;
        }
    }
    finish(out)
}

/// Applies a profile and prints what changed, one dotted key per line.
fn profile_apply(ctx: &Ctx, profile: &str, dry_run: bool) -> Result<()> {
    let opened = ctx.open_repo_or_api()?;
    let query = [
        ("arg", profile.to_string()),
        ("dry-run", dry_run.to_string()),
    ];
    let update = opened.run("config/profile/apply", &query, |core| {
        repo::profile_apply(core, profile, dry_run)
    })?;
    let (mut old, mut new) = (Vec::new(), Vec::new());
    leaves(&update.old, String::new(), &mut old);
    leaves(&update.new, String::new(), &mut new);
    let mut out = stdout();
    for (key, value) in &old {
        match new.iter().find(|(k, _)| k == key) {
            Some((_, now)) if now == value => {}
            Some((_, now)) => {
                writeln!(out, "- {key}: {value}")?;
                writeln!(out, "+ {key}: {now}")?;
            }
            None => writeln!(out, "- {key}: {value}")?,
        }
    }
    for (key, value) in &new {
        if !old.iter().any(|(k, _)| k == key) {
            writeln!(out, "+ {key}: {value}")?;
        }
    }
    finish(out)
}

/// The non-object values of a config under their dotted keys.
fn leaves(value: &serde_json::Value, key: String, out: &mut Vec<(String, serde_json::Value)>) {
    match value.as_object() {
        Some(object) if !object.is_empty() => {
            for (name, child) in object {
                let child_key = if key.is_empty() {
                    name.clone()
                } else {
                    format!("{key}.{name}")
                };
                leaves(child, child_key, out);
            }
        }
        _ => out.push((key, value.clone())),
    }
}

pub fn repo(ctx: &Ctx, cmd: RepoCmd) -> Result<()> {
    if let RepoCmd::Fsck = cmd {
        return fsck(ctx);
    }
    let opened = ctx.open_repo_or_api()?;
    let mut out = stdout();
    match cmd {
        RepoCmd::Verify => {
            let lines = opened.run_lines("repo/verify", &[], repo::verify)?;
            for line in &lines {
                writeln!(out, "{}", line.message)?;
            }
            if !lines.iter().any(|l| l.message == repo::VERIFIED) {
                finish(out)?;
                bail!("{} blocks are corrupt", lines.len());
            }
        }
        RepoCmd::Gc { quiet } => {
            for collected in opened.run_lines("repo/gc", &[], repo::gc)? {
                if !quiet {
                    writeln!(out, "removed {}", collected.key.cid)?;
                }
            }
        }
        RepoCmd::Stat { human } => {
            let stat = opened.run("repo/stat", &[], repo::stat)?;
            writeln!(out, "NumObjects: {}", stat.num_objects)?;
            if human {
                writeln!(
                    out,
                    "RepoSize:   {:.1} MiB",
                    stat.repo_size as f64 / (1 << 20) as f64
                )?;
            } else {
                writeln!(out, "RepoSize:   {}", stat.repo_size)?;
            }
            writeln!(out, "RepoPath:   {}", stat.repo_path)?;
            writeln!(out, "Version:    {}", stat.version)?;
        }
        RepoCmd::Version => {
            let stat = opened.run("repo/stat", &[], repo::stat)?;
            writeln!(out, "{}", stat.version)?;
        }
        RepoCmd::Fsck => unreachable!("handled above"),
    }
    finish(out)
}

/// `repo fsck`: offline only (a running node holds the datastore open).
fn fsck(ctx: &Ctx) -> Result<()> {
    let mut repo = Repo::open(&ctx.repo_path).with_context(|| {
        format!(
            "cannot open the repository at {} (stop a running daemon or mount first)",
            ctx.repo_path.display()
        )
    })?;
    let mut out = stdout();
    let Some(rebuilt) = repo.fsck()? else {
        writeln!(
            out,
            "datastore is sound and matches {}: nothing to do",
            rsipfs::repo::JOURNAL_FILE
        )?;
        return finish(out);
    };
    if let Some(aside) = &rebuilt.moved_aside {
        writeln!(out, "moved the damaged datastore to {}", aside.display())?;
    }
    for line in &rebuilt.bad_lines {
        writeln!(
            out,
            "skipped line {line} of {}: bad checksum",
            rsipfs::repo::JOURNAL_FILE
        )?;
    }
    for (cid, kind) in &rebuilt.pins {
        let kind = match kind {
            rsipfs::repo::PinKind::Recursive => "recursive",
            rsipfs::repo::PinKind::Direct => "direct",
        };
        writeln!(
            out,
            "recovered pin {} {kind}",
            rsipfs::codec::cid_string(cid)
        )?;
    }
    for (key, value) in &rebuilt.keys {
        match rsipfs::codec::cid::cid_from_bytes(value) {
            Ok(cid) => writeln!(out, "recovered {key} {}", rsipfs::codec::cid_string(&cid))?,
            Err(_) => writeln!(out, "recovered {key} ({} bytes)", value.len())?,
        }
    }
    writeln!(
        out,
        "rebuilt the datastore: {} pins, {} keys",
        rebuilt.pins.len(),
        rebuilt.keys.len()
    )?;
    finish(out)
}
