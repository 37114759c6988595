//! A UnixFS file or tree as a tar stream (what Kubo's `/api/v0/get` sends),
//! and its safe extraction on the client side.

use std::io::{Read, Write};
use std::path::{Component, Path};

use super::UnixfsError;
use super::dir;
use super::export::check_entry_name;
use super::node::{Kind, Node};
use super::reader::{FileReader, load};
use crate::blockstore::Blockstore;
use crate::codec::cid::{Cid, cid_string};

fn tar_error(e: std::io::Error) -> UnixfsError {
    UnixfsError::Io(format!("tar: {e}"))
}

/// Writes the node `cid` as `name` (and everything below it) to `out`.
pub fn write_tar(
    store: &dyn Blockstore,
    cid: &Cid,
    node: Node,
    name: &str,
    out: impl Write,
) -> Result<(), UnixfsError> {
    let mut builder = tar::Builder::new(out);
    append(&mut builder, store, cid, node, name)?;
    builder
        .into_inner()
        .map_err(tar_error)?
        .flush()
        .map_err(tar_error)
}

fn header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(mode);
    header.set_mtime(0);
    header
}

fn append<W: Write>(
    builder: &mut tar::Builder<W>,
    store: &dyn Blockstore,
    cid: &Cid,
    node: Node,
    path: &str,
) -> Result<(), UnixfsError> {
    let mode = node.unixfs().and_then(|u| u.mode);
    match node.kind() {
        Kind::File => {
            let reader = FileReader::from_node(store, cid, node)?;
            let mut header = header(
                tar::EntryType::Regular,
                reader.size(),
                mode.unwrap_or(0o644),
            );
            builder
                .append_data(&mut header, path, FileRead { reader, at: 0 })
                .map_err(tar_error)
        }
        Kind::Directory | Kind::HamtShard => {
            let mut header = header(tar::EntryType::Directory, 0, mode.unwrap_or(0o755));
            builder
                .append_data(&mut header, path, std::io::empty())
                .map_err(tar_error)?;
            for entry in dir::list(store, cid)? {
                check_entry_name(&entry.name)?;
                let child = load(store, &entry.cid)?;
                append(
                    builder,
                    store,
                    &entry.cid,
                    child,
                    &format!("{path}/{}", entry.name),
                )?;
            }
            Ok(())
        }
        Kind::Symlink => {
            let target =
                String::from_utf8_lossy(node.symlink_target().unwrap_or_default()).into_owned();
            let mut header = header(tar::EntryType::Symlink, 0, 0o777);
            builder
                .append_link(&mut header, path, target)
                .map_err(tar_error)
        }
        Kind::Other => Err(UnixfsError::Corrupt {
            cid: cid_string(cid),
            reason: "not a UnixFS node".into(),
        }),
    }
}

/// `Read` over a UnixFS file.
struct FileRead<'a> {
    reader: FileReader<'a>,
    at: u64,
}

impl Read for FileRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self
            .reader
            .read_at(self.at, buf)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.at += n as u64;
        Ok(n)
    }
}

/// Extracts a tar stream whose entries all sit under one top name, writing
/// that top entry at `dest`. Entries with unsafe names (`..`, absolute
/// paths, NUL), more than one top name, or other types are refused.
pub fn extract_tar(input: impl Read, dest: &Path) -> Result<(), UnixfsError> {
    let mut archive = tar::Archive::new(input);
    let mut top: Option<String> = None;
    for entry in archive.entries().map_err(tar_error)? {
        let mut entry = entry.map_err(tar_error)?;
        let path = entry.path().map_err(tar_error)?.into_owned();
        let mut names = Vec::new();
        for component in path.components() {
            match component {
                Component::Normal(name) => {
                    let name = name
                        .to_str()
                        .ok_or_else(|| UnixfsError::UnsafeName(path.display().to_string()))?;
                    check_entry_name(name)?;
                    names.push(name.to_string());
                }
                Component::CurDir => {}
                _ => return Err(UnixfsError::UnsafeName(path.display().to_string())),
            }
        }
        let Some((first, rest)) = names.split_first() else {
            return Err(UnixfsError::UnsafeName(path.display().to_string()));
        };
        match &top {
            None => top = Some(first.clone()),
            Some(top) if top != first => {
                return Err(UnixfsError::UnsafeName(path.display().to_string()));
            }
            Some(_) => {}
        }
        let target = rest.iter().fold(dest.to_path_buf(), |p, n| p.join(n));
        let io = |e: std::io::Error| UnixfsError::Io(format!("{}: {e}", target.display()));
        match entry.header().entry_type() {
            tar::EntryType::Directory => std::fs::create_dir(&target).map_err(io)?,
            tar::EntryType::Regular => {
                let mut file = std::fs::File::create(&target).map_err(io)?;
                std::io::copy(&mut entry, &mut file).map_err(io)?;
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name()
                    .map_err(tar_error)?
                    .ok_or_else(|| UnixfsError::UnsafeName(path.display().to_string()))?
                    .into_owned();
                std::os::unix::fs::symlink(link, &target).map_err(io)?;
            }
            other => {
                return Err(UnixfsError::Io(format!(
                    "{}: unsupported tar entry type {other:?}",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockstore::MemoryBlockstore;

    #[test]
    fn a_tree_round_trips_through_tar_and_escapes_are_refused() {
        let store = MemoryBlockstore::new();
        let src = tempfile::tempdir().unwrap();
        let tree = src.path().join("tree");
        std::fs::create_dir_all(tree.join("sub")).unwrap();
        std::fs::write(tree.join("a.txt"), b"alpha").unwrap();
        std::fs::write(tree.join("sub/big.bin"), vec![7u8; 700_000]).unwrap();
        std::os::unix::fs::symlink("a.txt", tree.join("link")).unwrap();
        let opts = crate::unixfs::adder::AddOptions {
            file: Default::default(),
            dir: Default::default(),
            recursive: true,
            hidden: true,
            wrap: false,
            preserve_mode: false,
            preserve_mtime: false,
        };
        let (mut on_added, mut progress) = (|_: &crate::unixfs::adder::Added| {}, |_: u64| {});
        let adder = crate::unixfs::adder::Adder::new(&store, &opts, &mut on_added, &mut progress);
        let root =
            crate::unixfs::streamed::add_paths(adder, std::slice::from_ref(&tree)).unwrap()[0].cid;
        let node = load(&store, &root).unwrap();
        let mut bytes = Vec::new();
        write_tar(&store, &root, node, "tree", &mut bytes).unwrap();
        let out = tempfile::tempdir().unwrap();
        extract_tar(bytes.as_slice(), &out.path().join("got")).unwrap();
        let got = out.path().join("got");
        assert_eq!(std::fs::read(got.join("a.txt")).unwrap(), b"alpha");
        assert_eq!(
            std::fs::read(got.join("sub/big.bin")).unwrap(),
            vec![7u8; 700_000]
        );
        assert_eq!(
            std::fs::read_link(got.join("link")).unwrap(),
            Path::new("a.txt")
        );

        // A hostile archive: an entry climbing out of the destination.
        let mut evil = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_entry_type(tar::EntryType::Regular);
        let name = b"top/../../escape";
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_cksum();
        evil.append(&header, &b"bad"[..]).unwrap();
        let evil = evil.into_inner().unwrap();
        let out2 = tempfile::tempdir().unwrap();
        assert!(matches!(
            extract_tar(evil.as_slice(), &out2.path().join("x")),
            Err(UnixfsError::UnsafeName(_))
        ));
        assert!(!out2.path().join("escape").exists());
    }
}
