//! `rsipfs pin add|rm|ls`.

use std::io::Write;

use anyhow::Result;
use rsipfs::commands::pins::{self, PinEntry, PinsChanged};

use super::args::PinCmd;
use super::{Ctx, args_query, finish, stdout};

pub fn pin(ctx: &Ctx, cmd: PinCmd) -> Result<()> {
    let opened = ctx.open_repo_or_api()?;
    let mut out = stdout();
    match cmd {
        PinCmd::Add { paths, recursive } => {
            let mut query = args_query(&paths);
            query.push(("recursive", recursive.to_string()));
            let changed: PinsChanged =
                opened.run("pin/add", &query, |core| pins::add(core, &paths, recursive))?;
            let how = if recursive {
                " recursively"
            } else {
                " directly"
            };
            for cid in changed.pins {
                writeln!(out, "pinned {cid}{how}")?;
            }
        }
        PinCmd::Rm { paths, recursive } => {
            let mut query = args_query(&paths);
            query.push(("recursive", recursive.to_string()));
            let changed: PinsChanged = opened.run("pin/rm", &query, |core| {
                pins::remove(core, &paths, recursive)
            })?;
            for cid in changed.pins {
                writeln!(out, "unpinned {cid}")?;
            }
        }
        PinCmd::Ls {
            paths,
            pin_type,
            quiet,
        } => {
            let mut query = args_query(&paths);
            query.push(("type", pin_type.clone()));
            query.push(("stream", "true".to_string()));
            let listed: Vec<PinEntry> =
                opened.run_lines("pin/ls", &query, |core| pins::list(core, &paths, &pin_type))?;
            for pin in listed {
                if quiet {
                    writeln!(out, "{}", pin.cid)?;
                } else {
                    writeln!(out, "{} {}", pin.cid, pin.kind)?;
                }
            }
        }
    }
    finish(out)
}
