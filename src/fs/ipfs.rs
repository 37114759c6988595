//! The read-only `/ipfs` tree: the root lists the recursively pinned CIDs
//! and looks up any CID by name; below it, UnixFS directories, HAMT shards,
//! files, raw blocks and symlinks.

use std::sync::{Arc, RwLock};

use bytes::Bytes;

use super::attr::{Attr, FileKind};
use super::file_reads::FileReads;
use super::inodes::{Entry, Inodes, ROOT};
use super::summaries::{LISTING_MIN_ENTRIES, SummaryStore};
use super::{FsError, Listing};
use crate::blockstore::Blockstore;
use crate::codec::cid::{Cid, cid_string, parse_cid};
use crate::unixfs::dir;
use crate::unixfs::node::{Node, Summary};
use crate::unixfs::reader::load;

/// Supplies the CIDs the root directory lists (the recursive pins).
pub type RootLister = Box<dyn Fn() -> Vec<Cid> + Send + Sync>;

pub struct IpfsFs {
    store: Arc<dyn Blockstore>,
    list_roots: RootLister,
    inodes: RwLock<Inodes>,
    reads: Arc<FileReads>,
    summaries: Option<Arc<dyn SummaryStore>>,
}

/// Workers that load a directory's children at once.
const LIST_WORKERS: usize = 8;

const XATTR_CID: &str = "user.ipfs.cid";
const XATTR_TYPE: &str = "user.ipfs.type";
const XATTR_SIZE: &str = "user.ipfs.size";

impl IpfsFs {
    pub fn new(store: Arc<dyn Blockstore>, list_roots: RootLister) -> Self {
        let reads = Arc::new(FileReads::new(Arc::clone(&store)));
        IpfsFs {
            store,
            list_roots,
            inodes: RwLock::new(Inodes::default()),
            reads,
            summaries: None,
        }
    }

    /// Caches node summaries across mounts (normally in the repo's datastore).
    pub fn with_summaries(mut self, summaries: Arc<dyn SummaryStore>) -> Self {
        self.summaries = Some(summaries);
        self
    }

    pub fn getattr(&self, ino: u64) -> Result<Attr, FsError> {
        if ino == ROOT {
            return Ok(Attr::root(ROOT));
        }
        Ok(self.entry(ino)?.attr)
    }

    /// `name` in directory `parent`. The kernel is given the inode: it is
    /// held once more, until [`IpfsFs::forget`].
    pub fn lookup(&self, parent: u64, name: &str) -> Result<Attr, FsError> {
        if parent == ROOT {
            let cid = parse_cid(name).map_err(|_| FsError::NotFound)?;
            return self.hold_inode(&cid);
        }
        let dir = self.entry(parent)?;
        if dir.attr.kind != FileKind::Directory {
            return Err(FsError::NotADirectory);
        }
        if !is_safe_name(name) {
            return Err(FsError::NotFound);
        }
        let found =
            dir::lookup(self.store.as_ref(), &dir.cid, name).map_err(|e| io_error(&dir.cid, e))?;
        let entry = found.ok_or(FsError::NotFound)?;
        self.hold_inode(&entry.cid)
    }

    /// The kernel gives back `count` references to `ino` (FUSE forget).
    pub fn forget(&self, forgotten: impl IntoIterator<Item = (u64, u64)>) {
        let mut inodes = self.write_inodes();
        for (ino, count) in forgotten {
            if ino != ROOT {
                inodes.release(ino, count);
            }
        }
    }

    /// The kernel was given these entries of a listing (readdirplus): each
    /// is held once more, until forgotten.
    pub fn remember(&self, given: &[Listing]) {
        let mut inodes = self.write_inodes();
        for entry in given {
            if !inodes.hold(entry.attr.ino) {
                tracing::warn!("inode {} handed out after it was dropped", entry.attr.ino);
            }
        }
    }

    /// A listing from [`IpfsFs::readdir`] is no longer used: its entries'
    /// inodes are no longer held for it.
    pub fn release_listing(&self, listing: &[Listing]) {
        let mut inodes = self.write_inodes();
        for entry in listing {
            inodes.release(entry.attr.ino, 1);
        }
    }

    /// A directory's entries. Their inodes are held for the listing until
    /// it is given back with [`IpfsFs::release_listing`].
    pub fn readdir(&self, ino: u64) -> Result<Vec<Listing>, FsError> {
        if ino == ROOT {
            let roots = (self.list_roots)();
            return Ok(self.load_all(
                roots
                    .into_iter()
                    .map(|cid| (cid_string(&cid), cid))
                    .collect(),
            ));
        }
        let dir = self.entry(ino)?;
        if dir.attr.kind != FileKind::Directory {
            return Err(FsError::NotADirectory);
        }
        let started = std::time::Instant::now();
        let entries = self.list_dir(&dir.cid)?;
        tracing::debug!(
            "listed {} entries in {:?}",
            entries.len(),
            started.elapsed()
        );
        let named = entries
            .into_iter()
            .filter(|e| is_safe_name(&e.name))
            .map(|e| (e.name, e.cid))
            .collect::<Vec<_>>();
        let shown = named.len();
        let listing = self.load_all(named);
        tracing::debug!("attributes ready after {:?}", started.elapsed());
        if dir.attr.nlink == UNKNOWN_NLINK && listing.len() == shown {
            self.learn_subdirs(ino, &dir.cid, &listing);
        }
        Ok(listing)
    }

