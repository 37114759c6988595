//! The HTML page listing a directory.

use crate::codec::{Cid, cid_string};

/// One entry of the listing.
pub struct Row {
    pub name: String,
    pub cid: Cid,
    pub is_dir: bool,
    /// A file's or symlink's content size; a directory's DAG size.
    pub size: u64,
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One path segment for a URL: everything but unreserved bytes escaped.
pub fn encode_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `path` is the directory's URL path (ending in `/`).
pub fn page(path: &str, rows: &[Row], has_parent: bool) -> String {
    let title = escape(path);
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif}}td{{padding:2px 12px}}.cid{{font-family:monospace;color:#666}}</style>\
         </head><body>\n<h1>Index of {title}</h1>\n<table>\n"
    );
    if has_parent {
        html.push_str("<tr><td><a href=\"../\">..</a></td><td></td><td></td></tr>\n");
    }
    for row in rows {
        let slash = if row.is_dir { "/" } else { "" };
        html.push_str(&format!(
            "<tr><td><a href=\"{}{slash}\">{}{slash}</a></td><td class=\"cid\">{}</td><td>{}</td></tr>\n",
            encode_segment(&row.name),
            escape(&row.name),
            cid_string(&row.cid),
            row.size,
        ));
    }
    html.push_str("</table>\n</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_encoded() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(encode_segment("a b/ü?#%"), "a%20b%2F%C3%BC%3F%23%25");
        let cid =
            crate::codec::parse_cid("QmfM2r8seH2GiRaC4esTjeraXEachRt8ZsSeGaWTPLyMoG").unwrap();
        let rows = vec![Row {
            name: "<script>.txt".into(),
            cid,
            is_dir: false,
            size: 13,
        }];
        let html = page("/ipfs/x/", &rows, true);
        assert!(html.contains("href=\"%3Cscript%3E.txt\""));
        assert!(html.contains("&lt;script&gt;.txt"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("href=\"../\""));
    }
}
