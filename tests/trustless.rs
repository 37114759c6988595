//! The trustless gateway (specs.ipfs.tech/http-gateways/trustless-gateway):
//! CARs by dag-scope, entity-bytes and car-dups checked block by block on
//! the public conformance fixtures (the block lists are the conformance
//! suite's), their headers, bad parameters, a block found damaged after
//! the answer began; and clients that trust nothing the gateway says
//! (@helia/verified-fetch and ipfs-car, tests/js/trustless.mjs) fetching
//! and verifying every fixture and a freshly added tree through it.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::Node;
use common::gateway::{get, head, header, start_gateway};
use rsipfs::api::ApiServer;
use rsipfs::codec::car::CarReader;
use rsipfs::codec::cid::{cid_string, verify};
use rsipfs::repo::Repo;

struct Served {
    node: Node,
    base: String,
    repo: Arc<Repo>,
    _gateway: ApiServer,
}

/// The gateway, in-process, on `node`'s repository (held from now on).
fn serve(node: Node) -> Served {
    let (gateway, base, repo) = start_gateway(&node);
    Served {
        base,
        node,
        repo,
        _gateway: gateway,
    }
}

/// Every fixture CAR under `shared/fixtures`, imported (roots unpinned:
/// some are incomplete on purpose).
fn fixture_cars() -> Vec<PathBuf> {
    let mut cars = Vec::new();
    let mut dirs = vec![common::shared_dir().join("fixtures")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("fixtures") {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "car") {
                cars.push(path);
            }
        }
    }
    cars.sort();
    assert!(cars.len() >= 20, "fixtures missing: {cars:?}");
    cars
}

/// Imports the CARs; returns each one's roots.
fn import(node: &Node, cars: &[PathBuf]) -> Vec<(PathBuf, Vec<String>)> {
    cars.iter()
        .map(|car| {
            node.ok(&["dag", "import", "--pin-roots=false", car.to_str().unwrap()]);
            let mut reader = CarReader::new(std::fs::File::open(car).unwrap()).unwrap();
            let roots = reader.roots().iter().map(cid_string).collect();
            while reader.next_block().unwrap().is_some() {}
            (car.clone(), roots)
        })
        .collect()
}

fn served_fixtures() -> Served {
    let node = Node::new();
    import(&node, &fixture_cars());
    serve(node)
}

fn body(mut response: ureq::http::Response<ureq::Body>) -> Vec<u8> {
    response
        .body_mut()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .expect("body")
}

/// A CAR's roots and blocks, every block checked against its CID.
fn car_blocks(car: &[u8]) -> (Vec<String>, Vec<String>) {
    let mut reader = CarReader::new(car).expect("a CAR");
    let roots = reader.roots().iter().map(cid_string).collect();
    let mut blocks = Vec::new();
    while let Some((cid, data)) = reader.next_block().expect("a whole CAR") {
        verify(&cid, &data).expect("a block that matches its CID");
        blocks.push(cid_string(&cid));
    }
    (roots, blocks)
}

/// The blocks of a `200` CAR answer to `path` with `query`.
fn car_at(s: &Served, path: &str, query: &str) -> Vec<String> {
    let url = format!("{}{path}?format=car{query}", s.base);
    let response = get(&url, &[]);
    assert_eq!(response.status().as_u16(), 200, "{url}");
    car_blocks(&body(response)).1
}

