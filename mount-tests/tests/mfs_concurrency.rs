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
use std::time::Instant;

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

/// A small deterministic generator (xorshift), one per writer.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 33) as usize % n
    }
}

const DIRS: [&str; 5] = ["d0", "d1", "d2", "d0/e", "d1/e"];
const FILES: [&str; 3] = ["f0", "f1", "f2"];

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Dir,
    File(Vec<u8>),
}

/// One writer's directory as it must be: only that writer changes it.
#[derive(Default)]
struct Model {
    entries: BTreeMap<String, Kind>,
}

fn parent(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(parent, _)| parent)
}

impl Model {
    fn kind(&self, rel: &str) -> Option<&Kind> {
        if rel.is_empty() {
            return Some(&Kind::Dir);
        }
        self.entries.get(rel)
    }

    fn is_dir(&self, rel: &str) -> bool {
        self.kind(rel) == Some(&Kind::Dir)
    }

    fn children(&self, rel: &str) -> BTreeSet<String> {
        self.entries
            .keys()
            .filter(|p| parent(p) == rel && !p.is_empty())
            .map(|p| p.rsplit('/').next().unwrap_or_default().to_string())
            .collect()
    }

    fn inside(inner: &str, outer: &str) -> bool {
        inner.len() > outer.len()
            && inner.starts_with(outer)
            && inner.as_bytes()[outer.len()] == b'/'
    }

    fn can_rename(&self, from: &str, to: &str) -> bool {
        let Some(moving) = self.kind(from) else {
            return false;
        };
        if !self.is_dir(parent(to)) || Self::inside(to, from) {
            return false;
        }
        match (moving, self.kind(to)) {
            _ if from == to => true,
            (_, None) => true,
            (Kind::Dir, Some(Kind::Dir)) => self.children(to).is_empty(),
            (Kind::File(_), Some(Kind::File(_))) => true,
            _ => false,
        }
    }

    fn rename(&mut self, from: &str, to: &str) {
        if from == to {
            return;
        }
        self.entries.remove(to);
        let moved: Vec<String> = self
            .entries
            .keys()
            .filter(|p| *p == from || Self::inside(p, from))
            .cloned()
            .collect();
        for path in moved {
            let kind = self.entries.remove(&path).expect("listed");
            self.entries
                .insert(format!("{to}{}", &path[from.len()..]), kind);
        }
    }
}

