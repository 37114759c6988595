//! `add`: imports files, directory trees, symlinks and stdin, reporting each
//! entry as Kubo does (contents before the directory that holds them).

use std::io::Read;

use super::UnixfsError;
use super::dir::{DirEntry, DirOptions, build_directory};
use super::file::{FileOptions, import_file};
use super::node::{Kind, Summary};
use crate::blockstore::Blockstore;
use crate::codec::cid::{Cid, DAG_PB};
use crate::codec::dagpb::PbNode;
use crate::codec::unixfs_pb::{UnixTime, UnixfsData};

/// UnixFS metadata given for one entry (over HTTP, in its part's name).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    pub mode: Option<u32>,
    pub mtime: Option<UnixTime>,
}

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

    /// Adds everything `reader` yields as one file named `name` (stdin).
    pub fn add_reader(
        &mut self,
        reader: &mut dyn Read,
        name: Option<&str>,
    ) -> Result<Added, AddError> {
        let added = self.import_stream(reader, name, Metadata::default())?;
        (self.on_added)(&added);
        if self.opts.wrap {
            return self.wrap(std::slice::from_ref(&added));
        }
        Ok(added)
    }

    /// Imports `reader` as one file shown as `name` (its CID if none),
    /// without reporting it.
    pub(crate) fn import_stream(
        &mut self,
        reader: &mut dyn Read,
        name: Option<&str>,
        meta: Metadata,
    ) -> Result<Added, AddError> {
        let mut opts = self.opts.file.clone();
        opts.mode = meta.mode.or(opts.mode);
        opts.mtime = meta.mtime.or(opts.mtime);
        let file = import_file(self.store, reader, &opts, self.progress)?;
        let path = name.map_or_else(|| crate::codec::cid_string(&file.cid), str::to_string);
        Ok(Added {
            path,
            cid: file.cid,
            size: file.size,
            summary: file_summary(&opts, file.filesize),
            listing: None,
        })
    }

    pub(crate) fn report(&mut self, added: &Added) {
        (self.on_added)(added);
    }

    pub(crate) fn options(&self) -> &AddOptions {
        self.opts
    }

    /// `-w`: one new directory holding `items` by their base names.
    pub(crate) fn wrap(&mut self, items: &[Added]) -> Result<Added, AddError> {
        let entries: Vec<DirEntry> = items
            .iter()
            .map(|item| DirEntry {
                name: base_name(&item.path),
                cid: item.cid,
                size: item.size,
            })
            .collect();
        let subdirs = items
            .iter()
            .filter(|item| item.summary.is_directory())
            .count();
        let wrapper = self.directory(String::new(), entries, subdirs, self.opts.dir.clone())?;
        (self.on_added)(&wrapper);
        Ok(wrapper)
    }

    /// A symlink to `target`, shown as `shown`.
    pub(crate) fn symlink(
        &mut self,
        shown: &str,
        target: &[u8],
        mtime: Option<UnixTime>,
    ) -> Result<Added, AddError> {
        let mut data = UnixfsData::symlink(target);
        data.mtime = mtime;
        let block = PbNode {
            links: vec![],
            data: Some(data.encode()),
        }
        .encode();
        let cid = self.opts.file.cid.cid_of(DAG_PB, &block);
        self.store.put(&cid, &block).map_err(UnixfsError::from)?;
        let summary = Summary {
            kind: Kind::Symlink,
            size: target.len() as u64,
            mode: None,
            mtime: data.mtime,
            subdirs: None,
        };
        Ok(Added {
            path: shown.to_string(),
            cid,
            size: block.len() as u64,
            summary,
            listing: None,
        })
    }

    /// Builds a directory, `subdirs` of whose entries are directories, and
    /// describes it, with its listing when sharded.
    pub(crate) fn directory(
        &self,
        path: String,
        entries: Vec<DirEntry>,
        subdirs: usize,
        opts: DirOptions,
    ) -> Result<Added, AddError> {
        let listing = opts.shards(&entries).then(|| entries.clone());
        let built = build_directory(self.store, entries, &opts)?;
        Ok(Added {
            path,
            cid: built.cid,
            size: built.size,
            summary: dir_summary(&opts, subdirs),
            listing,
        })
    }
}

fn dir_summary(opts: &DirOptions, subdirs: usize) -> Summary {
    Summary {
        kind: Kind::Directory,
        size: 0,
        mode: opts.mode,
        mtime: opts.mtime,
        subdirs: u32::try_from(subdirs).ok(),
    }
}

fn file_summary(opts: &FileOptions, filesize: u64) -> Summary {
    Summary {
        kind: Kind::File,
        size: filesize,
        mode: opts.mode,
        mtime: opts.mtime,
        subdirs: None,
    }
}

fn base_name(shown: &str) -> String {
    shown.rsplit('/').next().unwrap_or(shown).to_string()
}
