//! `add`: imports files, directory trees, symlinks and stdin, reporting each
//! entry as Kubo does (contents before the directory that holds them).

use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::UnixfsError;
use super::dir::{DirEntry, DirOptions, build_directory};
use super::file::{FileOptions, import_file};
use super::node::{Kind, Summary};
use crate::blockstore::Blockstore;
use crate::codec::cid::{Cid, DAG_PB};
use crate::codec::dagpb::PbNode;
use crate::codec::unixfs_pb::{UnixTime, UnixfsData};

#[derive(Clone, Debug)]
pub struct AddOptions {
    pub file: FileOptions,
    pub dir: DirOptions,
    pub recursive: bool,
    pub hidden: bool,
    pub wrap: bool,
    pub preserve_mode: bool,
    pub preserve_mtime: bool,
}

/// One imported entry, as `added <cid> <path>` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Added {
    pub path: String,
    pub cid: Cid,
    pub size: u64,
    /// What a listing shows of it, known here without reading it back.
    pub summary: Summary,
    /// The entries of a HAMT-sharded directory, whose listing otherwise
    /// means reading every shard block.
    pub listing: Option<Vec<DirEntry>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is a directory, use -r to add directories")]
    DirectoryWithoutRecursive(String),
    #[error("{0}: unrecognized file type (only files, directories and symlinks can be added)")]
    UnsupportedFileType(String),
    #[error("{0}: file name is not valid UTF-8")]
    NonUtf8Name(String),
    #[error(transparent)]
    Unixfs(#[from] UnixfsError),
    #[error(transparent)]
    Import(#[from] super::file::ImportError),
    #[error(transparent)]
    Dir(#[from] super::dir::DirError),
}

pub struct Adder<'a> {
    store: &'a dyn Blockstore,
    opts: &'a AddOptions,
    on_added: &'a mut dyn FnMut(&Added),
    progress: &'a mut dyn FnMut(u64),
}

impl<'a> Adder<'a> {
    pub fn new(
        store: &'a dyn Blockstore,
        opts: &'a AddOptions,
        on_added: &'a mut dyn FnMut(&Added),
        progress: &'a mut dyn FnMut(u64),
    ) -> Self {
        Adder {
            store,
            opts,
            on_added,
            progress,
        }
    }

    /// Adds each path; returns the roots (one per path, or the wrapping
    /// directory with `wrap`).
    pub fn add_paths(&mut self, paths: &[PathBuf]) -> Result<Vec<Added>, AddError> {
        let mut roots = Vec::new();
        for path in paths {
            let name = display_name(path)?;
            roots.push(self.add_path(path, &name, true)?);
        }
        if !self.opts.wrap {
            return Ok(roots);
        }
        Ok(vec![self.wrap(&roots)?])
    }

    /// Adds everything `reader` yields as one file named `name` (stdin).
    pub fn add_reader(
        &mut self,
        reader: &mut dyn Read,
        name: Option<&str>,
    ) -> Result<Added, AddError> {
        let file = import_file(self.store, reader, &self.opts.file, self.progress)?;
        let path = name.map_or_else(|| crate::codec::cid_string(&file.cid), str::to_string);
        let added = Added {
            path,
            cid: file.cid,
            size: file.size,
            summary: file_summary(&self.opts.file, file.filesize),
            listing: None,
        };
        (self.on_added)(&added);
        if self.opts.wrap {
            return self.wrap(std::slice::from_ref(&added));
        }
        Ok(added)
    }

    /// `-w`: one new directory holding `items` by their base names.
    fn wrap(&mut self, items: &[Added]) -> Result<Added, AddError> {
        let entries: Vec<DirEntry> = items
            .iter()
            .map(|item| DirEntry {
                name: base_name(&item.path),
                cid: item.cid,
                size: item.size,
            })
            .collect();
        let wrapper = self.directory(String::new(), entries, self.opts.dir.clone())?;
        (self.on_added)(&wrapper);
        Ok(wrapper)
    }

    fn add_path(&mut self, path: &Path, shown: &str, top: bool) -> Result<Added, AddError> {
        let meta = fs::symlink_metadata(path).map_err(|e| io(path, e))?;
        let file_type = meta.file_type();
        let added = if file_type.is_symlink() {
            self.add_symlink(path, shown, &meta)?
        } else if file_type.is_dir() {
            if !self.opts.recursive {
                return Err(AddError::DirectoryWithoutRecursive(
                    path.display().to_string(),
                ));
            }
            self.add_dir(path, shown, &meta)?
        } else if file_type.is_file() || top {
            // A FIFO or device named on the command line is read as a file, as Kubo does.
            self.add_file(path, shown, &meta)?
        } else {
            return Err(AddError::UnsupportedFileType(path.display().to_string()));
        };
        (self.on_added)(&added);
        Ok(added)
    }

    fn add_file(
        &mut self,
        path: &Path,
        shown: &str,
        meta: &fs::Metadata,
    ) -> Result<Added, AddError> {
        let mut opts = self.opts.file.clone();
        opts.mode = self.mode_of(meta).or(opts.mode);
        opts.mtime = self.mtime_of(meta).or(opts.mtime);
        let mut file = fs::File::open(path).map_err(|e| io(path, e))?;
        let imported = import_file(self.store, &mut file, &opts, self.progress)?;
        Ok(Added {
            path: shown.to_string(),
            cid: imported.cid,
            size: imported.size,
            summary: file_summary(&opts, imported.filesize),
            listing: None,
        })
    }

    fn add_symlink(
        &mut self,
        path: &Path,
        shown: &str,
        meta: &fs::Metadata,
    ) -> Result<Added, AddError> {
        let target = fs::read_link(path).map_err(|e| io(path, e))?;
        let mut data = UnixfsData::symlink(target.as_os_str().as_bytes());
        data.mtime = self.mtime_of(meta);
        let block = PbNode {
            links: vec![],
            data: Some(data.encode()),
        }
        .encode();
        let cid = self.opts.file.cid.cid_of(DAG_PB, &block);
        self.store.put(&cid, &block).map_err(UnixfsError::from)?;
        let summary = Summary {
            kind: Kind::Symlink,
            size: target.as_os_str().len() as u64,
            mode: None,
            mtime: data.mtime,
        };
        Ok(Added {
            path: shown.to_string(),
            cid,
            size: block.len() as u64,
            summary,
            listing: None,
        })
    }

    fn add_dir(
        &mut self,
        path: &Path,
        shown: &str,
        meta: &fs::Metadata,
    ) -> Result<Added, AddError> {
        let mut children: Vec<(Vec<u8>, PathBuf)> = Vec::new();
        for entry in fs::read_dir(path).map_err(|e| io(path, e))? {
            let entry = entry.map_err(|e| io(path, e))?;
            let name = entry.file_name();
            if !self.opts.hidden && name.as_bytes().starts_with(b".") {
                continue;
            }
            children.push((name.as_bytes().to_vec(), entry.path()));
        }
        children.sort();
        let mut entries = Vec::with_capacity(children.len());
        for (name, child_path) in children {
            let name = String::from_utf8(name)
                .map_err(|_| AddError::NonUtf8Name(child_path.display().to_string()))?;
            let child = self.add_path(&child_path, &format!("{shown}/{name}"), false)?;
            entries.push(DirEntry {
                name,
                cid: child.cid,
                size: child.size,
            });
        }
        let mut dir_opts = self.opts.dir.clone();
        dir_opts.mode = self.mode_of(meta).or(dir_opts.mode);
        dir_opts.mtime = self.mtime_of(meta).or(dir_opts.mtime);
        self.directory(shown.to_string(), entries, dir_opts)
    }

    /// Builds a directory and describes it, with its listing when sharded.
    fn directory(
        &self,
        path: String,
        entries: Vec<DirEntry>,
        opts: DirOptions,
    ) -> Result<Added, AddError> {
        let listing = opts.shards(&entries).then(|| entries.clone());
        let built = build_directory(self.store, entries, &opts)?;
        Ok(Added {
            path,
            cid: built.cid,
            size: built.size,
            summary: self.dir_summary(&opts),
            listing,
        })
    }

    fn dir_summary(&self, opts: &DirOptions) -> Summary {
        Summary {
            kind: Kind::Directory,
            size: 0,
            mode: opts.mode,
            mtime: opts.mtime,
        }
    }

    fn mode_of(&self, meta: &fs::Metadata) -> Option<u32> {
        self.opts
            .preserve_mode
            .then(|| meta.permissions().mode() & 0o7777)
    }

    fn mtime_of(&self, meta: &fs::Metadata) -> Option<UnixTime> {
        self.opts.preserve_mtime.then(|| UnixTime {
            seconds: meta.mtime(),
            nanos: meta.mtime_nsec() as u32,
        })
    }
}

fn file_summary(opts: &FileOptions, filesize: u64) -> Summary {
    Summary {
        kind: Kind::File,
        size: filesize,
        mode: opts.mode,
        mtime: opts.mtime,
    }
}

/// The name Kubo prints for a command-line path: its last component.
fn display_name(path: &Path) -> Result<String, AddError> {
    let name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| path.as_os_str().to_os_string());
    name.into_string()
        .map_err(|_| AddError::NonUtf8Name(path.display().to_string()))
}

fn base_name(shown: &str) -> String {
    shown.rsplit('/').next().unwrap_or(shown).to_string()
}

fn io(path: &Path, source: std::io::Error) -> AddError {
    AddError::Io {
        path: path.display().to_string(),
        source,
    }
}
