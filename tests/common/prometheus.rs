//! Scrapes `/debug/metrics/prometheus` and reads the text strictly: every
//! line a comment (`# HELP`, `# TYPE`, `# UNIT`, the final `# EOF`) or a
//! sample `name{labels} value` with a valid metric name and a number.

use std::collections::HashMap;

/// Each sample (`name` or `name{labels}` exactly as written) and its value.
pub fn scrape(api_url: &str) -> HashMap<String, f64> {
    let mut response = ureq::get(&format!("{api_url}/debug/metrics/prometheus"))
        .call()
        .expect("scrape");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.body_mut().read_to_string().expect("body");
    parse(&text)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

pub fn parse(text: &str) -> HashMap<String, f64> {
    assert!(text.ends_with("# EOF\n"), "no final # EOF:\n{text}");
    let mut samples = HashMap::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.split(' ');
            let kind = words.next().unwrap_or_default();
            match kind {
                "EOF" => continue,
                "HELP" | "TYPE" | "UNIT" => {
                    let name = words.next().unwrap_or_default();
                    assert!(valid_name(name), "bad metric name in {line:?}");
                }
                _ => panic!("unknown comment {line:?}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let name = series.split('{').next().unwrap_or_default();
        assert!(valid_name(name), "bad metric name in {line:?}");
        let labels = &series[name.len()..];
        if !labels.is_empty() {
            let inner = labels
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .unwrap_or_else(|| panic!("bad labels in {line:?}"));
            for label in inner.split(',') {
                let (key, quoted) = label.split_once('=').unwrap_or_else(|| panic!("{line:?}"));
                assert!(valid_name(key), "bad label in {line:?}");
                assert!(
                    quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                    "bad label value in {line:?}"
                );
            }
        }
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        samples.insert(series.to_string(), value);
    }
    samples
}

/// The sample's value; 0 when absent (a counter not yet created).
pub fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}
