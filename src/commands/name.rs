//! `name` commands that need no network: reading and checking records.

use std::fmt;
use std::time::{Duration, SystemTime};

use super::{CommandError, bad_argument};
use crate::ipns::{Name, Record, eol};

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
            let name = name.strip_prefix("/ipns/").unwrap_or(name);
            let name = Name::parse(name).map_err(bad_argument)?;
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

/// A duration as Go prints one (`30m0s`, `1h0m0s`, `1.5s`, `300ms`).
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    let fraction = |whole: u128, part: u128, digits: usize| {
        let text = format!("{part:0digits$}");
        let text = text.trim_end_matches('0');
        if text.is_empty() {
            whole.to_string()
        } else {
            format!("{whole}.{text}")
        }
    };
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", fraction(nanos / 1_000, nanos % 1_000, 3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", fraction(nanos / 1_000_000, nanos % 1_000_000, 6));
    }
    let secs = nanos / 1_000_000_000;
    let (hours, minutes, seconds) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut text = String::new();
    if hours > 0 {
        text.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        text.push_str(&format!("{minutes}m"));
    }
    text.push_str(&fraction(seconds, nanos % 1_000_000_000, 9));
    text.push('s');
    text
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
        rows.push(("TTL:", go_duration(Duration::from_nanos(self.ttl_nanos))));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_go_prints_them() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(5), "5ns"),
            (Duration::from_nanos(1_500), "1.5µs"),
            (Duration::from_millis(300), "300ms"),
            (Duration::from_millis(1_500), "1.5s"),
            (Duration::from_secs(300), "5m0s"),
            (Duration::from_secs(1800), "30m0s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_secs(48 * 3600 + 61), "48h1m1s"),
        ];
        for (d, text) in cases {
            assert_eq!(go_duration(d), text);
        }
    }
}
