//! `repo stat|verify|gc|version`, `config`, and `version`.

use serde::{Deserialize, Serialize};

use super::{CidLink, CommandError, Core, bad_argument, failed};
use crate::pin;

/// `repo/stat`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RepoStat {
    pub repo_size: u64,
    pub num_objects: u64,
    pub repo_path: String,
    pub version: String,
}

/// One line of `repo/verify`.
#[derive(Debug, Serialize, Deserialize)]
pub struct VerifyLine {
    #[serde(rename = "Msg")]
    pub message: String,
}

/// The last line of a `repo/verify` that found nothing wrong.
pub const VERIFIED: &str = "verified repo integrity";

/// One line of `repo/gc`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Collected {
    #[serde(rename = "Key")]
    pub key: CidLink,
}

/// `config`: a key and its value.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConfigEntry {
    #[serde(rename = "Key")]
    pub key: String,
    #[serde(rename = "Value")]
    pub value: serde_json::Value,
}

/// `version`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Version {
    pub version: String,
    pub commit: String,
    pub repo: String,
    pub system: String,
}

pub fn version() -> Version {
    Version {
        version: env!("CARGO_PKG_VERSION").to_string(),
        commit: String::new(),
        repo: crate::repo::VERSION_TEXT.replace(": ", "@"),
        system: format!("{}/{}", std::env::consts::ARCH, std::env::consts::OS),
    }
}

pub fn stat(core: &Core) -> Result<RepoStat, CommandError> {
    let stat = core.repo.stat().map_err(failed)?;
    Ok(RepoStat {
        repo_size: stat.bytes,
        num_objects: stat.blocks,
        repo_path: stat.path.display().to_string(),
        version: stat.version,
    })
}

/// Every corrupt block, then [`VERIFIED`] if there were none.
pub fn verify(core: &Core) -> Result<Vec<VerifyLine>, CommandError> {
    let problems = core.repo.verify().map_err(failed)?;
    let mut lines: Vec<VerifyLine> = problems
        .into_iter()
        .map(|message| VerifyLine { message })
        .collect();
    if lines.is_empty() {
        lines.push(VerifyLine {
            message: VERIFIED.to_string(),
        });
    }
    Ok(lines)
}

pub fn gc(core: &Core) -> Result<Vec<Collected>, CommandError> {
    Ok(pin::gc(core.repo)
        .map_err(failed)?
        .iter()
        .map(|cid| Collected {
            key: CidLink::new(cid),
        })
        .collect())
}

/// The identity's private key stays in the config file: never shown, never
/// set through `config` (Kubo refuses with these words too).
fn guard_private_key(key: &str) -> Result<(), CommandError> {
    if key.to_ascii_lowercase().starts_with("identity.privkey") {
        return Err(bad_argument(
            "cannot show or change private key through API",
        ));
    }
    Ok(())
}

pub fn config_get(core: &Core, key: &str) -> Result<ConfigEntry, CommandError> {
    guard_private_key(key)?;
    let mut value = core.repo.config_get(key).map_err(failed)?;
    let identity = match key.to_ascii_lowercase().as_str() {
        "" => value.get_mut("Identity"),
        "identity" => Some(&mut value),
        _ => None,
    };
    if let Some(identity) = identity.and_then(|v| v.as_object_mut()) {
        identity.remove("PrivKey");
    }
    Ok(ConfigEntry {
        key: key.to_string(),
        value,
    })
}

/// How a `config KEY VALUE` value is read.
#[derive(Clone, Copy, Debug)]
pub enum ValueKind {
    String,
    Json,
    Bool,
}

pub fn config_set(
    core: &Core,
    key: &str,
    value: &str,
    kind: ValueKind,
) -> Result<ConfigEntry, CommandError> {
    let parsed = match kind {
        ValueKind::Json => serde_json::from_str(value)
            .map_err(|e| bad_argument(format!("{value:?} is not valid JSON: {e}")))?,
        ValueKind::Bool => serde_json::Value::Bool(
            value
                .parse()
                .map_err(|_| bad_argument(format!("{value:?} is not true or false")))?,
        ),
        ValueKind::String => serde_json::Value::String(value.to_string()),
    };
    guard_private_key(key)?;
    if key.eq_ignore_ascii_case("identity") {
        return Err(bad_argument(
            "cannot show or change private key through API",
        ));
    }
    core.repo.config_set(key, parsed.clone()).map_err(failed)?;
    Ok(ConfigEntry {
        key: key.to_string(),
        value: parsed,
    })
}

/// `config profile apply`: the config before and after, the identity's
/// private key left out of both.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConfigUpdate {
    #[serde(rename = "OldCfg")]
    pub old: serde_json::Value,
    #[serde(rename = "NewCfg")]
    pub new: serde_json::Value,
}

pub fn profile_apply(core: &Core, name: &str, dry_run: bool) -> Result<ConfigUpdate, CommandError> {
    let profile = crate::repo::Profile::parse(name).map_err(|e| match e {
        crate::repo::ProfileError::Unknown(name) => {
            bad_argument(format!("{name} is not a profile"))
        }
        other => bad_argument(other),
    })?;
    let (mut old, mut new) = core.repo.apply_profile(profile, dry_run).map_err(failed)?;
    for config in [&mut old, &mut new] {
        if let Some(identity) = config.get_mut("Identity").and_then(|v| v.as_object_mut()) {
            identity.remove("PrivKey");
        }
    }
    Ok(ConfigUpdate { old, new })
}
