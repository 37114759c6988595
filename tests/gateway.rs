//! The read-only HTTP gateway: files compared with the originals on disk,
//! Range requests at odd boundaries, caching headers, listings of plain and
//! HAMT-sharded directories, index pages, `?format=raw|car`, `/ipns/` names
//! and their records, and hostile paths answered with 4xx.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;

use common::gateway::{get, header, start_gateway};
use common::{Node, start_daemon};
use rsipfs::api::ApiServer;
use rsipfs::repo::Repo;

/// The tree added, and the gateway serving the repository in-process.
struct Served {
    node: Node,
    root: String,
    site: String,
    base: String,
    _gateway: ApiServer,
    repo: Arc<Repo>,
}

fn serve_tree() -> Served {
    let node = Node::new();
    node.make_tree("tree");
    let root = node.ok(&["add", "-Q", "-r", "tree"]).trim().to_string();
    std::fs::create_dir(node.work().join("site")).unwrap();
    std::fs::write(
        node.work().join("site/index.html"),
        "<!DOCTYPE html><p>home</p>",
    )
    .unwrap();
    std::fs::write(node.work().join("site/style.css"), "p { color: red }").unwrap();
    let site = node.ok(&["add", "-Q", "-r", "site"]).trim().to_string();
    let (gateway, base, repo) = start_gateway(&node);
    Served {
        node,
        root,
        site,
        base,
        _gateway: gateway,
        repo,
    }
}

fn body(mut response: ureq::http::Response<ureq::Body>) -> Vec<u8> {
    response
        .body_mut()
        .with_config()
        .limit(100 << 20)
        .read_to_vec()
        .expect("body")
}

/// A raw request line, so that no client tidies the path first.
fn raw_status(base: &str, path: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status for {path}: {reply:?}"))
}

#[test]
fn files_come_back_whole_and_in_ranges_with_caching_headers() {
    let s = serve_tree();
    let tree = s.node.work().join("tree");
    for rel in [
        "hello.txt",
        "empty.txt",
        "sizes/s262145.bin",
        "ünïcödé name.txt",
    ] {
        let url = format!("{}/ipfs/{}/{}", s.base, s.root, urlencode(rel));
        let response = get(&url, &[]);
        assert_eq!(response.status().as_u16(), 200, "{rel}");
        let etag = header(&response, "etag");
        assert!(
            etag.starts_with('"') && etag.len() > 40,
            "{rel}: etag {etag}"
        );
        assert!(header(&response, "cache-control").contains("immutable"));
        assert_eq!(header(&response, "accept-ranges"), "bytes");
        let expected = std::fs::read(tree.join(rel)).unwrap();
        assert_eq!(
            header(&response, "content-length"),
            expected.len().to_string()
        );
        assert!(body(response) == expected, "{rel}: bytes differ");
        let cached = get(&url, &[("If-None-Match", &etag)]);
        assert_eq!(cached.status().as_u16(), 304, "{rel}");
    }
    let hello = get(&format!("{}/ipfs/{}/hello.txt", s.base, s.root), &[]);
    assert_eq!(header(&hello, "content-type"), "text/plain; charset=utf-8");
    let css = get(&format!("{}/ipfs/{}/style.css", s.base, s.site), &[]);
    assert_eq!(header(&css, "content-type"), "text/css; charset=utf-8");

    let big = std::fs::read(tree.join("sizes/s262145.bin")).unwrap();
    let url = format!("{}/ipfs/{}/sizes/s262145.bin", s.base, s.root);
    let size = big.len();
    for (range, start, end) in [
        ("bytes=0-0", 0, 0),
        ("bytes=262143-262144", 262_143, 262_144),
        ("bytes=1000-270000", 1000, size - 1),
        ("bytes=262144-", 262_144, size - 1),
        ("bytes=-1", size - 1, size - 1),
        ("bytes=-300000", 0, size - 1),
        ("bytes=131071-393215", 131_071, size - 1),
    ] {
        let response = get(&url, &[("Range", range)]);
        assert_eq!(response.status().as_u16(), 206, "{range}");
        assert_eq!(
            header(&response, "content-range"),
            format!("bytes {start}-{end}/{size}"),
            "{range}"
        );
        assert!(body(response) == big[start..=end], "{range}: bytes differ");
    }
    let past = get(&url, &[("Range", "bytes=262145-")]);
    assert_eq!(past.status().as_u16(), 416);
    assert_eq!(header(&past, "content-range"), format!("bytes */{size}"));
    let several = get(&url, &[("Range", "bytes=0-1,5-6")]);
    assert_eq!(
        several.status().as_u16(),
        200,
        "several ranges: the whole file"
    );
    assert_eq!(body(several).len(), size);

    let head = ureq::head(&url).call().expect("HEAD");
    assert_eq!(header(&head, "content-length"), size.to_string());
    let link = get(&format!("{}/ipfs/{}/link-to-hello", s.base, s.root), &[]);
    assert_eq!(body(link), b"hello.txt");
}

