//! `/api/v0/bootstrap/*` and `config/profile/apply`: the config's peer list
//! and Kubo's profiles, as Kubo's API has them.

use axum::extract::{RawQuery, State};
use axum::response::Response;

use super::{ApiError, ApiState, Args, json, run};
use crate::commands::{bootstrap, repo};

type Reply = Result<Response, ApiError>;

fn peers(args: &Args) -> Vec<String> {
    args.args().into_iter().map(str::to_string).collect()
}

/// `bootstrap` and `bootstrap/list`.
pub async fn list(State(state): State<ApiState>) -> Reply {
    Ok(json(&run(&state, bootstrap::list).await?))
}

/// `bootstrap/add` (`default` as an argument, or as the older option, adds
/// the default list).
pub async fn add(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let (peers, default) = (peers(&args), args.flag(&["default"])?);
    Ok(json(
        &run(&state, move |core| bootstrap::add(core, &peers, default)).await?,
    ))
}

/// `bootstrap/add/default`.
pub async fn add_default(State(state): State<ApiState>) -> Reply {
    Ok(json(
        &run(&state, |core| bootstrap::add(core, &[], true)).await?,
    ))
}

/// `bootstrap/rm`, or with `all`, every peer.
pub async fn remove(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let (peers, all) = (peers(&args), args.flag(&["all"])?);
    Ok(json(
        &run(&state, move |core| {
            if all {
                bootstrap::remove_all(core)
            } else {
                bootstrap::remove(core, &peers)
            }
        })
        .await?,
    ))
}

/// `bootstrap/rm/all`.
pub async fn remove_all(State(state): State<ApiState>) -> Reply {
    Ok(json(&run(&state, bootstrap::remove_all).await?))
}

/// `config/profile/apply?arg=NAME[&dry-run=true]`.
pub async fn profile_apply(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Reply {
    let args = Args::parse(query.as_deref());
    let name = args.arg(0, "profile")?;
    let dry_run = args.flag(&["dry-run"])?;
    Ok(json(
        &run(&state, move |core| {
            repo::profile_apply(core, &name, dry_run)
        })
        .await?,
    ))
}
