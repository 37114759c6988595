//! The bytes of one MFS file while it is being edited, and their import.
//!
//! A file is in one of three states:
//! - `Clean`: exactly a stored DAG.
//! - `Appending`: written sequentially from offset 0 since it was created or
//!   truncated to zero (`cp`, `tar x`, shell redirection). Small files stay
//!   in memory; past [`STREAM_AFTER`] bytes the import runs on a background
//!   thread as the data arrives, so a copy costs about what `add` costs.
//! - `Editing`: any other write. Changed 256 KiB chunks are held in memory
//!   over the previous DAG; committing re-hashes only those chunks and reuses
//!   the leaves of every unchanged one.
//!
//! Committing always yields the CID `add` gives the same bytes (balanced
//! layout, fixed 256 KiB chunks), because unchanged chunks of a fixed-size
//! chunker are exactly the leaves `add` would write.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::blockstore::{Blockstore, WriteBehind};
use crate::codec::cid::{Cid, DAG_PB, RAW};
use crate::codec::unixfs_pb::DataType;
use crate::unixfs::UnixfsError;
use crate::unixfs::chunker::ChunkerSpec;
use crate::unixfs::file::{
    Built, FileOptions, ImportError, ImportedFile, Layout, Leaves, NodeBuilder, build_balanced,
    import_file,
};
use crate::unixfs::node::Kind;
use crate::unixfs::reader::{FileReader, load};

/// Appended bytes held in memory before the import moves to a thread.
pub const STREAM_AFTER: usize = 4 << 20;
/// Changed bytes held in memory before an edited file is committed.
pub const MAX_DIRTY: usize = 64 << 20;
/// Pieces in flight to the streaming importer.
const STREAM_DEPTH: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Unixfs(#[from] UnixfsError),
    #[error("the background import stopped unexpectedly")]
    WorkerLost,
    /// Writes since the last commit were given up after a failure; the
    /// file is at its last committed content.
    #[error("writes since the last commit were lost: {message}")]
    Lost {
        message: String,
        #[source]
        cause: std::io::Error,
    },
}

impl ContentError {
    /// The failure as told again to writers that did not see it happen.
    fn lost(&self) -> ContentError {
        let os_code = crate::fs::os_error_in(self);
        ContentError::Lost {
            message: self.to_string(),
            cause: match os_code {
                Some(code) => std::io::Error::from_raw_os_error(code),
                None => std::io::Error::other(self.to_string()),
            },
        }
    }
}

pub type Result<T> = std::result::Result<T, ContentError>;

/// A committed file: what its parent directory links to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Committed {
    pub cid: Cid,
    /// Cumulative DAG size (the link's Tsize).
    pub tsize: u64,
    pub size: u64,
}

impl From<ImportedFile> for Committed {
    fn from(file: ImportedFile) -> Self {
        Committed {
            cid: file.cid,
            tsize: file.size,
            size: file.filesize,
        }
    }
}

pub struct FileContent {
    state: State,
    /// The last committed version (what the tree links to meanwhile).
    committed: Option<Committed>,
    /// Set when changes were given up after a failure: writes and commits
    /// fail with it until the file is opened for writing again, so every
    /// writer that had it open learns its bytes are gone.
    lost: Option<ContentError>,
}

enum State {
    Clean(Committed),
    Appending(Appending),
    Editing(Editing),
}

struct Appending {
    /// Bytes not yet handed to the worker.
    pending: Vec<u8>,
    worker: Option<Stream>,
    len: u64,
}

struct Stream {
    tx: SyncSender<Vec<u8>>,
    handle: JoinHandle<std::result::Result<ImportedFile, ImportError>>,
}

struct Editing {
    base: Option<Committed>,
    /// Bytes of `base` still visible: a truncation hides the rest for good.
    base_visible: u64,
    size: u64,
    /// Changed chunks by index, each a full chunk zero-filled past `size`.
    dirty: BTreeMap<u64, Vec<u8>>,
}

