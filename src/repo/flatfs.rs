//! Blocks as flat files named by their multihash in lower-case hex, in the
//! tiers seed 002 shows: `blocks/1220/fe/38/9b55…` (the 2-byte multihash
//! prefix, then two one-byte tiers of the digest, then the rest).
//!
//! Writes go to a temp file in the target directory and are renamed into
//! place, so a crash never leaves a partial block under a real name.
//! Durability is batched: `sync()` flushes the whole filesystem once
//! (syncfs), so `add` does not pay an fsync per block.
//!
//! Large blocks bypass the page cache both ways unless they are in it
//! already (`direct_io`): the mount caches what it reads itself.
//!
//! Every block read from disk is checked against its multihash before it is
//! handed out (Kubo's `Datastore.HashOnRead`, on by default here): this is
//! the one place blocks enter the process from disk, and the caches above
//! keep only what passed. A block that fails is moved to `.quarantine/`,
//! where listings and `has` do not see it, so a good copy can be put (or
//! fetched) again; until then reading it is `Corrupt`, not "not found".
//! A block is hashed once per process: those found whole are remembered (a
//! bounded set), so re-reads from disk, such as the mount's after its own
//! caches let a block go, cost no rehash.

use std::collections::HashSet;
use std::io::Write;
use std::num::NonZeroUsize;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use bytes::Bytes;
use lru::LruCache;

use super::direct_io;
use crate::blockstore::{Blockstore, BlockstoreError, Result, identity_data};
use crate::codec::CodecError;
use crate::codec::cid::{Cid, Mh, RAW, cid_string, is_identity, multihash_hex, verify};

/// Where damaged blocks are set aside, under the blocks root; the leading
/// dot keeps it out of `all_keys`.
const QUARANTINE: &str = ".quarantine";

/// How many blocks are remembered as checked: 16 GiB of default-size
/// leaves, in about 4 MiB.
const VERIFIED_KEPT: usize = 1 << 16;

pub struct FlatFs {
    root: PathBuf,
    known_dirs: Mutex<HashSet<PathBuf>>,
    temp_counter: AtomicU64,
    hash_on_read: AtomicBool,
    /// Blocks read and found whole in this process, by [`verified_key`].
    verified: Mutex<LruCache<u64, ()>>,
    usage: Usage,
    /// Blocks removed by this process so far.
    removals: AtomicU64,
}

/// The store's block count and size kept up to date without a walk: one
/// walk gives the baseline ([`FlatFs::count_usage`]), then each block this
/// process stores or deletes moves the counts. Blocks written while the
/// walk runs may be counted twice or not at all.
#[derive(Default)]
struct Usage {
    blocks: AtomicI64,
    bytes: AtomicI64,
    baseline: OnceLock<(i64, i64)>,
}

