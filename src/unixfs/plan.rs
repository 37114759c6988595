//! What `add` of some paths will import, in the order it is imported:
//! each directory before its entries, entries by name, hidden ones only
//! if asked. The same sequence is imported locally and sent over HTTP.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::adder::{AddError, AddOptions, Metadata};
use crate::codec::unixfs_pb::UnixTime;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlannedKind {
    Directory,
    File,
    Symlink(Vec<u8>),
}

#[derive(Clone, Debug)]
pub struct PlannedEntry {
    /// The path `add` shows (`dir/sub/file`).
    pub path: String,
    /// Where it is on disk.
    pub source: PathBuf,
    pub kind: PlannedKind,
    pub meta: Metadata,
}

pub fn plan(paths: &[PathBuf], opts: &AddOptions) -> Result<Vec<PlannedEntry>, AddError> {
    let mut planned = Vec::new();
    for path in paths {
        let name = display_name(path)?;
        plan_path(path, name, true, opts, &mut planned)?;
    }
    Ok(planned)
}

fn plan_path(
    path: &Path,
    shown: String,
    top: bool,
    opts: &AddOptions,
    planned: &mut Vec<PlannedEntry>,
) -> Result<(), AddError> {
    let meta = fs::symlink_metadata(path).map_err(|e| io(path, e))?;
    let file_type = meta.file_type();
    let kind = if file_type.is_symlink() {
        let target = fs::read_link(path).map_err(|e| io(path, e))?;
        PlannedKind::Symlink(target.as_os_str().as_bytes().to_vec())
    } else if file_type.is_dir() {
        if !opts.recursive {
            return Err(AddError::DirectoryWithoutRecursive(
                path.display().to_string(),
            ));
        }
        PlannedKind::Directory
    } else if file_type.is_file() || top {
        // A FIFO or device named on the command line is read as a file, as Kubo does.
        PlannedKind::File
    } else {
        return Err(AddError::UnsupportedFileType(path.display().to_string()));
    };
    let metadata = Metadata {
        // A symlink's mode is not kept; its mtime is.
        mode: (opts.preserve_mode && !file_type.is_symlink())
            .then(|| meta.permissions().mode() & 0o7777),
        mtime: opts.preserve_mtime.then(|| UnixTime {
            seconds: meta.mtime(),
            nanos: meta.mtime_nsec() as u32,
        }),
    };
    let is_dir = kind == PlannedKind::Directory;
    planned.push(PlannedEntry {
        path: shown.clone(),
        source: path.to_path_buf(),
        kind,
        meta: metadata,
    });
    if !is_dir {
        return Ok(());
    }
    let mut children: Vec<(Vec<u8>, PathBuf)> = Vec::new();
    for entry in fs::read_dir(path).map_err(|e| io(path, e))? {
        let entry = entry.map_err(|e| io(path, e))?;
        let name = entry.file_name();
        if !opts.hidden && name.as_bytes().starts_with(b".") {
            continue;
        }
        children.push((name.as_bytes().to_vec(), entry.path()));
    }
    children.sort();
    for (name, child) in children {
        let name = String::from_utf8(name)
            .map_err(|_| AddError::NonUtf8Name(child.display().to_string()))?;
        plan_path(&child, format!("{shown}/{name}"), false, opts, planned)?;
    }
    Ok(())
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

fn io(path: &Path, source: std::io::Error) -> AddError {
    AddError::Io {
        path: path.display().to_string(),
        source,
    }
}
