//! `rsipfs pin add|rm|ls`.

use std::io::Write;

use anyhow::{Result, bail};
use rsipfs::codec::{IpfsPath, cid_string};
use rsipfs::pin::{self, PinFilter};
use rsipfs::unixfs::resolve::resolve;

use super::args::PinCmd;
use super::{Ctx, finish, stdout};

pub fn pin(ctx: &Ctx, cmd: PinCmd) -> Result<()> {
    let repo = ctx.open_repo()?;
    let mut out = stdout();
    let resolve_arg = |text: &str| -> Result<rsipfs::codec::Cid> {
        let path = IpfsPath::parse(text)?;
        Ok(if path.components.is_empty() {
            path.root
        } else {
            resolve(repo.blocks(), &path)?.cid
        })
    };
    match cmd {
        PinCmd::Add { paths, recursive } => {
            for text in paths {
                let cid = resolve_arg(&text)?;
                pin::add(&repo, &cid, recursive)?;
                let how = if recursive {
                    " recursively"
                } else {
                    " directly"
                };
                writeln!(out, "pinned {}{how}", cid_string(&cid))?;
            }
        }
        PinCmd::Rm { paths, recursive } => {
            for text in paths {
                let cid = resolve_arg(&text)?;
                pin::remove(&repo, &cid, recursive)?;
                writeln!(out, "unpinned {}", cid_string(&cid))?;
            }
        }
        PinCmd::Ls {
            paths,
            pin_type,
            quiet,
        } => {
            let Some(filter) = PinFilter::parse(&pin_type) else {
                bail!("invalid pin type {pin_type:?}: use direct, indirect, recursive or all");
            };
            let mut pins = pin::list(&repo, filter)?;
            if !paths.is_empty() {
                let wanted: Vec<_> = paths
                    .iter()
                    .map(|p| resolve_arg(p))
                    .collect::<Result<_>>()?;
                pins.retain(|(cid, _)| wanted.iter().any(|w| w.hash() == cid.hash()));
                if pins.is_empty() {
                    bail!("path '{}' is not pinned", paths.join(" "));
                }
            }
            for (cid, kind) in pins {
                if quiet {
                    writeln!(out, "{}", cid_string(&cid))?;
                } else {
                    writeln!(out, "{} {kind}", cid_string(&cid))?;
                }
            }
        }
    }
    finish(out)
}
