//! `/dnsaddr/<name>` expanded into the addresses it names: the TXT records
//! of `_dnsaddr.<name>` hold `dnsaddr=<multiaddr>` entries, which may name
//! other dnsaddrs. Every limit here is against hostile or broken DNS: how
//! deep names may nest, how many lookups one address may cost, how many
//! entries one answer may add. What is refused is logged and skipped; an
//! address nothing usable came out of is an error, never a panic.
//!
//! `/dns`, `/dns4` and `/dns6` are left in what this returns: the swarm's
//! DNS transport resolves them when it dials.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

use crate::names::DnsLinkLookup;

/// How many dnsaddr names may nest under the first one.
pub const MAX_DEPTH: usize = 8;
/// TXT lookups one address may cost in all.
pub const MAX_LOOKUPS: usize = 32;
/// Entries taken from one answer (those matching the address's suffix).
pub const MAX_ENTRIES: usize = 16;
/// Addresses one dnsaddr may expand into.
pub const MAX_ADDRS: usize = 64;
/// A TXT string longer than this is no address.
const MAX_ENTRY_LEN: usize = 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DnsaddrError {
    #[error("{addr}: no usable address in its dnsaddr records ({why})")]
    Nothing { addr: String, why: String },
}

/// The addresses `addr` stands for: itself when it holds no `/dnsaddr`,
/// else what its TXT records give, recursively, within `limit`.
pub fn expand(
    addr: &Multiaddr,
    dns: &dyn DnsLinkLookup,
    limit: Duration,
) -> Result<Vec<Multiaddr>, DnsaddrError> {
    let mut walk = Walk {
        dns,
        deadline: Instant::now() + limit,
        lookups: 0,
        found: Vec::new(),
        seen: HashSet::new(),
        last_problem: None,
        out_of_lookups: false,
    };
    walk.expand(addr.clone(), &mut Vec::new());
    if walk.found.is_empty() {
        return Err(DnsaddrError::Nothing {
            addr: addr.to_string(),
            why: walk
                .last_problem
                .unwrap_or_else(|| "no entry matches the address".into()),
        });
    }
    Ok(walk.found)
}

struct Walk<'a> {
    dns: &'a dyn DnsLinkLookup,
    deadline: Instant,
    lookups: usize,
    found: Vec<Multiaddr>,
    seen: HashSet<Multiaddr>,
    last_problem: Option<String>,
    out_of_lookups: bool,
}

impl Walk<'_> {
    fn refuse(&mut self, why: String) {
        tracing::warn!("dnsaddr: {why}");
        self.last_problem = Some(why);
    }

    /// `chain` holds the names being expanded above this one.
    fn expand(&mut self, addr: Multiaddr, chain: &mut Vec<String>) {
        let Some((at, name)) = first_dnsaddr(&addr) else {
            if self.found.len() >= MAX_ADDRS {
                self.refuse(format!("more than {MAX_ADDRS} addresses, {addr} dropped"));
            } else if self.seen.insert(addr.clone()) {
                self.found.push(addr);
            }
            return;
        };
        if chain.contains(&name) {
            self.refuse(format!("loop refused: {} -> {name}", chain.join(" -> ")));
            return;
        }
        if chain.len() > MAX_DEPTH {
            self.refuse(format!(
                "{name}: nested deeper than {MAX_DEPTH} names ({})",
                chain.join(" -> ")
            ));
            return;
        }
        if self.lookups >= MAX_LOOKUPS {
            // Said once: a wide tree would say it for every name left.
            if !self.out_of_lookups {
                self.out_of_lookups = true;
                self.refuse(format!(
                    "{name}: more than {MAX_LOOKUPS} lookups, the rest skipped"
                ));
            }
            return;
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.refuse(format!("{name}: out of time"));
            return;
        }
        self.lookups += 1;
        let record = format!("_dnsaddr.{name}");
        let texts = match self.dns.txt(&record, left) {
            Ok(answer) => answer.texts,
            Err(err) => {
                self.refuse(format!("{record}: {err}"));
                return;
            }
        };
        let prefix: Multiaddr = addr.iter().take(at).collect();
        let suffix: Multiaddr = addr.iter().skip(at + 1).collect();
        let entries = self.entries(&record, &texts, &suffix);
        chain.push(name);
        for entry in entries {
            self.expand(prefix.iter().chain(entry.iter()).collect(), chain);
        }
        chain.pop();
    }

    /// The `dnsaddr=` entries of one answer that end in `suffix` (the
    /// `/p2p/<peer>` the address asks for), at most [`MAX_ENTRIES`].
    fn entries(&mut self, record: &str, texts: &[String], suffix: &Multiaddr) -> Vec<Multiaddr> {
        let mut entries = Vec::new();
        for text in texts {
            let Some(value) = text.strip_prefix("dnsaddr=") else {
                continue;
            };
            if value.len() > MAX_ENTRY_LEN {
                self.refuse(format!(
                    "{record}: an entry of {} bytes is refused",
                    value.len()
                ));
                continue;
            }
            let entry = match value.parse::<Multiaddr>() {
                Ok(entry) => entry,
                Err(err) => {
                    self.refuse(format!("{record}: bad address {value:?}: {err}"));
                    continue;
                }
            };
            if entry.is_empty() {
                self.refuse(format!("{record}: an empty address"));
                continue;
            }
            if !entry.ends_with(suffix) {
                continue;
            }
            if entries.len() == MAX_ENTRIES {
                self.refuse(format!(
                    "{record}: more than {MAX_ENTRIES} entries, the rest ignored"
                ));
                break;
            }
            entries.push(entry);
        }
        entries
    }
}

