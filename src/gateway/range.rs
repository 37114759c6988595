//! `Range: bytes=…` for one range. Anything else (several ranges, other
//! units, bad syntax) is ignored and the whole file is served, which HTTP
//! allows.

#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    Whole,
    /// `[start, end]`, inclusive, within the file.
    Part(u64, u64),
    /// Starts at or past the end.
    Unsatisfiable,
}

pub fn parse(header: Option<&str>, size: u64) -> Wanted {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let number = |s: &str| s.trim().parse::<u64>().ok();
    match (first.trim().is_empty(), number(first), number(last)) {
        // `-n`: the last n bytes.
        (true, _, Some(0)) => Wanted::Unsatisfiable,
        (true, _, Some(_)) if size == 0 => Wanted::Unsatisfiable,
        (true, _, Some(n)) => Wanted::Part(size.saturating_sub(n), size - 1),
        (false, Some(start), _) if start >= size => Wanted::Unsatisfiable,
        (false, Some(start), None) if last.trim().is_empty() => Wanted::Part(start, size - 1),
        (false, Some(start), Some(end)) if end >= start => Wanted::Part(start, end.min(size - 1)),
        _ => Wanted::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_clamp_and_the_rest_is_whole() {
        assert_eq!(parse(None, 10), Wanted::Whole);
        assert_eq!(parse(Some("bytes=0-0"), 10), Wanted::Part(0, 0));
        assert_eq!(parse(Some("bytes=9-"), 10), Wanted::Part(9, 9));
        assert_eq!(parse(Some("bytes=2-100"), 10), Wanted::Part(2, 9));
        assert_eq!(parse(Some("bytes=-3"), 10), Wanted::Part(7, 9));
        assert_eq!(parse(Some("bytes=-30"), 10), Wanted::Part(0, 9));
        assert_eq!(parse(Some("bytes=10-"), 10), Wanted::Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 10), Wanted::Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-"), 0), Wanted::Unsatisfiable);
        assert_eq!(parse(Some("bytes=5-2"), 10), Wanted::Whole);
        assert_eq!(parse(Some("bytes=0-1,4-5"), 10), Wanted::Whole);
        assert_eq!(parse(Some("items=0-1"), 10), Wanted::Whole);
        assert_eq!(parse(Some("bytes=x-y"), 10), Wanted::Whole);
        assert_eq!(parse(Some("bytes=-"), 10), Wanted::Whole);
    }
}