/// Random operations in `root` (through the mount), each checked against
/// the model, until `stop` (at least `min_ops`, at most `max_ops`).
fn write_in(
    root: &Path,
    seed: u64,
    stop: &AtomicBool,
    min_ops: usize,
    max_ops: usize,
) -> Result<usize, String> {
    let mut rng = Rng(seed | 1);
    let mut model = Model::default();
    let at = |rel: &str| root.join(rel);
    let file = |rng: &mut Rng| {
        let dir = match rng.below(3) {
            0 => "",
            _ => DIRS[rng.below(DIRS.len())],
        };
        let name = FILES[rng.below(FILES.len())];
        if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        }
    };
    let mut done = 0;
    while done < max_ops && (done < min_ops || !stop.load(Ordering::SeqCst)) {
        done += 1;
        let (what, expected, got): (String, bool, std::io::Result<()>) = match rng.below(9) {
            0 => {
                let dir = DIRS[rng.below(DIRS.len())];
                let expected = model.kind(dir).is_none() && model.is_dir(parent(dir));
                let got = fs::create_dir(at(dir));
                if got.is_ok() && expected {
                    model.entries.insert(dir.to_string(), Kind::Dir);
                }
                (format!("mkdir {dir}"), expected, got)
            }
            1 => {
                let dir = DIRS[rng.below(DIRS.len())];
                let expected = model.is_dir(dir) && model.children(dir).is_empty();
                let got = fs::remove_dir(at(dir));
                if got.is_ok() && expected {
                    model.entries.remove(dir);
                }
                (format!("rmdir {dir}"), expected, got)
            }
            2 | 3 => {
                let rel = file(&mut rng);
                let data = pseudo_random(rng.below(3000), seed ^ done as u64);
                let expected = model.is_dir(parent(&rel)) && model.kind(&rel) != Some(&Kind::Dir);
                let got = fs::write(at(&rel), &data);
                if got.is_ok() && expected {
                    model.entries.insert(rel.clone(), Kind::File(data));
                }
                (format!("write {rel}"), expected, got)
            }
            4 => {
                let rel = file(&mut rng);
                let got = fs::read(at(&rel));
                if let (Ok(bytes), Some(Kind::File(data))) = (&got, model.kind(&rel))
                    && bytes != data
                {
                    return Err(format!(
                        "{}: read {rel}: {} bytes, not the {} written",
                        root.display(),
                        bytes.len(),
                        data.len()
                    ));
                }
                (
                    format!("read {rel}"),
                    matches!(model.kind(&rel), Some(Kind::File(_))),
                    got.map(drop),
                )
            }
            5 | 6 => {
                let (from, to) = if rng.below(3) == 0 {
                    (
                        DIRS[rng.below(DIRS.len())].to_string(),
                        DIRS[rng.below(DIRS.len())].to_string(),
                    )
                } else {
                    (file(&mut rng), file(&mut rng))
                };
                let expected = model.can_rename(&from, &to);
                let got = fs::rename(at(&from), at(&to));
                if got.is_ok() && expected {
                    model.rename(&from, &to);
                }
                (format!("rename {from} {to}"), expected, got)
            }
            7 => {
                let rel = file(&mut rng);
                let expected = matches!(model.kind(&rel), Some(Kind::File(_)));
                let got = fs::remove_file(at(&rel));
                if got.is_ok() && expected {
                    model.entries.remove(&rel);
                }
                (format!("unlink {rel}"), expected, got)
            }
            _ => {
                let dir = match rng.below(2) {
                    0 => "",
                    _ => DIRS[rng.below(DIRS.len())],
                };
                let got = fs::read_dir(at(dir)).and_then(|entries| {
                    entries
                        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                        .collect::<std::io::Result<BTreeSet<String>>>()
                });
                if let Ok(names) = &got
                    && model.is_dir(dir)
                    && *names != model.children(dir)
                {
                    return Err(format!(
                        "{}: {dir:?} lists {names:?}, not {:?}",
                        root.display(),
                        model.children(dir)
                    ));
                }
                (format!("list {dir:?}"), model.is_dir(dir), got.map(drop))
            }
        };
        match (expected, got) {
            (true, Ok(())) | (false, Err(_)) => {}
            (true, Err(err)) => {
                return Err(format!(
                    "{}: {what} failed after {done} operations: {err}; model {:?}",
                    root.display(),
                    model.entries.keys().collect::<Vec<_>>()
                ));
            }
            (false, Ok(())) => {
                return Err(format!(
                    "{}: {what} succeeded where the model says it fails; model {:?}",
                    root.display(),
                    model.entries.keys().collect::<Vec<_>>()
                ));
            }
        }
    }
    Ok(done)
}

/// Lists and stats everything under `dir`; a name gone meanwhile is fine.
fn walk(dir: &Path) -> Result<(), String> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(format!("list {}: {err}", dir.display())),
    };
    for entry in entries {
        let path: PathBuf = match entry {
            Ok(entry) => entry.path(),
            Err(err) if err.kind() == ErrorKind::NotFound => continue,
            Err(err) => return Err(format!("list {}: {err}", dir.display())),
        };
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => walk(&path)?,
            Ok(_) => {}
            Err(err) if err.kind() == ErrorKind::NotFound => {}
            Err(err) => return Err(format!("stat {}: {err}", path.display())),
        }
    }
    Ok(())
}

