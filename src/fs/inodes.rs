//! Inode numbers for the read-only /ipfs tree: one per distinct CID (codec +
//! multihash), stable for the life of the mount, so `find`, `du`, `tar` and
//! `rsync` see a consistent tree. Content never changes, so entries are
//! never invalidated.

use std::collections::HashMap;

use super::attr::Attr;
use crate::codec::cid::{Cid, to_v1};

pub const ROOT: u64 = 1;

#[derive(Clone, Debug)]
pub struct Entry {
    pub cid: Cid,
    pub attr: Attr,
}

#[derive(Default)]
pub struct Inodes {
    by_cid: HashMap<Vec<u8>, u64>,
    entries: Vec<Entry>,
}

impl Inodes {
    fn key(cid: &Cid) -> Vec<u8> {
        to_v1(cid).to_bytes()
    }

    pub fn find(&self, cid: &Cid) -> Option<u64> {
        self.by_cid.get(&Self::key(cid)).copied()
    }

    /// The inode for `cid`, created with `make_attr(ino)` on first sight.
    pub fn get_or_insert(&mut self, cid: &Cid, make_attr: impl FnOnce(u64) -> Attr) -> &Entry {
        let ino = match self.find(cid) {
            Some(ino) => ino,
            None => {
                let ino = ROOT + 1 + self.entries.len() as u64;
                self.entries.push(Entry {
                    cid: *cid,
                    attr: make_attr(ino),
                });
                self.by_cid.insert(Self::key(cid), ino);
                ino
            }
        };
        self.get(ino).expect("just inserted")
    }

    pub fn get(&self, ino: u64) -> Option<&Entry> {
        let index = ino.checked_sub(ROOT + 1)?;
        self.entries.get(usize::try_from(index).ok()?)
    }

    /// Records a directory's link count once its subdirectories are counted.
    pub fn set_nlink(&mut self, ino: u64, nlink: u32) {
        if let Some(entry) = ino
            .checked_sub(ROOT + 1)
            .and_then(|index| self.entries.get_mut(usize::try_from(index).ok()?))
        {
            entry.attr.nlink = nlink;
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
