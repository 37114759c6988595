//! Delegated routing over HTTP: the client side of the `/routing/v1` API
//! (IPIP-337), as Kubo asks its `Routing.DelegatedRouters` (cid.contact by
//! default) beside the DHT. Blocking calls: the node runs them on tokio's
//! blocking pool.

use std::io::{BufRead, Read};
use std::time::Duration;

use libp2p::{Multiaddr, PeerId};

use crate::codec::cid::Cid;
use crate::ipns::Name;

/// One router's answer may take this long, all of it.
const ROUTER_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes read from one answer at most: a router streaming without end
/// is cut off here.
const ANSWER_LIMIT: u64 = 1 << 20;
/// Records taken from one answer at most.
const RECORDS_KEPT: usize = 100;
/// Addresses taken per record at most.
const ADDRS_KEPT: usize = 16;

/// A peer as a router describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutedPeer {
    pub peer: PeerId,
    pub addrs: Vec<Multiaddr>,
}

#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
}

/// The HTTP routers of `Routing.DelegatedRouters`.
#[derive(Clone)]
pub struct HttpRouters {
    urls: Vec<String>,
    agent: ureq::Agent,
}

impl HttpRouters {
    pub fn new(urls: Vec<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(ROUTER_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        HttpRouters {
            urls: urls
                .into_iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            agent,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }

    /// The providers of `cid` that speak bitswap (or say nothing of their
    /// protocols), from all routers at once, each handed to `found` as it
    /// arrives (a streamed answer is read as it comes), each peer once. A
    /// router that fails is logged and skipped; a slow one holds up no
    /// other.
    pub fn providers(&self, cid: &Cid, found: &(dyn Fn(RoutedPeer) + Sync)) {
        let path = format!("/routing/v1/providers/{cid}");
        let seen: std::sync::Mutex<Vec<PeerId>> = std::sync::Mutex::new(Vec::new());
        let each = |record: RoutedPeer| {
            let Ok(mut seen) = seen.lock() else {
                return false;
            };
            if seen.len() < RECORDS_KEPT && !seen.contains(&record.peer) {
                seen.push(record.peer);
                found(record);
            }
            seen.len() < RECORDS_KEPT
        };
        std::thread::scope(|scope| {
            for url in &self.urls {
                let (path, each) = (&path, &each);
                scope.spawn(move || {
                    if let Err(err) = self.ask(url, path, "Providers", &mut |r| each(r)) {
                        tracing::info!("delegated routing: {err}");
                    }
                });
            }
        });
    }

    /// `peer`'s addresses from the first router that knows them.
    pub fn peer(&self, peer: &PeerId) -> Option<RoutedPeer> {
        let name = Name::of_peer(*peer).to_string_of_base(multibase::Base::Base32Lower);
        let path = format!("/routing/v1/peers/{name}");
        for url in &self.urls {
            let mut answer = None;
            let mut each = |record: RoutedPeer| {
                if record.peer == *peer && !record.addrs.is_empty() {
                    answer = Some(record);
                }
                answer.is_none()
            };
            if let Err(err) = self.ask(url, &path, "Peers", &mut each) {
                tracing::info!("delegated routing: {err}");
            }
            if answer.is_some() {
                return answer;
            }
        }
        None
    }

    /// Hands each record of the answer to `each` until it returns false.
    /// 404 is an answer with none (the router knows nothing).
    fn ask(
        &self,
        url: &str,
        path: &str,
        field: &str,
        each: &mut dyn FnMut(RoutedPeer) -> bool,
    ) -> Result<(), RouterError> {
        let full = format!("{url}{path}");
        let failed = |reason: String| RouterError::Http {
            url: full.clone(),
            reason,
        };
        let mut response = self
            .agent
            .get(&full)
            .header("Accept", "application/x-ndjson, application/json")
            .call()
            .map_err(|e| failed(e.to_string()))?;
        match response.status().as_u16() {
            200 => {}
            404 => return Ok(()),
            status => return Err(failed(format!("status {status}"))),
        }
        let streamed = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-ndjson"));
        let body = response.body_mut().as_reader().take(ANSWER_LIMIT);
        if streamed {
            for line in std::io::BufReader::new(body).lines() {
                let line = line.map_err(|e| failed(format!("reading the answer: {e}")))?;
                let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if let Some(record) = routed_peer(&value)
                    && !each(record)
                {
                    break;
                }
            }
            return Ok(());
        }
        let mut text = String::new();
        let mut body = body;
        body.read_to_string(&mut text)
            .map_err(|e| failed(format!("reading the answer: {e}")))?;
        for record in parse_records(&text, field) {
            if !each(record) {
                break;
            }
        }
        Ok(())
    }
}

/// The peer records of a router's answer: a JSON object whose `field`
/// holds them, or NDJSON with one record per line (the last line may be
/// cut short). Records of other schemas, without a valid ID, or naming
/// protocols none of which is bitswap are left out.
pub fn parse_records(body: &str, field: &str) -> Vec<RoutedPeer> {
    let values: Vec<serde_json::Value> = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut object)) if object.contains_key(field) => {
            match object.remove(field) {
                Some(serde_json::Value::Array(records)) => records,
                _ => Vec::new(),
            }
        }
        _ => body
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect(),
    };
    values
        .iter()
        .filter_map(routed_peer)
        .take(RECORDS_KEPT)
        .collect()
}

