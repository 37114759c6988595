//! Adding a tree that arrives as a sequence of entries, each directory
//! before what it holds, as `add` over HTTP sends it (multipart parts named
//! `dir`, `dir/a`, `dir/b`, …). Each directory is built as soon as an entry
//! outside it arrives, so memory holds only the open directories.

use std::io::Read;

use super::adder::{AddError, Added, Adder, Metadata};
use super::dir::DirEntry;

/// One entry of the sequence; `path` is relative, `/`-separated.
pub enum Entry<'r> {
    Directory,
    File(&'r mut dyn Read),
    Symlink(Vec<u8>),
}

#[derive(Debug, thiserror::Error)]
pub enum StreamedError {
    #[error("invalid path {0:?} in the upload")]
    BadPath(String),
    #[error(transparent)]
    Add(#[from] AddError),
}

struct OpenDir {
    path: String,
    entries: Vec<DirEntry>,
    /// How many of `entries` are directories.
    subdirs: usize,
    meta: Metadata,
}

pub struct StreamedTree<'a> {
    adder: Adder<'a>,
    open: Vec<OpenDir>,
    roots: Vec<Added>,
}

impl<'a> StreamedTree<'a> {
    pub fn new(adder: Adder<'a>) -> Self {
        StreamedTree {
            adder,
            open: Vec::new(),
            roots: Vec::new(),
        }
    }

    /// Adds one entry. An empty `path` (a file without a name) is shown by
    /// its CID.
    pub fn add(&mut self, path: &str, entry: Entry, meta: Metadata) -> Result<(), StreamedError> {
        if path.is_empty() {
            let Entry::File(reader) = entry else {
                return Err(StreamedError::BadPath(String::new()));
            };
            self.close_until("")?;
            let added = self.adder.import_stream(reader, None, meta)?;
            self.adder.report(&added);
            self.roots.push(added);
            return Ok(());
        }
        let path = path.trim_end_matches('/');
        // The first component only names a root (`add -r .` sends `.`);
        // the others become names inside directories.
        let mut components = path.split('/');
        let root_ok = components.next().is_some_and(|c| !c.is_empty());
        if !root_ok || components.any(|c| c.is_empty() || c == "." || c == "..") {
            return Err(StreamedError::BadPath(path.to_string()));
        }
        let parent = path.rsplit_once('/').map_or("", |(parent, _)| parent);
        self.close_until(parent)?;
        self.open_down_to(parent);
        match entry {
            Entry::Directory => self.open.push(OpenDir {
                path: path.to_string(),
                entries: Vec::new(),
                subdirs: 0,
                meta,
            }),
            Entry::File(reader) => {
                let added = self.adder.import_stream(reader, Some(path), meta)?;
                self.attach(added);
            }
            Entry::Symlink(target) => {
                let added = self.adder.symlink(path, &target, meta.mtime)?;
                self.attach(added);
            }
        }
        Ok(())
    }

    /// Builds what is still open; returns the roots (or, with `wrap`, the
    /// directory holding them).
    pub fn finish(mut self) -> Result<Vec<Added>, StreamedError> {
        self.close_until("")?;
        if self.adder.options().wrap {
            let wrapper = self.adder.wrap(&self.roots)?;
            return Ok(vec![wrapper]);
        }
        Ok(self.roots)
    }

    /// Builds the open directories that `parent` is not inside.
    fn close_until(&mut self, parent: &str) -> Result<(), StreamedError> {
        while let Some(top) = self.open.last() {
            let inside = parent == top.path
                || parent
                    .strip_prefix(top.path.as_str())
                    .is_some_and(|rest| rest.starts_with('/'));
            if inside {
                break;
            }
            let dir = self.open.pop().expect("checked above");
            let mut opts = self.adder.options().dir.clone();
            opts.mode = dir.meta.mode.or(opts.mode);
            opts.mtime = dir.meta.mtime.or(opts.mtime);
            let built = self
                .adder
                .directory(dir.path, dir.entries, dir.subdirs, opts)?;
            self.attach(built);
        }
        Ok(())
    }

    /// Opens the directories between the innermost open one and `parent`
    /// that the sequence did not send itself.
    fn open_down_to(&mut self, parent: &str) {
        if parent.is_empty() {
            return;
        }
        let mut path = self.open.last().map_or(String::new(), |d| d.path.clone());
        let rest = match path.as_str() {
            "" => parent,
            open => parent[open.len()..].trim_start_matches('/'),
        };
        for component in rest.split('/').filter(|c| !c.is_empty()) {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(component);
            self.open.push(OpenDir {
                path: path.clone(),
                entries: Vec::new(),
                subdirs: 0,
                meta: Metadata::default(),
            });
        }
    }

    fn attach(&mut self, added: Added) {
        self.adder.report(&added);
        match self.open.last_mut() {
            Some(dir) => {
                dir.subdirs += usize::from(added.summary.is_directory());
                dir.entries.push(DirEntry {
                    name: added
                        .path
                        .rsplit('/')
                        .next()
                        .unwrap_or(&added.path)
                        .to_string(),
                    cid: added.cid,
                    size: added.size,
                });
            }
            None => self.roots.push(added),
        }
    }
}

/// Imports `paths` from disk: files, and with `recursive` whole trees.
pub fn add_paths(adder: Adder, paths: &[std::path::PathBuf]) -> Result<Vec<Added>, StreamedError> {
    use super::plan::{PlannedKind, plan};
    let planned = plan(paths, adder.options())?;
    let mut tree = StreamedTree::new(adder);
    for entry in planned {
        match entry.kind {
            PlannedKind::Directory => tree.add(&entry.path, Entry::Directory, entry.meta)?,
            PlannedKind::Symlink(target) => {
                tree.add(&entry.path, Entry::Symlink(target), entry.meta)?
            }
            PlannedKind::File => {
                let mut file =
                    std::fs::File::open(&entry.source).map_err(|source| AddError::Io {
                        path: entry.source.display().to_string(),
                        source,
                    })?;
                tree.add(&entry.path, Entry::File(&mut file), entry.meta)?;
            }
        }
    }
    tree.finish()
}
