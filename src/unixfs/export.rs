//! `get`: writes a UnixFS file or tree to the local filesystem, refusing any
//! entry name that could escape the destination.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::UnixfsError;
use super::dir;
use super::node::{Kind, Node};
use super::reader::{FileReader, load};
use crate::blockstore::Blockstore;
use crate::codec::cid::{Cid, cid_string};

/// Rejects names that are not a single safe path component.
pub fn check_entry_name(name: &str) -> Result<(), UnixfsError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(UnixfsError::UnsafeName(name.to_string()));
    }
    Ok(())
}

pub fn export(
    store: &dyn Blockstore,
    cid: &Cid,
    node: Node,
    dest: &Path,
) -> Result<(), UnixfsError> {
    match node.kind() {
        Kind::File => {
            let reader = FileReader::from_node(store, cid, node)?;
            let mut out = fs::File::create(dest).map_err(|e| io(dest, e))?;
            reader.copy_to(&mut out, 0, u64::MAX)?;
            out.flush().map_err(|e| io(dest, e))
        }
        Kind::Directory | Kind::HamtShard => {
            fs::create_dir(dest).map_err(|e| io(dest, e))?;
            for entry in dir::list(store, cid)? {
                check_entry_name(&entry.name)?;
                let child = load(store, &entry.cid)?;
                export(store, &entry.cid, child, &dest.join(&entry.name))?;
            }
            Ok(())
        }
        Kind::Symlink => {
            let target = node.symlink_target().unwrap_or_default();
            let target = std::ffi::OsStr::from_bytes(target);
            std::os::unix::fs::symlink(target, dest).map_err(|e| io(dest, e))
        }
        Kind::Other => Err(UnixfsError::Corrupt {
            cid: cid_string(cid),
            reason: "not a UnixFS node".into(),
        }),
    }
}

use std::os::unix::ffi::OsStrExt;

fn io(path: &Path, e: std::io::Error) -> UnixfsError {
    UnixfsError::Io(format!("{}: {e}", path.display()))
}
