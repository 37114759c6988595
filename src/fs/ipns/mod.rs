//! The /ipns tree, free of FUSE. `/ipns/<name>` is resolved when looked
//! up (through a [`NameService`]: IPNS records, DNSLink, whatever it
//! knows) and shows the content it points to through the read-only /ipfs
//! logic ([`IpfsFs`]). The root lists our keys, read anew each time. A name
//! of ours is a writable MFS tree of its own, rooted at the name's value;
//! its changes are published once writers are done (see `publish`).

mod numbers;
mod publish;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::attr::Attr;
use super::ipfs::IpfsFs;
use super::mfs::{self, Caller, Invalidate, Invalidation, MfsFs, NewNode, PersistRoot, RenameMode};
use super::writable::{WRITABLE_TTL, WritableFs};
use super::{FsError, Listing};
use crate::codec::cid::{Cid, cid_string};
use numbers::{Place, ROOT, place};

pub use numbers::MAX_TAG;
pub use publish::spawn_publisher;

/// Content below a name never changes: the kernel may keep it long.
const CONTENT_TTL: Duration = Duration::from_secs(24 * 3600);
/// The kernel keeps a name's answer as long as its record says, within
/// these bounds: a name stays cheap to use, and a new record of another
/// node shows within minutes.
const NAME_TTL_MIN: Duration = Duration::from_secs(1);
const NAME_TTL_MAX: Duration = Duration::from_secs(5 * 60);
/// A name with no record (DNSLink) is asked again after this.
const NO_RECORD_TTL: Duration = Duration::from_secs(60);

const XATTR_VALUE: &str = "user.ipns.value";
const XATTR_SEQ: &str = "user.ipns.seq";
const XATTR_EOL: &str = "user.ipns.eol";
const XATTR_TTL: &str = "user.ipns.ttl";

/// What a name's record says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordInfo {
    pub value: String,
    pub sequence: u64,
    /// RFC 3339, as the record has it.
    pub eol: Option<String>,
    pub ttl: Duration,
}

/// A key of ours: its name in the keystore and the IPNS name (`k51…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnKey {
    pub key: String,
    pub name: String,
}

/// Where a name leads.
#[derive(Clone, Debug)]
pub struct Resolution {
    /// `/ipfs/<cid>[/path]`.
    pub path: String,
    /// The first record on the way, if the name has one.
    pub record: Option<RecordInfo>,
}

/// What a writable tree of ours had persisted last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavedTree {
    pub root: Cid,
    pub history: Option<Cid>,
    /// The sequence of the record the tree started from or last published.
    pub based_on: Option<u64>,
}

/// What the /ipns tree needs from names and the repository.
pub trait NameService: Send + Sync {
    /// Our keys, `self` first.
    fn own_keys(&self) -> Result<Vec<OwnKey>, String>;
    /// Where `name` (without `/ipns/`) leads now; within the resolve
    /// timeout.
    fn resolve(&self, name: &str) -> Result<Resolution, String>;
    /// The record of a name of ours kept here.
    fn own_record(&self, name: &str) -> Option<RecordInfo>;
    /// Points the name of `key` at the directory `root`.
    fn publish(&self, key: &str, root: &Cid) -> Result<RecordInfo, String>;
    fn saved_tree(&self, name: &str) -> Option<SavedTree>;
    fn save_tree(&self, name: &str, saved: &SavedTree) -> Result<(), String>;
    /// An MFS tree at `root` (an empty directory when `None`), calling
    /// `persist` with each new root once its blocks are durable.
    fn open_tree(
        &self,
        root: Option<&Cid>,
        history: Option<&Cid>,
        persist: PersistRoot,
    ) -> Result<Arc<MfsFs>, String>;
}

/// `/ipns/<name>` of a name shown read-only: the content inode it leads to.
struct NameNode {
    name: String,
    target: u64,
    record: Option<RecordInfo>,
    holds: u64,
}

/// The writable tree of a key of ours.
struct OwnTree {
    key: String,
    name: String,
    fs: Arc<MfsFs>,
    /// The sequence of the record this tree follows (`u64::MAX`: none).
    based_on: Arc<AtomicU64>,
    /// The root last published (or found published).
    published: Option<Cid>,
    /// A change waits to be published.
    pending: bool,
    last_publish: Option<Instant>,
}

