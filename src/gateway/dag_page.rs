//! The HTML page a browser is shown for a DAG-JSON or DAG-CBOR block (as
//! Kubo's gateway does, the spec's "generated HTML with an option to
//! download"): what the block is, the links in it, its data as DAG-JSON,
//! and links to download it as stored.

use super::listing::escape;
use crate::codec::cbor::Item;
use crate::codec::{Cid, cid_string, dagjson};

/// What the page shows.
pub struct DagPage<'a> {
    /// The request's `/ipfs/…` or `/ipns/…` path.
    pub content_path: &'a str,
    pub cid: &'a Cid,
    /// `dag-json` or `dag-cbor`: the block's codec, also the `?format=`
    /// that downloads it as stored.
    pub codec_name: &'static str,
    pub block_len: usize,
    /// The decoded data, or why it does not decode.
    pub data: Result<&'a Item, String>,
}

/// Each link in `item` with where it is (`Links/0/Hash`), in order.
fn links_in(item: &Item, at: &mut Vec<String>, out: &mut Vec<(String, Cid)>) {
    match item {
        Item::Link(cid) => out.push((at.join("/"), *cid)),
        Item::List(items) => {
            for (i, inner) in items.iter().enumerate() {
                at.push(i.to_string());
                links_in(inner, at, out);
                at.pop();
            }
        }
        Item::Map(pairs) => {
            for (key, inner) in pairs {
                at.push(key.clone());
                links_in(inner, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

pub fn page(shown: &DagPage<'_>) -> String {
    let cid = cid_string(shown.cid);
    let codec = shown.codec_name;
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif}}td{{padding:2px 12px}}code,pre{{font-family:monospace}}\
         pre{{background:#f4f4f4;padding:8px;overflow:auto}}</style>\
         </head><body>\n<h1>{codec} block</h1>\n\
         <p>Path: <code>{title}</code><br>CID: <code>{cid}</code><br>\
         Codec: {codec} (0x{hex:x}), {len} bytes</p>\n\
         <p>Download: <a href=\"?format={codec}&amp;download=true\">as stored ({codec})</a>, \
         <a href=\"?format=raw&amp;download=true\">raw block</a>, \
         <a href=\"?format=car&amp;download=true\">CAR</a></p>\n",
        title = escape(shown.content_path),
        hex = shown.cid.codec(),
        len = shown.block_len,
    );
    match &shown.data {
        Ok(item) => {
            let mut links = Vec::new();
            links_in(item, &mut Vec::new(), &mut links);
            if !links.is_empty() {
                html.push_str("<h2>Links</h2>\n<table>\n");
                for (at, link) in &links {
                    let link = cid_string(link);
                    html.push_str(&format!(
                        "<tr><td><code>{}</code></td><td><a href=\"/ipfs/{link}/\">{link}</a></td></tr>\n",
                        escape(at)
                    ));
                }
                html.push_str("</table>\n");
            }
            let json = serde_json::to_string_pretty(&dagjson::to_json(item)).unwrap_or_default();
            html.push_str(&format!(
                "<h2>Data (DAG-JSON)</h2>\n<pre>{}</pre>\n",
                escape(&json)
            ));
        }
        Err(why) => html.push_str(&format!(
            "<p>The block does not decode as {codec}: {}</p>\n",
            escape(why)
        )),
    }
    html.push_str("</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cid::{CidBuilder, DAG_CBOR, RAW};

    #[test]
    fn the_page_shows_the_data_escaped_and_links_every_cid() {
        let target = CidBuilder::v1().cid_of(RAW, b"x");
        let item = Item::Map(vec![
            ("name".into(), Item::Text("<script>".into())),
            (
                "parts".into(),
                Item::List(vec![Item::Null, Item::Link(target)]),
            ),
        ]);
        let cid = CidBuilder::v1().cid_of(DAG_CBOR, b"whatever");
        let html = page(&DagPage {
            content_path: "/ipfs/x/<y>",
            cid: &cid,
            codec_name: "dag-cbor",
            block_len: 8,
            data: Ok(&item),
        });
        let target = cid_string(&target);
        assert!(html.contains(&format!("<a href=\"/ipfs/{target}/\">{target}</a>")));
        assert!(html.contains("<code>parts/1</code>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>") && !html.contains("<y>"));
        assert!(html.contains("?format=dag-cbor&amp;download=true"));
        assert!(html.contains(&cid_string(&cid)));
    }

    #[test]
    fn a_block_that_does_not_decode_still_has_its_page() {
        let cid = CidBuilder::v1().cid_of(DAG_CBOR, b"\xff");
        let html = page(&DagPage {
            content_path: "/ipfs/x",
            cid: &cid,
            codec_name: "dag-cbor",
            block_len: 1,
            data: Err("truncated".into()),
        });
        assert!(html.contains("does not decode as dag-cbor: truncated"));
        assert!(html.contains("?format=raw&amp;download=true"));
    }
}
