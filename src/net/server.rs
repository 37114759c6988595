//! Serving what peers want: worker threads take peers in turn from the
//! ledger, read the blocks off the async runtime, and queue one message at
//! a time on the peer's bounded outbox. A peer whose outbox is full waits
//! its next turn, so a slow reader holds up nobody else, and at most one
//! message per worker is being built at any time.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use libp2p::PeerId;
use tokio::sync::mpsc;

use super::ledger::{Ledger, Task, Wanted};
use super::message::{
    self, BlockPresence, DONT_HAVE, HAVE, MAX_BLOCK, Message, WANT_HAVE, Wantlist,
};
use crate::blockstore::Blockstore;
use crate::codec::Cid;

/// Payload per outgoing message, below the 4 MiB limit of receivers.
const REPLY_BYTES: usize = 2 << 20;
/// Wants taken from one peer per turn.
const BATCH: usize = 16;
const WORKERS: usize = 2;

struct State {
    ledger: Ledger<PeerId>,
    outboxes: HashMap<PeerId, mpsc::Sender<Message>>,
    stopped: bool,
}

struct Shared {
    state: Mutex<State>,
    work: Condvar,
}

pub struct Server {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl Server {
    pub fn start(store: Arc<dyn Blockstore>) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                ledger: Ledger::default(),
                outboxes: HashMap::new(),
                stopped: false,
            }),
            work: Condvar::new(),
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

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn connect(&self, peer: PeerId, outbox: mpsc::Sender<Message>) {
        self.state().outboxes.insert(peer, outbox);
    }

    pub fn disconnect(&self, peer: &PeerId) {
        let mut state = self.state();
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
        self.state().ledger.update(peer, &entries, list.full);
        self.shared.work.notify_all();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state().stopped = true;
        self.shared.work.notify_all();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

fn serve(shared: &Shared, store: &dyn Blockstore) {
    loop {
        let (peer, tasks, outbox) = {
            let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if state.stopped {
                    return;
                }
                let State {
                    ledger, outboxes, ..
                } = &mut *state;
                let batch = ledger.next_batch(BATCH, |peer| {
                    outboxes.get(peer).is_some_and(|o| o.capacity() > 0)
                });
                if let Some((peer, tasks)) = batch {
                    let Some(outbox) = outboxes.get(&peer).cloned() else {
                        continue;
                    };
                    break (peer, tasks, outbox);
                }
                // Nothing to do, or every peer with work has a full outbox.
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
        let unsent = answer(store, &tasks, &outbox);
        let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        state.ledger.record_sent(&peer, unsent.sent_bytes);
        if !unsent.tasks.is_empty() {
            let again: Vec<Wanted> = unsent
                .tasks
                .iter()
                .map(|t| Wanted {
                    cid: t.cid,
                    priority: 0,
                    cancel: false,
                    have_only: t.have_only,
                    send_dont_have: t.send_dont_have,
                })
                .collect();
            state.ledger.update(peer, &again, false);
        }
    }
}

struct Answered {
    sent_bytes: u64,
    /// What did not fit in the peer's outbox, to serve on its next turn.
    tasks: Vec<Task>,
}

/// Blocks for want-blocks, HAVE/DONT_HAVE for want-haves, in messages of at
/// most about `REPLY_BYTES`.
fn answer(store: &dyn Blockstore, tasks: &[Task], outbox: &mpsc::Sender<Message>) -> Answered {
    let mut reply = Message::default();
    let mut in_reply: Vec<Task> = Vec::new();
    let mut bytes = 0usize;
    let mut sent_bytes = 0u64;
    let mut flush = |reply: &mut Message, in_reply: &mut Vec<Task>, bytes: &mut usize| -> bool {
        if reply.payload.is_empty() && reply.block_presences.is_empty() {
            return true;
        }
        match outbox.try_send(std::mem::take(reply)) {
            Ok(()) => {
                sent_bytes += *bytes as u64;
                in_reply.clear();
                *bytes = 0;
                true
            }
            Err(_) => false,
        }
    };
    for (i, task) in tasks.iter().enumerate() {
        let block = if task.have_only {
            None
        } else {
            match store.get(&task.cid) {
                Ok(Some(block)) if block.len() <= MAX_BLOCK => Some(block),
                _ => None,
            }
        };
        let present = block.is_some() || (task.have_only && store.has(&task.cid).unwrap_or(false));
        let cid_bytes = task.cid.to_bytes();
        match block {
            Some(block) => {
                bytes += block.len();
                reply.payload.push(message::Block {
                    prefix: message::prefix_of(&task.cid),
                    data: block,
                });
            }
            None if present => reply.block_presences.push(BlockPresence {
                cid: cid_bytes,
                r#type: HAVE,
            }),
            None if task.send_dont_have => reply.block_presences.push(BlockPresence {
                cid: cid_bytes,
                r#type: DONT_HAVE,
            }),
            None => continue,
        }
        in_reply.push(*task);
        if bytes >= REPLY_BYTES && !flush(&mut reply, &mut in_reply, &mut bytes) {
            let mut tasks_left = std::mem::take(&mut in_reply);
            tasks_left.extend_from_slice(&tasks[i + 1..]);
            return Answered {
                sent_bytes,
                tasks: tasks_left,
            };
        }
    }
    if !flush(&mut reply, &mut in_reply, &mut bytes) {
        return Answered {
            sent_bytes,
            tasks: in_reply,
        };
    }
    Answered {
        sent_bytes,
        tasks: Vec::new(),
    }
}
