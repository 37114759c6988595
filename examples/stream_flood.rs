//! A peer that opens as many bitswap streams as it can on one connection
//! and holds them, for the resource-limit test. Prints how many the node
//! let it open, then holds them until killed.
//!   stream_flood /ip4/…/tcp/…/p2p/<peer> COUNT

use std::time::Duration;

use futures::StreamExt;
use futures::future::join_all;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, StreamProtocol, noise, tcp, yamux};

const BITSWAP: &str = "/ipfs/bitswap/1.2.0";

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(count)) = (args.next(), args.next()) else {
        eprintln!("usage: stream_flood ADDR COUNT");
        std::process::exit(2);
    };
    let addr: Multiaddr = addr.parse().expect("address");
    let count: usize = count.parse().expect("count");
    let Some(Protocol::P2p(peer)) = addr.iter().last() else {
        panic!("the address must end in /p2p/<peer>");
    };
    let key = libp2p::identity::Keypair::generate_ed25519();
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, || {
            let mut config = yamux::Config::default();
            config.set_max_num_streams(3000);
            config
        })
        .expect("tcp")
        .with_behaviour(|_| libp2p_stream::Behaviour::new())
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    swarm.dial(addr).expect("dial");
    let mut control = swarm.behaviour().new_control();
    tokio::spawn(async move {
        loop {
            let event = swarm.select_next_some().await;
            if let libp2p::swarm::SwarmEvent::ConnectionClosed { cause, .. } = event {
                eprintln!("connection closed: {cause:?}");
            }
        }
    });
    // Open them all at once, each with a deadline: a refused stream either
    // fails or never completes.
    let attempts = (0..count).map(|_| {
        let mut control = control.clone();
        async move {
            tokio::time::timeout(
                Duration::from_secs(20),
                control.open_stream(peer, StreamProtocol::new(BITSWAP)),
            )
            .await
            .ok()
            .and_then(Result::ok)
        }
    });
    let held: Vec<_> = join_all(attempts).await.into_iter().flatten().collect();
    let _ = &mut control;
    println!("opened {} of {count}", held.len());
    tokio::time::sleep(Duration::from_secs(3600)).await;
    drop(held);
}
