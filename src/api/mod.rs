//! The HTTP RPC API (Kubo's `/api/v0/…`), served by a running mount so
//! that `rsipfs` commands run while it holds the repository go through it.
//! It runs its own small tokio runtime on a thread; handlers call the sync
//! core on blocking threads.

mod add;
mod admin;
mod bootstrap;
pub(crate) mod content;
pub mod cors;
mod files;
mod keys;
mod names;
pub mod node;
mod objects;
mod routing;
mod server;
mod upload;

pub use server::{ApiServer, Limits, serve};

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::blockstore::Blockstore;
use crate::fs::mfs::MfsFs;

/// What the API serves from.
#[derive(Clone)]
pub struct ApiState {
    pub repo: Arc<crate::repo::Repo>,
    pub mfs: Arc<MfsFs>,
    pub store: Arc<dyn Blockstore>,
    /// The network node, unless offline.
    pub net: Option<crate::net::NetHandle>,
    /// How `/ipns/` names are resolved and published.
    pub names: Arc<crate::names::NameSystem>,
    /// Mounts /ipfs, /ipns and /mfs in the serving process (`/api/v0/mount`).
    pub mounter: Option<Arc<Mounter>>,
    /// Which web origins may call the API.
    pub cors: Arc<cors::Cors>,
    /// What `/debug/metrics/prometheus` serves (the process's registry).
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// Given the mount points asked for, mounts them and returns where they are.
pub type Mounter = dyn Fn(MountRequest) -> Result<Mounted, String> + Send + Sync;

/// The mount points asked for; `None` for the configured ones.
#[derive(Clone, Debug, Default)]
pub struct MountRequest {
    pub ipfs: Option<std::path::PathBuf>,
    pub ipns: Option<std::path::PathBuf>,
    pub mfs: Option<std::path::PathBuf>,
    /// Leave /ipns unmounted.
    pub no_ipns: bool,
}

/// Where the mounts are.
#[derive(Clone, Debug)]
pub struct Mounted {
    pub ipfs: String,
    pub ipns: Option<String>,
    pub mfs: String,
}

/// Binds `addr` (port 0 picks one) and serves the API until stopped.
pub fn start(addr: SocketAddr, state: ApiState, limits: Limits) -> std::io::Result<ApiServer> {
    serve(addr, router(state), "api", limits)
}

fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v0/files/ls", post(files::ls))
        .route("/api/v0/files/mkdir", post(files::mkdir))
        .route("/api/v0/files/write", post(files::write))
        .route("/api/v0/files/read", post(files::read))
        .route("/api/v0/files/rm", post(files::rm))
        .route("/api/v0/files/cp", post(files::cp))
        .route("/api/v0/files/mv", post(files::mv))
        .route("/api/v0/files/stat", post(files::stat))
        .route("/api/v0/files/flush", post(files::flush))
        .route("/api/v0/files/log", post(files::log))
        .route("/api/v0/cat", post(content::cat))
        .route("/api/v0/get", post(content::get))
        .route("/api/v0/id", post(node::id))
        .route("/api/v0/mount", post(mount))
        .route("/api/v0/swarm/connect", post(node::connect))
        .route("/api/v0/swarm/disconnect", post(node::disconnect))
        .route("/api/v0/swarm/peers", post(node::peers))
        .route("/api/v0/swarm/addrs/listen", post(node::listen_addrs))
        .route("/api/v0/swarm/peering/add", post(node::peering_add))
        .route("/api/v0/swarm/peering/rm", post(node::peering_rm))
        .route("/api/v0/swarm/peering/ls", post(node::peering_ls))
        .route("/api/v0/bitswap/stat", post(node::bitswap_stat))
        .route("/api/v0/stats/provide", post(node::provide_stat))
        .route("/api/v0/stats/dht", post(node::dht_stat))
        .route("/api/v0/routing/findprovs", post(routing::findprovs))
        .route("/api/v0/routing/findpeer", post(routing::findpeer))
        .route("/api/v0/routing/provide", post(routing::provide))
        .route("/api/v0/routing/get", post(routing::get))
        .route("/api/v0/routing/put", post(routing::put))
        .route("/api/v0/add", post(add::add))
        .route("/api/v0/ls", post(objects::ls))
        .route("/api/v0/refs", post(objects::refs))
        .route("/api/v0/block/get", post(objects::block_get))
        .route("/api/v0/block/put", post(objects::block_put))
        .route("/api/v0/block/stat", post(objects::block_stat))
        .route("/api/v0/block/rm", post(objects::block_rm))
        .route("/api/v0/dag/get", post(objects::dag_get))
        .route("/api/v0/dag/put", post(objects::dag_put))
        .route("/api/v0/dag/import", post(objects::dag_import))
        .route("/api/v0/dag/export", post(objects::dag_export))
        .route("/api/v0/dag/stat", post(objects::dag_stat))
        .route("/api/v0/object/get", post(objects::object_get))
        .route("/api/v0/object/stat", post(objects::object_stat))
        .route("/api/v0/object/data", post(objects::object_data))
        .route("/api/v0/object/links", post(objects::object_links))
        .route("/api/v0/name/publish", post(names::publish))
        .route("/api/v0/name/resolve", post(names::resolve))
        .route("/api/v0/name/get", post(names::get))
        .route("/api/v0/name/put", post(names::put))
        .route("/api/v0/name/inspect", post(names::inspect))
        .route("/api/v0/key/gen", post(keys::generate))
        .route("/api/v0/key/list", post(keys::list))
        .route("/api/v0/key/ls", post(keys::list))
        .route("/api/v0/key/rm", post(keys::remove))
        .route("/api/v0/key/rename", post(keys::rename))
        .route("/api/v0/key/import", post(keys::import))
        .route("/api/v0/pin/add", post(admin::pin_add))
        .route("/api/v0/pin/rm", post(admin::pin_rm))
        .route("/api/v0/pin/ls", post(admin::pin_ls))
        .route("/api/v0/repo/stat", post(admin::repo_stat))
        .route("/api/v0/repo/verify", post(admin::repo_verify))
        .route("/api/v0/repo/version", post(admin::repo_version))
        .route("/api/v0/repo/gc", post(admin::repo_gc))
        .route("/api/v0/version", post(admin::version))
        .route("/api/v0/config", post(admin::config))
        .route("/api/v0/config/show", post(admin::config_show))
        .route(
            "/api/v0/config/profile/apply",
            post(bootstrap::profile_apply),
        )
        .route("/api/v0/bootstrap", post(bootstrap::list))
        .route("/api/v0/bootstrap/list", post(bootstrap::list))
        .route("/api/v0/bootstrap/add", post(bootstrap::add))
        .route(
            "/api/v0/bootstrap/add/default",
            post(bootstrap::add_default),
        )
        .route("/api/v0/bootstrap/rm", post(bootstrap::remove))
        .route("/api/v0/bootstrap/rm/all", post(bootstrap::remove_all))
        .route("/api/v0/files/chcid", post(files::chcid))
        .route("/api/v0/files/restore", post(files::restore))
        .route("/debug/metrics/prometheus", get(prometheus))
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            refuse_browsers,
        ))
        .with_state(state)
}

