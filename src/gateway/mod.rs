//! The read-only HTTP gateway (`Addresses.Gateway`): `GET /ipfs/<cid>/path`
//! serves files (with Range, ETag and an immutable Cache-Control), index
//! pages or listings of directories, and with `?format=raw|car` (or the
//! `Accept` header) the block or the DAG itself, verifiable by the client
//! (the trustless gateway spec: `dag-scope`, `entity-bytes`, `car-dups`). `/ipns/<name>/path` (a key's name, a peer ID or a DNSLink
//! domain) serves what the name points to, cached as long as its TTL says,
//! and `?format=ipns-record` the name's signed record. Paths are checked
//! before anything is read: `.` and `..` segments, encoded slashes and NULs
//! are refused with 400.
//!
//! The Host header picks the origin first ([`hostname`]): `<cid>.ipfs.localhost`
//! and DNSLink hosts serve a site from its root, where its `_redirects`
//! ([`redirects`]) applies to missing paths. `?format=tar` and
//! `?format=dag-json|dag-cbor` ([`convert`]) are the other answers Kubo gives.

mod car;
mod convert;
mod dag_page;
mod hostname;
mod hot_blocks;
mod listing;
mod mime;
mod negotiate;
mod range;
mod recent;
mod redirects;
mod routing;
mod routing_filter;

pub use hostname::{Hosts, PublicGateway};

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::api::content::{streamed_checked, streamed_slices_checked};
use crate::api::{ApiServer, Limits, off_runtime as blocking, percent_decode};
use crate::blockstore::{Blockstore, BlockstoreError, get_required};
use crate::codec::{Cid, IpfsPath, cid_string, parse_cid};
use crate::fs::file_reads::FileReads;
use crate::ipns::Name;
use crate::metrics::GatewayMetrics;
use crate::names::{NameError, NameSystem, Resolution, ResolveOptions};
use crate::net::NetHandle;
use crate::repo::Repo;
use crate::unixfs::UnixfsError;
use crate::unixfs::dir::{self, DirCache, DirError, Dirs};
use crate::unixfs::node::{Kind, Node};
use crate::unixfs::reader::{FileReader, load};
use crate::unixfs::resolve::{PathProof, Resolved, resolve_proof, resolve_proof_in};
use crate::unixfs::tar::write_tar;
use convert::Target as CodecTarget;
use hostname::{Incoming, Origin, Routed};
use hot_blocks::HotBlocks;
use negotiate::{Format, IPNS_RECORD};
use recent::Recent;

/// Directory blocks kept decoded (see [`DirCache`]).
const DIR_CACHE_BYTES: usize = 8 << 20;
/// What small blocks the gateway keeps in memory may add up to.
const HOT_BLOCK_BYTES: usize = 64 << 20;

const IMMUTABLE: &str = "public, max-age=29030400, immutable";

/// What the gateway serves from: blocks, and names resolved through the
/// repository's records and the name system.
#[derive(Clone)]
pub struct Sources {
    pub repo: Arc<Repo>,
    pub store: Arc<dyn Blockstore>,
    pub names: Arc<NameSystem>,
}

/// What the gateway serves besides content.
#[derive(Clone)]
pub struct Extras {
    /// `/routing/v1` (`Gateway.ExposeRoutingAPI`, default true as in Kubo).
    pub routing_api: bool,
    /// The network node the routing API asks; offline it answers from
    /// what is here.
    pub net: Option<NetHandle>,
    /// Where each answer is counted.
    pub metrics: Option<GatewayMetrics>,
    /// `?format=dag-json|dag-cbor` of a block in another codec converts it
    /// (`Gateway.AllowCodecConversion`); by default it is 406, as Kubo.
    pub codec_conversion: bool,
}

impl Default for Extras {
    fn default() -> Self {
        Extras {
            routing_api: true,
            net: None,
            metrics: None,
            codec_conversion: false,
        }
    }
}

#[derive(Clone)]
struct App {
    sources: Sources,
    readers: Readers,
    hosts: Arc<Hosts>,
    net: Option<NetHandle>,
    codec_conversion: bool,
}

/// What requests share to read content: directories decoded once for all
/// that walk them, and files read with read-ahead.
#[derive(Clone)]
struct Readers {
    dirs: Arc<DirCache>,
    hot: Arc<HotBlocks>,
    files: Arc<FileReads>,
}

/// Serves the gateway on `addr` (port 0 picks one) until stopped; `hosts`
/// says which Host headers are subdomain or path gateways
/// (`Gateway.PublicGateways`).
pub fn start(
    addr: SocketAddr,
    sources: Sources,
    hosts: Hosts,
    limits: Limits,
) -> std::io::Result<ApiServer> {
    start_with(addr, sources, hosts, limits, Extras::default())
}

/// As [`start`], with the routing API and metrics as `extras` say.
pub fn start_with(
    addr: SocketAddr,
    sources: Sources,
    hosts: Hosts,
    limits: Limits,
    extras: Extras,
) -> std::io::Result<ApiServer> {
    let readers = Readers {
        dirs: Arc::new(DirCache::new(DIR_CACHE_BYTES)),
        hot: Arc::new(HotBlocks::new(HOT_BLOCK_BYTES)),
        files: Arc::new(FileReads::new(Arc::clone(&sources.store))),
    };
    let state = Arc::new(App {
        sources,
        readers,
        hosts: Arc::new(hosts),
        net: extras.net,
        codec_conversion: extras.codec_conversion,
    });
    let mut router = Router::new();
    if extras.routing_api {
        router = router
            .route("/routing/v1/providers/{cid}", get(routing::providers))
            .route("/routing/v1/peers/{peer}", get(routing::peers))
            .route(
                "/routing/v1/ipns/{name}",
                get(routing::get_ipns).put(routing::put_ipns),
            );
    }
    let mut app = router.fallback(serve).with_state(state);
    if let Some(metrics) = extras.metrics {
        app = app.layer(axum::middleware::from_fn_with_state(metrics, counted));
    }
    crate::api::serve(addr, app, "gateway", limits)
}