const TWO_FILES: &str = "bafybeietjm63oynimmv5yyqay33nui4y4wx6u3peezwetxgiwvfmelutzu";
const TWO_FILES_SUBDIR: &str = "bafybeiggghzz6dlue3m6nb2dttnbrygxh3lrjl5764f2m4gq7dgzdt55o4";
const ASCII: &str = "bafkreifkam6ns4aoolg3wedr4uzrs3kvq66p4pecirz6y2vlrngla62mxm";
const HELLO: &str = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
const MIXED: &str = "bafybeidh6k2vzukelqtrjsmd4p52cpmltd2ufqrdtdg6yigi73in672fwu";
const MIXED_SUBDIR: &str = "bafybeicnmple4ehlz3ostv2sbojz3zhh5q7tz5r2qkfdpqfilgggeen7xm";
const DUPLICATES: &str = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
/// multiblock.txt: 1026 bytes, leaves of 256, 256, 256, 256 and 2.
const MULTIBLOCK: &str = "bafybeigcisqd7m5nf3qmuvjdbakl5bdnh4ocrmacaqkpuh77qjvggmt2sa";
const LEAVES: [&str; 5] = [
    "bafkreie5noke3mb7hqxukzcy73nl23k6lxszxi5w3dtmuwz62wnvkpsscm",
    "bafkreih4ephajybraj6wnxsbwjwa77fukurtpl7oj7t7pfq545duhot7cq",
    "bafkreigu7buvm3cfunb35766dn7tmqyh2um62zcio63en2btvxuybgcpue",
    "bafkreicll3huefkc3qnrzeony7zcfo7cr3nbx64hnxrqzsixpceg332fhe",
    "bafkreifst3pqztuvj57lycamoi7z34b4emf7gawxs74nwrc2c7jncmpaqm",
];
/// A 3 KiB file whose first leaf (of three) is missing from its CAR.
const MISSING_LEAF: &str = "QmYhmPjhFjYFyaoiuNzYv8WGavpSRDwdHWe5B4M5du5Rtk";
const HAMT: &str = "bafybeidbclfqleg2uojchspzd4bob56dqetqjsj27gy2cq3klkkgxtpn4i";

fn owned(cids: &[&str]) -> Vec<String> {
    cids.iter().map(|c| c.to_string()).collect()
}

#[test]
fn paths_and_scopes_send_exactly_the_blocks_the_spec_lists() {
    let s = served_fixtures();
    let path = format!("/ipfs/{TWO_FILES}/subdir/ascii.txt");
    assert_eq!(
        car_at(&s, &path, ""),
        owned(&[TWO_FILES, TWO_FILES_SUBDIR, ASCII])
    );
    assert_eq!(
        car_at(&s, &path, "&dag-scope=block"),
        owned(&[TWO_FILES, TWO_FILES_SUBDIR, ASCII])
    );
    let subdir = format!("/ipfs/{TWO_FILES}/subdir");
    assert_eq!(
        car_at(&s, &subdir, "&dag-scope=block"),
        owned(&[TWO_FILES, TWO_FILES_SUBDIR])
    );
    assert_eq!(
        car_at(&s, &subdir, "&dag-scope=entity"),
        owned(&[TWO_FILES, TWO_FILES_SUBDIR])
    );
    assert_eq!(
        car_at(&s, &subdir, ""),
        owned(&[TWO_FILES, TWO_FILES_SUBDIR, ASCII, HELLO])
    );
    let multiblock = format!("/ipfs/{MIXED}/subdir/multiblock.txt");
    let mut whole = owned(&[MIXED, MIXED_SUBDIR, MULTIBLOCK]);
    whole.extend(owned(&LEAVES));
    for scope in [
        "",
        "&dag-scope=all",
        "&dag-scope=entity",
        "&entity-bytes=0:*",
    ] {
        assert_eq!(car_at(&s, &multiblock, scope), whole, "{scope}");
    }
    // The file's CAR says whose root it is.
    let response = get(&format!("{}{multiblock}?format=car", s.base), &[]);
    assert_eq!(car_blocks(&body(response)).0, owned(&[MULTIBLOCK]));

    // A name that is not there: 404 before any CAR.
    let missing = get(
        &format!(
            "{}/ipfs/{TWO_FILES}/subdir/i-do-not-exist?format=car",
            s.base
        ),
        &[],
    );
    assert_eq!(missing.status().as_u16(), 404);
}

