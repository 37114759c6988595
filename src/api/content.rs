//! `/api/v0/cat` (file bytes) and `/api/v0/get` (a tar stream), streamed,
//! fetching missing blocks from the network when the node runs.

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::{ApiError, ApiState, Args, blocking};
use crate::codec::IpfsPath;
use crate::unixfs::reader::FileReader;
use crate::unixfs::resolve::{Resolved, resolve};

/// Bytes handed to the HTTP body at a time.
const PIECE: usize = 1 << 20;

type Piece = Result<Bytes, std::io::Error>;

/// Resolves the `arg` path before anything is sent, so that a bad path is
/// an error status rather than a cut-off body.
async fn resolve_arg(state: &ApiState, args: &Args) -> Result<(IpfsPath, Resolved), ApiError> {
    let text = args.arg(0, "ipfs-path")?;
    let (repo, store, names) = (state.repo.clone(), state.store.clone(), state.names.clone());
    blocking(move || {
        let core = crate::commands::Core {
            repo: &repo,
            store: store.as_ref(),
            names: &names,
        };
        // `/ipns/` names are resolved first.
        let path = core.content_path(&text).map_err(ApiError::from)?;
        let resolved = resolve(store.as_ref(), &path)
            .map_err(|e| ApiError::internal(format!("{text}: {e}")))?;
        Ok((path, resolved))
    })
    .await
}

/// A response whose body `produce` writes on a blocking thread.
pub(crate) fn streamed(
    content_type: &'static str,
    produce: impl FnOnce(&mut BodyWriter) -> Result<(), String> + Send + 'static,
) -> Response {
    body_response(content_type, Vec::new(), produce_pieces(produce))
}

/// As [`streamed`], but the answer waits for the first piece (or the end):
/// a failure before then, such as a damaged or missing block near the
/// start, is returned as an error naming its cause, for an error status,
/// instead of a body broken off with nothing said.
pub(crate) async fn streamed_checked(
    content_type: &'static str,
    produce: impl FnOnce(&mut BodyWriter) -> Result<(), String> + Send + 'static,
) -> Result<Response, String> {
    let mut pieces = produce_pieces(produce);
    let first = held_back(&mut pieces, 0).await?;
    Ok(body_response(content_type, first, pieces))
}

/// As [`streamed_checked`], for a producer that hands over buffers it
/// already holds (slices of blocks) instead of writing bytes: nothing is
/// copied on the way to the connection. The answer waits for the first
/// `hold_back` bytes (at least one piece), so that a failure among them is
/// an error naming its cause.
pub(crate) async fn streamed_slices_checked(
    content_type: &'static str,
    hold_back: usize,
    produce: impl FnOnce(&mut dyn FnMut(Bytes) -> Result<(), String>) -> Result<(), String>
    + Send
    + 'static,
) -> Result<Response, String> {
    // Each piece may keep a whole block alive: one waits, while the next is
    // read.
    let (tx, mut pieces) = tokio::sync::mpsc::channel::<Piece>(1);
    tokio::task::spawn_blocking(move || {
        let mut send = |piece: Bytes| {
            tx.blocking_send(Ok(piece))
                .map_err(|_| "the client went away".to_string())
        };
        if let Err(err) = produce(&mut send) {
            let _ = tx.blocking_send(Err(std::io::Error::other(err)));
        }
    });
    let first = held_back(&mut pieces, hold_back).await?;
    Ok(body_response(content_type, first, pieces))
}

/// The first pieces, until `hold_back` bytes (at least one piece) or the
/// end; the producer's error if it fails before then.
async fn held_back(
    pieces: &mut tokio::sync::mpsc::Receiver<Piece>,
    hold_back: usize,
) -> Result<Vec<Bytes>, String> {
    let mut first = Vec::new();
    let mut held = 0;
    while first.is_empty() || held < hold_back {
        match pieces.recv().await {
            Some(Err(err)) => return Err(err.to_string()),
            Some(Ok(piece)) => {
                held += piece.len();
                first.push(piece);
            }
            None => break,
        }
    }
    Ok(first)
}

/// Runs `produce` on a blocking thread; its pieces, then its error if it fails.
fn produce_pieces(
    produce: impl FnOnce(&mut BodyWriter) -> Result<(), String> + Send + 'static,
) -> tokio::sync::mpsc::Receiver<Piece> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Piece>(4);
    tokio::task::spawn_blocking(move || {
        let mut out = BodyWriter {
            tx: tx.clone(),
            piece: Vec::with_capacity(PIECE),
        };
        let produced = produce(&mut out)
            .and_then(|()| std::io::Write::flush(&mut out).map_err(|e| e.to_string()));
        if let Err(err) = produced {
            let _ = tx.blocking_send(Err(std::io::Error::other(err)));
        }
    });
    rx
}

/// An error piece ends the body abnormally (the connection is cut), never
/// as a clean, complete answer.
fn body_response(
    content_type: &'static str,
    first: Vec<Bytes>,
    rx: tokio::sync::mpsc::Receiver<Piece>,
) -> Response {
    let rest = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let body = futures::stream::iter(first.into_iter().map(Ok)).chain(rest);
    (
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(body),
    )
        .into_response()
}

pub async fn cat(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let args = Args::parse(query.as_deref());
    let offset = args.number(&["offset", "o"])?.unwrap_or(0);
    let length = args.number(&["length", "l"])?.unwrap_or(u64::MAX);
    let (path, resolved) = resolve_arg(&state, &args).await?;
    if resolved.node.kind().is_dir() {
        return Err(ApiError::internal(format!(
            "{path}: this dag node is a directory"
        )));
    }
    let store = state.store.clone();
    // The blocks' own buffers go to the connection, uncopied.
    // A client of `cat` cannot read an error that comes after the status
    // (ureq drops trailers), so as much is held back as `streamed_checked`
    // would hold in its first piece.
    streamed_slices_checked("text/plain", PIECE, move |send| {
        FileReader::from_node(store.as_ref(), &resolved.cid, resolved.node)
            .and_then(|reader| {
                reader.read_range(offset, length, &mut |piece| {
                    send(piece).map_err(crate::unixfs::UnixfsError::Io)
                })
            })
            .map_err(|e| format!("{path}: {e}"))
    })
    .await
    .map_err(ApiError::internal)
}

pub async fn get(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let args = Args::parse(query.as_deref());
    let (path, resolved) = resolve_arg(&state, &args).await?;
    let name = path
        .components
        .last()
        .cloned()
        .unwrap_or_else(|| crate::codec::cid_string(&path.root));
    let store = state.store.clone();
    streamed_checked("application/x-tar", move |out| {
        crate::unixfs::tar::write_tar(store.as_ref(), &resolved.cid, resolved.node, &name, out)
            .map_err(|e| format!("{path}: {e}"))
    })
    .await
    .map_err(ApiError::internal)
}

/// The HTTP body as a `Write` for a blocking producer.
pub(crate) struct BodyWriter {
    tx: tokio::sync::mpsc::Sender<Piece>,
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
