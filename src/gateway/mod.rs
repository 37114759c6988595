//! The read-only HTTP gateway (`Addresses.Gateway`): `GET /ipfs/<cid>/path`
//! serves files (with Range, ETag and an immutable Cache-Control), index
//! pages or listings of directories, and with `?format=raw|car` the block or
//! the DAG itself. Paths are checked before anything is read: `.` and `..`
//! segments, encoded slashes and NULs are refused with 400.

mod listing;
mod mime;
mod range;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::api::content::{streamed, streamed_checked};
use crate::api::{ApiServer, Limits, off_runtime as blocking, percent_decode};
use crate::blockstore::{Blockstore, BlockstoreError, get_required};
use crate::codec::{Cid, IpfsPath, cid_string, parse_cid};
use crate::unixfs::UnixfsError;
use crate::unixfs::dir;
use crate::unixfs::node::{Kind, Node};
use crate::unixfs::reader::{FileReader, load};
use crate::unixfs::resolve::{Resolved, resolve_trail};

const IMMUTABLE: &str = "public, max-age=29030400, immutable";

/// Serves the gateway on `addr` (port 0 picks one) until stopped.
pub fn start(
    addr: SocketAddr,
    store: Arc<dyn Blockstore>,
    limits: Limits,
) -> std::io::Result<ApiServer> {
    let app = Router::new().fallback(serve).with_state(store);
    crate::api::serve(addr, app, "gateway", limits)
}

struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (
            self.0,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{}\n", self.1),
        )
            .into_response()
    }
}

fn bad(message: impl Into<String>) -> Failure {
    Failure(StatusCode::BAD_REQUEST, message.into())
}

/// Missing content is 404; a block that cannot be had is 504, as Kubo.
fn unavailable(err: UnixfsError) -> Failure {
    match err {
        UnixfsError::NoSuchLink { .. } | UnixfsError::NotADirectory(_) => {
            Failure(StatusCode::NOT_FOUND, err.to_string())
        }
        UnixfsError::Block(BlockstoreError::NotFound(_) | BlockstoreError::TimedOut(_)) => {
            Failure(StatusCode::GATEWAY_TIMEOUT, err.to_string())
        }
        other => Failure(StatusCode::BAD_GATEWAY, other.to_string()),
    }
}

/// A request's `/ipfs/<cid>/a/b` path, decoded and checked.
struct Target {
    root: Cid,
    names: Vec<String>,
    trailing_slash: bool,
}

fn parse_target(raw_path: &str) -> Result<Target, Failure> {
    let rest = raw_path
        .strip_prefix("/ipfs/")
        .ok_or_else(|| Failure(StatusCode::NOT_FOUND, "only /ipfs/<cid>/… is served".into()))?;
    let trailing_slash = rest.ends_with('/');
    let mut segments = rest.trim_end_matches('/').split('/');
    let root_text = segments.next().unwrap_or_default();
    let root = parse_cid(root_text).map_err(|e| bad(format!("invalid CID {root_text:?}: {e}")))?;
    let mut names = Vec::new();
    for segment in segments {
        let name =
            percent_decode(segment, false).ok_or_else(|| bad("malformed percent-encoding"))?;
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
            return Err(bad(format!("invalid path segment {name:?}")));
        }
        names.push(name);
    }
    Ok(Target {
        root,
        names,
        trailing_slash,
    })
}

/// What the client asked for besides the content: `?format=` or `Accept`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Content,
    Raw,
    Car,
}

fn format_of(query: Option<&str>, headers: &HeaderMap) -> Result<Format, Failure> {
    let asked = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "format")
        .map(|(_, v)| v.into_owned());
    match asked.as_deref() {
        Some("raw") => return Ok(Format::Raw),
        Some("car") => return Ok(Format::Car),
        Some(other) => return Err(bad(format!("unsupported format {other:?}"))),
        None => {}
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    Ok(if accept.contains("application/vnd.ipld.raw") {
        Format::Raw
    } else if accept.contains("application/vnd.ipld.car") {
        Format::Car
    } else {
        Format::Content
    })
}

async fn serve(State(store): State<Arc<dyn Blockstore>>, request: Request) -> Response {
    match answer(store, request).await {
        Ok(response) => response,
        Err(failure) => failure.into_response(),
    }
}

