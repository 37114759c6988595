//! `/api/v0/id` and `/api/v0/swarm/*`.

use std::time::Duration;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{ApiError, ApiState, Args, blocking};
use crate::net::NetHandle;

type Reply = Result<Response, ApiError>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

fn online(state: &ApiState) -> Result<NetHandle, ApiError> {
    state
        .net
        .clone()
        .ok_or_else(|| ApiError::internal("this command must be run in online mode"))
}

/// The fields of `ipfs id` that the node knows.
pub fn identity(public: &libp2p::identity::PublicKey, addrs: &[String]) -> serde_json::Value {
    let id = public.to_peer_id().to_string();
    let key = multibase::encode(multibase::Base::Base64Pad, public.encode_protobuf());
    json!({
        "ID": id,
        "PublicKey": &key[1..],
        "Addresses": addrs.iter().map(|a| format!("{a}/p2p/{id}")).collect::<Vec<_>>(),
        "AgentVersion": format!("rsipfs/{}", env!("CARGO_PKG_VERSION")),
        "Protocols": [
            "/ipfs/bitswap", "/ipfs/bitswap/1.0.0", "/ipfs/bitswap/1.1.0",
            "/ipfs/bitswap/1.2.0", "/ipfs/id/1.0.0", "/ipfs/ping/1.0.0",
        ],
    })
}

/// Our identity with the addresses we announce, or with `arg`, what a
/// connected peer told us about itself.
pub async fn id(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let net = online(&state)?;
    let args = Args::parse(query.as_deref());
    let peer = match args.args().first() {
        Some(text) => Some(
            text.parse::<libp2p::PeerId>()
                .map_err(|e| ApiError::bad_request(format!("{text}: {e}")))?,
        ),
        None => None,
    };
    let body = blocking(move || match peer {
        None => {
            let addrs: Vec<String> = net
                .announced_addrs()
                .iter()
                .map(|a| a.to_string())
                .collect();
            let mut body = identity(&net.public_key, &addrs);
            // Beyond Kubo's fields: what AutoNAT (or the config) says.
            if let Some(reachability) = net.reachability() {
                body["Reachability"] = json!(reachability.to_string());
            }
            Ok(body)
        }
        Some(peer) => {
            let info = net.identity_of(peer).ok_or_else(|| {
                ApiError::internal(format!("{peer}: not connected, nothing known of it"))
            })?;
            let key = multibase::encode(
                multibase::Base::Base64Pad,
                info.public_key.encode_protobuf(),
            );
            Ok(json!({
                "ID": peer.to_string(),
                "PublicKey": &key[1..],
                "Addresses": info.addrs.iter().map(|a| format!("{a}/p2p/{peer}")).collect::<Vec<_>>(),
                "AgentVersion": info.agent,
                "Protocols": info.protocols,
            }))
        }
    })
    .await?;
    Ok(Json(body).into_response())
}

pub async fn connect(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let net = online(&state)?;
    let args = Args::parse(query.as_deref());
    let addrs: Vec<String> = args.args().into_iter().map(str::to_string).collect();
    if addrs.is_empty() {
        return Err(ApiError::bad_request("argument \"address\" is required"));
    }
    let lines = blocking(move || {
        let mut lines = Vec::new();
        for text in addrs {
            let addr = text
                .parse()
                .map_err(|e| ApiError::bad_request(format!("{text}: {e}")))?;
            let peer = net
                .connect(&addr, CONNECT_TIMEOUT)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            lines.push(format!("connect {peer} success"));
        }
        Ok(lines)
    })
    .await?;
    Ok(Json(json!({ "Strings": lines })).into_response())
}

pub async fn disconnect(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let net = online(&state)?;
    let args = Args::parse(query.as_deref());
    let mut lines = Vec::new();
    for text in args.args() {
        let addr: libp2p::Multiaddr = text
            .parse()
            .map_err(|e| ApiError::bad_request(format!("{text}: {e}")))?;
        let Some(libp2p::multiaddr::Protocol::P2p(peer)) = addr.iter().last() else {
            return Err(ApiError::bad_request(format!("{text}: no /p2p/<peer id>")));
        };
        net.disconnect(peer);
        lines.push(format!("disconnect {peer} success"));
    }
    Ok(Json(json!({ "Strings": lines })).into_response())
}

pub async fn peers(State(state): State<ApiState>) -> Reply {
    let net = online(&state)?;
    let peers = blocking(move || Ok(net.peers())).await?;
    let peers: Vec<serde_json::Value> = peers
        .into_iter()
        .map(|p| {
            json!({
                "Addr": p.addr.to_string(),
                "Peer": p.peer.to_string(),
                // Kubo's network.Direction: 1 inbound, 2 outbound.
                "Direction": if p.outbound { 2 } else { 1 },
                "Latency": p.latency.map(crate::go_duration::format).unwrap_or_default(),
            })
        })
        .collect();
    Ok(Json(json!({ "Peers": peers })).into_response())
}

pub async fn listen_addrs(State(state): State<ApiState>) -> Reply {
    let net = online(&state)?;
    let addrs = blocking(move || Ok(net.listen_addrs())).await?;
    let addrs: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    Ok(Json(json!({ "Strings": addrs })).into_response())
}

