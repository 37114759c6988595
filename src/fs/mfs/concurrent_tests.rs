//! The MFS engine under concurrency.

use std::sync::atomic::{AtomicU64, Ordering};

use super::*;
use crate::blockstore::MemoryBlockstore;
use crate::commands::files;
use crate::unixfs::dir;

fn empty_tree() -> MfsFs {
    let store = Arc::new(MemoryBlockstore::new());
    let empty = dir::build_directory(store.as_ref(), Vec::new(), &DirOptions::default())
        .unwrap()
        .cid;
    let persist: PersistRoot = Box::new(|_: &Cid, _: &Cid| Ok(()));
    MfsFs::new(store, empty, None, Caller::default(), persist).unwrap()
}

/// `files ls` of a directory whose entries come and go lists what is
/// there at some moment; an entry removed while it lists is left out, not
/// "file does not exist" for the directory.
#[test]
fn ls_of_a_directory_that_changes_meanwhile_succeeds() {
    let fs = empty_tree();
    let dir = fs
        .make(
            Caller::default(),
            ROOT_INO,
            "d",
            &NewNode::of(FileKind::Directory, 0o755),
        )
        .unwrap()
        .ino;
    let changes = AtomicU64::new(0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for n in 0..20_000u64 {
                let name = format!("f{}", n % 16);
                match fs.create(Caller::default(), dir, &name, 0o644) {
                    Ok((attr, fh)) => {
                        fs.write(attr.ino, 0, &n.to_le_bytes()).unwrap();
                        fs.flush_handle(fh).unwrap();
                        fs.release(fh);
                    }
                    Err(FsError::Exists) => fs.unlink(dir, &name).unwrap(),
                    Err(err) => panic!("create: {err:?}"),
                }
                changes.store(n + 1, Ordering::SeqCst);
            }
        });
        // As long as the entries change.
        let mut listed = Ok(());
        while listed.is_ok() && changes.load(Ordering::SeqCst) < 20_000 {
            listed = files::ls(&fs, "/d").map(drop);
        }
        listed.unwrap();
    });
}

/// `files stat` reads the node it flushed: a flush elsewhere that sweeps
/// replaced versions meanwhile must not delete it first.
#[test]
fn stat_of_a_directory_that_changes_meanwhile_succeeds() {
    let fs = empty_tree();
    let dir = fs
        .make(
            Caller::default(),
            ROOT_INO,
            "d",
            &NewNode::of(FileKind::Directory, 0o755),
        )
        .unwrap()
        .ino;
    let changes = AtomicU64::new(0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for n in 0..3_000u64 {
                let name = format!("f{}", n % 4);
                let (attr, fh) = match fs.create(Caller::default(), dir, &name, 0o644) {
                    Ok(created) => created,
                    Err(FsError::Exists) => {
                        let ino = fs.lookup(dir, &name).unwrap().ino;
                        (fs.getattr(ino).unwrap(), fs.open(ino, true).unwrap())
                    }
                    Err(err) => panic!("create: {err:?}"),
                };
                fs.write(attr.ino, 0, &n.to_le_bytes()).unwrap();
                fs.flush_handle(fh).unwrap();
                fs.release(fh);
                fs.sync(true).unwrap();
                changes.store(n + 1, Ordering::SeqCst);
            }
        });
        let mut stat = Ok(());
        while stat.is_ok() && changes.load(Ordering::SeqCst) < 3_000 {
            stat = files::stat(&fs, "/")
                .and_then(|_| files::stat(&fs, "/d"))
                .map(drop);
        }
        stat.unwrap();
    });
}
