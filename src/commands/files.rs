//! `files`: the MFS commands, on the one MFS engine (`fs::mfs::MfsFs`) that
//! the mount also serves. Offline the CLI opens the tree from the
//! repository for one command; while a mount or daemon runs, the API runs
//! the same functions on its tree. Errors read as Kubo's.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::Arc;

use super::{CommandError, Core, bad_argument, failed};
use crate::blockstore::Blockstore;
use crate::codec::IpfsPath;
use crate::codec::cid::{Cid, CidBuilder};
use crate::fs::FsError;
use crate::fs::mfs::{Caller, MfsFs};
use crate::mfs::history::{self, Commit};
use crate::mfs::{Stat, WriteOptions};
use crate::repo::Repo;
use crate::unixfs::dir::{DirEntry, DirOptions, build_directory};
use crate::unixfs::node::Kind;
use crate::unixfs::resolve::resolve;

/// Opens the repository's MFS tree (an empty one the first time); every new
/// root it makes durable is recorded in the repository, and garbage
/// collection keeps what the tree holds and waits for its writes.
pub fn open_tree(
    repo: &Arc<Repo>,
    store: Arc<dyn Blockstore>,
    owner: Caller,
) -> Result<Arc<MfsFs>, CommandError> {
    let root = match repo.mfs_root().map_err(failed)? {
        Some(root) => root,
        None => {
            let empty = build_directory(store.as_ref(), Vec::new(), &DirOptions::default())
                .map_err(failed)?;
            store.sync().map_err(failed)?;
            repo.set_mfs_root(&empty.cid).map_err(failed)?;
            empty.cid
        }
    };
    let saver = Arc::clone(repo);
    let persist = Box::new(move |root: &Cid, head: &Cid| {
        saver.set_mfs_state(root, head).map_err(|e| e.to_string())
    });
    let history = repo.mfs_history().map_err(failed)?;
    open_tree_at(repo, store, root, history, owner, persist)
}

/// An MFS tree over the repository at `root` (the repository's own tree,
/// or a tree of the /ipns mount), calling `persist` with each new root:
/// attributes kept in the repository, and garbage collection keeping what
/// the tree holds and waiting for its writes.
pub fn open_tree_at(
    repo: &Arc<Repo>,
    store: Arc<dyn Blockstore>,
    root: Cid,
    history: Option<Cid>,
    owner: Caller,
    persist: crate::fs::mfs::PersistRoot,
) -> Result<Arc<MfsFs>, CommandError> {
    let tree = MfsFs::new(store, root, history, owner, persist).map_err(|err| {
        failed(format!(
            "opening the MFS root {}: {err}",
            crate::codec::cid_string(&root)
        ))
    })?;
    let tree = Arc::new(
        tree.with_attrs(Arc::clone(repo) as Arc<dyn crate::fs::mfs::AttrStore>)
            .with_gc_lock(Arc::clone(repo.gc_lock())),
    );
    let provider = Arc::downgrade(&tree);
    repo.gc_lock().add_roots_provider(Box::new(move || {
        provider
            .upgrade()
            .map(|tree| tree.live_roots())
            .unwrap_or_default()
    }));
    let listener = Arc::downgrade(&tree);
    repo.gc_lock()
        .add_rooted_listener(Box::new(move |blocks: &HashSet<Vec<u8>>| {
            if let Some(tree) = listener.upgrade() {
                tree.keep_blocks(blocks);
            }
        }));
    Ok(tree)
}

/// A filesystem error about `path`, in the words `files` uses.
fn failure(mfs: &MfsFs, path: &str, err: FsError) -> CommandError {
    let message = match err {
        FsError::NotFound => format!("{}: file does not exist", missing_part(mfs, path)),
        FsError::Exists => format!("{path}: already exists"),
        FsError::IsADirectory => format!("{path}: is a directory (use -r to remove directories)"),
        FsError::NotADirectory => format!("{path}: not a directory"),
        FsError::Invalid => format!("{path}: not an absolute MFS path of plain names"),
        FsError::ReadOnly => format!("{path}: read-only (a past version)"),
        other => format!("{path}: {other}"),
    };
    CommandError::Failed(message)
}