/// Counts each answer: its status and how long its head took, then the
/// body's bytes as they are sent.
async fn counted(
    State(metrics): State<GatewayMetrics>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    metrics.answered(response.status().as_u16(), started.elapsed());
    response.map(|inner| Body::new(CountedBody { inner, metrics }))
}

/// A body that counts the bytes it yields; its size hint stays the inner
/// body's, so lengths known before are still sent as Content-Length.
struct CountedBody {
    inner: Body,
    metrics: GatewayMetrics,
}

impl http_body::Body for CountedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = std::pin::Pin::new(&mut this.inner).poll_frame(cx);
        if let std::task::Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            this.metrics.sent(data.len());
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
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

/// Missing content is 404: a missing path, or a block that is not here,
/// wherever it is in the DAG (the root, a directory on the way, a HAMT
/// shard, a file), as the path gateway spec says and Kubo answers; one
/// that could not be had from the network in time is 504, as Kubo.
fn unavailable(err: UnixfsError) -> Failure {
    let status = match &err {
        UnixfsError::NoSuchLink { .. }
        | UnixfsError::NotADirectory(_)
        | UnixfsError::Dir(DirError::NotADirectory(_)) => StatusCode::NOT_FOUND,
        UnixfsError::Block(block) | UnixfsError::Dir(DirError::Block(block)) => match block {
            BlockstoreError::NotFound(_) => StatusCode::NOT_FOUND,
            BlockstoreError::TimedOut(_) => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        },
        _ => StatusCode::BAD_GATEWAY,
    };
    Failure(status, err.to_string())
}

/// What a request's path starts from.
enum Root {
    Cid(Cid),
    /// An IPNS name or a DNSLink domain, not yet resolved.
    Name(String),
}

/// A request's `/ipfs/<cid>/a/b` or `/ipns/<name>/a/b` path, decoded and
/// checked.
struct Target {
    root: Root,
    names: Vec<String>,
    trailing_slash: bool,
}

