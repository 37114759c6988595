//! MFS: one mutable directory tree over the immutable DAG. Every change
//! rewrites the directories from the changed entry up to the root
//! (copy-on-write); unchanged subtrees are shared. Files are written with
//! the `add` pipeline, so a file in MFS has the CID `add` gives its bytes.

pub mod content;
pub mod history;
pub mod session_blocks;

use std::io::Read;

use crate::blockstore::Blockstore;
use crate::codec::IpfsPath;
use crate::codec::cid::{Cid, CidBuilder};
use crate::codec::unixfs_pb::UnixTime;
use crate::unixfs::UnixfsError;
use crate::unixfs::dir::{self, DirEntry, DirOptions};
use crate::unixfs::file::{FileOptions, ImportError, import_file};
use crate::unixfs::node::{Kind, Node};
use crate::unixfs::reader::{FileReader, load};
use crate::unixfs::resolve::resolve;

#[derive(Debug, thiserror::Error)]
pub enum MfsError {
    #[error("{0}: not an absolute MFS path of plain names")]
    BadPath(String),
    #[error("{0}: file does not exist")]
    NotFound(String),
    #[error("{0}: already exists")]
    Exists(String),
    #[error("{0}: not a directory")]
    NotADirectory(String),
    #[error("{0}: is a directory (use -r to remove directories)")]
    IsADirectory(String),
    #[error("{0}: cannot move or copy a directory into itself")]
    IntoItself(String),
    #[error("{0}: the root cannot be removed or replaced")]
    Root(String),
    #[error(transparent)]
    Unixfs(#[from] UnixfsError),
    #[error(transparent)]
    Dir(#[from] dir::DirError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Block(#[from] crate::blockstore::BlockstoreError),
}

pub type Result<T> = std::result::Result<T, MfsError>;

/// `ipfs files stat` figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    pub cid: Cid,
    pub size: u64,
    pub cumulative_size: u64,
    pub child_blocks: usize,
    pub kind: Kind,
    pub mode: Option<u32>,
    pub mtime: Option<UnixTime>,
}

pub struct Mfs<'s> {
    store: &'s dyn Blockstore,
    root: Cid,
    pub file_opts: FileOptions,
    pub dir_opts: DirOptions,
}

/// Splits `/a/b/c` into its names; the root is the empty list.
pub fn parse_path(path: &str) -> Result<Vec<String>> {
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| MfsError::BadPath(path.to_string()))?;
    let parts: Vec<String> = rest
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if parts
        .iter()
        .any(|p| p == "." || p == ".." || p.contains('\0'))
    {
        return Err(MfsError::BadPath(path.to_string()));
    }
    Ok(parts)
}

fn display(parts: &[String]) -> String {
    format!("/{}", parts.join("/"))
}

impl<'s> Mfs<'s> {
    /// Opens the tree at `root`, or a new empty one.
    pub fn open(store: &'s dyn Blockstore, root: Option<Cid>) -> Result<Self> {
        let dir_opts = DirOptions::default();
        let root = match root {
            Some(root) => root,
            None => dir::build_directory(store, Vec::new(), &dir_opts)?.cid,
        };
        Ok(Mfs {
            store,
            root,
            file_opts: FileOptions::kubo_defaults(),
            dir_opts,
        })
    }

    pub fn root(&self) -> Cid {
        self.root
    }

    fn node_at(&self, parts: &[String]) -> Result<(Cid, Node)> {
        let path = IpfsPath {
            root: self.root,
            components: parts.to_vec(),
        };
        match resolve(self.store, &path) {
            Ok(found) => Ok((found.cid, found.node)),
            Err(UnixfsError::NoSuchLink { .. }) | Err(UnixfsError::NotADirectory(_)) => {
                Err(MfsError::NotFound(display(parts)))
            }
            Err(other) => Err(other.into()),
        }
    }

    fn exists(&self, parts: &[String]) -> Result<bool> {
        match self.node_at(parts) {
            Ok(_) => Ok(true),
            Err(MfsError::NotFound(_)) => Ok(false),
            Err(other) => Err(other),
        }
    }

    pub fn stat(&self, path: &str) -> Result<Stat> {
        let parts = parse_path(path)?;
        let (cid, node) = self.node_at(&parts)?;
        Ok(Stat {
            cid,
            size: node.content_size(),
            cumulative_size: node.cumulative_size(),
            child_blocks: node.links().len(),
            kind: node.kind(),
            mode: node.unixfs().and_then(|u| u.mode),
            mtime: node.unixfs().and_then(|u| u.mtime),
        })
    }