#[test]
fn entity_bytes_send_only_the_leaves_of_the_range() {
    let s = served_fixtures();
    let file = format!("/ipfs/{MULTIBLOCK}");
    let with = |leaves: &[&str]| {
        let mut blocks = owned(&[MULTIBLOCK]);
        blocks.extend(owned(leaves));
        blocks
    };
    for (range, leaves) in [
        ("0:0", &LEAVES[..1]),
        ("0:255", &LEAVES[..1]),
        ("255:256", &LEAVES[..2]),
        ("256:511", &LEAVES[1..2]),
        ("512:*", &LEAVES[2..]),
        ("512:1023", &LEAVES[2..4]),
        ("512:-256", &LEAVES[2..4]),
        ("-5:*", &LEAVES[3..]),
        ("-2:*", &LEAVES[4..]),
        ("-9999:*", &LEAVES[..]),
        ("-9999:-3", &LEAVES[..4]),
        ("1000:99999999", &LEAVES[3..]),
        ("1025:1025", &LEAVES[4..]),
        // No bytes left between them: the root alone, as dag-scope=block.
        ("600:-1000", &LEAVES[..0]),
    ] {
        assert_eq!(
            car_at(&s, &file, &format!("&entity-bytes={range}")),
            with(leaves),
            "entity-bytes={range}"
        );
    }
    // A directory has no bytes: entity-bytes is dag-scope=entity.
    assert_eq!(
        car_at(&s, &format!("/ipfs/{MIXED}/subdir"), "&entity-bytes=0:10"),
        owned(&[MIXED, MIXED_SUBDIR])
    );
    // Blocks outside the range are never read: one missing there is no harm.
    let missing_leaf = format!("/ipfs/{MISSING_LEAF}");
    assert_eq!(
        car_at(&s, &missing_leaf, "&entity-bytes=2200:*"),
        owned(&[
            MISSING_LEAF,
            "QmWXY482zQdwecnfBsj78poUUuPXvyw2JAFAEMw4tzTavV"
        ])
    );
    // Past the end, known before anything is sent: 400 saying so.
    let past = get(
        &format!("{}{file}?format=car&entity-bytes=1026:*", s.base),
        &[],
    );
    assert_eq!(past.status().as_u16(), 400);
    assert!(
        String::from_utf8(body(past))
            .unwrap()
            .contains("past the end")
    );
}

#[test]
fn duplicates_order_and_identity_blocks_follow_the_request() {
    let s = served_fixtures();
    let url = format!("{}/ipfs/{DUPLICATES}", s.base);
    let mut once = owned(&[DUPLICATES, ASCII, HELLO, MULTIBLOCK]);
    once.extend(owned(&LEAVES));
    let mut each = owned(&[DUPLICATES, ASCII, ASCII, HELLO, MULTIBLOCK]);
    each.extend(owned(&LEAVES));
    for (accept, query, expected, dups) in [
        (
            "application/vnd.ipld.car; version=1; order=dfs; dups=y",
            "",
            &each,
            "y",
        ),
        (
            "application/vnd.ipld.car; version=1; order=dfs; dups=n",
            "",
            &once,
            "n",
        ),
        ("application/vnd.ipld.car; order=unk", "", &once, "n"),
        // ?format=car with an Accept that says more: the Accept's dups.
        (
            "application/vnd.ipld.car; dups=y",
            "?format=car",
            &each,
            "y",
        ),
        // The query's car-dups comes before the Accept header's.
        (
            "application/vnd.ipld.car; dups=y",
            "?format=car&car-dups=n",
            &once,
            "n",
        ),
        (
            "",
            "?format=car&car-dups=y&car-order=dfs&car-version=1",
            &each,
            "y",
        ),
    ] {
        let response = get(&format!("{url}{query}"), &[("Accept", accept)]);
        assert_eq!(response.status().as_u16(), 200, "{accept} {query}");
        assert_eq!(
            header(&response, "content-type"),
            format!("application/vnd.ipld.car; version=1; order=dfs; dups={dups}")
        );
        assert_eq!(&car_blocks(&body(response)).1, expected, "{accept} {query}");
    }
    // Identity blocks live in their CID: never sent, even with dups=y.
    let identity = "bafkqaf3imvwgy3zaneqgc3janfxgy2lomvscay3jmqfa";
    let response = get(
        &format!("{}/ipfs/{identity}", s.base),
        &[("Accept", "application/vnd.ipld.car; dups=y")],
    );
    assert_eq!(response.status().as_u16(), 200);
    let (roots, blocks) = car_blocks(&body(response));
    assert_eq!((roots, blocks), (owned(&[identity]), Vec::new()));
    // The probe paths of the spec.
    let probe = get(&format!("{}/ipfs/bafkqaaa?format=raw", s.base), &[]);
    assert_eq!(probe.status().as_u16(), 200);
    assert!(body(probe).is_empty());
    let probe = get(&format!("{}/ipfs/bafkqaaa?format=car", s.base), &[]);
    assert_eq!(car_blocks(&body(probe)), (owned(&["bafkqaaa"]), Vec::new()));
}

