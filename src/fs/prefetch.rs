//! Read-ahead for sequential readers: when a read comes close to the end of
//! what was already fetched, the next window of the file is loaded into the
//! block cache by a few worker threads in parallel (one slice each), so the
//! kernel's next reads find their leaves in memory.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};

use crate::codec::cid::{Cid, cid_string};
use crate::unixfs::reader::{FileReader, NodeCache};

/// How far ahead of the reader to fetch.
const WINDOW: u64 = 16 << 20;
/// One worker job: a slice of the window.
const SLICE: u64 = 1 << 20;
const WORKERS: usize = 8;

struct Job {
    cid: Cid,
    start: u64,
    end: u64,
}

pub struct Prefetcher {
    jobs: Mutex<Sender<Job>>,
    /// Per inode: the offset up to which fetches have been scheduled.
    scheduled: Mutex<HashMap<u64, u64>>,
}

impl Prefetcher {
    pub fn new(nodes: Arc<NodeCache>) -> Self {
        let (tx, rx) = channel::<Job>();
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
            jobs: Mutex::new(tx),
            scheduled: Mutex::new(HashMap::new()),
        }
    }

    /// Notes that `ino` (file `cid` of `size` bytes) was read up to `read_end`.
    pub fn advance(&self, ino: u64, cid: &Cid, read_end: u64, size: u64) {
        let Ok(mut scheduled) = self.scheduled.lock() else {
            return;
        };
        let until = scheduled.entry(ino).or_insert(0);
        // A seek far behind what was fetched restarts the window there.
        if read_end + 2 * WINDOW < *until {
            *until = read_end;
        }
        if read_end + WINDOW / 2 < *until {
            return;
        }
        let from = (*until).max(read_end);
        let to = (read_end + WINDOW).min(size);
        if from >= to {
            return;
        }
        *until = to;
        drop(scheduled);
        let Ok(jobs) = self.jobs.lock() else { return };
        let mut start = from;
        while start < to {
            let end = (start + SLICE).min(to);
            let _ = jobs.send(Job {
                cid: *cid,
                start,
                end,
            });
            start = end;
        }
    }
}

fn work(rx: &Mutex<Receiver<Job>>, nodes: &NodeCache) {
    loop {
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let fetched = FileReader::open_cached(nodes, &job.cid)
            .and_then(|reader| reader.read_range(job.start, job.end - job.start, &mut |_| Ok(())));
        if let Err(err) = fetched {
            tracing::debug!("prefetch of {} failed: {err}", cid_string(&job.cid));
        }
    }
}