    pub fn read(&self, ino: u64, offset: u64, size: u32) -> Result<Bytes, FsError> {
        let entry = self.entry(ino)?;
        match entry.attr.kind {
            FileKind::Directory => return Err(FsError::IsADirectory),
            FileKind::File => {}
            _ => return Err(FsError::Invalid),
        }
        self.reads
            .read(&entry.cid, offset, size)
            .map_err(|e| io_error(&entry.cid, e))
    }

    /// The file reads of this tree, for other trees to share.
    pub fn file_reads(&self) -> Arc<FileReads> {
        Arc::clone(&self.reads)
    }

    pub fn readlink(&self, ino: u64) -> Result<Vec<u8>, FsError> {
        let entry = self.entry(ino)?;
        let node = load(self.store.as_ref(), &entry.cid).map_err(|e| io_error(&entry.cid, e))?;
        node.symlink_target()
            .map(<[u8]>::to_vec)
            .ok_or(FsError::Invalid)
    }

    pub fn listxattr(&self, ino: u64) -> Result<Vec<u8>, FsError> {
        if ino == ROOT {
            return Ok(Vec::new());
        }
        self.entry(ino)?;
        let mut names = Vec::new();
        for name in [XATTR_CID, XATTR_TYPE, XATTR_SIZE] {
            names.extend_from_slice(name.as_bytes());
            names.push(0);
        }
        Ok(names)
    }

    pub fn getxattr(&self, ino: u64, name: &str) -> Result<Vec<u8>, FsError> {
        // Only user.* attributes exist here. Saying "not supported" for the
        // rest (security.selinux, ACLs) lets tools like `ls -l` stop asking
        // for every file, which costs a kernel round trip each.
        if !name.starts_with("user.") {
            return Err(FsError::NotSupported);
        }
        if ino == ROOT {
            return Err(FsError::NoAttribute);
        }
        let entry = self.entry(ino)?;
        let value = match name {
            XATTR_CID => cid_string(&entry.cid),
            XATTR_TYPE => {
                let node =
                    load(self.store.as_ref(), &entry.cid).map_err(|e| io_error(&entry.cid, e))?;
                match (&node, node.kind()) {
                    (Node::Raw(_), _) => "raw".to_string(),
                    (_, kind) => kind.name().to_string(),
                }
            }
            XATTR_SIZE => {
                let node =
                    load(self.store.as_ref(), &entry.cid).map_err(|e| io_error(&entry.cid, e))?;
                node.cumulative_size().to_string()
            }
            _ => return Err(FsError::NoAttribute),
        };
        Ok(value.into_bytes())
    }

    /// Number of inodes held now (for tests and stats).
    pub fn inode_count(&self) -> usize {
        self.inodes.read().map(|i| i.len()).unwrap_or(0)
    }

    fn entry(&self, ino: u64) -> Result<Entry, FsError> {
        let inodes = self
            .inodes
            .read()
            .map_err(|_| FsError::io("inode table poisoned"))?;
        inodes.get(ino).cloned().ok_or(FsError::NotFound)
    }

    /// The attributes for `cid` with one more hold on its inode: from its
    /// inode if it has one, else from the summary cache, else by loading its
    /// node (and caching that).
    fn hold_inode(&self, cid: &Cid) -> Result<Attr, FsError> {
        if let Some(entry) = self.write_inodes().hold_cid(cid) {
            return Ok(entry.attr);
        }
        let cached = self
            .summaries
            .as_ref()
            .and_then(|s| s.load(&[*cid]).pop().flatten());
        let summary = match cached {
            Some(summary) => summary,
            None => {
                let summary = load(self.store.as_ref(), cid)
                    .map_err(|e| io_error(cid, e))?
                    .summary();
                if let Some(store) = &self.summaries {
                    store.save(&[(*cid, summary)]);
                }
                summary
            }
        };
        Ok(self.hold_new(cid, &summary))
    }

    /// A directory's entries: recorded listing if any, else from its blocks
    /// (and recorded when large, since a HAMT listing reads many blocks).
    fn list_dir(&self, cid: &Cid) -> Result<Vec<dir::DirEntry>, FsError> {
        if let Some(entries) = self.summaries.as_ref().and_then(|s| s.load_listing(cid)) {
            return Ok(entries);
        }
        let entries = dir::list(self.store.as_ref(), cid).map_err(|e| io_error(cid, e))?;
        if entries.len() >= LISTING_MIN_ENTRIES
            && let Some(store) = &self.summaries
        {
            store.save_listing(cid, &entries);
        }
        Ok(entries)
    }

