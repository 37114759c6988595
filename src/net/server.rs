//! Serving what peers want: worker threads take peers in turn from the
//! ledger, read the blocks off the async runtime, and queue the replies on
//! the peer's bounded outbox. What does not fit (the peer's queue or the
//! shared byte budget is full) goes back to the ledger for the peer's next
//! turn, so a slow reader holds up nobody else.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use libp2p::PeerId;

use super::ledger::{Ledger, Task, Wanted};
use super::message::{
    self, BlockPresence, DONT_HAVE, HAVE, MAX_BLOCK, Message, WANT_HAVE, Wantlist,
};
use super::outbox::{ByteBudget, Outbox};
use super::stats::Stats;
use crate::blockstore::Blockstore;
use crate::codec::Cid;

/// Block bytes per outgoing message (one larger block goes alone, still
/// well under the 4 MiB receivers accept). About one default-sized block:
/// a receiver can use a block only once its whole message is in, and
/// Kubo's client fetches measurably faster from small messages (Kubo's
/// own server sends about one block per message).
const REPLY_BYTES: usize = 256 << 10;
/// Wants taken from one peer per turn.
const BATCH: usize = 16;
const WORKERS: usize = 2;
/// Reply bytes queued for all peers together.
const QUEUED_BYTES: usize = 64 << 20;