const NO_SEQUENCE: u64 = u64::MAX;

#[derive(Default)]
struct State {
    names: HashMap<u64, NameNode>,
    name_index: HashMap<(String, u64), u64>,
    next_name: u64,
    trees: HashMap<u16, OwnTree>,
    tree_of: HashMap<String, u16>,
    next_tag: u16,
}

pub struct IpnsFs {
    service: Arc<dyn NameService>,
    content: IpfsFs,
    state: Mutex<State>,
    /// Wakes the publisher.
    wake: Condvar,
    /// One tree opened at a time, so a key never gets two.
    opening: Mutex<()>,
    invalidate: Arc<Mutex<Option<Arc<Invalidate>>>>,
    debounce: Duration,
    stopping: std::sync::atomic::AtomicBool,
}

fn ipfs_path(cid: &Cid) -> String {
    format!("/ipfs/{}", cid_string(cid))
}

/// `/ipfs/<cid>` exactly (no path below it).
fn bare_cid(value: &str) -> Option<Cid> {
    let text = value.strip_prefix("/ipfs/")?;
    if text.contains('/') {
        return None;
    }
    crate::codec::cid::parse_cid(text).ok()
}

/// Whether `record` was published by someone else than the tree `fs`
/// following the record of sequence `based_on`.
fn replaced(record: Option<&RecordInfo>, fs: &MfsFs, based_on: u64) -> bool {
    record.is_some_and(|record| {
        record.sequence != based_on && record.value != ipfs_path(&fs.root_cid())
    })
}

fn name_ttl(record: Option<&RecordInfo>) -> Duration {
    match record {
        Some(record) => record.ttl.clamp(NAME_TTL_MIN, NAME_TTL_MAX),
        None => NO_RECORD_TTL,
    }
}

fn with_ino(mut attr: Attr, ino: u64) -> Attr {
    attr.ino = ino;
    attr
}

fn record_xattr(record: Option<&RecordInfo>, attr: &str) -> Result<Vec<u8>, FsError> {
    let record = record.ok_or(FsError::NoAttribute)?;
    let text = match attr {
        XATTR_VALUE => record.value.clone(),
        XATTR_SEQ => record.sequence.to_string(),
        XATTR_EOL => record.eol.clone().ok_or(FsError::NoAttribute)?,
        XATTR_TTL => crate::go_duration::format(record.ttl),
        _ => return Err(FsError::NoAttribute),
    };
    Ok(text.into_bytes())
}

fn record_xattr_names(record: Option<&RecordInfo>) -> Vec<u8> {
    let mut names = Vec::new();
    if let Some(record) = record {
        for name in [XATTR_VALUE, XATTR_SEQ, XATTR_TTL] {
            names.extend_from_slice(name.as_bytes());
            names.push(0);
        }
        if record.eol.is_some() {
            names.extend_from_slice(XATTR_EOL.as_bytes());
            names.push(0);
        }
    }
    names
}

/// A name looked up at the root: plain, and not something tools probe for.
fn plausible_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains('/') && !name.contains('\0')
}

