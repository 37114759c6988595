//! The file importer: chunks a byte stream and builds the file DAG with the
//! balanced (Kubo's default) or trickle layout, byte-identical to Kubo.

mod balanced;
mod builder;
mod pipeline;
mod trickle;

use std::io::Read;

use super::chunker::{Chunk, Chunker, ChunkerSpec};
use crate::blockstore::{Blockstore, BlockstoreError};
use crate::codec::cid::{Cid, CidBuilder};
use crate::codec::unixfs_pb::{DataType, UnixTime};

pub use builder::{Built, NodeBuilder};

/// Links per internal file node: 8192 / (34 + 8 + 5), as boxo computes it.
pub const DEFAULT_MAX_LINKS: usize = 174;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Balanced,
    Trickle,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileOptions {
    pub cid: CidBuilder,
    pub raw_leaves: bool,
    pub chunker: ChunkerSpec,
    pub layout: Layout,
    pub max_links: usize,
    /// UnixFS 1.5 metadata, stored on the file's root node only. A raw
    /// block cannot hold it, so callers turn raw leaves off when setting it
    /// (as Kubo ≥ 0.30 does).
    pub mode: Option<u32>,
    pub mtime: Option<UnixTime>,
}

impl FileOptions {
    /// `ipfs add` with no flags: CIDv0, size-262144, balanced, dag-pb leaves.
    pub fn kubo_defaults() -> Self {
        FileOptions {
            cid: CidBuilder::default(),
            raw_leaves: false,
            chunker: ChunkerSpec::default(),
            layout: Layout::Balanced,
            max_links: DEFAULT_MAX_LINKS,
            mode: None,
            mtime: None,
        }
    }
}

impl Default for FileOptions {
    fn default() -> Self {
        Self::kubo_defaults()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportedFile {
    pub cid: Cid,
    /// Cumulative DAG size: what a parent link records as Tsize.
    pub size: u64,
    pub filesize: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the input: {0}")]
    Read(#[source] std::io::Error),
    #[error(transparent)]
    Store(#[from] BlockstoreError),
}

pub fn import_file(
    store: &dyn Blockstore,
    reader: &mut dyn Read,
    opts: &FileOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportedFile, ImportError> {
    let chunks = Chunks::new(opts.chunker.chunker(reader), progress)?;
    let built = std::thread::scope(|scope| {
        let mut builder = builder::NodeBuilder::new(store, opts);
        let form = |data_type, root_if_alone| pipeline::LeafForm {
            data_type,
            root_if_alone,
        };
        match opts.layout {
            Layout::Balanced => {
                let form = form(DataType::File, true);
                let mut leaves = pipeline::LeafPipeline::new(scope, store, opts, form, chunks);
                balanced::build(&mut builder, &mut leaves)
            }
            Layout::Trickle => {
                let form = form(DataType::Raw, false);
                let mut leaves = pipeline::LeafPipeline::new(scope, store, opts, form, chunks);
                trickle::build(&mut builder, &mut leaves)
            }
        }
    })?;
    Ok(ImportedFile {
        cid: built.cid,
        size: built.size,
        filesize: built.filesize,
    })
}

/// The chunk stream with one chunk of look-ahead: the layouts must know
/// whether more data follows before they can finish a node.
pub(crate) struct Chunks<'c, 'p> {
    chunker: Box<dyn Chunker + 'c>,
    next: Option<Chunk>,
    progress: &'p mut dyn FnMut(u64),
}

impl<'c, 'p> Chunks<'c, 'p> {
    fn new(
        mut chunker: Box<dyn Chunker + 'c>,
        progress: &'p mut dyn FnMut(u64),
    ) -> Result<Self, ImportError> {
        let next = chunker.next_chunk_with_room().map_err(ImportError::Read)?;
        Ok(Chunks {
            chunker,
            next,
            progress,
        })
    }

    pub fn has_more(&self) -> bool {
        self.next.is_some()
    }

    pub fn take(&mut self) -> Result<Option<Chunk>, ImportError> {
        let Some(chunk) = self.next.take() else {
            return Ok(None);
        };
        self.next = self
            .chunker
            .next_chunk_with_room()
            .map_err(ImportError::Read)?;
        (self.progress)(chunk.len() as u64);
        Ok(Some(chunk))
    }
}

/// Where the balanced layout gets its leaves: fresh chunks of a stream, or
/// (when editing a file) leaves reused from an earlier version.
pub trait Leaves {
    fn has_more(&self) -> bool;
    /// The next leaf, stored. `first` is true for the first leaf, which is
    /// the file's root if no other follows.
    fn next_leaf(&mut self, b: &NodeBuilder, first: bool) -> Result<Built, ImportError>;
}

/// Builds a balanced file DAG from `leaves` (see [`Leaves`]).
pub fn build_balanced(
    store: &dyn Blockstore,
    opts: &FileOptions,
    leaves: &mut dyn Leaves,
) -> Result<ImportedFile, ImportError> {
    let mut builder = builder::NodeBuilder::new(store, opts);
    let built = balanced::build(&mut builder, leaves)?;
    Ok(ImportedFile {
        cid: built.cid,
        size: built.size,
        filesize: built.filesize,
    })
}
