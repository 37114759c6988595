//! `rsipfs id` and `rsipfs swarm …`: the node's identity and connections.

use std::io::Write;

use anyhow::{Result, bail};

use super::args::{PeeringCmd, SwarmCmd};
use super::remote::Api;
use super::{Ctx, Opened, finish, stdout};

pub fn id(ctx: &Ctx, peer: Option<String>) -> Result<()> {
    let body = match (ctx.open_repo_or_api()?, peer) {
        (Opened::Api(api), None) => api.json("id", &[])?,
        (Opened::Api(api), Some(peer)) => api.json("id", &[("arg", peer)])?,
        // Offline, as Kubo: the identity, and no addresses.
        (Opened::Repo(repo), None) => rsipfs::api::node::identity(&repo.keypair()?.public(), &[]),
        (Opened::Repo(_), Some(_)) => {
            bail!("this command must be run in online mode: start `rsipfs daemon`")
        }
    };
    let mut out = stdout();
    writeln!(out, "{}", serde_json::to_string_pretty(&body)?)?;
    finish(out)
}

fn online(ctx: &Ctx) -> Result<Api> {
    match ctx.open_repo_or_api()? {
        Opened::Api(api) => Ok(api),
        Opened::Repo(_) => bail!("this command must be run in online mode: start `rsipfs daemon`"),
    }
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value["Strings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

pub fn swarm(ctx: &Ctx, cmd: SwarmCmd) -> Result<()> {
    let api = online(ctx)?;
    let mut out = stdout();
    let lines = match cmd {
        SwarmCmd::Connect { addrs } => {
            let args: Vec<(&str, String)> = addrs.into_iter().map(|a| ("arg", a)).collect();
            strings(&api.json("swarm/connect", &args)?)
        }
        SwarmCmd::Disconnect { addrs } => {
            let args: Vec<(&str, String)> = addrs.into_iter().map(|a| ("arg", a)).collect();
            strings(&api.json("swarm/disconnect", &args)?)
        }
        SwarmCmd::Peers {
            latency,
            direction,
            verbose,
        } => api.json("swarm/peers", &[])?["Peers"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| {
                let mut line = format!(
                    "{}/p2p/{}",
                    p["Addr"].as_str().unwrap_or_default(),
                    p["Peer"].as_str().unwrap_or_default()
                );
                if latency || verbose {
                    match p["Latency"].as_str().filter(|l| !l.is_empty()) {
                        Some(l) => line.push_str(&format!(" {l}")),
                        None => line.push_str(" n/a"),
                    }
                }
                if direction || verbose {
                    let dir = match p["Direction"].as_u64() {
                        Some(2) => "outbound",
                        Some(1) => "inbound",
                        _ => "unknown",
                    };
                    line.push_str(&format!(" {dir}"));
                }
                line
            })
            .collect(),
        SwarmCmd::Addrs => strings(&api.json("swarm/addrs/listen", &[])?),
        SwarmCmd::Peering(cmd) => peering(&api, cmd)?,
    };
    for line in lines {
        writeln!(out, "{line}")?;
    }
    finish(out)
}

fn peering(api: &Api, cmd: PeeringCmd) -> Result<Vec<String>> {
    let statuses = |verb: &str, body: serde_json::Value| -> Vec<String> {
        body["Peers"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| {
                format!(
                    "{verb} {} {}",
                    p["ID"].as_str().unwrap_or_default(),
                    p["Status"].as_str().unwrap_or_default()
                )
            })
            .collect()
    };
    Ok(match cmd {
        PeeringCmd::Add { addrs } => {
            let args: Vec<(&str, String)> = addrs.into_iter().map(|a| ("arg", a)).collect();
            statuses("add", api.json("swarm/peering/add", &args)?)
        }
        PeeringCmd::Rm { ids } => {
            let args: Vec<(&str, String)> = ids.into_iter().map(|a| ("arg", a)).collect();
            statuses("remove", api.json("swarm/peering/rm", &args)?)
        }
        PeeringCmd::Ls => api.json("swarm/peering/ls", &[])?["Peers"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| p["ID"].as_str().unwrap_or_default().to_string())
            .collect(),
    })
}
