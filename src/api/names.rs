//! `/api/v0/name/*`.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Multipart, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::upload::read_part;
use super::{ApiError, ApiState, Args, json, run};
use crate::commands::name::{self, PublishOptions};
use crate::names::{DEFAULT_TIMEOUT, ResolveOptions};

type Reply = Result<Response, ApiError>;

fn duration(args: &Args, option: &str, default: Duration) -> Result<Duration, ApiError> {
    match args.get(&[option]) {
        None => Ok(default),
        Some(text) => crate::go_duration::parse(text).ok_or_else(|| {
            ApiError::bad_request(format!("option {option:?}: {text:?} is not a duration"))
        }),
    }
}

/// `--resolve` is on unless turned off.
fn flag_default_on(args: &Args, option: &str) -> Result<bool, ApiError> {
    match args.get(&[option]) {
        None => Ok(true),
        Some(_) => args.flag(&[option]),
    }
}

pub async fn publish(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let path = args.arg(0, "ipfs-path")?;
    let opts = PublishOptions {
        key: args
            .get(&["key", "k"])
            .unwrap_or(name::SELF_KEY)
            .to_string(),
        lifetime: duration(&args, "lifetime", name::DEFAULT_LIFETIME)?,
        ttl: args
            .get(&["ttl"])
            .map(|_| duration(&args, "ttl", name::DEFAULT_TTL))
            .transpose()?,
        sequence: args.number(&["sequence"])?,
        allow_offline: args.flag(&["allow-offline"])?,
        resolve: flag_default_on(&args, "resolve")?,
    };
    Ok(json(
        &run(&state, move |core| name::publish(core, &path, &opts)).await?,
    ))
}

pub async fn resolve(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let target = args.args().first().map(|s| s.to_string());
    let opts = ResolveOptions {
        recursive: flag_default_on(&args, "recursive")?,
        nocache: args.flag(&["nocache", "n"])?,
        timeout: duration(&args, "dht-timeout", DEFAULT_TIMEOUT)?,
    };
    Ok(json(
        &run(&state, move |core| {
            name::resolve(core, target.as_deref(), &opts)
        })
        .await?,
    ))
}

pub async fn get(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let target = Args::parse(query.as_deref()).arg(0, "name")?;
    let record = run(&state, move |core| name::get(core, &target)).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/vnd.ipfs.ipns-record")],
        Body::from(record),
    )
        .into_response())
}

/// `name/inspect`: what a record (the multipart body) says, and with
/// `verify`, whether it is valid for that name.
pub async fn inspect(RawQuery(query): RawQuery, mut multipart: Multipart) -> Reply {
    let args = Args::parse(query.as_deref());
    let verify = args.get(&["verify"]).map(str::to_string);
    let dump = flag_default_on(&args, "dump")?;
    let record = read_part(&mut multipart, RECORD_UPLOAD_LIMIT).await?;
    let inspection = name::inspect(&record, verify.as_deref())?;
    Ok(json(&name::inspection_json(&inspection, &record, dump)))
}

/// `name/put`: stores a record made elsewhere once it validates for the
/// name; an invalid one is refused with the reason and never stored.
pub async fn put(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
    mut multipart: Multipart,
) -> Reply {
    let args = Args::parse(query.as_deref());
    let target = args.arg(0, "name")?;
    if args.flag(&["force", "f"])? {
        return Err(ApiError::bad_request(
            "--force is not supported: a record is always validated before it is stored",
        ));
    }
    let record = read_part(&mut multipart, RECORD_UPLOAD_LIMIT).await?;
    Ok(json(
        &run(&state, move |core| name::put(core, &target, &record)).await?,
    ))
}

/// Read this far (Kubo reads 1 MiB) so that an oversized record is refused
/// by the validator, which says how big it is.
const RECORD_UPLOAD_LIMIT: usize = 1 << 20;
