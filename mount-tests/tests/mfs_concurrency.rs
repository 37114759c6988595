//! The MFS mount while others change the tree: a directory listed by one
//! process while another changes it, and writers in their own directories
//! through the mount while `rsipfs files` commands work through the API of
//! the same mount and others list everything. A directory that exists per
//! the writer's own record never answers ENOENT (issue 18 item 7).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mount_tests::{Node, fuse_available, pseudo_random};

/// A listing begun before a directory was replaced by another of the same
/// name must not hand the kernel the old one: the kernel would keep the
/// name for the gone inode, and a create in the new directory would fail
/// with ENOENT.
#[test]
fn a_listing_begun_before_a_directory_is_replaced_does_not_hide_the_new_one() {
    if !fuse_available("a_listing_begun_before_a_directory_is_replaced_does_not_hide_the_new_one") {
        return;
    }
    let node = Node::new();
    let mount = node.mount();
    let parent = mount.mfs_path("w");
    fs::create_dir(&parent).unwrap();
    let dir = parent.join("d");
    fs::create_dir(&dir).unwrap();
    let old = fs::metadata(&dir).unwrap().ino();

    // opendir now (the listing is taken), getdents after the change.
    let mut listing = fs::read_dir(&parent).unwrap();
    fs::remove_dir(&dir).unwrap();
    fs::create_dir(&dir).unwrap();
    let new = fs::metadata(&dir).unwrap().ino();
    assert_ne!(old, new, "a new directory is a new inode");
    let first = listing.next().expect("one entry").unwrap();
    assert_eq!(first.file_name(), "d");
    drop(listing);

    assert_eq!(
        fs::metadata(&dir).unwrap().ino(),
        new,
        "d is the new directory"
    );
    fs::write(dir.join("f"), b"created").unwrap();
    assert_eq!(fs::read(dir.join("f")).unwrap(), b"created");
    mount.stop();
}

/// The same for a file renamed while a listing is under way: the old name
/// must not come back as a second name of the file, where a new file of
/// that name would overwrite the renamed one.
#[test]
fn a_listing_begun_before_a_rename_does_not_bring_the_old_name_back() {
    if !fuse_available("a_listing_begun_before_a_rename_does_not_bring_the_old_name_back") {
        return;
    }
    let node = Node::new();
    let mount = node.mount();
    let parent = mount.mfs_path("w");
    fs::create_dir(&parent).unwrap();
    fs::write(parent.join("f"), b"keep me").unwrap();

    let mut listing = fs::read_dir(&parent).unwrap();
    fs::rename(parent.join("f"), parent.join("g")).unwrap();
    let names: Vec<_> = listing.by_ref().map(|e| e.unwrap().file_name()).collect();
    assert!(names.len() <= 1, "{names:?}");
    drop(listing);

    assert_eq!(
        fs::metadata(parent.join("f")).map_err(|e| e.kind()).err(),
        Some(ErrorKind::NotFound),
        "f was renamed"
    );
    fs::write(parent.join("f"), b"new").unwrap();
    assert_eq!(fs::read(parent.join("g")).unwrap(), b"keep me");
    assert_eq!(fs::read(parent.join("f")).unwrap(), b"new");
    mount.stop();
}
