//! The delegated routing API (specs.ipfs.tech/routing/http-routing-v1),
//! served with the gateway as Kubo does (`Gateway.ExposeRoutingAPI`):
//! providers of a CID and a peer's addresses from the DHT, IPNS records
//! from the name system (GET) or validated and published (PUT). Answers are
//! JSON, or NDJSON streamed as the lookup finds records when asked; no
//! record is 200 with none (IPIP-513), except IPNS, whose record is the
//! answer (404 without one). An offline node answers from what it has.
//! Providers and peers pass IPIP-484's `filter-addrs` / `filter-protocols`
//! ([`routing_filter`]) as they are found.

use std::convert::Infallible;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use libp2p::PeerId;
use serde_json::json;

use super::routing_filter::{self, Filters};
use super::{App, Failure, bad, blocking};
use crate::codec::cid::LIBP2P_KEY;
use crate::codec::parse_cid;
use crate::commands::{CommandError, Core};
use crate::ipns::Name;
use crate::ipns::record::MAX_RECORD_BYTES;
use crate::names::{NameError, ResolveOptions, RoutingError};
use crate::net::PeerRecord;

const JSON: &str = "application/json";
const NDJSON: &str = "application/x-ndjson";
const IPNS_RECORD: &str = "application/vnd.ipfs.ipns-record";
/// How long a lookup may run, as Kubo's routing API.
const LOOKUP_LIMIT: Duration = Duration::from_secs(30);
/// Records a JSON answer holds at most (boxo's default); a stream has no cap.
const JSON_RECORDS: usize = 20;
/// Cache-Control as boxo's server: results for 5 min, none for 15 s, and a
/// stale answer may serve 48 h while revalidating or on errors.
const WITH_RESULTS: &str =
    "public, max-age=300, stale-while-revalidate=172800, stale-if-error=172800";
const WITHOUT_RESULTS: &str =
    "public, max-age=15, stale-while-revalidate=172800, stale-if-error=172800";

/// The answer's form, from the Accept header.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Json,
    Ndjson,
}

fn form(headers: &HeaderMap) -> Result<Form, Failure> {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    if accept.trim().is_empty() {
        return Ok(Form::Json);
    }
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or_default().trim())
        .collect();
    if types.contains(&NDJSON) {
        Ok(Form::Ndjson)
    } else if types
        .iter()
        .any(|t| matches!(*t, JSON | "application/*" | "*/*"))
    {
        Ok(Form::Json)
    } else {
        Err(Failure(
            StatusCode::BAD_REQUEST,
            format!("Accept {accept:?}: the routing API answers {JSON} or {NDJSON}"),
        ))
    }
}

/// A record as the spec's `peer` schema.
fn peer_json(record: &PeerRecord) -> serde_json::Value {
    let mut value = json!({
        "Schema": "peer",
        "ID": record.peer.to_string(),
        "Addrs": record.addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
    });
    let protocols = routing_filter::protocols(record);
    if !protocols.is_empty() {
        value["Protocols"] = json!(protocols);
    }
    value
}

/// `/routing/v1/providers/{cid}`.
pub(super) async fn providers(
    State(app): State<std::sync::Arc<App>>,
    Path(text): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let answered = async {
        let cid = parse_cid(&text).map_err(|e| bad(format!("invalid CID {text:?}: {e}")))?;
        let form = form(&headers)?;
        let found = match &app.net {
            Some(net) => Some(
                net.find_providers(&cid)
                    .map_err(|e| Failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?,
            ),
            None => None,
        };
        let filters = Filters::from_query(query.as_deref());
        Ok::<_, Failure>(answer(form, "Providers", filters, found).await)
    };
    answered.await.unwrap_or_else(IntoResponse::into_response)
}

/// `/routing/v1/peers/{peer-id}`: a base58 peer ID or a `libp2p-key` CID.
pub(super) async fn peers(
    State(app): State<std::sync::Arc<App>>,
    Path(text): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let answered = async {
        let peer = parse_peer(&text)?;
        let form = form(&headers)?;
        let found = app.net.clone().map(|net| {
            let (tx, rx) = std_mpsc::channel();
            tokio::task::spawn_blocking(move || {
                if let Some(record) = net.find_peer(peer, LOOKUP_LIMIT) {
                    let _ = tx.send(record);
                }
            });
            rx
        });
        let filters = Filters::from_query(query.as_deref());
        Ok::<_, Failure>(answer(form, "Peers", filters, found).await)
    };
    answered.await.unwrap_or_else(IntoResponse::into_response)
}

fn parse_peer(text: &str) -> Result<PeerId, Failure> {
    if let Ok(peer) = text.parse::<PeerId>() {
        return Ok(peer);
    }
    let invalid = |why: String| bad(format!("invalid peer ID {text:?}: {why}"));
    let cid = parse_cid(text).map_err(|e| invalid(e.to_string()))?;
    if cid.codec() != LIBP2P_KEY {
        return Err(invalid(
            "a CID of a peer ID has the libp2p-key codec".into(),
        ));
    }
    PeerId::from_bytes(&cid.hash().to_bytes()).map_err(|e| invalid(e.to_string()))
}

/// The records a lookup yields, as the filters leave them, until the
/// deadline.
struct Found {
    records: std_mpsc::Receiver<PeerRecord>,
    filters: Filters,
    deadline: Instant,
}

impl Found {
    fn next(&self) -> Option<PeerRecord> {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let record = self.records.recv_timeout(left).ok()?;
            if let Some(kept) = self.filters.apply(record) {
                return Some(kept);
            }
        }
    }
}