fn parse_target(raw_path: &str) -> Result<Target, Failure> {
    let (rest, named) = match (
        raw_path.strip_prefix("/ipfs/"),
        raw_path.strip_prefix("/ipns/"),
    ) {
        (Some(rest), _) => (rest, false),
        (None, Some(rest)) => (rest, true),
        (None, None) => {
            return Err(Failure(
                StatusCode::NOT_FOUND,
                "only /ipfs/<cid>/… and /ipns/<name>/… are served".into(),
            ));
        }
    };
    let trailing_slash = rest.ends_with('/');
    let mut segments = rest.trim_end_matches('/').split('/');
    let root_text = segments.next().unwrap_or_default();
    let root = if named {
        let name =
            percent_decode(root_text, false).ok_or_else(|| bad("malformed percent-encoding"))?;
        if name.is_empty() || name.contains(['/', '\0']) {
            return Err(bad(format!("invalid IPNS name {name:?}")));
        }
        Root::Name(name)
    } else {
        Root::Cid(cid_of_text(root_text)?)
    };
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

async fn serve(State(app): State<Arc<App>>, request: Request) -> Response {
    // The body is not Sync, so it is set aside while the head is borrowed
    // across the route's await, rather than the head copied.
    let (head, body) = request.into_parts();
    let routed = match route(&app, &head.headers, &head.uri).await {
        Ok(routed) => routed,
        Err(failure) => return failure.into_response(),
    };
    let request = Request::from_parts(head, body);
    let answered = match routed {
        Routed::Serve {
            content_path,
            origin,
        } => {
            let served = Served {
                sources: &app.sources,
                readers: &app.readers,
                codec_conversion: app.codec_conversion,
            };
            answer(served, request, content_path, origin).await
        }
        Routed::Redirect(url) => redirect(StatusCode::MOVED_PERMANENTLY, &url),
        Routed::NotFound(why) => Err(Failure(StatusCode::NOT_FOUND, why)),
        Routed::Bad(why) => Err(bad(why)),
    };
    answered.unwrap_or_else(IntoResponse::into_response)
}

/// How many CIDs and their texts each serving thread remembers.
const CID_TEXTS_KEPT: usize = 1024;

thread_local! {
    static CID_TEXTS: std::cell::RefCell<Recent<Cid, String>> =
        std::cell::RefCell::new(Recent::new(CID_TEXTS_KEPT));
    static CIDS_OF_TEXTS: std::cell::RefCell<Recent<String, Cid>> =
        std::cell::RefCell::new(Recent::new(CID_TEXTS_KEPT));
}

/// A CID's text, remembered for the CIDs asked again and again (a site's
/// root, its popular files): a base58 text takes a microsecond to make,
/// a tenth of a small file's answer.
fn cid_text(cid: &Cid) -> String {
    CID_TEXTS.with_borrow_mut(|texts| match texts.get(cid) {
        Some(text) => text.clone(),
        None => {
            let text = cid_string(cid);
            texts.put(*cid, text.clone());
            text
        }
    })
}

/// A request's root CID, remembered as [`cid_text`] remembers texts.
fn cid_of_text(text: &str) -> Result<Cid, Failure> {
    if let Some(cid) = CIDS_OF_TEXTS.with_borrow_mut(|cids| cids.get(text).copied()) {
        return Ok(cid);
    }
    let cid = parse_cid(text).map_err(|e| bad(format!("invalid CID {text:?}: {e}")))?;
    CIDS_OF_TEXTS.with_borrow_mut(|cids| cids.put(text.to_string(), cid));
    Ok(cid)
}

fn redirect(status: StatusCode, location: &str) -> Result<Response, Failure> {
    let value = HeaderValue::from_str(location)
        .map_err(|_| bad(format!("cannot redirect to {location:?}")))?;
    Ok((status, [(header::LOCATION, value)]).into_response())
}

/// Which content the Host header and path ask for. DNS (for DNSLink
/// hosts) is asked off the runtime, and only when the host needs it.
async fn route(app: &App, headers: &HeaderMap, uri: &Uri) -> Result<Routed, Failure> {
    let text = |name: &str| -> Result<String, Failure> {
        headers.get(name).map_or(Ok(String::new()), |value| {
            value
                .to_str()
                .map(str::to_string)
                .map_err(|_| bad(format!("the {name} header is not ASCII")))
        })
    };
    let mut host = text("x-forwarded-host")?;
    if host.is_empty() {
        host = text("host")?;
    }
    if host.is_empty() {
        host = uri.authority().map(|a| a.to_string()).unwrap_or_default();
    }
    let https = text("x-forwarded-proto")? == "https";
    let path = uri.path().to_string();
    let query = uri.query().map(str::to_string);
    let (quick, needs_dns) = {
        let needs_dns = std::cell::Cell::new(false);
        let incoming = Incoming {
            host: &host,
            path: &path,
            query: query.as_deref(),
            https,
        };
        let quick = hostname::route(&app.hosts, &incoming, &|_| {
            needs_dns.set(true);
            false
        });
        (quick, needs_dns.get())
    };
    if !needs_dns {
        return Ok(quick);
    }
    let (sources, hosts) = (app.sources.clone(), Arc::clone(&app.hosts));
    blocking(move || {
        let incoming = Incoming {
            host: &host,
            path: &path,
            query: query.as_deref(),
            https,
        };
        let options = ResolveOptions {
            recursive: false,
            ..ResolveOptions::default()
        };
        let has_dnslink = |domain: &str| {
            sources
                .names
                .resolve_path(&sources.repo, &format!("/ipns/{domain}"), &options)
                .is_ok()
        };
        Ok(hostname::route(&hosts, &incoming, &has_dnslink))
    })
    .await
}

/// A name that cannot be resolved: 400 for what is no name at all, else as
/// Kubo's gateway answers (500, the reason in the body); 502 when DNS or
/// the routing failed.
fn name_failure(name: &str, err: NameError) -> Failure {
    let status = match err {
        NameError::BadName(_) => StatusCode::BAD_REQUEST,
        NameError::Dns(_) | NameError::Routing(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    Failure(status, format!("failed to resolve /ipns/{name}: {err}"))
}

/// `/ipns/<name>` → where it points, and for how long.
async fn resolve_name(sources: &Sources, name: &str) -> Result<Resolution, Failure> {
    let (sources, name) = (sources.clone(), name.to_string());
    blocking(move || {
        sources
            .names
            .resolve_path(
                &sources.repo,
                &format!("/ipns/{name}"),
                &ResolveOptions::default(),
            )
            .map_err(|err| name_failure(&name, err))
    })
    .await
}

/// `path` resolved on the runtime itself from the repository's blocks
/// that are in memory (the directories on the way mostly decoded already,
/// in `dirs`), or None when a block is not here or would be read from the
/// disk, so that the lookup goes to a blocking thread through the store
/// (which may ask the network). A handoff to that thread and back costs
/// more than the whole lookup of a small file in the page cache: it halved
/// the CPU time of a 4 KiB file's request (56-66 µs to 30 µs).
fn resolve_here(
    repo: &Repo,
    readers: &Readers,
    path: &IpfsPath,
) -> Option<Result<(Resolved, PathProof), UnixfsError>> {
    let in_memory = InMemory {
        blocks: repo.blocks(),
        hot: &readers.hot,
    };
    let removals = repo.blocks().removals();
    let resolved = match kept_walk(path, removals) {
        Some((cid, proof)) => load(&in_memory, &cid).map(|node| (Resolved { cid, node }, proof)),
        None => {
            let local = Dirs::Cached(&in_memory, &readers.dirs);
            let resolved = resolve_proof_in(local, path);
            if let Ok((found, proof)) = &resolved {
                keep_walk(path, found.cid, proof, removals);
            }
            resolved
        }
    };
    match resolved {
        Err(UnixfsError::Block(BlockstoreError::NotFound(_)))
        | Err(UnixfsError::Dir(DirError::Block(BlockstoreError::NotFound(_)))) => None,
        resolved => Some(resolved),
    }
}

/// Paths walked, per serving thread: slots enough that few of this many
/// paths in use share one (about 100 bytes each when full).
const WALKS_KEPT: usize = 64 << 10;

/// Where paths led, and the blocks on the way: the same paths are asked
/// again and again, and a walk through a large directory's shards costs a
/// fifth of a small file's answer. What a path leads to never changes; the
/// walks are forgotten, as [`HotBlocks`] forgets its blocks, once the
/// repository removes a block (a directory on the way may be gone).
struct Walks {
    removals: u64,
    kept: Recent<IpfsPath, (Cid, PathProof)>,
}

thread_local! {
    static WALKS: std::cell::RefCell<Walks> = std::cell::RefCell::new(Walks {
        removals: 0,
        kept: Recent::new(WALKS_KEPT),
    });
}

fn kept_walk(path: &IpfsPath, removals: u64) -> Option<(Cid, PathProof)> {
    if path.components.is_empty() {
        return None;
    }
    WALKS.with_borrow_mut(|walks| {
        if walks.removals != removals {
            walks.kept.clear();
            walks.removals = removals;
        }
        walks.kept.get(path).cloned()
    })
}

fn keep_walk(path: &IpfsPath, cid: Cid, proof: &PathProof, removals: u64) {
    if path.components.is_empty() {
        return;
    }
    WALKS.with_borrow_mut(|walks| {
        if walks.removals == removals {
            walks.kept.put(path.clone(), (cid, proof.clone()));
        }
    });
}

/// The repository's blocks that can be read without waiting on the disk
/// (kept by the gateway, or in the page cache); any other is "not here".
/// Only read (resolution reads, nothing else).
struct InMemory<'a> {
    blocks: &'a crate::repo::FlatFs,
    hot: &'a HotBlocks,
}

impl Blockstore for InMemory<'_> {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockstoreError> {
        Ok(self.get_shared(cid)?.map(|block| block.to_vec()))
    }

    fn get_shared(&self, cid: &Cid) -> Result<Option<Bytes>, BlockstoreError> {
        let removals = self.blocks.removals();
        if let Some(block) = self.hot.get(cid, removals) {
            return Ok(Some(block));
        }
        let block = self.blocks.get_if_in_memory(cid)?.map(Bytes::from);
        if let Some(block) = &block {
            self.hot.keep(cid, block, removals);
        }
        Ok(block)
    }

    fn has(&self, cid: &Cid) -> Result<bool, BlockstoreError> {
        Ok(self.get(cid)?.is_some())
    }

    fn put(&self, _: &Cid, _: &[u8]) -> Result<(), BlockstoreError> {
        Err(read_only())
    }

    fn delete(&self, _: &Cid) -> Result<bool, BlockstoreError> {
        Err(read_only())
    }

    fn sync(&self) -> Result<(), BlockstoreError> {
        Ok(())
    }

    fn all_keys(&self) -> Result<Vec<Cid>, BlockstoreError> {
        Err(read_only())
    }
}

