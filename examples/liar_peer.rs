//! A hostile bitswap peer, for tests: it answers every want with bytes that
//! do not hash to the CID asked for. Prints its address, then serves until
//! killed; logs each lie on stderr.
//!   liar_peer PORT

use futures::StreamExt;
use libp2p::{StreamProtocol, noise, tcp, yamux};
use rsipfs::codec::cid::Cid;
use rsipfs::net::message::{Block, Message, prefix_of, read_message, write_message};

const BITSWAP: &str = "/ipfs/bitswap/1.2.0";

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("usage: liar_peer PORT");
    let key = libp2p::identity::Keypair::generate_ed25519();
    let peer_id = key.public().to_peer_id();
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .expect("tcp")
        .with_behaviour(|_| libp2p_stream::Behaviour::new())
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(std::time::Duration::from_secs(300)))
        .build();
    let addr = format!("/ip4/127.0.0.1/tcp/{port}");
    swarm
        .listen_on(addr.parse().expect("address"))
        .expect("listen");
    println!("{addr}/p2p/{peer_id}");
    let control = swarm.behaviour().new_control();
    let mut incoming = control
        .clone()
        .accept(StreamProtocol::new(BITSWAP))
        .expect("accept");
    tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    });
    while let Some((peer, mut stream)) = incoming.next().await {
        let mut control = control.clone();
        tokio::spawn(async move {
            while let Ok(Some(msg)) = read_message(&mut stream).await {
                let Some(list) = msg.wantlist else { continue };
                let payload: Vec<Block> = list
                    .entries
                    .iter()
                    .filter(|e| !e.cancel)
                    .filter_map(|e| Cid::try_from(e.block.as_slice()).ok())
                    .map(|cid| {
                        eprintln!("lied about {cid}");
                        Block {
                            prefix: prefix_of(&cid),
                            data: b"these bytes are not the block".to_vec().into(),
                        }
                    })
                    .collect();
                if payload.is_empty() {
                    continue;
                }
                if let Ok(mut out) = control
                    .open_stream(peer, StreamProtocol::new(BITSWAP))
                    .await
                {
                    let lie = Message {
                        payload,
                        ..Message::default()
                    };
                    let _ = write_message(&mut out, &lie).await;
                }
            }
        });
    }
}
