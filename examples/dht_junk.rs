//! A hostile DHT peer, for the bad-input test: on a node's DHT protocol it
//! sends garbage, an oversized message, malformed protobuf, a provider
//! record in another peer's name, a provider record for content it does
//! not have, and a flood of provider records; after each it checks the node
//! still answers. Prints one line a check, then stays up (serving nothing)
//! until killed, so a fetcher that believes its record dials it in vain.
//!   dht_junk /ip4/…/tcp/…/p2p/<peer> PROTOCOL LISTEN_ADDR LIE_CID

use std::time::Duration;

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId, Stream, StreamProtocol, noise, tcp, yamux};
use prost::Message as _;
use sha2::Digest;

const ADD_PROVIDER: i32 = 2;
const FIND_NODE: i32 = 4;
/// Provider records sent in the flood, all on one stream.
const FLOOD: usize = 20_000;
const LIMIT: Duration = Duration::from_secs(20);

#[derive(Clone, PartialEq, prost::Message)]
struct KadMessage {
    #[prost(int32, tag = "1")]
    kind: i32,
    #[prost(bytes = "vec", tag = "2")]
    key: Vec<u8>,
    #[prost(message, repeated, tag = "8")]
    closer_peers: Vec<KadPeer>,
    #[prost(message, repeated, tag = "9")]
    provider_peers: Vec<KadPeer>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct KadPeer {
    #[prost(bytes = "vec", tag = "1")]
    id: Vec<u8>,
    #[prost(bytes = "vec", repeated, tag = "2")]
    addrs: Vec<Vec<u8>>,
}

fn framed(message: &KadMessage) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut buf = unsigned_varint::encode::usize_buffer();
    let mut out = unsigned_varint::encode::usize(body.len(), &mut buf).to_vec();
    out.extend(body);
    out
}

struct Target {
    control: libp2p_stream::Control,
    peer: PeerId,
    protocol: StreamProtocol,
}

impl Target {
    async fn open(&mut self) -> Stream {
        tokio::time::timeout(
            LIMIT,
            self.control.open_stream(self.peer, self.protocol.clone()),
        )
        .await
        .expect("a stream opens in time")
        .expect("a stream opens")
    }

    /// Writes `bytes` (errors ignored: the node may close first), then
    /// says whether the node closed the stream without answering.
    async fn closed_after(&mut self, bytes: &[u8]) -> bool {
        let mut stream = self.open().await;
        let _ = stream.write_all(bytes).await;
        let _ = stream.flush().await;
        let mut answer = [0u8; 1];
        matches!(
            tokio::time::timeout(LIMIT, stream.read(&mut answer)).await,
            Ok(Ok(0) | Err(_))
        )
    }

    /// Sends a request and reads its answer.
    async fn ask(&mut self, request: &KadMessage) -> KadMessage {
        let mut stream = self.open().await;
        stream
            .write_all(&framed(request))
            .await
            .expect("request sent");
        stream.flush().await.expect("request flushed");
        tokio::time::timeout(LIMIT, read_message(&mut stream))
            .await
            .expect("an answer in time")
    }

    /// FIND_NODE still answered: how many peers it gave.
    async fn still_answers(&mut self) -> usize {
        let answer = self
            .ask(&KadMessage {
                kind: FIND_NODE,
                key: PeerId::random().to_bytes(),
                ..Default::default()
            })
            .await;
        answer.closer_peers.len()
    }
}

