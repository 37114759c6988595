//! The network options of the config, read as Kubo reads them:
//! `Swarm.ConnMgr`, `Swarm.ResourceMgr`, `Peering.Peers` and
//! `Addresses.Announce` / `AppendAnnounce` / `NoAnnounce`.

use anyhow::{Context, Result, bail};
use libp2p::{Multiaddr, PeerId};
use rsipfs::net::announce::AnnounceConfig;
use rsipfs::net::connmgr::Watermarks;
use rsipfs::net::limits::{self, Limits};
use serde_json::Value;

/// `Swarm.ConnMgr`: Kubo's `basic` manager with its defaults for what is
/// missing; None for type `none`.
pub fn watermarks(config: &Value) -> Result<Option<Watermarks>> {
    let section = config.pointer("/Swarm/ConnMgr");
    let field = |name: &str| section.and_then(|s| s.get(name)).filter(|v| !v.is_null());
    match field("Type").and_then(Value::as_str).unwrap_or("basic") {
        "basic" => {}
        "none" => return Ok(None),
        other => bail!("Swarm.ConnMgr.Type: unknown type {other:?} (basic or none)"),
    }
    let mut marks = Watermarks::default();
    if let Some(low) = field("LowWater") {
        marks.low = low
            .as_u64()
            .context("Swarm.ConnMgr.LowWater: not a number")? as usize;
    }
    if let Some(high) = field("HighWater") {
        marks.high = high
            .as_u64()
            .context("Swarm.ConnMgr.HighWater: not a number")? as usize;
    }
    if let Some(grace) = field("GracePeriod") {
        let text = grace
            .as_str()
            .context("Swarm.ConnMgr.GracePeriod: not a duration")?;
        marks.grace = rsipfs::go_duration::parse(text)
            .with_context(|| format!("Swarm.ConnMgr.GracePeriod: bad duration {text:?}"))?;
    }
    if marks.low > marks.high {
        bail!(
            "Swarm.ConnMgr: LowWater {} is above HighWater {}",
            marks.low,
            marks.high
        );
    }
    Ok(Some(marks))
}

/// `Swarm.ResourceMgr`: the limits derived from `MaxMemory` and
/// `MaxFileDescriptors`, or from the system as Kubo does when they are
/// unset. `Enabled: false` lifts them (as far as the OS allows).
pub fn resource_limits(config: &Value) -> Result<Limits> {
    let section = config.pointer("/Swarm/ResourceMgr");
    let field = |name: &str| section.and_then(|s| s.get(name)).filter(|v| !v.is_null());
    if field("Enabled").and_then(Value::as_bool) == Some(false) {
        return Ok(Limits::derive(u64::MAX, u64::MAX));
    }
    let memory = match field("MaxMemory") {
        None => limits::system_memory() / 2,
        Some(Value::Number(n)) => n.as_u64().context("Swarm.ResourceMgr.MaxMemory")?,
        Some(Value::String(text)) => limits::parse_size(text)
            .with_context(|| format!("Swarm.ResourceMgr.MaxMemory: bad size {text:?}"))?,
        Some(_) => bail!("Swarm.ResourceMgr.MaxMemory: not a size"),
    };
    let fds = match field("MaxFileDescriptors") {
        None => limits::fd_limit() / 2,
        Some(v) => v
            .as_u64()
            .context("Swarm.ResourceMgr.MaxFileDescriptors: not a number")?,
    };
    Ok(Limits::derive(memory, fds))
}

/// `Peering.Peers`: `[{"ID": …, "Addrs": […]}]`.
pub fn peering(config: &Value) -> Result<Vec<(PeerId, Vec<Multiaddr>)>> {
    let Some(peers) = config.pointer("/Peering/Peers").filter(|v| !v.is_null()) else {
        return Ok(Vec::new());
    };
    let peers = peers.as_array().context("Peering.Peers: not a list")?;
    peers
        .iter()
        .map(|entry| {
            let id = entry["ID"]
                .as_str()
                .context("Peering.Peers: an entry has no ID")?;
            let peer: PeerId = id
                .parse()
                .with_context(|| format!("Peering.Peers: bad peer ID {id:?}"))?;
            let addrs = addresses("Peering.Peers", &entry["Addrs"])?;
            Ok((peer, addrs))
        })
        .collect()
}

pub fn announce(config: &Value) -> Result<AnnounceConfig> {
    let list = |key: &str| addresses(&format!("Addresses.{key}"), &config["Addresses"][key]);
    Ok(AnnounceConfig {
        announce: list("Announce")?,
        append: list("AppendAnnounce")?,
        no_announce: list("NoAnnounce")?,
    })
}

fn addresses(key: &str, value: &Value) -> Result<Vec<Multiaddr>> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    value
        .as_array()
        .with_context(|| format!("{key}: not a list"))?
        .iter()
        .map(|v| {
            let text = v.as_str().with_context(|| format!("{key}: not a string"))?;
            text.parse()
                .with_context(|| format!("{key}: bad address {text:?}"))
        })
        .collect()
}