    /// A directory's entries, or the single entry of a file.
    pub fn ls(&self, path: &str) -> Result<Vec<(DirEntry, Kind, u64)>> {
        let parts = parse_path(path)?;
        let (cid, node) = self.node_at(&parts)?;
        let entries = if node.kind().is_dir() {
            dir::list(self.store, &cid)?
        } else {
            let name = parts.last().cloned().unwrap_or_default();
            vec![DirEntry {
                name,
                cid,
                size: node.cumulative_size(),
            }]
        };
        entries
            .into_iter()
            .map(|entry| {
                let child = load(self.store, &entry.cid)?;
                Ok((entry, child.kind(), child.content_size()))
            })
            .collect()
    }

    pub fn read(
        &self,
        path: &str,
        offset: u64,
        count: Option<u64>,
        out: &mut dyn std::io::Write,
    ) -> Result<u64> {
        let parts = parse_path(path)?;
        let (cid, node) = self.node_at(&parts)?;
        if node.kind().is_dir() {
            return Err(MfsError::IsADirectory(display(&parts)));
        }
        Ok(FileReader::from_node(self.store, &cid, node)?.copy_to(
            out,
            offset,
            count.unwrap_or(u64::MAX),
        )?)
    }

    pub fn mkdir(&mut self, path: &str, parents: bool) -> Result<()> {
        let parts = parse_path(path)?;
        if parts.is_empty() {
            return if parents {
                Ok(())
            } else {
                Err(MfsError::Exists("/".into()))
            };
        }
        if self.exists(&parts)? {
            return if parents {
                Ok(())
            } else {
                Err(MfsError::Exists(display(&parts)))
            };
        }
        let empty = dir::build_directory(self.store, Vec::new(), &self.dir_opts)?;
        self.put(&parts, Some((empty.cid, empty.size)), parents)
    }

    /// `files write`: `data` replaces bytes from `offset` (zero-filling a gap
    /// past the end); the file is then re-imported with the add pipeline.
    pub fn write(&mut self, path: &str, data: &mut dyn Read, opts: &WriteOptions) -> Result<Cid> {
        let parts = parse_path(path)?;
        if parts.is_empty() {
            return Err(MfsError::IsADirectory("/".into()));
        }
        let mut content = match self.node_at(&parts) {
            Ok((_, node)) if node.kind().is_dir() => {
                return Err(MfsError::IsADirectory(display(&parts)));
            }
            Ok((cid, node)) if !opts.truncate => {
                let mut bytes = Vec::new();
                FileReader::from_node(self.store, &cid, node)?.copy_to(&mut bytes, 0, u64::MAX)?;
                bytes
            }
            Ok(_) => Vec::new(),
            Err(MfsError::NotFound(_)) if opts.create => Vec::new(),
            Err(other) => return Err(other),
        };
        let mut incoming = Vec::new();
        match opts.count {
            Some(n) => data.take(n).read_to_end(&mut incoming),
            None => data.read_to_end(&mut incoming),
        }
        .map_err(|e| MfsError::Import(ImportError::Read(e)))?;
        let offset = opts.offset.unwrap_or(0) as usize;
        if content.len() < offset + incoming.len() {
            content.resize(offset + incoming.len(), 0);
        }
        content[offset..offset + incoming.len()].copy_from_slice(&incoming);
        let file = import_file(
            self.store,
            &mut content.as_slice(),
            &self.file_opts,
            &mut |_| {},
        )?;
        self.put(&parts, Some((file.cid, file.size)), opts.parents)?;
        Ok(file.cid)
    }

    /// Makes `root` (a directory) the whole tree, as `files restore` does.
    pub fn set_root(&mut self, root: Cid) -> Result<()> {
        if !load(self.store, &root)?.kind().is_dir() {
            return Err(MfsError::NotADirectory(crate::codec::cid_string(&root)));
        }
        self.root = root;
        Ok(())
    }

    /// `files chcid`: re-addresses the directory at `path` with another CID
    /// version or hash. Its bytes, and so its children, stay as they are.
    pub fn chcid(&mut self, path: &str, builder: &CidBuilder) -> Result<Cid> {
        let parts = parse_path(path)?;
        let (cid, node) = self.node_at(&parts)?;
        if !node.kind().is_dir() {
            return Err(MfsError::NotADirectory(display(&parts)));
        }
        let block = crate::blockstore::get_required(self.store, &cid)?;
        let new = builder.cid_of(cid.codec(), &block);
        self.store.put(&new, &block)?;
        if parts.is_empty() {
            self.root = new;
        } else {
            self.put(&parts, Some((new, node.cumulative_size())), false)?;
        }
        Ok(new)
    }

