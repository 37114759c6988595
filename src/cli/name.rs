//! `rsipfs name …`.

use std::io::Read;

use anyhow::{Context, Result};

use super::args::NameCmd;

pub fn run(cmd: NameCmd) -> Result<()> {
    match cmd {
        NameCmd::Inspect { record, verify } => {
            let bytes = match record.filter(|p| p.as_os_str() != "-") {
                Some(path) => std::fs::read(&path)
                    .with_context(|| format!("reading the record {}", path.display()))?,
                None => {
                    // One byte past the limit is enough to refuse a record.
                    let limit = rsipfs::ipns::record::MAX_RECORD_BYTES as u64 + 1;
                    let mut bytes = Vec::new();
                    std::io::stdin()
                        .take(limit)
                        .read_to_end(&mut bytes)
                        .context("reading the record from stdin")?;
                    bytes
                }
            };
            let inspection = rsipfs::commands::name::inspect(&bytes, verify.as_deref())?;
            print!("{inspection}");
            Ok(())
        }
    }
}
