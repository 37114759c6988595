//! `/api/v0/name/*`.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

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