    pub fn rm(&mut self, path: &str, recursive: bool) -> Result<()> {
        let parts = parse_path(path)?;
        if parts.is_empty() {
            return Err(MfsError::Root("/".into()));
        }
        let (_, node) = self.node_at(&parts)?;
        if node.kind().is_dir() && !recursive {
            return Err(MfsError::IsADirectory(display(&parts)));
        }
        self.put(&parts, None, false)
    }

    /// `files cp`: links `src` (an MFS path or `/ipfs/...`) at `dst` without
    /// copying data.
    pub fn cp(&mut self, src: &str, dst: &str, parents: bool) -> Result<()> {
        let (cid, node) = if src.starts_with("/ipfs/") {
            let path = IpfsPath::parse(src).map_err(|_| MfsError::BadPath(src.to_string()))?;
            let found = resolve(self.store, &path)?;
            (found.cid, found.node)
        } else {
            self.node_at(&parse_path(src)?)?
        };
        let mut target = parse_path(dst)?;
        if let Ok((_, existing)) = self.node_at(&target)
            && existing.kind().is_dir()
        {
            let name = src
                .rsplit('/')
                .find(|p| !p.is_empty())
                .unwrap_or_default()
                .to_string();
            target.push(name);
        }
        if target.is_empty() {
            return Err(MfsError::Root("/".into()));
        }
        if self.exists(&target)? {
            return Err(MfsError::Exists(display(&target)));
        }
        self.put(&target, Some((cid, node.cumulative_size())), parents)
    }

    pub fn mv(&mut self, src: &str, dst: &str) -> Result<()> {
        let from = parse_path(src)?;
        if from.is_empty() {
            return Err(MfsError::Root("/".into()));
        }
        let mut to = parse_path(dst)?;
        if let Ok((_, existing)) = self.node_at(&to)
            && existing.kind().is_dir()
        {
            to.push(from.last().cloned().unwrap_or_default());
        }
        if to.starts_with(&from) {
            return Err(MfsError::IntoItself(display(&from)));
        }
        let (cid, node) = self.node_at(&from)?;
        self.put(&from, None, false)?;
        self.put(&to, Some((cid, node.cumulative_size())), false)
    }

    /// Sets (or with `None` removes) the entry at `parts`, rewriting every
    /// directory above it. `parents` creates missing directories.
    fn put(&mut self, parts: &[String], entry: Option<(Cid, u64)>, parents: bool) -> Result<()> {
        let (name, dirs) = parts
            .split_last()
            .ok_or_else(|| MfsError::Root("/".into()))?;
        // The chain of existing directories from the root down to the parent.
        let mut chain: Vec<Vec<DirEntry>> = vec![dir::list(self.store, &self.root)?];
        for (depth, dir_name) in dirs.iter().enumerate() {
            let current = chain.last().expect("the root is in the chain");
            let next = match current.iter().find(|e| &e.name == dir_name) {
                Some(found) => {
                    let node = load(self.store, &found.cid)?;
                    if !node.kind().is_dir() {
                        return Err(MfsError::NotADirectory(display(&dirs[..=depth])));
                    }
                    dir::list(self.store, &found.cid)?
                }
                None if parents => Vec::new(),
                None => return Err(MfsError::NotFound(display(&dirs[..=depth]))),
            };
            chain.push(next);
        }
        let mut parent = chain.pop().expect("the parent is in the chain");
        let existed = parent.iter().any(|e| &e.name == name);
        parent.retain(|e| &e.name != name);
        match entry {
            Some((cid, size)) => parent.push(DirEntry {
                name: name.clone(),
                cid,
                size,
            }),
            None if !existed => return Err(MfsError::NotFound(display(parts))),
            None => {}
        }
        let mut built = dir::build_directory(self.store, parent, &self.dir_opts)?;
        for (dir_name, mut entries) in dirs.iter().rev().zip(chain.into_iter().rev()) {
            entries.retain(|e| &e.name != dir_name);
            entries.push(DirEntry {
                name: dir_name.clone(),
                cid: built.cid,
                size: built.size,
            });
            built = dir::build_directory(self.store, entries, &self.dir_opts)?;
        }
        self.root = built.cid;
        Ok(())
    }
}

