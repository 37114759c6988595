//! A bare DHT peer, for tests: puts raw bytes as the IPNS record of a
//! name, or counts how many of the values peers serve for a name equal
//! given bytes. It judges nothing itself, so it can send what an honest
//! node would not.
//!   dht_value put PEER_ADDR NAME FILE   → "taken N"
//!   dht_value get PEER_ADDR NAME FILE   → "served N of M"

use std::sync::Arc;
use std::time::Duration;

use rsipfs::blockstore::MemoryBlockstore;
use rsipfs::ipns::Name;
use rsipfs::net::{NetConfig, VALUES_ENOUGH, start};

const LIMIT: Duration = Duration::from_secs(20);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, peer, name, file] = args.as_slice() else {
        eprintln!("usage: dht_value put|get PEER_ADDR NAME FILE");
        std::process::exit(2);
    };
    let peer = peer.parse().expect("peer address");
    let name = Name::parse(name).expect("name");
    let bytes = std::fs::read(file).expect("read the value file");
    let node = start(
        NetConfig {
            keypair: libp2p::identity::Keypair::generate_ed25519(),
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("address")],
            bootstrap: Vec::new(),
            dns: rsipfs::names::dns::system(),
            watermarks: None,
            peering: Vec::new(),
            limits: rsipfs::net::limits::Limits::system_defaults(),
            announce: Default::default(),
            providers: Arc::new(rsipfs::net::providers::MemoryProviders::default()),
            routing: Default::default(),
            reach: Default::default(),
        },
        Arc::new(MemoryBlockstore::new()),
    )
    .expect("start the node");
    node.handle.connect(&peer, LIMIT).expect("connect");
    match mode.as_str() {
        "put" => {
            let taken = node
                .handle
                .put_value(name.routing_key(), bytes, LIMIT)
                .expect("put");
            println!("taken {taken}");
        }
        "get" => {
            let values = node
                .handle
                .get_values(name.routing_key(), VALUES_ENOUGH, LIMIT)
                .expect("get");
            let same = values.iter().filter(|v| **v == bytes).count();
            println!("served {same} of {}", values.len());
        }
        other => panic!("unknown mode {other}"),
    }
}
