//! The network options of the config, read as Kubo reads them:
//! `Swarm.ConnMgr`, `Swarm.ResourceMgr`, `Peering.Peers` and
//! `Addresses.Announce` / `AppendAnnounce` / `NoAnnounce`.

use anyhow::{Context, Result, bail};
use libp2p::{Multiaddr, PeerId};
use rsipfs::net::RoutingConfig;
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

/// Kubo's default delegated router: the IPNI at cid.contact.
pub const DEFAULT_DELEGATED_ROUTERS: &[&str] = &["https://cid.contact"];

/// `Routing.Type` and `Routing.DelegatedRouters`: whether the DHT is asked,
/// and which HTTP routers beside it. `auto` and `autoclient` (Kubo's
/// default) ask both; `dht`, `dhtclient` and `dhtserver` the DHT alone;
/// `delegated` the routers alone; `none` nothing.
pub fn routing(config: &Value) -> Result<RoutingConfig> {
    let kind = config
        .pointer("/Routing/Type")
        .filter(|v| !v.is_null())
        .map(|v| v.as_str().context("Routing.Type: not a string"))
        .transpose()?
        .unwrap_or("auto");
    let (dht, delegated) = match kind {
        "auto" | "autoclient" => (true, true),
        "dht" | "dhtclient" | "dhtserver" => (true, false),
        "delegated" => (false, true),
        "none" => (false, false),
        other => bail!(
            "Routing.Type: {other:?} is not supported (auto, autoclient, dht, dhtclient, dhtserver, delegated or none)"
        ),
    };
    let routers = match config
        .pointer("/Routing/DelegatedRouters")
        .filter(|v| !v.is_null())
    {
        _ if !delegated => Vec::new(),
        None => DEFAULT_DELEGATED_ROUTERS
            .iter()
            .map(|u| u.to_string())
            .collect(),
        Some(list) => {
            let list = list
                .as_array()
                .context("Routing.DelegatedRouters: not a list")?;
            let mut routers = Vec::new();
            for entry in list {
                let url = entry
                    .as_str()
                    .context("Routing.DelegatedRouters: an entry is not a string")?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    bail!("Routing.DelegatedRouters: {url:?} is not an http(s) URL");
                }
                routers.push(url.to_string());
            }
            routers
        }
    };
    Ok(RoutingConfig { dht, routers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routing_types_choose_the_dht_and_the_routers() {
        let r = |v: Value| routing(&v).map_err(|e| e.to_string());
        let auto = r(json!({})).unwrap();
        assert!(auto.dht);
        assert_eq!(auto.routers, vec!["https://cid.contact".to_string()]);
        let none_listed = r(json!({"Routing": {"Type": "auto", "DelegatedRouters": []}})).unwrap();
        assert!(none_listed.dht && none_listed.routers.is_empty());
        let dht = r(json!({"Routing": {"Type": "dht", "DelegatedRouters": ["http://a"]}})).unwrap();
        assert!(dht.dht && dht.routers.is_empty());
        let delegated = r(json!({"Routing": {"Type": "delegated",
            "DelegatedRouters": ["http://127.0.0.1:1/"]}}))
        .unwrap();
        assert!(!delegated.dht);
        assert_eq!(delegated.routers, vec!["http://127.0.0.1:1/".to_string()]);
        let off = r(json!({"Routing": {"Type": "none"}})).unwrap();
        assert!(!off.dht && off.routers.is_empty());
        assert!(r(json!({"Routing": {"Type": "custom"}})).is_err());
        assert!(r(json!({"Routing": {"DelegatedRouters": ["ftp://x"]}})).is_err());
        assert!(r(json!({"Routing": {"DelegatedRouters": "http://x"}})).is_err());
    }
}