/// The shortest leading part of `path` that does not exist.
fn missing_part<'p>(mfs: &MfsFs, path: &'p str) -> &'p str {
    let ends = path
        .char_indices()
        .filter(|&(i, c)| c == '/' && i > 0)
        .map(|(i, _)| i)
        .chain([path.len()]);
    for end in ends {
        if matches!(mfs.resolve(&path[..end]), Err(FsError::NotFound)) {
            return &path[..end];
        }
    }
    path
}

/// A directory's entries (or a file as its one entry), with each entry's
/// kind and content size.
pub fn ls(mfs: &MfsFs, path: &str) -> Result<Vec<(DirEntry, Kind, u64)>, CommandError> {
    mfs.path_ls(path).map_err(|e| failure(mfs, path, e))
}

pub fn mkdir(mfs: &MfsFs, path: &str, parents: bool) -> Result<(), CommandError> {
    mfs.path_mkdir(path, parents)
        .map_err(|e| failure(mfs, path, e))
}

pub fn write(
    mfs: &MfsFs,
    path: &str,
    data: &mut dyn Read,
    opts: &WriteOptions,
) -> Result<(), CommandError> {
    mfs.path_write(path, data, opts)
        .map_err(|e| failure(mfs, path, e))
}

pub fn read(
    mfs: &MfsFs,
    path: &str,
    offset: u64,
    count: Option<u64>,
    out: &mut dyn Write,
) -> Result<(), CommandError> {
    mfs.path_read(path, offset, count, out)
        .map_err(|e| failure(mfs, path, e))
}

pub fn rm(mfs: &MfsFs, paths: &[String], recursive: bool) -> Result<(), CommandError> {
    if paths.is_empty() {
        return Err(bad_argument("argument \"path\" is required"));
    }
    for path in paths {
        if crate::mfs::parse_path(path).is_ok_and(|names| names.is_empty()) {
            return Err(failed(format!(
                "{path}: the root cannot be removed or replaced"
            )));
        }
        mfs.path_rm(path, recursive)
            .map_err(|e| failure(mfs, path, e))?;
    }
    Ok(())
}

/// `files cp`: `src` is an MFS path or an `/ipfs/` path read through `store`.
pub fn cp(
    mfs: &MfsFs,
    store: &dyn Blockstore,
    src: &str,
    dst: &str,
    parents: bool,
) -> Result<(), CommandError> {
    if src.starts_with("/ipfs/") {
        let path = IpfsPath::parse(src).map_err(|e| bad_argument(format!("{src}: {e}")))?;
        return cp_content(mfs, store, src, &path, dst, parents);
    }
    let name = src.rsplit('/').find(|p| !p.is_empty()).unwrap_or_default();
    // The version read stays until it is linked, whatever changes meanwhile.
    let (cid, writing) = mfs.path_cid_pinned(src).map_err(|e| failure(mfs, src, e))?;
    mfs.path_cp_holding(&cid, name, dst, parents, &writing)
        .map_err(|e| failure(mfs, dst, e))
}

/// `files cp` as the commands run it: an `/ipns/` source is resolved
/// through `core`'s name system first.
pub fn cp_named(
    core: &Core,
    mfs: &MfsFs,
    src: &str,
    dst: &str,
    parents: bool,
) -> Result<(), CommandError> {
    if src.starts_with("/ipns/") {
        let path = core.content_path(src)?;
        return cp_content(mfs, core.store, src, &path, dst, parents);
    }
    cp(mfs, core.store, src, dst, parents)
}

/// Links what `path` (given as `src`) names at `dst`.
fn cp_content(
    mfs: &MfsFs,
    store: &dyn Blockstore,
    src: &str,
    path: &IpfsPath,
    dst: &str,
    parents: bool,
) -> Result<(), CommandError> {
    let name = src.rsplit('/').find(|p| !p.is_empty()).unwrap_or_default();
    let cid = resolve(store, path)
        .map_err(|e| failed(format!("{src}: {e}")))?
        .cid;
    mfs.path_cp(&cid, name, dst, parents)
        .map_err(|e| failure(mfs, dst, e))
}