fn routed_peer(record: &serde_json::Value) -> Option<RoutedPeer> {
    if record.get("Schema").and_then(|s| s.as_str()) != Some("peer") {
        return None;
    }
    let peer = parse_peer_id(record.get("ID")?.as_str()?)?;
    if let Some(protocols) = record.get("Protocols").and_then(|p| p.as_array())
        && !protocols.is_empty()
        && !protocols
            .iter()
            .any(|p| p.as_str() == Some("transport-bitswap"))
    {
        return None;
    }
    let addrs = record
        .get("Addrs")
        .and_then(|a| a.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|a| a.as_str()?.parse().ok())
        .take(ADDRS_KEPT)
        .collect();
    Some(RoutedPeer { peer, addrs })
}

/// A peer ID as routers write it: base58 (`12D3…`, `Qm…`) or a CIDv1 of
/// a libp2p key, as IPNS names are written.
fn parse_peer_id(text: &str) -> Option<PeerId> {
    Name::parse(text).ok().map(|name| name.peer_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: &str = "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq";

    #[test]
    fn json_and_ndjson_answers_give_the_same_records() {
        let record = format!(
            r#"{{"Schema":"peer","ID":"{PEER}","Addrs":["/ip4/127.0.0.1/tcp/4001","not an address"],"Protocols":["transport-bitswap"]}}"#
        );
        let json = format!(r#"{{"Providers":[{record}]}}"#);
        let ndjson = format!("{record}\n{record}\n{{\"Schema\":\"peer\",\"ID\":");
        let from_json = parse_records(&json, "Providers");
        assert_eq!(from_json.len(), 1);
        assert_eq!(from_json[0].peer.to_string(), PEER);
        assert_eq!(
            from_json[0].addrs,
            vec!["/ip4/127.0.0.1/tcp/4001".parse::<Multiaddr>().unwrap()]
        );
        assert_eq!(parse_records(&ndjson, "Providers")[0], from_json[0]);
    }

    #[test]
    fn records_not_for_bitswap_or_malformed_are_left_out() {
        let body = format!(
            r#"{{"Providers":[
              {{"Schema":"peer","ID":"{PEER}","Protocols":["transport-ipfs-gateway-http"]}},
              {{"Schema":"bitswap","ID":"{PEER}"}},
              {{"Schema":"peer","ID":"not a peer"}},
              {{"Schema":"peer"}},
              "text",
              {{"Schema":"peer","ID":"{PEER}","Protocols":[],"Addrs":"/ip4/1.2.3.4/tcp/1"}}
            ]}}"#
        );
        let found = parse_records(&body, "Providers");
        assert_eq!(found.len(), 1);
        assert!(found[0].addrs.is_empty());
    }

    #[test]
    fn peer_ids_as_cids_are_read() {
        let peer: PeerId = PEER.parse().unwrap();
        let text = Name::of_peer(peer).to_string_of_base(multibase::Base::Base32Lower);
        assert_eq!(parse_peer_id(&text), Some(peer));
    }

    #[test]
    fn arbitrary_answers_never_panic_and_stay_bounded() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        let pieces = [
            "{",
            "}",
            "[",
            "]",
            "\"Providers\"",
            ":",
            ",",
            "\"Schema\"",
            "\"peer\"",
            "\"ID\"",
            PEER,
            "\"Addrs\"",
            "\n",
            "null",
            "1e999",
            "\"/ip4/1.2.3.4/tcp/1\"",
        ];
        for _ in 0..2000 {
            let mut body = String::new();
            for _ in 0..40 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                body.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            assert!(parse_records(&body, "Providers").len() <= RECORDS_KEPT);
        }
        let many = format!(
            r#"{{"Schema":"peer","ID":"{PEER}"}}
"#
        )
        .repeat(1000);
        assert_eq!(parse_records(&many, "Providers").len(), RECORDS_KEPT);
    }
}
