//! `pin add|rm|ls`.

use serde::{Deserialize, Serialize};

use super::{CommandError, Core, bad_argument, failed};
use crate::codec::cid_string;
use crate::pin::{self, PinFilter};

/// `pin/add` and `pin/rm`: the CIDs changed.
#[derive(Debug, Serialize, Deserialize)]
pub struct PinsChanged {
    #[serde(rename = "Pins")]
    pub pins: Vec<String>,
}

/// One line of `pin/ls` (its streamed form).
#[derive(Debug, Serialize, Deserialize)]
pub struct PinEntry {
    #[serde(rename = "Cid")]
    pub cid: String,
    #[serde(rename = "Type")]
    pub kind: String,
}

pub fn add(core: &Core, paths: &[String], recursive: bool) -> Result<PinsChanged, CommandError> {
    let mut pins = Vec::new();
    for text in paths {
        let cid = core.resolve_cid(text)?;
        pin::add(core.repo, &cid, recursive).map_err(failed)?;
        pins.push(cid_string(&cid));
    }
    Ok(PinsChanged { pins })
}

pub fn remove(core: &Core, paths: &[String], recursive: bool) -> Result<PinsChanged, CommandError> {
    let mut pins = Vec::new();
    for text in paths {
        let cid = core.resolve_cid(text)?;
        pin::remove(core.repo, &cid, recursive).map_err(failed)?;
        pins.push(cid_string(&cid));
    }
    Ok(PinsChanged { pins })
}

/// The pins of `kind` (`all`, `direct`, `indirect`, `recursive`), only
/// those of `paths` if any are given.
pub fn list(core: &Core, paths: &[String], kind: &str) -> Result<Vec<PinEntry>, CommandError> {
    let filter = PinFilter::parse(kind).ok_or_else(|| {
        bad_argument(format!(
            "invalid pin type {kind:?}: use direct, indirect, recursive or all"
        ))
    })?;
    let mut pins = pin::list(core.repo, filter).map_err(failed)?;
    if !paths.is_empty() {
        let wanted = paths
            .iter()
            .map(|p| core.resolve_cid(p))
            .collect::<Result<Vec<_>, _>>()?;
        pins.retain(|(cid, _)| wanted.iter().any(|w| w.hash() == cid.hash()));
        if pins.is_empty() {
            return Err(failed(format!("path '{}' is not pinned", paths.join(" "))));
        }
    }
    Ok(pins
        .into_iter()
        .map(|(cid, kind)| PinEntry {
            cid: cid_string(&cid),
            kind: kind.to_string(),
        })
        .collect())
}
