//! `rsipfs id` and `rsipfs swarm …`: the node's identity and connections.

use std::io::Write;

use anyhow::{Result, bail};

use super::args::{PeeringCmd, RoutingCmd, SwarmCmd};
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

/// `stats provide`, laid out as Kubo prints it.
pub fn stats_provide(ctx: &Ctx) -> Result<()> {
    let body = online(ctx)?.json("stats/provide", &[])?;
    let number = |field: &str| human_number(body[field].as_u64().unwrap_or_default());
    let duration = |field: &str| {
        let nanos = body[field].as_u64().unwrap_or_default();
        format!("{:?}", std::time::Duration::from_nanos(nanos))
    };
    let mut out = stdout();
    writeln!(out, "TotalProvides:          {}", number("TotalProvides"))?;
    writeln!(
        out,
        "AvgProvideDuration:     {}",
        duration("AvgProvideDuration")
    )?;
    writeln!(
        out,
        "LastReprovideDuration:  {}",
        duration("LastReprovideDuration")
    )?;
    writeln!(
        out,
        "LastReprovideBatchSize: {}",
        number("LastReprovideBatchSize")
    )?;
    writeln!(out, "Queued:                 {}", number("Queued"))?;
    finish(out)
}

/// `stats dht`: Kubo's layout (a header per DHT, then its buckets), with
/// the DHT's mode on a line of its own.
pub fn stats_dht(ctx: &Ctx) -> Result<()> {
    let tables: Vec<serde_json::Value> = online(ctx)?.lines("stats/dht", &[])?;
    let mut out = stdout();
    for table in &tables {
        let buckets = table["Buckets"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let peers = |bucket: &serde_json::Value| {
            bucket["Peers"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|p| p["ID"].as_str().map(str::to_string))
                .collect::<Vec<_>>()
        };
        let total: usize = buckets.iter().map(|b| peers(b).len()).sum();
        let name = table["Name"].as_str().unwrap_or_default();
        writeln!(out, "DHT {name} ({total} peers):")?;
        writeln!(
            out,
            "  Mode: {}",
            table["Mode"].as_str().unwrap_or_default()
        )?;
        if let Some(requests) = table["RequestsAnswered"].as_object() {
            let counts: Vec<String> = requests
                .iter()
                .map(|(kind, n)| format!("{kind} {}", n.as_u64().unwrap_or_default()))
                .collect();
            writeln!(out, "  Requests answered: {}", counts.join(", "))?;
        }
        for (i, bucket) in buckets.iter().enumerate() {
            let ids = peers(bucket);
            writeln!(out, "  Bucket {i:2} ({} peers):", ids.len())?;
            for id in ids {
                writeln!(out, "    {id}")?;
            }
        }
        writeln!(out)?;
    }
    finish(out)
}

/// Kubo's humanized count: `1234` is `1.2k (1,234)`.
fn human_number(n: u64) -> String {
    if n < 1000 {
        return n.to_string();
    }
    let (scaled, unit) = if n < 1_000_000 {
        (n as f64 / 1e3, "k")
    } else {
        (n as f64 / 1e6, "M")
    };
    let digits = n.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{scaled:.1}{unit} ({grouped})")
}

/// The `Responses` of Kubo's query events, each as (ID, addresses).
fn responses(events: &[serde_json::Value]) -> Vec<(String, Vec<String>)> {
    events
        .iter()
        .flat_map(|e| e["Responses"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            let addrs = r["Addrs"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect();
            (r["ID"].as_str().unwrap_or_default().to_string(), addrs)
        })
        .collect()
}

pub fn routing(ctx: &Ctx, cmd: RoutingCmd) -> Result<()> {
    if let RoutingCmd::Put {
        key,
        file,
        allow_offline,
    } = cmd
    {
        return routing_put(ctx, key, &file, allow_offline);
    }
    let api = online(ctx)?;
    let mut out = stdout();
    match cmd {
        RoutingCmd::Provide { recursive, cids } => {
            let mut query: Vec<(&str, String)> = cids.into_iter().map(|c| ("arg", c)).collect();
            query.push(("recursive", recursive.to_string()));
            api.bytes("routing/provide", &query)?;
        }
        RoutingCmd::Findprovs { num_providers, cid } => {
            let query = [("arg", cid), ("num-providers", num_providers.to_string())];
            let events: Vec<serde_json::Value> = api.lines("routing/findprovs", &query)?;
            for (id, _) in responses(&events) {
                writeln!(out, "{id}")?;
            }
        }
        RoutingCmd::Findpeer { peer } => {
            let events: Vec<serde_json::Value> = api.lines("routing/findpeer", &[("arg", peer)])?;
            for (_, addrs) in responses(&events) {
                for addr in addrs {
                    writeln!(out, "{addr}")?;
                }
            }
        }
        RoutingCmd::Get { key } => {
            let events: Vec<serde_json::Value> = api.lines("routing/get", &[("arg", key)])?;
            let extra = events
                .iter()
                .find_map(|e| e["Extra"].as_str())
                .unwrap_or_default();
            let value = multibase::decode(format!("M{extra}"))
                .map_err(|e| anyhow::anyhow!("the API sent a malformed value: {e}"))?
                .1;
            out.write_all(&value)?;
        }
        RoutingCmd::Put { .. } => bail!("routing put is handled above"),
    }
    finish(out)
}

/// `routing put`: through the daemon, or with `--allow-offline` into the
/// repository alone. Prints our peer ID, as Kubo does.
fn routing_put(ctx: &Ctx, key: String, file: &std::path::Path, allow_offline: bool) -> Result<()> {
    if !key.starts_with("/ipns/") {
        bail!("{key:?}: only /ipns/<name> keys can be put");
    }
    let record = super::name::read_record(Some(file))?;
    let query = [
        ("arg", key.clone()),
        ("allow-offline", allow_offline.to_string()),
    ];
    let event: serde_json::Value =
        ctx.open_repo_or_api()?
            .run_with_file("routing/put", &query, record.clone(), |core| {
                if !allow_offline {
                    return Err(rsipfs::commands::CommandError::BadArgument(
                        "can't put while offline: pass `--allow-offline` to override".into(),
                    ));
                }
                rsipfs::commands::name::put(core, &key, &record)?;
                Ok(serde_json::json!({"ID": core.repo.peer_id()}))
            })?;
    let mut out = stdout();
    writeln!(out, "{}", event["ID"].as_str().unwrap_or_default())?;
    finish(out)
}