/// One `files` shell through the API: rounds of mkdir, write, stat, ls,
/// mv, read, rm and flush in its own directory.
fn files_shell(node: &Node, shell: usize, rounds: usize) -> Result<(), String> {
    let run = |args: &[&str], input: Option<&[u8]>| -> Result<Vec<u8>, String> {
        let out = match input {
            Some(input) => node.run_stdin(args, input),
            None => node.run(args),
        };
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(format!(
                "rsipfs {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    for round in 0..rounds {
        let dir = format!("/api{shell}/r{round}");
        let data = pseudo_random(1000 + round * 100, (shell * 1000 + round) as u64);
        run(&["files", "mkdir", "-p", &format!("{dir}/sub")], None)?;
        run(
            &["files", "write", "-e", "-p", &format!("{dir}/sub/a")],
            Some(&data),
        )?;
        run(&["files", "stat", &format!("{dir}/sub/a")], None)?;
        run(&["files", "ls", &dir], None)?;
        run(
            &["files", "mv", &format!("{dir}/sub/a"), &format!("{dir}/b")],
            None,
        )?;
        if run(&["files", "read", &format!("{dir}/b")], None)? != data {
            return Err(format!("files read {dir}/b: not what was written"));
        }
        run(&["files", "stat", "/"], None)?;
        if round % 2 == 0 {
            run(&["files", "rm", "-r", &dir], None)?;
        }
        if round % 3 == 0 {
            run(&["files", "flush", "/"], None)?;
        }
    }
    Ok(())
}

/// Writers through the mount, `files` shells through the API of the same
/// mount, and listers over everything, all at once: every writer's
/// operations give what its own record of its directory says.
#[test]
fn writers_files_shells_and_listers_at_once_see_no_missing_directories() {
    if !fuse_available("writers_files_shells_and_listers_at_once_see_no_missing_directories") {
        return;
    }
    let node = Node::new();
    let mount = node.mount();
    let started = Instant::now();
    let writers = 4;
    let roots: Vec<PathBuf> = (0..writers)
        .map(|w| mount.mfs_path(&format!("w{w}")))
        .collect();
    for root in &roots {
        fs::create_dir(root).unwrap();
    }
    let shells_done = AtomicBool::new(false);
    let writers_done = AtomicBool::new(false);
    let (written, shells, listers) = std::thread::scope(|scope| {
        let listers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut walks = 0;
                    while !writers_done.load(Ordering::SeqCst) {
                        walk(&mount.mfs)?;
                        walks += 1;
                    }
                    Ok::<usize, String>(walks)
                })
            })
            .collect();
        let shells: Vec<_> = (0..2)
            .map(|shell| {
                let node = &node;
                scope.spawn(move || files_shell(node, shell, 12))
            })
            .collect();
        let written: Vec<_> = roots
            .iter()
            .enumerate()
            .map(|(w, root)| {
                let stop = &shells_done;
                scope.spawn(move || write_in(root, 0x5EED + w as u64, stop, 300, 20_000))
            })
            .collect();
        let shells: Vec<_> = shells.into_iter().map(|t| t.join().unwrap()).collect();
        shells_done.store(true, Ordering::SeqCst);
        let written: Vec<_> = written.into_iter().map(|t| t.join().unwrap()).collect();
        writers_done.store(true, Ordering::SeqCst);
        let listers: Vec<_> = listers.into_iter().map(|t| t.join().unwrap()).collect();
        (written, shells, listers)
    });
    let log = node.mount_log();
    for result in shells {
        result.unwrap_or_else(|err| panic!("{err}\nmount log: {log}"));
    }
    let ops: Vec<usize> = written
        .into_iter()
        .map(|r| r.unwrap_or_else(|err| panic!("{err}\nmount log: {log}")))
        .collect();
    let walks: Vec<usize> = listers
        .into_iter()
        .map(|r| r.unwrap_or_else(|err| panic!("{err}\nmount log: {log}")))
        .collect();
    eprintln!(
        "writers: {ops:?} operations, listers: {walks:?} walks, in {:?}",
        started.elapsed()
    );
    mount.stop();
}