fn read_only() -> BlockstoreError {
    BlockstoreError::Other("the gateway's view of the repository is read-only".into())
}

/// `max-age` of a name's answer, in whole seconds.
fn cache_for(ttl: std::time::Duration) -> String {
    format!("public, max-age={}", ttl.as_secs())
}

/// `?format=ipns-record`: the name's signed record as it is kept, for
/// clients that verify it themselves (trustless gateway spec).
async fn ipns_record(sources: &Sources, target: &Target, head: bool) -> Result<Response, Failure> {
    let Root::Name(text) = &target.root else {
        return Err(bad("?format=ipns-record is only for /ipns/<name>"));
    };
    if !target.names.is_empty() {
        return Err(bad(
            "an IPNS record is a name's alone: no path after the name",
        ));
    }
    let name = Name::parse(text).map_err(|e| {
        bad(format!(
            "{e}; a DNSLink name has no IPNS record (look its TXT record up in DNS)"
        ))
    })?;
    let (sources, label) = (sources.clone(), text.clone());
    let record = blocking(move || {
        sources
            .names
            .best_record(&sources.repo, &name, &ResolveOptions::default())
            .map_err(|err| name_failure(&label, err))
    })
    .await?;
    let bytes = record.to_bytes();
    let length = bytes.len();
    let mut response = if head {
        Body::empty()
    } else {
        Body::from(bytes)
    }
    .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(IPNS_RECORD));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let disposition = format!("attachment; filename=\"{text}.ipns-record\"");
    let cache_control = cache_for(record.ttl);
    for (key, value) in [
        (header::CONTENT_DISPOSITION, disposition),
        (header::CACHE_CONTROL, cache_control),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(key, value);
        }
    }
    Ok(response)
}

/// What a content request is answered from, borrowed from the server's state for
/// the request (cloned, each of its handles would be counted up and down
/// by both cores for every request).
struct Served<'a> {
    sources: &'a Sources,
    readers: &'a Readers,
    codec_conversion: bool,
}