    /// `cid`'s inode, made from `summary` unless it has one, held once more.
    fn hold_new(&self, cid: &Cid, summary: &Summary) -> Attr {
        self.write_inodes()
            .hold_or_insert(cid, |ino| {
                Attr::from_summary(ino, summary, nlink_of(summary))
            })
            .attr
    }

    fn write_inodes(&self) -> std::sync::RwLockWriteGuard<'_, Inodes> {
        self.inodes
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A directory whose entries have all been loaded now knows how many
    /// are directories: its inode gets the true link count, and the summary
    /// cache keeps the count for later mounts.
    fn learn_subdirs(&self, ino: u64, cid: &Cid, listing: &[Listing]) {
        let subdirs = listing
            .iter()
            .filter(|entry| entry.attr.kind == FileKind::Directory)
            .count();
        let Ok(subdirs) = u32::try_from(subdirs) else {
            return;
        };
        let mut summary = match self
            .summaries
            .as_ref()
            .and_then(|s| s.load(&[*cid]).pop().flatten())
        {
            Some(summary) => summary,
            None => match load(self.store.as_ref(), cid) {
                Ok(node) => node.summary(),
                Err(_) => return,
            },
        };
        summary.subdirs = Some(subdirs);
        self.write_inodes().set_nlink(ino, nlink_of(&summary));
        if let Some(store) = &self.summaries {
            store.save(&[(*cid, summary)]);
        }
    }

    /// Attributes for a directory's children: summaries from the cache in one
    /// batch, the rest loaded in parallel and cached in one batch, then each
    /// child's inode held for the listing. Entries that fail to load are
    /// left out of the listing (and logged). The workers only load: what
    /// outlives the listing is allocated on the calling thread, as freed
    /// memory is reused best by the thread that had it (glibc keeps an arena
    /// per thread, and each new worker may be given another).
    fn load_all(&self, named: Vec<(String, Cid)>) -> Vec<Listing> {
        let cids: Vec<Cid> = named.iter().map(|(_, cid)| *cid).collect();
        let mut summaries = match &self.summaries {
            Some(store) => store.load(&cids),
            None => vec![None; cids.len()],
        };
        let missing: Vec<usize> = (0..cids.len())
            .filter(|&i| summaries[i].is_none())
            .collect();
        let mut learned = Vec::new();
        if !missing.is_empty() {
            let chunk = missing.len().div_ceil(LIST_WORKERS);
            let (named, cids) = (&named, &cids);
            std::thread::scope(|scope| {
                let workers: Vec<_> = missing
                    .chunks(chunk)
                    .map(|part| {
                        scope.spawn(move || {
                            part.iter()
                                .map(|&i| (i, self.load_summary(&named[i].0, &cids[i])))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                for worker in workers {
                    for (i, summary) in worker.join().unwrap_or_default() {
                        if let Some(summary) = summary {
                            summaries[i] = Some(summary);
                            learned.push((cids[i], summary));
                        }
                    }
                }
            });
        }
        if let Some(store) = &self.summaries {
            store.save(&learned);
        }
        let mut inodes = self.write_inodes();
        named
            .into_iter()
            .zip(summaries)
            .filter_map(|((name, cid), summary)| {
                let summary = summary?;
                let entry = inodes.hold_or_insert(&cid, |ino| {
                    Attr::from_summary(ino, &summary, nlink_of(&summary))
                });
                Some(Listing {
                    name,
                    attr: entry.attr,
                })
            })
            .collect()
    }

    fn load_summary(&self, name: &str, cid: &Cid) -> Option<Summary> {
        match load(self.store.as_ref(), cid) {
            Ok(node) => Some(node.summary()),
            Err(err) => {
                tracing::warn!("cannot list {name} ({}): {err}", cid_string(cid));
                None
            }
        }
    }
}

/// The link count that says "subdirectory count unknown" (as btrfs and
/// Kubo's mount report), which tells find/fts not to use the leaf
/// optimisation.
const UNKNOWN_NLINK: u32 = 1;

/// A file has one link; a directory has its entry in the parent, its own
/// `.`, and each subdirectory's `..`, when the subdirectories are counted.
fn nlink_of(summary: &Summary) -> u32 {
    match (summary.is_directory(), summary.subdirs) {
        (true, Some(subdirs)) => subdirs.saturating_add(2),
        _ => UNKNOWN_NLINK,
    }
}

/// Link names come from other people; only plain single components are shown.
fn is_safe_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

fn io_error(cid: &Cid, err: impl std::error::Error + Send + Sync + 'static) -> FsError {
    tracing::warn!("block {} unavailable or invalid: {err}", cid_string(cid));
    FsError::from_error(err)
}
