//! `application/vnd.ipld.car` answers (trustless gateway spec): the blocks
//! that prove the path, then those `dag-scope` and `entity-bytes` select
//! below its end, depth-first, streamed as the walk reads them.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::Failure;
use super::negotiate::CAR;
use crate::api::content::streamed_checked;
use crate::blockstore::Blockstore;
use crate::codec::{Cid, cid_string};
use crate::unixfs::node::{Kind, Node};
use crate::unixfs::scope::{CarBlocks, EntityBytes, PastEnd, Selection};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DagScope {
    Block,
    Entity,
    All,
}

impl DagScope {
    fn name(self) -> &'static str {
        match self {
            DagScope::Block => "block",
            DagScope::Entity => "entity",
            DagScope::All => "all",
        }
    }
}

/// What a CAR request asks: the scope below the path's end, the bytes of
/// a file, and whether blocks met again in the walk are sent again. The
/// order is always depth-first (`order=unk` allows it too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct CarRequest {
    pub scope: DagScope,
    pub bytes: Option<EntityBytes>,
    pub duplicates: bool,
}

impl CarRequest {
    /// From an `Accept` entry's parameters and the query (whose `car-*`
    /// parameters come first).
    pub(super) fn from_params(
        accept: &[(String, String)],
        query: &[(String, String)],
    ) -> Result<Self, String> {
        let in_query = |key: &str| {
            query
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let in_accept = |key: &str| {
            accept
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let either = |query_key: &str, accept_key: &str| {
            in_query(query_key)
                .map(|v| (query_key.to_string(), v))
                .or_else(|| in_accept(accept_key).map(|v| (format!("{CAR}; {accept_key}"), v)))
        };
        match either("car-version", "version") {
            None | Some((_, "1")) => {}
            Some((key, other)) => {
                return Err(format!(
                    "{key}={other} is not served: only CAR version 1 (car-version=1)"
                ));
            }
        }
        match either("car-order", "order") {
            None | Some((_, "dfs" | "unk")) => {}
            Some((key, other)) => {
                return Err(format!(
                    "{key}={other} is not served: order is dfs (or unk, which allows it)"
                ));
            }
        }
        let duplicates = match either("car-dups", "dups") {
            None | Some((_, "n")) => false,
            Some((_, "y")) => true,
            Some((key, other)) => {
                return Err(format!("{key}={other}: dups is y or n"));
            }
        };
        let named_scope = match in_query("dag-scope") {
            None => None,
            Some("block") => Some(DagScope::Block),
            Some("entity") => Some(DagScope::Entity),
            Some("all") => Some(DagScope::All),
            Some(other) => {
                return Err(format!(
                    "dag-scope={other}: the scope is block, entity or all"
                ));
            }
        };
        let bytes = in_query("entity-bytes")
            .map(EntityBytes::parse)
            .transpose()?;
        let scope = match (named_scope, bytes) {
            (Some(scope @ (DagScope::Block | DagScope::All)), Some(_)) => {
                return Err(format!(
                    "entity-bytes goes with dag-scope=entity, not dag-scope={}",
                    scope.name()
                ));
            }
            (_, Some(_)) => DagScope::Entity,
            (scope, None) => scope.unwrap_or(DagScope::All),
        };
        Ok(CarRequest {
            scope,
            bytes,
            duplicates,
        })
    }

    /// The `Content-Type` of the answer: what is served, in full.
    pub(super) fn content_type(&self) -> String {
        let dups = if self.duplicates { "y" } else { "n" };
        format!("{CAR}; version=1; order=dfs; dups={dups}")
    }

    /// A weak ETag: the same path and parameters give the same blocks in
    /// the same order, but the CAR is not a stored thing.
    pub(super) fn etag(&self, immutable_path: &str, end: &Cid) -> String {
        let mut hash = Sha256::new();
        hash.update(immutable_path.as_bytes());
        hash.update(format!("\0scope={}", self.scope.name()));
        if self.duplicates {
            hash.update("\0dups=y");
        }
        if let Some(bytes) = self.bytes {
            let to = bytes.to.map_or("*".to_string(), |to| to.to_string());
            hash.update(format!("\0bytes={}:{to}", bytes.from));
        }
        let digest = hash.finalize();
        let suffix: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("W/\"{}.car.{suffix}\"", cid_string(end))
    }

    /// What is sent below the path's end, `node`: a range past the end of
    /// a file is refused, one of no bytes sends the file's first block.
    pub(super) fn selection(&self, node: &Node) -> Result<Selection, Failure> {
        Ok(match (self.scope, self.bytes) {
            (DagScope::Block, _) => Selection::Block,
            (DagScope::All, _) => Selection::All,
            (DagScope::Entity, Some(bytes)) if node.kind() == Kind::File => {
                let size = node.content_size();
                match bytes.within(size) {
                    Ok(Some(range)) => Selection::Entity { bytes: Some(range) },
                    Ok(None) => Selection::Block,
                    Err(PastEnd) => {
                        return Err(Failure(
                            StatusCode::BAD_REQUEST,
                            format!(
                                "entity-bytes starts at {}, past the end of the file ({size} bytes)",
                                bytes.from
                            ),
                        ));
                    }
                }
            }
            (DagScope::Entity, _) => Selection::Entity { bytes: None },
        })
    }
}

/// The CAR of `proof` (the blocks that prove the path) then of `selection`
/// below `end`, whose CID is the CAR's root. A block that cannot be read
/// within the first piece is an error status; later, the body is cut off
/// unfinished (the connection drops), never ended as if whole.
pub(super) async fn respond(
    store: &Arc<dyn Blockstore>,
    proof: Vec<Cid>,
    end: Cid,
    selection: Selection,
    request: &CarRequest,
    head: bool,
) -> Result<Response, Failure> {
    let mut response = if head {
        // The length is not known before the CAR is written: no
        // Content-Length, as the GET answer has none.
        Body::from_stream(futures::stream::empty::<Result<bytes::Bytes, std::io::Error>>())
            .into_response()
    } else {
        let store = Arc::clone(store);
        let duplicates = request.duplicates;
        streamed_checked(CAR, move |out| {
            let mut car =
                CarBlocks::new(store.as_ref(), out, &end, duplicates).map_err(|e| e.to_string())?;
            car.path(&proof).map_err(|e| e.to_string())?;
            car.select(&end, &selection).map_err(|e| e.to_string())?;
            car.finish().map(drop).map_err(|e| e.to_string())
        })
        .await
        .map_err(|message| Failure(StatusCode::BAD_GATEWAY, message))?
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request.content_type()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    // Parts of a DAG are asked with entity-bytes, not byte ranges of a CAR.
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
    Ok(response)
}
