//! `name` commands that need no network: reading and checking records.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::{CommandError, Core, bad_argument, failed};
use crate::codec::cid::IpfsPath;
use crate::ipns::record::NewRecord;
use crate::ipns::{Name, Record, eol};
use crate::names::{NameError, ResolveOptions};
use crate::repo::Repo;

/// `name inspect`: what a record says, and whether it is valid for a name.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Inspection {
    pub value: String,
    pub validity_type: Option<u64>,
    pub validity: Option<String>,
    pub sequence: u64,
    #[serde(rename = "TTL")]
    pub ttl_nanos: u64,
    pub pb_size: usize,
    pub signature_type: &'static str,
    pub validation: Option<Validation>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Validation {
    pub valid: bool,
    pub reason: String,
    pub name: String,
}

pub fn inspect(record: &[u8], verify: Option<&str>) -> Result<Inspection, CommandError> {
    let read = Record::decode(record).map_err(bad_argument)?;
    let validation = verify
        .map(|name| {
            let name = name_arg(name)?;
            let judged = Record::validate(record, &name, SystemTime::now());
            Ok::<_, CommandError>(Validation {
                valid: judged.is_ok(),
                reason: judged.err().map(|e| e.to_string()).unwrap_or_default(),
                name: name.to_string(),
            })
        })
        .transpose()?;
    Ok(Inspection {
        value: read.value_text(),
        validity_type: Some(0),
        validity: read.eol.map(eol::format),
        sequence: read.sequence,
        ttl_nanos: u64::try_from(read.ttl.as_nanos()).unwrap_or(u64::MAX),
        pb_size: record.len(),
        signature_type: match (read.has_v1(), read.signed_v2) {
            (true, true) => "V1+V2",
            (false, true) => "V2",
            (true, false) => "V1",
            (false, false) => "none",
        },
        validation,
    })
}

/// `name/inspect` as Kubo's API answers it: the record's fields under
/// `Entry`, then its size, signature type, hex dump and validation.
pub fn inspection_json(inspection: &Inspection, record: &[u8], dump: bool) -> serde_json::Value {
    serde_json::json!({
        "Entry": {
            "Value": inspection.value,
            "ValidityType": inspection.validity_type,
            "Validity": inspection.validity,
            "Sequence": inspection.sequence,
            "TTL": inspection.ttl_nanos,
        },
        "PbSize": inspection.pb_size,
        "SignatureType": inspection.signature_type,
        "HexDump": if dump { hex_dump(record) } else { String::new() },
        "Validation": inspection.validation.as_ref().map(|v| serde_json::json!({
            "Valid": v.valid,
            "Reason": v.reason,
            "Name": v.name,
        })),
    })
}

/// `hexdump -C`'s layout, as Go's `hex.Dump` writes it.
fn hex_dump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (row, chunk) in bytes.chunks(16).enumerate() {
        out.push_str(&format!("{:08x} ", row * 16));
        for i in 0..16 {
            if i == 8 {
                out.push(' ');
            }
            match chunk.get(i) {
                Some(b) => out.push_str(&format!(" {b:02x}")),
                None => out.push_str("   "),
            }
        }
        let text: String = chunk
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!("  |{text}|\n"));
    }
    out
}

impl fmt::Display for Inspection {
    /// Kubo's text form: aligned columns, then the validation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rows = vec![("Value:", format!("{:?}", self.value))];
        if let Some(kind) = self.validity_type {
            rows.push(("Validity Type:", kind.to_string()));
        }
        if let Some(validity) = &self.validity {
            rows.push(("Validity:", format!("{validity:?}")));
        }
        rows.push(("Sequence:", self.sequence.to_string()));
        rows.push((
            "TTL:",
            crate::go_duration::format(Duration::from_nanos(self.ttl_nanos)),
        ));
        rows.push(("Protobuf Size:", self.pb_size.to_string()));
        rows.push(("Signature Type:", self.signature_type.to_string()));
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
        for (key, value) in rows {
            writeln!(f, "{key:width$}{value}")?;
        }
        let Some(validation) = &self.validation else {
            return write!(
                f,
                "\nThis record was not verified. Pass '--verify k51...' to verify.\n"
            );
        };
        writeln!(f, "\nValidation results:")?;
        let mut rows = vec![("Valid:", validation.valid.to_string())];
        if !validation.reason.is_empty() {
            rows.push(("Reason:", validation.reason.clone()));
        }
        rows.push(("Name:", validation.name.clone()));
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
        for (key, value) in rows {
            writeln!(f, " {key:width$}{value}")?;
        }
        Ok(())
    }
}

/// `name/publish`: the name and the path it now points to.
#[derive(Debug, Serialize, Deserialize)]
pub struct Published {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Value")]
    pub value: String,
}

/// `name/resolve`: the path a name points to.
#[derive(Debug, Serialize, Deserialize)]
pub struct Resolved {
    #[serde(rename = "Path")]
    pub path: String,
}

#[derive(Clone, Debug)]
pub struct PublishOptions {
    pub key: String,
    pub lifetime: Duration,
    /// How long resolvers may cache it; when not given, the default capped
    /// to the lifetime.
    pub ttl: Option<Duration>,
    pub sequence: Option<u64>,
    pub allow_offline: bool,
    /// Check that the path resolves before publishing it.
    pub resolve: bool,
}

pub const SELF_KEY: &str = crate::repo::keystore::SELF;
/// How long a published record stays valid (Kubo's `--lifetime`).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(48 * 3600);
/// How long resolvers may cache it (Kubo's `--ttl`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);

fn name_failed(err: NameError) -> CommandError {
    match err {
        NameError::BadName(_) => bad_argument(err),
        _ => failed(err),
    }
}