impl FileContent {
    /// A new, empty file.
    pub fn empty() -> Self {
        FileContent {
            state: State::Appending(Appending::new()),
            committed: None,
            lost: None,
        }
    }

    pub fn stored(file: Committed) -> Self {
        FileContent {
            state: State::Clean(file),
            committed: Some(file),
            lost: None,
        }
    }

    pub fn size(&self) -> u64 {
        match &self.state {
            State::Clean(file) => file.size,
            State::Appending(a) => a.len,
            State::Editing(e) => e.size,
        }
    }

    pub fn is_clean(&self) -> bool {
        matches!(self.state, State::Clean(_))
    }

    /// The last committed version, without committing.
    pub fn committed(&self) -> Option<Committed> {
        self.committed
    }

    /// Writes `data` at `offset`. A failure (a full disk, a block that
    /// cannot be read) puts the file back at its last committed content.
    pub fn write(
        &mut self,
        store: &Arc<dyn Blockstore>,
        opts: &FileOptions,
        offset: u64,
        data: &[u8],
    ) -> Result<()> {
        self.check_lost()?;
        let written = self.write_unchecked(store, opts, offset, data);
        self.revert_on_error(written)
    }

    fn check_lost(&self) -> Result<()> {
        match &self.lost {
            Some(lost) => Err(lost.lost()),
            None => Ok(()),
        }
    }

    /// A new writer starts from the last committed content, and sees no
    /// failure that came before it.
    pub fn opened_for_writing(&mut self) {
        self.lost = None;
    }

    fn write_unchecked(
        &mut self,
        store: &Arc<dyn Blockstore>,
        opts: &FileOptions,
        offset: u64,
        data: &[u8],
    ) -> Result<()> {
        if let State::Appending(a) = &mut self.state
            && offset == a.len
        {
            return a.append(store, opts, data);
        }
        if let State::Clean(file) = self.state
            && file.size == 0
            && offset == 0
        {
            self.state = State::Appending(Appending::new());
            return self.write_unchecked(store, opts, offset, data);
        }
        let edit = self.editing(store.as_ref(), opts)?;
        edit.write(store.as_ref(), offset, data)?;
        if edit.dirty_bytes() > MAX_DIRTY {
            self.commit_unchecked(store, opts)?;
        }
        Ok(())
    }

