//! `/api/v0/files/*` on the mounted MFS tree, with Kubo's arguments and
//! JSON shapes.

use axum::Json;
use axum::body::Body;
use axum::extract::{Multipart, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{ApiError, ApiState, Args, blocking};
use crate::codec::cid::{CidBuilder, HashFn};
use crate::codec::cid_string;
use crate::commands::files;
use crate::mfs::WriteOptions;
use crate::unixfs::node::Kind;

type Reply = Result<Response, ApiError>;

fn empty() -> Response {
    ().into_response()
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Directory | Kind::HamtShard => "directory",
        Kind::Symlink => "symlink",
        _ => "file",
    }
}

pub async fn ls(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let path = args
        .args()
        .first()
        .map_or("/".to_string(), |p| p.to_string());
    let long = args.flag(&["long", "l"])?;
    let entries = blocking(move || Ok(files::ls(&state.mfs, &path)?)).await?;
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|(entry, kind, size)| {
            json!({
                "Name": entry.name,
                "Type": if kind.is_dir() { 1 } else { 0 },
                "Size": if long { size } else { 0 },
                "Hash": if long { cid_string(&entry.cid) } else { String::new() },
            })
        })
        .collect();
    Ok(Json(json!({ "Entries": entries })).into_response())
}

pub async fn mkdir(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let path = args.arg(0, "path")?;
    let parents = args.flag(&["parents", "p"])?;
    blocking(move || Ok(files::mkdir(&state.mfs, &path, parents)?)).await?;
    Ok(empty())
}

pub async fn write(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
    mut multipart: Multipart,
) -> Reply {
    let args = Args::parse(query.as_deref());
    let path = args.arg(0, "path")?;
    let opts = WriteOptions {
        create: args.flag(&["create", "e"])?,
        truncate: args.flag(&["truncate", "t"])?,
        parents: args.flag(&["parents", "p"])?,
        offset: args.number(&["offset", "o"])?,
        count: args.number(&["count", "n"])?,
    };
    let mut field = super::upload::next_part(&mut multipart)
        .await?
        .ok_or_else(|| ApiError::bad_request("file argument \"data\" is required"))?;
    let (sender, mut reader) = super::upload::part_channel();
    let writer =
        tokio::task::spawn_blocking(move || files::write(&state.mfs, &path, &mut reader, &opts));
    // A broken upload fails the writer's read; its error is the answer.
    sender.forward(&mut field).await;
    writer
        .await
        .map_err(|e| ApiError::internal(format!("request failed: {e}")))??;
    Ok(empty())
}

pub async fn read(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let path = args.arg(0, "path")?;
    let offset = args.number(&["offset", "o"])?.unwrap_or(0);
    let count = args.number(&["count", "n"])?;
    let bytes = blocking(move || {
        let mut out = Vec::new();
        files::read(&state.mfs, &path, offset, count, &mut out)?;
        Ok(out)
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from(bytes),
    )
        .into_response())
}

pub async fn rm(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let paths: Vec<String> = args.args().into_iter().map(str::to_string).collect();
    let recursive = args.flag(&["recursive", "r"])? || args.flag(&["force"])?;
    blocking(move || Ok(files::rm(&state.mfs, &paths, recursive)?)).await?;
    Ok(empty())
}

pub async fn cp(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let src = args.arg(0, "source")?;
    let dst = args.arg(1, "dest")?;
    let parents = args.flag(&["parents", "p"])?;
    blocking(move || {
        let core = crate::commands::Core {
            repo: &state.repo,
            store: state.store.as_ref(),
            names: &state.names,
        };
        Ok(files::cp_named(&core, &state.mfs, &src, &dst, parents)?)
    })
    .await?;
    Ok(empty())
}

pub async fn mv(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let src = args.arg(0, "source")?;
    let dst = args.arg(1, "dest")?;
    blocking(move || Ok(files::mv(&state.mfs, &src, &dst)?)).await?;
    Ok(empty())
}

pub async fn stat(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let path = args.arg(0, "path")?;
    let stat = blocking(move || Ok(files::stat(&state.mfs, &path)?)).await?;
    let mut body = json!({
        "Hash": cid_string(&stat.cid),
        "Size": stat.size,
        "CumulativeSize": stat.cumulative_size,
        "Blocks": stat.child_blocks,
        "Type": kind_name(stat.kind),
    });
    if let Some(mode) = stat.mode {
        body["Mode"] = json!(mode);
    }
    if let Some(mtime) = stat.mtime {
        body["Mtime"] = json!(mtime.seconds);
        body["MtimeNsecs"] = json!(mtime.nanos);
    }
    Ok(Json(body).into_response())
}

pub async fn flush(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let path = args
        .args()
        .first()
        .map_or("/".to_string(), |p| p.to_string());
    let cid = blocking(move || Ok(files::flush(&state.mfs, &path)?)).await?;
    Ok(Json(json!({ "Cid": cid_string(&cid) })).into_response())
}

/// rsipfs's own: the recorded versions, newest first.
pub async fn log(State(state): State<ApiState>) -> Reply {
    let commits = blocking(move || Ok(files::log(&state.mfs, state.store.as_ref())?)).await?;
    let count = commits.len();
    let commits: Vec<Value> = commits
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "Number": count - i,
                "Time": c.time.seconds,
                "Root": cid_string(&c.root),
                "Cid": cid_string(&c.cid),
            })
        })
        .collect();
    Ok(Json(json!({ "Commits": commits })).into_response())
}

/// `files chcid`: another CID version or hash for a directory.
pub async fn chcid(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let path = args
        .args()
        .first()
        .map_or("/".to_string(), |p| p.to_string());
    let hash_name = args.get(&["hash"]).unwrap_or("sha2-256").to_string();
    let hash = HashFn::parse(&hash_name).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let builder = CidBuilder::for_version(args.number(&["cid-version"])?, hash)
        .map_err(ApiError::bad_request)?;
    blocking(move || Ok(files::chcid(&state.mfs, &path, &builder)?)).await?;
    Ok(empty())
}

/// `files restore`: a past version, by number or commit CID, becomes the
/// tree again (as a new version).
pub async fn restore(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let version = Args::parse(query.as_deref()).arg(0, "version")?;
    let root =
        blocking(move || Ok(files::restore(&state.mfs, state.store.as_ref(), &version)?)).await?;
    Ok(Json(json!({ "Root": cid_string(&root) })).into_response())
}