/// Kubo's `ipfs mount` through the daemon: `ipfs-path`, `ipns-path` and
/// (ours) `mfs-path` and `no-ipns`.
async fn mount(
    axum::extract::State(state): axum::extract::State<ApiState>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, ApiError> {
    let args = Args::parse(query.as_deref());
    let request = MountRequest {
        ipfs: args.get(&["ipfs-path", "f"]).map(std::path::PathBuf::from),
        ipns: args.get(&["ipns-path", "n"]).map(std::path::PathBuf::from),
        mfs: args.get(&["mfs-path"]).map(std::path::PathBuf::from),
        no_ipns: args.flag(&["no-ipns"])?,
    };
    let mounter = state
        .mounter
        .clone()
        .ok_or_else(|| ApiError::internal("this node cannot mount"))?;
    let mounted = tokio::task::spawn_blocking(move || mounter(request))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(ApiError::internal)?;
    Ok(axum::Json(serde_json::json!({
        "IPFS": mounted.ipfs,
        "IPNS": mounted.ipns,
        "MFS": mounted.mfs,
    }))
    .into_response())
}

/// Kubo's metrics endpoint, GET as Prometheus scrapes it.
async fn prometheus(axum::extract::State(state): axum::extract::State<ApiState>) -> Response {
    let Some(metrics) = state.metrics else {
        return (StatusCode::NOT_FOUND, "no metrics in this process\n").into_response();
    };
    match metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "encoding the metrics failed\n",
        )
            .into_response(),
    }
}

/// A web page must not drive the API: requests that carry an Origin (every
/// browser request does) are refused unless the origin is configured.
async fn refuse_browsers(
    axum::extract::State(state): axum::extract::State<ApiState>,
    headers: HeaderMap,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(answer) = state.cors.check(request.method(), &headers) {
        return answer;
    }
    let mut response = as_kubo_error(next.run(request).await).await;
    state.cors.decorate(&headers, &mut response);
    response
}

/// Errors from outside the handlers (an unknown command, a wrong method, a
/// body that is not multipart) in Kubo's JSON shape too.
async fn as_kubo_error(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 64 << 10)
        .await
        .unwrap_or_default();
    let mut message = String::from_utf8_lossy(&body).trim().to_string();
    if message.is_empty() {
        message = status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_string();
    }
    ApiError::new(status, message).into_response()
}

/// Kubo's error body: `{"Message": …, "Code": 0, "Type": "error"}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl ApiError {
    /// Kubo's JSON error object.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"Message": self.message, "Code": 0, "Type": "error"})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

impl From<crate::commands::CommandError> for ApiError {
    fn from(err: crate::commands::CommandError) -> Self {
        match err {
            crate::commands::CommandError::BadArgument(m) => Self::bad_request(m),
            crate::commands::CommandError::Failed(m) => Self::internal(m),
        }
    }
}

