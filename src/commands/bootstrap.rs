//! `bootstrap list|add|rm`: the config's `Bootstrap` list, edited as Kubo's
//! commands edit it. The running node reads it when it starts.

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CommandError, Core, bad_argument, failed};
use crate::repo::DEFAULT_BOOTSTRAP;

/// Kubo's answer to every bootstrap command.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct BootstrapPeers {
    #[serde(rename = "Peers")]
    pub peers: Vec<String>,
}

const KEY: &str = "Bootstrap";

/// Kubo's placeholder for its AutoConf list; rsipfs reads it as
/// [`DEFAULT_BOOTSTRAP`].
pub const AUTO: &str = "auto";

/// The list as the config holds it.
pub fn list(core: &Core) -> Result<BootstrapPeers, CommandError> {
    let config = core.repo.config_get("").map_err(failed)?;
    Ok(BootstrapPeers {
        peers: entries(&config)?,
    })
}

/// Adds `peers` (`default` or `auto` standing for the default list) before
/// the ones already there, each once; answers with every peer given.
pub fn add(core: &Core, peers: &[String], default: bool) -> Result<BootstrapPeers, CommandError> {
    let mut given: Vec<String> = Vec::new();
    let defaults = DEFAULT_BOOTSTRAP.iter().map(|p| p.to_string());
    if default {
        given.extend(defaults.clone());
    }
    for peer in peers {
        if peer == "default" || peer == AUTO {
            given.extend(defaults.clone());
        } else {
            check_peer_address(peer)?;
            given.push(peer.clone());
        }
    }
    if given.is_empty() {
        return Err(bad_argument("no bootstrap peers to add"));
    }
    let mut added: Vec<String> = Vec::new();
    for peer in given {
        if !added.contains(&peer) {
            added.push(peer);
        }
    }
    core.repo
        .config_update(|config| {
            let mut list = added.clone();
            for old in entries(config)? {
                if !list.contains(&old) {
                    list.push(old);
                }
            }
            config[KEY] = list.into();
            Ok(())
        })
        .map_err(failed)??;
    Ok(BootstrapPeers { peers: added })
}

/// Removes `peers`: `/p2p/<id>` alone takes every address of that peer,
/// `<address>/p2p/<id>` that address only. Answers with what went.
pub fn remove(core: &Core, peers: &[String]) -> Result<BootstrapPeers, CommandError> {
    let targets = group(peers)?;
    let removed = core
        .repo
        .config_update(|config| {
            let current = entries(config)?;
            if current.iter().any(|p| p == AUTO) {
                return Err(bad_argument(
                    "cannot remove individual bootstrap peers while the list holds Kubo's 'auto' \
                     placeholder: use `bootstrap rm --all`, then add the peers to keep",
                ));
            }
            let mut kept = Vec::new();
            let mut removed = Vec::new();
            for peer in group(&current)? {
                let Some(target) = targets.iter().find(|t| t.id == peer.id) else {
                    kept.push(peer);
                    continue;
                };
                if target.addrs.is_empty() {
                    removed.push(peer);
                    continue;
                }
                let (gone, stay): (Vec<Multiaddr>, Vec<Multiaddr>) = peer
                    .addrs
                    .into_iter()
                    .partition(|a| target.addrs.contains(a));
                if !gone.is_empty() {
                    removed.push(PeerAddrs {
                        id: peer.id,
                        addrs: gone,
                    });
                }
                if !stay.is_empty() {
                    kept.push(PeerAddrs {
                        id: peer.id,
                        addrs: stay,
                    });
                }
            }
            config[KEY] = strings(&kept).into();
            Ok(strings(&removed))
        })
        .map_err(failed)??;
    Ok(BootstrapPeers { peers: removed })
}

/// Empties the list; answers with what it held.
pub fn remove_all(core: &Core) -> Result<BootstrapPeers, CommandError> {
    let removed = core
        .repo
        .config_update(|config| {
            let removed = entries(config)?;
            config[KEY] = Value::Array(Vec::new());
            Ok::<_, CommandError>(removed)
        })
        .map_err(failed)??;
    Ok(BootstrapPeers { peers: removed })
}

/// The config's `Bootstrap` strings; missing or null is an empty list.
fn entries(config: &Value) -> Result<Vec<String>, CommandError> {
    match config.get(KEY) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| failed(format!("config {KEY} holds a non-string {item}")))
            })
            .collect(),
        Some(other) => Err(failed(format!("config {KEY} is {other}, not a list"))),
    }
}

/// A peer address as Kubo takes one: a transport, then `/p2p/<id>`.
fn check_peer_address(text: &str) -> Result<(), CommandError> {
    let mut addr: Multiaddr = text
        .parse()
        .map_err(|e| bad_argument(format!("{text}: {e}")))?;
    match addr.pop() {
        Some(Protocol::P2p(_)) if !addr.is_empty() => Ok(()),
        Some(Protocol::P2p(_)) => Err(bad_argument(format!(
            "bootstrap address without a transport: {text}"
        ))),
        _ => Err(bad_argument(format!("invalid bootstrap address: {text}"))),
    }
}

/// One peer and the addresses it is listed with.
struct PeerAddrs {
    id: PeerId,
    addrs: Vec<Multiaddr>,
}

/// Entries grouped by peer, in the order peers first appear.
fn group(entries: &[String]) -> Result<Vec<PeerAddrs>, CommandError> {
    let mut peers: Vec<PeerAddrs> = Vec::new();
    for text in entries {
        let mut addr: Multiaddr = text
            .parse()
            .map_err(|e| bad_argument(format!("{text}: {e}")))?;
        let Some(Protocol::P2p(id)) = addr.pop() else {
            return Err(bad_argument(format!("invalid bootstrap address: {text}")));
        };
        let index = match peers.iter().position(|p| p.id == id) {
            Some(index) => index,
            None => {
                peers.push(PeerAddrs {
                    id,
                    addrs: Vec::new(),
                });
                peers.len() - 1
            }
        };
        if !addr.is_empty() && !peers[index].addrs.contains(&addr) {
            peers[index].addrs.push(addr);
        }
    }
    Ok(peers)
}

fn strings(peers: &[PeerAddrs]) -> Vec<String> {
    let mut out = Vec::new();
    for peer in peers {
        if peer.addrs.is_empty() {
            out.push(Multiaddr::empty().with(Protocol::P2p(peer.id)).to_string());
        }
        for addr in &peer.addrs {
            out.push(addr.clone().with(Protocol::P2p(peer.id)).to_string());
        }
    }
    out
}
