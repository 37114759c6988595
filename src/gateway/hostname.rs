//! Which content a request's Host header asks for, as Kubo's gateway reads
//! it (specs.ipfs.tech/http-gateways/subdomain-gateway): a known gateway
//! host (`Gateway.PublicGateways`, `localhost` by default) serving paths,
//! or redirecting them to `<cid>.ipfs.<host>` when it is a subdomain
//! gateway; a `<root>.<ns>.<known host>` subdomain origin; a DNSLink
//! domain; or, for any other host, the plain path gateway.
//!
//! Pure text: whether a domain has a DNSLink record is asked through the
//! `has_dnslink` callback, so callers decide how (and whether) DNS is used.

use std::collections::BTreeMap;

use multibase::Base;

use crate::codec::cid::{Cid, LIBP2P_KEY, Mh, parse_cid};
use crate::names::dnslink::is_domain;

/// The longest DNS label (RFC 1034).
const MAX_LABEL: usize = 63;

/// One entry of `Gateway.PublicGateways`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicGateway {
    /// Path prefixes served (`/ipfs`, `/ipns`).
    pub paths: Vec<String>,
    /// Serve `/ipfs/<cid>` as `<cid>.ipfs.<host>` (origin isolation).
    pub use_subdomains: bool,
    /// Never look this host up as a DNSLink name.
    pub no_dnslink: bool,
    /// Put DNSLink names in one label (`my-v--long-example-com`).
    pub inline_dnslink: bool,
}

impl PublicGateway {
    /// Kubo's `localhost` entry: a subdomain gateway for /ipfs and /ipns.
    fn subdomain() -> Self {
        PublicGateway {
            paths: vec!["/ipfs".into(), "/ipns".into()],
            use_subdomains: true,
            no_dnslink: false,
            inline_dnslink: false,
        }
    }
}

/// The gateway's Host-related settings: `Gateway.PublicGateways` merged
/// over Kubo's defaults, and `Gateway.NoDNSLink`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hosts {
    exact: BTreeMap<String, PublicGateway>,
    /// `*.example.com` entries, by their suffix (`.example.com`).
    wildcard: Vec<(String, PublicGateway)>,
    no_dnslink: bool,
}

impl Default for Hosts {
    fn default() -> Self {
        let mut exact = BTreeMap::new();
        exact.insert("localhost".to_string(), PublicGateway::subdomain());
        Hosts {
            exact,
            wildcard: Vec::new(),
            no_dnslink: false,
        }
    }
}

impl Hosts {
    /// From the config's `Gateway` section: `PublicGateways` entries replace
    /// the defaults of the same host, and `null` removes one (as Kubo).
    pub fn from_config(section: &serde_json::Value) -> Result<Self, String> {
        let mut hosts = Hosts::default();
        let flag = |value: &serde_json::Value, key: &str| -> Result<bool, String> {
            match value.get(key) {
                None | Some(serde_json::Value::Null) => Ok(false),
                Some(serde_json::Value::Bool(b)) => Ok(*b),
                Some(other) => Err(format!("{key} {other}: not true or false")),
            }
        };
        hosts.no_dnslink = flag(section, "NoDNSLink")?;
        let mut exact = hosts.exact;
        if let Some(entries) = section.get("PublicGateways") {
            let entries = match entries {
                serde_json::Value::Null => &serde_json::Map::new(),
                serde_json::Value::Object(map) => map,
                other => return Err(format!("PublicGateways {other}: not an object")),
            };
            for (host, entry) in entries {
                if entry.is_null() {
                    exact.remove(host);
                    continue;
                }
                let paths = match entry.get("Paths") {
                    None | Some(serde_json::Value::Null) => Vec::new(),
                    Some(serde_json::Value::Array(items)) => items
                        .iter()
                        .map(|p| p.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| format!("PublicGateways.{host}.Paths: not strings"))?,
                    Some(other) => {
                        return Err(format!("PublicGateways.{host}.Paths {other}: not a list"));
                    }
                };
                let gateway = PublicGateway {
                    paths,
                    use_subdomains: flag(entry, "UseSubdomains")
                        .map_err(|e| format!("PublicGateways.{host}.{e}"))?,
                    no_dnslink: flag(entry, "NoDNSLink")
                        .map_err(|e| format!("PublicGateways.{host}.{e}"))?,
                    inline_dnslink: flag(entry, "InlineDNSLink")
                        .map_err(|e| format!("PublicGateways.{host}.{e}"))?,
                };
                // Subdomains of an IP address make no sense (Kubo skips them).
                if gateway.use_subdomains && strip_port(host).parse::<std::net::IpAddr>().is_ok() {
                    return Err(format!(
                        "PublicGateways.{host}: UseSubdomains cannot be set for an IP address"
                    ));
                }
                exact.insert(host.clone(), gateway);
            }
        }
        let (wild, plain): (BTreeMap<_, _>, BTreeMap<_, _>) =
            exact.into_iter().partition(|(host, _)| host.contains('*'));
        hosts.exact = plain;
        for (host, gateway) in wild {
            // Only a leading `*.` is a wildcard: one label, any name.
            let suffix = host
                .strip_prefix('*')
                .filter(|s| s.starts_with('.') && !s.contains('*'))
                .ok_or_else(|| {
                    format!("PublicGateways.{host}: a wildcard must be a leading \"*.\"")
                })?;
            hosts.wildcard.push((suffix.to_string(), gateway));
        }
        Ok(hosts)
    }