/// `content_path` is the `/ipfs/…` or `/ipns/…` path the request stands
/// for; the request's own path is what the client sees (they differ on a
/// subdomain or DNSLink origin).
async fn answer(
    served: Served<'_>,
    request: Request,
    content_path: String,
    origin: Origin,
) -> Result<Response, Failure> {
    let Served {
        sources,
        readers,
        codec_conversion,
    } = served;
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
    let target = parse_target(&content_path)?;
    let head = method == Method::HEAD;
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let asked = negotiate::asked(uri.query(), accept).map_err(bad)?;
    let query = uri.query().unwrap_or("").to_string();
    if asked.format == Format::IpnsRecord {
        return ipns_record(sources, &target, head).await;
    }
    let (path, cache_control) = match &target.root {
        Root::Cid(cid) => (
            IpfsPath {
                root: *cid,
                components: target.names.clone(),
            },
            IMMUTABLE.to_string(),
        ),
        Root::Name(name) => {
            let resolved = resolve_name(sources, name).await?;
            let mut path = IpfsPath::parse(&resolved.path).map_err(|e| {
                Failure(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("/ipns/{name} points to {}: {e}", resolved.path),
                )
            })?;
            path.components.extend(target.names.iter().cloned());
            (path, cache_for(resolved.ttl))
        }
    };
    if only_if_cached(&headers) {
        let (repo, root) = (Arc::clone(&sources.repo), path.root);
        let here =
            blocking(move || Ok::<_, Failure>(repo.blocks().has(&root).unwrap_or(false))).await?;
        if !here {
            return Err(Failure(
                StatusCode::PRECONDITION_FAILED,
                format!(
                    "{} is not here, and Cache-Control: only-if-cached forbids fetching it",
                    cid_string(&root)
                ),
            ));
        }
    }
    let found = match resolve_here(&sources.repo, readers, &path) {
        Some(found) => found,
        None => {
            let (lookup, cache) = (Arc::clone(&sources.store), Arc::clone(&readers.dirs));
            let asked_path = path.clone();
            blocking(move || {
                let dirs = Dirs::Cached(lookup.as_ref(), &cache);
                Ok::<_, Failure>(resolve_proof_in(dirs, &asked_path))
            })
            .await?
        }
    };
    let store = Arc::clone(&sources.store);
    let (path, rewritten, (resolved, proof)) = match found {
        Ok(found) => (path, false, found),
        // A site's `_redirects` is read only for what is not there.
        Err(err @ UnixfsError::NoSuchLink { .. })
            if origin == Origin::Site && asked.format == Format::Content =>
        {
            match site_redirect(&store, &path, &query).await? {
                SiteRedirect::None => return Err(unavailable(err)),
                SiteRedirect::Answer(response) => return Ok(response),
                SiteRedirect::Page(status, page) => {
                    let (response, page_cid) =
                        error_page(&store, readers, status, &page, head).await?;
                    let etag = format!("\"{}\"", cid_string(&page_cid));
                    return Ok(with_common(
                        response,
                        &etag,
                        &cache_control,
                        &content_path,
                        "",
                    ));
                }
                SiteRedirect::Rewrite(rewritten) => {
                    let (lookup, cache) = (Arc::clone(&store), Arc::clone(&readers.dirs));
                    let asked_path = rewritten.clone();
                    let found = blocking(move || {
                        let dirs = Dirs::Cached(lookup.as_ref(), &cache);
                        resolve_proof_in(dirs, &asked_path).map_err(unavailable)
                    })
                    .await?;
                    (rewritten, true, found)
                }
            }
        }
        Err(err) => return Err(unavailable(err)),
    };
    let immutable_path = immutable_path_text(&path);
    let roots: Vec<String> = proof.trail.iter().map(cid_text).collect();
    let roots = roots.join(",");
    let is_unixfs = resolved.node.kind() != Kind::Other;
    // Plain JSON or CBOR asked of UnixFS is the content itself (a JSON
    // file served as any file: IPIP-524's exception), not a conversion.
    let (format, by_accept) = match asked.format {
        Format::Codec(CodecTarget::Json | CodecTarget::Cbor) if is_unixfs => {
            (Format::Content, false)
        }
        other => (other, asked.by_accept),
    };
    let dag_page = format == Format::Content
        && dag_page_codec(&resolved.node).is_some()
        && accepts_html(&headers)
        && query_value(&query, "download").as_deref() != Some("true");
    let etag = match &format {
        // The page may change with the gateway's version; the block never.
        _ if dag_page => format!(
            "\"DagIndex-{}_CID-{}\"",
            env!("CARGO_PKG_VERSION"),
            cid_string(&resolved.cid)
        ),
        Format::Car(request) => request.etag(&immutable_path, &resolved.cid),
        Format::Content | Format::IpnsRecord => format!("\"{}\"", cid_text(&resolved.cid)),
        other => format!("\"{}.{}\"", cid_string(&resolved.cid), other.word()),
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        return Ok(with_common(
            StatusCode::NOT_MODIFIED.into_response(),
            &etag,
            &cache_control,
            &content_path,
            &roots,
        ));
    }
    let format_word = format.word();
    let mut response = match format {
        Format::Raw => {
            let name = format!("{}.bin", cid_string(&resolved.cid));
            let disposition = attachment(&query, &name);
            block(
                &store,
                &resolved.cid,
                negotiate::RAW,
                Some(disposition),
                head,
            )
            .await?
        }
        Format::Car(request) => {
            let selection = request.selection(&resolved.node)?;
            let name = format!("{}.car", cid_string(&resolved.cid));
            let mut response = car::respond(
                &store,
                proof.blocks,
                resolved.cid,
                selection,
                &request,
                head,
            )
            .await?;
            if let Ok(value) = HeaderValue::from_str(&attachment(&query, &name)) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Format::Tar if !is_unixfs => {
            return Err(Failure(
                StatusCode::NOT_ACCEPTABLE,
                format!(
                    "{} is not UnixFS: no tar of it; ?format=raw or ?format=car serve it",
                    cid_string(&resolved.cid)
                ),
            ));
        }
        Format::Tar => {
            let name = format!("{}.tar", cid_string(&resolved.cid));
            let disposition = attachment(&query, &name);
            tar(&store, resolved, disposition, head).await?
        }
        Format::Codec(target) => {
            let asked_as = CodecAsk {
                target,
                conversions: codec_conversion,
            };
            codec(&store, &resolved.cid, asked_as, &query, head).await?
        }
        // The content itself (an IPNS record was answered above).
        _ if resolved.node.kind().is_dir() => {
            // A rewritten path is served where it was asked (redirecting
            // it would ask the same rewrite again).
            if !target.trailing_slash && !rewritten {
                return with_slash(&uri);
            }
            let listed = Listed {
                content_path: &content_path,
                depth: target.names.len(),
            };
            directory(&store, readers, resolved, listed, &headers, head).await?
        }
        _ if dag_page => {
            // Relative links on the page need the path to end with `/`.
            if !target.trailing_slash {
                return with_slash(&uri);
            }
            let page = dag_html(&store, &resolved, &content_path, head).await?;
            // Not cached as the block is: the page changes with the gateway.
            let mut response = with_common(page, &etag, "", &content_path, &roots);
            response.headers_mut().remove(header::CACHE_CONTROL);
            return Ok(response);
        }
        _ if !is_unixfs => {
            let Node::Opaque { codec, .. } = resolved.node else {
                return Err(not_rendered(&resolved.cid));
            };
            let target = CodecTarget::of_codec(codec).ok_or_else(|| not_rendered(&resolved.cid))?;
            let name = format!("{}.{}", cid_string(&resolved.cid), target.extension());
            let disposition = codec_disposition(target, &query, &name);
            block(
                &store,
                &resolved.cid,
                target.media_type(),
                Some(disposition),
                head,
            )
            .await?
        }
        _ => {
            let name = path.components.last().cloned().unwrap_or_default();
            let mut response = file(&store, readers, resolved, &name, &headers, head).await?;
            // `?filename=` names the file; `download=true` makes it a
            // download rather than shown (as Kubo).
            if let Some(asked) = query_value(&query, "filename") {
                let kind = if query_value(&query, "download").as_deref() == Some("true") {
                    "attachment"
                } else {
                    "inline"
                };
                if let Ok(value) = HeaderValue::from_str(&content_disposition(kind, &asked)) {
                    response
                        .headers_mut()
                        .insert(header::CONTENT_DISPOSITION, value);
                }
            }
            response
        }
    };
    if by_accept {
        // The same answer, asked plainly by URL (for caches keyed by URL).
        let format = if response_is_car(&response) {
            "car"
        } else {
            format_word
        };
        let location = match uri.query() {
            Some(q) if !q.is_empty() => format!("{}?{q}&format={format}", uri.path()),
            _ => format!("{}?format={format}", uri.path()),
        };
        if let Ok(value) = HeaderValue::from_str(&location) {
            response
                .headers_mut()
                .insert(header::CONTENT_LOCATION, value);
        }
    }
    Ok(with_common(
        response,
        &etag,
        &cache_control,
        &content_path,
        &roots,
    ))
}

fn response_is_car(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with(negotiate::CAR))
}