    /// Gives up every change since the last commit: after a failure the
    /// file is what was last made durable, never something in between.
    fn revert_on_error<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(err) = &result {
            self.lost = Some(err.lost());
            self.abandon_stream();
            self.state = match self.committed {
                Some(file) => State::Clean(file),
                None => State::Appending(Appending::new()),
            };
        }
        result
    }

    pub fn read(
        &mut self,
        store: &Arc<dyn Blockstore>,
        opts: &FileOptions,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>> {
        if let State::Appending(a) = &self.state
            && a.worker.is_some()
        {
            self.commit(store, opts)?;
        }
        match &self.state {
            State::Clean(file) => read_stored(store.as_ref(), &file.cid, offset, len),
            State::Appending(a) => {
                let start = (offset.min(a.len)) as usize;
                let end = (offset.saturating_add(len as u64).min(a.len)) as usize;
                Ok(a.pending[start..end].to_vec())
            }
            State::Editing(e) => e.read(store.as_ref(), offset, len),
        }
    }

    /// Sets the size; on failure, as `write`.
    pub fn truncate(
        &mut self,
        store: &Arc<dyn Blockstore>,
        opts: &FileOptions,
        size: u64,
    ) -> Result<()> {
        self.check_lost()?;
        let truncated = self.truncate_unchecked(store, opts, size);
        self.revert_on_error(truncated)
    }

    fn truncate_unchecked(
        &mut self,
        store: &Arc<dyn Blockstore>,
        opts: &FileOptions,
        size: u64,
    ) -> Result<()> {
        if size == 0 {
            self.abandon_stream();
            self.state = State::Appending(Appending::new());
            return Ok(());
        }
        if size == self.size() {
            return Ok(());
        }
        if let State::Appending(a) = &mut self.state
            && a.worker.is_none()
            && size < a.len
        {
            a.pending.truncate(size as usize);
            a.len = size;
            return Ok(());
        }
        self.editing(store.as_ref(), opts)?.truncate(size);
        Ok(())
    }

    /// Imports the current bytes (if changed) and returns the result; on
    /// failure, as `write`.
    pub fn commit(&mut self, store: &Arc<dyn Blockstore>, opts: &FileOptions) -> Result<Committed> {
        let committed = self.commit_unchecked(store, opts);
        self.revert_on_error(committed)
    }

    /// `commit` for a writer's fsync or close: it also fails when this
    /// writer's earlier bytes were given up after a failure.
    pub fn commit_for_writer(
        &mut self,
        store: &Arc<dyn Blockstore>,
        opts: &FileOptions,
    ) -> Result<Committed> {
        self.check_lost()?;
        self.commit(store, opts)
    }

    fn commit_unchecked(
        &mut self,
        store: &Arc<dyn Blockstore>,
        opts: &FileOptions,
    ) -> Result<Committed> {
        let file = match std::mem::replace(&mut self.state, State::Appending(Appending::new())) {
            State::Clean(file) => file,
            State::Appending(a) => a.finish(store, opts)?,
            State::Editing(e) => e.finish(store.as_ref(), opts)?,
        };
        self.state = State::Clean(file);
        self.committed = Some(file);
        Ok(file)
    }

    /// Switches to editing over the current bytes.
    fn editing(&mut self, store: &dyn Blockstore, opts: &FileOptions) -> Result<&mut Editing> {
        let base = match &mut self.state {
            State::Editing(_) => None,
            State::Clean(file) => Some(*file),
            State::Appending(a) if a.worker.is_none() => {
                // Still all in memory: it becomes the dirty chunks as is.
                let mut dirty = BTreeMap::new();
                for (index, piece) in a.pending.chunks(EDIT_CHUNK as usize).enumerate() {
                    let mut chunk = vec![0u8; EDIT_CHUNK as usize];
                    chunk[..piece.len()].copy_from_slice(piece);
                    dirty.insert(index as u64, chunk);
                }
                self.state = State::Editing(Editing {
                    base: None,
                    base_visible: 0,
                    size: a.len,
                    dirty,
                });
                None
            }
            State::Appending(a) => {
                Some(std::mem::replace(a, Appending::new()).finish_with(store, opts)?)
            }
        };
        if let Some(base) = base {
            self.committed = Some(base);
            self.state = State::Editing(Editing {
                base: Some(base),
                base_visible: base.size,
                size: base.size,
                dirty: BTreeMap::new(),
            });
        }
        match &mut self.state {
            State::Editing(e) => Ok(e),
            _ => unreachable!("just switched to editing"),
        }
    }

    fn abandon_stream(&mut self) {
        if let State::Appending(a) = &mut self.state
            && let Some(stream) = a.worker.take()
        {
            let _ = stream.join();
        }
    }
}

impl Drop for FileContent {
    fn drop(&mut self) {
        self.abandon_stream();
    }
}

fn read_stored(store: &dyn Blockstore, cid: &Cid, offset: u64, len: usize) -> Result<Vec<u8>> {
    let reader = FileReader::open(store, cid)?;
    Ok(Vec::from(reader.read_bytes(offset, len as u64)?))
}

impl Appending {
    fn new() -> Self {
        Appending {
            pending: Vec::new(),
            worker: None,
            len: 0,
        }
    }