impl Usage {
    fn changed(&self, blocks: i64, bytes: i64) {
        self.blocks.fetch_add(blocks, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn now(&self) -> (i64, i64) {
        (
            self.blocks.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

/// A block's key in the verified set: 64 bits of its digest, which a hash
/// function spreads evenly, so two blocks share one with odds of 2^-64.
fn verified_key(mh: &Mh) -> u64 {
    let mut key = [0u8; 8];
    let digest = mh.digest();
    let n = digest.len().min(8);
    key[..n].copy_from_slice(&digest[..n]);
    u64::from_le_bytes(key) ^ mh.code()
}

impl FlatFs {
    pub fn open(root: &Path) -> std::result::Result<FlatFs, super::RepoError> {
        std::fs::create_dir_all(root).map_err(super::io_err(root))?;
        Ok(FlatFs {
            root: root.to_path_buf(),
            known_dirs: Mutex::new(HashSet::new()),
            temp_counter: AtomicU64::new(0),
            hash_on_read: AtomicBool::new(true),
            verified: Mutex::new(LruCache::new(
                NonZeroUsize::new(VERIFIED_KEPT).expect("non-zero"),
            )),
            usage: Usage::default(),
            removals: AtomicU64::new(0),
        })
    }

    /// How many blocks this process has removed: a cache of blocks read
    /// before the count moved may hold one that is gone.
    pub fn removals(&self) -> u64 {
        self.removals.load(Ordering::SeqCst)
    }

    /// Whether blocks read from disk are checked against their CID (on
    /// unless the config's `Datastore.HashOnRead` is false).
    pub fn set_hash_on_read(&self, on: bool) {
        self.hash_on_read.store(on, Ordering::Relaxed);
    }

    /// Where a damaged block with this multihash is set aside.
    pub fn quarantine_path(&self, mh: &Mh) -> PathBuf {
        self.root.join(QUARANTINE).join(multihash_hex(mh))
    }

    /// Multihashes (hex) of the blocks set aside as damaged and not stored
    /// again since, with where each lies.
    pub fn quarantined(&self) -> Result<Vec<(String, PathBuf)>> {
        let dir = self.root.join(QUARANTINE);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(io(&dir)(source)),
        };
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let Some(hex) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Some(mh) = decode_hex(&hex).and_then(|bytes| Mh::from_bytes(&bytes).ok()) else {
                continue;
            };
            if !self.block_path(&mh).exists() {
                found.push((hex, entry.path()));
            }
        }
        found.sort();
        Ok(found)
    }

    /// Where the block with this multihash lives.
    pub fn block_path(&self, mh: &Mh) -> PathBuf {
        let hex = multihash_hex(mh);
        let mut path = PathBuf::with_capacity(self.root.as_os_str().len() + hex.len() + 12);
        path.push(&self.root);
        let mut rest = hex.as_str();
        for width in [4, 2, 2] {
            if rest.len() <= width {
                break;
            }
            path.push(&rest[..width]);
            rest = &rest[width..];
        }
        path.push(rest);
        path
    }

    /// Walks the store once for the baseline of [`FlatFs::counted_usage`];
    /// later calls do nothing.
    pub fn count_usage(&self) -> Result<()> {
        if self.usage.baseline.get().is_some() {
            return Ok(());
        }
        let (blocks, bytes) = self.usage()?;
        let (changed_blocks, changed_bytes) = self.usage.now();
        let _ = self
            .usage
            .baseline
            .set((blocks as i64 - changed_blocks, bytes as i64 - changed_bytes));
        Ok(())
    }

    /// (block count, total bytes) without a walk, once [`FlatFs::count_usage`]
    /// has run.
    pub fn counted_usage(&self) -> Option<(u64, u64)> {
        let (blocks, bytes) = *self.usage.baseline.get()?;
        let (changed_blocks, changed_bytes) = self.usage.now();
        Some((
            (blocks + changed_blocks).max(0) as u64,
            (bytes + changed_bytes).max(0) as u64,
        ))
    }

    /// (block count, total bytes).
    pub fn usage(&self) -> Result<(u64, u64)> {
        let mut count = 0;
        let mut bytes = 0;
        self.walk(&mut |path, _| {
            count += 1;
            bytes += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        })?;
        Ok((count, bytes))
    }

    fn walk(&self, visit: &mut dyn FnMut(&Path, String)) -> Result<()> {
        fn recurse(
            dir: &Path,
            prefix: &str,
            depth: usize,
            visit: &mut dyn FnMut(&Path, String),
        ) -> Result<()> {
            let entries = match std::fs::read_dir(dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(source) => {
                    return Err(BlockstoreError::Io {
                        path: dir.display().to_string(),
                        source,
                    });
                }
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if name.starts_with('.')
                    || !name
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                {
                    continue; // temp files and anything that is not ours
                }
                let path = entry.path();
                let hex = format!("{prefix}{name}");
                match entry.file_type() {
                    Ok(t) if t.is_dir() && depth < 3 => recurse(&path, &hex, depth + 1, visit)?,
                    Ok(t) if t.is_file() => visit(&path, hex),
                    _ => {}
                }
            }
            Ok(())
        }
        recurse(&self.root, "", 0, visit)
    }

    /// Makes sure `dir` exists; says whether this call made it (so that
    /// no block was in it a moment ago).
    fn ensure_dir(&self, dir: &Path) -> Result<bool> {
        if self
            .known_dirs
            .lock()
            .map(|d| d.contains(dir))
            .unwrap_or(false)
        {
            return Ok(false);
        }
        let failed = |source| BlockstoreError::Io {
            path: dir.display().to_string(),
            source,
        };
        let made = match std::fs::create_dir(dir) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(failed)?;
                false
            }
            Err(e) => return Err(failed(e)),
        };
        if let Ok(mut dirs) = self.known_dirs.lock() {
            dirs.insert(dir.to_path_buf());
        }
        Ok(made)
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BlockstoreError + '_ {
    move |source| BlockstoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl FlatFs {
    /// A stored block's bytes as `read` gives them from its open file.
    fn read_block<T: From<Vec<u8>> + AsRef<[u8]>>(
        &self,
        cid: &Cid,
        read: impl FnOnce(std::fs::File) -> std::io::Result<T>,
    ) -> Result<Option<T>> {
        let data = self.read_unchecked(cid, read)?;
        if let Some(data) = &data {
            self.check(cid, data.as_ref())?;
        }
        Ok(data)
    }

    /// The block's bytes as they are on disk, damaged or not (for `repo
    /// verify`, which reports damage rather than setting it aside).
    pub fn get_unchecked(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        self.read_unchecked(cid, direct_io::read_file)
    }

    /// The block when it can be read without waiting on the disk (see
    /// [`direct_io::read_if_in_memory`]), checked; None when it is not
    /// here or might have to be read from the disk.
    pub fn get_if_in_memory(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        if let Some(data) = identity_data(cid) {
            return Ok(Some(data));
        }
        let path = self.block_path(cid.hash());
        match direct_io::read_if_in_memory(&path) {
            Ok(Some(data)) => {
                self.check(cid, &data)?;
                Ok(Some(data))
            }
            Ok(None) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(BlockstoreError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    fn read_unchecked<T: From<Vec<u8>>>(
        &self,
        cid: &Cid,
        read: impl FnOnce(std::fs::File) -> std::io::Result<T>,
    ) -> Result<Option<T>> {
        if let Some(data) = identity_data(cid) {
            return Ok(Some(T::from(data)));
        }
        let path = self.block_path(cid.hash());
        match std::fs::File::open(&path).and_then(read) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let set_aside = self.quarantine_path(cid.hash());
                if set_aside.exists() {
                    return Err(BlockstoreError::Corrupt {
                        cid: cid_string(cid),
                        reason: format!(
                            "it was found damaged and set aside in {}; no good copy has been stored since",
                            set_aside.display()
                        ),
                    });
                }
                Ok(None)
            }
            Err(source) => Err(BlockstoreError::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Checks a block just read from `path` against its CID; a damaged one
    /// is set aside and reported as `Corrupt`.
    fn check(&self, cid: &Cid, data: &[u8]) -> Result<()> {
        if !self.hash_on_read.load(Ordering::Relaxed) {
            return Ok(());
        }
        let key = verified_key(cid.hash());
        if self.verified_lock().get(&key).is_some() {
            return Ok(());
        }
        match verify(cid, data) {
            Ok(()) => {
                self.verified_lock().put(key, ());
                Ok(())
            }
            // A hash we cannot compute was never checked when it was stored
            // either: serve it as it is.
            Err(CodecError::UnsupportedHash(_)) => Ok(()),
            Err(_) => {
                let path = self.block_path(cid.hash());
                let set_aside = self.quarantine(cid, &path);
                tracing::error!(
                    "block {} is damaged: its bytes do not hash to its CID; {set_aside}",
                    cid_string(cid)
                );
                Err(BlockstoreError::Corrupt {
                    cid: cid_string(cid),
                    reason: format!("its bytes on disk do not hash to its CID; {set_aside}"),
                })
            }
        }
    }

    fn verified_lock(&self) -> std::sync::MutexGuard<'_, LruCache<u64, ()>> {
        self.verified.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves a damaged block file out of the store; says what became of it.
    fn quarantine(&self, cid: &Cid, path: &Path) -> String {
        let target = self.quarantine_path(cid.hash());
        let moved = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::rename(path, &target));
        match moved {
            Ok(()) => {
                // Another reader found the same damage and a good copy was
                // stored since: what was just moved aside is that copy.
                let good_copy = std::fs::read(&target).is_ok_and(|data| verify(cid, &data).is_ok());
                if good_copy && std::fs::rename(&target, path).is_ok() {
                    return "a good copy has been stored since".to_string();
                }
                format!("moved to {}", target.display())
            }
            // Another reader of the same block moved it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                format!("moved to {}", target.display())
            }
            Err(e) => format!("could not move it aside: {e}"),
        }
    }
}

impl Blockstore for FlatFs {
    fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>> {
        self.read_block(cid, direct_io::read_file)
    }

    fn get_shared(&self, cid: &Cid) -> Result<Option<Bytes>> {
        self.read_block(cid, direct_io::read_file_shared)
    }

    fn has(&self, cid: &Cid) -> Result<bool> {
        Ok(is_identity(cid) || self.block_path(cid.hash()).exists())
    }

    fn put(&self, cid: &Cid, data: &[u8]) -> Result<()> {
        if is_identity(cid) {
            return Ok(());
        }
        let path = self.block_path(cid.hash());
        let dir = path.parent().expect("block paths have a parent");
        // A directory just made holds no block: no need to look (most puts
        // of a large add land in a directory of their own).
        if !self.ensure_dir(dir)? && path.exists() {
            return Ok(());
        }
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".put-{}-{n}", std::process::id()));
        if let Err(source) = write_block_file(&tmp, data) {
            let _ = std::fs::remove_file(&tmp);
            return Err(BlockstoreError::Io {
                path: tmp.display().to_string(),
                source,
            });
        }
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        self.usage.changed(1, data.len() as i64);
        // A good copy replaces one set aside as damaged.
        match std::fs::remove_file(self.quarantine_path(cid.hash())) {
            Ok(()) => tracing::info!("block {} stored again after damage", cid_string(cid)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("removing the damaged copy of {}: {e}", cid_string(cid)),
        }
        Ok(())
    }

    fn delete(&self, cid: &Cid) -> Result<bool> {
        self.verified_lock().pop(&verified_key(cid.hash()));
        let mut removed = false;
        let stored = self.block_path(cid.hash());
        let size = std::fs::metadata(&stored).map(|m| m.len() as i64).ok();
        for path in [stored, self.quarantine_path(cid.hash())] {
            match std::fs::remove_file(&path) {
                Ok(()) => {
                    self.removals.fetch_add(1, Ordering::SeqCst);
                    if let (false, Some(size)) = (removed, size) {
                        self.usage.changed(-1, -size);
                    }
                    removed = true;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(BlockstoreError::Io {
                        path: path.display().to_string(),
                        source,
                    });
                }
            }
        }
        Ok(removed)
    }

    fn sync(&self) -> Result<()> {
        let dir = std::fs::File::open(&self.root).map_err(io(&self.root))?;
        // SAFETY: syncfs on a descriptor we own for the duration of the call.
        if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
            return Err(BlockstoreError::Io {
                path: self.root.display().to_string(),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(())
    }

    fn all_keys(&self) -> Result<Vec<Cid>> {
        let mut keys = Vec::new();
        let mut bad = None;
        self.walk(&mut |path, hex| {
            let parsed = decode_hex(&hex).and_then(|bytes| Mh::from_bytes(&bytes).ok());
            match parsed {
                Some(mh) => keys.push(Cid::new_v1(RAW, mh)),
                None => bad = Some(path.display().to_string()),
            }
        })?;
        if let Some(path) = bad {
            tracing::warn!("ignoring {path}: its name is not a multihash");
        }
        Ok(keys)
    }
}

fn write_block_file(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if data.len() >= direct_io::MIN_DIRECT {
        match write_direct(path, data) {
            Ok(()) => return Ok(()),
            // Filesystems without O_DIRECT (tmpfs, some FUSE) refuse it: write normally.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
            Err(e) => return Err(e),
        }
    }
    let mut file = std::fs::File::create(path)?;
    file.write_all(data)
}

/// Writes with O_DIRECT: on these machines filling the page cache costs
/// several times more than the device write itself, and a freshly added
/// block is rarely read back at once.
fn write_direct(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)?;
    direct_io::write_file(&mut file, data)
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cid::parse_cid;

    #[test]
    fn passes_the_shared_suite() {
        let dir = tempfile::tempdir().unwrap();
        crate::blockstore::suite::run(&FlatFs::open(dir.path()).unwrap());
    }

    #[test]
    fn lays_blocks_out_as_seed_002_shows() {
        let dir = tempfile::tempdir().unwrap();
        let store = FlatFs::open(dir.path()).unwrap();
        let empty_dir = parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap();
        assert_eq!(
            store.block_path(empty_dir.hash()),
            dir.path()
                .join("1220/59/94/8439065f29619ef41280cbb932be52c56d99c5966b65e0111239f098bbef")
        );
    }

    #[test]
    fn a_block_in_memory_is_read_without_waiting_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let store = FlatFs::open(dir.path()).unwrap();
        let builder = crate::codec::cid::CidBuilder::default();
        let cid = builder.cid_of(RAW, b"in the page cache");
        let absent = builder.cid_of(RAW, b"never stored");
        assert_eq!(store.get_if_in_memory(&absent).unwrap(), None);
        store.put(&cid, b"in the page cache").unwrap();
        // Just written and read back: its path and bytes are in memory.
        store.get(&cid).unwrap();
        assert_eq!(
            store.get_if_in_memory(&cid).unwrap().as_deref(),
            Some(&b"in the page cache"[..])
        );
        // Damaged on disk: refused as a read through `get` would be.
        let damaged = builder.cid_of(RAW, b"damaged later");
        store.put(&damaged, b"damaged later").unwrap();
        std::fs::write(store.block_path(damaged.hash()), b"damaged LATER").unwrap();
        assert!(matches!(
            store.get_if_in_memory(&damaged),
            Err(BlockstoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn leftover_temp_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let store = FlatFs::open(dir.path()).unwrap();
        let cid = crate::codec::cid::CidBuilder::default().cid_of(crate::codec::cid::DAG_PB, b"x");
        store.put(&cid, b"x").unwrap();
        let parent = store.block_path(cid.hash()).parent().unwrap().to_path_buf();
        std::fs::write(parent.join(".put-1-1"), b"half a blo").unwrap();
        std::fs::write(dir.path().join("junk.txt"), b"junk").unwrap();
        assert_eq!(store.all_keys().unwrap().len(), 1);
        assert_eq!(store.usage().unwrap(), (1, 1));
    }

    #[test]
    fn counted_usage_follows_puts_and_deletes_after_one_walk() {
        let dir = tempfile::tempdir().unwrap();
        let store = FlatFs::open(dir.path()).unwrap();
        let builder = crate::codec::cid::CidBuilder::default();
        let a = builder.cid_of(RAW, b"first");
        store.put(&a, b"first").unwrap();
        assert_eq!(store.counted_usage(), None, "not counted before the walk");
        store.count_usage().unwrap();
        assert_eq!(store.counted_usage(), Some((1, 5)));
        let b = builder.cid_of(RAW, b"second!");
        store.put(&b, b"second!").unwrap();
        store.put(&b, b"second!").unwrap();
        assert_eq!(store.counted_usage(), Some((2, 12)));
        assert!(store.delete(&a).unwrap());
        assert!(!store.delete(&a).unwrap());
        assert_eq!(store.counted_usage(), Some((1, 7)));
        assert_eq!(store.usage().unwrap(), (1, 7));
    }

    fn flip_a_byte(path: &Path) {
        let mut bytes = std::fs::read(path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn a_damaged_block_is_corrupt_set_aside_and_can_be_stored_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = FlatFs::open(dir.path()).unwrap();
        let data = vec![7u8; 100 << 10];
        let cid = crate::codec::cid::CidBuilder::default().cid_of(RAW, &data);
        store.put(&cid, &data).unwrap();
        flip_a_byte(&store.block_path(cid.hash()));

        match store.get_shared(&cid) {
            Err(BlockstoreError::Corrupt { cid: named, .. }) => assert_eq!(named, cid_string(&cid)),
            other => panic!(
                "expected Corrupt, got {:?}",
                other.map(|b| b.map(|b| b.len()))
            ),
        }
        assert!(!store.has(&cid).unwrap(), "a damaged block is not had");
        assert!(store.all_keys().unwrap().is_empty());
        assert!(store.quarantine_path(cid.hash()).exists());
        assert_eq!(store.quarantined().unwrap().len(), 1);
        // Still damaged, not merely missing, until a good copy comes.
        assert!(matches!(
            store.get(&cid),
            Err(BlockstoreError::Corrupt { .. })
        ));

        store.put(&cid, &data).unwrap();
        assert_eq!(store.get(&cid).unwrap().as_deref(), Some(&data[..]));
        assert_eq!(store.get_shared(&cid).unwrap().as_deref(), Some(&data[..]));
        assert!(store.has(&cid).unwrap());
        assert!(store.quarantined().unwrap().is_empty());
    }

    #[test]
    fn get_checks_small_blocks_too_and_delete_forgets_the_damage() {
        let dir = tempfile::tempdir().unwrap();
        let store = FlatFs::open(dir.path()).unwrap();
        let cid =
            crate::codec::cid::CidBuilder::default().cid_of(crate::codec::cid::DAG_PB, b"xyz");
        store.put(&cid, b"xyz").unwrap();
        flip_a_byte(&store.block_path(cid.hash()));
        assert!(matches!(
            store.get(&cid),
            Err(BlockstoreError::Corrupt { .. })
        ));
        assert!(store.delete(&cid).unwrap());
        assert_eq!(store.get(&cid).unwrap(), None);
    }

    #[test]
    fn hash_on_read_off_serves_the_bytes_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let store = FlatFs::open(dir.path()).unwrap();
        store.set_hash_on_read(false);
        let cid = crate::codec::cid::CidBuilder::default().cid_of(RAW, b"abc");
        store.put(&cid, b"abc").unwrap();
        flip_a_byte(&store.block_path(cid.hash()));
        assert_eq!(store.get(&cid).unwrap().as_deref(), Some(&b"acc"[..]));
    }

    #[test]
    fn a_deleted_block_is_checked_again_when_it_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = FlatFs::open(dir.path()).unwrap();
        let cid = crate::codec::cid::CidBuilder::default().cid_of(RAW, b"again");
        store.put(&cid, b"again").unwrap();
        assert_eq!(store.get(&cid).unwrap().as_deref(), Some(&b"again"[..]));
        assert!(store.delete(&cid).unwrap());
        store.put(&cid, b"again").unwrap();
        flip_a_byte(&store.block_path(cid.hash()));
        assert!(matches!(
            store.get(&cid),
            Err(BlockstoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_good_copy_stored_meanwhile_is_not_set_aside() {
        // A second reader of the damaged bytes quarantines after a good copy
        // was stored: the good copy stays.
        let dir = tempfile::tempdir().unwrap();
        let store = FlatFs::open(dir.path()).unwrap();
        let cid = crate::codec::cid::CidBuilder::default().cid_of(RAW, b"good");
        store.put(&cid, b"good").unwrap();
        let path = store.block_path(cid.hash());
        store.quarantine(&cid, &path);
        assert_eq!(store.get(&cid).unwrap().as_deref(), Some(&b"good"[..]));
        assert!(store.quarantined().unwrap().is_empty());
    }
}
