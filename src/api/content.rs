//! `/api/v0/cat` (file bytes) and `/api/v0/get` (a tar stream), streamed,
//! fetching missing blocks from the network when the node runs.

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::{ApiError, ApiState, Args};
use crate::codec::IpfsPath;
use crate::unixfs::UnixfsError;
use crate::unixfs::reader::FileReader;
use crate::unixfs::resolve::resolve;

/// Bytes handed to the HTTP body at a time.
const PIECE: usize = 1 << 20;

pub async fn cat(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let args = Args::parse(query.as_deref());
    let text = args.arg(0, "ipfs-path")?;
    let offset = args.number(&["offset", "o"])?.unwrap_or(0);
    let length = args.number(&["length", "l"])?.unwrap_or(u64::MAX);
    let path = IpfsPath::parse(&text).map_err(|e| ApiError::bad_request(format!("{text}: {e}")))?;
    let store = state.store.clone();
    // Resolve first, so that a bad path is an error status, not a cut body.
    let resolved = tokio::task::spawn_blocking({
        let store = store.clone();
        move || resolve(store.as_ref(), &path)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| ApiError::internal(format!("{text}: {e}")))?;
    if resolved.node.kind().is_dir() {
        return Err(ApiError::internal(format!(
            "{text}: this dag node is a directory"
        )));
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let reader = match FileReader::from_node(store.as_ref(), &resolved.cid, resolved.node) {
            Ok(reader) => reader,
            Err(err) => return drop(tx.blocking_send(Err(std::io::Error::other(err.to_string())))),
        };
        let mut piece = Vec::with_capacity(PIECE);
        let sent = reader.read_range(offset, length, &mut |bytes| {
            piece.extend_from_slice(bytes);
            if piece.len() >= PIECE {
                let full = std::mem::replace(&mut piece, Vec::with_capacity(PIECE));
                tx.blocking_send(Ok(Bytes::from(full)))
                    .map_err(|_| UnixfsError::NotAFile("the client went away".into()))?;
            }
            Ok(())
        });
        match sent {
            Ok(()) if !piece.is_empty() => drop(tx.blocking_send(Ok(Bytes::from(piece)))),
            Ok(()) => {}
            Err(err) => drop(tx.blocking_send(Err(std::io::Error::other(err.to_string())))),
        }
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok((
        [(header::CONTENT_TYPE, "text/plain")],
        Body::from_stream(body),
    )
        .into_response())
}

/// The HTTP body as a `Write` for a blocking producer.
struct BodyWriter {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    piece: Vec<u8>,
}

impl std::io::Write for BodyWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.piece.extend_from_slice(bytes);
        if self.piece.len() >= PIECE {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.piece.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.piece, Vec::with_capacity(PIECE));
        self.tx
            .blocking_send(Ok(Bytes::from(full)))
            .map_err(|_| std::io::Error::other("the client went away"))
    }
}

pub async fn get(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let args = Args::parse(query.as_deref());
    let text = args.arg(0, "ipfs-path")?;
    let path = IpfsPath::parse(&text).map_err(|e| ApiError::bad_request(format!("{text}: {e}")))?;
    let name = path
        .components
        .last()
        .cloned()
        .unwrap_or_else(|| crate::codec::cid_string(&path.root));
    let store = state.store.clone();
    let resolved = tokio::task::spawn_blocking({
        let store = store.clone();
        move || resolve(store.as_ref(), &path)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| ApiError::internal(format!("{text}: {e}")))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut out = BodyWriter {
            tx: tx.clone(),
            piece: Vec::with_capacity(PIECE),
        };
        let written = crate::unixfs::tar::write_tar(
            store.as_ref(),
            &resolved.cid,
            resolved.node,
            &name,
            &mut out,
        );
        if let Err(err) = written {
            let _ = tx.blocking_send(Err(std::io::Error::other(err.to_string())));
        }
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-tar")],
        Body::from_stream(body),
    )
        .into_response())
}
