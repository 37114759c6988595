//! The name system over DNSLink, with TXT answers given by the test: chains,
//! the cache and its TTL, and the errors.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{DnsLinkLookup, NameError, NameSystem, ResolveOptions, TxtAnswer};
use crate::repo::{InitOptions, Repo};

const CID: &str = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";

/// TXT answers by fully qualified name; counts the lookups.
#[derive(Default)]
struct Zone {
    answers: HashMap<String, Result<TxtAnswer, String>>,
    asked: AtomicUsize,
}

impl Zone {
    fn with(mut self, domain: &str, texts: &[&str], ttl_secs: u64) -> Self {
        self.answers.insert(
            super::dnslink::txt_name(domain),
            Ok(TxtAnswer {
                texts: texts.iter().map(|t| t.to_string()).collect(),
                ttl: Duration::from_secs(ttl_secs),
            }),
        );
        self
    }

    fn failing(mut self, domain: &str) -> Self {
        self.answers.insert(
            super::dnslink::txt_name(domain),
            Err("request timed out".into()),
        );
        self
    }
}

impl DnsLinkLookup for Zone {
    fn txt(&self, name: &str, _limit: Duration) -> Result<TxtAnswer, String> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.answers
            .get(name)
            .cloned()
            .unwrap_or_else(|| Ok(TxtAnswer::default()))
    }
}

fn setup(zone: Zone) -> (tempfile::TempDir, Repo, Arc<Zone>, NameSystem) {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repo::init(dir.path(), &InitOptions::default()).unwrap();
    let zone = Arc::new(zone);
    let names = NameSystem::new(None, Some(Arc::clone(&zone) as Arc<dyn DnsLinkLookup>));
    (dir, repo, zone, names)
}

#[test]
fn a_chain_resolves_with_the_least_ttl_and_is_then_cached() {
    let zone = Zone::default()
        .with("a.example", &["dnslink=/ipns/b.example/sub"], 60)
        .with("b.example", &[&format!("dnslink=/ipfs/{CID}")], 10);
    let (_dir, repo, zone, names) = setup(zone);
    let opts = ResolveOptions::default();
    let first = names
        .resolve_path(&repo, "/ipns/a.example/x", &opts)
        .unwrap();
    assert_eq!(first.path, format!("/ipfs/{CID}/sub/x"));
    assert_eq!(first.ttl, Duration::from_secs(10));
    assert_eq!(zone.asked.load(Ordering::SeqCst), 2);

    let again = names
        .resolve_path(&repo, "/ipns/a.example/x", &opts)
        .unwrap();
    assert_eq!(again.path, first.path);
    assert!(again.ttl <= first.ttl && again.ttl > Duration::from_secs(8));
    assert_eq!(
        zone.asked.load(Ordering::SeqCst),
        2,
        "answered from the cache"
    );

    let fresh = ResolveOptions {
        nocache: true,
        ..ResolveOptions::default()
    };
    names
        .resolve_path(&repo, "/ipns/a.example", &fresh)
        .unwrap();
    assert_eq!(zone.asked.load(Ordering::SeqCst), 4, "--nocache asks again");

    let one_step = ResolveOptions {
        recursive: false,
        ..ResolveOptions::default()
    };
    assert_eq!(
        names
            .resolve(&repo, "/ipns/a.example/x", &one_step)
            .unwrap(),
        "/ipns/b.example/sub/x"
    );
}

#[test]
fn an_answer_without_ttl_is_asked_again_each_time() {
    let zone = Zone::default().with("zero.example", &[&format!("dnslink=/ipfs/{CID}")], 0);
    let (_dir, repo, zone, names) = setup(zone);
    for _ in 0..3 {
        names
            .resolve(&repo, "/ipns/zero.example", &ResolveOptions::default())
            .unwrap();
    }
    assert_eq!(zone.asked.load(Ordering::SeqCst), 3);
}

#[test]
fn each_failure_says_what_went_wrong() {
    let zone = Zone::default()
        .with("spf.example", &["v=spf1 -all"], 60)
        .with("junk.example", &["dnslink=/ipfs/junk"], 60)
        .failing("down.example");
    let (_dir, repo, zone, names) = setup(zone);
    let resolve = |path: &str| {
        names
            .resolve(&repo, path, &ResolveOptions::default())
            .unwrap_err()
    };
    assert!(matches!(resolve("/ipns/spf.example"), NameError::NoDnsLink(d) if d == "spf.example"));
    assert!(matches!(
        resolve("/ipns/none.example"),
        NameError::NoDnsLink(_)
    ));
    let junk = resolve("/ipns/junk.example");
    assert!(
        junk.to_string()
            .contains("_dnslink.junk.example holds \"dnslink=/ipfs/junk\""),
        "{junk}"
    );
    assert!(matches!(resolve("/ipns/down.example"), NameError::Dns(_)));
    let asked = zone.asked.load(Ordering::SeqCst);
    // Not a domain: refused without asking DNS.
    assert!(matches!(resolve("/ipns/localhost"), NameError::BadName(_)));
    assert!(matches!(
        resolve("/ipns/a b.example"),
        NameError::BadName(_)
    ));
    assert_eq!(zone.asked.load(Ordering::SeqCst), asked);
}
