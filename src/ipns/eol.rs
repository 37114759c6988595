//! A record's end of life: RFC 3339 text in UTC with the fraction of a
//! second Go prints (nanoseconds, trailing zeros dropped), so that the
//! signed bytes are those Kubo would sign.

use std::time::SystemTime;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Debug, thiserror::Error)]
#[error("{text:?} is not an RFC 3339 time: {reason}")]
pub struct BadTime {
    text: String,
    reason: String,
}

/// `when` as Go's `time.RFC3339Nano` writes it in UTC.
pub fn format(when: SystemTime) -> String {
    let at = OffsetDateTime::from(when);
    let mut text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    let nanos = at.nanosecond();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

pub fn parse(text: &str) -> Result<SystemTime, BadTime> {
    let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|e| BadTime {
        text: text.to_string(),
        reason: e.to_string(),
    })?;
    Ok(SystemTime::from(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::new(secs, nanos)
    }

    #[test]
    fn formats_as_go_does() {
        // Values as Go's time.RFC3339Nano prints them.
        assert_eq!(format(at(0, 0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            format(at(1_700_000_000, 5)),
            "2023-11-14T22:13:20.000000005Z"
        );
        assert_eq!(
            format(at(1_700_000_000, 120_000_000)),
            "2023-11-14T22:13:20.12Z"
        );
        assert_eq!(
            format(at(4_102_444_800, 999_999_999)),
            "2100-01-01T00:00:00.999999999Z"
        );
    }

    #[test]
    fn parses_what_it_formats_and_offsets_too() {
        for when in [
            at(0, 0),
            at(1_700_000_000, 5),
            at(4_102_444_800, 123_456_789),
        ] {
            assert_eq!(parse(&format(when)).unwrap(), when);
        }
        assert_eq!(
            parse("2023-11-14T23:13:20.12+01:00").unwrap(),
            at(1_700_000_000, 120_000_000)
        );
        for bad in ["", "2023-11-14", "yesterday", "2023-13-01T00:00:00Z"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