struct State {
    ledger: Ledger<PeerId>,
    outboxes: HashMap<PeerId, Outbox>,
    stopped: bool,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
    budget: Arc<ByteBudget>,
    stats: Arc<Stats>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct Server {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl Server {
    pub fn start(store: Arc<dyn Blockstore>, stats: Arc<Stats>) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                ledger: Ledger::default(),
                outboxes: HashMap::new(),
                stopped: false,
            }),
            work: Condvar::new(),
            budget: ByteBudget::new(QUEUED_BYTES),
            stats,
        });
        let workers = (0..WORKERS)
            .filter_map(|i| {
                let (shared, store) = (Arc::clone(&shared), Arc::clone(&store));
                std::thread::Builder::new()
                    .name(format!("bitswap-server-{i}"))
                    .spawn(move || serve(&shared, store.as_ref()))
                    .map_err(|err| tracing::warn!("no bitswap server worker: {err}"))
                    .ok()
            })
            .collect();
        Server { shared, workers }
    }

    pub fn connect(&self, peer: PeerId, outbox: Outbox) {
        self.shared.state().outboxes.insert(peer, outbox);
    }

    pub fn disconnect(&self, peer: &PeerId) {
        let mut state = self.shared.state();
        state.outboxes.remove(peer);
        state.ledger.remove_peer(peer);
    }

    pub fn wantlist(&self, peer: PeerId, list: &Wantlist) {
        let entries: Vec<Wanted> = list
            .entries
            .iter()
            .filter_map(|e| {
                Some(Wanted {
                    cid: Cid::try_from(e.block.as_slice()).ok()?,
                    priority: e.priority,
                    cancel: e.cancel,
                    have_only: e.want_type == WANT_HAVE,
                    send_dont_have: e.send_dont_have,
                })
            })
            .collect();
        tracing::trace!(
            "wantlist from {peer}: {} entries ({} cancels, {} want-haves), full {}",
            entries.len(),
            entries.iter().filter(|e| e.cancel).count(),
            entries.iter().filter(|e| !e.cancel && e.have_only).count(),
            list.full
        );
        self.shared.state().ledger.update(peer, &entries, list.full);
        self.shared.work.notify_all();
    }

    /// Block bytes `peer` sent us, for its ledger.
    pub fn received(&self, peer: PeerId, bytes: usize) {
        self.shared
            .state()
            .ledger
            .record_received(peer, bytes as u64);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.state().stopped = true;
        self.shared.work.notify_all();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn serve(shared: &Shared, store: &dyn Blockstore) {
    loop {
        let (peer, tasks, outbox) = {
            let mut state = shared.state();
            loop {
                if state.stopped {
                    return;
                }
                let State {
                    ledger, outboxes, ..
                } = &mut *state;
                let batch = shared
                    .budget
                    .has_room()
                    .then(|| {
                        ledger.next_batch(BATCH, |peer| {
                            outboxes.get(peer).is_some_and(Outbox::has_room_for_replies)
                        })
                    })
                    .flatten();
                if let Some((peer, tasks)) = batch {
                    let Some(outbox) = outboxes.get(&peer).cloned() else {
                        continue;
                    };
                    break (peer, tasks, outbox);
                }
                // Nothing to do, or every peer with work (or the budget)
                // is full: look again soon.
                let wait = if ledger.has_work() {
                    Duration::from_millis(5)
                } else {
                    Duration::from_millis(200)
                };
                state = shared
                    .work
                    .wait_timeout(state, wait)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
        };
        let answered = answer(store, &tasks, |msg, bytes| {
            let blocks = msg.payload.len();
            let queued = outbox.send_reply(msg, bytes, &shared.budget);
            if queued {
                shared.stats.sent(blocks, bytes);
            }
            queued
        });
        shared
            .state()
            .ledger
            .finish(&peer, &tasks, &answered.unsent, answered.sent_bytes);
    }
}

#[derive(Debug)]
struct Answered {
    sent_bytes: u64,
    /// What `send` refused, to serve on the peer's next turn.
    unsent: Vec<Task>,
}

enum Reply {
    Block(bytes::Bytes),
    Presence(i32),
    Nothing,
}

fn reply_to(store: &dyn Blockstore, task: &Task) -> Reply {
    if !task.have_only
        && let Ok(Some(block)) = store.get_shared(&task.cid)
        && block.len() <= MAX_BLOCK
    {
        return Reply::Block(block);
    }
    if task.have_only && store.has(&task.cid).unwrap_or(false) {
        Reply::Presence(HAVE)
    } else if task.send_dont_have {
        Reply::Presence(DONT_HAVE)
    } else {
        Reply::Nothing
    }
}

/// Blocks for want-blocks, HAVE/DONT_HAVE for want-haves, handed to `send`
/// (with their block bytes) in messages of at most `REPLY_BYTES` of blocks.
/// Stops at the first message `send` refuses.
fn answer(
    store: &dyn Blockstore,
    tasks: &[Task],
    mut send: impl FnMut(Message, usize) -> bool,
) -> Answered {
    let mut out = Outgoing::default();
    for (i, task) in tasks.iter().enumerate() {
        let answer = reply_to(store, task);
        if let Reply::Block(block) = &answer
            && out.bytes > 0
            && out.bytes + block.len() > REPLY_BYTES
            && !out.flush(&mut send, i)
        {
            return out.refused(tasks);
        }
        match answer {
            Reply::Block(data) => {
                out.bytes += data.len();
                out.reply.payload.push(message::Block {
                    prefix: message::prefix_of(&task.cid),
                    data,
                });
                // A full message goes at once rather than after the next
                // block is read.
                if out.bytes >= REPLY_BYTES && !out.flush(&mut send, i + 1) {
                    return out.refused(tasks);
                }
            }
            Reply::Presence(r#type) => out.reply.block_presences.push(BlockPresence {
                cid: task.cid.to_bytes(),
                r#type,
            }),
            Reply::Nothing => {}
        }
    }
    let empty = out.reply.payload.is_empty() && out.reply.block_presences.is_empty();
    if !empty && !out.flush(&mut send, tasks.len()) {
        return out.refused(tasks);
    }
    Answered {
        sent_bytes: out.sent_bytes,
        unsent: Vec::new(),
    }
}

/// The reply being filled, and what went before it.
#[derive(Default)]
struct Outgoing {
    reply: Message,
    /// Block bytes in `reply`.
    bytes: usize,
    sent_bytes: u64,
    /// tasks[first..] are in `reply` or not answered yet.
    first: usize,
}

impl Outgoing {
    /// Hands `reply` to `send`; on success the tasks before `next` are done.
    fn flush(&mut self, send: &mut impl FnMut(Message, usize) -> bool, next: usize) -> bool {
        if !send(std::mem::take(&mut self.reply), self.bytes) {
            return false;
        }
        self.sent_bytes += self.bytes as u64;
        self.bytes = 0;
        self.first = next;
        true
    }

    fn refused(self, tasks: &[Task]) -> Answered {
        Answered {
            sent_bytes: self.sent_bytes,
            unsent: tasks[self.first..].to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockstore::MemoryBlockstore;
    use crate::codec::cid::{CidBuilder, RAW};

    fn store_with(sizes: &[usize]) -> (MemoryBlockstore, Vec<Cid>) {
        let store = MemoryBlockstore::new();
        let cids = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                let data = vec![i as u8; size];
                let cid = CidBuilder::v1().cid_of(RAW, &data);
                store.put(&cid, &data).unwrap();
                cid
            })
            .collect();
        (store, cids)
    }

    fn missing(n: u8) -> Cid {
        CidBuilder::v1().cid_of(RAW, &[n, n, n])
    }

    #[test]
    fn blocks_are_packed_under_the_message_limit() {
        let half = REPLY_BYTES / 2 - 10;
        let (store, cids) = store_with(&[half; 5]);
        let tasks: Vec<Task> = cids.iter().map(|c| Task::new(*c, false, false)).collect();
        let mut sizes = Vec::new();
        let answered = answer(&store, &tasks, |msg, bytes| {
            assert_eq!(
                bytes,
                msg.payload.iter().map(|b| b.data.len()).sum::<usize>()
            );
            sizes.push(bytes);
            true
        });
        assert_eq!(sizes, [2 * half, 2 * half, half]);
        assert_eq!(answered.sent_bytes, 5 * half as u64);
        assert!(answered.unsent.is_empty());
        // The largest block allowed goes alone.
        let (store, cids) = store_with(&[100, MAX_BLOCK, 100]);
        let tasks: Vec<Task> = cids.iter().map(|c| Task::new(*c, false, false)).collect();
        let mut sizes = Vec::new();
        answer(&store, &tasks, |_, bytes| {
            sizes.push(bytes);
            true
        });
        assert_eq!(sizes, [100, MAX_BLOCK, 100]);
    }

    #[test]
    fn a_full_message_goes_before_the_next_block_is_read() {
        let (store, cids) = store_with(&[REPLY_BYTES + 14; 3]);
        let counted = crate::blockstore::suite::Counted::default();
        for cid in &cids {
            counted.put(cid, &store.get(cid).unwrap().unwrap()).unwrap();
        }
        let tasks: Vec<Task> = cids.iter().map(|c| Task::new(*c, false, false)).collect();
        // Reads done by the time of each send.
        let mut reads_at_send = Vec::new();
        let answered = answer(&counted, &tasks, |_, _| {
            reads_at_send.push(counted.gets());
            true
        });
        assert_eq!(reads_at_send, [1, 2, 3]);
        assert!(answered.unsent.is_empty());
        // A refused message leaves its block and the rest for later.
        let answered = answer(&store, &tasks, |_, _| false);
        assert_eq!(answered.unsent.len(), 3);
        let mut sends = 0;
        let answered = answer(&store, &tasks, |_, _| {
            sends += 1;
            sends == 1
        });
        assert_eq!(answered.unsent, tasks[1..]);
    }

    #[test]
    fn presences_are_sent_when_asked_for() {
        let (store, cids) = store_with(&[10]);
        let tasks = [
            Task::new(cids[0], true, false),
            Task::new(missing(1), true, true),
            Task::new(missing(2), true, false),
            Task::new(missing(3), false, true),
            Task::new(missing(4), false, false),
        ];
        let mut sent = Vec::new();
        answer(&store, &tasks, |msg, _| {
            sent.push(msg);
            true
        });
        assert_eq!(sent.len(), 1);
        let presences: Vec<(Cid, i32)> = sent[0]
            .block_presences
            .iter()
            .map(|p| (Cid::try_from(p.cid.as_slice()).unwrap(), p.r#type))
            .collect();
        assert_eq!(
            presences,
            [
                (cids[0], HAVE),
                (missing(1), DONT_HAVE),
                (missing(3), DONT_HAVE)
            ]
        );
        assert!(sent[0].payload.is_empty());
        // Nothing to say: nothing sent.
        let quiet = [Task::new(missing(5), false, false)];
        answer(&store, &quiet, |_, _| panic!("nothing to send"));
    }

    #[test]
    fn a_peer_that_does_not_read_holds_up_no_one() {
        use super::super::message::{Entry, WANT_BLOCK};
        use std::collections::HashSet;
        use std::time::Instant;

        let (store, cids) = store_with(&[100_000; 200]);
        let server = Server::start(Arc::new(store), Arc::new(Stats::default()));
        let (stuck, reader) = (PeerId::random(), PeerId::random());
        let (stuck_box, _wants, _never_read) = Outbox::unwritten(2);
        let (reader_box, _wants, mut replies) = Outbox::unwritten(2);
        server.connect(stuck, stuck_box);
        server.connect(reader, reader_box);
        let entries = cids
            .iter()
            .map(|cid| Entry {
                block: cid.to_bytes(),
                priority: 1,
                cancel: false,
                want_type: WANT_BLOCK,
                send_dont_have: false,
            })
            .collect();
        let list = Wantlist {
            entries,
            full: false,
        };
        server.wantlist(stuck, &list);
        server.wantlist(reader, &list);
        let mut got = HashSet::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while got.len() < cids.len() {
            assert!(Instant::now() < deadline, "only {} blocks", got.len());
            match replies.try_recv() {
                Ok(reply) => {
                    for block in reply.into_message().payload {
                        got.insert(message::cid_for(&block.prefix, &block.data).unwrap());
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        assert_eq!(got, cids.into_iter().collect::<HashSet<_>>());
    }

    #[test]
    fn what_a_full_queue_refuses_is_handed_back() {
        let (store, cids) = store_with(&[1_500_000; 4]);
        let tasks: Vec<Task> = cids.iter().map(|c| Task::new(*c, false, false)).collect();
        let mut room = 2;
        let answered = answer(&store, &tasks, |_, _| {
            room -= 1;
            room >= 0
        });
        assert_eq!(answered.sent_bytes, 3_000_000);
        assert_eq!(answered.unsent, tasks[2..]);
    }
}
