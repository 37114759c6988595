//! The gateway for web sites: subdomain origins (`<cid>.ipfs.localhost`,
//! `<name>.ipns.localhost`, inlined DNSLink names) and the redirects to
//! them, DNSLink hosts, `_redirects` files checked on the conformance
//! fixtures (`shared/fixtures/redirects_file`, every case the conformance
//! suite asks), `?filename=`/`download=true`, `?format=tar`,
//! `?format=dag-json|dag-cbor` and listings. Requests are written by hand
//! on a socket, so any Host header (bad ones too) can be sent.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use common::Node;
use common::gateway::start_gateway_extras;
use rsipfs::api::ApiServer;
use rsipfs::codec::cid::{parse_cid, to_v1};
use rsipfs::names::{DnsLinkLookup, NameSystem, TxtAnswer};
use rsipfs::repo::Repo;

/// redirects.car's root and its directories.
const FIXTURE_ROOT: &str = "QmQyqMY5vUBSbSxyitJqthgwZunCQjDVtNd8ggVCxzuPQ4";
const EXAMPLES: &str = "QmYBhLYDwVFvxos9h8CGU2ibaY66QNgv8hpfewxaQrPiZj";
const FORCED: &str = "QmU7ysGXwAtiV7aBarZASJsxKoKyKmd9Xrz2FFamSCbg8S";
const GOOD_CODES: &str = "QmWHn2TunA1g7gQ7q9rwAoWuot2hMpojZ6cZ9ERsNKm5gE";
const BAD_CODES: &str = "QmcBcFnKKqgpCVMxxGsriw9ByTVF6uDdKDMuEBq3m6f1bm";
const INVALID: &str = "QmRgpzYQESidTtTojN8zRWjiNs9Cy6o7KHRxh7kDpJm3KH";
const NEWLINES: &str = "QmYzMrtPyBv7LKiEAGLLRPtvqm3SjQYLWxwWQ2vnpxQwRd";
const TOO_LARGE: &str = "QmQTfvjGmvTfxFpUcZNLdTLuKV227KJkGiN6xooHVeVZAS";
const CUSTOM_404: &str = "Qmd9GD7Bauh6N2ZLfNnYS3b7QVAijbud83b8GE8LPMNBBP";
const CUSTOM_410: &str = "QmSmR9NShZ89VEBrn9SBy7Xxvjw8Qe6XArD5GqtHvbtBM3";
const CUSTOM_451: &str = "QmVQqj9oZig9tH3ENHo4bxV5pNgssUwFCXUjAJAVcZVbJG";
/// redirects-spa.car: `_redirects` (`/* /index.html 200`) and index.html.
const SPA: &str = "bafybeib5lboymwd6p2eo4qb2lkueaine577flvsjjeuevmp2nlio72xv5q";

const IMMUTABLE: &str = "public, max-age=29030400, immutable";

/// DNS with fixed DNSLink records, for DNSLink hosts without a server.
struct FixedDns(Vec<(String, String)>);

impl DnsLinkLookup for FixedDns {
    fn txt(&self, name: &str, _: Duration) -> Result<TxtAnswer, String> {
        let texts = self
            .0
            .iter()
            .filter(|(domain, _)| format!("_dnslink.{domain}.") == name)
            .map(|(_, link)| format!("dnslink={link}"))
            .collect();
        Ok(TxtAnswer {
            texts,
            ttl: Duration::from_secs(60),
        })
    }
}

struct Served {
    _node: Node,
    /// `127.0.0.1:<port>`.
    addr: String,
    port: u16,
    repo: Arc<Repo>,
    _gateway: ApiServer,
}

/// The base32 CIDv1 of a CID, as a subdomain carries it.
fn v1(cid: &str) -> String {
    to_v1(&parse_cid(cid).unwrap()).to_string()
}

fn serve(node: Node, dns: Vec<(&str, String)>) -> Served {
    serve_with(node, dns, rsipfs::gateway::Extras::default())
}

fn serve_with(node: Node, dns: Vec<(&str, String)>, extras: rsipfs::gateway::Extras) -> Served {
    let dns = FixedDns(dns.into_iter().map(|(d, l)| (d.to_string(), l)).collect());
    let names = NameSystem::new(None, Some(Arc::new(dns)));
    let (gateway, _, repo) =
        start_gateway_extras(&node, names, rsipfs::gateway::Hosts::default(), extras);
    Served {
        _node: node,
        addr: gateway.addr.to_string(),
        port: gateway.addr.port(),
        repo,
        _gateway: gateway,
    }
}

