//! `rsipfs key …`: the keystore, as Kubo's `ipfs key` prints it. While a
//! daemon holds the repository the commands go through its API, but
//! `export` (a key never crosses the API) and `rotate` (which needs the
//! daemon stopped, as in Kubo).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use anyhow::{Context, Result, bail};
use rsipfs::commands::Core;
use rsipfs::commands::keys::{self, IdFormat, KeyFormat, KeyList, KeyOutput, KeyRenamed};
use rsipfs::repo::private_key::{KeySpec, MAX_ENCODED_BYTES};
use rsipfs::repo::{Repo, RepoError};
use zeroize::Zeroizing;

use super::Ctx;
use super::args::KeyCmd;

pub fn run(ctx: &Ctx, cmd: KeyCmd) -> Result<()> {
    match cmd {
        KeyCmd::Gen {
            name,
            kind,
            size,
            ipns_base,
        } => {
            let format = IdFormat::parse(&ipns_base)?;
            let mut query = vec![
                ("arg", name.clone()),
                ("type", kind.clone()),
                ("ipns-base", ipns_base),
            ];
            query.extend(size.map(|s| ("size", s.to_string())));
            let made: KeyOutput = ctx.open_repo_or_api()?.run("key/gen", &query, |core| {
                keys::generate(core, &name, &kind, size, format)
            })?;
            println!("{}", made.id);
        }
        KeyCmd::List { long, ipns_base } => {
            let format = IdFormat::parse(&ipns_base)?;
            let query = [("ipns-base", ipns_base)];
            let list: KeyList = ctx
                .open_repo_or_api()?
                .run("key/list", &query, |core| keys::list(core, format))?;
            print_keys(&list, long);
        }
        KeyCmd::Rm {
            names,
            long,
            ipns_base,
        } => {
            let format = IdFormat::parse(&ipns_base)?;
            let mut query = super::args_query(&names);
            query.push(("ipns-base", ipns_base));
            let list: KeyList = ctx
                .open_repo_or_api()?
                .run("key/rm", &query, |core| keys::remove(core, &names, format))?;
            print_keys(&list, long);
        }
        KeyCmd::Rename {
            old,
            new,
            force,
            ipns_base,
        } => {
            let format = IdFormat::parse(&ipns_base)?;
            let query = [
                ("arg", old.clone()),
                ("arg", new.clone()),
                ("force", force.to_string()),
                ("ipns-base", ipns_base),
            ];
            let renamed: KeyRenamed =
                ctx.open_repo_or_api()?
                    .run("key/rename", &query, |core: &Core| {
                        keys::rename(core, &old, &new, force, format)
                    })?;
            let overwriting = if renamed.overwrite {
                " with overwriting"
            } else {
                ""
            };
            println!("Key {} renamed to {}{overwriting}", renamed.id, renamed.now);
        }
        KeyCmd::Export {
            name,
            output,
            format,
        } => {
            let format = KeyFormat::parse(&format)?;
            let bytes = keys::export(&ctx.repo_path, &name, format)?;
            let path = output.unwrap_or_else(|| {
                // Only the name's last part: `key export a/b` cannot write
                // elsewhere than here (such a name is refused anyway).
                let file = format!("{name}.{}", format.extension());
                std::path::Path::new(&file)
                    .file_name()
                    .map(Into::into)
                    .unwrap_or_else(|| file.into())
            });
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            file.write_all(&bytes)
                .and_then(|()| file.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        KeyCmd::Import {
            name,
            file,
            format,
            ipns_base,
        } => {
            let key_format = KeyFormat::parse(&format)?;
            let id_format = IdFormat::parse(&ipns_base)?;
            let bytes = read_key_file(&file)?;
            let query = [
                ("arg", name.clone()),
                ("format", format),
                ("ipns-base", ipns_base),
            ];
            let imported: KeyOutput = ctx.open_repo_or_api()?.run_with_file(
                "key/import",
                &query,
                bytes.to_vec(),
                |core| keys::import(core, &name, &bytes, key_format, id_format),
            )?;
            println!("{}", imported.id);
        }
        KeyCmd::Rotate {
            old_key,
            kind,
            size,
        } => {
            if old_key == rsipfs::repo::keystore::SELF {
                bail!("keystore name for back up cannot be named 'self'");
            }
            let spec = KeySpec::parse(&kind, size)?;
            let mut out = std::io::stdout();
            write!(out, "generating {} keypair...", spec.describe())?;
            out.flush()?;
            let rotated = Repo::rotate_identity(&ctx.repo_path, &old_key, spec);
            if rotated.is_err() {
                writeln!(out)?;
            }
            let peer_id = match rotated {
                Err(RepoError::Locked { pid, .. }) => bail!(
                    "a daemon (process {pid}) holds the repository: stop it to rotate the \
                     identity"
                ),
                other => other.context("rotating the identity")?,
            };
            writeln!(out, "done\npeer identity: {peer_id}")?;
        }
    }
    Ok(())
}

/// A key file, refused unread past the size no key file reaches.
fn read_key_file(path: &std::path::Path) -> Result<Zeroizing<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Zeroizing::new(Vec::new());
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_ENCODED_BYTES as u64 + 1).read_to_end(&mut bytes))
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() > MAX_ENCODED_BYTES {
        bail!(
            "{} is larger than any key file ({MAX_ENCODED_BYTES} bytes)",
            path.display()
        );
    }
    Ok(bytes)
}

fn print_keys(list: &KeyList, long: bool) {
    for key in &list.keys {
        if long {
            println!("{} {}", key.id, key.name);
        } else {
            println!("{}", key.name);
        }
    }
}