/// A JSON answer.
pub(crate) fn json(value: &impl serde::Serialize) -> Response {
    axum::Json(value).into_response()
}

/// Kubo's streamed answer: one JSON value per line.
pub(crate) fn ndjson<T: serde::Serialize>(values: &[T]) -> Response {
    let mut body = Vec::new();
    for value in values {
        if serde_json::to_writer(&mut body, value).is_ok() {
            body.push(b'\n');
        }
    }
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::HeaderName::from_static("x-chunked-output"), "1"),
        ],
        body,
    )
        .into_response()
}

/// [`ndjson`] for answers produced as they go: `produce` hands each value
/// to `line` on a blocking thread, and the body streams. An error after the
/// answer has begun ends it with Kubo's error object as the last line.
pub(crate) fn ndjson_streamed<T: serde::Serialize>(
    produce: impl FnOnce(&mut dyn FnMut(&T)) -> Result<(), ApiError> + Send + 'static,
) -> Response {
    fn write_line(
        out: &mut impl std::io::Write,
        value: &impl serde::Serialize,
    ) -> Result<(), String> {
        serde_json::to_writer(&mut *out, value).map_err(|e| e.to_string())?;
        out.write_all(b"\n").map_err(|e| e.to_string())
    }
    let mut response = content::streamed("application/json", move |out| {
        // A client gone away shows as a failed write; the rest is dropped.
        let mut broken = None;
        let produced = produce(&mut |value| {
            if broken.is_none() {
                broken = write_line(out, value).err();
            }
        });
        if let Some(err) = broken {
            return Err(err);
        }
        match produced {
            Ok(()) => Ok(()),
            Err(err) => write_line(out, &err.body()),
        }
    });
    response.headers_mut().insert(
        header::HeaderName::from_static("x-chunked-output"),
        header::HeaderValue::from_static("1"),
    );
    response
}

/// Runs a command on a blocking thread, on the node's repository and the
/// store it reads through.
pub(crate) async fn run<T: Send + 'static>(
    state: &ApiState,
    command: impl FnOnce(&crate::commands::Core) -> Result<T, crate::commands::CommandError>
    + Send
    + 'static,
) -> Result<T, ApiError> {
    let (repo, store, names) = (state.repo.clone(), state.store.clone(), state.names.clone());
    blocking(move || {
        let core = crate::commands::Core {
            repo: &repo,
            store: store.as_ref(),
            names: &names,
        };
        command(&core).map_err(ApiError::from)
    })
    .await
}

/// Runs sync work (the core, the repository) off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    off_runtime(work).await
}

/// `blocking` for any error type that can report a failed task.
pub(crate) async fn off_runtime<T, E>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<tokio::task::JoinError> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await?
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(failed: tokio::task::JoinError) -> Self {
        ApiError::internal(format!("request failed: {failed}"))
    }
}

/// `%XX` escapes decoded strictly (a malformed escape or bytes that are
/// not UTF-8 give None); `+` is a space when `plus_is_space`, as in form
/// fields, and itself in URL paths.
pub(crate) fn percent_decode(text: &str, plus_is_space: bool) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A request's query: repeated `arg`s in order, and the named options.
pub struct Args {
    pairs: Vec<(String, String)>,
}

impl Args {
    pub fn parse(query: Option<&str>) -> Self {
        Args {
            pairs: form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        }
    }

    pub fn args(&self) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == "arg")
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn arg(&self, index: usize, what: &str) -> Result<String, ApiError> {
        self.args()
            .get(index)
            .map(|s| s.to_string())
            .ok_or_else(|| ApiError::bad_request(format!("argument \"{what}\" is required")))
    }

    pub fn get(&self, names: &[&str]) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, names: &[&str]) -> Result<bool, ApiError> {
        match self.get(names) {
            None | Some("false") => Ok(false),
            Some("" | "true") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "option {:?}: {other:?} is not a boolean",
                names[0]
            ))),
        }
    }

    pub fn number(&self, names: &[&str]) -> Result<Option<u64>, ApiError> {
        self.get(names)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_request(format!("option {:?}: {v:?} is not a number", names[0]))
                })
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_keep_their_order_and_options_parse_strictly() {
        let args = Args::parse(Some("arg=%2Fa%20b&arg=/c&parents=true&count=12&long"));
        assert_eq!(args.args(), ["/a b", "/c"]);
        assert_eq!(args.arg(1, "dest").unwrap(), "/c");
        assert!(args.arg(2, "third").is_err());
        assert!(args.flag(&["parents", "p"]).unwrap());
        assert!(args.flag(&["long", "l"]).unwrap());
        assert!(!args.flag(&["recursive", "r"]).unwrap());
        assert_eq!(args.number(&["count", "n"]).unwrap(), Some(12));
        let bad = Args::parse(Some("count=many&parents=perhaps"));
        assert!(bad.number(&["count"]).is_err());
        assert!(bad.flag(&["parents"]).is_err());
        assert!(Args::parse(None).args().is_empty());
    }
}
