//! `repo.lock`: an OS lock (flock) for liveness, with the holder's PID inside
//! so a second process can say who holds it. A file left by a dead process
//! is taken over with a warning.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::{RepoError, Result, io_err};

pub struct RepoLock {
    path: PathBuf,
    _file: File,
}

impl RepoLock {
    pub fn acquire(repo: &Path) -> Result<RepoLock> {
        let path = repo.join("repo.lock");
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(io_err(&path))?;
            // SAFETY: flock on a file descriptor we own.
            let locked =
                unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
            let previous = read_pid(&mut file);
            if !locked {
                return Err(RepoError::Locked {
                    path: repo.display().to_string(),
                    pid: previous.unwrap_or(0),
                });
            }
            // The holder we raced with may have removed the file after we
            // opened it: only a lock on the file still at `path` counts.
            let still_there = std::fs::metadata(&path).ok().map(|m| m.ino())
                == file.metadata().ok().map(|m| m.ino());
            if !still_there {
                continue;
            }
            if let Some(pid) = previous.filter(|pid| *pid != std::process::id()) {
                tracing::warn!(
                    "taking over repo.lock left by process {pid}, which is no longer running"
                );
            }
            file.set_len(0).map_err(io_err(&path))?;
            file.seek(SeekFrom::Start(0)).map_err(io_err(&path))?;
            file.write_all(std::process::id().to_string().as_bytes())
                .map_err(io_err(&path))?;
            file.sync_all().map_err(io_err(&path))?;
            return Ok(RepoLock { path, _file: file });
        }
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

impl Drop for RepoLock {
    fn drop(&mut self) {
        // Remove before the descriptor (and with it the flock) is released.
        let _ = std::fs::remove_file(&self.path);
    }
}
