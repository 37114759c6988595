//! `rsipfs key …`: the keystore, as Kubo's `ipfs key` prints it.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use anyhow::{Context, Result, bail};
use libp2p_identity::Keypair;
use rsipfs::ipns::Name;
use rsipfs::repo::Repo;

use super::Ctx;
use super::args::KeyCmd;

fn name_of(key: &Keypair) -> Name {
    Name::of_key(&key.public())
}

pub fn run(ctx: &Ctx, cmd: KeyCmd) -> Result<()> {
    let store = Repo::keystore_at(&ctx.repo_path)?;
    match cmd {
        KeyCmd::Gen { name, kind } => {
            let made = store.generate(&name, &kind)?;
            println!("{}", name_of(&made.key));
        }
        KeyCmd::List { long } => {
            for key in store.list()? {
                print_key(&key.name, &key.key, long);
            }
        }
        KeyCmd::Rm { names, long } => {
            for name in names {
                let key = store.remove(&name)?;
                print_key(&name, &key, long);
            }
        }
        KeyCmd::Rename { old, new, force } => {
            let key = store.rename(&old, &new, force)?;
            println!("Key {} renamed to {new}", name_of(&key));
        }
        KeyCmd::Export { name, output } => {
            let key = store.get(&name)?;
            let bytes = key
                .to_protobuf_encoding()
                .context("encoding the key for export")?;
            let path = output.unwrap_or_else(|| format!("{name}.key").into());
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
        KeyCmd::Import { name, file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let Ok(key) = Keypair::from_protobuf_encoding(&bytes) else {
                bail!(
                    "{} is not a libp2p private key (as `key export` writes one)",
                    file.display()
                );
            };
            store.import(&name, &key)?;
            println!("{}", name_of(&key));
        }
    }
    Ok(())
}

fn print_key(name: &str, key: &Keypair, long: bool) {
    if long {
        println!("{} {name}", name_of(key));
    } else {
        println!("{name}");
    }
}