/// A node holding the `_redirects` fixtures.
fn fixture_node() -> Node {
    let node = Node::new();
    for car in ["redirects.car", "redirects-spa.car"] {
        let path = common::shared_dir()
            .join("fixtures/redirects_file")
            .join(car);
        node.ok(&["dag", "import", path.to_str().unwrap()]);
    }
    node
}

fn fixtures_served() -> Served {
    fixtures_served_by(fixture_node())
}

fn fixtures_served_by(node: Node) -> Served {
    serve(
        node,
        vec![
            ("redirects.example.org", format!("/ipfs/{EXAMPLES}")),
            ("spa.example.net", format!("/ipfs/{SPA}")),
        ],
    )
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size_text = std::str::from_utf8(&data[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("chunk size");
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// `method target` with these headers (Host among them, as given), the
/// whole answer read.
fn request(addr: &str, method: &str, target: &str, headers: &[(&str, &str)]) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

impl Served {
    /// GET `target` as sent to `host` (`{port}` in it is the gateway's).
    fn get(&self, host: &str, target: &str) -> Answer {
        self.get_with(host, target, &[])
    }

    fn get_with(&self, host: &str, target: &str, extra: &[(&str, &str)]) -> Answer {
        let host = host.replace("{port}", &self.port.to_string());
        let mut headers = vec![("Host", host.as_str())];
        headers.extend_from_slice(extra);
        request(&self.addr, "GET", target, &headers)
    }

    fn site(&self, cid: &str) -> String {
        format!("{}.ipfs.localhost:{}", v1(cid), self.port)
    }
}

#[test]
fn path_requests_on_localhost_move_to_subdomains() {
    let s = fixtures_served();
    // CIDv0 becomes base32 CIDv1; the rest of the path and the query follow.
    let moved = s.get(
        "localhost:{port}",
        &format!("/ipfs/{EXAMPLES}/one.html?x=1&y=%20"),
    );
    assert_eq!(moved.status, 301, "{}", moved.text());
    assert_eq!(
        moved.header("location"),
        format!("http://{}/one.html?x=1&y=%20", s.site(EXAMPLES))
    );
    let root = s.get("localhost:{port}", &format!("/ipfs/{EXAMPLES}"));
    assert_eq!(
        root.header("location"),
        format!("http://{}/", s.site(EXAMPLES))
    );
    // Behind a TLS proxy the redirect stays on https.
    let https = s.get_with(
        "localhost:{port}",
        &format!("/ipfs/{SPA}/"),
        &[("X-Forwarded-Proto", "https")],
    );
    assert_eq!(
        https.header("location"),
        format!("https://{SPA}.ipfs.localhost:{}/", s.port)
    );
    // The same path on the IP address is served there.
    let by_ip = s.get(&s.addr.clone(), &format!("/ipfs/{EXAMPLES}/one.html"));
    assert_eq!(by_ip.status, 200);
    assert_eq!(by_ip.text(), "my one\n");
    // What a subdomain gateway does not serve: 404; a bad CID: 400.
    assert_eq!(s.get("localhost:{port}", "/").status, 404);
    assert_eq!(s.get("localhost:{port}", "/ipfs/not-a-cid").status, 400);
}

#[test]
fn subdomains_serve_their_site_from_its_root() {
    let s = fixtures_served();
    let site = s.site(EXAMPLES);
    let one = s.get(&site, "/one.html");
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.text(), "my one\n");
    assert_eq!(
        one.header("x-ipfs-path"),
        format!("/ipfs/{}/one.html", v1(EXAMPLES))
    );
    assert_eq!(one.header("cache-control"), IMMUTABLE);
    assert_eq!(s.get(&site, "/").text(), "my index\n");
    // A directory without its slash: redirected within the site.
    let dir = s.get(&site, "/articles?a=b");
    assert_eq!(dir.status, 301);
    assert_eq!(dir.header("location"), "/articles/?a=b");
    // Its listing links relatively, and shows breadcrumbs and sizes.
    let listing = s.get(&site, "/redirected-splat/");
    assert_eq!(listing.status, 200);
    let html = listing.text();
    assert!(
        html.contains(&format!(
            "Index of /ipfs/<a href=\"../\">{}</a>/<a href=\"./\">redirected-splat</a>",
            v1(EXAMPLES)
        )),
        "{html}"
    );
    assert!(html.contains("href=\"one.html\""), "{html}");
    assert!(html.contains(">21 B</td>"), "{html}");
    // Behind a proxy, X-Forwarded-Host names the origin.
    let proxied = s.get_with(&s.addr.clone(), "/two.html", &[("X-Forwarded-Host", &site)]);
    assert_eq!(proxied.text(), "my two\n");
    // A CIDv0 subdomain is served as it is named (as Kubo).
    let v0 = s.get(&format!("{EXAMPLES}.ipfs.localhost:{{port}}"), "/two.html");
    assert_eq!(v0.text(), "my two\n");
}

#[test]
fn names_get_base36_subdomains_and_dnslink_names_inline() {
    let node = fixture_node();
    let published = node.ok(&[
        "name",
        "publish",
        "--allow-offline",
        &format!("/ipfs/{SPA}"),
    ]);
    let id = node.ok(&["config", "Identity.PeerID"]).trim().to_string();
    assert!(id.starts_with("12D3Koo"), "{id}");
    let s = fixtures_served_by(node);
    // A peer ID in the path form: the libp2p-key CID, base36.
    let name = published
        .split_once("Published to ")
        .and_then(|(_, rest)| rest.split_once(':'))
        .map(|(name, _)| name.trim().to_string())
        .unwrap();
    let moved = s.get("localhost:{port}", &format!("/ipns/{id}/x"));
    assert_eq!(moved.status, 301, "{}", moved.text());
    assert_eq!(
        moved.header("location"),
        format!("http://{name}.ipns.localhost:{}/x", s.port)
    );
    let served = s.get(&format!("{name}.ipns.localhost:{{port}}"), "/");
    assert_eq!(served.status, 200, "{}", served.text());
    assert_eq!(served.text(), "hello world\n");
    assert!(
        served
            .header("cache-control")
            .starts_with("public, max-age=")
    );
    // A CIDv1 of another codec in .ipns. is put right.
    let as_dag_pb = rsipfs::codec::Cid::new_v1(0x70, *parse_cid(&name).unwrap().hash()).to_string();
    let wrong = s.get(&format!("{as_dag_pb}.ipns.localhost:{{port}}"), "/a");
    assert_eq!(wrong.status, 301, "{}", wrong.text());
    assert_eq!(
        wrong.header("location"),
        format!("http://{name}.ipns.localhost:{}/a", s.port)
    );

    // DNSLink names keep their dots over plain HTTP, are inlined over TLS.
    let dotted = s.get("localhost:{port}", "/ipns/spa.example.net/page");
    assert_eq!(
        dotted.header("location"),
        format!("http://spa.example.net.ipns.localhost:{}/page", s.port)
    );
    let inlined = s.get_with(
        "localhost:{port}",
        "/ipns/spa.example.net/page",
        &[("X-Forwarded-Proto", "https")],
    );
    assert_eq!(
        inlined.header("location"),
        format!("https://spa-example-net.ipns.localhost:{}/page", s.port)
    );
    for host in [
        "spa-example-net.ipns.localhost:{port}",
        "spa.example.net.ipns.localhost:{port}",
        "spa.example.net",
    ] {
        let page = s.get(host, "/index.html");
        assert_eq!(page.status, 200, "{host}: {}", page.text());
        assert_eq!(page.text(), "hello world\n", "{host}");
    }
}

#[test]
fn bad_hosts_and_long_labels_are_refused_clearly() {
    let s = fixtures_served();
    for (host, says) in [
        ("not-a-cid.ipfs.localhost:{port}", "not a CID"),
        ("a b.ipfs.localhost", "invalid Host"),
        ("evil.com/x", "invalid Host"),
        ("user@localhost:{port}", "invalid Host"),
        ("localhost:99999999", "invalid Host"),
        ("..ipfs.localhost", "invalid Host"),
        ("[::1", "invalid Host"),
    ] {
        let answer = s.get(host, &format!("/ipfs/{SPA}/"));
        assert_eq!(answer.status, 400, "{host}: {}", answer.text());
        assert!(answer.text().contains(says), "{host}: {}", answer.text());
    }
    let unicode = s.get("é.ipfs.localhost", "/");
    assert_eq!(unicode.status, 400, "{}", unicode.text());
    // Label injection: a CID followed by other labels is no CID.
    let injected = s.get(&format!("{}.evil.ipfs.localhost", v1(SPA)), "/");
    assert_eq!(injected.status, 400, "{}", injected.text());
    // A namespace the gateway does not serve on subdomains.
    assert_eq!(s.get(&format!("{SPA}.p2p.localhost"), "/").status, 404);
    // sha2-512: too long for a DNS label in base32 and in base36.
    let long =
        rsipfs::codec::cid::CidBuilder::for_version(Some(1), rsipfs::codec::HashFn::Sha2_512)
            .unwrap()
            .cid_of(0x55, b"x")
            .to_string();
    let refused = s.get("localhost:{port}", &format!("/ipfs/{long}"));
    assert_eq!(refused.status, 400);
    assert!(refused.text().contains("63"), "{}", refused.text());
    // The server is still there after all that.
    assert_eq!(s.get(&s.site(SPA), "/index.html").status, 200);
}

#[test]
fn redirects_files_do_what_the_fixtures_say() {
    let s = fixtures_served();
    let site = s.site(EXAMPLES);
    for (path, status, location) in [
        ("/redirect-one", 301, "/one.html"),
        ("/301-redirect-one", 301, "/one.html"),
        ("/302-redirect-two", 302, "/two.html"),
        (
            "/posts/2022/01/01/hello-world",
            301,
            "/articles/2022/01/01/hello-world",
        ),
        ("/splat/one.html", 301, "/redirected-splat/one.html"),
    ] {
        let answer = s.get(&site, path);
        assert_eq!(answer.status, status, "{path}: {}", answer.text());
        assert_eq!(answer.header("location"), location, "{path}");
    }
    // The request's query goes along.
    assert_eq!(
        s.get(&site, "/redirect-one?a=1").header("location"),
        "/one.html?a=1"
    );
    for path in ["/200-index", "/catch-all", "/missing/deeper/page.html"] {
        let answer = s.get(&site, path);
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.text(), "my index\n", "{path}");
    }
    for (path, status, page, text) in [
        (
            "/not-found/has-no-redirects-entry",
            404,
            CUSTOM_404,
            "my 404",
        ),
        ("/gone/has-no-redirects-entry", 410, CUSTOM_410, "my 410"),
        ("/unavail/has-no-redirects-entry", 451, CUSTOM_451, "my 451"),
    ] {
        let answer = s.get(&site, path);
        assert_eq!(answer.status, status, "{path}");
        assert_eq!(answer.header("cache-control"), IMMUTABLE, "{path}");
        assert_eq!(answer.header("etag"), format!("\"{page}\""), "{path}");
        assert!(answer.text().contains(text), "{path}: {}", answer.text());
    }
    // What exists is served as it is, the catch-all notwithstanding.
    assert_eq!(s.get(&site, "/one.html").text(), "my one\n");

    let newlines = s.get(&s.site(NEWLINES), "/redirect-one");
    assert_eq!(newlines.status, 301);
    assert_eq!(newlines.header("location"), "/one.html");
    for code in [301, 302, 303, 307, 308] {
        let answer = s.get(&s.site(GOOD_CODES), &format!("/a{code}"));
        assert_eq!(answer.status, code);
        assert_eq!(answer.header("location"), format!("/b{code}"));
    }
    // A rewrite or page to something missing: 404 / 500, never a loop.
    assert_eq!(s.get(&s.site(GOOD_CODES), "/a200").status, 404);
    let missing_page = s.get(&s.site(GOOD_CODES), "/a404");
    assert_eq!(missing_page.status, 500);
    assert!(
        missing_page.text().contains("_redirects"),
        "{}",
        missing_page.text()
    );

    // Bad files: 500 naming the problem, only for paths that are missing.
    let found = s.get(&s.site(BAD_CODES), "/found.html");
    assert_eq!(found.status, 200);
    assert!(found.text().contains("my found"));
    for (dir, says) in [
        (FORCED, "forced redirects"),
        (BAD_CODES, "status code 999 is not supported"),
        (INVALID, "missing 'to'"),
        (TOO_LARGE, "redirects file size cannot exceed"),
    ] {
        let answer = s.get(&s.site(dir), "/not-found");
        assert_eq!(answer.status, 500, "{dir}");
        let text = answer.text();
        assert!(text.contains("could not parse _redirects:"), "{text}");
        assert!(text.contains(says), "{text}");
        if dir != TOO_LARGE {
            assert!(text.contains("line 1"), "{text}");
        }
    }
}

#[test]
fn redirects_apply_only_where_the_site_has_its_own_origin() {
    let s = fixtures_served();
    // Path gateway: no _redirects.
    let by_path = s.get(&s.addr.clone(), &format!("/ipfs/{EXAMPLES}/redirect-one"));
    assert_eq!(by_path.status, 404);
    // DNSLink host: yes, with the name's TTL rather than immutable.
    let by_dnslink = s.get("redirects.example.org", "/redirect-one");
    assert_eq!(by_dnslink.status, 301);
    assert_eq!(by_dnslink.header("location"), "/one.html");
    let page = s.get("redirects.example.org", "/not-found/has-no-redirects-entry");
    assert_eq!(page.status, 404);
    assert_eq!(page.header("etag"), format!("\"{CUSTOM_404}\""));
    assert!(!page.header("cache-control").contains("immutable"));
    assert!(page.text().contains("my 404"));

    // The SPA fixture: a missing page is index.html, and its ETag holds.
    for host in [s.site(SPA), "spa-example-net.ipns.localhost:{port}".into()] {
        let spa = s.get_with(&host, "/missing-page", &[("Accept", "text/html")]);
        assert_eq!(spa.status, 200, "{host}");
        assert_eq!(spa.text(), "hello world\n");
        let etag = spa.header("etag");
        assert!(!etag.is_empty());
        let again = s.get_with(&host, "/missing-page", &[("If-None-Match", &etag)]);
        assert_eq!(again.status, 304, "{host}");
    }
    // The fixture root itself has no _redirects: plain 404.
    assert_eq!(s.get(&s.site(FIXTURE_ROOT), "/nothing").status, 404);
}

#[test]
fn redirect_rules_that_point_at_themselves_end() {
    let node = Node::new();
    let site = node.work().join("site");
    std::fs::create_dir_all(site.join("app")).unwrap();
    std::fs::write(site.join("app/index.html"), "the app\n").unwrap();
    std::fs::write(
        site.join("_redirects"),
        "/loop /loop 301\n/self/* /self/:splat 200\n/app-route/* /app 200\n/* /nowhere 200\n",
    )
    .unwrap();
    let root = node
        .ok(&["add", "-Q", "-r", "--cid-version", "1", "site"])
        .trim()
        .to_string();
    let s = serve(node, Vec::new());
    let host = s.site(&root);
    // A redirect to itself is answered once; the browser sees the loop.
    let looped = s.get(&host, "/loop");
    assert_eq!(looped.status, 301);
    assert_eq!(looped.header("location"), "/loop");
    // A rewrite to itself or to nothing is one rewrite, then 404.
    assert_eq!(s.get(&host, "/self/x").status, 404);
    assert_eq!(s.get(&host, "/elsewhere").status, 404);
    // A rewrite to a directory serves it where asked (no redirect back).
    let app = s.get(&host, "/app-route/deep");
    assert_eq!(app.status, 200, "{}", app.text());
    assert_eq!(app.text(), "the app\n");
}

#[test]
fn filenames_downloads_and_tar() {
    let node = Node::new();
    let tree = node.work().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("hello.txt"), "hello\n").unwrap();
    std::fs::write(tree.join("sub/deep.txt"), vec![b'x'; 3000]).unwrap();
    let root = node
        .ok(&["add", "-Q", "-r", "--cid-version", "1", "tree"])
        .trim()
        .to_string();
    let s = serve(node, Vec::new());
    let ip = s.addr.clone();

    let named = s.get(
        &ip,
        &format!("/ipfs/{root}/hello.txt?filename=test%D1%82%D0%B5%D1%81%D1%82.pdf"),
    );
    assert_eq!(named.status, 200);
    assert_eq!(
        named.header("content-disposition"),
        "inline; filename=\"test____.pdf\"; filename*=UTF-8''test%D1%82%D0%B5%D1%81%D1%82.pdf"
    );
    let download = s.get(
        &ip,
        &format!("/ipfs/{root}/hello.txt?filename=a%20b.txt&download=true"),
    );
    assert_eq!(
        download.header("content-disposition"),
        "attachment; filename=\"a%20b.txt\"; filename*=UTF-8''a%20b.txt"
    );
    let quoted = s.get(
        &ip,
        &format!("/ipfs/{root}/hello.txt?filename=%22x%22%0D%0A.txt"),
    );
    assert_eq!(
        quoted.header("content-disposition"),
        "inline; filename=\"%22x%22%0D%0A.txt\"; filename*=UTF-8''%22x%22%0D%0A.txt"
    );
    assert_eq!(
        s.get(&ip, &format!("/ipfs/{root}/hello.txt"))
            .header("content-disposition"),
        ""
    );

    // A tar of the tree, its root entry named by the CID.
    for (query, accept) in [("?format=tar", ""), ("", "application/x-tar")] {
        let extra: Vec<(&str, &str)> = if accept.is_empty() {
            Vec::new()
        } else {
            vec![("Accept", accept)]
        };
        let tar = s.get_with(&ip, &format!("/ipfs/{root}/{query}"), &extra);
        assert_eq!(tar.status, 200, "{}", tar.text());
        assert_eq!(tar.header("content-type"), "application/x-tar");
        assert_eq!(
            tar.header("content-disposition"),
            format!("attachment; filename=\"{root}.tar\"; filename*=UTF-8''{root}.tar")
        );
        assert_eq!(tar.header("etag"), format!("\"{root}.tar\""));
        let mut archive = tar::Archive::new(&tar.body[..]);
        let mut found = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            found.push((path, bytes.len()));
        }
        found.sort();
        assert_eq!(
            found,
            vec![
                (root.clone(), 0),
                (format!("{root}/hello.txt"), 6),
                (format!("{root}/sub"), 0),
                (format!("{root}/sub/deep.txt"), 3000),
            ]
        );
    }
    let named_tar = s.get(&ip, &format!("/ipfs/{root}/?format=tar&filename=site.tar"));
    assert!(
        named_tar
            .header("content-disposition")
            .starts_with("attachment; filename=\"site.tar\"")
    );
}

