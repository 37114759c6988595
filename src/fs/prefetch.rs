//! Read-ahead for sequential readers: when a read comes close to the end of
//! what was already fetched for its reader, the next window of the file is
//! loaded into the node cache by a few worker threads in parallel (one
//! slice each), so the kernel's next reads find their leaves in memory.

use std::ops::Range;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::read_streams::{ReadStreams, SLICE, WINDOW};
use crate::codec::cid::{Cid, cid_string};
use crate::unixfs::reader::{FileReader, NodeCache};

const WORKERS: usize = 8;
/// Slices waiting for a worker at most, well above what the readers plan
/// ahead together: what does not fit is planned again by a later read, so
/// many readers of a slow source cannot grow the queue without bound.
const QUEUED: usize = (4 * WINDOW / SLICE) as usize;

struct Job {
    cid: Cid,
    range: Range<u64>,
}

pub struct Prefetcher {
    /// Locked together with the streams, so a refused slice is planned again.
    planning: Mutex<(ReadStreams<Cid>, SyncSender<Job>)>,
}

impl Prefetcher {
    pub fn new(nodes: Arc<NodeCache>) -> Self {
        let (tx, rx) = sync_channel::<Job>(QUEUED);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..WORKERS {
            let (rx, nodes) = (Arc::clone(&rx), Arc::clone(&nodes));
            let spawned = std::thread::Builder::new()
                .name(format!("prefetch-{i}"))
                .spawn(move || work(&rx, &nodes));
            if let Err(err) = spawned {
                tracing::warn!("no prefetch worker: {err}");
            }
        }
        Prefetcher {
            planning: Mutex::new((ReadStreams::default(), tx)),
        }
    }

    /// Notes that `range` of file `cid` (`size` bytes) was read.
    pub fn advance(&self, cid: &Cid, range: Range<u64>, size: u64) {
        let Ok(mut planning) = self.planning.lock() else {
            return;
        };
        let (streams, jobs) = &mut *planning;
        streams.read(*cid, range, size, Instant::now(), |range| {
            jobs.try_send(Job { cid: *cid, range }).is_ok()
        });
    }
}

fn work(rx: &Mutex<Receiver<Job>>, nodes: &NodeCache) {
    loop {
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(Job { cid, range }) = job else { return };
        let fetched = FileReader::open_cached(nodes, &cid).and_then(|reader| {
            reader.read_range(range.start, range.end - range.start, &mut |_| Ok(()))
        });
        if let Err(err) = fetched {
            tracing::debug!("prefetch of {} failed: {err}", cid_string(&cid));
        }
    }
}
