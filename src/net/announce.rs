//! What the node tells others its addresses are, as Kubo decides it:
//! `Addresses.Announce` replaces the listen addresses when set,
//! `AppendAnnounce` adds to them, and `NoAnnounce` takes away exact
//! addresses and `/ip4/…/ipcidr/N` (or `/ip6/…`) ranges.

use std::net::IpAddr;

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

use super::reach::is_relayed;

#[derive(Clone, Debug, Default)]
pub struct AnnounceConfig {
    pub announce: Vec<Multiaddr>,
    pub append: Vec<Multiaddr>,
    pub no_announce: Vec<Multiaddr>,
}

impl AnnounceConfig {
    /// The addresses to announce while listening on `listening`.
    /// Addresses through a relay (`…/p2p-circuit`) are announced even
    /// when `Announce` replaces the listen addresses: they come and go
    /// with the relay slots, no config could name them.
    ///
    /// A node found private that listens through a relay announces no
    /// public direct address it merely listens on (nothing gets in through
    /// them; a peer would dial them in vain before the relay), as
    /// go-libp2p's autorelay does: relayed and private-range addresses stay,
    /// and so does whatever `Announce` or `AppendAnnounce` names.
    pub fn addresses(&self, listening: &[Multiaddr], private: bool) -> Vec<Multiaddr> {
        let behind_nat = private && listening.iter().any(is_relayed);
        let listening: Vec<Multiaddr> = listening
            .iter()
            .filter(|a| !behind_nat || is_relayed(a) || is_private(a))
            .cloned()
            .collect();
        let listening = &listening[..];
        let relayed = listening.iter().filter(|a| is_relayed(a));
        let base = if self.announce.is_empty() {
            listening
        } else {
            &self.announce[..]
        };
        let mut out: Vec<Multiaddr> = Vec::new();
        for addr in base.iter().chain(&self.append).chain(relayed) {
            if !self.hidden(addr) && !out.contains(addr) {
                out.push(addr.clone());
            }
        }
        out
    }

    fn hidden(&self, addr: &Multiaddr) -> bool {
        self.no_announce.iter().any(|rule| match cidr(rule) {
            Some((net, bits)) => first_ip(addr).is_some_and(|ip| in_range(ip, net, bits)),
            None => rule == addr,
        })
    }
}

/// On a private, loopback or link-local network.
pub fn is_private(addr: &Multiaddr) -> bool {
    match addr.iter().next() {
        Some(Protocol::Ip4(ip)) => ip.is_private() || ip.is_loopback() || ip.is_link_local(),
        Some(Protocol::Ip6(ip)) => {
            let first = ip.segments()[0];
            ip.is_loopback() || first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80
        }
        _ => false,
    }
}

/// `/ip4/A/ipcidr/N` as (A, N).
fn cidr(rule: &Multiaddr) -> Option<(IpAddr, u8)> {
    let mut parts = rule.iter();
    let ip = match parts.next()? {
        Protocol::Ip4(ip) => IpAddr::V4(ip),
        Protocol::Ip6(ip) => IpAddr::V6(ip),
        _ => return None,
    };
    match (parts.next()?, parts.next()) {
        (Protocol::Ipcidr(bits), None) => Some((ip, bits)),
        _ => None,
    }
}

fn first_ip(addr: &Multiaddr) -> Option<IpAddr> {
    match addr.iter().next()? {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    }
}

fn in_range(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (ip, net, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let bits = u32::from(bits).min(width);
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (ip >> shift) == (net >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<Multiaddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn listen_addresses_are_announced_by_default() {
        let listening = addrs(&["/ip4/127.0.0.1/tcp/4001"]);
        assert_eq!(
            AnnounceConfig::default().addresses(&listening, false),
            listening
        );
    }

    #[test]
    fn announce_replaces_append_adds_and_no_announce_removes() {
        let config = AnnounceConfig {
            announce: addrs(&["/ip4/1.2.3.4/tcp/4001", "/ip4/10.1.2.3/tcp/4001"]),
            append: addrs(&["/dns4/example.net/tcp/4001", "/ip4/5.6.7.8/tcp/1"]),
            no_announce: addrs(&["/ip4/10.0.0.0/ipcidr/8", "/ip4/5.6.7.8/tcp/1"]),
        };
        let listening = addrs(&["/ip4/127.0.0.1/tcp/4001"]);
        assert_eq!(
            config.addresses(&listening, false),
            addrs(&["/ip4/1.2.3.4/tcp/4001", "/dns4/example.net/tcp/4001"])
        );
    }

    #[test]
    fn relay_addresses_are_announced_beside_announce() {
        let config = AnnounceConfig {
            announce: addrs(&["/ip4/1.2.3.4/tcp/4001"]),
            ..AnnounceConfig::default()
        };
        let circuit = "/ip4/5.6.7.8/udp/1/quic-v1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit";
        let listening = addrs(&["/ip4/127.0.0.1/tcp/4001", circuit]);
        assert_eq!(
            config.addresses(&listening, false),
            addrs(&["/ip4/1.2.3.4/tcp/4001", circuit])
        );
    }

    #[test]
    fn ipcidr_ranges_match_by_prefix() {
        let config = AnnounceConfig {
            no_announce: addrs(&["/ip4/127.0.0.0/ipcidr/30", "/ip6/fe80::/ipcidr/10"]),
            ..AnnounceConfig::default()
        };
        let listening = addrs(&[
            "/ip4/127.0.0.3/tcp/1",
            "/ip4/127.0.0.4/tcp/1",
            "/ip6/fe80::1/tcp/1",
            "/ip6/::1/tcp/1",
        ]);
        assert_eq!(
            config.addresses(&listening, false),
            addrs(&["/ip4/127.0.0.4/tcp/1", "/ip6/::1/tcp/1"])
        );
    }

    #[test]
    fn a_private_node_behind_a_relay_announces_no_public_direct_address() {
        let circuit = "/ip4/5.6.7.8/tcp/1/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit";
        let direct = ["/ip4/1.2.3.4/tcp/4001", "/ip4/192.168.1.5/tcp/4001"];
        let config = AnnounceConfig {
            append: addrs(&["/ip4/9.9.9.9/tcp/4001"]),
            ..AnnounceConfig::default()
        };
        let with_relay = addrs(&[direct[0], direct[1], circuit]);
        assert_eq!(
            config.addresses(&with_relay, true),
            addrs(&[direct[1], circuit, "/ip4/9.9.9.9/tcp/4001"]),
            "the public listen address goes, what AppendAnnounce names stays"
        );
        // Without a relay slot, or once public, every address is kept.
        let no_relay = addrs(&direct);
        assert_eq!(config.addresses(&no_relay, true).len(), 3);
        assert_eq!(config.addresses(&with_relay, false).len(), 4);
    }
}
