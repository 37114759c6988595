//! IPIP-484 filters of the routing API's provider and peer records:
//! `?filter-addrs=` keeps the addresses that name one of the listed
//! multiaddr protocols and none of the `!`-prefixed ones (a record left
//! without any is dropped; `unknown` keeps records with no addresses), and
//! `?filter-protocols=` keeps the records that speak one of the listed
//! transfer protocols (`unknown`: records that name none), whole.
//! Case-insensitive; no parameter, no filtering.

use crate::net::PeerRecord;

/// The transfer protocols a record names (`Protocols` in the spec).
pub fn protocols(record: &PeerRecord) -> &'static [&'static str] {
    if record.bitswap {
        &["transport-bitswap"]
    } else {
        &[]
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// Multiaddr protocol names an address must have one of (none: any).
    wanted_addrs: Vec<String>,
    /// Multiaddr protocol names an address must have none of.
    refused_addrs: Vec<String>,
    /// Whether `filter-addrs` was given at all (`unknown` alone is one).
    addrs_given: bool,
    /// `unknown` in `filter-addrs`: records without addresses stay.
    unknown_addrs: bool,
    /// Transfer protocol names (lowercase); empty: no filter.
    protocols: Vec<String>,
}

/// A comma-separated list, lowercased, without empty items.
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|item| item.trim().to_ascii_lowercase())
        .filter(|item| !item.is_empty())
        .collect()
}

