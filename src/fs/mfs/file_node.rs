//! A regular file of the tree: its content behind a lock of its own, and
//! a summary of it (size, last committed version, whether it changed
//! since) that whoever holds the tree reads without waiting. An operation
//! on the content may wait on the disk or the network for as long as it
//! takes; `ls -l`, a flush or gc never wait for it.

use std::sync::{Arc, Mutex};

use crate::mfs::content::{Committed, FileContent};

pub(crate) struct FileNode {
    content: Mutex<FileContent>,
    summary: Mutex<Summary>,
}

/// What the content was when its last operation ended.
#[derive(Clone, Copy, Debug)]
pub(super) struct Summary {
    pub size: u64,
    pub committed: Option<Committed>,
    /// Exactly `committed`: nothing written since.
    pub clean: bool,
}

impl Summary {
    fn of(content: &FileContent) -> Self {
        Summary {
            size: content.size(),
            committed: content.committed(),
            clean: content.is_clean(),
        }
    }
}

impl FileNode {
    pub(super) fn new(content: FileContent) -> Arc<Self> {
        Arc::new(FileNode {
            summary: Mutex::new(Summary::of(&content)),
            content: Mutex::new(content),
        })
    }

    pub(super) fn summary(&self) -> Summary {
        *self.summary.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `op` on the content (waiting for the operation in progress),
    /// then publishes the summary of what it left.
    pub(super) fn with<T>(&self, op: impl FnOnce(&mut FileContent) -> T) -> T {
        let mut content = self.content.lock().unwrap_or_else(|p| p.into_inner());
        let out = op(&mut content);
        *self.summary.lock().unwrap_or_else(|p| p.into_inner()) = Summary::of(&content);
        out
    }
}
