//! `_redirects` files (specs.ipfs.tech/http-gateways/web-redirects-file):
//! `from to [status]` lines, `#` comments, `:name` placeholders matching
//! one path segment and a trailing `*` whose match is `:splat`; the first
//! rule that matches wins. Files over 64 KiB, unknown statuses, forced
//! (`301!`) rules and malformed lines are errors naming the line.

/// The spec's limit on a `_redirects` file.
pub const MAX_SIZE: usize = 64 * 1024;

const STATUSES: [u16; 9] = [200, 301, 302, 303, 307, 308, 404, 410, 451];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    from: String,
    to: String,
    pub status: u16,
}

/// Why a `_redirects` file was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("redirects file size cannot exceed {MAX_SIZE} bytes")]
    TooLarge,
    #[error("line {line}: {why}")]
    Line { line: usize, why: String },
}

/// Parses a whole file (`bytes` may be longer than the limit: that is the
/// error it gives).
pub fn parse(bytes: &[u8]) -> Result<Vec<Rule>, ParseError> {
    if bytes.len() > MAX_SIZE {
        return Err(ParseError::TooLarge);
    }
    let mut rules = Vec::new();
    for (index, raw_line) in bytes.split(|&b| b == b'\n').enumerate() {
        let fail = |why: String| ParseError::Line {
            line: index + 1,
            why,
        };
        let line = std::str::from_utf8(raw_line)
            .map_err(|_| fail("not UTF-8 text".into()))?
            .trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (from, to, status) = match fields.as_slice() {
            [_] => return Err(fail("missing 'to' path".into())),
            [from, to] => (*from, *to, 301),
            [from, to, status] => (*from, *to, parse_status(status).map_err(fail)?),
            _ => return Err(fail("must match format 'from to [status]'".into())),
        };
        check_from(from).map_err(|why| fail(format!("parsing 'from' {from:?}: {why}")))?;
        check_to(to).map_err(|why| fail(format!("parsing 'to' {to:?}: {why}")))?;
        rules.push(Rule {
            from: from.to_string(),
            to: to.to_string(),
            status,
        });
    }
    Ok(rules)
}

fn parse_status(text: &str) -> Result<u16, String> {
    if text.ends_with('!') {
        return Err(format!(
            "status {text:?}: forced redirects (or \"shadowing\") are not supported"
        ));
    }
    let status: u16 = text
        .parse()
        .map_err(|_| format!("status {text:?} is not a number"))?;
    if STATUSES.contains(&status) {
        Ok(status)
    } else {
        Err(format!("status code {status} is not supported"))
    }
}

fn check_from(from: &str) -> Result<(), String> {
    if !from.starts_with('/') {
        return Err("path must begin with '/'".into());
    }
    match from.matches('*').count() {
        0 => Ok(()),
        1 if from.ends_with('*') => Ok(()),
        1 => Err("path must end with asterisk".into()),
        _ => Err("path can have at most one asterisk".into()),
    }
}

fn check_to(to: &str) -> Result<(), String> {
    if to.starts_with('/') {
        return Ok(());
    }
    let scheme = to.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http" | "https" | "ipfs" | "ipns") => Ok(()),
        _ => Err("invalid URL scheme: only a path or an http(s)/ipfs/ipns URL".into()),
    }
}

impl Rule {
    /// `to` with the placeholders of `path` filled in, when `path` (a URL
    /// path from the site's root, no trailing slash) matches `from`.
    pub fn apply(&self, path: &str) -> Option<String> {
        let pattern = self.from.strip_suffix('/').unwrap_or(&self.from);
        let mut segments: Vec<&str> = pattern.split('/').collect();
        let trailing = segments.last() == Some(&"*");
        if trailing {
            segments.pop();
        }
        let mut params: Vec<(&str, &str)> = Vec::new();
        let mut rest = path;
        for (i, segment) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            let (here, next) = match rest.split_once('/') {
                Some((here, next)) => {
                    if last && !trailing {
                        return None;
                    }
                    (here, next)
                }
                None => {
                    if !last || trailing {
                        return None;
                    }
                    (rest, "")
                }
            };
            match segment.strip_prefix(':') {
                Some(name) => params.push((name, here)),
                None if *segment == here => {}
                None => return None,
            }
            rest = next;
        }
        // Longer names first, so `:ab` is not filled in as `:a` + "b".
        params.sort_by_key(|(name, _)| std::cmp::Reverse(name.len()));
        let mut to = self.to.clone();
        for (name, value) in params {
            to = to.replace(&format!(":{name}"), value);
        }
        Some(to.replace(":splat", rest))
    }
}