#[test]
fn a_hamt_entity_is_its_shards_and_a_path_through_it_the_shards_on_the_way() {
    let s = served_fixtures();
    let entity = car_at(&s, &format!("/ipfs/{HAMT}"), "&dag-scope=entity");
    let all = car_at(&s, &format!("/ipfs/{HAMT}"), "");
    assert_eq!(entity[0], HAMT);
    assert!(entity.len() > 1, "a single-layer HAMT has child shards");
    // Every shard, then what they list: the entity is a prefix of `all`
    // only in its set, so compare as sets.
    let shard_set: std::collections::HashSet<_> = entity.iter().collect();
    assert!(
        entity.iter().all(|c| c.starts_with("bafybei")),
        "{entity:?}"
    );
    let block = car_at(&s, &format!("/ipfs/{HAMT}/1.txt"), "&dag-scope=block");
    // Root, the shard holding 1.txt (bucket 07, then C1), then 1.txt's root.
    assert_eq!(
        block,
        owned(&[
            HAMT,
            "bafybeiawjmzmi5c6v5h75nepfpx7jj5ns5t54girned3kilvakmhctxlxy",
            MULTIBLOCK
        ])
    );
    assert!(shard_set.contains(&block[1]));
    assert!(all.contains(&block[2]) && !shard_set.contains(&block[2]));
    // The path's blocks are enough to walk it again, from the root alone.
    let other = Node::new();
    let response = get(&format!("{}/ipfs/{HAMT}/1.txt?format=car", s.base), &[]);
    std::fs::write(other.work().join("one.car"), body(response)).unwrap();
    other.ok(&["dag", "import", "--pin-roots=false", "one.car"]);
    let here = other.ok_bytes(&["cat", &format!("/ipfs/{HAMT}/1.txt")]);
    let served = body(get(&format!("{}/ipfs/{HAMT}/1.txt", s.base), &[]));
    assert_eq!(here, served);
}