#[test]
fn directories_list_redirect_and_serve_their_index() {
    let s = serve_tree();
    let bare = get(&format!("{}/ipfs/{}", s.base, s.root), &[]);
    assert_eq!(bare.status().as_u16(), 301);
    assert_eq!(header(&bare, "location"), format!("/ipfs/{}/", s.root));

    let listing = get(&format!("{}/ipfs/{}/", s.base, s.root), &[]);
    assert_eq!(listing.status().as_u16(), 200);
    assert_eq!(header(&listing, "content-type"), "text/html; charset=utf-8");
    let html = String::from_utf8(body(listing)).unwrap();
    for entry in std::fs::read_dir(s.node.work().join("tree")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.starts_with('.') {
            assert!(
                html.contains(&format!(">{name}")),
                "{name} missing from the listing"
            );
        }
    }
    assert!(
        !html.contains("href=\"../\""),
        "no parent above the root CID"
    );

    let sharded = get(&format!("{}/ipfs/{}/sharded/", s.base, s.root), &[]);
    let html = String::from_utf8(body(sharded)).unwrap();
    let rows = html.matches("<tr>").count();
    let on_disk = std::fs::read_dir(s.node.work().join("tree/sharded"))
        .unwrap()
        .count();
    assert_eq!(rows, on_disk + 1, "every HAMT entry, and ..");

    let site = get(&format!("{}/ipfs/{}/", s.base, s.site), &[]);
    assert_eq!(header(&site, "content-type"), "text/html; charset=utf-8");
    assert_eq!(body(site), b"<!DOCTYPE html><p>home</p>");
}

#[test]
fn raw_blocks_and_cars_are_the_dag_itself() {
    let s = serve_tree();
    let root_cid = rsipfs::codec::parse_cid(&s.root).unwrap();
    let block = rsipfs::blockstore::get_required(s.repo.blocks(), &root_cid).unwrap();
    let raw = get(&format!("{}/ipfs/{}?format=raw", s.base, s.root), &[]);
    assert_eq!(header(&raw, "content-type"), "application/vnd.ipld.raw");
    assert_eq!(body(raw), block);
    let accepted = get(
        &format!("{}/ipfs/{}", s.base, s.root),
        &[("Accept", "application/vnd.ipld.raw")],
    );
    assert_eq!(body(accepted), block);

    let car = get(&format!("{}/ipfs/{}/sizes?format=car", s.base, s.root), &[]);
    assert!(header(&car, "content-type").starts_with("application/vnd.ipld.car"));
    let car = body(car);
    let other = Node::new();
    std::fs::write(other.work().join("sizes.car"), &car).unwrap();
    let imported = other.ok(&["dag", "import", "sizes.car"]);
    let sizes_root = imported
        .split_whitespace()
        .nth(2)
        .expect("root")
        .to_string();
    let got = other.ok_bytes(&["cat", &format!("{sizes_root}/s262145.bin")]);
    assert!(got == std::fs::read(s.node.work().join("tree/sizes/s262145.bin")).unwrap());
}

#[test]
fn bad_paths_and_methods_are_refused_without_harm() {
    let s = serve_tree();
    let root = &s.root;
    for (path, status) in [
        ("/ipfs/not-a-cid/x".to_string(), 400),
        ("/ipfs/".to_string(), 400),
        (format!("/ipfs/{root}/no-such-file"), 404),
        (format!("/ipfs/{root}/hello.txt/deeper"), 404),
        (format!("/ipfs/{root}/../hello.txt"), 400),
        (format!("/ipfs/{root}/%2e%2e/hello.txt"), 400),
        (format!("/ipfs/{root}/./hello.txt"), 400),
        (format!("/ipfs/{root}/sizes%2Fs0.bin"), 400),
        (format!("/ipfs/{root}/a%00b"), 400),
        (format!("/ipfs/{root}/bad%zz"), 400),
        (format!("/ipfs/{root}/hello.txt?format=zip"), 400),
        ("/etc/passwd".to_string(), 404),
        ("/ipns/".to_string(), 400),
        ("/ipns/a%00b/".to_string(), 400),
    ] {
        assert_eq!(raw_status(&s.base, &path), status, "{path}");
    }
    let post = ureq::post(&format!("{}/ipfs/{root}/hello.txt", s.base))
        .config()
        .http_status_as_error(false)
        .build()
        .send_empty()
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);
    assert_eq!(header(&post, "allow"), "GET, HEAD");
    // Still serving.
    assert_eq!(raw_status(&s.base, &format!("/ipfs/{root}/hello.txt")), 200);
}

