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

/// A size as Kubo's listings show it: SI units, one decimal below 10
/// (`12 B`, `1.0 kB`, `27 MB`).
pub fn human_size(bytes: u64) -> String {
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for next in ["kB", "MB", "GB", "TB", "PB", "EB"] {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = next;
    }
    if value < 10.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

/// The content path (`/ipfs/<cid>/a/b`) with each step a link; the
/// listing's URL is `depth` names below the root, so links are relative
/// and work on path, subdomain and DNSLink origins alike.
fn breadcrumbs(content_path: &str, depth: usize) -> String {
    let parts: Vec<&str> = content_path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let Some((namespace, steps)) = parts.split_first() else {
        return String::new();
    };
    let mut html = format!("/{}", escape(namespace));
    // `steps` is the root then the names below it; the last `depth + 1`
    // of them are the ones the URL holds.
    let first_linked = steps.len().saturating_sub(depth + 1);
    for (i, step) in steps.iter().enumerate() {
        let shown = escape(&crate::api::percent_decode(step, false).unwrap_or_default());
        if i < first_linked {
            html.push_str(&format!("/{shown}"));
        } else {
            let up = steps.len() - 1 - i;
            let href = if up == 0 {
                "./".to_string()
            } else {
                "../".repeat(up)
            };
            html.push_str(&format!("/<a href=\"{href}\">{shown}</a>"));
        }
    }
    html
}

/// `content_path` is the directory's `/ipfs/…` or `/ipns/…` path; the
/// request's URL is `depth` names below the root it names.
pub fn page(content_path: &str, rows: &[Row], depth: usize) -> String {
    let title = escape(content_path);
    let crumbs = breadcrumbs(content_path, depth);
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif}}td{{padding:2px 12px}}.cid{{font-family:monospace;color:#666}}.size{{text-align:right}}</style>\
         </head><body>\n<h1>Index of {crumbs}</h1>\n<table>\n"
    );
    if depth > 0 {
        html.push_str("<tr><td><a href=\"../\">..</a></td><td></td><td></td></tr>\n");
    }
    for row in rows {
        let slash = if row.is_dir { "/" } else { "" };
        html.push_str(&format!(
            "<tr><td><a href=\"{}{slash}\">{}{slash}</a></td><td class=\"cid\">{}</td><td class=\"size\" title=\"{} bytes\">{}</td></tr>\n",
            encode_segment(&row.name),
            escape(&row.name),
            cid_string(&row.cid),
            row.size,
            human_size(row.size),
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
        let html = page("/ipfs/x/sub/", &rows, 1);
        assert!(html.contains("href=\"%3Cscript%3E.txt\""));
        assert!(html.contains("title=\"13 bytes\">13 B</td>"));
        assert!(html.contains("&lt;script&gt;.txt"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("href=\"../\""));
    }

    #[test]
    fn breadcrumbs_link_every_step_the_url_holds() {
        assert_eq!(
            breadcrumbs("/ipfs/bafyroot/a/b%20c/", 2),
            "/ipfs/<a href=\"../../\">bafyroot</a>/<a href=\"../\">a</a>/<a href=\"./\">b c</a>"
        );
        // A DNSLink name pointing into a tree: only the URL's steps link.
        assert_eq!(
            breadcrumbs("/ipns/example.org/x/", 1),
            "/ipns/<a href=\"../\">example.org</a>/<a href=\"./\">x</a>"
        );
        assert_eq!(
            breadcrumbs("/ipfs/<x>/", 0),
            "/ipfs/<a href=\"./\">&lt;x&gt;</a>"
        );
    }

    #[test]
    fn sizes_read_as_kubo_shows_them() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1000), "1.0 kB");
        assert_eq!(human_size(1026), "1.0 kB");
        assert_eq!(human_size(27_000_000), "27 MB");
        assert_eq!(human_size(u64::MAX), "18 EB");
    }
}
