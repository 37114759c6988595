//! `roots.journal`: every change to the node's roots (pins, the MFS root
//! and history head, any key of the datastore's key/value table), appended
//! and fsynced before the datastore commits it, so that `repo fsck` can
//! rebuild a lost or damaged datastore. One change a line, each with a
//! checksum of its own: a line torn by a crash is ignored, not misread.
//!
//! ```text
//! 1f0e5a2b pin recursive bafy…
//! 9c03d1e7 unpin bafy…
//! 4b7a0c11 put /local/filesroot 01701220…
//! 0d9e8f33 del /some/key
//! ```

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{PinKind, RepoError, Result, io_err, write_atomic};
use crate::codec::cid::{Cid, cid_string, parse_cid};

pub const JOURNAL_FILE: &str = "roots.journal";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Pin(Cid, PinKind),
    /// Removes every pin of the same multihash.
    Unpin(Cid),
    Put(String, Vec<u8>),
    Delete(String),
}

impl Change {
    fn text(&self) -> String {
        match self {
            Change::Pin(cid, PinKind::Recursive) => format!("pin recursive {}", cid_string(cid)),
            Change::Pin(cid, PinKind::Direct) => format!("pin direct {}", cid_string(cid)),
            Change::Unpin(cid) => format!("unpin {}", cid_string(cid)),
            Change::Put(key, value) => format!("put {key} {}", to_hex(value)),
            Change::Delete(key) => format!("del {key}"),
        }
    }

    fn parse(text: &str) -> Option<Change> {
        let words: Vec<&str> = text.split(' ').collect();
        Some(match words.as_slice() {
            ["pin", "recursive", cid] => Change::Pin(parse_cid(cid).ok()?, PinKind::Recursive),
            ["pin", "direct", cid] => Change::Pin(parse_cid(cid).ok()?, PinKind::Direct),
            ["unpin", cid] => Change::Unpin(parse_cid(cid).ok()?),
            ["put", key, value] => Change::Put(key.to_string(), from_hex(value)?),
            ["del", key] => Change::Delete(key.to_string()),
            _ => return None,
        })
    }

    fn line(&self) -> String {
        let text = self.text();
        format!("{} {text}\n", checksum(&text))
    }
}

/// Keys are written as they are: they must be one word.
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.chars().any(char::is_whitespace) {
        return Err(RepoError::Datastore(format!(
            "datastore key {key:?} is empty or holds whitespace"
        )));
    }
    Ok(())
}

fn checksum(text: &str) -> String {
    to_hex(&Sha256::digest(text.as_bytes())[..4])
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// What a journal holds: its valid changes in order, and the numbers of
/// the lines that failed their checksum (a torn last line, or damage).
#[derive(Debug, Default)]
pub struct Replay {
    pub changes: Vec<Change>,
    pub bad_lines: Vec<usize>,
}

pub fn read(path: &Path) -> Result<Replay> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let mut replay = Replay::default();
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let parsed = std::str::from_utf8(line)
            .ok()
            .and_then(|line| line.split_once(' '))
            .filter(|(sum, text)| *sum == checksum(text))
            .and_then(|(_, text)| Change::parse(text));
        match parsed {
            Some(change) => replay.changes.push(change),
            None => replay.bad_lines.push(index + 1),
        }
    }
    Ok(replay)
}

/// The journal open for appending.
pub struct Journal {
    path: PathBuf,
    file: File,
    len: u64,
}

impl Journal {
    /// Opens `path` for appending; a torn last line is cut off first, so
    /// that the next change starts a line of its own.
    pub fn open(path: &Path) -> Result<Journal> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err(path))?;
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if whole < bytes.len() {
            tracing::warn!(
                "{}: dropping a torn last line ({} bytes)",
                path.display(),
                bytes.len() - whole
            );
            file.set_len(whole as u64).map_err(io_err(path))?;
            file.sync_all().map_err(io_err(path))?;
        }
        file.seek(SeekFrom::End(0)).map_err(io_err(path))?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            len: whole as u64,
        })
    }

    /// Replaces the journal with `state` (atomically), then opens it.
    pub fn rewrite(path: &Path, state: &[Change]) -> Result<Journal> {
        let text: String = state.iter().map(Change::line).collect();
        write_atomic(path, text.as_bytes())?;
        Journal::open(path)
    }

    /// Appends `changes` and makes them durable.
    pub fn append(&mut self, changes: &[Change]) -> Result<()> {
        let text: String = changes.iter().map(Change::line).collect();
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(io_err(&self.path))?;
        self.len += text.len() as u64;
        Ok(())
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid() -> Cid {
        parse_cid("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn").unwrap()
    }

    #[test]
    fn changes_read_back_and_a_torn_line_is_skipped_then_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        let changes = vec![
            Change::Pin(cid(), PinKind::Recursive),
            Change::Put("/local/filesroot".into(), cid().to_bytes()),
            Change::Unpin(cid()),
            Change::Delete("/local/filesroot".into()),
        ];
        let mut journal = Journal::rewrite(&path, &changes[..1]).unwrap();
        journal.append(&changes[1..]).unwrap();
        assert_eq!(read(&path).unwrap().changes, changes);

        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(b"0badc0de pin recursive Qm");
        std::fs::write(&path, &text).unwrap();
        let replay = read(&path).unwrap();
        assert_eq!(replay.changes, changes);
        assert_eq!(replay.bad_lines, vec![5]);

        let mut journal = Journal::open(&path).unwrap();
        journal
            .append(&[Change::Pin(cid(), PinKind::Direct)])
            .unwrap();
        let replay = read(&path).unwrap();
        assert!(replay.bad_lines.is_empty());
        assert_eq!(replay.changes.len(), 5);
    }

    #[test]
    fn a_flipped_byte_fails_the_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        Journal::rewrite(&path, &[Change::Pin(cid(), PinKind::Recursive)]).unwrap();
        let mut text = std::fs::read(&path).unwrap();
        let last = text.len() - 3;
        text[last] ^= 1;
        std::fs::write(&path, &text).unwrap();
        let replay = read(&path).unwrap();
        assert!(replay.changes.is_empty());
        assert_eq!(replay.bad_lines, vec![1]);
    }
}