    /// The gateway serving `host` (as sent, port included, or without it).
    fn known(&self, host: &str) -> Option<&PublicGateway> {
        if let Some(gateway) = self.exact.get(host) {
            return Some(gateway);
        }
        let bare = strip_port(host);
        if let Some(gateway) = self.exact.get(bare) {
            return Some(gateway);
        }
        self.wildcard.iter().find_map(|(suffix, gateway)| {
            bare.strip_suffix(suffix.as_str())
                .filter(|label| !label.is_empty() && !label.contains('.'))
                .map(|_| gateway)
        })
    }

    /// `<root>.<ns>.<gateway host>`: the gateway, its host, the namespace
    /// and the root (labels before the namespace, joined by dots).
    fn subdomain_of<'h>(
        &self,
        host: &'h str,
    ) -> Option<(&PublicGateway, &'h str, &'h str, &'h str)> {
        let dots: Vec<usize> = host.match_indices('.').map(|(i, _)| i).collect();
        // The gateway's host is at least the last label; the namespace and
        // the root are at least one label each before it.
        for k in (1..dots.len()).rev() {
            let gateway_host = &host[dots[k] + 1..];
            let Some(gateway) = self.known(gateway_host) else {
                continue;
            };
            let ns = &host[dots[k - 1] + 1..dots[k]];
            if !matches!(ns, "ipfs" | "ipns" | "p2p" | "ipld") {
                continue;
            }
            let root = &host[..dots[k - 1]];
            return Some((gateway, gateway_host, ns, root));
        }
        None
    }
}

/// What kind of origin the content is served from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `/ipfs/<cid>/…` on the gateway's own origin: no `_redirects`.
    Path,
    /// `<root>.<ns>.<host>` or a DNSLink domain: one origin per site, so
    /// `_redirects` apply and URL paths are relative to the site's root.
    Site,
}

/// Where a request goes.
#[derive(Debug, PartialEq, Eq)]
pub enum Routed {
    /// Serve this content path (`/ipfs/…` or `/ipns/…`, percent-encoded as
    /// the request had it).
    Serve {
        content_path: String,
        origin: Origin,
    },
    /// 301 to this URL.
    Redirect(String),
    /// 404: the host does not serve this.
    NotFound(String),
    /// 400: the host or the name in it is not usable.
    Bad(String),
}

/// The request as far as routing needs it.
pub struct Incoming<'a> {
    /// `Host` (or `X-Forwarded-Host`), empty when absent.
    pub host: &'a str,
    /// The raw (percent-encoded) path.
    pub path: &'a str,
    pub query: Option<&'a str>,
    /// `X-Forwarded-Proto: https`.
    pub https: bool,
}

/// A Host header's value is a host name or IP literal and an optional
/// port: nothing that could break out of the name (`/`, `@`, spaces…).
fn valid_host(host: &str) -> bool {
    if host.is_empty() || host.len() > 255 + 6 {
        return false;
    }
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((ip6, tail)) => {
                if ip6.parse::<std::net::Ipv6Addr>().is_err() {
                    return false;
                }
                (None, tail.strip_prefix(':'))
            }
            None => return false,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) => (Some(name), Some(port)),
            None => (Some(host), None),
        },
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    name.is_none_or(|name| {
        !name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
    })
}

