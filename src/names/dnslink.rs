//! DNSLink (dnslink.dev): which TXT strings of `_dnslink.<domain>` are
//! links, and which one a domain points to. Pure text: the lookup itself is
//! behind [`super::DnsLinkLookup`].

use crate::codec::IpfsPath;
use crate::ipns::Name;

const TXT_PREFIX: &str = "dnslink=";
/// Longest domain name DNS carries (RFC 1035), without the final dot.
const MAX_DOMAIN: usize = 253;
const MAX_LABEL: usize = 63;

/// The name DNSLink's TXT records of `domain` live at, fully qualified so
/// no search domain of resolv.conf is tried.
pub fn txt_name(domain: &str) -> String {
    format!("_dnslink.{}.", domain.trim_end_matches('.'))
}

/// Whether `text` can be a DNS name DNSLink is looked up under: dotted
/// labels of letters, digits, `-` and `_`, within DNS's length limits.
pub fn is_domain(text: &str) -> bool {
    let text = text.strip_suffix('.').unwrap_or(text);
    text.contains('.')
        && text.len() <= MAX_DOMAIN
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= MAX_LABEL
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// What a domain's TXT strings say.
#[derive(Debug, PartialEq, Eq)]
pub enum Link {
    /// The path it points to: `/ipfs/…` or `/ipns/…`.
    To(String),
    /// `dnslink=` strings, none of them a valid path (the first, for the
    /// message).
    Invalid(String),
    /// No `dnslink=` string at all.
    Missing,
}

/// The link among `texts`: the valid `dnslink=/ipfs/…` or `/ipns/…` values,
/// the first in byte order when there are several, so every lookup picks
/// the same one whatever order the DNS answer came in.
pub fn pick(texts: &[String]) -> Link {
    let entries: Vec<&str> = texts
        .iter()
        .filter_map(|t| t.trim().strip_prefix(TXT_PREFIX))
        .collect();
    let mut valid: Vec<&str> = entries
        .iter()
        .copied()
        .filter(|value| is_valid_value(value))
        .collect();
    valid.sort_unstable();
    match (valid.first(), entries.first()) {
        (Some(value), _) => Link::To(value.trim_end_matches('/').to_string()),
        (None, Some(entry)) => Link::Invalid(format!("{TXT_PREFIX}{entry}")),
        (None, None) => Link::Missing,
    }
}

fn is_valid_value(value: &str) -> bool {
    if value.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return false;
    }
    if value.starts_with("/ipfs/") {
        return IpfsPath::parse(value).is_ok();
    }
    match value.strip_prefix("/ipns/") {
        Some(rest) => {
            let target = rest.split('/').next().unwrap_or_default();
            Name::parse(target).is_ok() || is_domain(target)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CID: &str = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";

    fn a_name() -> Name {
        Name::of_key(&libp2p_identity::Keypair::generate_ed25519().public())
    }

    fn texts(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_ipfs_or_ipns_link_is_taken_with_its_path() {
        let link = format!("dnslink=/ipfs/{CID}/docs/");
        assert_eq!(
            pick(&texts(&["v=spf1 -all", &link])),
            Link::To(format!("/ipfs/{CID}/docs"))
        );
        let name = a_name();
        let link = format!("dnslink=/ipns/{name}");
        assert_eq!(pick(&texts(&[&link])), Link::To(format!("/ipns/{name}")));
        assert_eq!(
            pick(&texts(&["dnslink=/ipns/other.example.org/a"])),
            Link::To("/ipns/other.example.org/a".into())
        );
    }

    #[test]
    fn several_links_give_the_same_answer_in_any_order() {
        let a = format!("dnslink=/ipfs/{CID}");
        let b = format!("dnslink=/ipns/{}", a_name());
        let first = pick(&texts(&[&a, &b]));
        assert_eq!(first, pick(&texts(&[&b, &a])));
        assert_eq!(first, Link::To(format!("/ipfs/{CID}")));
    }

    #[test]
    fn garbage_is_refused_and_named() {
        assert_eq!(
            pick(&texts(&["dnslink=/ipfs/not-a-cid", "dnslink=hello"])),
            Link::Invalid("dnslink=/ipfs/not-a-cid".into())
        );
        assert_eq!(
            pick(&texts(&["dnslink=/ipns/no dots"])),
            Link::Invalid("dnslink=/ipns/no dots".into())
        );
        assert_eq!(pick(&texts(&["hello", "v=spf1"])), Link::Missing);
        assert_eq!(pick(&[]), Link::Missing);
        // A valid link wins over garbage next to it.
        let good = format!("dnslink=/ipfs/{CID}");
        assert_eq!(
            pick(&texts(&["dnslink=junk", &good])),
            Link::To(format!("/ipfs/{CID}"))
        );
    }

    #[test]
    fn domains_are_dotted_dns_labels() {
        assert!(is_domain("example.org"));
        assert!(is_domain("docs.ipfs.tech."));
        assert!(is_domain("_under.score-ok.example"));
        assert!(!is_domain("localhost"));
        assert!(!is_domain("a..b"));
        assert!(!is_domain("bad/slash.org"));
        assert!(!is_domain("sp ace.org"));
        assert!(!is_domain(&format!("{}.org", "a".repeat(64))));
        assert_eq!(txt_name("example.org"), "_dnslink.example.org.");
        assert_eq!(txt_name("example.org."), "_dnslink.example.org.");
    }
}
