//! Multipart uploads handed to the sync core as `Read`ers, chunk by chunk,
//! so a large upload never sits in memory whole.

use axum::extract::multipart::{Field, Multipart};
use bytes::Bytes;
use tokio::sync::mpsc;

use super::ApiError;
use crate::codec::unixfs_pb::UnixTime;
use crate::unixfs::adder::Metadata;

type Chunk = Result<Bytes, std::io::Error>;

/// `Read` over one part's chunks, forwarded from the async side. A broken
/// upload is a read error, never a silently short file.
pub struct PartReader {
    rx: mpsc::Receiver<Chunk>,
    chunk: Bytes,
}

impl std::io::Read for PartReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.chunk = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// A reader for the blocking side and the sender that feeds it.
pub fn part_channel() -> (PartSender, PartReader) {
    let (tx, rx) = mpsc::channel(8);
    (
        PartSender { tx },
        PartReader {
            rx,
            chunk: Bytes::new(),
        },
    )
}

pub struct PartSender {
    tx: mpsc::Sender<Chunk>,
}

impl PartSender {
    /// Forwards the part's body; `false` if the reader went away early
    /// (its own error then says why).
    pub async fn forward(self, field: &mut Field<'_>) -> bool {
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if self.tx.send(Ok(chunk)).await.is_err() {
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(err) => {
                    let broken = std::io::Error::other(format!("reading the upload: {err}"));
                    let _ = self.tx.send(Err(broken)).await;
                    return false;
                }
            }
        }
    }
}

pub async fn next_part(multipart: &mut Multipart) -> Result<Option<Field<'_>>, ApiError> {
    multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))
}

/// The whole of the next part, refused above `limit` bytes.
pub async fn read_part(multipart: &mut Multipart, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut field = next_part(multipart)
        .await?
        .ok_or_else(|| ApiError::bad_request("file argument \"data\" is required"))?;
    let mut data = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?
    {
        if data.len() + chunk.len() > limit {
            // Read on (up to a bound) without keeping it: a client still
            // sending when the connection closes sees a broken pipe rather
            // than this answer.
            let mut skipped = data.len() + chunk.len();
            while skipped <= DRAIN_LIMIT
                && let Ok(Some(chunk)) = field.chunk().await
            {
                skipped += chunk.len();
            }
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("the upload is over the limit of {limit} bytes"),
            ));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

/// How much of a refused part is still read before answering.
const DRAIN_LIMIT: usize = 64 << 20;

/// What a part of an `add` upload is.
pub enum PartKind {
    Directory,
    Symlink,
    File,
}

/// A part's path (its filename, percent-encoded by clients), kind, and the
/// UnixFS metadata clients put in its field name (`file?mode=0644&mtime=…`).
pub fn describe(field: &Field<'_>) -> Result<(String, PartKind, Metadata), ApiError> {
    let path = part_name(field.file_name().unwrap_or(""))?;
    let kind = match field.content_type() {
        Some("application/x-directory") => PartKind::Directory,
        Some("application/symlink") => PartKind::Symlink,
        _ => PartKind::File,
    };
    let mut meta = Metadata::default();
    let name = field.name().unwrap_or("");
    if let Some((_, query)) = name.split_once('?') {
        let mut seconds = None;
        let mut nanos = 0;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let bad = || ApiError::bad_request(format!("part {name:?}: bad {key} {value:?}"));
            match key.as_ref() {
                "mode" => meta.mode = Some(u32::from_str_radix(&value, 8).map_err(|_| bad())?),
                "mtime" => seconds = Some(value.parse::<i64>().map_err(|_| bad())?),
                "mtime-nsecs" => nanos = value.parse::<u32>().map_err(|_| bad())?,
                _ => {}
            }
        }
        meta.mtime = seconds.map(|seconds| UnixTime { seconds, nanos });
    }
    Ok((path, kind, meta))
}

/// A part's file name: `%XX` escapes and `+` for space, as both Kubo's Go
/// client and `kubo-rpc-client` encode them.
fn part_name(text: &str) -> Result<String, ApiError> {
    super::percent_decode(text, true)
        .ok_or_else(|| ApiError::bad_request(format!("bad file name {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_decode_as_clients_encode_them() {
        assert_eq!(part_name("a%20b%2Fc+d").unwrap(), "a b/c d");
        assert_eq!(part_name("%C3%BCn%C3%AF").unwrap(), "ün\u{ef}".to_string());
        assert!(part_name("50%").is_err());
        assert!(part_name("%zz").is_err());
        assert!(part_name("%ff").is_err(), "not UTF-8");
    }
}
