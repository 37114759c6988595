//! The daemon's HTTP servers against clients that hold connections: a
//! request head not finished in `API.ReadHeaderTimeout` and a keep-alive
//! connection left idle as long are closed; a slow upload that keeps
//! sending is not; connections over `API.MaxConnections` are closed at once,
//! and once a flood ends the API serves again.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Node, start_daemon};

const HEADER_TIMEOUT: Duration = Duration::from_secs(2);

fn api_addr(node: &Node) -> String {
    node.api_url().trim_start_matches("http://").to_string()
}

fn node_with(limits: &[(&str, &str)]) -> Node {
    let node = Node::new();
    for (key, value) in limits {
        node.ok(&["config", "--json", key, value]);
    }
    node
}

/// Reads until the server closes the connection, at most `deadline`;
/// returns what was read and when the close came.
fn read_until_closed(stream: &mut TcpStream, deadline: Duration) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_sub(started.elapsed());
        assert!(
            !left.is_zero(),
            "still open after {deadline:?}; read {:?}",
            String::from_utf8_lossy(&got)
        );
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (got, started.elapsed()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == ErrorKind::ConnectionReset => {
                return (got, started.elapsed());
            }
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(err) => panic!("reading: {err}"),
        }
    }
}

/// Whether the server has closed `stream` (it never sends on a half head).
fn closed_by_server(mut stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    let closed = match stream.read(&mut byte) {
        Ok(_) => true,
        Err(err) => err.kind() != ErrorKind::WouldBlock,
    };
    stream.set_nonblocking(false).unwrap();
    closed
}

#[test]
fn half_sent_and_idle_connections_are_closed_on_the_header_deadline() {
    let node = node_with(&[("API.ReadHeaderTimeout", "\"2s\"")]);
    let _daemon = start_daemon(&node);
    let addr = api_addr(&node);

    let mut half = TcpStream::connect(&addr).unwrap();
    half.write_all(b"POST /api/v0/version HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (_, after) = read_until_closed(&mut half, HEADER_TIMEOUT + Duration::from_secs(5));
    assert!(
        after >= HEADER_TIMEOUT - Duration::from_millis(300),
        "closed after {after:?}, before the deadline"
    );

    let mut idle = TcpStream::connect(&addr).unwrap();
    idle.write_all(b"POST /api/v0/version HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        .unwrap();
    let (answer, after) = read_until_closed(&mut idle, HEADER_TIMEOUT + Duration::from_secs(5));
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"Version\""), "{answer}");
    assert!(
        after >= HEADER_TIMEOUT - Duration::from_millis(300),
        "idle connection closed after {after:?}"
    );
}

#[test]
fn a_slow_upload_that_keeps_sending_outlasts_the_header_deadline() {
    let node = node_with(&[("API.ReadHeaderTimeout", "\"2s\"")]);
    let _daemon = start_daemon(&node);
    let chunks: Vec<Vec<u8>> = (0..8u8).map(|i| vec![b'a' + i; 1000]).collect();
    let content: Vec<u8> = chunks.concat();
    let opening =
        b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.bin\"\r\n\
Content-Type: application/octet-stream\r\n\r\n";
    let closing = b"\r\n--XyZ--\r\n";
    let length = opening.len() + content.len() + closing.len();

    let mut stream = TcpStream::connect(api_addr(&node)).unwrap();
    let started = Instant::now();
    write!(
        stream,
        "POST /api/v0/add HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {length}\r\n\r\n"
    )
    .unwrap();
    stream.write_all(opening).unwrap();
    for chunk in &chunks {
        std::thread::sleep(Duration::from_millis(500));
        stream.write_all(chunk).unwrap();
    }
    stream.write_all(closing).unwrap();
    assert!(started.elapsed() > HEADER_TIMEOUT * 3 / 2);
    let (answer, _) = read_until_closed(&mut stream, Duration::from_secs(20));
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let hash = answer
        .split("\"Hash\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no Hash in {answer}"));
    assert_eq!(node.ok_bytes(&["cat", hash]), content);
}

#[test]
fn connections_over_the_cap_are_closed_and_the_api_serves_after_a_flood() {
    const CAP: usize = 8;
    const FLOOD: usize = 40;
    let node = node_with(&[("API.MaxConnections", "8")]);
    let _daemon = start_daemon(&node);
    let addr = api_addr(&node);

    let flood: Vec<TcpStream> = (0..FLOOD)
        .map(|_| {
            let mut stream = TcpStream::connect(&addr).unwrap();
            stream
                .write_all(b"POST /api/v0/version HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            stream
        })
        .collect();
    // The header deadline is 30 s: whatever closes sooner is over the cap.
    let started = Instant::now();
    let mut closed = 0;
    while closed < FLOOD - CAP && started.elapsed() < Duration::from_secs(10) {
        closed = flood.iter().filter(|s| closed_by_server(s)).count();
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(closed, FLOOD - CAP, "closed at once of {FLOOD}");

    drop(flood);
    let started = Instant::now();
    let version = loop {
        let answer = ureq::post(format!("{}/api/v0/version", node.api_url())).send_empty();
        match answer {
            Ok(mut response) => break response.body_mut().read_to_string().unwrap(),
            Err(err) => assert!(
                started.elapsed() < Duration::from_secs(5),
                "the API still refuses after the flood: {err}"
            ),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(version.contains("\"Version\""), "{version}");
}

#[test]
fn the_gateway_has_its_own_deadline_and_cap() {
    let node = node_with(&[
        ("Gateway.ReadHeaderTimeout", "\"2s\""),
        ("Gateway.MaxConnections", "2"),
    ]);
    let _daemon = start_daemon(&node);
    let url = std::fs::read_to_string(node.repo().join("gateway")).expect("gateway file");
    let addr = url.trim().trim_start_matches("http://");

    let opened = Instant::now();
    let mut held: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.write_all(b"GET /ipfs/").unwrap();
            stream
        })
        .collect();
    let mut over_cap = None;
    while over_cap.is_none() && opened.elapsed() < HEADER_TIMEOUT / 2 {
        over_cap = held.iter().position(closed_by_server);
        std::thread::sleep(Duration::from_millis(10));
    }
    let over_cap = over_cap.expect("no connection over the cap of 2 was closed at once");
    held.remove(over_cap);
    for mut stream in held {
        read_until_closed(&mut stream, HEADER_TIMEOUT + Duration::from_secs(5));
        assert!(
            opened.elapsed() >= HEADER_TIMEOUT - Duration::from_millis(300),
            "closed before the deadline"
        );
    }
}