async fn answer(store: Arc<dyn Blockstore>, request: Request) -> Result<Response, Failure> {
    let method = request.method().clone();
    if method != Method::GET && method != Method::HEAD {
        let mut refused = Failure(
            StatusCode::METHOD_NOT_ALLOWED,
            "the gateway is read-only: GET and HEAD".into(),
        )
        .into_response();
        refused
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Ok(refused);
    }
    let uri = request.uri().clone();
    let headers = request.headers().clone();
    let target = parse_target(uri.path())?;
    let format = format_of(uri.query(), &headers)?;
    let path = IpfsPath {
        root: target.root,
        components: target.names.clone(),
    };
    let lookup = Arc::clone(&store);
    let (resolved, trail) =
        blocking(move || resolve_trail(lookup.as_ref(), &path).map_err(unavailable)).await?;
    let roots: Vec<String> = trail.iter().map(cid_string).collect();
    let roots = roots.join(",");
    let etag = match format {
        Format::Content => format!("\"{}\"", cid_string(&resolved.cid)),
        Format::Raw => format!("\"{}.raw\"", cid_string(&resolved.cid)),
        Format::Car => format!("\"{}.car\"", cid_string(&resolved.cid)),
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return Ok(with_common(
            StatusCode::NOT_MODIFIED.into_response(),
            &etag,
            uri.path(),
            &roots,
        ));
    }
    let head = method == Method::HEAD;
    let response = match format {
        Format::Raw => {
            let disposition = format!("attachment; filename=\"{}.bin\"", cid_string(&resolved.cid));
            block(
                &store,
                &resolved.cid,
                "application/vnd.ipld.raw",
                Some(disposition),
                head,
            )
            .await?
        }
        Format::Car => car(&store, resolved.cid, head),
        Format::Content if resolved.node.kind().is_dir() => {
            if !target.trailing_slash {
                let location = match uri.query() {
                    Some(q) => format!("{}/?{q}", uri.path()),
                    None => format!("{}/", uri.path()),
                };
                return Ok((
                    StatusCode::MOVED_PERMANENTLY,
                    [(header::LOCATION, location)],
                )
                    .into_response());
            }
            directory(&store, resolved, &target, uri.path(), &headers, head).await?
        }
        Format::Content if resolved.node.kind() == Kind::Other => {
            let Node::Opaque { codec, .. } = resolved.node else {
                return Err(not_rendered(&resolved.cid));
            };
            let media_type = mime::from_codec(codec).ok_or_else(|| not_rendered(&resolved.cid))?;
            block(&store, &resolved.cid, media_type, None, head).await?
        }
        Format::Content => {
            let name = target.names.last().cloned().unwrap_or_default();
            file(&store, resolved, &name, &headers, head).await?
        }
    };
    Ok(with_common(response, &etag, uri.path(), &roots))
}

