//! QUIC-v1 (libp2p-quic), with one change for go-libp2p peers: Kubo sends a
//! one-message stream (bitswap blocks, for one) by writing and closing it,
//! and its close on QUIC also stops its read side (quic-go `CancelRead`).
//! Our multistream-select answer on such a stream then fails with "sending
//! stopped by peer", and the message is thrown away with the stream. Over
//! yamux a write to a stream the peer half-closed succeeds and is ignored;
//! here, on streams the peer opened, a write the peer stopped reading is
//! likewise dropped instead of failing. Streams we open are left as they
//! are: there a stopped write is a real failure.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{AsyncRead, AsyncWrite};
use libp2p::core::ConnectedPoint;
use libp2p::core::muxing::{StreamMuxer, StreamMuxerEvent};
use libp2p::core::transport::Transport;
use libp2p::core::transport::map::Map;
use libp2p::identity::Keypair;
use libp2p::{PeerId, quic};

/// The QUIC transport for the swarm, its connections wrapped.
pub type QuicTransport = Map<quic::tokio::Transport, WrapFn>;
type WrapFn = fn((PeerId, quic::Connection), ConnectedPoint) -> (PeerId, Connection);

/// `max_streams`: streams a peer may have open at once on one connection.
pub fn transport(key: &Keypair, max_streams: usize) -> QuicTransport {
    let wrap: WrapFn = |(peer, connection), _| (peer, Connection(connection));
    let mut config = quic::Config::new(key);
    config.max_concurrent_stream_limit = u32::try_from(max_streams).unwrap_or(u32::MAX);
    quic::tokio::Transport::new(config).map(wrap)
}

pub struct Connection(quic::Connection);

impl StreamMuxer for Connection {
    type Substream = Substream;
    type Error = <quic::Connection as StreamMuxer>::Error;

    fn poll_inbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Substream, Self::Error>> {
        Pin::new(&mut self.0)
            .poll_inbound(cx)
            .map_ok(|stream| Substream {
                stream,
                opened_by_peer: true,
                peer_stopped_reading: false,
            })
    }

    fn poll_outbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Substream, Self::Error>> {
        Pin::new(&mut self.0)
            .poll_outbound(cx)
            .map_ok(|stream| Substream {
                stream,
                opened_by_peer: false,
                peer_stopped_reading: false,
            })
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Pin::new(&mut self.0).poll_close(cx)
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<StreamMuxerEvent, Self::Error>> {
        Pin::new(&mut self.0).poll(cx)
    }
}

pub struct Substream {
    stream: quic::Stream,
    opened_by_peer: bool,
    /// Set once a write found the peer's read side stopped: what we write
    /// after goes nowhere.
    peer_stopped_reading: bool,
}

impl Substream {
    /// Whether `result` is the peer having stopped reading a stream it
    /// opened; the stream's write side is a sink from then on.
    fn stopped_by_peer<T>(&mut self, result: &Poll<io::Result<T>>) -> bool {
        let stopped = self.opened_by_peer
            && matches!(result, Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::ConnectionReset);
        if stopped {
            tracing::trace!("a stream the peer opened was stopped; our writes are dropped");
            self.peer_stopped_reading = true;
        }
        stopped
    }
}

impl AsyncRead for Substream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Substream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.peer_stopped_reading {
            return Poll::Ready(Ok(buf.len()));
        }
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        if self.stopped_by_peer(&result) {
            return Poll::Ready(Ok(buf.len()));
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.peer_stopped_reading {
            return Poll::Ready(Ok(()));
        }
        let result = Pin::new(&mut self.stream).poll_flush(cx);
        if self.stopped_by_peer(&result) {
            return Poll::Ready(Ok(()));
        }
        result
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.peer_stopped_reading {
            return Poll::Ready(Ok(()));
        }
        let result = Pin::new(&mut self.stream).poll_close(cx);
        if self.stopped_by_peer(&result) {
            return Poll::Ready(Ok(()));
        }
        result
    }
}