pub fn mv(mfs: &MfsFs, src: &str, dst: &str) -> Result<(), CommandError> {
    if let (Ok(from), Ok(to)) = (crate::mfs::parse_path(src), crate::mfs::parse_path(dst))
        && to.len() > from.len()
        && to.starts_with(&from)
    {
        return Err(failed(format!(
            "{src}: cannot move or copy a directory into itself"
        )));
    }
    mfs.path_mv(src, dst).map_err(|e| failure(mfs, src, e))
}

pub fn stat(mfs: &MfsFs, path: &str) -> Result<Stat, CommandError> {
    mfs.path_stat(path).map_err(|e| failure(mfs, path, e))
}

/// Writes the whole tree out and makes it durable; returns `path`'s CID.
pub fn flush(mfs: &MfsFs, path: &str) -> Result<Cid, CommandError> {
    mfs.sync(true).map_err(|e| failed(format!("flush: {e}")))?;
    mfs.path_cid(path).map_err(|e| failure(mfs, path, e))
}

/// The recorded versions, newest first (the tree is flushed first, so the
/// newest is what it holds now).
pub fn log(mfs: &MfsFs, store: &dyn Blockstore) -> Result<Vec<Commit>, CommandError> {
    mfs.sync(true).map_err(|e| failed(format!("flush: {e}")))?;
    history::log(store, mfs.history_head().as_ref()).map_err(failed)
}

/// `files chcid`: another CID version or hash for a directory.
pub fn chcid(mfs: &MfsFs, path: &str, builder: &CidBuilder) -> Result<Cid, CommandError> {
    mfs.path_chcid(path, builder)
        .map_err(|e| failure(mfs, path, e))
}