#[test]
fn answers_carry_the_headers_the_spec_asks() {
    let s = served_fixtures();
    let path = format!("/ipfs/{MIXED}/subdir/multiblock.txt");
    let raw = get(&format!("{}/ipfs/{ASCII}?format=raw", s.base), &[]);
    assert_eq!(header(&raw, "content-type"), "application/vnd.ipld.raw");
    assert_eq!(header(&raw, "content-length"), "31");
    assert_eq!(
        header(&raw, "content-disposition"),
        format!("attachment; filename=\"{ASCII}.bin\"; filename*=UTF-8''{ASCII}.bin")
    );
    assert_eq!(header(&raw, "x-content-type-options"), "nosniff");
    assert_eq!(
        header(&raw, "cache-control"),
        "public, max-age=29030400, immutable"
    );
    assert_eq!(header(&raw, "etag"), format!("\"{ASCII}.raw\""));
    assert_eq!(header(&raw, "x-ipfs-path"), format!("/ipfs/{ASCII}"));
    assert_eq!(header(&raw, "vary"), "Accept");
    let named = get(
        &format!("{}/ipfs/{ASCII}?filename=foobar.bin", s.base),
        &[("Accept", "application/vnd.ipld.raw")],
    );
    assert_eq!(
        header(&named, "content-disposition"),
        "attachment; filename=\"foobar.bin\"; filename*=UTF-8''foobar.bin"
    );
    assert_eq!(
        header(&named, "content-location"),
        format!("/ipfs/{ASCII}?filename=foobar.bin&format=raw")
    );

    let car = get(&format!("{}{path}?format=car", s.base), &[]);
    assert_eq!(car.status().as_u16(), 200);
    assert_eq!(
        header(&car, "content-type"),
        "application/vnd.ipld.car; version=1; order=dfs; dups=n"
    );
    assert_eq!(
        header(&car, "content-disposition"),
        format!("attachment; filename=\"{MULTIBLOCK}.car\"; filename*=UTF-8''{MULTIBLOCK}.car")
    );
    assert_eq!(header(&car, "x-content-type-options"), "nosniff");
    assert_eq!(header(&car, "accept-ranges"), "none");
    assert_eq!(
        header(&car, "cache-control"),
        "public, max-age=29030400, immutable"
    );
    assert_eq!(
        header(&car, "x-ipfs-roots"),
        format!("{MIXED},{MIXED_SUBDIR},{MULTIBLOCK}")
    );
    let etag = header(&car, "etag");
    assert!(
        etag.starts_with(&format!("W/\"{MULTIBLOCK}.car.")),
        "{etag}"
    );
    // Each thing that changes the blocks changes the ETag.
    let mut tags = std::collections::HashSet::new();
    for query in [
        "",
        "&dag-scope=block",
        "&dag-scope=entity",
        "&car-dups=y",
        "&entity-bytes=0:10",
        "&entity-bytes=0:11",
    ] {
        let response = head(&format!("{}{path}?format=car{query}", s.base), &[]);
        assert!(tags.insert(header(&response, "etag")), "{query}");
    }
    let other_path = head(&format!("{}/ipfs/{MULTIBLOCK}?format=car", s.base), &[]);
    assert!(tags.insert(header(&other_path, "etag")));
    let unchanged = get(
        &format!("{}{path}?format=car", s.base),
        &[("If-None-Match", &etag)],
    );
    assert_eq!(unchanged.status().as_u16(), 304);

    // HEAD: the same headers, no body.
    for url in [
        format!("{}{path}?format=car&dag-scope=entity", s.base),
        format!("{}/ipfs/{ASCII}?format=raw", s.base),
    ] {
        let full = get(&url, &[]);
        let bare = head(&url, &[]);
        assert_eq!(bare.status(), full.status());
        for name in [
            "content-type",
            "content-length",
            "content-disposition",
            "etag",
            "cache-control",
            "x-ipfs-roots",
        ] {
            assert_eq!(header(&bare, name), header(&full, name), "{url}: {name}");
        }
        assert!(body(bare).is_empty());
    }

    // A root that is not here: 404 for raw, CAR and HEAD alike.
    let absent = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    for url in [
        format!("{}/ipfs/{absent}?format=raw", s.base),
        format!("{}/ipfs/{absent}?format=car", s.base),
    ] {
        assert_eq!(get(&url, &[]).status().as_u16(), 404, "{url}");
        assert_eq!(head(&url, &[]).status().as_u16(), 404, "{url}");
    }
    // only-if-cached: what is here is answered, what is not is 412.
    let cached = [("Cache-Control", "only-if-cached")];
    let here = get(&format!("{}/ipfs/{ASCII}?format=raw", s.base), &cached);
    assert_eq!(here.status().as_u16(), 200);
    let gone = get(&format!("{}/ipfs/{absent}?format=raw", s.base), &cached);
    assert_eq!(gone.status().as_u16(), 412);
}

#[test]
fn bad_parameters_are_400_with_the_reason() {
    let s = served_fixtures();
    let file = format!("{}/ipfs/{MULTIBLOCK}", s.base);
    for (query, accept, named) in [
        ("?format=car&dag-scope=everything", "", "dag-scope"),
        ("?format=car&entity-bytes=1:", "", "entity-bytes"),
        ("?format=car&entity-bytes=x:1", "", "entity-bytes"),
        ("?format=car&entity-bytes=10:2", "", "entity-bytes"),
        (
            "?format=car&entity-bytes=0:99999999999999999999999",
            "",
            "entity-bytes",
        ),
        (
            "?format=car&dag-scope=block&entity-bytes=0:1",
            "",
            "dag-scope",
        ),
        ("?format=car&car-version=2", "", "version"),
        ("?format=car&car-order=bfs", "", "order"),
        ("?format=car&car-dups=yes", "", "dups"),
        ("", "application/vnd.ipld.car; version=2", "version"),
        ("", "application/vnd.ipld.car; dups=maybe", "dups"),
        ("?format=cbor-seq", "", "format"),
    ] {
        let response = get(&format!("{file}{query}"), &[("Accept", accept)]);
        assert_eq!(response.status().as_u16(), 400, "{query} {accept}");
        let text = String::from_utf8(body(response)).unwrap();
        assert!(text.contains(named), "{query} {accept}: {text}");
    }
}