/// Answers with the records `found` yields (none without a lookup) that
/// pass `filters`: all of them in one JSON object under `key`, or streamed
/// one a line. The head waits for the first record, so Cache-Control can
/// say whether there are any.
async fn answer(
    form: Form,
    key: &str,
    filters: Filters,
    found: Option<std_mpsc::Receiver<PeerRecord>>,
) -> Response {
    let Some(records) = found else {
        return done(form, key, Vec::new());
    };
    let found = Found {
        records,
        filters,
        deadline: Instant::now() + LOOKUP_LIMIT,
    };
    if form == Form::Json {
        let records = blocking(move || {
            let mut records = Vec::new();
            while records.len() < JSON_RECORDS {
                match found.next() {
                    Some(record) => records.push(record),
                    None => break,
                }
            }
            Ok::<_, Failure>(records)
        })
        .await
        .unwrap_or_default();
        return done(form, key, records);
    }
    let first = blocking(move || Ok::<_, Failure>((found.next(), found))).await;
    let Ok((Some(first), found)) = first else {
        return done(form, key, Vec::new());
    };
    let (lines, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    let _ = lines.try_send(ndjson_line(&first));
    tokio::task::spawn_blocking(move || {
        while let Some(record) = found.next() {
            if lines.blocking_send(ndjson_line(&record)).is_err() {
                break;
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|line| (Ok::<_, Infallible>(line), rx))
    });
    with_headers(Body::from_stream(stream), NDJSON, WITH_RESULTS)
}

fn ndjson_line(record: &PeerRecord) -> Bytes {
    let mut line = peer_json(record).to_string();
    line.push('\n');
    Bytes::from(line)
}

/// A whole answer.
fn done(form: Form, key: &str, records: Vec<PeerRecord>) -> Response {
    let cache = if records.is_empty() {
        WITHOUT_RESULTS
    } else {
        WITH_RESULTS
    };
    match form {
        Form::Json => {
            let list: Vec<_> = records.iter().map(peer_json).collect();
            let body = json!({ key: list }).to_string();
            with_headers(Body::from(body), JSON, cache)
        }
        Form::Ndjson => {
            let body: Vec<u8> = records
                .iter()
                .flat_map(|r| ndjson_line(r).to_vec())
                .collect();
            with_headers(Body::from(body), NDJSON, cache)
        }
    }
}

fn with_headers(body: Body, content_type: &'static str, cache: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    response
}

fn parse_name(text: &str) -> Result<Name, Failure> {
    Name::parse(text).map_err(|e| bad(format!("invalid IPNS name {text:?}: {e}")))
}

fn accepts(headers: &HeaderMap, name: header::HeaderName, wanted: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(wanted))
}

/// `GET /routing/v1/ipns/{name}`: the best valid record known here or to
/// the DHT, as the gateway's `?format=ipns-record`.
pub(super) async fn get_ipns(
    State(app): State<std::sync::Arc<App>>,
    Path(text): Path<String>,
    headers: HeaderMap,
) -> Response {
    let answered = async {
        let name = parse_name(&text)?;
        if !accepts(&headers, header::ACCEPT, IPNS_RECORD) {
            return Err(Failure(
                StatusCode::NOT_ACCEPTABLE,
                format!(
                    "the routing API answers IPNS records as {IPNS_RECORD}: ask for it in Accept"
                ),
            ));
        }
        let sources = app.sources.clone();
        let record = blocking(move || {
            sources
                .names
                .best_record(&sources.repo, &name, &ResolveOptions::default())
                .map_err(|err| match err {
                    NameError::NotFound(_) | NameError::Routing(RoutingError::NoPeers) => {
                        Failure(StatusCode::NOT_FOUND, err.to_string())
                    }
                    other => Failure(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
                })
        })
        .await?;
        let cache = format!(
            "public, max-age={}, stale-while-revalidate=172800, stale-if-error=172800",
            record.ttl.as_secs()
        );
        let mut response = Body::from(record.to_bytes()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(IPNS_RECORD));
        headers.insert(header::VARY, HeaderValue::from_static("Accept"));
        if let Ok(cache) = HeaderValue::from_str(&cache) {
            headers.insert(header::CACHE_CONTROL, cache);
        }
        Ok(response)
    };
    answered.await.unwrap_or_else(IntoResponse::into_response)
}

/// `PUT /routing/v1/ipns/{name}`: validated and kept as `name put` does
/// (refused unless newer than the record here), then sent to the DHT.
pub(super) async fn put_ipns(
    State(app): State<std::sync::Arc<App>>,
    Path(text): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let answered = async {
        let name = parse_name(&text)?;
        if !accepts(&headers, header::CONTENT_TYPE, IPNS_RECORD) {
            return Err(bad(format!(
                "the record's Content-Type must be {IPNS_RECORD}"
            )));
        }
        let bytes = axum::body::to_bytes(body, MAX_RECORD_BYTES)
            .await
            .map_err(|_| bad(format!("a record is at most {MAX_RECORD_BYTES} bytes")))?;
        let sources = app.sources.clone();
        blocking(move || {
            let core = Core {
                repo: &sources.repo,
                store: sources.store.as_ref(),
                names: &sources.names,
            };
            crate::commands::name::put(&core, &name.to_string(), &bytes).map_err(|err| match err {
                CommandError::BadArgument(why) => bad(why),
                CommandError::Failed(why) => Failure(StatusCode::INTERNAL_SERVER_ERROR, why),
            })
        })
        .await?;
        Ok(StatusCode::OK.into_response())
    };
    answered.await.unwrap_or_else(IntoResponse::into_response)
}