#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    pub create: bool,
    pub truncate: bool,
    pub parents: bool,
    pub offset: Option<u64>,
    pub count: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockstore::MemoryBlockstore;
    use crate::codec::cid_string;

    fn write(mfs: &mut Mfs, path: &str, data: &[u8], opts: WriteOptions) -> Result<Cid> {
        mfs.write(path, &mut &data[..], &opts)
    }

    fn create() -> WriteOptions {
        WriteOptions {
            create: true,
            ..Default::default()
        }
    }

    fn read(mfs: &Mfs, path: &str) -> Vec<u8> {
        let mut out = Vec::new();
        mfs.read(path, 0, None, &mut out).unwrap();
        out
    }

    #[test]
    fn an_empty_tree_is_the_empty_directory() {
        let store = MemoryBlockstore::new();
        let mfs = Mfs::open(&store, None).unwrap();
        assert_eq!(
            cid_string(&mfs.root()),
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        );
        let stat = mfs.stat("/").unwrap();
        assert_eq!(
            (stat.size, stat.cumulative_size, stat.child_blocks),
            (0, 4, 0)
        );
    }

    #[test]
    fn written_files_have_the_add_cid() {
        let store = MemoryBlockstore::new();
        let mut mfs = Mfs::open(&store, None).unwrap();
        let cid = write(&mut mfs, "/hello.txt", b"Hello World!\n", create()).unwrap();
        assert_eq!(
            cid_string(&cid),
            "QmfM2r8seH2GiRaC4esTjeraXEachRt8ZsSeGaWTPLyMoG"
        );
        assert_eq!(mfs.stat("/hello.txt").unwrap().cid, cid);
        // The directory {hello.txt} is what `add -w` would build.
        let w = crate::unixfs::dir::build_directory(
            &store,
            vec![DirEntry {
                name: "hello.txt".into(),
                cid,
                size: 21,
            }],
            &DirOptions::default(),
        )
        .unwrap();
        assert_eq!(mfs.root(), w.cid);
    }

    #[test]
    fn offsets_truncation_and_missing_files() {
        let store = MemoryBlockstore::new();
        let mut mfs = Mfs::open(&store, None).unwrap();
        assert!(matches!(
            write(&mut mfs, "/f", b"x", WriteOptions::default()),
            Err(MfsError::NotFound(_))
        ));
        write(&mut mfs, "/f", b"hello world", create()).unwrap();
        write(
            &mut mfs,
            "/f",
            b"W",
            WriteOptions {
                offset: Some(6),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(read(&mfs, "/f"), b"hello World");
        write(
            &mut mfs,
            "/f",
            b"!",
            WriteOptions {
                offset: Some(13),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(read(&mfs, "/f"), b"hello World\0\0!");
        write(
            &mut mfs,
            "/f",
            b"abcdef",
            WriteOptions {
                truncate: true,
                count: Some(3),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(read(&mfs, "/f"), b"abc");
    }

    #[test]
    fn directories_move_copy_and_remove() {
        let store = MemoryBlockstore::new();
        let mut mfs = Mfs::open(&store, None).unwrap();
        assert!(matches!(
            mfs.mkdir("/a/b", false),
            Err(MfsError::NotFound(_))
        ));
        mfs.mkdir("/a/b", true).unwrap();
        assert!(matches!(mfs.mkdir("/a/b", false), Err(MfsError::Exists(_))));
        write(&mut mfs, "/a/b/f.txt", b"data", create()).unwrap();
        mfs.cp("/a/b/f.txt", "/a/g.txt", false).unwrap();
        mfs.mv("/a/b", "/c").unwrap();
        assert_eq!(read(&mfs, "/c/f.txt"), b"data");
        assert_eq!(read(&mfs, "/a/g.txt"), b"data");
        assert!(matches!(mfs.stat("/a/b"), Err(MfsError::NotFound(_))));
        assert!(matches!(
            mfs.mv("/c", "/c/inner"),
            Err(MfsError::IntoItself(_))
        ));
        assert!(matches!(
            mfs.rm("/c", false),
            Err(MfsError::IsADirectory(_))
        ));
        mfs.rm("/c", true).unwrap();
        mfs.rm("/a/g.txt", false).unwrap();
        assert!(matches!(
            mfs.rm("/a/g.txt", false),
            Err(MfsError::NotFound(_))
        ));
        let names: Vec<String> = mfs
            .ls("/")
            .unwrap()
            .into_iter()
            .map(|(e, _, _)| e.name)
            .collect();
        assert_eq!(names, ["a"]);
        assert!(matches!(parse_path("relative"), Err(MfsError::BadPath(_))));
        assert!(matches!(parse_path("/a/../b"), Err(MfsError::BadPath(_))));
        assert!(matches!(mfs.rm("/", true), Err(MfsError::Root(_))));
    }
}