    fn append(
        &mut self,
        store: &Arc<dyn Blockstore>,
        opts: &FileOptions,
        data: &[u8],
    ) -> Result<()> {
        self.pending.extend_from_slice(data);
        self.len += data.len() as u64;
        if self.pending.len() >= STREAM_AFTER {
            let next = Vec::with_capacity(STREAM_AFTER + (1 << 20));
            let piece = std::mem::replace(&mut self.pending, next);
            let stream = match &mut self.worker {
                Some(stream) => stream,
                None => self
                    .worker
                    .insert(Stream::start(Arc::clone(store), opts.clone())),
            };
            if stream.tx.send(piece).is_err() {
                return Err(self
                    .worker
                    .take()
                    .map_or(ContentError::WorkerLost, Stream::failure));
            }
        }
        Ok(())
    }

    fn finish(self, store: &Arc<dyn Blockstore>, opts: &FileOptions) -> Result<Committed> {
        self.finish_with(store.as_ref(), opts)
    }

    fn finish_with(mut self, store: &dyn Blockstore, opts: &FileOptions) -> Result<Committed> {
        let pending = std::mem::take(&mut self.pending);
        match self.worker.take() {
            None => Ok(import_file(store, &mut pending.as_slice(), opts, &mut |_| {})?.into()),
            Some(stream) => {
                if !pending.is_empty() && stream.tx.send(pending).is_err() {
                    return Err(stream.failure());
                }
                stream.join()
            }
        }
    }
}

impl Stream {
    /// `store` may be an `InFlightStore` (see `fs::mfs`): the worker keeps
    /// it, so what it puts counts as live until the file is committed.
    fn start(store: Arc<dyn Blockstore>, opts: FileOptions) -> Self {
        let (tx, rx) = sync_channel(STREAM_DEPTH);
        let handle = std::thread::Builder::new()
            .name("mfs-import".into())
            .spawn(move || {
                // Writing behind lets hashing go on while blocks are stored.
                let behind = WriteBehind::new(store, 64);
                let imported = import_file(&behind, &mut PieceReader::new(rx), &opts, &mut |_| {});
                let stored = behind.finish();
                let imported = imported?;
                stored?;
                Ok(imported)
            })
            .expect("spawn the MFS importer");
        Stream { tx, handle }
    }

    fn join(self) -> Result<Committed> {
        drop(self.tx);
        match self.handle.join() {
            Ok(result) => Ok(result?.into()),
            Err(_) => Err(ContentError::WorkerLost),
        }
    }

    /// The worker's error after it stopped taking data.
    fn failure(self) -> ContentError {
        match self.join() {
            Err(err) => err,
            Ok(_) => ContentError::WorkerLost,
        }
    }
}

/// `Read` over the pieces a writer sends; end of input when it hangs up.
struct PieceReader {
    rx: Receiver<Vec<u8>>,
    piece: Vec<u8>,
    at: usize,
}

impl PieceReader {
    fn new(rx: Receiver<Vec<u8>>) -> Self {
        PieceReader {
            rx,
            piece: Vec::new(),
            at: 0,
        }
    }
}

