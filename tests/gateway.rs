//! The read-only HTTP gateway: files compared with the originals on disk,
//! Range requests at odd boundaries, caching headers, listings of plain and
//! HAMT-sharded directories, index pages, `?format=raw|car`, and hostile
//! paths answered with 4xx.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;

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
    let repo = Arc::new(Repo::open(&node.repo()).expect("open repo"));
    let gateway = rsipfs::gateway::start("127.0.0.1:0".parse().unwrap(), repo.blocks_shared())
        .expect("gateway");
    let base = format!("http://{}", gateway.addr);
    Served {
        node,
        root,
        site,
        base,
        _gateway: gateway,
        repo,
    }
}

fn get(url: &str, headers: &[(&str, &str)]) -> ureq::http::Response<ureq::Body> {
    let mut request = ureq::get(url)
        .config()
        .http_status_as_error(false)
        .max_redirects(0)
        .build();
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.call().expect("request")
}

fn body(mut response: ureq::http::Response<ureq::Body>) -> Vec<u8> {
    response
        .body_mut()
        .with_config()
        .limit(100 << 20)
        .read_to_vec()
        .expect("body")
}

fn header(response: &ureq::http::Response<ureq::Body>, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
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
        (format!("/ipfs/{root}/hello.txt?format=tar"), 400),
        ("/etc/passwd".to_string(), 404),
        ("/ipns/example.com".to_string(), 404),
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
    let _daemon = start_daemon(&node);
    let response = get(&format!("http://127.0.0.1:{port}/ipfs/{cid}"), &[]);
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(body(response), b"through the daemon's gateway\n");
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
