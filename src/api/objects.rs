//! `/api/v0/block/*`, `dag/*`, `object/*`, `ls` and `refs`.

use axum::body::Body;
use axum::extract::{Multipart, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::upload::{next_part, part_channel, read_part};
use super::{ApiError, ApiState, Args, json, ndjson, ndjson_streamed, run};
use crate::commands::{Core, blocks, dags, listing, objects};

type Reply = Result<Response, ApiError>;

/// Blocks over this size are refused by `block/put` and `dag/put`, as by
/// peers (bitswap's limit).
const MAX_BLOCK: usize = 2 << 20;

fn bytes(data: Vec<u8>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from(data),
    )
        .into_response()
}

pub async fn block_get(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let path = Args::parse(query.as_deref()).arg(0, "cid")?;
    Ok(bytes(
        run(&state, move |core| blocks::get(core, &path)).await?,
    ))
}

pub async fn block_put(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
    mut multipart: Multipart,
) -> Reply {
    let args = Args::parse(query.as_deref());
    let codec = args
        .get(&["cid-codec", "format"])
        .unwrap_or("raw")
        .to_string();
    let hash = args.get(&["mhtype"]).unwrap_or("sha2-256").to_string();
    let pin = args.flag(&["pin"])?;
    let data = read_part(&mut multipart, MAX_BLOCK).await?;
    let stat = run(&state, move |core| {
        blocks::put(core, &data, &codec, &hash, pin)
    })
    .await?;
    Ok(json(&stat))
}

pub async fn block_stat(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let path = Args::parse(query.as_deref()).arg(0, "cid")?;
    Ok(json(
        &run(&state, move |core| blocks::stat(core, &path)).await?,
    ))
}

pub async fn block_rm(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let cids: Vec<String> = args.args().into_iter().map(str::to_string).collect();
    if cids.is_empty() {
        return Err(ApiError::bad_request("argument \"cid\" is required"));
    }
    let force = args.flag(&["force", "f"])?;
    Ok(ndjson(
        &run(&state, move |core| blocks::remove(core, &cids, force)).await?,
    ))
}

pub async fn dag_get(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let path = Args::parse(query.as_deref()).arg(0, "ref")?;
    Ok(json(
        &run(&state, move |core| dags::get(core, &path)).await?,
    ))
}

pub async fn dag_put(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
    mut multipart: Multipart,
) -> Reply {
    let args = Args::parse(query.as_deref());
    let input = args.get(&["input-codec"]).unwrap_or("dag-json").to_string();
    let store_as = args.get(&["store-codec"]).unwrap_or("dag-cbor").to_string();
    let pin = args.flag(&["pin"])?;
    let data = read_part(&mut multipart, MAX_BLOCK).await?;
    let put = run(&state, move |core| {
        dags::put(core, data, &input, &store_as, pin)
    })
    .await?;
    Ok(json(&put))
}

/// Each part is a CAR, imported as it arrives.
pub async fn dag_import(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
    mut multipart: Multipart,
) -> Reply {
    let args = Args::parse(query.as_deref());
    let pin_roots = args.get(&["pin-roots"]).is_none() || args.flag(&["pin-roots"])?;
    let mut roots = Vec::new();
    while let Some(mut field) = next_part(&mut multipart).await? {
        let (sender, reader) = part_channel();
        let importing = run(&state, move |core| dags::import(core, reader, pin_roots));
        let (imported, _) = tokio::join!(importing, sender.forward(&mut field));
        roots.extend(imported?);
    }
    Ok(ndjson(&roots))
}

/// The CAR is streamed as the DAG is walked; a bad root is an error status.
pub async fn dag_export(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let path = Args::parse(query.as_deref()).arg(0, "root")?;
    let root = run(&state, move |core| core.resolve_cid(&path)).await?;
    let store = state.store.clone();
    super::content::streamed_checked("application/vnd.ipld.car", move |out| {
        crate::dag::export_car(store.as_ref(), &root, out).map_err(|e| e.to_string())
    })
    .await
    .map_err(ApiError::internal)
}

pub async fn dag_stat(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let path = Args::parse(query.as_deref()).arg(0, "root")?;
    Ok(json(
        &run(&state, move |core| dags::stat(core, &path)).await?,
    ))
}

fn object_path(query: Option<&str>) -> Result<String, ApiError> {
    Args::parse(query).arg(0, "key")
}

pub async fn object_get(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let path = object_path(query.as_deref())?;
    Ok(json(
        &run(&state, move |core| objects::get(core, &path)).await?,
    ))
}

pub async fn object_stat(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let path = object_path(query.as_deref())?;
    Ok(json(
        &run(&state, move |core| objects::stat(core, &path)).await?,
    ))
}

pub async fn object_data(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let path = object_path(query.as_deref())?;
    Ok(bytes(
        run(&state, move |core| objects::data(core, &path)).await?,
    ))
}

pub async fn object_links(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let path = object_path(query.as_deref())?;
    Ok(json(
        &run(&state, move |core| objects::links(core, &path)).await?,
    ))
}

fn path_args(args: &Args) -> Result<Vec<String>, ApiError> {
    let paths: Vec<String> = args.args().into_iter().map(str::to_string).collect();
    if paths.is_empty() {
        return Err(ApiError::bad_request("argument \"ipfs-path\" is required"));
    }
    Ok(paths)
}

pub async fn ls(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let paths = path_args(&Args::parse(query.as_deref()))?;
    Ok(json(
        &run(&state, move |core| listing::ls(core, &paths)).await?,
    ))
}

/// Streamed as the walk goes (a large DAG is never held whole); a block
/// missing midway ends the answer with a Kubo error line.
pub async fn refs(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let paths = path_args(&args)?;
    let recursive = args.flag(&["recursive", "r"])?;
    let unique = args.flag(&["unique", "u"])?;
    let roots = run(&state, move |core: &Core| listing::refs_roots(core, &paths)).await?;
    let (repo, store, names) = (state.repo.clone(), state.store.clone(), state.names.clone());
    Ok(ndjson_streamed(move |line| {
        let core = Core {
            repo: &repo,
            store: store.as_ref(),
            names: &names,
        };
        listing::refs_each(&core, &roots, recursive, unique, &mut |found| line(&found))
            .map_err(ApiError::from)
    }))
}