/// The first rule matching `path`, and where it sends it.
pub fn first_match<'r>(rules: &'r [Rule], path: &str) -> Option<(&'r Rule, String)> {
    let path = path.strip_suffix('/').unwrap_or(path);
    rules
        .iter()
        .find_map(|rule| rule.apply(path).map(|to| (rule, to)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EXAMPLES: &str = "/redirect-one /one.html\n\
        /301-redirect-one /one.html 301\n\
        /302-redirect-two /two.html 302\n\
        /200-index /index.html 200\n\
        /posts/:year/:month/:day/:title /articles/:year/:month/:day/:title 301\n\
        /splat/* /redirected-splat/:splat 301\n\
        /not-found/* /404.html 404\n\
        /* /index.html 200\n";

    fn goes(rules: &[Rule], path: &str) -> Option<(u16, String)> {
        first_match(rules, path).map(|(rule, to)| (rule.status, to))
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let rules = parse(EXAMPLES.as_bytes()).unwrap();
        assert_eq!(
            goes(&rules, "/redirect-one"),
            Some((301, "/one.html".into()))
        );
        assert_eq!(
            goes(&rules, "/302-redirect-two"),
            Some((302, "/two.html".into()))
        );
        assert_eq!(
            goes(&rules, "/posts/2022/01/01/hello-world"),
            Some((301, "/articles/2022/01/01/hello-world".into()))
        );
        // One segment too many for the placeholders: the catch-all takes it.
        assert_eq!(
            goes(&rules, "/posts/2022/01/01/hello/world"),
            Some((200, "/index.html".into()))
        );
        assert_eq!(
            goes(&rules, "/splat/a/b.html"),
            Some((301, "/redirected-splat/a/b.html".into()))
        );
        assert_eq!(
            goes(&rules, "/not-found/x"),
            Some((404, "/404.html".into()))
        );
        assert_eq!(goes(&rules, "/anything"), Some((200, "/index.html".into())));
        let no_catch_all = parse(b"/splat/* /s/:splat\n/a/:b /c/:b").unwrap();
        assert_eq!(goes(&no_catch_all, "/splat"), None);
        assert_eq!(goes(&no_catch_all, "/a/x/y"), None);
        assert_eq!(goes(&no_catch_all, "/a/x/"), Some((301, "/c/x".into())));
    }

    #[test]
    fn placeholders_do_not_clobber_each_other() {
        let rules = parse(b"/:a/:ab /x/:ab/:a").unwrap();
        assert_eq!(goes(&rules, "/1/2"), Some((301, "/x/2/1".into())));
    }

    #[test]
    fn crlf_comments_and_blank_lines() {
        let rules = parse(b"# comment\r\n\r\n  /a /b  \r\n/c /d 302\r\n").unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(goes(&rules, "/c"), Some((302, "/d".into())));
    }

    #[test]
    fn errors_name_the_line() {
        for (text, line, says) in [
            ("/a /b 301!", 1, "forced"),
            ("/ok /fine\n/a /b 999", 2, "999"),
            ("hello", 1, "missing 'to'"),
            ("/a /b 301 extra", 1, "format"),
            ("a /b", 1, "begin with '/'"),
            ("/a/*/b /c", 1, "end with asterisk"),
            ("/a/** /c", 1, "at most one"),
            ("/a javascript:alert(1)", 1, "scheme"),
            ("/a /b abc", 1, "not a number"),
        ] {
            match parse(text.as_bytes()) {
                Err(ParseError::Line { line: at, why }) => {
                    assert_eq!(at, line, "{text}");
                    assert!(why.contains(says), "{text}: {why}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        assert_eq!(parse(&vec![b'#'; MAX_SIZE + 1]), Err(ParseError::TooLarge));
        assert!(parse(&vec![b'#'; MAX_SIZE]).is_ok());
    }

    proptest! {
        // Whatever the file and the path, parsing and matching never panic,
        // and a match of a rule that parsed has a non-empty target.
        #[test]
        fn any_input_is_an_answer(
            file in proptest::collection::vec(
                prop_oneof![
                    Just(b'/'), Just(b':'), Just(b'*'), Just(b' '), Just(b'\n'),
                    Just(b'\r'), Just(b'#'), Just(b'!'), Just(b'2'), Just(b'0'),
                    Just(b'3'), Just(b'a'), any::<u8>()
                ],
                0..200,
            ),
            path in "(/[a-z:*]{0,3}){0,5}",
        ) {
            if let Ok(rules) = parse(&file)
                && let Some((rule, to)) = first_match(&rules, &path)
            {
                prop_assert!(STATUSES.contains(&rule.status));
                prop_assert!(!to.is_empty());
            }
        }
    }
}
