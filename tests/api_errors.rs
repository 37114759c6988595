//! Bad requests to the RPC API, one or more per endpoint: missing
//! arguments, bad CIDs, bodies that are not multipart or too large. Each is
//! answered with an error status and Kubo's JSON error, and the daemon goes
//! on serving.

mod common;

use common::{Node, start_daemon};

fn assert_kubo_error(what: &str, mut response: ureq::http::Response<ureq::Body>) {
    let status = response.status().as_u16();
    assert!((400..600).contains(&status), "{what}: status {status}");
    let body = response.body_mut().read_to_string().unwrap_or_default();
    let error: serde_json::Value = serde_json::from_str(&body)
        .unwrap_or_else(|_| panic!("{what}: not a JSON error: {body:?}"));
    assert_eq!(error["Type"], "error", "{what}: {body}");
    assert!(
        error["Message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
}

fn post(url: &str) -> ureq::http::Response<ureq::Body> {
    ureq::post(url)
        .config()
        .http_status_as_error(false)
        .build()
        .send_empty()
        .expect("request")
}

#[test]
fn every_endpoint_answers_bad_requests_with_kubo_json_errors() {
    let node = Node::new();
    let daemon = start_daemon(&node);
    let base = format!("{}/api/v0", node.api_url());

    let need_an_argument = [
        "ls",
        "refs",
        "cat",
        "get",
        "block/get",
        "block/stat",
        "block/rm",
        "dag/get",
        "dag/export",
        "dag/stat",
        "object/get",
        "object/stat",
        "object/data",
        "object/links",
        "pin/add",
        "pin/rm",
        "files/read",
        "files/rm",
        "files/mv",
        "files/cp",
        "files/write",
        "config",
        "swarm/connect",
    ];
    for command in need_an_argument {
        assert_kubo_error(
            &format!("{command} without arguments"),
            post(&format!("{base}/{command}")),
        );
    }
    let bad_cids = [
        "ls",
        "refs",
        "cat",
        "get",
        "block/get",
        "block/stat",
        "block/rm",
        "dag/get",
        "dag/export",
        "dag/stat",
        "object/get",
        "object/stat",
        "object/links",
        "pin/add",
        "pin/rm",
        "pin/ls",
    ];
    for command in bad_cids {
        for bad in ["not-a-cid", "/ipfs/", "QmZZZZ", "bafy%00"] {
            let url = format!("{base}/{command}?arg={bad}");
            assert_kubo_error(&format!("{command} {bad}"), post(&url));
        }
    }
    for command in [
        "add",
        "block/put",
        "dag/put",
        "dag/import",
        "files/write?arg=/x&create=true",
    ] {
        assert_kubo_error(
            &format!("{command} without a body"),
            post(&format!("{base}/{command}")),
        );
        let not_multipart = ureq::post(&format!("{base}/{command}"))
            .config()
            .http_status_as_error(false)
            .build()
            .header("Content-Type", "application/json")
            .send("{}")
            .expect("request");
        assert_kubo_error(&format!("{command} with a JSON body"), not_multipart);
    }
    // A block over the 2 MiB limit.
    let boundary = "b0undary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big\"\r\n\r\n"
    )
    .into_bytes();
    body.extend(std::iter::repeat_n(b'x', 3 << 20));
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let huge = ureq::post(&format!("{base}/block/put"))
        .config()
        .http_status_as_error(false)
        .build()
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .send(&body[..])
        .expect("request");
    assert_eq!(huge.status().as_u16(), 413);
    assert_kubo_error("a 3 MiB block", huge);
    // A malformed upload to add: a truncated multipart body pins nothing.
    let truncated = ureq::post(&format!("{base}/add"))
        .config()
        .http_status_as_error(false)
        .build()
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .send(&body[..1000])
        .expect("request");
    assert_kubo_error("a truncated add", truncated);
    assert_kubo_error(
        "an unknown command",
        post(&format!("{base}/no/such/command")),
    );
    assert_kubo_error("add of a path with ..", {
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a%2F..%2Fb\"\r\n\r\nx\r\n--{boundary}--\r\n"
        );
        ureq::post(&format!("{base}/add"))
            .config()
            .http_status_as_error(false)
            .build()
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .send(body.as_bytes())
            .expect("request")
    });

    // An error after the first answer ends the stream with a JSON error,
    // and nothing of the upload is pinned.
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ok.txt\"\r\n\r\nfine\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x%2F..%2Fy\"\r\n\r\nbad\r\n--{boundary}--\r\n"
    );
    let mut late = ureq::post(&format!("{base}/add"))
        .config()
        .http_status_as_error(false)
        .build()
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .send(body.as_bytes())
        .expect("request");
    assert_eq!(late.status().as_u16(), 200);
    let lines: Vec<serde_json::Value> = late
        .body_mut()
        .read_to_string()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines[0]["Name"], "ok.txt", "{lines:?}");
    assert_eq!(lines.last().unwrap()["Type"], "error", "{lines:?}");

    daemon.assert_alive();
    let pins = post(&format!("{base}/pin/ls?stream=true"))
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(pins.trim().is_empty(), "nothing was pinned: {pins}");
}

#[test]
fn refs_stream_as_found_and_a_missing_block_ends_them_with_an_error_line() {
    let node = Node::new();
    let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let out = node.run_stdin(&["add", "-Q", "--pin=false"], &data);
    assert!(out.status.success());
    let file = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let leaves = node.ok(&["refs", &file]);
    let leaves: Vec<&str> = leaves.lines().collect();
    assert_eq!(leaves.len(), 3, "{leaves:?}");
    node.ok(&["block", "rm", leaves[1]]);

    let daemon = start_daemon(&node);
    let url = format!("{}/api/v0/refs?arg={file}&recursive=true", node.api_url());
    let mut answer = post(&url);
    assert_eq!(answer.status().as_u16(), 200, "the answer had begun");
    let body = answer.body_mut().read_to_string().unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert!(
        lines[0].starts_with(&format!("{{\"Ref\":\"{}\"", leaves[0])),
        "Kubo's field order: {body}"
    );
    let last: serde_json::Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["Type"], "error", "{body}");
    assert!(
        last["Message"].as_str().unwrap().contains(leaves[1]),
        "{body}"
    );
    daemon.assert_alive();
}