/// The best record for `name` stored here, valid now.
fn stored_record(core: &Core, name: &Name) -> Result<Option<Record>, CommandError> {
    core.names
        .stored_record(core.repo, name)
        .map_err(name_failed)
}

/// Keeps `record` (valid for `name`) unless a better one is here.
fn store_record(core: &Core, name: &Name, record: &Record) -> Result<(), CommandError> {
    if let Some(held) = stored_record(core, name)?
        && !record.better_than(&held)
    {
        // The same record again (a republish) is welcome, as in Kubo.
        if held.to_bytes() != record.to_bytes() {
            return Err(bad_argument(format!(
                "a record for {name} with sequence {} is already here; the new one (sequence \
                 {}) is not newer",
                held.sequence, record.sequence
            )));
        }
    }
    // Online it also goes to the peers closest to the name.
    core.names
        .publish(core.repo, name, record)
        .map(|_| ())
        .map_err(name_failed)
}

/// A name argument, with or without its `/ipns/` prefix.
fn name_arg(text: &str) -> Result<Name, CommandError> {
    Name::parse(text.strip_prefix("/ipns/").unwrap_or(text)).map_err(bad_argument)
}

/// The path a record may point to: `/ipfs/…` (a bare CID too) or `/ipns/…`.
fn publishable_path(core: &Core, path: &str, resolve: bool) -> Result<String, CommandError> {
    if let Some(rest) = path.strip_prefix("/ipns/") {
        let target = rest.split('/').next().unwrap_or_default();
        Name::parse(target).map_err(bad_argument)?;
        return Ok(path.to_string());
    }
    let parsed = IpfsPath::parse(path).map_err(bad_argument)?;
    if resolve {
        core.resolve_cid(path)?;
    }
    Ok(parsed.to_string())
}

/// The TTL a record gets, refusing what Kubo refuses: a lifetime of
/// zero, and a TTL given longer than the lifetime.
fn record_ttl(opts: &PublishOptions) -> Result<Duration, CommandError> {
    if opts.lifetime.is_zero() {
        return Err(bad_argument("--lifetime must be positive"));
    }
    match opts.ttl {
        Some(ttl) if ttl > opts.lifetime => Err(bad_argument(format!(
            "--ttl ({}) must not be longer than --lifetime ({})",
            crate::go_duration::format(ttl),
            crate::go_duration::format(opts.lifetime)
        ))),
        Some(ttl) => Ok(ttl),
        None => Ok(DEFAULT_TTL.min(opts.lifetime)),
    }
}

pub fn publish(core: &Core, path: &str, opts: &PublishOptions) -> Result<Published, CommandError> {
    if !opts.allow_offline && !core.names.is_online() {
        return Err(bad_argument(
            "can't publish while offline: pass `--allow-offline` to override",
        ));
    }
    let ttl = record_ttl(opts)?;
    let value = publishable_path(core, path, opts.resolve)?;
    let key = Repo::keystore_at(core.repo.path())
        .map_err(failed)?
        .get(&opts.key)
        .map_err(bad_argument)?;
    let name = Name::of_key(&key.public());
    let held = stored_record(core, &name)?;
    let next = match &held {
        Some(held) if held.value_text() == value => held.sequence,
        Some(held) => held.sequence.saturating_add(1),
        None => 0,
    };
    let sequence = match opts.sequence {
        Some(wanted) if held.as_ref().is_some_and(|h| wanted <= h.sequence) => {
            return Err(bad_argument(format!(
                "--sequence {wanted} is not above the current sequence {}",
                held.map_or(0, |h| h.sequence)
            )));
        }
        Some(wanted) => wanted,
        None => next,
    };
    let record = Record::create(
        &key,
        &NewRecord {
            value: &value,
            sequence,
            eol: SystemTime::now() + opts.lifetime,
            ttl,
            v1_compat: true,
        },
    )
    .map_err(failed)?;
    core.names
        .publish(core.repo, &name, &record)
        .map_err(name_failed)?;
    Ok(Published {
        name: name.to_string(),
        value,
    })
}

/// The path `name` points to (this node's own when `None`), through
/// names pointing at names when `opts.recursive`.
pub fn resolve(
    core: &Core,
    name: Option<&str>,
    opts: &ResolveOptions,
) -> Result<Resolved, CommandError> {
    let path = match name {
        Some(text) if text.starts_with("/ipns/") => text.to_string(),
        Some(text) => format!("/ipns/{text}"),
        None => {
            let identity = core.repo.keypair().map_err(failed)?;
            format!("/ipns/{}", Name::of_key(&identity.public()))
        }
    };
    let path = core
        .names
        .resolve(core.repo, &path, opts)
        .map_err(name_failed)?;
    Ok(Resolved { path })
}

/// `name/get`: the record stored for a name, as bytes.
pub fn get(core: &Core, name: &str) -> Result<Vec<u8>, CommandError> {
    let name = name_arg(name)?;
    stored_record(core, &name)?
        .map(|record| record.to_bytes())
        .ok_or_else(|| failed(format!("no record for {name} here")))
}

/// `name/put`: keeps a record for `name` after validating it.
pub fn put(core: &Core, name: &str, bytes: &[u8]) -> Result<Published, CommandError> {
    let name = name_arg(name)?;
    if bytes.is_empty() {
        return Err(bad_argument("the record is empty"));
    }
    let record = Record::validate(bytes, &name, SystemTime::now())
        .map_err(|e| bad_argument(format!("refusing the record for {name}: {e}")))?;
    store_record(core, &name, &record)?;
    Ok(Published {
        name: name.to_string(),
        value: record.value_text(),
    })
}
