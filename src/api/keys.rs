//! `/api/v0/key/*`: Kubo's key commands, but `export` (which Kubo keeps
//! off the API too: a key never crosses it).

use axum::extract::{Multipart, RawQuery, State};
use axum::response::Response;

use super::upload::read_part;
use super::{ApiError, ApiState, Args, json, run};
use crate::commands::keys::{self, IdFormat, KeyFormat};
use crate::repo::private_key::MAX_ENCODED_BYTES;

type Reply = Result<Response, ApiError>;

fn id_format(args: &Args) -> Result<IdFormat, ApiError> {
    Ok(IdFormat::parse(
        args.get(&["ipns-base"]).unwrap_or("base36"),
    )?)
}

pub async fn generate(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let name = args.arg(0, "name")?;
    let kind = args.get(&["type", "t"]).unwrap_or("ed25519").to_string();
    let size = args
        .number(&["size", "s"])?
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let format = id_format(&args)?;
    Ok(json(
        &run(&state, move |core| {
            keys::generate(core, &name, &kind, size, format)
        })
        .await?,
    ))
}

/// `key/list` and Kubo's newer `key/ls`; `l` only changes the CLI's text.
pub async fn list(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let format = id_format(&Args::parse(query.as_deref()))?;
    Ok(json(
        &run(&state, move |core| keys::list(core, format)).await?,
    ))
}

pub async fn remove(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let names: Vec<String> = args.args().into_iter().map(str::to_string).collect();
    if names.is_empty() {
        return Err(ApiError::bad_request("argument \"name\" is required"));
    }
    let format = id_format(&args)?;
    Ok(json(
        &run(&state, move |core| keys::remove(core, &names, format)).await?,
    ))
}

pub async fn rename(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let old = args.arg(0, "name")?;
    let new = args.arg(1, "newName")?;
    let force = args.flag(&["force", "f"])?;
    let format = id_format(&args)?;
    Ok(json(
        &run(&state, move |core| {
            keys::rename(core, &old, &new, force, format)
        })
        .await?,
    ))
}

pub async fn import(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
    mut multipart: Multipart,
) -> Reply {
    let args = Args::parse(query.as_deref());
    let name = args.arg(0, "name")?;
    let format = KeyFormat::parse(
        args.get(&["format", "f"])
            .unwrap_or("libp2p-protobuf-cleartext"),
    )?;
    let id_format = id_format(&args)?;
    let data = zeroize::Zeroizing::new(read_part(&mut multipart, MAX_ENCODED_BYTES).await?);
    Ok(json(
        &run(&state, move |core| {
            keys::import(core, &name, &data, format, id_format)
        })
        .await?,
    ))
}
