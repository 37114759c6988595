//! The JSON `config` file, with Kubo's key names, and dotted-key access like
//! `ipfs config KEY [VALUE]`.

use std::path::Path;

use serde_json::{Value, json};

use super::keys::Identity;
use super::{RepoError, Result, io_err, write_atomic};

/// The public IPFS network's bootstrap peers, as Kubo dials them: its
/// `Bootstrap: ["auto"]` stands for this list when no AutoConf answer is at
/// hand (boxo autoconf/fallbacks.go `FallbackBootstrapPeers`), and the list
/// Kubo 0.36 wrote into the config as is.
pub const DEFAULT_BOOTSTRAP: [&str; 7] = [
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
    "/dnsaddr/bootstrap.libp2p.io/p2p/QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt",
    "/dnsaddr/va1.bootstrap.libp2p.io/p2p/12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8",
    "/ip4/104.131.131.82/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
    "/ip4/104.131.131.82/udp/4001/quic-v1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
];

/// Kubo's default swarm addresses (config/init.go `addressesConfig`) for
/// the transports rsipfs speaks or will: TCP and QUIC, IPv4 and IPv6, in
/// Kubo's order (its WebRTC and WebTransport entries left out).
pub const DEFAULT_SWARM: [&str; 4] = [
    "/ip4/0.0.0.0/tcp/4001",
    "/ip6/::/tcp/4001",
    "/ip4/0.0.0.0/udp/4001/quic-v1",
    "/ip6/::/udp/4001/quic-v1",
];

pub fn default_addresses() -> Value {
    json!({
        "Swarm": DEFAULT_SWARM,
        "API": "/ip4/127.0.0.1/tcp/5001",
        "Gateway": "/ip4/127.0.0.1/tcp/8080",
        "Announce": [],
        "NoAnnounce": []
    })
}

/// The config `init` writes, but for the identity (see [`set_identity`]).
pub fn default_config() -> Value {
    json!({
        "Addresses": default_addresses(),
        "Bootstrap": DEFAULT_BOOTSTRAP,
        "Mounts": { "IPFS": "/ipfs", "IPNS": "/ipns", "MFS": "/mfs", "FuseAllowOther": false },
        "Datastore": {
            "Type": "fs-repo-v1",
            "BlocksPath": "blocks",
            "Path": "datastore",
            "Spec": { "blocks": "flat files, multihash hex, tiers 2/2", "datastore": "redb" },
            "GCPeriod": "1h",
            "StorageMax": "10GB"
        },
        "Import": {
            "CidVersion": 0,
            "UnixFSRawLeaves": false,
            "UnixFSChunker": "size-262144",
            "HashFunction": "sha2-256",
            "UnixFSHAMTDirectorySizeThreshold": "256KiB",
            "UnixFSHAMTDirectoryMaxFanout": 256
        },
        // rsipfs has no mDNS: nothing to enable.
        "Discovery": { "MDNS": { "Enabled": false } },
        "Routing": { "Type": "auto" },
        "Internal": {}
    })
}

pub fn set_identity(config: &mut Value, identity: &Identity) {
    config["Identity"] =
        json!({ "PeerID": identity.peer_id, "PrivKey": identity.private_key_base64 });
}

pub fn read(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| RepoError::Config {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    if !value.is_object() {
        return Err(RepoError::Config {
            path: path.display().to_string(),
            reason: "not a JSON object".into(),
        });
    }
    Ok(value)
}

pub fn write(path: &Path, value: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).expect("a JSON value serialises");
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// The value at a dotted key (`Addresses.API`); the empty key is the whole config.
pub fn get<'a>(config: &'a Value, key: &str) -> Option<&'a Value> {
    if key.is_empty() {
        return Some(config);
    }
    key.split('.').try_fold(config, |node, part| node.get(part))
}

pub fn get_mut<'a>(config: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    if key.is_empty() {
        return Some(config);
    }
    key.split('.')
        .try_fold(config, |node, part| node.get_mut(part))
}

/// Sets a dotted key, creating intermediate objects.
pub fn set(config: &mut Value, key: &str, value: Value) -> std::result::Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(format!("invalid key {key:?}"));
    }
    let (last, parents) = parts.split_last().expect("split yields one part at least");
    let mut node = config;
    for part in parents {
        let object = node
            .as_object_mut()
            .ok_or_else(|| format!("{key}: {part} is inside a non-object"))?;
        node = object.entry(part.to_string()).or_insert_with(|| json!({}));
    }
    let object = node
        .as_object_mut()
        .ok_or_else(|| format!("{key}: parent is not an object"))?;
    object.insert(last.to_string(), value);
    Ok(())
}