impl Read for PieceReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.piece.len() {
            match self.rx.recv() {
                Ok(piece) => {
                    self.piece = piece;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.piece.len() - self.at);
        buf[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The chunk size of the fixed chunker the edited files are imported with.
fn chunk_size(opts: &FileOptions) -> Option<u64> {
    match opts.chunker {
        ChunkerSpec::Size(n) if opts.layout == Layout::Balanced && n > 0 => Some(n as u64),
        _ => None,
    }
}

/// Editing keeps whole chunks of this size (the default chunker's).
const EDIT_CHUNK: u64 = 262_144;

impl Editing {
    fn dirty_bytes(&self) -> usize {
        self.dirty.len() * EDIT_CHUNK as usize
    }

    fn chunk_len(&self, index: u64) -> u64 {
        self.size.saturating_sub(index * EDIT_CHUNK).min(EDIT_CHUNK)
    }

    /// Chunk `index` as currently visible, full length (zeros past the end).
    fn materialize(&self, store: &dyn Blockstore, index: u64) -> Result<Vec<u8>> {
        if let Some(chunk) = self.dirty.get(&index) {
            return Ok(chunk.clone());
        }
        let start = index * EDIT_CHUNK;
        let mut chunk = vec![0u8; EDIT_CHUNK as usize];
        if let Some(base) = &self.base
            && start < self.base_visible
        {
            let visible = (self.base_visible - start).min(EDIT_CHUNK) as usize;
            let bytes = read_stored(store, &base.cid, start, visible)?;
            chunk[..bytes.len()].copy_from_slice(&bytes);
        }
        Ok(chunk)
    }

    fn write(&mut self, store: &dyn Blockstore, offset: u64, data: &[u8]) -> Result<()> {
        let mut done = 0usize;
        while done < data.len() {
            let at = offset + done as u64;
            let index = at / EDIT_CHUNK;
            let within = (at % EDIT_CHUNK) as usize;
            let n = (EDIT_CHUNK as usize - within).min(data.len() - done);
            if !self.dirty.contains_key(&index) {
                let chunk = self.materialize(store, index)?;
                self.dirty.insert(index, chunk);
            }
            let chunk = self.dirty.get_mut(&index).expect("just inserted");
            chunk[within..within + n].copy_from_slice(&data[done..done + n]);
            done += n;
        }
        self.size = self.size.max(offset + data.len() as u64);
        Ok(())
    }

    fn truncate(&mut self, size: u64) {
        if size < self.size {
            self.base_visible = self.base_visible.min(size);
            let last = size / EDIT_CHUNK;
            self.dirty.retain(|&index, _| index <= last);
            if let Some(chunk) = self.dirty.get_mut(&last) {
                chunk[(size % EDIT_CHUNK) as usize..].fill(0);
            }
        }
        self.size = size;
    }

    fn read(&self, store: &dyn Blockstore, offset: u64, len: usize) -> Result<Vec<u8>> {
        let end = offset.saturating_add(len as u64).min(self.size);
        let mut out = Vec::with_capacity(end.saturating_sub(offset) as usize);
        let mut at = offset;
        while at < end {
            let index = at / EDIT_CHUNK;
            let within = (at % EDIT_CHUNK) as usize;
            let n = ((EDIT_CHUNK as usize - within) as u64).min(end - at) as usize;
            match self.dirty.get(&index) {
                Some(chunk) => out.extend_from_slice(&chunk[within..within + n]),
                None => {
                    let visible = self.base_visible.saturating_sub(at).min(n as u64) as usize;
                    if let (Some(base), true) = (&self.base, visible > 0) {
                        out.extend(read_stored(store, &base.cid, at, visible)?);
                    }
                    out.resize(out.len() + (n - visible), 0);
                }
            }
            at += n as u64;
        }
        Ok(out)
    }

    fn finish(self, store: &dyn Blockstore, opts: &FileOptions) -> Result<Committed> {
        if chunk_size(opts) != Some(EDIT_CHUNK) {
            // Another chunker: the bytes are imported afresh.
            let bytes = self.read(store, 0, self.size as usize)?;
            return Ok(import_file(store, &mut bytes.as_slice(), opts, &mut |_| {})?.into());
        }
        let base_leaves = match &self.base {
            Some(base) => reusable_leaves(store, base, opts)?,
            None => Vec::new(),
        };
        let count = self.size.div_ceil(EDIT_CHUNK).max(1);
        let mut leaves = EditedLeaves {
            edit: &self,
            store,
            base_leaves,
            next: 0,
            count,
            opts,
        };
        Ok(build_balanced(store, opts, &mut leaves)?.into())
    }
}

struct EditedLeaves<'a> {
    edit: &'a Editing,
    store: &'a dyn Blockstore,
    base_leaves: Vec<Built>,
    next: u64,
    count: u64,
    opts: &'a FileOptions,
}

impl Leaves for EditedLeaves<'_> {
    fn has_more(&self) -> bool {
        self.next < self.count
    }

    fn next_leaf(
        &mut self,
        b: &NodeBuilder,
        first: bool,
    ) -> std::result::Result<Built, ImportError> {
        let index = self.next;
        self.next += 1;
        let len = self.edit.chunk_len(index);
        let is_root = first && !self.has_more();
        let has_metadata = self.opts.mode.is_some() || self.opts.mtime.is_some();
        let start = index * EDIT_CHUNK;
        if let Some(leaf) = self.base_leaves.get(index as usize)
            && !self.edit.dirty.contains_key(&index)
            && leaf.filesize == len
            && start + len <= self.edit.base_visible
            && !(is_root && has_metadata)
        {
            return Ok(*leaf);
        }
        let chunk = self
            .edit
            .materialize(self.store, index)
            .map_err(|err| ImportError::Read(std::io::Error::other(err.to_string())))?;
        b.leaf(&chunk[..len as usize], DataType::File, is_root)
    }
}

/// The leaves of `file` in order, when it was built the way we build (fixed
/// chunks, balanced, leaves of the current kind), so unchanged ones can be
/// linked again; otherwise none.
fn reusable_leaves(
    store: &dyn Blockstore,
    file: &Committed,
    opts: &FileOptions,
) -> Result<Vec<Built>> {
    let mut leaves = Vec::new();
    let mut depths = Vec::new();
    collect_leaves(
        store,
        file.cid,
        file.tsize,
        file.size,
        0,
        &mut leaves,
        &mut depths,
    )?;
    let uniform = depths.windows(2).all(|w| w[0] == w[1]);
    let aligned = leaves
        .iter()
        .rev()
        .skip(1)
        .all(|leaf| leaf.filesize == EDIT_CHUNK);
    let leaf_codec = if opts.raw_leaves { RAW } else { DAG_PB };
    let same_kind = leaves.iter().all(|leaf| leaf.cid.codec() == leaf_codec)
        && leaves.first().is_none_or(|leaf| is_file_leaf(store, leaf));
    if uniform && aligned && same_kind && opts.mode.is_none() && opts.mtime.is_none() {
        Ok(leaves)
    } else {
        Ok(Vec::new())
    }
}

fn is_file_leaf(store: &dyn Blockstore, leaf: &Built) -> bool {
    if leaf.cid.codec() == RAW {
        return true;
    }
    load(store, &leaf.cid)
        .ok()
        .and_then(|node| {
            node.unixfs()
                .map(|u| u.data_type == DataType::File && u.mode.is_none() && u.mtime.is_none())
        })
        .unwrap_or(false)
}

fn collect_leaves(
    store: &dyn Blockstore,
    cid: Cid,
    tsize: u64,
    filesize: u64,
    depth: usize,
    leaves: &mut Vec<Built>,
    depths: &mut Vec<usize>,
) -> Result<()> {
    let node = match cid.codec() {
        RAW => None,
        _ => Some(load(store, &cid)?),
    };
    if let Some(node) = &node
        && node.kind() != Kind::File
    {
        return Err(UnixfsError::NotAFile(crate::codec::cid_string(&cid)).into());
    }
    let Some(node) = node.filter(|n| !n.links().is_empty()) else {
        leaves.push(Built {
            cid,
            size: tsize,
            filesize,
        });
        depths.push(depth);
        return Ok(());
    };
    let links = node.links();
    let sizes = node
        .unixfs()
        .map(|u| u.blocksizes.clone())
        .unwrap_or_default();
    if sizes.len() != links.len()
        || node
            .unixfs()
            .is_some_and(|u| u.data.as_ref().is_some_and(|d| !d.is_empty()))
    {
        // Data inside an internal node: not a layout we can reuse piecewise.
        depths.extend([0, 1]);
        return Ok(());
    }
    for (link, size) in links.iter().zip(sizes) {
        collect_leaves(
            store,
            link.cid,
            link.tsize(),
            size,
            depth + 1,
            leaves,
            depths,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