/// `Cache-Control: only-if-cached`: answer from what is here, or 412.
fn only_if_cached(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|directive| directive.trim().eq_ignore_ascii_case("only-if-cached"))
}

/// `/ipfs/<root>/a/b`, what an `/ipns/` path resolved to.
fn immutable_path_text(path: &IpfsPath) -> String {
    let mut text = format!("/ipfs/{}", cid_text(&path.root));
    for name in &path.components {
        text.push('/');
        text.push_str(name);
    }
    text
}

/// A query parameter's value (the first, decoded), if not empty.
fn query_value(query: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// `Content-Disposition: attachment`, named by `?filename=` or else
/// `default_name`.
fn attachment(query: &str, default_name: &str) -> String {
    let name = query_value(query, "filename");
    content_disposition("attachment", name.as_deref().unwrap_or(default_name))
}

/// Kubo's form: `filename` with every non-ASCII character as `_`, and the
/// exact name in `filename*`, both percent-encoded as a URL path segment.
fn content_disposition(kind: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii() { c } else { '_' })
        .collect();
    format!(
        "{kind}; filename=\"{}\"; filename*=UTF-8''{}",
        path_escape(&ascii),
        path_escape(name)
    )
}

/// Percent-encoding of a URL path segment (what Go's `url.PathEscape`
/// leaves alone stays).
fn path_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~$&+,:;=@".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `roots`: the CIDs along the path, comma-separated (`X-Ipfs-Roots`).
fn with_common(
    mut response: Response,
    etag: &str,
    cache_control: &str,
    path: &str,
    roots: &str,
) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    if let Ok(value) = HeaderValue::from_str(cache_control) {
        headers.insert(header::CACHE_CONTROL, value);
    }
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
    // The answer depends on Accept (raw block, CAR or content).
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
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

/// Where a listing is: its content path, and how many names below the
/// root the request's URL is (for relative breadcrumb links).
struct Listed<'a> {
    content_path: &'a str,
    depth: usize,
}

async fn directory(
    store: &Arc<dyn Blockstore>,
    readers: &Readers,
    resolved: Resolved,
    listed: Listed<'_>,
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
        return file(store, readers, resolved, "index.html", headers, head).await;
    }
    let html = listing::page(listed.content_path, &rows, listed.depth);
    Ok(html_page(html, head))
}