/// A tree with a JSON file, plus blocks of each IPLD codec: a dag-cbor one
/// linking to hello.txt, a dag-json one of the same data, a json and a
/// cbor one (the last three not yet stored: see `put_blocks`).
struct Codecs {
    root: String,
    hello: String,
    dag_cbor: (String, Vec<u8>),
    dag_json: (String, Vec<u8>),
    json: (String, Vec<u8>),
    cbor: (String, Vec<u8>),
}

fn codec_blocks(node: &Node) -> Codecs {
    let tree = node.work().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("hello.txt"), "hello\n").unwrap();
    std::fs::write(tree.join("data.json"), "{\"a\": 1}\n").unwrap();
    let root = node
        .ok(&["add", "-Q", "-r", "--cid-version", "1", "tree"])
        .trim()
        .to_string();
    let hello = node
        .ok(&["ls", &root])
        .lines()
        .find(|l| l.ends_with(" hello.txt"))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .to_string();
    // Canonical DAG-JSON (keys sorted, no spaces).
    let doc = format!("{{\"file\":{{\"/\":\"{hello}\"}},\"n\":1,\"tag\":\"<b>\"}}");
    let out = node.run_stdin(&["dag", "put"], doc.as_bytes());
    assert!(out.status.success(), "{out:?}");
    let cbor_cid = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let dag_cbor = (
        cbor_cid.clone(),
        node.ok_bytes(&["block", "get", &cbor_cid]),
    );
    let plain = |codec: u64, bytes: &[u8]| {
        let cid = rsipfs::codec::CidBuilder::v1().cid_of(codec, bytes);
        (cid.to_string(), bytes.to_vec())
    };
    Codecs {
        root,
        hello,
        dag_cbor,
        dag_json: plain(0x0129, doc.as_bytes()),
        json: plain(0x0200, b"{\"plain\": true}"),
        cbor: plain(0x51, b"\xa1\x61\x61\x01"),
    }
}