#[test]
fn the_daemon_serves_the_gateway_at_its_configured_address() {
    let node = Node::new();
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    node.ok(&[
        "config",
        "Addresses.Gateway",
        &format!("/ip4/127.0.0.1/tcp/{port}"),
    ]);
    std::fs::write(
        node.work().join("note.txt"),
        "through the daemon's gateway\n",
    )
    .unwrap();
    let cid = node.ok(&["add", "-Q", "note.txt"]).trim().to_string();
    let daemon = start_daemon(&node);
    // Like Kubo, the daemon names its gateway's URL in `$IPFS_PATH/gateway`.
    let url = std::fs::read_to_string(node.repo().join("gateway")).expect("gateway file");
    assert_eq!(url, format!("http://127.0.0.1:{port}"));
    let response = get(&format!("{url}/ipfs/{cid}"), &[]);
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(body(response), b"through the daemon's gateway\n");
    drop(daemon);
    assert!(
        !node.repo().join("gateway").exists(),
        "gateway file left behind"
    );
}

#[test]
fn a_file_collected_by_gc_is_no_longer_served_though_it_was_just_read() {
    let node = Node::new();
    std::fs::write(node.work().join("kept.txt"), "pinned, so kept\n").unwrap();
    std::fs::write(node.work().join("gone.txt"), "unpinned, so collected\n").unwrap();
    let kept = node.ok(&["add", "-Q", "kept.txt"]).trim().to_string();
    let gone = node
        .ok(&["add", "-Q", "--pin=false", "gone.txt"])
        .trim()
        .to_string();
    let _daemon = start_daemon(&node);
    let url = std::fs::read_to_string(node.repo().join("gateway")).expect("gateway file");
    // Read twice: the second answer may come from what the gateway keeps
    // in memory.
    for _ in 0..2 {
        for (cid, text) in [
            (&kept, "pinned, so kept\n"),
            (&gone, "unpinned, so collected\n"),
        ] {
            let response = get(&format!("{url}/ipfs/{cid}"), &[]);
            assert_eq!(response.status().as_u16(), 200);
            assert_eq!(body(response), text.as_bytes());
        }
    }
    let collected = node.ok(&["repo", "gc"]);
    assert!(collected.contains("removed"), "{collected}");
    let response = get(&format!("{url}/ipfs/{gone}"), &[]);
    assert_eq!(
        response.status().as_u16(),
        404,
        "a collected file was served"
    );
    let response = get(&format!("{url}/ipfs/{kept}"), &[]);
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(body(response), b"pinned, so kept\n");
}