/// `roots`: the CIDs along the path, comma-separated (`X-Ipfs-Roots`).
fn with_common(mut response: Response, etag: &str, path: &str, roots: &str) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    if let Ok(value) = HeaderValue::from_str(path) {
        headers.insert("x-ipfs-path", value);
    }
    if let Ok(value) = HeaderValue::from_str(roots) {
        headers.insert("x-ipfs-roots", value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

impl From<tokio::task::JoinError> for Failure {
    fn from(failed: tokio::task::JoinError) -> Self {
        Failure(StatusCode::INTERNAL_SERVER_ERROR, failed.to_string())
    }
}

/// A block that is neither a UnixFS file nor a directory, nor of a codec
/// served as it is.
fn not_rendered(cid: &Cid) -> Failure {
    Failure(
        StatusCode::NOT_IMPLEMENTED,
        format!(
            "{} is not UnixFS; ?format=raw or ?format=car serve it",
            cid_string(cid)
        ),
    )
}

/// One block's bytes, as they are stored.
async fn block(
    store: &Arc<dyn Blockstore>,
    cid: &Cid,
    content_type: &'static str,
    disposition: Option<String>,
    head: bool,
) -> Result<Response, Failure> {
    let (store, cid) = (Arc::clone(store), *cid);
    let block = blocking(move || {
        get_required(store.as_ref(), &cid).map_err(|e| unavailable(UnixfsError::Block(e)))
    })
    .await?;
    let length = block.len();
    let mut response = if head {
        Body::empty()
    } else {
        Body::from(block)
    }
    .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Some(value) = disposition.and_then(|d| HeaderValue::from_str(&d).ok()) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

fn car(store: &Arc<dyn Blockstore>, root: Cid, head: bool) -> Response {
    let disposition = format!("attachment; filename=\"{}.car\"", cid_string(&root));
    let mut response = if head {
        // The length is not known before the CAR is written: no
        // Content-Length, as the GET answer has none.
        Body::from_stream(futures::stream::empty::<Result<bytes::Bytes, std::io::Error>>())
            .into_response()
    } else {
        let store = Arc::clone(store);
        streamed("application/vnd.ipld.car; version=1", move |out| {
            crate::dag::export_car(store.as_ref(), &root, out).map_err(|e| e.to_string())
        })
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.ipld.car; version=1"),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn directory(
    store: &Arc<dyn Blockstore>,
    resolved: Resolved,
    target: &Target,
    url_path: &str,
    headers: &HeaderMap,
    head: bool,
) -> Result<Response, Failure> {
    let (lister, dir_cid) = (Arc::clone(store), resolved.cid);
    let rows = blocking(move || {
        let entries = dir::list(lister.as_ref(), &dir_cid).map_err(|e| unavailable(e.into()))?;
        let mut rows = Vec::with_capacity(entries.len());
        for entry in entries {
            // An entry whose block is missing is still listed, as a file
            // of its DAG size.
            let node = load(lister.as_ref(), &entry.cid).ok();
            let is_dir = node.as_ref().is_some_and(|n| n.kind().is_dir());
            let size = match &node {
                Some(node) if !is_dir => node.content_size(),
                _ => entry.size,
            };
            rows.push(listing::Row {
                name: entry.name,
                cid: entry.cid,
                is_dir,
                size,
            });
        }
        Ok::<_, Failure>(rows)
    })
    .await?;
    if let Some(index) = rows.iter().find(|r| r.name == "index.html" && !r.is_dir) {
        let index_cid = index.cid;
        let loader = Arc::clone(store);
        let node = blocking(move || load(loader.as_ref(), &index_cid).map_err(unavailable)).await?;
        let resolved = Resolved {
            cid: index_cid,
            node,
        };
        return file(store, resolved, "index.html", headers, head).await;
    }
    let html = listing::page(url_path, &rows, !target.names.is_empty());
    let length = html.len();
    let body = if head {
        Body::empty()
    } else {
        Body::from(html)
    };
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        body,
    )
        .into_response())
}

async fn file(
    store: &Arc<dyn Blockstore>,
    resolved: Resolved,
    name: &str,
    headers: &HeaderMap,
    head: bool,
) -> Result<Response, Failure> {
    if resolved.node.kind() == Kind::Symlink {
        let target = resolved.node.symlink_target().unwrap_or_default().to_vec();
        return Ok((
            [
                (
                    header::CONTENT_TYPE,
                    "text/plain; charset=utf-8".to_string(),
                ),
                (header::CONTENT_LENGTH, target.len().to_string()),
            ],
            if head {
                Body::empty()
            } else {
                Body::from(target)
            },
        )
            .into_response());
    }
    let size = resolved.node.content_size();
    let content_type = match mime::from_name(name) {
        Some(known) => known,
        None => {
            let (sniffer, cid, node) = (Arc::clone(store), resolved.cid, resolved.node.clone());
            blocking(move || {
                let reader =
                    FileReader::from_node(sniffer.as_ref(), &cid, node).map_err(unavailable)?;
                let mut head = vec![0; 512];
                let n = reader.read_at(0, &mut head).map_err(unavailable)?;
                Ok::<_, Failure>(mime::sniff(&head[..n]))
            })
            .await?
        }
    };
    let asked = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, length) = match range::parse(asked, size) {
        range::Wanted::Whole => (StatusCode::OK, 0, size),
        range::Wanted::Part(start, end) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        range::Wanted::Unsatisfiable => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{size}"))],
            )
                .into_response());
        }
    };
    let mut response = if head || length == 0 {
        Body::empty().into_response()
    } else {
        let (reader_store, cid, node) = (Arc::clone(store), resolved.cid, resolved.node);
        // A block found bad before the first piece is an error status;
        // later, the body is cut short of its Content-Length.
        streamed_checked(content_type, move |out| {
            FileReader::from_node(reader_store.as_ref(), &cid, node)
                .and_then(|reader| reader.copy_to(out, start, length).map(|_| ()))
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|message| Failure(StatusCode::BAD_GATEWAY, message))?
    };
    *response.status_mut() = status;
    let answer = response.headers_mut();
    answer.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    answer.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    answer.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(value) =
            HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + length - 1))
    {
        answer.insert(header::CONTENT_RANGE, value);
    }
    Ok(response)
}