fn put_blocks(s: &Served, c: &Codecs) {
    for (cid, bytes) in [&c.dag_json, &c.json, &c.cbor] {
        let cid = parse_cid(cid).unwrap();
        rsipfs::blockstore::Blockstore::put(s.repo.blocks(), &cid, bytes).unwrap();
    }
}

const BROWSER: (&str, &str) = (
    "Accept",
    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
);

#[test]
fn codecs_are_served_as_stored_406_otherwise_and_as_a_page_to_browsers() {
    let node = Node::new();
    let c = codec_blocks(&node);
    let s = serve(node, Vec::new());
    put_blocks(&s, &c);
    let ip = s.addr.clone();
    let (cbor_cid, cbor_block) = &c.dag_cbor;
    let (json_cid, json_block) = &c.dag_json;

    // Without asking: the block as stored, typed and named by its codec.
    let plain = s.get(&ip, &format!("/ipfs/{cbor_cid}"));
    assert_eq!(plain.status, 200);
    assert_eq!(
        plain.header("content-type"),
        "application/vnd.ipld.dag-cbor"
    );
    assert_eq!(&plain.body, cbor_block);
    assert!(
        plain
            .header("content-disposition")
            .starts_with(&format!("attachment; filename=\"{cbor_cid}.cbor\"")),
        "{}",
        plain.header("content-disposition")
    );
    let plain = s.get(&ip, &format!("/ipfs/{json_cid}"));
    assert_eq!(
        plain.header("content-type"),
        "application/vnd.ipld.dag-json"
    );
    assert!(plain.header("content-disposition").starts_with("inline;"));
    assert_eq!(&plain.body, json_block);

    // A browser gets a page, at the path with a trailing slash.
    let moved = s.get_with(&ip, &format!("/ipfs/{cbor_cid}?x=1"), &[BROWSER]);
    assert_eq!(moved.status, 301);
    assert_eq!(moved.header("location"), format!("/ipfs/{cbor_cid}/?x=1"));
    for (cid, codec) in [(cbor_cid, "dag-cbor"), (json_cid, "dag-json")] {
        let page = s.get_with(&ip, &format!("/ipfs/{cid}/"), &[BROWSER]);
        assert_eq!(page.status, 200, "{}", page.text());
        assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
        assert!(page.header("etag").starts_with("\"DagIndex-"));
        assert!(page.header("etag").contains(cid.as_str()));
        assert_eq!(page.header("cache-control"), "");
        let html = page.text();
        assert!(
            html.contains(&format!("href=\"/ipfs/{}/\"", c.hello)),
            "{html}"
        );
        assert!(html.contains(&format!("?format={codec}&amp;download=true")));
        assert!(
            html.contains("&lt;b&gt;") && !html.contains("<b>"),
            "{html}"
        );
        // download=true: the block itself.
        let download = s.get_with(&ip, &format!("/ipfs/{cid}/?download=true"), &[BROWSER]);
        assert_eq!(download.status, 200);
        assert!(
            download
                .header("content-type")
                .starts_with("application/vnd.ipld.")
        );
    }
    let head = request(
        &s.addr,
        "HEAD",
        &format!("/ipfs/{cbor_cid}/"),
        &[("Host", &ip), BROWSER],
    );
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_ne!(head.header("content-length"), "0");

    // Asked in its own codec (or plain json/cbor of a dag-json/dag-cbor
    // block): as stored. Any other codec: 406 with a hint.
    for (cid, query, accept, media, bytes) in [
        (
            cbor_cid,
            "?format=dag-cbor",
            "",
            "application/vnd.ipld.dag-cbor",
            cbor_block,
        ),
        (
            cbor_cid,
            "",
            "application/cbor",
            "application/cbor",
            cbor_block,
        ),
        (json_cid, "?format=json", "", "application/json", json_block),
        (
            json_cid,
            "",
            "application/vnd.ipld.dag-json",
            "application/vnd.ipld.dag-json",
            json_block,
        ),
        (
            &c.json.0,
            "",
            "application/json",
            "application/json",
            &c.json.1,
        ),
        (&c.cbor.0, "?format=cbor", "", "application/cbor", &c.cbor.1),
    ] {
        let extra: Vec<(&str, &str)> = [("Accept", accept)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let answer = s.get_with(&ip, &format!("/ipfs/{cid}{query}"), &extra);
        assert_eq!(
            answer.status,
            200,
            "{cid}{query} {accept}: {}",
            answer.text()
        );
        assert_eq!(
            answer.header("content-type"),
            media,
            "{cid}{query} {accept}"
        );
        assert_eq!(&answer.body, bytes, "{cid}{query} {accept}");
    }
    // Plain json and cbor blocks are never a page.
    let json_to_browser = s.get_with(&ip, &format!("/ipfs/{}", c.json.0), &[BROWSER]);
    assert_eq!(json_to_browser.header("content-type"), "application/json");
    assert_eq!(json_to_browser.body, c.json.1);

    for (path, query, accept) in [
        (cbor_cid.clone(), "?format=dag-json", ""),
        (cbor_cid.clone(), "?format=json", ""),
        (cbor_cid.clone(), "", "application/json"),
        (json_cid.clone(), "?format=dag-cbor", ""),
        (c.json.0.clone(), "?format=cbor", ""),
        (format!("{}/", c.root), "?format=dag-json", ""),
        (
            format!("{}/hello.txt", c.root),
            "",
            "application/vnd.ipld.dag-cbor",
        ),
    ] {
        let extra: Vec<(&str, &str)> = [("Accept", accept)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let refused = s.get_with(&ip, &format!("/ipfs/{path}{query}"), &extra);
        assert_eq!(refused.status, 406, "{path}{query} {accept}");
        assert!(refused.text().contains("?format=raw"), "{}", refused.text());
    }
    // Not UnixFS: no tar.
    assert_eq!(
        s.get(&ip, &format!("/ipfs/{cbor_cid}?format=tar")).status,
        406
    );

    // JSON asked of UnixFS is the file itself.
    let file = s.get_with(
        &ip,
        &format!("/ipfs/{}/data.json", c.root),
        &[("Accept", "application/json")],
    );
    assert_eq!(file.status, 200, "{}", file.text());
    assert_eq!(file.header("content-type"), "application/json");
    assert_eq!(file.text(), "{\"a\": 1}\n");
    let text = s.get(&ip, &format!("/ipfs/{}/hello.txt?format=json", c.root));
    assert_eq!(text.status, 200);
    assert_eq!(text.text(), "hello\n");
}

#[test]
fn codec_conversions_when_the_operator_allows_them() {
    let node = Node::new();
    let c = codec_blocks(&node);
    let extras = rsipfs::gateway::Extras {
        codec_conversion: true,
        ..Default::default()
    };
    let s = serve_with(node, Vec::new(), extras);
    put_blocks(&s, &c);
    let ip = s.addr.clone();
    let root = c.root.clone();

    // The directory as DAG-JSON and DAG-CBOR, by query and by Accept.
    let json = s.get(&ip, &format!("/ipfs/{root}/?format=dag-json"));
    assert_eq!(json.status, 200, "{}", json.text());
    assert_eq!(json.header("content-type"), "application/vnd.ipld.dag-json");
    assert_eq!(json.header("etag"), format!("\"{root}.dag-json\""));
    assert_eq!(
        json.header("content-disposition"),
        format!("inline; filename=\"{root}.json\"; filename*=UTF-8''{root}.json")
    );
    let value: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
    let names: Vec<&str> = value["Links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["data.json", "hello.txt"]);
    assert_eq!(value["Data"]["/"]["bytes"], "CAE");
    let cbor = s.get_with(
        &ip,
        &format!("/ipfs/{root}/"),
        &[("Accept", "application/vnd.ipld.dag-cbor")],
    );
    assert_eq!(cbor.status, 200);
    assert_eq!(cbor.header("content-type"), "application/vnd.ipld.dag-cbor");
    assert!(
        cbor.header("content-disposition")
            .starts_with("attachment;")
    );
    let item = rsipfs::codec::cbor::decode(&cbor.body).unwrap();
    assert_eq!(rsipfs::codec::dagjson::to_json(&item), value);
    // A raw leaf: one bytes value; download=true makes JSON an attachment.
    let leaf = s.get(
        &ip,
        &format!("/ipfs/{root}/hello.txt?format=dag-json&download=true"),
    );
    assert_eq!(leaf.text(), r#"{"/":{"bytes":"aGVsbG8K"}}"#);
    assert!(
        leaf.header("content-disposition")
            .starts_with("attachment;")
    );
    // DAG-CBOR and DAG-JSON into each other, the link kept.
    let (cbor_cid, _) = &c.dag_cbor;
    let as_json = s.get(&ip, &format!("/ipfs/{cbor_cid}?format=dag-json"));
    assert_eq!(as_json.status, 200, "{}", as_json.text());
    let value: serde_json::Value = serde_json::from_slice(&as_json.body).unwrap();
    assert_eq!(value["file"]["/"], c.hello.as_str());
    let (json_cid, _) = &c.dag_json;
    let as_cbor = s.get(&ip, &format!("/ipfs/{json_cid}?format=dag-cbor"));
    assert_eq!(
        &as_cbor.body, &c.dag_cbor.1,
        "the same data, the same bytes"
    );
    // Plain JSON and CBOR are never converted to.
    for (cid, query) in [(cbor_cid, "?format=json"), (&c.json.0, "?format=cbor")] {
        let refused = s.get(&ip, &format!("/ipfs/{cid}{query}"));
        assert_eq!(refused.status, 406, "{cid}{query}");
        assert!(refused.text().contains("?format=raw"), "{}", refused.text());
    }
}