impl IpnsFs {
    /// `content` serves what names lead to; `debounce` is the least time
    /// between two publishes of one name.
    pub fn new(service: Arc<dyn NameService>, content: IpfsFs, debounce: Duration) -> Self {
        IpnsFs {
            service,
            content,
            state: Mutex::new(State {
                next_tag: 1,
                ..State::default()
            }),
            wake: Condvar::new(),
            opening: Mutex::new(()),
            invalidate: Arc::default(),
            debounce,
            stopping: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Installs the hook that tells the kernel of changes it did not ask for.
    pub fn set_invalidate(&self, hook: Invalidate) {
        *self.invalidate.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(hook));
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tree(&self, tag: u16) -> Result<Arc<MfsFs>, FsError> {
        self.state()
            .trees
            .get(&tag)
            .map(|tree| Arc::clone(&tree.fs))
            .ok_or(FsError::NotFound)
    }

    fn tree_attr(tag: u16, attr: Attr) -> Result<Attr, FsError> {
        Ok(with_ino(attr, numbers::tree_ino(tag, attr.ino)?))
    }

    fn content_attr(attr: Attr) -> Result<Attr, FsError> {
        numbers::content_ino(attr.ino)?;
        Ok(attr)
    }

    fn name_target(&self, index: u64) -> Result<u64, FsError> {
        self.state()
            .names
            .get(&index)
            .map(|node| node.target)
            .ok_or(FsError::NotFound)
    }

    /// A change in tree `tag` waits to be published.
    fn changed(&self, tag: u16) {
        if let Some(tree) = self.state().trees.get_mut(&tag) {
            tree.pending = true;
        }
        self.wake.notify_all();
    }

    fn lookup_root(&self, name: &str) -> Result<Attr, FsError> {
        if !plausible_name(name) {
            return Err(FsError::NotFound);
        }
        let keys = self.service.own_keys().unwrap_or_else(|err| {
            tracing::warn!("/ipns: cannot list our keys: {err}");
            Vec::new()
        });
        if let Some(key) = keys.iter().find(|k| k.key == name || k.name == name) {
            return match self.own_tree_root(key)? {
                Some(attr) => Ok(attr),
                None => self.lookup_name(&key.name),
            };
        }
        self.lookup_name(name)
    }

    /// The root of the writable tree of `key`, opened if needed; `None`
    /// when the name leads to something else than a directory of its own
    /// (a file, a path below a CID, another name): it is then shown
    /// read-only like any name.
    fn own_tree_root(&self, key: &OwnKey) -> Result<Option<Attr>, FsError> {
        let _opening = self.opening.lock().unwrap_or_else(|p| p.into_inner());
        let record = self.service.own_record(&key.name);
        let open = {
            let state = self.state();
            state.tree_of.get(&key.name).and_then(|tag| {
                let tree = state.trees.get(tag)?;
                Some((
                    *tag,
                    Arc::clone(&tree.fs),
                    tree.based_on.load(Ordering::SeqCst),
                ))
            })
        };
        if let Some((tag, fs, based_on)) = open {
            if !replaced(record.as_ref(), &fs, based_on) {
                return fs
                    .getattr(mfs::ROOT_INO)
                    .and_then(|attr| Self::tree_attr(tag, attr))
                    .map(Some);
            }
            tracing::info!(
                "/ipns/{}: published elsewhere as {}; the mount follows",
                key.key,
                record
                    .as_ref()
                    .map(|r| r.value.as_str())
                    .unwrap_or_default()
            );
            self.retire(tag);
        }
        let saved = self.service.saved_tree(&key.name);
        let (root, history, based_on) = match (saved, &record) {
            (Some(saved), record)
                if record.as_ref().is_none_or(|r| {
                    saved.based_on == Some(r.sequence) || r.value == ipfs_path(&saved.root)
                }) =>
            {
                let based_on = record.as_ref().map(|r| r.sequence);
                (Some(saved.root), saved.history, based_on)
            }
            (_, Some(record)) => match bare_cid(&record.value) {
                Some(cid) => (Some(cid), None, Some(record.sequence)),
                None => return Ok(None),
            },
            (_, None) => (None, None, None),
        };
        let published = record.as_ref().and_then(|r| bare_cid(&r.value));
        self.open_own(key, root, history, based_on, published)
    }

    fn open_own(
        &self,
        key: &OwnKey,
        root: Option<Cid>,
        history: Option<Cid>,
        based_on: Option<u64>,
        published: Option<Cid>,
    ) -> Result<Option<Attr>, FsError> {
        let tag = {
            let mut state = self.state();
            let tag = state.next_tag;
            if tag > MAX_TAG {
                return Err(FsError::io("the /ipns mount opened too many trees"));
            }
            state.next_tag += 1;
            tag
        };
        let based_on = Arc::new(AtomicU64::new(based_on.unwrap_or(NO_SEQUENCE)));
        let persist = {
            let (service, name, based_on) = (
                Arc::clone(&self.service),
                key.name.clone(),
                Arc::clone(&based_on),
            );
            Box::new(move |root: &Cid, head: &Cid| {
                let sequence = based_on.load(Ordering::SeqCst);
                service.save_tree(
                    &name,
                    &SavedTree {
                        root: *root,
                        history: Some(*head),
                        based_on: (sequence != NO_SEQUENCE).then_some(sequence),
                    },
                )
            })
        };
        let fs = match self
            .service
            .open_tree(root.as_ref(), history.as_ref(), persist)
        {
            Ok(fs) => fs,
            Err(err) => {
                tracing::warn!("/ipns/{}: shown read-only: {err}", key.key);
                return Ok(None);
            }
        };
        fs.share_file_reads(self.content.file_reads());
        let hook = Arc::clone(&self.invalidate);
        fs.set_invalidate(Box::new(move |change| {
            let global = match change {
                Invalidation::Inode(ino) => numbers::tree_ino(tag, *ino).map(Invalidation::Inode),
                Invalidation::Entry(parent, name) => numbers::tree_ino(tag, *parent)
                    .map(|parent| Invalidation::Entry(parent, name.clone())),
            };
            let hook = hook.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let (Ok(global), Some(hook)) = (global, hook) {
                hook(&global);
            }
        }));
        let attr = Self::tree_attr(tag, fs.getattr(mfs::ROOT_INO)?)?;
        let unpublished = root.is_some() && root != published;
        let mut state = self.state();
        state.tree_of.insert(key.name.clone(), tag);
        state.trees.insert(
            tag,
            OwnTree {
                key: key.key.clone(),
                name: key.name.clone(),
                fs,
                based_on,
                published,
                pending: unpublished,
                last_publish: None,
            },
        );
        drop(state);
        if unpublished {
            self.wake.notify_all();
        }
        Ok(Some(attr))
    }

    /// A record for `name` was kept: if it is a name of ours whose tree is
    /// open and someone else published it (`name publish`), the tree
    /// goes, and the kernel forgets the name at once.
    pub fn name_kept(&self, name: &str) {
        let opening = self.opening.lock().unwrap_or_else(|p| p.into_inner());
        let open = {
            let state = self.state();
            state.tree_of.get(name).and_then(|tag| {
                let tree = state.trees.get(tag)?;
                Some((
                    *tag,
                    Arc::clone(&tree.fs),
                    tree.based_on.load(Ordering::SeqCst),
                    tree.key.clone(),
                ))
            })
        };
        let Some((tag, fs, based_on)) = open.as_ref().map(|(t, f, b, _)| (*t, f, *b)) else {
            drop(opening);
            self.forget_foreign(name);
            return;
        };
        let record = self.service.own_record(name);
        if !replaced(record.as_ref(), fs, based_on) {
            return;
        }
        if fs.has_changes() {
            tracing::warn!(
                "/ipns/{name}: published elsewhere; changes not yet published are dropped"
            );
        }
        self.retire(tag);
        drop(opening);
        let hook = self
            .invalidate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let (Some(hook), Some((_, _, _, key))) = (hook, open) {
            hook(&Invalidation::Entry(ROOT, key));
            hook(&Invalidation::Entry(ROOT, name.to_string()));
        }
    }

    /// A newer record of a name shown read-only was kept (`name resolve`
    /// found it): the kernel forgets the name, so the mount agrees with the
    /// CLI at once rather than after the old record's TTL. Told from
    /// another thread: the record may have come from a lookup under the
    /// root, which the kernel would make the notification wait for.
    fn forget_foreign(&self, name: &str) {
        let shown = self.state().names.values().any(|node| node.name == name);
        let hook = self
            .invalidate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let (true, Some(hook)) = (shown, hook) {
            let name = name.to_string();
            std::thread::spawn(move || hook(&Invalidation::Entry(ROOT, name)));
        }
    }

    /// Drops tree `tag`: its name leads elsewhere now. What the kernel
    /// still holds of it is gone.
    fn retire(&self, tag: u16) {
        let mut state = self.state();
        if let Some(tree) = state.trees.remove(&tag) {
            state.tree_of.remove(&tree.name);
        }
    }

    /// `/ipns/<name>` of a name shown read-only.
    fn lookup_name(&self, name: &str) -> Result<Attr, FsError> {
        let resolution = self.service.resolve(name).map_err(|err| {
            tracing::warn!("/ipns/{name}: {err}");
            FsError::NotFound
        })?;
        let target = self.walk(&resolution.path)?;
        self.hold_name(name, target, resolution.record)
    }

    /// The content inode at `/ipfs/<cid>/path`, held once.
    fn walk(&self, path: &str) -> Result<Attr, FsError> {
        let rest = path.strip_prefix("/ipfs/").ok_or_else(|| {
            tracing::warn!("/ipns: a name leads to {path:?}, not an /ipfs/ path");
            FsError::NotFound
        })?;
        let mut parts = rest.split('/').filter(|part| !part.is_empty());
        let cid = parts.next().ok_or(FsError::NotFound)?;
        let mut at = self.content.lookup(ROOT, cid)?;
        for part in parts {
            let next = self.content.lookup(at.ino, part);
            self.content.forget([(at.ino, 1)]);
            at = next?;
        }
        Self::content_attr(at)
    }

    /// The name inode for `name` leading to `target` (held once, a hold
    /// that passes to the name inode).
    fn hold_name(
        &self,
        name: &str,
        target: Attr,
        record: Option<RecordInfo>,
    ) -> Result<Attr, FsError> {
        let mut state = self.state();
        let key = (name.to_string(), target.ino);
        if let Some(&index) = state.name_index.get(&key) {
            if let Some(node) = state.names.get_mut(&index) {
                node.holds += 1;
                node.record = record;
            }
            drop(state);
            self.content.forget([(target.ino, 1)]);
            return Ok(with_ino(target, numbers::name_ino(index)?));
        }
        state.next_name += 1;
        let index = state.next_name;
        let ino = match numbers::name_ino(index) {
            Ok(ino) => ino,
            Err(err) => {
                drop(state);
                self.content.forget([(target.ino, 1)]);
                return Err(err);
            }
        };
        state.name_index.insert(key, index);
        state.names.insert(
            index,
            NameNode {
                name: name.to_string(),
                target: target.ino,
                record,
                holds: 1,
            },
        );
        Ok(with_ino(target, ino))
    }

    fn forget_name(&self, index: u64, count: u64) {
        let mut state = self.state();
        let Some(node) = state.names.get_mut(&index) else {
            return;
        };
        node.holds = node.holds.saturating_sub(count);
        if node.holds > 0 {
            return;
        }
        if let Some(node) = state.names.remove(&index) {
            state.name_index.remove(&(node.name, node.target));
            drop(state);
            self.content.forget([(node.target, 1)]);
        }
    }

    fn root_listing(&self) -> Result<Vec<Listing>, FsError> {
        let keys = self
            .service
            .own_keys()
            .map_err(|err| FsError::io(format!("listing our keys: {err}")))?;
        let mut listing = Vec::with_capacity(keys.len());
        for key in keys {
            match self.lookup_root(&key.key) {
                Ok(attr) => listing.push(Listing {
                    name: key.key,
                    attr,
                }),
                Err(err) => tracing::warn!("/ipns/{}: {err}", key.key),
            }
        }
        Ok(listing)
    }

    /// The record shown on `/ipns/<name>` itself, if `ino` is one.
    fn record_of(&self, ino: u64) -> Option<Option<RecordInfo>> {
        match place(ino) {
            Place::Name(index) => Some(self.state().names.get(&index)?.record.clone()),
            Place::Tree(tag, mfs::ROOT_INO) => {
                let name = self.state().trees.get(&tag)?.name.clone();
                Some(self.service.own_record(&name))
            }
            _ => None,
        }
    }

    /// Makes every tree durable and publishes what changed (at unmount).
    pub fn publish_all(&self) {
        let tags: Vec<u16> = self.state().trees.keys().copied().collect();
        for tag in tags {
            self.publish_tree(tag, true);
        }
    }

    fn same_tree(a: u16, b: u16) -> Result<(), FsError> {
        if a == b {
            Ok(())
        } else {
            Err(FsError::CrossDevice)
        }
    }

    /// The writable tree and its inode for `ino`, or why it is not writable.
    fn writable(&self, ino: u64) -> Result<(u16, u64, Arc<MfsFs>), FsError> {
        match place(ino) {
            Place::Tree(tag, sub) => Ok((tag, sub, self.tree(tag)?)),
            _ => Err(FsError::ReadOnly),
        }
    }
}

impl WritableFs for IpnsFs {
    fn lookup(&self, parent: u64, name: &str) -> Result<Attr, FsError> {
        match place(parent) {
            Place::Root => self.lookup_root(name),
            Place::Content(ino) => Self::content_attr(self.content.lookup(ino, name)?),
            Place::Name(index) => {
                Self::content_attr(self.content.lookup(self.name_target(index)?, name)?)
            }
            Place::Tree(tag, sub) => Self::tree_attr(tag, self.tree(tag)?.lookup(sub, name)?),
        }
    }

    fn getattr(&self, ino: u64) -> Result<Attr, FsError> {
        match place(ino) {
            Place::Root => Ok(Attr::root(ROOT)),
            Place::Content(ino) => self.content.getattr(ino),
            Place::Name(index) => Ok(with_ino(
                self.content.getattr(self.name_target(index)?)?,
                ino,
            )),
            Place::Tree(tag, sub) => Self::tree_attr(tag, self.tree(tag)?.getattr(sub)?),
        }
    }

    fn setattr(&self, ino: u64, set: &mfs::SetAttr) -> Result<Attr, FsError> {
        let (tag, sub, tree) = self.writable(ino)?;
        let attr = tree.setattr(sub, set)?;
        self.changed(tag);
        Self::tree_attr(tag, attr)
    }

    fn readlink(&self, ino: u64) -> Result<Vec<u8>, FsError> {
        match place(ino) {
            Place::Root => Err(FsError::Invalid),
            Place::Content(ino) => self.content.readlink(ino),
            Place::Name(index) => self.content.readlink(self.name_target(index)?),
            Place::Tree(tag, sub) => self.tree(tag)?.readlink(sub),
        }
    }

    fn make(
        &self,
        caller: Caller,
        parent: u64,
        name: &str,
        new: &NewNode,
    ) -> Result<Attr, FsError> {
        let (tag, sub, tree) = self.writable(parent)?;
        let attr = tree.make(caller, sub, name, new)?;
        self.changed(tag);
        Self::tree_attr(tag, attr)
    }

    fn link(&self, ino: u64, parent: u64, name: &str) -> Result<Attr, FsError> {
        let (tag, sub, tree) = self.writable(parent)?;
        let (file_tag, file, _) = self.writable(ino)?;
        Self::same_tree(tag, file_tag)?;
        let attr = tree.link(file, sub, name)?;
        self.changed(tag);
        Self::tree_attr(tag, attr)
    }

    fn unlink(&self, parent: u64, name: &str) -> Result<(), FsError> {
        let (tag, sub, tree) = self.writable(parent)?;
        tree.unlink(sub, name)?;
        self.changed(tag);
        Ok(())
    }

    fn rmdir(&self, parent: u64, name: &str) -> Result<(), FsError> {
        let (tag, sub, tree) = self.writable(parent)?;
        tree.rmdir(sub, name)?;
        self.changed(tag);
        Ok(())
    }

    fn rename(
        &self,
        parent: u64,
        name: &str,
        new_parent: u64,
        new_name: &str,
        mode: RenameMode,
    ) -> Result<(), FsError> {
        let (tag, sub, tree) = self.writable(parent)?;
        let (new_tag, new_sub, _) = self.writable(new_parent)?;
        Self::same_tree(tag, new_tag)?;
        tree.rename(sub, name, new_sub, new_name, mode)?;
        self.changed(tag);
        Ok(())
    }

    fn open(&self, ino: u64, writes: bool) -> Result<u64, FsError> {
        match place(ino) {
            Place::Tree(tag, sub) => numbers::tree_handle(tag, self.tree(tag)?.open(sub, writes)?),
            _ if writes => Err(FsError::ReadOnly),
            _ => self.getattr(ino).map(|_| 0),
        }
    }

    fn create(
        &self,
        caller: Caller,
        parent: u64,
        name: &str,
        perm: u32,
    ) -> Result<(Attr, u64), FsError> {
        let (tag, sub, tree) = self.writable(parent)?;
        let (attr, fh) = tree.create(caller, sub, name, perm)?;
        self.changed(tag);
        Ok((Self::tree_attr(tag, attr)?, numbers::tree_handle(tag, fh)?))
    }

    fn read(&self, ino: u64, offset: u64, size: u32) -> Result<Bytes, FsError> {
        match place(ino) {
            Place::Root => Err(FsError::IsADirectory),
            Place::Content(ino) => self.content.read(ino, offset, size),
            Place::Name(index) => self.content.read(self.name_target(index)?, offset, size),
            Place::Tree(tag, sub) => self.tree(tag)?.read(sub, offset, size),
        }
    }

    fn write(&self, ino: u64, offset: u64, data: &[u8]) -> Result<u32, FsError> {
        let (_, sub, tree) = self.writable(ino)?;
        tree.write(sub, offset, data)
    }

    fn flush_handle(&self, fh: u64) -> Result<(), FsError> {
        let Some((tag, fh)) = numbers::handle_place(fh) else {
            return Ok(());
        };
        let tree = self.tree(tag)?;
        tree.flush_handle(fh)?;
        if tree.has_changes() {
            self.changed(tag);
        }
        Ok(())
    }

    fn release(&self, fh: u64) {
        let Some((tag, fh)) = numbers::handle_place(fh) else {
            return;
        };
        if let Ok(tree) = self.tree(tag) {
            tree.release(fh);
            if tree.has_changes() {
                self.changed(tag);
            }
        }
    }

    fn fsync(&self, ino: u64) -> Result<(), FsError> {
        let Place::Tree(tag, _) = place(ino) else {
            return Ok(());
        };
        self.tree(tag)?.sync(true)?;
        self.changed(tag);
        Ok(())
    }

    fn readdir(&self, ino: u64) -> Result<Vec<Listing>, FsError> {
        let content_listing = |listing: Vec<Listing>| {
            listing
                .into_iter()
                .map(|entry| {
                    Ok(Listing {
                        attr: Self::content_attr(entry.attr)?,
                        name: entry.name,
                    })
                })
                .collect()
        };
        match place(ino) {
            Place::Root => self.root_listing(),
            Place::Content(ino) => content_listing(self.content.readdir(ino)?),
            Place::Name(index) => content_listing(self.content.readdir(self.name_target(index)?)?),
            Place::Tree(tag, sub) => self
                .tree(tag)?
                .readdir(sub)?
                .into_iter()
                .map(|entry| {
                    Ok(Listing {
                        attr: Self::tree_attr(tag, entry.attr)?,
                        name: entry.name,
                    })
                })
                .collect(),
        }
    }

    fn release_listing(&self, listing: &[Listing]) {
        for entry in listing {
            self.forget(entry.attr.ino, 1);
        }
    }

    fn forget(&self, ino: u64, count: u64) {
        match place(ino) {
            Place::Content(ino) => self.content.forget([(ino, count)]),
            Place::Name(index) => self.forget_name(index, count),
            Place::Root | Place::Tree(..) => {}
        }
    }

    fn getxattr(&self, ino: u64, name: &str) -> Result<Vec<u8>, FsError> {
        if name.starts_with("user.ipns.") {
            let record = self.record_of(ino).ok_or(FsError::NoAttribute)?;
            return record_xattr(record.as_ref(), name);
        }
        match place(ino) {
            Place::Root => Err(FsError::NoAttribute),
            Place::Content(ino) => self.content.getxattr(ino, name),
            Place::Name(index) => self.content.getxattr(self.name_target(index)?, name),
            Place::Tree(tag, sub) => WritableFs::getxattr(&*self.tree(tag)?, sub, name),
        }
    }

    fn listxattr(&self, ino: u64) -> Result<Vec<u8>, FsError> {
        let mut names = match place(ino) {
            Place::Root => Vec::new(),
            Place::Content(ino) => self.content.listxattr(ino)?,
            Place::Name(index) => self.content.listxattr(self.name_target(index)?)?,
            Place::Tree(tag, sub) => WritableFs::listxattr(&*self.tree(tag)?, sub)?,
        };
        if let Some(record) = self.record_of(ino) {
            names.extend(record_xattr_names(record.as_ref()));
        }
        Ok(names)
    }

    fn ttl(&self, ino: u64) -> Duration {
        match place(ino) {
            Place::Content(_) => CONTENT_TTL,
            Place::Name(index) => {
                let state = self.state();
                name_ttl(state.names.get(&index).and_then(|n| n.record.as_ref()))
            }
            Place::Root | Place::Tree(..) => WRITABLE_TTL,
        }
    }

    /// Content never changes; a file of our trees changes only through
    /// this mount, which the kernel sees (its pages stay valid), or is
    /// reverted after a failed write, which the kernel is told of.
    fn keeps_cache(&self, _ino: u64) -> bool {
        true
    }

    fn unmounting(&self) {
        self.publish_all();
    }
}
