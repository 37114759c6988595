//! Leaves hashed and stored on worker threads while the importing thread
//! reads the next chunks. Hashing is the largest cost of adding a file
//! (SHA-256 runs at ~1.8 GB/s on one core), and the layouts need only each
//! leaf's CID, in order: the leaves come back in the order they were read.
//! At most [`DEPTH`] leaves are in flight, so memory stays bounded; a file
//! of a single chunk is done on the importing thread, so the many small
//! files of a tree start no threads.

use std::collections::VecDeque;
use std::thread::Scope;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::builder::{Built, NodeBuilder};
use super::{Chunks, FileOptions, ImportError, Leaves};
use crate::blockstore::{Blockstore, BlockstoreError};
use crate::codec::unixfs_pb::DataType;
use crate::unixfs::chunker::Chunk;

/// Leaves read ahead of the one the layout waits for.
const DEPTH: usize = 8;
/// Hashers at most, whatever the number of cores.
const MAX_HASHERS: usize = 4;

type Done = Result<Built, ImportError>;

struct Job {
    chunk: Chunk,
    is_root: bool,
    done: Sender<Done>,
}

/// How the leaves of one layout are encoded.
#[derive(Clone, Copy)]
pub(crate) struct LeafForm {
    /// File (balanced) or Raw (trickle), when leaves are dag-pb.
    pub data_type: DataType,
    /// Whether a file's only leaf is its root (balanced), which then
    /// carries the metadata.
    pub root_if_alone: bool,
}

pub(crate) struct LeafPipeline<'scope, 'env, 'c, 'p> {
    scope: &'scope Scope<'scope, 'env>,
    store: &'env dyn Blockstore,
    opts: &'env FileOptions,
    form: LeafForm,
    chunks: Chunks<'c, 'p>,
    issued: u64,
    in_flight: VecDeque<Receiver<Done>>,
    jobs: Option<Sender<Job>>,
}

impl<'scope, 'env, 'c, 'p> LeafPipeline<'scope, 'env, 'c, 'p> {
    pub fn new(
        scope: &'scope Scope<'scope, 'env>,
        store: &'env dyn Blockstore,
        opts: &'env FileOptions,
        form: LeafForm,
        chunks: Chunks<'c, 'p>,
    ) -> Self {
        LeafPipeline {
            scope,
            store,
            opts,
            form,
            chunks,
            issued: 0,
            in_flight: VecDeque::new(),
            jobs: None,
        }
    }

    /// Reads the next chunk and hands it to a hasher (or, for a file of one
    /// chunk, makes its leaf here).
    fn issue(&mut self) -> Result<(), ImportError> {
        let Some(chunk) = self.chunks.take()? else {
            return Ok(());
        };
        let alone = self.issued == 0 && !self.chunks.has_more();
        let is_root = alone && self.form.root_if_alone;
        self.issued += 1;
        let (done, receiver) = bounded(1);
        if alone {
            let leaf = NodeBuilder::new(self.store, self.opts).leaf_owned(
                chunk,
                self.form.data_type,
                is_root,
            );
            let _ = done.send(leaf);
        } else {
            let job = Job {
                chunk,
                is_root,
                done,
            };
            self.hashers().send(job).map_err(|_| hashers_stopped())?;
        }
        self.in_flight.push_back(receiver);
        Ok(())
    }

    fn hashers(&mut self) -> &Sender<Job> {
        let (scope, store, opts, data_type) =
            (self.scope, self.store, self.opts, self.form.data_type);
        self.jobs.get_or_insert_with(|| {
            let (jobs, queue) = bounded::<Job>(DEPTH);
            let count = std::thread::available_parallelism()
                .map_or(2, usize::from)
                .clamp(1, MAX_HASHERS);
            for _ in 0..count {
                let queue = queue.clone();
                std::thread::Builder::new()
                    .name("leaf-hasher".into())
                    .spawn_scoped(scope, move || {
                        let builder = NodeBuilder::new(store, opts);
                        for job in queue {
                            let leaf = builder.leaf_owned(job.chunk, data_type, job.is_root);
                            // The importer gave up (an error elsewhere): nobody waits.
                            let _ = job.done.send(leaf);
                        }
                    })
                    .expect("spawn a leaf hasher");
            }
            jobs
        })
    }
}

fn hashers_stopped() -> ImportError {
    ImportError::Store(BlockstoreError::Other("the leaf hashers stopped".into()))
}

impl Leaves for LeafPipeline<'_, '_, '_, '_> {
    fn has_more(&self) -> bool {
        !self.in_flight.is_empty() || self.chunks.has_more()
    }

    fn next_leaf(&mut self, b: &NodeBuilder, first: bool) -> Result<Built, ImportError> {
        while self.in_flight.len() < DEPTH && self.chunks.has_more() {
            self.issue()?;
        }
        match self.in_flight.pop_front() {
            Some(leaf) => leaf.recv().map_err(|_| hashers_stopped())?,
            // An empty file: one empty leaf.
            None => b.leaf(&[], self.form.data_type, first && self.form.root_if_alone),
        }
    }
}