fn urlencode(rel: &str) -> String {
    rel.split('/')
        .map(|segment| {
            segment
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn head(url: &str) -> ureq::http::Response<ureq::Body> {
    ureq::head(url)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .expect("HEAD")
}

#[test]
fn a_multi_level_file_streams_whole_and_in_ranges_across_chunks() {
    let s = serve_tree();
    // 175 chunks of 256 KiB: more than one node holds links (174 at most).
    let expected = std::fs::read(s.node.work().join("tree/sizes/s45613057.bin")).unwrap();
    let size = expected.len();
    let url = format!("{}/ipfs/{}/sizes/s45613057.bin", s.base, s.root);
    let whole = get(&url, &[]);
    assert_eq!(whole.status().as_u16(), 200);
    assert_eq!(header(&whole, "content-length"), size.to_string());
    assert!(body(whole) == expected, "bytes differ");

    let chunk = 262_144;
    let last_subtree_end = 174 * chunk - 1;
    for (start, end) in [
        (0, 0),
        (1, 1),
        (chunk - 1, chunk + 1),
        (chunk - 1, chunk - 1),
        (chunk, 3 * chunk + 17),
        (12_345, 1_234_567),
        (last_subtree_end, last_subtree_end + 1),
        (last_subtree_end - 5, size - 1),
        (size - 1, size - 1),
    ] {
        let range = format!("bytes={start}-{end}");
        let response = get(&url, &[("Range", &range)]);
        assert_eq!(response.status().as_u16(), 206, "{range}");
        assert_eq!(
            header(&response, "content-length"),
            (end - start + 1).to_string(),
            "{range}"
        );
        assert_eq!(
            header(&response, "content-range"),
            format!("bytes {start}-{end}/{size}"),
            "{range}"
        );
        assert!(
            body(response) == expected[start..=end],
            "{range}: bytes differ"
        );
    }
    let open = get(&url, &[("Range", &format!("bytes={}-", size - 2))]);
    assert!(body(open) == expected[size - 2..]);
    let suffix = get(&url, &[("Range", "bytes=-262145")]);
    assert!(body(suffix) == expected[size - 262_145..]);
    for past in [
        format!("bytes={size}-"),
        format!("bytes={}-{}", size + 1, size + 9),
    ] {
        let response = get(&url, &[("Range", &past)]);
        assert_eq!(response.status().as_u16(), 416, "{past}");
        assert_eq!(
            header(&response, "content-range"),
            format!("bytes */{size}")
        );
    }

    let headers_only = head(&url);
    assert_eq!(headers_only.status().as_u16(), 200);
    assert_eq!(header(&headers_only, "content-length"), size.to_string());
    assert_eq!(header(&headers_only, "accept-ranges"), "bytes");
    assert!(body(headers_only).is_empty());
}

#[test]
fn content_types_come_from_names_then_from_first_bytes() {
    let node = Node::new();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let files: [(&str, Vec<u8>, &str); 12] = [
        (
            "page.htm",
            b"<p>hi</p>".to_vec(),
            "text/html; charset=utf-8",
        ),
        ("data.json", b"{}".to_vec(), "application/json"),
        (
            "app.mjs",
            b"export {}".to_vec(),
            "text/javascript; charset=utf-8",
        ),
        ("notes.md", b"# hi".to_vec(), "text/markdown; charset=utf-8"),
        ("pic.PNG", png.clone(), "image/png"),
        ("icon.svg", b"<svg/>".to_vec(), "image/svg+xml"),
        ("clip.mp4", vec![0; 8], "video/mp4"),
        ("font.woff2", vec![1; 8], "font/woff2"),
        (
            "README",
            "plain ünïcode text\n".into(),
            "text/plain; charset=utf-8",
        ),
        ("blob", vec![0, 1, 2, 255], "application/octet-stream"),
        ("photo", png, "image/png"),
        (
            "archive.unknown",
            b"text after all".to_vec(),
            "text/plain; charset=utf-8",
        ),
    ];
    std::fs::create_dir(node.work().join("types")).unwrap();
    for (name, bytes, _) in &files {
        std::fs::write(node.work().join("types").join(name), bytes).unwrap();
    }
    let root = node.ok(&["add", "-Q", "-r", "types"]).trim().to_string();
    let (_gateway, base, _repo) = start_gateway(&node);
    for (name, bytes, content_type) in &files {
        let url = format!("{base}/ipfs/{root}/{name}");
        let response = get(&url, &[]);
        assert_eq!(header(&response, "content-type"), *content_type, "{name}");
        assert!(body(response) == *bytes, "{name}: bytes differ");
        assert_eq!(
            header(&head(&url), "content-type"),
            *content_type,
            "{name}: HEAD"
        );
        // A part has the whole file's type, sniffed from the same first
        // bytes however few the range asks for.
        for (start, end) in [(0, 1), (2, 3)]
            .into_iter()
            .filter(|&(_, end)| end < bytes.len())
        {
            let range = format!("bytes={start}-{end}");
            let part = get(&url, &[("Range", &range)]);
            assert_eq!(part.status().as_u16(), 206, "{name} {range}");
            assert_eq!(
                header(&part, "content-type"),
                *content_type,
                "{name} {range}"
            );
        }
    }
}

/// `(href, row)` of each entry row of a listing.
fn listing_rows(html: &str) -> Vec<(String, String)> {
    html.split("<tr>")
        .skip(1)
        .map(|row| {
            let href = row
                .split("href=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .expect("a link in every row");
            (href.to_string(), row.to_string())
        })
        .collect()
}

#[test]
fn listings_link_every_entry_with_its_cid_and_size() {
    let node = Node::new();
    let tree = node.make_tree("tree");
    let odd = [
        "<b>&\"q'.txt",
        "100%.txt",
        "a#b?c.txt",
        "sp ace.txt",
        "é.txt",
    ];
    for name in odd {
        std::fs::write(tree.join("with space").join(name), name).unwrap();
    }
    let root = node.ok(&["add", "-Q", "-r", "tree"]).trim().to_string();
    let listed = node.ok(&["ls", &root]);
    let (_gateway, base, repo) = start_gateway(&node);

    let html = String::from_utf8(body(get(&format!("{base}/ipfs/{root}/"), &[]))).unwrap();
    let rows = listing_rows(&html);
    assert_eq!(rows.len(), listed.lines().count(), "a row per `ls` line");
    for line in listed.lines() {
        let mut fields = line.splitn(3, ' ');
        let (cid, size, name) = (
            fields.next().unwrap(),
            fields.next().unwrap(),
            fields.next().unwrap(),
        );
        let href = format!(
            "{}{}",
            urlencode(name.trim_end_matches('/')),
            if name.ends_with('/') { "/" } else { "" }
        );
        let (_, row) = rows
            .iter()
            .find(|(h, _)| *h == href)
            .unwrap_or_else(|| panic!("no row links {href:?}"));
        assert!(row.contains(cid), "{name}: CID");
        if size != "-" {
            assert!(
                row.contains(&format!("title=\"{size} bytes\"")),
                "{name}: size"
            );
        }
        let followed = get(&format!("{base}/ipfs/{root}/{href}"), &[]);
        assert_eq!(followed.status().as_u16(), 200, "{name}");
        let on_disk = tree.join(name.trim_end_matches('/'));
        let meta = std::fs::symlink_metadata(&on_disk).unwrap();
        if meta.is_file() {
            assert!(body(followed) == std::fs::read(&on_disk).unwrap(), "{name}");
        }
    }

    let subdir = get(&format!("{base}/ipfs/{root}/with%20space/"), &[]);
    let subdir_cid = listed
        .lines()
        .find(|line| line.ends_with(" with space/"))
        .and_then(|line| line.split(' ').next())
        .unwrap();
    assert_eq!(
        header(&subdir, "x-ipfs-path"),
        format!("/ipfs/{root}/with%20space/")
    );
    assert_eq!(
        header(&subdir, "x-ipfs-roots"),
        format!("{root},{subdir_cid}")
    );
    let html = String::from_utf8(body(subdir)).unwrap();
    assert!(html.contains("<a href=\"../\">..</a>"));
    assert!(html.contains("&lt;b&gt;&amp;&quot;q&#39;.txt"));
    assert!(!html.contains("<b>"), "names are escaped");
    for name in odd {
        let (href, _) = listing_rows(&html)
            .into_iter()
            .find(|(h, _)| *h == urlencode(name))
            .unwrap_or_else(|| panic!("{name} not linked"));
        let followed = get(&format!("{base}/ipfs/{root}/with%20space/{href}"), &[]);
        assert_eq!(body(followed), name.as_bytes(), "{name}");
    }

    let sharded = rsipfs::codec::IpfsPath::parse(&format!("/ipfs/{root}/sharded")).unwrap();
    let node_kind = rsipfs::unixfs::resolve::resolve(repo.blocks(), &sharded)
        .unwrap()
        .node
        .kind();
    assert_eq!(node_kind, rsipfs::unixfs::node::Kind::HamtShard);
    let html = String::from_utf8(body(get(&format!("{base}/ipfs/{root}/sharded/"), &[]))).unwrap();
    let rows = listing_rows(&html);
    assert_eq!(rows.len(), 3001, "3000 entries and ..");
    for i in [0, 1234, 2999] {
        let name = format!("{:x<60}", format!("entry-{i:05}-"));
        let (href, row) = rows
            .iter()
            .find(|(h, _)| *h == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        let expected = format!("{i}\n");
        assert!(row.contains(&format!("title=\"{} bytes\"", expected.len())));
        let followed = get(&format!("{base}/ipfs/{root}/sharded/{href}"), &[]);
        assert_eq!(body(followed), expected.as_bytes());
    }
}

#[test]
fn raw_blocks_equal_block_get_and_other_codecs_come_as_they_are() {
    let node = Node::new();
    node.make_tree("tree");
    let root = node.ok(&["add", "-Q", "-r", "tree"]).trim().to_string();
    let cid_of = |path: &str, name: &str| -> String {
        node.ok(&["ls", path])
            .lines()
            .find(|line| line.ends_with(&format!(" {name}")))
            .and_then(|line| line.split(' ').next())
            .expect("listed")
            .to_string()
    };
    let paths = [
        (root.clone(), root.clone()),
        (format!("{root}/hello.txt"), cid_of(&root, "hello.txt")),
        (
            format!("{root}/sizes/s45613057.bin"),
            cid_of(&format!("{root}/sizes"), "s45613057.bin"),
        ),
    ];
    let blocks: Vec<Vec<u8>> = paths
        .iter()
        .map(|(_, cid)| node.ok_bytes(&["block", "get", cid]))
        .collect();
    let put = node.run_stdin(&["dag", "put"], b"{\"hello\":\"gateway\"}");
    assert!(put.status.success());
    let cbor = String::from_utf8(put.stdout).unwrap().trim().to_string();
    let cbor_block = node.ok_bytes(&["block", "get", &cbor]);
    let put = node.run_stdin(
        &[
            "dag",
            "put",
            "--input-codec",
            "dag-json",
            "--store-codec",
            "dag-pb",
        ],
        b"{\"Links\":[]}",
    );
    assert!(put.status.success());
    let bare_pb = String::from_utf8(put.stdout).unwrap().trim().to_string();
    let (_gateway, base, _repo) = start_gateway(&node);

    for ((path, cid), block) in paths.iter().zip(&blocks) {
        let url = format!("{base}/ipfs/{path}?format=raw");
        let response = get(&url, &[]);
        assert_eq!(
            header(&response, "content-type"),
            "application/vnd.ipld.raw"
        );
        assert_eq!(header(&response, "etag"), format!("\"{cid}.raw\""));
        assert!(
            header(&response, "content-disposition").contains(&format!("{cid}.bin")),
            "{path}"
        );
        assert!(body(response) == *block, "{path}");
        let headers_only = head(&url);
        assert_eq!(
            header(&headers_only, "content-length"),
            block.len().to_string()
        );
    }

    let response = get(&format!("{base}/ipfs/{cbor}"), &[]);
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        header(&response, "content-type"),
        "application/vnd.ipld.dag-cbor"
    );
    assert_eq!(body(response), cbor_block);
    let car = body(get(&format!("{base}/ipfs/{cbor}?format=car"), &[]));
    let other = Node::new();
    std::fs::write(other.work().join("cbor.car"), &car).unwrap();
    other.ok(&["dag", "import", "cbor.car"]);
    assert_eq!(other.ok_bytes(&["block", "get", &cbor]), cbor_block);

    let bare = get(&format!("{base}/ipfs/{bare_pb}"), &[]);
    assert_eq!(bare.status().as_u16(), 501, "dag-pb without UnixFS");
    let bare_raw = get(&format!("{base}/ipfs/{bare_pb}?format=raw"), &[]);
    assert_eq!(bare_raw.status().as_u16(), 200);
}

#[test]
fn head_answers_what_get_would_without_a_body() {
    let s = serve_tree();
    for path in [
        format!("/ipfs/{}/hello.txt", s.root),
        format!("/ipfs/{}/link-to-hello", s.root),
        format!("/ipfs/{}/", s.root),
        format!("/ipfs/{}/", s.site),
        format!("/ipfs/{}/hello.txt?format=raw", s.root),
    ] {
        let url = format!("{}{path}", s.base);
        let full = get(&url, &[]);
        let headers_only = head(&url);
        assert_eq!(headers_only.status(), full.status(), "{path}");
        for name in ["content-type", "content-length", "etag", "cache-control"] {
            assert_eq!(
                header(&headers_only, name),
                header(&full, name),
                "{path}: {name}"
            );
        }
        assert!(body(headers_only).is_empty(), "{path}");
    }
    let car = head(&format!("{}/ipfs/{}?format=car", s.base, s.root));
    assert_eq!(car.status().as_u16(), 200);
    assert!(header(&car, "content-type").starts_with("application/vnd.ipld.car"));
    assert_eq!(
        header(&car, "content-length"),
        "",
        "a CAR's length is not known ahead"
    );
}

/// Adds `name` with `data`; returns its CID and its leaves in order.
fn add_with_leaves(node: &Node, name: &str, data: &[u8]) -> (String, Vec<String>) {
    std::fs::write(node.work().join(name), data).unwrap();
    let cid = node.ok(&["add", "-Q", name]).trim().to_string();
    let leaves = node
        .ok(&["refs", &cid])
        .lines()
        .map(str::to_string)
        .collect();
    (cid, leaves)
}

#[test]
fn a_damaged_block_is_never_served_as_a_complete_body() {
    let node = Node::new();
    // Damaged at its start: found before any byte is sent, so an error status.
    let (early, early_leaves) =
        add_with_leaves(&node, "early.bin", &mount_tests::pseudo_random(600_000, 1));
    // Damaged in its sixth chunk, past what is sent before the body starts.
    let late_data = mount_tests::pseudo_random(6 << 18, 2);
    let (late, late_leaves) = add_with_leaves(&node, "late.bin", &late_data);
    node.damage_block(&early_leaves[0]);
    node.damage_block(&late_leaves[5]);
    let (_gateway, base, _repo) = start_gateway(&node);

    let response = get(&format!("{base}/ipfs/{early}"), &[]);
    assert!(response.status().is_server_error(), "{}", response.status());
    let text = String::from_utf8_lossy(&body(response)).into_owned();
    assert!(text.contains(&early_leaves[0]), "{text}");

    let mut response = get(&format!("{base}/ipfs/{late}"), &[]);
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        header(&response, "content-length"),
        late_data.len().to_string()
    );
    let mut received = Vec::new();
    let read = response
        .body_mut()
        .with_config()
        .limit(100 << 20)
        .reader()
        .read_to_end(&mut received);
    assert!(
        read.is_err(),
        "the body ended cleanly after {} bytes",
        received.len()
    );
    assert!(received.len() < late_data.len());
    assert!(
        received == late_data[..received.len()],
        "damaged bytes were sent"
    );
}

/// The IPNS name of `node`'s own key (`k51…`) and its peer ID (`12D3…`).
fn self_names(node: &Node) -> (String, String) {
    let id: serde_json::Value = serde_json::from_str(&node.ok(&["id"])).unwrap();
    let peer = id["ID"].as_str().unwrap().to_string();
    let k51 = rsipfs::ipns::Name::parse(&peer).unwrap().to_string();
    (k51, peer)
}

#[test]
fn ipns_names_serve_what_they_point_to_cached_for_their_ttl() {
    let node = Node::new();
    node.make_tree("tree");
    let root = node.ok(&["add", "-Q", "-r", "tree"]).trim().to_string();
    node.ok(&[
        "name",
        "publish",
        "--allow-offline",
        "--ttl",
        "5m",
        &format!("/ipfs/{root}"),
    ]);
    let (k51, peer) = self_names(&node);
    let expected = std::fs::read(node.work().join("tree/hello.txt")).unwrap();
    let (_gateway, base, _repo) = start_gateway(&node);

    for name in [&k51, &peer] {
        let url = format!("{base}/ipns/{name}/hello.txt");
        let response = get(&url, &[]);
        assert_eq!(response.status().as_u16(), 200, "{url}");
        assert_eq!(header(&response, "cache-control"), "public, max-age=300");
        assert_eq!(
            header(&response, "x-ipfs-path"),
            format!("/ipns/{name}/hello.txt")
        );
        assert!(header(&response, "x-ipfs-roots").starts_with(&root));
        assert!(body(response) == expected, "{url}: bytes differ");
    }
    // A directory behind a name redirects to its slash form, then lists.
    let bare = get(&format!("{base}/ipns/{k51}"), &[]);
    assert_eq!(bare.status().as_u16(), 301);
    assert_eq!(header(&bare, "location"), format!("/ipns/{k51}/"));
    let listing = get(&format!("{base}/ipns/{k51}/"), &[]);
    assert_eq!(listing.status().as_u16(), 200);
    let html = String::from_utf8(body(listing)).unwrap();
    assert!(html.contains("hello.txt"), "{html}");
    // ?format=raw of a named path is the block the name leads to.
    let raw = get(&format!("{base}/ipns/{k51}/hello.txt?format=raw"), &[]);
    assert_eq!(header(&raw, "content-type"), "application/vnd.ipld.raw");
    // From the cache now: what is left of the TTL.
    let left = header(&raw, "cache-control");
    let left: u64 = left
        .strip_prefix("public, max-age=")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{left}"));
    assert!((290..=300).contains(&left), "{left}");
    let missing = get(&format!("{base}/ipns/{k51}/no-such-file"), &[]);
    assert_eq!(missing.status().as_u16(), 404);
}

#[test]
fn ipns_records_come_as_they_are_kept() {
    let node = Node::new();
    let value = String::from_utf8(node.run_stdin(&["add", "-Q"], b"versioned\n").stdout).unwrap();
    node.ok(&[
        "name",
        "publish",
        "--allow-offline",
        "--ttl",
        "90s",
        value.trim(),
    ]);
    let (k51, peer) = self_names(&node);
    let kept = node.ok_bytes(&["name", "get", &k51]);
    let (_gateway, base, _repo) = start_gateway(&node);

    let by_query = get(&format!("{base}/ipns/{k51}?format=ipns-record"), &[]);
    let by_accept = get(
        &format!("{base}/ipns/{peer}"),
        &[("Accept", "application/vnd.ipfs.ipns-record")],
    );
    for response in [by_query, by_accept] {
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            header(&response, "content-type"),
            "application/vnd.ipfs.ipns-record"
        );
        assert_eq!(header(&response, "cache-control"), "public, max-age=90");
        assert!(header(&response, "content-disposition").contains(".ipns-record"));
        let record = body(response);
        assert_eq!(record, kept);
        let name = rsipfs::ipns::Name::parse(&k51).unwrap();
        let valid = rsipfs::ipns::Record::validate(&record, &name, std::time::SystemTime::now())
            .expect("a valid record");
        assert_eq!(valid.value_text(), format!("/ipfs/{}", value.trim()));
    }
    // A record is a name's alone; a path's CID has none.
    let below = get(&format!("{base}/ipns/{k51}/x?format=ipns-record"), &[]);
    assert_eq!(below.status().as_u16(), 400);
    let of_cid = get(
        &format!("{base}/ipfs/{}?format=ipns-record", value.trim()),
        &[],
    );
    assert_eq!(of_cid.status().as_u16(), 400);
}

#[test]
fn names_that_cannot_be_resolved_say_why() {
    let node = Node::new();
    let (_gateway, base, _repo) = start_gateway(&node);
    let unknown =
        rsipfs::ipns::Name::of_key(&libp2p_identity::Keypair::generate_ed25519().public())
            .to_string();
    for url in [
        format!("{base}/ipns/{unknown}/"),
        format!("{base}/ipns/{unknown}?format=ipns-record"),
    ] {
        let response = get(&url, &[]);
        assert_eq!(response.status().as_u16(), 500, "{url}");
        let text = String::from_utf8(body(response)).unwrap();
        assert!(
            text.contains(&format!("failed to resolve /ipns/{unknown}"))
                && text.contains("no record found"),
            "{url}: {text}"
        );
    }
    let garbage = get(&format!("{base}/ipns/not-a-name/"), &[]);
    assert_eq!(garbage.status().as_u16(), 400);
    let text = String::from_utf8(body(garbage)).unwrap();
    assert!(text.contains("is not an IPNS name"), "{text}");
}

/// A HAMT-sharded directory of 3 000 entries with long names (past Kubo's
/// 256 KiB sharding threshold), added; its CID.
fn add_sharded_dir(node: &Node) -> String {
    let dir = node.work().join("many");
    std::fs::create_dir(&dir).unwrap();
    for i in 0..3000 {
        let name = format!("{:y<80}", format!("entry-{i:05}-"));
        std::fs::write(dir.join(name), format!("{i}\n")).unwrap();
    }
    node.ok(&["add", "-Q", "-r", "many"]).trim().to_string()
}

#[test]
fn a_missing_shard_is_404_naming_the_block_as_a_missing_name_is() {
    use rsipfs::codec::dagpb::PbNode;
    use rsipfs::codec::{cid_string, parse_cid};
    let node = Node::new();
    let dir = add_sharded_dir(&node);
    let dir_cid = parse_cid(&dir).unwrap();
    let flatfs = rsipfs::repo::FlatFs::open(&node.repo().join("blocks")).unwrap();
    let block_of = |cid: &rsipfs::codec::Cid| std::fs::read(flatfs.block_path(cid.hash())).unwrap();
    let shards = rsipfs::unixfs::dir::child_shards(&dir_cid, &block_of(&dir_cid)).unwrap();
    assert!(shards.len() > 1, "the directory is sharded");
    // An entry of the first child shard (HAMT link names: 2 hex digits, then the name).
    let gone = shards[0];
    let in_gone = PbNode::decode(&block_of(&gone))
        .unwrap()
        .links
        .iter()
        .filter_map(|link| link.name.as_deref())
        .find(|name| name.len() > 2)
        .map(|name| name[2..].to_string())
        .expect("an entry in the shard");
    std::fs::remove_file(flatfs.block_path(gone.hash())).unwrap();
    let (_gateway, base, repo) = start_gateway(&node);
    // A name not in the directory, whose bucket is in a shard that is here.
    let absent = (0..)
        .map(|i| format!("absent-{i}"))
        .find(|name| {
            rsipfs::unixfs::dir::lookup(repo.blocks(), &dir_cid, name).is_ok_and(|e| e.is_none())
        })
        .unwrap();

    let missing = get(&format!("{base}/ipfs/{dir}/{in_gone}"), &[]);
    assert_eq!(missing.status().as_u16(), 404);
    let text = String::from_utf8(body(missing)).unwrap();
    assert!(text.contains(&cid_string(&gone)), "{text}");
    let listing = get(&format!("{base}/ipfs/{dir}/"), &[]);
    assert_eq!(listing.status().as_u16(), 404);
    let text = String::from_utf8(body(listing)).unwrap();
    assert!(text.contains(&cid_string(&gone)), "{text}");

    let not_there = get(&format!("{base}/ipfs/{dir}/{absent}"), &[]);
    assert_eq!(not_there.status().as_u16(), 404);
    let text = String::from_utf8(body(not_there)).unwrap();
    assert!(text.contains("no link named"), "{text}");
    // What is in the shards still here is served.
    let present = (0..3000)
        .map(|i| format!("{:y<80}", format!("entry-{i:05}-")))
        .find(|name| {
            rsipfs::unixfs::dir::lookup(repo.blocks(), &dir_cid, name).is_ok_and(|e| e.is_some())
        })
        .unwrap();
    let served = get(&format!("{base}/ipfs/{dir}/{present}"), &[]);
    assert_eq!(served.status().as_u16(), 200);
}

/// The gateway resolves from the repository's own blocks without leaving
/// the runtime; what is not there is asked of the store (in a daemon, the
/// network behind it).
#[test]
fn a_path_not_in_the_repository_is_resolved_through_the_store() {
    let here = Node::new();
    let elsewhere = Node::new();
    elsewhere.make_tree("tree");
    let root = elsewhere
        .ok(&["add", "-Q", "-r", "tree"])
        .trim()
        .to_string();
    let repo = Arc::new(Repo::open(&here.repo()).unwrap());
    let other = Repo::open(&elsewhere.repo()).unwrap();
    let sources = rsipfs::gateway::Sources {
        repo: Arc::clone(&repo),
        store: other.blocks_shared(),
        names: Arc::new(rsipfs::names::NameSystem::new(None, None)),
    };
    let gateway = rsipfs::gateway::start(
        "127.0.0.1:0".parse().unwrap(),
        sources,
        rsipfs::gateway::Hosts::default(),
        rsipfs::api::Limits::default(),
    )
    .unwrap();
    let base = format!("http://{}", gateway.addr);
    for rel in ["hello.txt", "sharded/", "sizes/s262145.bin"] {
        let response = get(&format!("{base}/ipfs/{root}/{rel}"), &[]);
        assert_eq!(response.status().as_u16(), 200, "{rel}");
    }
    let hello = get(&format!("{base}/ipfs/{root}/hello.txt"), &[]);
    assert!(body(hello) == std::fs::read(elsewhere.work().join("tree/hello.txt")).unwrap());
    let missing = get(&format!("{base}/ipfs/{root}/no-such-file"), &[]);
    assert_eq!(missing.status().as_u16(), 404);
}