async fn file(
    store: &Arc<dyn Blockstore>,
    readers: &Readers,
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
    let sends = !head && length > 0;
    let (content_type, whole) =
        small_file_parts(store, readers, &resolved, name, start, length, sends).await?;
    let mut response = match whole {
        Some(bytes) => Body::from(bytes).into_response(),
        None if !sends => Body::empty().into_response(),
        None => {
            let (reads, cid) = (Arc::clone(&readers.files), resolved.cid);
            // A block found bad before the first piece is an error status;
            // later, the body is cut short of its Content-Length.
            streamed_slices_checked(content_type, 0, move |send| {
                let mut sink = |piece: Bytes| send(piece).map_err(UnixfsError::Io);
                reads
                    .stream(&cid, start, length, &mut sink)
                    .map_err(|e| e.to_string())
            })
            .await
            .map_err(|message| Failure(StatusCode::BAD_GATEWAY, message))?
        }
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

/// Answers up to this long are read whole into one buffer of their own
/// (what a slow client has not taken yet holds only its bytes); longer ones
/// are streamed, so that it stays bounded per connection.
const READ_WHOLE: u64 = 1 << 20;

/// A file's media type (sniffed from its first bytes when its name does not
/// tell) and, when `sends` and `[start, start + length)` is short, those
/// bytes: in one trip off the runtime, or in none when the file is all in
/// its root node (nothing more to read).
async fn small_file_parts(
    store: &Arc<dyn Blockstore>,
    readers: &Readers,
    resolved: &Resolved,
    name: &str,
    start: u64,
    length: u64,
    sends: bool,
) -> Result<(&'static str, Option<Bytes>), Failure> {
    let named = mime::from_name(name);
    let read_whole = sends && length <= READ_WHOLE;
    if let Some(known) = named
        && !read_whole
    {
        return Ok((known, None));
    }
    let size = resolved.node.content_size();
    // A file all in its root node is read from it; any other through the
    // shared cache, where its root and blocks are decoded once for all the
    // requests that read it.
    let whole_node = resolved.node.links().is_empty();
    let node = whole_node.then(|| resolved.node.clone());
    let (reader_store, files, cid) = (Arc::clone(store), Arc::clone(&readers.files), resolved.cid);
    let read = move || {
        let bytes_at = |offset, len| {
            match &node {
                Some(node) => FileReader::from_node(reader_store.as_ref(), &cid, node.clone())
                    .and_then(|reader| reader.read_bytes(offset, len)),
                None => files.peek(&cid, offset, len),
            }
            .map_err(unavailable)
        };
        let whole = if read_whole {
            Some(bytes_at(start, length)?)
        } else {
            None
        };
        let content_type = match (named, &whole) {
            (Some(known), _) => known,
            // The same first bytes as a whole read would see.
            (None, Some(bytes)) if start == 0 && (bytes.len() >= 512 || length == size) => {
                mime::sniff(&bytes[..bytes.len().min(512)])
            }
            (None, _) => mime::sniff(&bytes_at(0, 512)?),
        };
        Ok::<_, Failure>((content_type, whole))
    };
    if whole_node {
        read()
    } else {
        blocking(read).await
    }
}

/// What a site's `_redirects` made of a path that is not there.
enum SiteRedirect {
    /// No `_redirects`, or no rule for the path.
    None,
    /// A redirect, answered.
    Answer(Response),
    /// A 200 rule: serve this path instead.
    Rewrite(IpfsPath),
    /// A 404/410/451 rule: this page, with this status.
    Page(StatusCode, IpfsPath),
}

fn redirects_failure(why: impl std::fmt::Display) -> Failure {
    Failure(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("trouble processing _redirects file: {why}"),
    )
}

/// `/a/b?x` of a rule's target (a path from the site's root) under `root`.
fn site_path(root: &Cid, to: &str) -> Result<IpfsPath, Failure> {
    let path = to.split(['?', '#']).next().unwrap_or_default();
    let mut components = Vec::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let name = percent_decode(segment, false)
            .filter(|n| n != "." && n != ".." && !n.contains(['/', '\0']))
            .ok_or_else(|| redirects_failure(format!("bad target path {to:?}")))?;
        components.push(name);
    }
    Ok(IpfsPath {
        root: *root,
        components,
    })
}

/// The rules of the `_redirects` at the root of `path`'s site, applied
/// to `path` (specs.ipfs.tech/http-gateways/web-redirects-file).
async fn site_redirect(
    store: &Arc<dyn Blockstore>,
    path: &IpfsPath,
    query: &str,
) -> Result<SiteRedirect, Failure> {
    let (reader_store, root) = (Arc::clone(store), path.root);
    let file = blocking(move || {
        let at = IpfsPath {
            root,
            components: vec!["_redirects".into()],
        };
        match resolve_proof(reader_store.as_ref(), &at) {
            Err(UnixfsError::NoSuchLink { .. }) => Ok(None),
            Err(err) => Err(redirects_failure(err)),
            Ok((resolved, _)) if resolved.node.kind() != Kind::File => {
                Err(redirects_failure("_redirects is not a file"))
            }
            Ok((resolved, _)) => {
                let reader =
                    FileReader::from_node(reader_store.as_ref(), &resolved.cid, resolved.node)
                        .map_err(redirects_failure)?;
                // One byte past the limit tells a file that is too large.
                let mut bytes = vec![0; redirects::MAX_SIZE + 1];
                let n = reader.read_at(0, &mut bytes).map_err(redirects_failure)?;
                bytes.truncate(n);
                Ok(Some(bytes))
            }
        }
    })
    .await?;
    let Some(file) = file else {
        return Ok(SiteRedirect::None);
    };
    let rules = redirects::parse(&file).map_err(|e| {
        Failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("trouble processing _redirects file: could not parse _redirects: {e}"),
        )
    })?;
    let asked = format!("/{}", path.components.join("/"));
    let Some((rule, to)) = redirects::first_match(&rules, &asked) else {
        return Ok(SiteRedirect::None);
    };
    match rule.status {
        200 => {
            if !to.starts_with('/') {
                return Err(redirects_failure(format!(
                    "a 200 rewrite must name a path of the site, not {to:?}"
                )));
            }
            Ok(SiteRedirect::Rewrite(site_path(&path.root, &to)?))
        }
        404 | 410 | 451 => {
            let status = StatusCode::from_u16(rule.status).map_err(redirects_failure)?;
            Ok(SiteRedirect::Page(status, site_path(&path.root, &to)?))
        }
        status => {
            // The request's query goes along, after the target's own.
            let location = match (query.is_empty(), to.contains('?')) {
                (true, _) => to,
                (false, true) => format!("{to}&{query}"),
                (false, false) => format!("{to}?{query}"),
            };
            let status = StatusCode::from_u16(status).map_err(redirects_failure)?;
            Ok(SiteRedirect::Answer(redirect(status, &location)?))
        }
    }
}

