//! What we send a peer, and the task that writes it. Our wants and our
//! replies have queues of their own, so replies to a peer that reads slowly
//! never push our wants out, and wants go first. Queued replies hold a
//! charge on one byte budget shared by every peer, which bounds the memory
//! the server can fill however many peers ask.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use libp2p::{PeerId, StreamProtocol};
use tokio::sync::mpsc;

use super::message::{self, Message};

/// Want messages queued per peer; when full, the periodic re-ask makes up
/// for what is dropped.
const WANT_MESSAGES: usize = 64;
/// Reply messages queued per peer (each about one block; the shared
/// budget caps the bytes).
const REPLY_MESSAGES: usize = 64;

/// Bytes of queued replies, across peers, with a cap.
pub struct ByteBudget {
    used: AtomicUsize,
    cap: usize,
}

/// Bytes counted against a [`ByteBudget`] until dropped.
pub struct Charge {
    budget: Arc<ByteBudget>,
    bytes: usize,
}

impl ByteBudget {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(ByteBudget {
            used: AtomicUsize::new(0),
            cap,
        })
    }

    pub fn has_room(&self) -> bool {
        self.used() < self.cap
    }

    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Charges `bytes` if there is room (a single charge may go past the
    /// cap, so any one message fits).
    pub fn charge(self: &Arc<Self>, bytes: usize) -> Option<Charge> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                (used < self.cap).then_some(used + bytes)
            })
            .ok()?;
        Some(Charge {
            budget: Arc::clone(self),
            bytes,
        })
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// A reply encoded by the thread that made it (the copy of its blocks'
/// bytes into the frame is done there, not on the runtime), so the blocks'
/// buffers go back at once.
pub struct Reply {
    frame: Vec<u8>,
    _charge: Charge,
}

#[cfg(test)]
impl Reply {
    pub fn into_message(self) -> Message {
        use prost::Message as _;
        Message::decode_length_delimited(self.frame.as_slice()).expect("a frame we encoded")
    }
}

enum Queued {
    Want(Message),
    Reply(Reply),
}

#[derive(Clone)]
pub struct Outbox {
    wants: mpsc::Sender<Message>,
    replies: mpsc::Sender<Reply>,
}

impl Outbox {
    /// Queues a want message; false when the peer's want queue is full.
    pub fn send_wants(&self, msg: Message) -> bool {
        self.wants.try_send(msg).is_ok()
    }

    pub fn has_room_for_replies(&self) -> bool {
        self.replies.capacity() > 0
    }

    /// Queues a reply of `bytes` block bytes; false (and nothing queued)
    /// when the peer's queue or the shared budget is full.
    pub fn send_reply(&self, msg: Message, bytes: usize, budget: &Arc<ByteBudget>) -> bool {
        let Ok(slot) = self.replies.try_reserve() else {
            return false;
        };
        let Some(charge) = budget.charge(bytes) else {
            return false;
        };
        slot.send(Reply {
            frame: message::encode(&msg),
            _charge: charge,
        });
        true
    }
}

#[cfg(test)]
impl Outbox {
    /// An outbox with no writer: the test reads the queues itself.
    pub fn unwritten(replies: usize) -> (Outbox, mpsc::Receiver<Message>, mpsc::Receiver<Reply>) {
        let (wants_tx, wants) = mpsc::channel(WANT_MESSAGES);
        let (replies_tx, replies_rx) = mpsc::channel(replies);
        let outbox = Outbox {
            wants: wants_tx,
            replies: replies_tx,
        };
        (outbox, wants, replies_rx)
    }
}

/// Starts the task writing `peer`'s messages on a bitswap stream it opens
/// (again if the stream breaks). It ends when every [`Outbox`] is dropped.
pub fn spawn_writer(
    control: libp2p_stream::Control,
    peer: PeerId,
    protocols: &'static [&'static str],
) -> Outbox {
    let (wants_tx, mut wants) = mpsc::channel::<Message>(WANT_MESSAGES);
    let (replies_tx, mut replies) = mpsc::channel::<Reply>(REPLY_MESSAGES);
    tokio::spawn(async move {
        let mut control = control;
        let mut stream: Option<libp2p::Stream> = None;
        loop {
            // A reply keeps its charge until it is written.
            let next = tokio::select! {
                biased;
                Some(msg) = wants.recv() => Queued::Want(msg),
                Some(reply) = replies.recv() => Queued::Reply(reply),
                else => break,
            };
            let want_frame;
            let frame = match &next {
                Queued::Want(msg) => {
                    want_frame = message::encode(msg);
                    &want_frame
                }
                Queued::Reply(reply) => &reply.frame,
            };
            for _attempt in 0..2 {
                if stream.is_none() {
                    stream = open_bitswap(&mut control, peer, protocols).await;
                }
                let Some(open) = stream.as_mut() else {
                    break;
                };
                match message::write_frame(open, frame).await {
                    Ok(()) => {
                        tracing::trace!("wrote {} bytes to {peer}", frame.len());
                        break;
                    }
                    Err(_) => stream = None,
                }
            }
        }
    });
    Outbox {
        wants: wants_tx,
        replies: replies_tx,
    }
}

async fn open_bitswap(
    control: &mut libp2p_stream::Control,
    peer: PeerId,
    protocols: &'static [&'static str],
) -> Option<libp2p::Stream> {
    for protocol in protocols {
        match control
            .open_stream(peer, StreamProtocol::new(protocol))
            .await
        {
            Ok(stream) => return Some(stream),
            Err(libp2p_stream::OpenStreamError::UnsupportedProtocol(_)) => continue,
            Err(err) => {
                tracing::debug!("bitswap stream to {peer}: {err}");
                return None;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_refuses_once_full_and_frees_what_is_written() {
        let budget = ByteBudget::new(100);
        let a = budget.charge(60).unwrap();
        let b = budget.charge(60).unwrap();
        assert_eq!(budget.used(), 120);
        assert!(!budget.has_room());
        assert!(budget.charge(1).is_none());
        drop(a);
        assert!(budget.has_room());
        drop(b);
        assert_eq!(budget.used(), 0);
    }
}