impl Filters {
    /// The filters a request's query asks for.
    pub fn from_query(query: Option<&str>) -> Filters {
        let mut filters = Filters::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "filter-addrs" => {
                    for name in list(&value) {
                        filters.addrs_given = true;
                        // `unknown` is also a positive name no address
                        // has: alone, it keeps no known address (as boxo).
                        if name == "unknown" {
                            filters.unknown_addrs = true;
                        }
                        if let Some(refused) = name.strip_prefix('!') {
                            filters.refused_addrs.push(refused.to_string());
                        } else {
                            filters.wanted_addrs.push(name);
                        }
                    }
                }
                "filter-protocols" => filters.protocols.extend(list(&value)),
                _ => {}
            }
        }
        filters
    }

    fn protocols_pass(&self, record: &PeerRecord) -> bool {
        if self.protocols.is_empty() {
            return true;
        }
        let spoken = protocols(record);
        self.protocols.iter().any(|wanted| {
            (wanted == "unknown" && spoken.is_empty())
                || spoken.iter().any(|p| p.eq_ignore_ascii_case(wanted))
        })
    }

    fn address_passes(&self, addr: &libp2p::Multiaddr) -> bool {
        let names = || addr.iter().map(|p| p.tag());
        let has = |name: &String| names().any(|tag| tag.eq_ignore_ascii_case(name));
        !self.refused_addrs.iter().any(has)
            && (self.wanted_addrs.is_empty() || self.wanted_addrs.iter().any(has))
    }

    /// The record as the filters leave it, or none if they drop it.
    pub fn apply(&self, mut record: PeerRecord) -> Option<PeerRecord> {
        if !self.protocols_pass(&record) {
            return None;
        }
        if !self.addrs_given || (record.addrs.is_empty() && self.unknown_addrs) {
            return Some(record);
        }
        record.addrs.retain(|addr| self.address_passes(addr));
        (!record.addrs.is_empty()).then_some(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::{Multiaddr, PeerId};

    fn record(addrs: &[&str], bitswap: bool) -> PeerRecord {
        PeerRecord {
            peer: PeerId::random(),
            addrs: addrs
                .iter()
                .map(|a| a.parse::<Multiaddr>().unwrap())
                .collect(),
            bitswap,
        }
    }

    const TCP4: &str = "/ip4/127.0.0.1/tcp/4001";
    const QUIC6: &str = "/ip6/::1/udp/4001/quic-v1";
    const WT: &str = "/ip4/127.0.0.1/udp/4001/quic-v1/webtransport";

    /// The addresses left by `query`, or none when the record is dropped.
    fn kept(query: &str, addrs: &[&str], bitswap: bool) -> Option<Vec<String>> {
        Filters::from_query(Some(query))
            .apply(record(addrs, bitswap))
            .map(|r| r.addrs.iter().map(|a| a.to_string()).collect())
    }

    #[test]
    fn no_filter_keeps_everything() {
        assert_eq!(Filters::from_query(None), Filters::default());
        assert_eq!(kept("", &[TCP4], false), Some(vec![TCP4.to_string()]));
        assert_eq!(kept("other=1", &[], false), Some(vec![]));
    }

    #[test]
    fn addresses_pass_one_positive_and_no_negative_name() {
        let all = [TCP4, QUIC6, WT];
        assert_eq!(
            kept("filter-addrs=tcp", &all, true),
            Some(vec![TCP4.into()])
        );
        assert_eq!(
            kept("filter-addrs=tcp,webtransport", &all, true),
            Some(vec![TCP4.into(), WT.into()])
        );
        assert_eq!(
            kept("filter-addrs=!ip6,!webtransport", &all, true),
            Some(vec![TCP4.into()])
        );
        assert_eq!(
            kept("filter-addrs=quic-v1,!webtransport", &all, true),
            Some(vec![QUIC6.into()])
        );
        // Case-insensitive, and the comma may come percent-encoded.
        assert_eq!(
            kept("filter-addrs=QUIC-V1%2C!IP4", &all, true),
            Some(vec![QUIC6.into()])
        );
        // No address left: the record goes.
        assert_eq!(kept("filter-addrs=webrtc-direct", &all, true), None);
        assert_eq!(kept("filter-addrs=!ip4,!ip6", &all, true), None);
        // A name no multiaddr protocol has matches nothing.
        assert_eq!(kept("filter-addrs=nonsense", &all, true), None);
        assert_eq!(
            kept("filter-addrs=!nonsense", &[TCP4], true),
            Some(vec![TCP4.into()])
        );
    }

    #[test]
    fn unknown_keeps_records_without_addresses() {
        assert_eq!(kept("filter-addrs=tcp", &[], true), None);
        assert_eq!(kept("filter-addrs=tcp,unknown", &[], true), Some(vec![]));
        assert_eq!(kept("filter-addrs=unknown", &[], true), Some(vec![]));
        // `unknown` alone keeps no known address.
        assert_eq!(kept("filter-addrs=unknown", &[TCP4], true), None);
    }

    #[test]
    fn protocols_keep_whole_records_that_speak_one() {
        for (query, bitswap, passes) in [
            ("filter-protocols=transport-bitswap", true, true),
            ("filter-protocols=TRANSPORT-BITSWAP", true, true),
            ("filter-protocols=transport-bitswap", false, false),
            ("filter-protocols=transport-ipfs-gateway-http", true, false),
            (
                "filter-protocols=transport-ipfs-gateway-http,transport-bitswap",
                true,
                true,
            ),
            ("filter-protocols=unknown", false, true),
            ("filter-protocols=unknown", true, false),
        ] {
            let kept = kept(query, &[TCP4, QUIC6], bitswap);
            assert_eq!(kept.is_some(), passes, "{query} bitswap={bitswap}");
            if let Some(addrs) = kept {
                assert_eq!(addrs.len(), 2, "{query}: addresses untouched");
            }
        }
        // Both filters: each must pass.
        assert_eq!(
            kept(
                "filter-protocols=transport-bitswap&filter-addrs=quic-v1",
                &[TCP4, QUIC6],
                true
            ),
            Some(vec![QUIC6.into()])
        );
        assert_eq!(
            kept(
                "filter-protocols=transport-bitswap&filter-addrs=quic-v1",
                &[TCP4, QUIC6],
                false
            ),
            None
        );
    }
}