/// A `_redirects` 404/410/451 page: the file at `page`, with `status`;
/// and the file's CID.
async fn error_page(
    store: &Arc<dyn Blockstore>,
    readers: &Readers,
    status: StatusCode,
    page: &IpfsPath,
    head: bool,
) -> Result<(Response, Cid), Failure> {
    let (lookup, at) = (Arc::clone(store), page.clone());
    let (resolved, _) = blocking(move || {
        resolve_proof(lookup.as_ref(), &at)
            .map_err(|e| redirects_failure(format!("the {} page: {e}", status.as_u16())))
    })
    .await?;
    if resolved.node.kind() != Kind::File {
        return Err(redirects_failure(format!(
            "the {} page is not a file",
            status.as_u16()
        )));
    }
    let page_cid = resolved.cid;
    let mut response = file(
        store,
        readers,
        resolved,
        "page.html",
        &HeaderMap::new(),
        head,
    )
    .await?;
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    Ok((response, page_cid))
}

/// `?format=tar`: the file or tree as a tar stream, its root entry named
/// by its CID (as Kubo).
async fn tar(
    store: &Arc<dyn Blockstore>,
    resolved: Resolved,
    disposition: String,
    head: bool,
) -> Result<Response, Failure> {
    let mut response = if head {
        Body::empty().into_response()
    } else {
        let (writer_store, cid, node) = (Arc::clone(store), resolved.cid, resolved.node);
        let name = cid_string(&cid);
        streamed_checked(negotiate::TAR, move |out| {
            write_tar(writer_store.as_ref(), &cid, node, &name, out).map_err(|e| e.to_string())
        })
        .await
        .map_err(|message| Failure(StatusCode::BAD_GATEWAY, message))?
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(negotiate::TAR),
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// A `?format=` codec and whether blocks may be converted to it.
struct CodecAsk {
    target: CodecTarget,
    conversions: bool,
}

/// `?format=dag-json|dag-cbor|json|cbor`: the block as stored when it is
/// in that codec; else converted when the operator allows, or 406.
async fn codec(
    store: &Arc<dyn Blockstore>,
    cid: &Cid,
    asked: CodecAsk,
    query: &str,
    head: bool,
) -> Result<Response, Failure> {
    let CodecAsk {
        target,
        conversions,
    } = asked;
    let (store, cid) = (Arc::clone(store), *cid);
    let body = blocking(move || {
        let block =
            get_required(store.as_ref(), &cid).map_err(|e| unavailable(UnixfsError::Block(e)))?;
        convert::convert(&cid, block.to_vec(), target, conversions).map_err(|err| match err {
            convert::ConvertError::NotSupported(why) => Failure(StatusCode::NOT_ACCEPTABLE, why),
            convert::ConvertError::Undecodable(why) => Failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{} does not decode: {why}", cid_string(&cid)),
            ),
        })
    })
    .await?;
    let name = format!("{}.{}", cid_string(&cid), target.extension());
    let disposition = codec_disposition(target, query, &name);
    let length = body.len();
    let mut response = if head {
        Body::empty()
    } else {
        Body::from(body)
    }
    .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(target.media_type()),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// JSON shows in a browser; CBOR is bytes to save (as Kubo). `?filename=`
/// names it, `download=true` makes JSON a download too.
fn codec_disposition(target: CodecTarget, query: &str, default_name: &str) -> String {
    let download = query_value(query, "download").as_deref() == Some("true");
    let kind = if target.extension() == "json" && !download {
        "inline"
    } else {
        "attachment"
    };
    let name = query_value(query, "filename").unwrap_or_else(|| default_name.to_string());
    content_disposition(kind, &name)
}

/// The codec name of a block shown to browsers as a page: DAG-JSON and
/// DAG-CBOR (plain JSON and CBOR are served as they are).
fn dag_page_codec(node: &Node) -> Option<&'static str> {
    match node {
        Node::Opaque { codec, .. } => match CodecTarget::of_codec(*codec)? {
            CodecTarget::DagJson => Some("dag-json"),
            CodecTarget::DagCbor => Some("dag-cbor"),
            _ => None,
        },
        _ => None,
    }
}

/// Whether the client is a browser: its Accept names `text/html`.
fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

/// 301 to the same URL with a `/` after its path.
fn with_slash(uri: &Uri) -> Result<Response, Failure> {
    let location = match uri.query() {
        Some(q) => format!("{}/?{q}", uri.path()),
        None => format!("{}/", uri.path()),
    };
    redirect(StatusCode::MOVED_PERMANENTLY, &location)
}

/// The HTML page of a DAG-JSON or DAG-CBOR block.
async fn dag_html(
    store: &Arc<dyn Blockstore>,
    resolved: &Resolved,
    content_path: &str,
    head: bool,
) -> Result<Response, Failure> {
    let codec_name = dag_page_codec(&resolved.node).ok_or_else(|| not_rendered(&resolved.cid))?;
    let (reader, cid) = (Arc::clone(store), resolved.cid);
    let block = blocking(move || {
        get_required(reader.as_ref(), &cid).map_err(|e| unavailable(UnixfsError::Block(e)))
    })
    .await?;
    let decoded = convert::decode(&resolved.cid, &block).map_err(|err| match err {
        convert::ConvertError::NotSupported(why) | convert::ConvertError::Undecodable(why) => why,
    });
    let html = dag_page::page(&dag_page::DagPage {
        content_path,
        cid: &resolved.cid,
        codec_name,
        block_len: block.len(),
        data: decoded.as_ref().map_err(Clone::clone),
    });
    Ok(html_page(html, head))
}

/// An HTML page (a listing or a block's view), its body left out for HEAD.
fn html_page(html: String, head: bool) -> Response {
    let length = html.len();
    let body = if head {
        Body::empty()
    } else {
        Body::from(html)
    };
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        body,
    )
        .into_response()
}
