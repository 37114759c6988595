//! `/api/v0/routing/*`: the DHTs (both of them) asked directly. Answers are
//! Kubo's query events, one JSON object a line (`Type` 4 a provider, 2 the
//! peer found, 5 a value).

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::json;

use super::{ApiError, ApiState, Args, blocking, ndjson, run};
use crate::blockstore::Blockstore;
use crate::codec::parse_cid;

type Reply = Result<Response, ApiError>;

/// Kubo's `routing findprovs` default `--num-providers`.
const DEFAULT_PROVIDERS: u64 = 20;
const LOOKUP_LIMIT: Duration = Duration::from_secs(60);
const PROVIDER: u8 = 4;
const FINAL_PEER: u8 = 2;
const VALUE: u8 = 5;

fn online(state: &ApiState) -> Result<crate::net::NetHandle, ApiError> {
    state
        .net
        .clone()
        .ok_or_else(|| ApiError::internal("this command must be run in online mode"))
}

pub async fn findprovs(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let net = online(&state)?;
    let args = Args::parse(query.as_deref());
    let cid = parse_cid(&args.arg(0, "key")?).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let enough = args
        .number(&["num-providers", "n"])?
        .unwrap_or(DEFAULT_PROVIDERS);
    if enough == 0 {
        return Err(ApiError::bad_request(
            "number of providers must be greater than 0",
        ));
    }
    let enough = usize::try_from(enough).unwrap_or(usize::MAX);
    let found = blocking(move || {
        let records = net
            .find_providers(&cid)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok(gather(&records, enough, LOOKUP_LIMIT))
    })
    .await?;
    let events: Vec<_> = found
        .iter()
        .map(|record| {
            let addrs: Vec<String> = record.addrs.iter().map(|a| a.to_string()).collect();
            json!({"Extra": "", "ID": "", "Type": PROVIDER,
            "Responses": [{"ID": record.peer.to_string(), "Addrs": addrs}]})
        })
        .collect();
    Ok(ndjson(&events))
}

pub async fn findpeer(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let net = online(&state)?;
    let text = Args::parse(query.as_deref()).arg(0, "peerID")?;
    let peer: libp2p::PeerId = text
        .parse()
        .map_err(|e| ApiError::bad_request(format!("invalid peer ID {text:?}: {e}")))?;
    let record = blocking(move || {
        net.find_peer(peer, LOOKUP_LIMIT)
            .ok_or_else(|| ApiError::internal("routing: not found"))
    })
    .await?;
    let addrs: Vec<String> = record.addrs.iter().map(|a| a.to_string()).collect();
    Ok(ndjson(&[json!({"Extra": "", "ID": "", "Type": FINAL_PEER,
        "Responses": [{"ID": peer.to_string(), "Addrs": addrs}]})]))
}

/// The first `enough` providers the lookup streams, until it ends or
/// `limit` passes.
fn gather(
    records: &std::sync::mpsc::Receiver<crate::net::PeerRecord>,
    enough: usize,
    limit: std::time::Duration,
) -> Vec<crate::net::PeerRecord> {
    let deadline = std::time::Instant::now() + limit;
    let mut found = Vec::new();
    while found.len() < enough {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match records.recv_timeout(left) {
            Ok(record) => found.push(record),
            Err(_) => break,
        }
    }
    found
}

/// Announces CIDs held here (with `recursive`, every block below them).
pub async fn provide(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let net = online(&state)?;
    let args = Args::parse(query.as_deref());
    let recursive = args.flag(&["recursive", "r"])?;
    let roots = args
        .args()
        .iter()
        .map(|a| parse_cid(a).map_err(|e| ApiError::bad_request(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    if roots.is_empty() {
        return Err(ApiError::bad_request("argument \"key\" is required"));
    }
    let store = state.repo.blocks_shared();
    blocking(move || {
        let mut cids = Vec::new();
        for root in &roots {
            if !store.has(root).unwrap_or(false) {
                return Err(ApiError::internal(format!(
                    "block {root} not found locally, cannot provide"
                )));
            }
            if recursive {
                crate::dag::walk(
                    store.as_ref(),
                    root,
                    &mut |cid, _| {
                        cids.push(*cid);
                        Ok(())
                    },
                    &mut |_, _| {},
                )
                .map_err(|e| ApiError::internal(e.to_string()))?;
            } else {
                cids.push(*root);
            }
        }
        for batch in cids.chunks(crate::reprovide::BATCH) {
            net.provide(batch.to_vec());
        }
        Ok(())
    })
    .await?;
    Ok(ndjson::<serde_json::Value>(&[]))
}

/// The best value held under an `/ipns/` key, base64 in `Extra`.
pub async fn get(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let net = online(&state)?;
    let key = Args::parse(query.as_deref()).arg(0, "key")?;
    let name = key
        .strip_prefix("/ipns/")
        .and_then(|n| crate::ipns::Name::parse(n).ok())
        .ok_or_else(|| ApiError::bad_request(format!("{key:?}: only /ipns/<name> keys")))?;
    let routing_key = name.routing_key();
    let value = blocking(move || {
        let values = net
            .get_values(routing_key.clone(), crate::net::VALUES_ENOUGH, LOOKUP_LIMIT)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let best = crate::net::records::best(
            &routing_key,
            values.iter().map(Vec::as_slice),
            std::time::SystemTime::now(),
        )
        .ok_or_else(|| ApiError::internal("routing: not found"))?;
        Ok(values[best].clone())
    })
    .await?;
    let extra = multibase::encode(multibase::Base::Base64Pad, value);
    // Without the multibase prefix: plain padded base64, as Go's JSON.
    let extra = &extra[1..];
    Ok(ndjson(&[
        json!({"Extra": extra, "ID": "", "Type": VALUE, "Responses": null}),
    ]))
}

/// `routing put /ipns/<name>` with the record as the file: validated,
/// stored here and put to the DHT, as `name put` does. Offline it needs
/// `allow-offline`, as Kubo's.
pub async fn put(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
    mut multipart: axum::extract::Multipart,
) -> Reply {
    let args = Args::parse(query.as_deref());
    // Read before any refusal: a client still sending would see a broken
    // pipe instead of the answer.
    let record = super::upload::read_part(&mut multipart, PUT_UPLOAD_LIMIT).await?;
    let key = args.arg(0, "key")?;
    if !key.starts_with("/ipns/") {
        return Err(ApiError::bad_request(format!(
            "{key:?}: only /ipns/<name> keys can be put"
        )));
    }
    if state.net.is_none() && !args.flag(&["allow-offline"])? {
        return Err(ApiError::internal(
            "can't put while offline: pass `--allow-offline` to override",
        ));
    }
    let id = run(&state, move |core| {
        crate::commands::name::put(core, &key, &record)?;
        Ok(core.repo.peer_id().to_string())
    })
    .await?;
    Ok(ndjson(&[
        json!({"Extra": "", "ID": id, "Type": VALUE, "Responses": null}),
    ]))
}

/// Read this far (Kubo reads 1 MiB) so that an oversized record is refused
/// by the validator, which says how large it is.
const PUT_UPLOAD_LIMIT: usize = 1 << 20;