pub fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(ip, _)| &ip[1..]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// `my.v-long.example.com` → `my-v--long-example-com`, or `None` when the
/// result does not fit a DNS label.
pub fn inline_dnslink(fqdn: &str) -> Option<String> {
    let label = fqdn.replace('-', "--").replace('.', "-");
    (label.len() <= MAX_LABEL).then_some(label)
}

/// `my-v--long-example-com` → `my.v-long.example.com`.
pub fn uninline_dnslink(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '-' {
            if chars.peek() == Some(&'-') {
                chars.next();
                out.push('-');
            } else {
                out.push('.');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A name DNSLink can be looked up for: a dotted DNS name, not an IP
/// address and not a peer ID.
fn dnslink_candidate(name: &str) -> bool {
    is_domain(name)
        && name.parse::<std::net::IpAddr>().is_err()
        && peer_id_multihash(name).is_none()
}

/// A peer ID in its base58 form (`12D3Koo…`, `Qm…`) as a multihash.
fn peer_id_multihash(text: &str) -> Option<Mh> {
    if !(text.starts_with("12D3Koo") || text.starts_with("Qm") || text.starts_with('1')) {
        return None;
    }
    let bytes = Base::Base58Btc.decode(text).ok()?;
    Mh::from_bytes(&bytes).ok()
}

/// A CID as one DNS label: as written when it fits, else CIDv1 in base36;
/// an error when even that is too long.
fn dns_label_of(text: &str, cid: &Cid) -> Result<String, String> {
    if text.len() <= MAX_LABEL {
        return Ok(text.to_string());
    }
    let base36 = Cid::new_v1(cid.codec(), *cid.hash())
        .to_string_of_base(Base::Base36Lower)
        .map_err(|e| e.to_string())?;
    if base36.len() <= MAX_LABEL {
        Ok(base36)
    } else {
        Err(format!(
            "CID incompatible with DNS label length limit of 63: {base36}"
        ))
    }
}

fn has_prefix(path: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|prefix| {
        let prefix = prefix.trim_end_matches('/');
        path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|r| r.starts_with('/'))
    })
}

/// The subdomain URL for a path-form request (`/ipfs/<cid>/rest`) on
/// `gateway_host`, or `None` when it has none (not a CID in /ipfs, …).
fn subdomain_url(
    gateway_host: &str,
    path: &str,
    incoming: &Incoming,
    inline: bool,
    has_dnslink: &dyn Fn(&str) -> bool,
) -> Result<Option<String>, String> {
    let mut parts = path.splitn(4, '/');
    let (_, Some(ns), Some(root)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    let rest = parts.next();
    if !matches!(ns, "ipfs" | "ipns" | "p2p" | "ipld") {
        return Ok(None);
    }
    let peer_namespace = matches!(ns, "ipns" | "p2p");
    let root = crate::api::percent_decode(root, false).ok_or("malformed percent-encoding")?;
    let mut root_id = root.clone();
    if peer_namespace
        && !dnslink_candidate(&root)
        && let Some(multihash) = peer_id_multihash(&root)
    {
        root_id = Cid::new_v1(LIBP2P_KEY, multihash).to_string();
    }
    if let Ok(cid) = parse_cid(&root_id) {
        // CIDv1 in a case-insensitive base (browsers lower-case host
        // names); names in base36 and with the libp2p-key codec.
        let (codec, base) = if peer_namespace {
            (LIBP2P_KEY, Base::Base36Lower)
        } else {
            (cid.codec(), Base::Base32Lower)
        };
        let v1 = Cid::new_v1(codec, *cid.hash());
        let text = v1.to_string_of_base(base).map_err(|e| e.to_string())?;
        root_id = dns_label_of(&text, &v1)?;
    } else {
        if ns == "ipns" && !root_id.contains('.') && root_id.contains('-') {
            let fqdn = uninline_dnslink(&root_id);
            if dnslink_candidate(&fqdn) && has_dnslink(&fqdn) {
                root_id = fqdn;
            }
        }
        if (inline || incoming.https) && ns == "ipns" && root_id.contains('.') {
            if dnslink_candidate(&root_id) && has_dnslink(&root_id) {
                root_id = inline_dnslink(&root_id).ok_or_else(|| {
                    format!(
                        "inlined DNSLink incompatible with DNS label length limit of 63: {root_id:?}"
                    )
                })?;
            }
        } else if ns == "ipfs" {
            return Ok(None);
        }
    }
    if root_id.is_empty() || !valid_host(&root_id) {
        return Ok(None);
    }
    let scheme = if incoming.https { "https" } else { "http" };
    let mut url = format!(
        "{scheme}://{}.{ns}.{gateway_host}/{}",
        root_id,
        rest.unwrap_or("")
    );
    if let Some(query) = incoming.query.filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(query);
    }
    Ok(Some(url))
}

/// Where the request goes, by its Host header and path.
pub fn route(hosts: &Hosts, incoming: &Incoming, has_dnslink: &dyn Fn(&str) -> bool) -> Routed {
    let serve = |content_path: String, origin| Routed::Serve {
        content_path,
        origin,
    };
    // HTTP/1.0 clients may send no Host: the plain path gateway.
    if incoming.host.is_empty() {
        return serve(incoming.path.to_string(), Origin::Path);
    }
    let host = incoming.host.to_string();
    if !valid_host(&host) {
        return Routed::Bad(format!(
            "invalid Host header {:?}: expected a host name and an optional port",
            incoming.host
        ));
    }
    if let Some(gateway) = hosts.known(&host) {
        if has_prefix(incoming.path, &gateway.paths) {
            if gateway.use_subdomains {
                match subdomain_url(
                    &host,
                    incoming.path,
                    incoming,
                    gateway.inline_dnslink,
                    has_dnslink,
                ) {
                    Err(why) => return Routed::Bad(why),
                    Ok(Some(url)) => return Routed::Redirect(url),
                    Ok(None) => {}
                }
            }
            return serve(incoming.path.to_string(), Origin::Path);
        }
        let bare = strip_port(&host);
        if !gateway.no_dnslink && dnslink_candidate(bare) && has_dnslink(bare) {
            return serve(format!("/ipns/{bare}{}", incoming.path), Origin::Site);
        }
        return Routed::NotFound(format!(
            "{} is not served on {host} (its paths: {})",
            incoming.path,
            gateway.paths.join(", ")
        ));
    }
    if let Some((gateway, gateway_host, ns, root)) = hosts.subdomain_of(&host) {
        let prefix = format!("/{ns}/{root}");
        if !(gateway.use_subdomains && has_prefix(&prefix, &gateway.paths)) {
            return Routed::NotFound(format!("{host} is not a subdomain gateway for /{ns}"));
        }
        let mut prefix = prefix;
        if let Ok(cid) = parse_cid(root) {
            let label = match dns_label_of(root, &cid) {
                Ok(label) => label,
                Err(why) => return Routed::Bad(why),
            };
            let wrong_codec = matches!(ns, "ipns" | "p2p") && cid.codec() != LIBP2P_KEY;
            if label != root || wrong_codec {
                let path = format!("/{ns}/{label}{}", incoming.path);
                match subdomain_url(
                    gateway_host,
                    &path,
                    incoming,
                    gateway.inline_dnslink,
                    has_dnslink,
                ) {
                    Err(why) => return Routed::Bad(why),
                    Ok(Some(url)) => return Routed::Redirect(url),
                    Ok(None) => {}
                }
            }
        } else if ns == "ipfs" {
            return Routed::Bad(format!(
                "{root:?} in the Host header is not a CID (expected <cid>.ipfs.{gateway_host})"
            ));
        } else if ns == "ipns" && !root.contains('.') && root.contains('-') {
            // An inlined DNSLink name: `my-v--long-example-com`.
            let fqdn = uninline_dnslink(root);
            if (dnslink_candidate(&fqdn) && has_dnslink(&fqdn))
                || !(dnslink_candidate(root) && has_dnslink(root))
            {
                prefix = format!("/ipns/{fqdn}");
            }
        }
        return serve(format!("{prefix}{}", incoming.path), Origin::Site);
    }
    let bare = strip_port(&host);
    if !hosts.no_dnslink && dnslink_candidate(bare) && has_dnslink(bare) {
        return serve(format!("/ipns/{bare}{}", incoming.path), Origin::Site);
    }
    serve(incoming.path.to_string(), Origin::Path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V0: &str = "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR";
    const V1: &str = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";

    fn incoming<'a>(host: &'a str, path: &'a str) -> Incoming<'a> {
        Incoming {
            host,
            path,
            query: None,
            https: false,
        }
    }

    fn no_dns(_: &str) -> bool {
        false
    }

    fn routed(host: &str, path: &str) -> Routed {
        route(&Hosts::default(), &incoming(host, path), &no_dns)
    }

    #[test]
    fn path_requests_on_localhost_go_to_subdomains() {
        assert_eq!(
            routed("localhost:8080", &format!("/ipfs/{V0}/a/b.txt")),
            Routed::Redirect(format!("http://{V1}.ipfs.localhost:8080/a/b.txt"))
        );
        assert_eq!(
            routed("localhost:8080", &format!("/ipfs/{V1}")),
            Routed::Redirect(format!("http://{V1}.ipfs.localhost:8080/"))
        );
        let with_query = Incoming {
            query: Some("format=raw"),
            https: true,
            ..incoming("localhost", "/ipfs/bafkqaaa/x")
        };
        assert_eq!(
            route(&Hosts::default(), &with_query, &no_dns),
            Routed::Redirect("https://bafkqaaa.ipfs.localhost/x?format=raw".into())
        );
        // Not a CID: served by path, whose handler says what is wrong.
        assert!(matches!(
            routed("localhost", "/ipfs/not-a-cid"),
            Routed::Serve {
                origin: Origin::Path,
                ..
            }
        ));
        assert!(matches!(routed("localhost", "/"), Routed::NotFound(_)));
    }

    #[test]
    fn peer_ids_become_base36_libp2p_keys() {
        let peer = "12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d";
        let Routed::Redirect(url) = routed("localhost", &format!("/ipns/{peer}/x")) else {
            panic!("no redirect");
        };
        let label = url
            .strip_prefix("http://")
            .and_then(|u| u.split_once(".ipns.localhost/x"))
            .map(|(label, _)| label)
            .unwrap();
        assert!(label.starts_with("k51"), "{url}");
        let cid = parse_cid(label).unwrap();
        assert_eq!(cid.codec(), LIBP2P_KEY);
        // DNSLink names keep their dots unless inlined.
        assert_eq!(
            routed("localhost", "/ipns/en.example.org/wiki/"),
            Routed::Redirect("http://en.example.org.ipns.localhost/wiki/".into())
        );
    }

    #[test]
    fn subdomain_hosts_name_their_content() {
        assert_eq!(
            routed(&format!("{V1}.ipfs.localhost:8080"), "/a/b"),
            Routed::Serve {
                content_path: format!("/ipfs/{V1}/a/b"),
                origin: Origin::Site
            }
        );
        assert_eq!(
            routed("docs.ipfs.tech.ipns.localhost", "/"),
            Routed::Serve {
                content_path: "/ipns/docs.ipfs.tech/".into(),
                origin: Origin::Site
            }
        );
        assert_eq!(
            routed("my-v--long-example-com.ipns.localhost", "/"),
            Routed::Serve {
                content_path: "/ipns/my.v-long.example.com/".into(),
                origin: Origin::Site
            }
        );
        // A CID that is not a libp2p key in /ipns is put right.
        let Routed::Redirect(url) = routed(&format!("{V1}.ipns.localhost"), "/") else {
            panic!("no redirect");
        };
        assert!(url.starts_with("http://k"), "{url}");
        assert!(matches!(
            routed("p2p-thing.p2p.localhost", "/"),
            Routed::NotFound(_)
        ));
    }

    #[test]
    fn long_labels_are_base36_or_refused() {
        // A sha2-512 CID: too long for a label in any base.
        let long = "bafkrgqe3ohjcjplc6n4f3fwunlj6upltggn7xqujbsvnvyw764srszz4u4rshq6ztos4chl4plgg4ffyyxnayrtdi5oc4xb2332g645433aeg";
        let Routed::Bad(why) = routed("localhost", &format!("/ipfs/{long}")) else {
            panic!("not refused");
        };
        assert!(why.contains("63"), "{why}");
        // An ed25519 name as base32 CIDv1 (65 characters) fits in base36.
        let peer = "12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d";
        let name = Cid::new_v1(LIBP2P_KEY, peer_id_multihash(peer).unwrap())
            .to_string_of_base(Base::Base32Lower)
            .unwrap();
        assert!(name.len() > MAX_LABEL, "{name}");
        let Routed::Redirect(url) = routed("localhost", &format!("/ipns/{name}")) else {
            panic!("no redirect");
        };
        assert!(url.starts_with("http://k51"), "{url}");
    }

    #[test]
    fn bad_hosts_are_refused_not_served() {
        for host in [
            "evil.com/x",
            "a b.localhost",
            "user@localhost",
            "localhost:port",
            "localhost:",
            "..localhost",
            "a..ipfs.localhost",
            "[::1",
            "x\u{0}.ipfs.localhost",
        ] {
            assert!(matches!(routed(host, "/"), Routed::Bad(_)), "{host}");
        }
        assert!(matches!(
            routed("not-a-cid.ipfs.localhost", "/"),
            Routed::Bad(_)
        ));
        assert!(matches!(
            routed(&format!("{V1}.evil.ipfs.localhost"), "/"),
            Routed::Bad(_)
        ));
        assert!(matches!(
            routed("[::1]:8080", "/ipfs/x"),
            Routed::Serve {
                origin: Origin::Path,
                ..
            }
        ));
        assert!(matches!(
            routed("127.0.0.1:8080", "/ipfs/x"),
            Routed::Serve {
                origin: Origin::Path,
                ..
            }
        ));
    }

    #[test]
    fn dnslink_hosts_and_inlining() {
        let dns = |name: &str| name == "my.v-long.example.com";
        assert_eq!(
            route(
                &Hosts::default(),
                &incoming("my.v-long.example.com", "/a"),
                &dns
            ),
            Routed::Serve {
                content_path: "/ipns/my.v-long.example.com/a".into(),
                origin: Origin::Site
            }
        );
        let https = Incoming {
            https: true,
            ..incoming("localhost", "/ipns/my.v-long.example.com/a")
        };
        assert_eq!(
            route(&Hosts::default(), &https, &dns),
            Routed::Redirect("https://my-v--long-example-com.ipns.localhost/a".into())
        );
        assert_eq!(inline_dnslink("a-b.c").as_deref(), Some("a--b-c"));
        assert_eq!(uninline_dnslink("a--b-c"), "a-b.c");
        assert_eq!(inline_dnslink(&"a.".repeat(40)), None);
    }

    #[test]
    fn config_replaces_and_removes_defaults() {
        let hosts = Hosts::from_config(&serde_json::json!({
            "PublicGateways": {
                "localhost": null,
                "dweb.test": { "Paths": ["/ipfs"], "UseSubdomains": true },
                "*.wild.test": { "Paths": ["/ipfs"], "UseSubdomains": false }
            }
        }))
        .unwrap();
        assert!(matches!(
            route(&hosts, &incoming("localhost", "/ipfs/bafkqaaa"), &no_dns),
            Routed::Serve {
                origin: Origin::Path,
                ..
            }
        ));
        assert_eq!(
            route(&hosts, &incoming("dweb.test", "/ipfs/bafkqaaa"), &no_dns),
            Routed::Redirect("http://bafkqaaa.ipfs.dweb.test/".into())
        );
        assert!(matches!(
            route(&hosts, &incoming("dweb.test", "/ipns/x"), &no_dns),
            Routed::NotFound(_)
        ));
        assert!(matches!(
            route(&hosts, &incoming("a.wild.test", "/ipfs/bafkqaaa"), &no_dns),
            Routed::Serve {
                origin: Origin::Path,
                ..
            }
        ));
        for bad in [
            serde_json::json!({"PublicGateways": {"1.2.3.4": {"UseSubdomains": true}}}),
            serde_json::json!({"PublicGateways": {"x": {"Paths": "/ipfs"}}}),
            serde_json::json!({"PublicGateways": {"a.*.b": {}}}),
            serde_json::json!({"NoDNSLink": "yes"}),
        ] {
            assert!(Hosts::from_config(&bad).is_err(), "{bad}");
        }
    }
}
