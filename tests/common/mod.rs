//! Helpers for tests that drive the `rsipfs` binary.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_rsipfs");

pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

pub fn fixture(rel: &str) -> PathBuf {
    shared_dir().join("fixtures").join(rel)
}

/// A fresh repository in a temporary directory, and a work directory beside it.
pub struct Node {
    pub dir: tempfile::TempDir,
}

impl Node {
    pub fn new() -> Self {
        let node = Node {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::create_dir(node.work()).expect("work dir");
        node.ok(&["init"]);
        node
    }

    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env("IPFS_PATH", self.repo())
            .current_dir(self.work());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run rsipfs")
    }

    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rsipfs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
        child.wait_with_output().expect("wait")
    }

    /// Runs and asserts success; returns stdout as text.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "rsipfs {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    pub fn ok_bytes(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "rsipfs {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// Runs and asserts failure; returns stderr as text.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "rsipfs {args:?} should fail; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Writes the shared test tree (scripts/make-test-tree.py) to work/tree.
    pub fn make_tree(&self) -> PathBuf {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-test-tree.py");
        let tree = self.work().join("tree");
        let status = Command::new("python3")
            .arg(script)
            .arg(&tree)
            .status()
            .expect("python3");
        assert!(status.success(), "make-test-tree.py failed");
        tree
    }
}

/// Golden lines `<source>:<flags>:<path> <cid>` from tests/data/cli/golden.txt.
pub fn golden() -> Vec<(String, String, String)> {
    let text = include_str!("../data/cli/golden.txt");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (label, cid) = line.rsplit_once(' ').expect("label and cid");
            let mut parts = label.splitn(3, ':');
            let _source = parts.next().expect("source");
            let flags = parts.next().expect("flags").to_string();
            let path = parts.next().expect("path").to_string();
            (flags, path, cid.to_string())
        })
        .collect()
}

/// Recursively compares two trees: names, file bytes, symlink targets.
pub fn assert_same_tree(expected: &Path, actual: &Path, skip_hidden: bool) {
    let names = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
            .map(|e| {
                e.expect("entry")
                    .file_name()
                    .into_string()
                    .expect("utf-8 name")
            })
            .filter(|n| !(skip_hidden && n.starts_with('.')))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(expected),
        names(actual),
        "entries of {}",
        actual.display()
    );
    for name in names(expected) {
        let (e, a) = (expected.join(&name), actual.join(&name));
        let meta = std::fs::symlink_metadata(&e).expect("stat expected");
        if meta.file_type().is_symlink() {
            assert_eq!(
                std::fs::read_link(&e).ok(),
                std::fs::read_link(&a).ok(),
                "symlink {}",
                a.display()
            );
        } else if meta.is_dir() {
            assert_same_tree(&e, &a, skip_hidden);
        } else {
            let (eb, ab) = (
                std::fs::read(&e).expect("read"),
                std::fs::read(&a).expect("read"),
            );
            assert!(eb == ab, "bytes of {} differ", a.display());
        }
    }
}
