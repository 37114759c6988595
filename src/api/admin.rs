//! `/api/v0/pin/*`, `repo/*`, `config` and `version`.

use axum::extract::{RawQuery, State};
use axum::response::Response;

use super::{ApiError, ApiState, Args, json, ndjson, run};
use crate::codec::parse_cid;
use crate::commands::{pins, repo};

type Reply = Result<Response, ApiError>;

fn paths(args: &Args) -> Vec<String> {
    args.args().into_iter().map(str::to_string).collect()
}

fn recursive(args: &Args) -> Result<bool, ApiError> {
    Ok(args.get(&["recursive", "r"]).is_none() || args.flag(&["recursive", "r"])?)
}

pub async fn pin_add(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let (paths, recursive) = (paths(&args), recursive(&args)?);
    if paths.is_empty() {
        return Err(ApiError::bad_request("argument \"ipfs-path\" is required"));
    }
    let changed = run(&state, move |core| pins::add(core, &paths, recursive)).await?;
    if let Some(net) = &state.net {
        net.provide(
            changed
                .pins
                .iter()
                .filter_map(|c| parse_cid(c).ok())
                .collect(),
        );
    }
    Ok(json(&changed))
}

pub async fn pin_rm(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let (paths, recursive) = (paths(&args), recursive(&args)?);
    if paths.is_empty() {
        return Err(ApiError::bad_request("argument \"ipfs-path\" is required"));
    }
    Ok(json(
        &run(&state, move |core| pins::remove(core, &paths, recursive)).await?,
    ))
}

/// Streamed (`stream=true`) one `{Cid, Type}` per line, else Kubo's
/// `{"Keys": {cid: {"Type": …}}}`.
pub async fn pin_ls(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let paths = paths(&args);
    let kind = args.get(&["type", "t"]).unwrap_or("all").to_string();
    let stream = args.flag(&["stream", "s"])?;
    let pins = run(&state, move |core| pins::list(core, &paths, &kind)).await?;
    if stream {
        return Ok(ndjson(&pins));
    }
    let keys: serde_json::Map<String, serde_json::Value> = pins
        .into_iter()
        .map(|p| (p.cid, serde_json::json!({ "Type": p.kind })))
        .collect();
    Ok(json(&serde_json::json!({ "Keys": keys })))
}

pub async fn repo_stat(State(state): State<ApiState>) -> Reply {
    Ok(json(&run(&state, repo::stat).await?))
}

pub async fn repo_verify(State(state): State<ApiState>) -> Reply {
    Ok(ndjson(&run(&state, repo::verify).await?))
}

pub async fn repo_version(State(state): State<ApiState>) -> Reply {
    let stat = run(&state, repo::stat).await?;
    Ok(json(&serde_json::json!({ "Version": stat.version })))
}

/// Writes out the MFS tree first, so that its newest blocks are kept.
pub async fn repo_gc(State(state): State<ApiState>) -> Reply {
    let mfs = state.mfs.clone();
    super::blocking(move || {
        mfs.sync(true)
            .map_err(|e| ApiError::internal(format!("saving the MFS root: {e}")))
    })
    .await?;
    Ok(ndjson(&run(&state, repo::gc).await?))
}

pub async fn version() -> Reply {
    Ok(json(&repo::version()))
}

/// `config KEY` reads, `config KEY VALUE` (with `json` or `bool`) writes.
pub async fn config(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let key = args.arg(0, "key")?;
    let value = args.args().get(1).map(|v| v.to_string());
    let kind = if args.flag(&["json"])? {
        repo::ValueKind::Json
    } else if args.flag(&["bool"])? {
        repo::ValueKind::Bool
    } else {
        repo::ValueKind::String
    };
    let entry = run(&state, move |core| match value {
        Some(value) => repo::config_set(core, &key, &value, kind),
        None => repo::config_get(core, &key),
    })
    .await?;
    Ok(json(&entry))
}

pub async fn config_show(State(state): State<ApiState>) -> Reply {
    let entry = run(&state, |core| repo::config_get(core, "")).await?;
    Ok(json(&entry.value))
}
