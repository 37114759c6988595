//! The network options of the config, read as Kubo reads them:
//! `Swarm.ConnMgr`, `Swarm.ResourceMgr`, `Peering.Peers` and
//! `Addresses.Announce` / `AppendAnnounce` / `NoAnnounce`, and what
//! decides reachability: `AutoNAT`, `Internal.Libp2pForceReachability`,
//! `Swarm.RelayClient`, `Swarm.RelayService`, `Swarm.EnableHolePunching`.

use anyhow::{Context, Result, bail};
use libp2p::{Multiaddr, PeerId};
use rsipfs::net::RoutingConfig;
use rsipfs::net::announce::AnnounceConfig;
use rsipfs::net::connmgr::Watermarks;
use rsipfs::net::limits::{self, Limits};
use rsipfs::net::reach::{ReachConfig, Reachability, RelayLimits};
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

/// AutoNAT, relays and hole punching, with Kubo's defaults for what is
/// unset.
pub fn reach(config: &Value) -> Result<ReachConfig> {
    let mut reach = ReachConfig::default();
    let field = |pointer: &str| config.pointer(pointer).filter(|v| !v.is_null());
    let flag = |pointer: &str| -> Result<Option<bool>> {
        field(pointer)
            .map(|v| {
                v.as_bool()
                    .with_context(|| format!("{}: not true or false", dotted(pointer)))
            })
            .transpose()
    };
    match field("/AutoNAT/ServiceMode").and_then(Value::as_str) {
        None | Some("") | Some("enabled") => {}
        Some("disabled") => reach.autonat_service = false,
        Some(other) => bail!("AutoNAT.ServiceMode: unknown mode {other:?} (enabled or disabled)"),
    }
    reach.autonat_private = flag("/AutoNAT/AllowPrivateAddresses")?.unwrap_or(false);
    reach.forced = match field("/Internal/Libp2pForceReachability").and_then(Value::as_str) {
        None | Some("") => None,
        Some("public") => Some(Reachability::Public),
        Some("private") => Some(Reachability::Private),
        Some(other) => {
            bail!("Internal.Libp2pForceReachability: unknown value {other:?} (public or private)")
        }
    };
    reach.relay_client = flag("/Swarm/RelayClient/Enabled")?;
    reach.static_relays = addresses(
        "Swarm.RelayClient.StaticRelays",
        &config["Swarm"]["RelayClient"]["StaticRelays"],
    )?;
    reach.hole_punching = flag("/Swarm/EnableHolePunching")?.unwrap_or(true);
    reach.relay_service = match flag("/Swarm/RelayService/Enabled")? {
        Some(false) => None,
        _ => Some(relay_limits(config)?),
    };
    Ok(reach)
}

/// `Swarm.RelayService`'s limits.
fn relay_limits(config: &Value) -> Result<RelayLimits> {
    let mut limits = RelayLimits::default();
    let field = |name: &str| {
        config
            .pointer(&format!("/Swarm/RelayService/{name}"))
            .filter(|v| !v.is_null())
    };
    let count = |name: &str, into: &mut usize| -> Result<()> {
        if let Some(v) = field(name) {
            *into = v
                .as_u64()
                .with_context(|| format!("Swarm.RelayService.{name}: not a number"))?
                as usize;
        }
        Ok(())
    };
    count("MaxReservations", &mut limits.max_reservations)?;
    count(
        "MaxReservationsPerPeer",
        &mut limits.max_reservations_per_peer,
    )?;
    count("MaxCircuits", &mut limits.max_circuits)?;
    let duration = |name: &str| -> Result<Option<std::time::Duration>> {
        field(name)
            .map(|v| {
                let text = v
                    .as_str()
                    .with_context(|| format!("Swarm.RelayService.{name}: not a duration"))?;
                rsipfs::go_duration::parse(text)
                    .with_context(|| format!("Swarm.RelayService.{name}: bad duration {text:?}"))
            })
            .transpose()
    };
    if let Some(ttl) = duration("ReservationTTL")? {
        limits.reservation_ttl = ttl;
    }
    if let Some(limit) = duration("Limit/Duration")? {
        limits.circuit_duration = limit;
    }
    match field("Limit/Data") {
        None => {}
        Some(Value::Number(n)) => {
            limits.circuit_data = n
                .as_u64()
                .context("Swarm.RelayService.Limit.Data: not a size")?
        }
        Some(Value::String(text)) => {
            limits.circuit_data = limits::parse_size(text)
                .with_context(|| format!("Swarm.RelayService.Limit.Data: bad size {text:?}"))?
        }
        Some(_) => bail!("Swarm.RelayService.Limit.Data: not a size"),
    }
    Ok(limits)
}

/// `/A/B` as `A.B`, for messages.
fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
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

    #[test]
    fn reachability_config_reads_as_kubo_writes_it() {
        let relay =
            "/ip4/1.2.3.4/udp/1/quic-v1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN";
        let config = json!({
            "AutoNAT": {"ServiceMode": "disabled"},
            "Internal": {"Libp2pForceReachability": "private"},
            "Swarm": {
                "EnableHolePunching": false,
                "RelayClient": {"Enabled": true, "StaticRelays": [relay]},
                "RelayService": {
                    "MaxReservations": 3,
                    "ReservationTTL": "30m",
                    "Limit": {"Duration": "10m", "Data": "4MiB"}
                }
            }
        });
        let reach = reach(&config).unwrap();
        assert!(!reach.autonat_service && !reach.hole_punching);
        assert_eq!(reach.forced, Some(Reachability::Private));
        assert_eq!(reach.relay_client, Some(true));
        assert_eq!(reach.static_relays[0].to_string(), relay);
        let limits = reach.relay_service.unwrap();
        assert_eq!(limits.max_reservations, 3);
        assert_eq!(limits.reservation_ttl.as_secs(), 1800);
        assert_eq!(limits.circuit_duration.as_secs(), 600);
        assert_eq!(limits.circuit_data, 4 << 20);
        assert_eq!(limits.max_circuits, RelayLimits::default().max_circuits);
    }

    #[test]
    fn kubo_defaults_when_unset_and_bad_values_refused() {
        let reach = reach(&json!({})).unwrap();
        assert!(reach.autonat_service && reach.hole_punching && reach.forced.is_none());
        assert_eq!(reach.relay_service, Some(RelayLimits::default()));
        let off = json!({"Swarm": {"RelayService": {"Enabled": false}}});
        assert!(super::reach(&off).unwrap().relay_service.is_none());
        for bad in [
            json!({"Internal": {"Libp2pForceReachability": "sometimes"}}),
            json!({"AutoNAT": {"ServiceMode": "maybe"}}),
            json!({"Swarm": {"RelayService": {"Limit": {"Duration": "soon"}}}}),
            json!({"Swarm": {"RelayClient": {"StaticRelays": ["not an address"]}}}),
        ] {
            assert!(super::reach(&bad).is_err(), "{bad}");
        }
    }
}
