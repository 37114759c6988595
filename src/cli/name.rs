//! `rsipfs name …`.

use std::io::{Read, Write};

use anyhow::{Context, Result};
use rsipfs::commands::Core;
use rsipfs::commands::name::{self, PublishOptions, Published, Resolved};
use rsipfs::names::ResolveOptions;

use super::Ctx;
use super::args::NameCmd;

fn duration(option: &str, text: &str) -> Result<std::time::Duration> {
    rsipfs::go_duration::parse(text)
        .with_context(|| format!("--{option} {text:?} is not a duration (e.g. 48h, 5m, 1h30m)"))
}

pub(super) fn read_record(path: Option<&std::path::Path>) -> Result<Vec<u8>> {
    // Read on past the 10 KiB a record may have (to 1 MiB, as Kubo) so that
    // the refusal says how large it is.
    let limit = 1 << 20;
    let mut bytes = Vec::new();
    match path.filter(|p| p.as_os_str() != "-") {
        Some(path) => std::fs::File::open(path)
            .and_then(|f| f.take(limit).read_to_end(&mut bytes))
            .with_context(|| format!("reading the record {}", path.display()))?,
        None => std::io::stdin()
            .take(limit)
            .read_to_end(&mut bytes)
            .context("reading the record from stdin")?,
    };
    Ok(bytes)
}

pub fn run(ctx: &Ctx, cmd: NameCmd) -> Result<()> {
    let mut out = std::io::stdout();
    match cmd {
        NameCmd::Inspect { record, verify } => {
            let bytes = read_record(record.as_deref())?;
            let inspection = name::inspect(&bytes, verify.as_deref())?;
            write!(out, "{inspection}")?;
        }
        NameCmd::Publish {
            path,
            key,
            lifetime,
            ttl,
            sequence,
            allow_offline,
            resolve,
            quieter,
        } => {
            let opts = PublishOptions {
                key: key.clone(),
                lifetime: duration("lifetime", &lifetime)?,
                ttl: ttl.as_deref().map(|t| duration("ttl", t)).transpose()?,
                sequence,
                allow_offline,
                resolve,
            };
            let mut query = vec![
                ("arg", path.clone()),
                ("key", key),
                ("lifetime", lifetime),
                ("allow-offline", allow_offline.to_string()),
                ("resolve", resolve.to_string()),
            ];
            query.extend(ttl.map(|ttl| ("ttl", ttl)));
            if let Some(sequence) = sequence {
                query.push(("sequence", sequence.to_string()));
            }
            let opened = ctx.open_repo_or_api()?;
            let published: Published = opened.run("name/publish", &query, |core: &Core| {
                name::publish(core, &path, &opts)
            })?;
            if quieter {
                writeln!(out, "{}", published.name)?;
            } else {
                writeln!(out, "Published to {}: {}", published.name, published.value)?;
            }
        }
        NameCmd::Resolve {
            name: target,
            recursive,
            nocache,
            dht_timeout,
        } => {
            let opts = ResolveOptions {
                recursive,
                nocache,
                timeout: duration("dht-timeout", &dht_timeout)?,
            };
            let mut query = vec![
                ("recursive", recursive.to_string()),
                ("nocache", nocache.to_string()),
                ("dht-timeout", dht_timeout),
            ];
            query.extend(target.iter().map(|t| ("arg", t.clone())));
            let opened = ctx.open_repo_or_api()?;
            let resolved: Resolved = opened.run("name/resolve", &query, |core: &Core| {
                name::resolve(core, target.as_deref(), &opts)
            })?;
            writeln!(out, "{}", resolved.path)?;
        }
        NameCmd::Get { name: target } => {
            let opened = ctx.open_repo_or_api()?;
            let record = opened.run_bytes("name/get", &[("arg", target.clone())], |core| {
                name::get(core, &target)
            })?;
            out.write_all(&record)?;
        }
        NameCmd::Put {
            name: target,
            record,
        } => {
            let bytes = read_record(Some(&record))?;
            let query = [("arg", target.clone()), ("allow-offline", "true".into())];
            let stored: Published = ctx.open_repo_or_api()?.run_with_file(
                "name/put",
                &query,
                bytes.clone(),
                |core| name::put(core, &target, &bytes),
            )?;
            writeln!(
                out,
                "Stored the record for {}: {}",
                stored.name, stored.value
            )?;
        }
    }
    Ok(())
}
