//! Durations as Go writes and reads them (`time.Duration`): `30m0s`,
//! `1h30m`, `48h`, `1.5s`, `300ms`. Kubo's flags and config use them.

use std::time::Duration;

/// `d` as Go's `Duration.String` prints it.
pub fn format(d: Duration) -> String {
    let nanos = d.as_nanos();
    let with_fraction = |whole: u128, part: u128, digits: usize| {
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
        return format!("{}µs", with_fraction(nanos / 1_000, nanos % 1_000, 3));
    }
    if nanos < 1_000_000_000 {
        return format!(
            "{}ms",
            with_fraction(nanos / 1_000_000, nanos % 1_000_000, 6)
        );
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
    text.push_str(&with_fraction(seconds, nanos % 1_000_000_000, 9));
    text.push('s');
    text
}

/// A sequence of `<number><unit>` (units `ns`, `us`, `µs`, `ms`, `s`, `m`,
/// `h`; numbers may have a fraction), as Go's `time.ParseDuration` reads
/// it. Negative durations are refused.
pub fn parse(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number * nanos_per;
    }
    (total.is_finite() && total < u64::MAX as f64).then(|| Duration::from_nanos(total as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_go_does() {
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
            assert_eq!(format(d), text);
            assert_eq!(parse(text), Some(d), "{text}");
        }
    }

    #[test]
    fn reads_what_go_reads() {
        assert_eq!(parse("48h"), Some(Duration::from_secs(48 * 3600)));
        assert_eq!(parse("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("0"), Some(Duration::ZERO));
        for bad in ["", "5", "h", "-5m", "5 m", "5d", "1e9s"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