/// Adds `data` with raw leaves (CIDv1); returns its CID and its leaves.
fn add_file(node: &Node, name: &str, data: &[u8]) -> (String, Vec<String>) {
    std::fs::write(node.work().join(name), data).unwrap();
    let cid = node
        .ok(&["add", "-Q", "--cid-version", "1", name])
        .trim()
        .to_string();
    let leaves = node
        .ok(&["refs", &cid])
        .lines()
        .map(str::to_string)
        .collect();
    (cid, leaves)
}

#[test]
fn a_block_found_damaged_mid_stream_cuts_the_car_off() {
    let node = Node::new();
    // 24 leaves of 256 KiB: the damage lies well past the first piece sent.
    let data = mount_tests::pseudo_random(24 << 18, 7);
    let (late, late_leaves) = add_file(&node, "late.bin", &data);
    let (early, early_leaves) =
        add_file(&node, "early.bin", &mount_tests::pseudo_random(600_000, 8));
    node.damage_block(&late_leaves[20]);
    node.damage_block(&early_leaves[0]);
    let s = serve(node);

    // Found before the answer began: an error status naming the block.
    let response = get(&format!("{}/ipfs/{early}?format=car", s.base), &[]);
    assert!(response.status().is_server_error(), "{}", response.status());
    let text = String::from_utf8_lossy(&body(response)).into_owned();
    assert!(text.contains(&early_leaves[0]), "{text}");

    for query in ["", "&car-dups=y", "&entity-bytes=2000000:*"] {
        let mut response = get(&format!("{}/ipfs/{late}?format=car{query}", s.base), &[]);
        assert_eq!(response.status().as_u16(), 200);
        let mut received = Vec::new();
        let read = response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .reader()
            .read_to_end(&mut received);
        assert!(
            read.is_err(),
            "{query}: the CAR ended as if whole after {} bytes",
            received.len()
        );
        // What came is a CAR cut short, every block in it sound.
        let mut reader = CarReader::new(&received[..]).unwrap();
        let mut sound = 0;
        while let Ok(Some((cid, block))) = reader.next_block() {
            verify(&cid, &block).expect("only sound blocks are sent");
            assert_ne!(cid_string(&cid), late_leaves[20]);
            sound += 1;
        }
        assert!(sound < late_leaves.len() + 1, "{query}: {sound} blocks");
    }
    // A range that does not reach the damaged leaf is answered whole.
    let start = car_at(&s, &format!("/ipfs/{late}"), "&entity-bytes=0:1000000");
    assert_eq!(start.len(), 1 + 4, "{start:?}");
    drop(s.repo);
}

// ---- independent clients ----

fn js_node() -> Option<PathBuf> {
    if !common::js_package_available("@helia/verified-fetch")
        || !common::js_package_available("ipfs-car")
    {
        return None;
    }
    let node = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/node_modules/.bin/node");
    let works = Command::new(&node)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    let why = "Node 22 is not installed in tests/js (`npm ci` there installs the `node` package)";
    assert!(works || std::env::var_os("CI").is_none(), "{why}");
    if !works {
        eprintln!("SKIPPED: {why}");
        return None;
    }
    Some(node)
}

