//! The JSON `config` file, with Kubo's key names, and dotted-key access like
//! `ipfs config KEY [VALUE]`.

use std::path::Path;

use serde_json::{Value, json};

use super::keys::Identity;
use super::{RepoError, Result, io_err, write_atomic};

pub fn default_config(identity: &Identity) -> Value {
    json!({
        "Identity": { "PeerID": identity.peer_id, "PrivKey": identity.private_key_base64 },
        "Addresses": {
            "Swarm": ["/ip4/0.0.0.0/tcp/4001"],
            "API": "/ip4/127.0.0.1/tcp/5001",
            "Gateway": "/ip4/127.0.0.1/tcp/8080",
            "Announce": [],
            "NoAnnounce": []
        },
        "Bootstrap": [],
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
        "Discovery": { "MDNS": { "Enabled": false } },
        "Routing": { "Type": "dht" },
        "Internal": {}
    })
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