/// Where the first `/dnsaddr` component is, and its name.
fn first_dnsaddr(addr: &Multiaddr) -> Option<(usize, String)> {
    addr.iter().enumerate().find_map(|(at, part)| match part {
        Protocol::Dnsaddr(name) => Some((at, name.trim_end_matches('.').to_ascii_lowercase())),
        _ => None,
    })
}

/// Whether `addr` holds a `/dnsaddr` component.
pub fn has_dnsaddr(addr: &Multiaddr) -> bool {
    first_dnsaddr(addr).is_some()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;
    use crate::names::TxtAnswer;

    /// TXT records from a table; counts lookups.
    #[derive(Default)]
    struct Zone {
        records: HashMap<String, Vec<String>>,
        asked: Mutex<usize>,
    }

    impl Zone {
        fn with(mut self, name: &str, texts: &[&str]) -> Self {
            self.records.insert(
                format!("_dnsaddr.{name}"),
                texts.iter().map(|t| t.to_string()).collect(),
            );
            self
        }

        fn asked(&self) -> usize {
            *self.asked.lock().unwrap()
        }
    }

    impl DnsLinkLookup for Zone {
        fn txt(&self, name: &str, _limit: Duration) -> Result<TxtAnswer, String> {
            *self.asked.lock().unwrap() += 1;
            match self.records.get(name) {
                Some(texts) => Ok(TxtAnswer {
                    texts: texts.clone(),
                    ttl: Duration::from_secs(60),
                }),
                None => Err(format!("{name} has no TXT record")),
            }
        }
    }

    const B: &str = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
    const OTHER: &str = "QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN";
    const LIMIT: Duration = Duration::from_secs(5);

    fn addr(text: &str) -> Multiaddr {
        text.parse().unwrap()
    }

    fn strings(addrs: &[Multiaddr]) -> Vec<String> {
        addrs.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn an_address_without_dnsaddr_is_itself() {
        let zone = Zone::default();
        let plain = addr("/dns4/example.test/tcp/4001");
        assert_eq!(expand(&plain, &zone, LIMIT).unwrap(), vec![plain]);
        assert_eq!(zone.asked(), 0);
    }

    #[test]
    fn entries_are_filtered_by_the_peer_asked_for() {
        let zone = Zone::default().with(
            "boot.test",
            &[
                &format!("dnsaddr=/ip4/127.0.0.3/tcp/4001/p2p/{B}"),
                &format!("dnsaddr=/ip4/127.0.0.3/udp/4001/quic-v1/p2p/{B}"),
                &format!("dnsaddr=/ip4/127.0.0.9/tcp/4001/p2p/{OTHER}"),
                "v=spf1 -all",
            ],
        );
        let got = expand(&addr(&format!("/dnsaddr/boot.test/p2p/{B}")), &zone, LIMIT).unwrap();
        assert_eq!(
            strings(&got),
            vec![
                format!("/ip4/127.0.0.3/tcp/4001/p2p/{B}"),
                format!("/ip4/127.0.0.3/udp/4001/quic-v1/p2p/{B}"),
            ]
        );
        let all = expand(&addr("/dnsaddr/boot.test"), &zone, LIMIT).unwrap();
        assert_eq!(all.len(), 3);
    }

    #[test]
    fn names_nest_and_the_name_is_case_and_dot_insensitive() {
        let zone = Zone::default()
            .with("top.test", &[&format!("dnsaddr=/dnsaddr/mid.test/p2p/{B}")])
            .with(
                "mid.test",
                &[&format!("dnsaddr=/dnsaddr/leaf.test/p2p/{B}")],
            )
            .with(
                "leaf.test",
                &[&format!("dnsaddr=/dns4/b.test/tcp/1/p2p/{B}")],
            );
        let got = expand(&addr(&format!("/dnsaddr/TOP.test./p2p/{B}")), &zone, LIMIT).unwrap();
        assert_eq!(strings(&got), vec![format!("/dns4/b.test/tcp/1/p2p/{B}")]);
    }

    #[test]
    fn a_loop_is_refused_and_what_else_resolves_is_kept() {
        let zone = Zone::default()
            .with(
                "a.test",
                &["dnsaddr=/dnsaddr/b.test", "dnsaddr=/ip4/127.0.0.2/tcp/1"],
            )
            .with("b.test", &["dnsaddr=/dnsaddr/a.test"]);
        let got = expand(&addr("/dnsaddr/a.test"), &zone, LIMIT).unwrap();
        assert_eq!(strings(&got), vec!["/ip4/127.0.0.2/tcp/1"]);
        assert_eq!(zone.asked(), 2);

        let only_loop = Zone::default().with("self.test", &["dnsaddr=/dnsaddr/self.test"]);
        let err = expand(&addr("/dnsaddr/self.test"), &only_loop, LIMIT).unwrap_err();
        assert!(err.to_string().contains("loop refused"), "{err}");
    }

    #[test]
    fn nesting_stops_at_the_depth_limit() {
        let mut zone = Zone::default();
        for level in 0..20 {
            zone = zone.with(
                &format!("n{level}.test"),
                &[&format!("dnsaddr=/dnsaddr/n{}.test", level + 1)],
            );
        }
        let err = expand(&addr("/dnsaddr/n0.test"), &zone, LIMIT).unwrap_err();
        assert!(err.to_string().contains("nested deeper than 8"), "{err}");
        assert_eq!(zone.asked(), MAX_DEPTH + 1);
    }

    #[test]
    fn a_wide_tree_stops_at_the_lookup_limit() {
        // Each name points at 16 others, all distinct: without a budget
        // this would be 16^8 lookups.
        struct Fanout(Mutex<usize>);
        impl DnsLinkLookup for Fanout {
            fn txt(&self, name: &str, _: Duration) -> Result<TxtAnswer, String> {
                *self.0.lock().unwrap() += 1;
                let texts = (0..16)
                    .map(|i| {
                        format!(
                            "dnsaddr=/dnsaddr/{i}.{}",
                            name.trim_start_matches("_dnsaddr.")
                        )
                    })
                    .collect();
                Ok(TxtAnswer {
                    texts,
                    ttl: Duration::ZERO,
                })
            }
        }
        let fanout = Fanout(Mutex::new(0));
        let err = expand(&addr("/dnsaddr/x.test"), &fanout, LIMIT).unwrap_err();
        assert!(err.to_string().contains("lookups"), "{err}");
        assert_eq!(*fanout.0.lock().unwrap(), MAX_LOOKUPS);
    }

    #[test]
    fn an_oversized_answer_is_cut() {
        let texts: Vec<String> = (0..1000)
            .map(|i| format!("dnsaddr=/ip4/127.0.{}.{}/tcp/1", i / 250, i % 250))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let zone = Zone::default().with("big.test", &refs);
        let got = expand(&addr("/dnsaddr/big.test"), &zone, LIMIT).unwrap();
        assert_eq!(got.len(), MAX_ENTRIES);

        let huge = format!("dnsaddr=/dns4/{}/tcp/1", "a".repeat(5000));
        let zone = Zone::default().with("huge.test", &[&huge]);
        let err = expand(&addr("/dnsaddr/huge.test"), &zone, LIMIT).unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
    }

    #[test]
    fn bad_entries_are_skipped_with_the_reason() {
        let zone = Zone::default().with(
            "bad.test",
            &[
                "dnsaddr=/ip4/999.1.1.1/tcp/1",
                "dnsaddr=not an address",
                "dnsaddr=",
                "dnsaddr=/p2p/not-a-peer",
                "dnsaddr=/ip4/127.0.0.1/tcp/99999",
            ],
        );
        let err = expand(&addr("/dnsaddr/bad.test"), &zone, LIMIT).unwrap_err();
        assert!(err.to_string().contains("bad address"), "{err}");

        let missing = expand(&addr("/dnsaddr/none.test"), &zone, LIMIT).unwrap_err();
        assert!(missing.to_string().contains("no TXT record"), "{missing}");
    }

    #[test]
    fn garbage_answers_never_panic() {
        // A cheap fuzz: random printable strings and random bytes behind
        // the prefix, through nesting.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let pieces = [
            "/ip4/",
            "/ip6/",
            "/tcp/",
            "/udp/",
            "/quic-v1",
            "/p2p/",
            "/dnsaddr/",
            "/dns4/",
            "g.test",
            "1",
            "::1",
            "127.0.0.1",
            "65536",
            B,
            "/",
            "%",
            "é",
            "\0",
        ];
        for round in 0..2000 {
            let mut texts = Vec::new();
            for _ in 0..(next() % 6) {
                let mut value = String::from("dnsaddr=");
                for _ in 0..(next() % 8) {
                    value.push_str(pieces[(next() % pieces.len() as u64) as usize]);
                }
                texts.push(value);
            }
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let zone = Zone::default()
                .with("g.test", &refs)
                .with("f.test", &["dnsaddr=/dnsaddr/g.test"]);
            let start = if round % 2 == 0 {
                "/dnsaddr/f.test"
            } else {
                "/dnsaddr/g.test"
            };
            let _ = expand(&addr(start), &zone, LIMIT);
            assert!(zone.asked() <= MAX_LOOKUPS);
        }
    }
}