async fn read_message(stream: &mut Stream) -> KadMessage {
    let mut len = 0usize;
    for shift in (0..).step_by(7).take(4) {
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await.expect("a length");
        len |= ((byte[0] & 0x7f) as usize) << shift;
        if byte[0] & 0x80 == 0 {
            break;
        }
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await.expect("a message");
    KadMessage::decode(body.as_slice()).expect("a valid answer")
}

fn provider_record(key: Vec<u8>, provider: PeerId, addr: &Multiaddr) -> KadMessage {
    KadMessage {
        kind: ADD_PROVIDER,
        key,
        provider_peers: vec![KadPeer {
            id: provider.to_bytes(),
            addrs: vec![addr.to_vec()],
        }],
        ..Default::default()
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, protocol, listen, lie] = args.as_slice() else {
        eprintln!("usage: dht_junk ADDR PROTOCOL LISTEN_ADDR LIE_CID");
        std::process::exit(2);
    };
    let addr: Multiaddr = addr.parse().expect("address");
    let listen: Multiaddr = listen.parse().expect("listen address");
    let lie: cid::Cid = lie.parse().expect("CID");
    let Some(Protocol::P2p(peer)) = addr.iter().last() else {
        panic!("the address must end in /p2p/<peer>");
    };
    let key = libp2p::identity::Keypair::generate_ed25519();
    let me = key.public().to_peer_id();
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
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    swarm.listen_on(listen.clone()).expect("listen");
    swarm.dial(addr).expect("dial");
    let control = swarm.behaviour().new_control();
    tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    });
    let mut target = Target {
        control,
        peer,
        protocol: StreamProtocol::try_from_owned(protocol.clone()).expect("protocol"),
    };

    // A length, then bytes that are no protobuf (field 0, wire type 7).
    let mut garbage = vec![200u8, 1];
    garbage.extend((0..200u32).map(|i| if i == 0 { 0x07 } else { (i * 7919 % 251) as u8 }));
    println!("garbage closed: {}", target.closed_after(&garbage).await);

    // Says 64 MiB are coming, sends 1 MiB: the node must not wait to
    // buffer the rest.
    let mut buf = unsigned_varint::encode::usize_buffer();
    let mut oversized = unsigned_varint::encode::usize(64 << 20, &mut buf).to_vec();
    oversized.extend(vec![0u8; 1 << 20]);
    println!(
        "oversized closed: {}",
        target.closed_after(&oversized).await
    );

    let mut malformed = vec![12u8];
    malformed.extend([
        0x0f, 0xff, 0xff, 0xff, 0xff, 0x1a, 0x7f, 0x01, 0x02, 0x03, 0x04, 0x05,
    ]);
    println!(
        "malformed closed: {}",
        target.closed_after(&malformed).await
    );

    let unknown = framed(&KadMessage {
        kind: 99,
        key: vec![1, 2, 3],
        ..Default::default()
    });
    println!(
        "unknown type closed: {}",
        target.closed_after(&unknown).await
    );
    println!("answers after junk: {}", target.still_answers().await);

    // A record in another peer's name, then one in ours for content we
    // lack; the test asks the node which it kept.
    let spoofed = cid::Cid::new_v1(
        0x55,
        cid::multihash::Multihash::wrap(0x12, &sha2::Sha256::digest(me.to_bytes()))
            .expect("a sha2-256 digest fits"),
    );
    let someone_else = PeerId::random();
    let mut stream = target.open().await;
    for record in [
        provider_record(spoofed.hash().to_bytes(), someone_else, &listen),
        provider_record(lie.hash().to_bytes(), me, &listen),
    ] {
        stream.write_all(&framed(&record)).await.expect("sent");
    }
    stream.close().await.expect("closed");
    println!("liar: {me}");
    println!("spoofed: {spoofed} {someone_else}");

    let mut stream = target.open().await;
    let mut flood = Vec::new();
    for i in 0..FLOOD {
        let key = format!("flood {i}").into_bytes();
        flood.extend(framed(&provider_record(key, me, &listen)));
    }
    let sent = stream.write_all(&flood).await.is_ok() && stream.close().await.is_ok();
    println!("flood of {FLOOD} sent: {sent}");
    println!("answers after the flood: {}", target.still_answers().await);
    println!("ready");
    tokio::time::sleep(Duration::from_secs(3600)).await;
}