/// `ipfs bitswap stat`: what we want now, from whom, and the block counters.
/// Kubo's `stats provide`: durations in nanoseconds, as Go's JSON has them.
pub async fn provide_stat(State(state): State<ApiState>) -> Reply {
    let net = online(&state)?;
    let stats = net.provide_stats();
    let nanos = u64::try_from(stats.last_reprovide_duration.as_nanos()).unwrap_or(u64::MAX);
    Ok(Json(json!({
        "TotalProvides": stats.total_provides,
        "AvgProvideDuration": 0,
        "LastReprovideDuration": nanos,
        "LastReprovideBatchSize": stats.last_reprovide_batch_size,
        "Queued": stats.queued,
    }))
    .into_response())
}

/// `stats dht`: each DHT's mode and routing table, one object per DHT as
/// Kubo streams them (with `Mode` beside Kubo's fields).
pub async fn dht_stat(State(state): State<ApiState>) -> Reply {
    let net = online(&state)?;
    let tables = blocking(move || Ok(net.dht_tables())).await?;
    let tables: Vec<serde_json::Value> = tables
        .iter()
        .map(|table| {
            json!({
                "Name": table.name,
                "Mode": if table.server { "server" } else { "client" },
                "Buckets": table.buckets.iter().map(|peers| json!({
                    "Peers": peers.iter().map(|p| json!({ "ID": p.to_string() })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "RequestsAnswered": {
                    "FIND_NODE": table.requests.find_node,
                    "GET_PROVIDERS": table.requests.get_providers,
                    "ADD_PROVIDER": table.requests.add_provider,
                    "GET_VALUE": table.requests.get_value,
                    "PUT_VALUE": table.requests.put_value,
                },
            })
        })
        .collect();
    Ok(super::ndjson(&tables))
}

pub async fn bitswap_stat(State(state): State<ApiState>) -> Reply {
    let net = online(&state)?;
    let (wantlist, peers, stats) =
        blocking(move || Ok((net.wantlist(), net.peers(), net.bitswap_stats()))).await?;
    let wantlist: Vec<serde_json::Value> = wantlist
        .iter()
        .map(|cid| json!({ "/": crate::codec::cid_string(cid) }))
        .collect();
    let peers: Vec<String> = peers.iter().map(|p| p.peer.to_string()).collect();
    Ok(Json(json!({
        "Wantlist": wantlist,
        "Peers": peers,
        "BlocksReceived": stats.blocks_received,
        "DataReceived": stats.data_received,
        "DupBlksReceived": stats.dup_blocks_received,
        "DupDataReceived": stats.dup_data_received,
        "BlocksSent": stats.blocks_sent,
        "DataSent": stats.data_sent,
    }))
    .into_response())
}

/// `swarm peering add`: protects peers and keeps them connected (until
/// restart; `Peering.Peers` is the lasting list).
pub async fn peering_add(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let net = online(&state)?;
    let args = Args::parse(query.as_deref());
    if args.args().is_empty() {
        return Err(ApiError::bad_request("argument \"address\" is required"));
    }
    let mut by_peer: Vec<(libp2p::PeerId, Vec<libp2p::Multiaddr>)> = Vec::new();
    for text in args.args() {
        let mut addr: libp2p::Multiaddr = text
            .parse()
            .map_err(|e| ApiError::bad_request(format!("{text}: {e}")))?;
        let Some(libp2p::multiaddr::Protocol::P2p(peer)) = addr.pop() else {
            return Err(ApiError::bad_request(format!("{text}: no /p2p/<peer id>")));
        };
        match by_peer.iter_mut().find(|(p, _)| *p == peer) {
            Some((_, addrs)) => addrs.push(addr),
            None => by_peer.push((peer, vec![addr])),
        }
    }
    let mut lines = Vec::new();
    for (peer, addrs) in by_peer {
        net.peering_add(peer, addrs)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        lines.push(json!({ "ID": peer.to_string(), "Status": "success" }));
    }
    Ok(Json(json!({ "Peers": lines })).into_response())
}

pub async fn peering_rm(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let net = online(&state)?;
    let args = Args::parse(query.as_deref());
    let peers = args
        .args()
        .into_iter()
        .map(|text| {
            text.parse::<libp2p::PeerId>()
                .map_err(|e| ApiError::bad_request(format!("{text}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if peers.is_empty() {
        return Err(ApiError::bad_request("argument \"ID\" is required"));
    }
    let lines = blocking(move || {
        let mut lines = Vec::new();
        for peer in peers {
            let known = net
                .peering_remove(peer)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            if !known {
                return Err(ApiError::bad_request(format!("{peer}: not a peering peer")));
            }
            lines.push(json!({ "ID": peer.to_string(), "Status": "success" }));
        }
        Ok(lines)
    })
    .await?;
    Ok(Json(json!({ "Peers": lines })).into_response())
}

pub async fn peering_ls(State(state): State<ApiState>) -> Reply {
    let net = online(&state)?;
    let peers = blocking(move || Ok(net.peering_list())).await?;
    let peers: Vec<serde_json::Value> = peers
        .into_iter()
        .map(|(peer, addrs)| {
            json!({
                "ID": peer.to_string(),
                "Addrs": addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({ "Peers": peers })).into_response())
}
