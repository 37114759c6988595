//! Inode and handle numbers of the /ipns mount. It serves three kinds of
//! trees in one number space: the read-only content below names (an
//! `IpfsFs`, whose numbers are used as they are), the names of others
//! (one number each while the kernel holds them), and one writable MFS
//! tree per key of ours. The top bit says "ours"; below it, a tag says
//! which of ours (0: the names, else a tree), and the low 48 bits the
//! number inside it.

use super::FsError;

pub const ROOT: u64 = 1;
const OURS: u64 = 1 << 63;
const SUB_BITS: u32 = 48;
const SUB_MASK: u64 = (1 << SUB_BITS) - 1;
/// The most trees one mount opens (each key, and again after a
/// `name publish` from elsewhere replaced its tree).
pub const MAX_TAG: u16 = 0x7fff;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Root,
    /// Read-only content: the `IpfsFs` inode.
    Content(u64),
    /// `/ipns/<name>` of a name shown read-only.
    Name(u64),
    /// Inode `sub` of the writable tree `tag`.
    Tree(u16, u64),
}

pub fn place(ino: u64) -> Place {
    if ino == ROOT {
        Place::Root
    } else if ino & OURS == 0 {
        Place::Content(ino)
    } else {
        let tag = ((ino >> SUB_BITS) & u64::from(MAX_TAG)) as u16;
        let sub = ino & SUB_MASK;
        if tag == 0 {
            Place::Name(sub)
        } else {
            Place::Tree(tag, sub)
        }
    }
}

fn ours(tag: u16, sub: u64) -> Result<u64, FsError> {
    if sub > SUB_MASK || tag > MAX_TAG {
        return Err(FsError::io("the /ipns mount ran out of inode numbers"));
    }
    Ok(OURS | (u64::from(tag) << SUB_BITS) | sub)
}

pub fn tree_ino(tag: u16, sub: u64) -> Result<u64, FsError> {
    ours(tag, sub)
}

pub fn name_ino(index: u64) -> Result<u64, FsError> {
    ours(0, index)
}

/// A content inode as the mount shows it (the same number, checked).
pub fn content_ino(ino: u64) -> Result<u64, FsError> {
    if ino & OURS != 0 || ino == ROOT {
        return Err(FsError::io(
            "the /ipfs inode numbers ran into the /ipns ones",
        ));
    }
    Ok(ino)
}

/// A handle of tree `tag`; read-only content has handle 0.
pub fn tree_handle(tag: u16, fh: u64) -> Result<u64, FsError> {
    ours(tag, fh)
}

/// The tree and its handle, for a handle of a tree.
pub fn handle_place(fh: u64) -> Option<(u16, u64)> {
    match place(fh) {
        Place::Tree(tag, sub) => Some((tag, sub)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_back_to_their_place() {
        assert_eq!(place(ROOT), Place::Root);
        assert_eq!(place(2), Place::Content(2));
        assert_eq!(place((7 << 32) | 9), Place::Content((7 << 32) | 9));
        let name = name_ino(5).unwrap();
        assert_eq!(place(name), Place::Name(5));
        let tree = tree_ino(3, 1).unwrap();
        assert_eq!(place(tree), Place::Tree(3, 1));
        assert_eq!(
            place(tree_ino(MAX_TAG, SUB_MASK).unwrap()),
            Place::Tree(MAX_TAG, SUB_MASK)
        );
        assert!(tree_ino(1, SUB_MASK + 1).is_err());
        assert!(content_ino(name).is_err() && content_ino(ROOT).is_err());
        assert_eq!(handle_place(tree_handle(4, 10).unwrap()), Some((4, 10)));
        assert_eq!(handle_place(0), None);
    }
}
