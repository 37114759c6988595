//! Attributes kept beside the DAG, so a remount shows what chmod, chown and
//! touch set, and the fifos, sockets and device nodes made under /mfs.
//! UnixFS could hold modes and times, but only by changing CIDs, and a file
//! in /mfs must keep the CID `add` gives its bytes.
//!
//! Each rebuilt directory records the attributes of its entries (and under
//! "." its own), keyed by its CID: a moved or renamed directory takes them
//! along, and past versions keep theirs.

use std::collections::BTreeMap;

use super::FileKind;
use super::tree::{Body, DirBody, Inode};
use crate::codec::cid::Cid;
use crate::codec::unixfs_pb::UnixTime;
use crate::codec::wire::{Reader, put_varint};

pub trait AttrStore: Send + Sync {
    fn load(&self, dir: &Cid) -> Option<Vec<(String, SavedAttr)>>;
    fn save(&self, dir: &Cid, entries: &[(String, SavedAttr)]);
}

/// The entry under which a directory records its own attributes.
pub const SELF: &str = ".";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SavedAttr {
    /// `None` for entries the DAG holds (files, directories, symlinks).
    pub special: Option<FileKind>,
    pub perm: u16,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u32,
    pub atime: UnixTime,
    pub mtime: UnixTime,
}

impl SavedAttr {
    pub(crate) fn of(inode: &Inode) -> Self {
        let special = match inode.kind {
            FileKind::Directory | FileKind::File | FileKind::Symlink => None,
            other => Some(other),
        };
        SavedAttr {
            special,
            perm: inode.perm,
            uid: inode.uid,
            gid: inode.gid,
            rdev: inode.rdev,
            atime: inode.atime,
            mtime: inode.mtime,
        }
    }

    pub(crate) fn apply(&self, inode: &mut Inode) {
        inode.perm = self.perm;
        inode.uid = self.uid;
        inode.gid = self.gid;
        inode.rdev = self.rdev;
        inode.atime = self.atime;
        inode.mtime = self.mtime;
        inode.ctime = self.mtime;
    }
}

fn kind_code(kind: Option<FileKind>) -> u64 {
    match kind {
        None => 0,
        Some(FileKind::Fifo) => 1,
        Some(FileKind::Socket) => 2,
        Some(FileKind::CharDevice) => 3,
        Some(FileKind::BlockDevice) => 4,
        Some(_) => 0,
    }
}

fn kind_of(code: u64) -> Option<Option<FileKind>> {
    Some(match code {
        0 => None,
        1 => Some(FileKind::Fifo),
        2 => Some(FileKind::Socket),
        3 => Some(FileKind::CharDevice),
        4 => Some(FileKind::BlockDevice),
        _ => return None,
    })
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub fn encode(entries: &[(String, SavedAttr)]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, entries.len() as u64);
    for (name, attr) in entries {
        put_varint(&mut out, name.len() as u64);
        out.extend_from_slice(name.as_bytes());
        for value in [
            kind_code(attr.special),
            attr.perm.into(),
            attr.uid.into(),
            attr.gid.into(),
            attr.rdev.into(),
            zigzag(attr.atime.seconds),
            attr.atime.nanos.into(),
            zigzag(attr.mtime.seconds),
            attr.mtime.nanos.into(),
        ] {
            put_varint(&mut out, value);
        }
    }
    out
}

pub fn decode(bytes: &[u8]) -> Option<Vec<(String, SavedAttr)>> {
    let mut reader = Reader::new(bytes);
    let count = reader.varint().ok()?;
    let mut entries = Vec::new();
    for _ in 0..count {
        let name = String::from_utf8(reader.bytes().ok()?.to_vec()).ok()?;
        let mut next = || reader.varint().ok();
        let special = kind_of(next()?)?;
        let perm = u16::try_from(next()?).ok()?;
        let uid = u32::try_from(next()?).ok()?;
        let gid = u32::try_from(next()?).ok()?;
        let rdev = u32::try_from(next()?).ok()?;
        let atime = UnixTime {
            seconds: unzigzag(next()?),
            nanos: u32::try_from(next()?).ok()?,
        };
        let mtime = UnixTime {
            seconds: unzigzag(next()?),
            nanos: u32::try_from(next()?).ok()?,
        };
        entries.push((
            name,
            SavedAttr {
                special,
                perm,
                uid,
                gid,
                rdev,
                atime,
                mtime,
            },
        ));
    }
    reader.is_empty().then_some(entries)
}

impl super::tree::Tree {
    /// Gives the entries of a directory just loaded from `dir` their
    /// recorded attributes, and brings back its special files.
    pub(super) fn apply_saved(
        &mut self,
        dir: &Cid,
        ino: u64,
        children: &mut BTreeMap<String, u64>,
    ) {
        let Some(saved) = self.attrs.as_ref().and_then(|a| a.load(dir)) else {
            return;
        };
        let frozen = self.inodes.get(&ino).is_some_and(|i| i.frozen);
        for (name, attr) in saved {
            if name == SELF {
                continue;
            }
            match (children.get(&name), attr.special) {
                (Some(child), None) => {
                    if let Some(inode) = self.inodes.get_mut(child) {
                        attr.apply(inode);
                    }
                }
                (None, Some(kind)) => {
                    let mut inode = Inode {
                        kind,
                        perm: 0,
                        uid: 0,
                        gid: 0,
                        rdev: 0,
                        atime: UnixTime::default(),
                        mtime: UnixTime::default(),
                        ctime: UnixTime::default(),
                        nlink: 1,
                        parents: vec![ino],
                        open: 0,
                        writers: 0,
                        frozen,
                        body: Body::Special,
                        stored: None,
                    };
                    attr.apply(&mut inode);
                    let special = self.next_ino;
                    self.next_ino += 1;
                    self.inodes.insert(special, inode);
                    children.insert(name, special);
                }
                _ => {}
            }
        }
    }

    /// Records the attributes of directory `ino` (stored as `dir`) and of
    /// its entries.
    pub(super) fn save_attrs(&self, dir: &Cid, ino: u64) {
        let Some(store) = &self.attrs else {
            return;
        };
        let Some(inode) = self.inodes.get(&ino) else {
            return;
        };
        let mut entries = vec![(SELF.to_string(), SavedAttr::of(inode))];
        if let Body::Dir(DirBody::Loaded(children)) = &inode.body {
            for (name, child) in children {
                if let Some(child) = self.inodes.get(child) {
                    entries.push((name.clone(), SavedAttr::of(child)));
                }
            }
        }
        store.save(dir, &entries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_round_trip_and_garbage_is_refused() {
        let attr = SavedAttr {
            special: Some(FileKind::Fifo),
            perm: 0o4755,
            uid: 1001,
            gid: 65534,
            rdev: 7,
            atime: UnixTime {
                seconds: -5,
                nanos: 1,
            },
            mtime: UnixTime {
                seconds: 1_700_000_000,
                nanos: 999_999_999,
            },
        };
        let entries = vec![
            ("fifo".to_string(), attr),
            (
                SELF.to_string(),
                SavedAttr {
                    special: None,
                    ..attr
                },
            ),
        ];
        let bytes = encode(&entries);
        assert_eq!(decode(&bytes), Some(entries));
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
        }
        assert_eq!(decode(&[1, 0, 9]), None);
    }
}
