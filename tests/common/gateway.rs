//! The HTTP gateway in-process, and the plain requests the gateway tests make.

use std::sync::Arc;

use rsipfs::api::ApiServer;
use rsipfs::repo::Repo;

use super::Node;

pub type Response = ureq::http::Response<ureq::Body>;

/// The gateway on `node`'s repository, which it holds from now on (CLI
/// commands on it fail until the returned repository is dropped).
pub fn start_gateway(node: &Node) -> (ApiServer, String, Arc<Repo>) {
    // Names through the records here; DNSLink is tested against a real DNS
    // server in tests/dnslink.rs.
    start_gateway_with(
        node,
        rsipfs::names::NameSystem::new(None, None),
        rsipfs::gateway::Hosts::default(),
    )
}

/// As `start_gateway`, with this name system and these gateway hosts.
pub fn start_gateway_with(
    node: &Node,
    names: rsipfs::names::NameSystem,
    hosts: rsipfs::gateway::Hosts,
) -> (ApiServer, String, Arc<Repo>) {
    start_gateway_extras(node, names, hosts, rsipfs::gateway::Extras::default())
}

/// As `start_gateway_with`, with these extras (conversions, routing API).
pub fn start_gateway_extras(
    node: &Node,
    names: rsipfs::names::NameSystem,
    hosts: rsipfs::gateway::Hosts,
    extras: rsipfs::gateway::Extras,
) -> (ApiServer, String, Arc<Repo>) {
    let repo = Arc::new(Repo::open(&node.repo()).expect("open repo"));
    let sources = rsipfs::gateway::Sources {
        repo: Arc::clone(&repo),
        store: repo.blocks_shared(),
        names: Arc::new(names),
    };
    let gateway = rsipfs::gateway::start_with(
        "127.0.0.1:0".parse().unwrap(),
        sources,
        hosts,
        rsipfs::api::Limits::default(),
        extras,
    )
    .expect("gateway");
    let base = format!("http://{}", gateway.addr);
    (gateway, base, repo)
}

/// GET with `headers`; error statuses are answers, redirects not followed.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Response {
    request(ureq::get(url), headers)
}

/// HEAD as `get`.
pub fn head(url: &str, headers: &[(&str, &str)]) -> Response {
    request(ureq::head(url), headers)
}

fn request(
    request: ureq::RequestBuilder<ureq::typestate::WithoutBody>,
    headers: &[(&str, &str)],
) -> Response {
    let mut request = request
        .config()
        .http_status_as_error(false)
        .max_redirects(0)
        .build();
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.call().expect("request")
}

/// The header's value, empty when absent.
pub fn header(response: &Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}