/// `files restore`: a past version, by number or commit CID, becomes the
/// tree again (as a new version); returns its root.
pub fn restore(mfs: &MfsFs, store: &dyn Blockstore, version: &str) -> Result<Cid, CommandError> {
    mfs.sync(true).map_err(|e| failed(format!("flush: {e}")))?;
    let chosen = history::choose(store, mfs.history_head().as_ref(), version).map_err(failed)?;
    mfs.path_restore(&chosen.root)
        .map_err(|e| failure(mfs, "/", e))?;
    Ok(chosen.root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockstore::MemoryBlockstore;
    use crate::codec::cid_string;
    use crate::fs::mfs::PersistRoot;

    fn tree() -> (MfsFs, Arc<MemoryBlockstore>) {
        let store = Arc::new(MemoryBlockstore::new());
        let empty = build_directory(store.as_ref(), Vec::new(), &DirOptions::default())
            .unwrap()
            .cid;
        let persist: PersistRoot = Box::new(|_: &Cid, _: &Cid| Ok(()));
        let mfs = MfsFs::new(store.clone(), empty, None, Caller::default(), persist).unwrap();
        (mfs, store)
    }

    fn put(mfs: &MfsFs, path: &str, data: &[u8], opts: WriteOptions) -> Result<(), CommandError> {
        write(mfs, path, &mut &data[..], &opts)
    }

    fn create() -> WriteOptions {
        WriteOptions {
            create: true,
            ..Default::default()
        }
    }

    fn contents(mfs: &MfsFs, path: &str) -> Vec<u8> {
        let mut out = Vec::new();
        read(mfs, path, 0, None, &mut out).unwrap();
        out
    }

    fn message(result: Result<impl std::fmt::Debug, CommandError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn an_empty_tree_is_the_empty_directory() {
        let (mfs, _) = tree();
        let stat = stat(&mfs, "/").unwrap();
        assert_eq!(
            cid_string(&stat.cid),
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        );
        assert_eq!(
            (stat.size, stat.cumulative_size, stat.child_blocks),
            (0, 4, 0)
        );
    }

    #[test]
    fn written_files_have_the_add_cid() {
        let (mfs, store) = tree();
        put(&mfs, "/hello.txt", b"Hello World!\n", create()).unwrap();
        let cid = stat(&mfs, "/hello.txt").unwrap().cid;
        assert_eq!(
            cid_string(&cid),
            "QmfM2r8seH2GiRaC4esTjeraXEachRt8ZsSeGaWTPLyMoG"
        );
        // The directory {hello.txt} is what `add -w` would build.
        let wrapped = build_directory(
            store.as_ref(),
            vec![DirEntry {
                name: "hello.txt".into(),
                cid,
                size: 21,
            }],
            &DirOptions::default(),
        )
        .unwrap();
        assert_eq!(flush(&mfs, "/").unwrap(), wrapped.cid);
    }

    #[test]
    fn offsets_truncation_and_missing_files() {
        let (mfs, _) = tree();
        assert_eq!(
            message(put(&mfs, "/f", b"x", WriteOptions::default())),
            "/f: file does not exist"
        );
        put(&mfs, "/f", b"hello world", create()).unwrap();
        let at = |offset| WriteOptions {
            offset: Some(offset),
            ..Default::default()
        };
        put(&mfs, "/f", b"W", at(6)).unwrap();
        assert_eq!(contents(&mfs, "/f"), b"hello World");
        put(&mfs, "/f", b"!", at(13)).unwrap();
        assert_eq!(contents(&mfs, "/f"), b"hello World\0\0!");
        let truncating = WriteOptions {
            truncate: true,
            count: Some(3),
            ..Default::default()
        };
        put(&mfs, "/f", b"abcdef", truncating).unwrap();
        assert_eq!(contents(&mfs, "/f"), b"abc");
    }

    #[test]
    fn directories_move_copy_and_remove() {
        let (mfs, store) = tree();
        assert_eq!(
            message(mkdir(&mfs, "/a/b", false)),
            "/a: file does not exist"
        );
        mkdir(&mfs, "/a/b", true).unwrap();
        assert_eq!(message(mkdir(&mfs, "/a/b", false)), "/a/b: already exists");
        put(&mfs, "/a/b/f.txt", b"data", create()).unwrap();
        cp(&mfs, store.as_ref(), "/a/b/f.txt", "/a/g.txt", false).unwrap();
        mv(&mfs, "/a/b", "/c").unwrap();
        assert_eq!(contents(&mfs, "/c/f.txt"), b"data");
        assert_eq!(contents(&mfs, "/a/g.txt"), b"data");
        assert_eq!(message(stat(&mfs, "/a/b")), "/a/b: file does not exist");
        assert_eq!(
            message(mv(&mfs, "/c", "/c/inner")),
            "/c: cannot move or copy a directory into itself"
        );
        assert_eq!(
            message(rm(&mfs, &["/c".into()], false)),
            "/c: is a directory (use -r to remove directories)"
        );
        rm(&mfs, &["/c".into()], true).unwrap();
        rm(&mfs, &["/a/g.txt".into()], false).unwrap();
        assert_eq!(
            message(rm(&mfs, &["/a/g.txt".into()], false)),
            "/a/g.txt: file does not exist"
        );
        let names: Vec<String> = ls(&mfs, "/")
            .unwrap()
            .into_iter()
            .map(|(e, _, _)| e.name)
            .collect();
        assert_eq!(names, ["a"]);
        assert_eq!(
            message(stat(&mfs, "relative")),
            "relative: not an absolute MFS path of plain names"
        );
        assert_eq!(
            message(stat(&mfs, "/a/../b")),
            "/a/../b: not an absolute MFS path of plain names"
        );
        assert_eq!(
            message(rm(&mfs, &["/".into()], true)),
            "/: the root cannot be removed or replaced"
        );
    }

    #[test]
    fn cp_takes_ipfs_paths_from_the_store() {
        let (mfs, store) = tree();
        put(
            &mfs,
            "/d/x",
            b"inside",
            WriteOptions {
                parents: true,
                ..create()
            },
        )
        .unwrap();
        let dir = stat(&mfs, "/d").unwrap().cid;
        let source = format!("/ipfs/{}/x", cid_string(&dir));
        cp(&mfs, store.as_ref(), &source, "/copy", false).unwrap();
        assert_eq!(contents(&mfs, "/copy"), b"inside");
    }
}
