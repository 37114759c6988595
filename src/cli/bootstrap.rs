//! `rsipfs bootstrap list|add|rm`: Kubo's text, one peer a line, sorted.

use std::io::Write;

use anyhow::Result;
use rsipfs::commands::bootstrap;

use super::args::BootstrapCmd;
use super::{Ctx, args_query, finish, stdout};

pub fn run(ctx: &Ctx, cmd: BootstrapCmd) -> Result<()> {
    let opened = ctx.open_repo_or_api()?;
    let (prefix, answer) = match cmd {
        BootstrapCmd::List => ("", opened.run("bootstrap/list", &[], bootstrap::list)?),
        BootstrapCmd::Add { peers, default } => {
            let mut query = args_query(&peers);
            query.push(("default", default.to_string()));
            let added = opened.run("bootstrap/add", &query, |core| {
                bootstrap::add(core, &peers, default)
            })?;
            ("added ", added)
        }
        // `rm all` is Kubo's spelling of `rm --all` too.
        BootstrapCmd::Rm { peers, all } if all || peers == ["all"] => (
            "removed ",
            opened.run("bootstrap/rm/all", &[], bootstrap::remove_all)?,
        ),
        BootstrapCmd::Rm { peers, .. } => (
            "removed ",
            opened.run("bootstrap/rm", &args_query(&peers), |core| {
                bootstrap::remove(core, &peers)
            })?,
        ),
    };
    let mut peers = answer.peers;
    peers.sort();
    let mut out = stdout();
    for peer in peers {
        writeln!(out, "{prefix}{peer}")?;
    }
    finish(out)
}