/// Runs tests/js/trustless.mjs on `manifest`; its summary.
fn run_clients(node_bin: &Path, s: &Served, manifest: &serde_json::Value) -> serde_json::Value {
    let work = s.node.work().join("js");
    std::fs::create_dir_all(&work).unwrap();
    let manifest_file = work.join("manifest.json");
    std::fs::write(&manifest_file, manifest.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/trustless.mjs");
    let out = Command::new(node_bin)
        .arg(&script)
        .arg(&s.base)
        .arg(&manifest_file)
        .arg(work.join("cars"))
        .output()
        .expect("node");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "trustless.mjs said nothing readable: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        out.status.success(),
        "independent clients disagree: {summary:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    summary
}

/// Every file and directory under `root` (a UnixFS tree here), by walking
/// it: files as (path, bytes), directories as (path, entry names, the
/// bytes of their index.html). Names that are no URL path segment are left
/// out, and so are files whose blocks are not all here.
#[allow(clippy::type_complexity)]
fn walk_tree(
    repo: &Repo,
    root: &str,
) -> (
    Vec<(String, Vec<u8>)>,
    Vec<(String, Vec<String>, Option<Vec<u8>>)>,
) {
    use rsipfs::unixfs::node::Kind;
    use rsipfs::unixfs::reader::FileReader;
    use rsipfs::unixfs::resolve::resolve_str;
    let store = repo.blocks();
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    let mut stack = vec![root.to_string()];
    while let Some(path) = stack.pop() {
        let Ok(resolved) = resolve_str(store, &path) else {
            continue;
        };
        match resolved.node.kind() {
            Kind::File => {
                let Ok(reader) = FileReader::open(store, &resolved.cid) else {
                    continue;
                };
                if let Ok(bytes) = reader.read_bytes(0, reader.size()) {
                    files.push((path, bytes.to_vec()));
                }
            }
            Kind::Directory | Kind::HamtShard => {
                let Ok(entries) = rsipfs::unixfs::dir::list(store, &resolved.cid) else {
                    continue;
                };
                let names: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
                let index = entries
                    .iter()
                    .find(|e| e.name == "index.html")
                    .and_then(|e| {
                        let reader = FileReader::open(store, &e.cid).ok()?;
                        reader.read_bytes(0, reader.size()).ok().map(|b| b.to_vec())
                    });
                for name in &names {
                    if !name.is_empty() && name != "." && name != ".." && !name.contains('/') {
                        stack.push(format!("{path}/{name}"));
                    }
                }
                dirs.push((path, names, index));
            }
            _ => {}
        }
    }
    (files, dirs)
}

fn manifest_of(
    s: &Served,
    roots: &[String],
    cars: Vec<serde_json::Value>,
) -> (serde_json::Value, usize, usize) {
    let expect_dir = s.node.work().join("expected");
    std::fs::create_dir_all(&expect_dir).unwrap();
    let (mut files, mut dirs) = (Vec::new(), Vec::new());
    for root in roots {
        let (found_files, found_dirs) = walk_tree(&s.repo, root);
        for (path, bytes) in found_files {
            let file = expect_dir.join(format!("f{}", files.len()));
            std::fs::write(&file, bytes).unwrap();
            files.push(serde_json::json!({ "path": path, "expect": file }));
        }
        for (path, entries, index) in found_dirs {
            let index = index.map(|bytes| {
                let file = expect_dir.join(format!("i{}", dirs.len()));
                std::fs::write(&file, bytes).unwrap();
                file
            });
            dirs.push(serde_json::json!({ "path": path, "entries": entries, "index": index }));
        }
    }
    let (nfiles, ndirs) = (files.len(), dirs.len());
    (
        serde_json::json!({ "files": files, "dirs": dirs, "cars": cars }),
        nfiles,
        ndirs,
    )
}

#[test]
fn verified_fetch_and_ipfs_car_verify_every_fixture() {
    let Some(node_bin) = js_node() else { return };
    let node = Node::new();
    let imported = import(&node, &fixture_cars());
    let s = serve(node);
    let roots: Vec<String> = imported.iter().flat_map(|(_, r)| r.clone()).collect();
    // Every root as a CAR (blocks verified by ipfs-car), whole and by scope.
    let mut cars = Vec::new();
    for root in &roots {
        let cid = rsipfs::codec::parse_cid(root).unwrap();
        let complete = rsipfs::dag::reachable(s.repo.blocks(), &[cid]).is_ok();
        let scopes: &[&str] = if complete {
            &["", "&dag-scope=entity", "&dag-scope=block"]
        } else {
            &["&dag-scope=block"]
        };
        for query in scopes {
            cars.push(serde_json::json!({
                "url": format!("/ipfs/{root}?format=car{query}"),
                "root": root,
            }));
        }
    }
    let mut ranged = owned(&[MULTIBLOCK]);
    ranged.extend(owned(&LEAVES[2..4]));
    cars.push(serde_json::json!({
        "url": format!("/ipfs/{MULTIBLOCK}?format=car&entity-bytes=512:-256"),
        "root": MULTIBLOCK,
        "blocks": ranged,
    }));
    let (manifest, files, dirs) = manifest_of(&s, &roots, cars);
    assert!(
        files >= 30 && dirs >= 10,
        "{files} files, {dirs} directories"
    );
    let summary = run_clients(&node_bin, &s, &manifest);
    assert_eq!(summary["files"], files);
    assert_eq!(summary["dirs"], dirs);
    eprintln!("{summary}");
}

#[test]
fn verified_fetch_and_ipfs_car_verify_a_fresh_tree() {
    let Some(node_bin) = js_node() else { return };
    let node = Node::new();
    let tree = node.work().join("fresh");
    std::fs::create_dir_all(tree.join("nested/deeper")).unwrap();
    for (i, size) in [0usize, 1, 262143, 262144, 262145, 3 << 20]
        .into_iter()
        .enumerate()
    {
        std::fs::write(
            tree.join(format!("s{size}.bin")),
            mount_tests::pseudo_random(size, i as u64),
        )
        .unwrap();
    }
    std::fs::write(tree.join("nested/zeros.bin"), vec![0u8; 5 << 18]).unwrap();
    std::fs::write(tree.join("nested/deeper/é ü.txt"), "non-ASCII name\n").unwrap();
    // Enough long names to shard the directory (Kubo's 256 KiB estimate).
    std::fs::create_dir(tree.join("many")).unwrap();
    for i in 0..3000 {
        std::fs::write(tree.join(format!("many/{i:0>56}.txt")), format!("{i}\n")).unwrap();
    }
    let mut roots = Vec::new();
    for version in ["0", "1"] {
        let root = node
            .ok(&["add", "-Q", "-r", "--cid-version", version, "fresh"])
            .trim()
            .to_string();
        roots.push(root);
    }
    let s = serve(node);
    let mut cars = Vec::new();
    for root in &roots {
        cars.push(serde_json::json!({
            "url": format!("/ipfs/{root}?format=car"),
            "root": root, "unpack": "dir", "expect": tree,
        }));
        for name in ["s3145728.bin", "nested/zeros.bin", "s262145.bin"] {
            let file = rsipfs::unixfs::resolve::resolve_str(
                s.repo.blocks(),
                &format!("/ipfs/{root}/{name}"),
            )
            .unwrap()
            .cid;
            for query in ["", "&car-dups=y", "&dag-scope=entity"] {
                cars.push(serde_json::json!({
                    "url": format!("/ipfs/{root}/{name}?format=car{query}"),
                    "root": cid_string(&file), "unpack": "file", "expect": tree.join(name),
                }));
            }
            cars.push(serde_json::json!({
                "url": format!("/ipfs/{root}/{name}?format=car&entity-bytes=262000:-1000"),
                "root": cid_string(&file),
            }));
        }
        cars.push(serde_json::json!({
            "url": format!("/ipfs/{root}/many?format=car&dag-scope=entity"),
            "root": cid_string(&rsipfs::unixfs::resolve::resolve_str(s.repo.blocks(), &format!("/ipfs/{root}/many")).unwrap().cid),
        }));
    }
    // verified-fetch fetches block by block: the HAMT directory is listed
    // whole, but only some of its 3000 files are fetched one by one.
    let (mut manifest, _, _) = manifest_of(&s, &roots, cars);
    let keep = |path: &str| !path.contains("/many/") || path.ends_with("77.txt");
    let files: Vec<serde_json::Value> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| keep(f["path"].as_str().unwrap()))
        .cloned()
        .collect();
    let expected_files = files.len();
    manifest["files"] = serde_json::Value::Array(files);
    for root in &roots {
        let (found, _) = walk_tree(&s.repo, root);
        assert!(
            found
                .iter()
                .any(|(p, b)| p.ends_with("s3145728.bin") && b.len() == 3 << 20)
        );
    }
    let summary = run_clients(&node_bin, &s, &manifest);
    assert_eq!(summary["files"], expected_files);
    assert!(expected_files >= 2 * 30, "{expected_files}");
    eprintln!("{summary}");
}
