//! `/api/v0/add`: a multipart upload of files, directories and symlinks
//! (Kubo's encoding), imported as it arrives; answers one JSON line per
//! entry added.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Multipart, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::upload::{PartKind, PartReader, describe, next_part, part_channel};
use super::{ApiError, ApiState, Args};
use crate::blockstore::{Blockstore, DiscardBlockstore, RecordingStore, WriteBehind};
use crate::commands::Core;
use crate::commands::add::{AddRecord, AddRequest, AddedLine, record};
use crate::unixfs::adder::{AddOptions, Added, Adder, Metadata};
use crate::unixfs::streamed::{Entry, StreamedTree};

/// Longest symlink target accepted.
const MAX_SYMLINK: usize = 4096;

enum Upload {
    Directory,
    Symlink(Vec<u8>),
    File(PartReader),
}

struct Part {
    path: String,
    upload: Upload,
    meta: Metadata,
}

/// What the importer is handed; `Abort` when the upload turned out bad, so
/// that nothing of it is pinned.
enum Incoming {
    Part(Part),
    Abort,
}

fn request(args: &Args) -> Result<AddRequest, ApiError> {
    let defaults = AddRequest::default();
    Ok(AddRequest {
        cid_version: args.number(&["cid-version"])?,
        hash: args.get(&["hash"]).unwrap_or(&defaults.hash).to_string(),
        chunker: args
            .get(&["chunker", "s"])
            .unwrap_or(&defaults.chunker)
            .to_string(),
        raw_leaves: args
            .get(&["raw-leaves"])
            .map(|_| args.flag(&["raw-leaves"]))
            .transpose()?,
        trickle: args.flag(&["trickle", "t"])?,
        inline: args.flag(&["inline"])?,
        inline_limit: args
            .number(&["inline-limit"])?
            .unwrap_or(defaults.inline_limit),
        wrap: args.flag(&["wrap-with-directory", "w"])?,
        recursive: true,
        hidden: true,
        preserve_mode: args.flag(&["preserve-mode"])?,
        preserve_mtime: args.flag(&["preserve-mtime"])?,
        pin: args.get(&["pin"]).is_none() || args.flag(&["pin"])?,
    })
}

/// What the importer reports, in order, to the answer's stream.
enum Event {
    /// With `progress=true`: bytes of the named file imported so far.
    Progress(String, u64),
    Added(AddedLine),
    Failed(ApiError),
    /// The upload broke; the feeder reports why.
    Aborted,
    /// Everything is stored and pinned.
    Done,
}

impl Event {
    fn line(self) -> Option<Vec<u8>> {
        let value = match self {
            Event::Progress(name, bytes) => serde_json::json!({ "Name": name, "Bytes": bytes }),
            Event::Added(line) => serde_json::to_value(line).ok()?,
            Event::Failed(err) => err.body(),
            Event::Aborted | Event::Done => return None,
        };
        let mut line = serde_json::to_vec(&value).ok()?;
        line.push(b'\n');
        Some(line)
    }
}

/// Kubo's `add`: the entries are imported as the upload arrives and each is
/// answered as soon as it is added (with `progress`, file progress too). An
/// error before the first answer is an error status; after it, a JSON error
/// line ends the stream.
pub async fn add(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let args = Args::parse(query.as_deref());
    let request = request(&args)?;
    let opts = request.options()?;
    let only_hash = args.flag(&["only-hash", "n"])?;
    let progress = args.flag(&["progress", "p"])?;
    let (parts, incoming) = tokio::sync::mpsc::channel::<Incoming>(1);
    // Unbounded: a client may read the answer only once it has sent the
    // whole upload (ureq, curl without -N), and an import that waited for
    // it to read would stop reading the upload: both would wait for good.
    // A line an entry, so this holds what the upload itself names.
    let (events, mut answers) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let reporter = events.clone();
    tokio::task::spawn_blocking(move || {
        let outcome = import(
            &state, incoming, &reporter, opts, &request, only_hash, progress,
        );
        let last = match outcome {
            Ok(()) => Event::Done,
            Err(None) => Event::Aborted,
            Err(Some(err)) => Event::Failed(err),
        };
        let _ = reporter.send(last);
    });
    tokio::spawn(async move {
        if let Err(err) = feed(&mut multipart, &parts).await {
            let _ = events.send(Event::Failed(err));
            let _ = parts.send(Incoming::Abort).await;
        }
    });
    let first = match answers.recv().await {
        None | Some(Event::Aborted) => return Err(ApiError::internal("the upload failed")),
        Some(Event::Failed(err)) => return Err(err),
        Some(Event::Done) => return Err(ApiError::bad_request("the upload holds no files")),
        Some(first) => first,
    };
    let stream = futures::stream::unfold(
        (Some(first), Some(answers)),
        |(pending, answers)| async move {
            let mut answers = answers?;
            let mut next = match pending {
                Some(event) => Some(event),
                None => answers.recv().await,
            };
            loop {
                let event = next?;
                let ends = matches!(event, Event::Failed(_) | Event::Done | Event::Aborted);
                if let Some(line) = event.line() {
                    let rest = (None, (!ends).then_some(answers));
                    return Some((Ok::<_, std::io::Error>(bytes::Bytes::from(line)), rest));
                }
                if ends {
                    return None;
                }
                next = answers.recv().await;
            }
        },
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::HeaderName::from_static("x-chunked-output"), "1"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Imports what the feeder hands over, reporting each entry; then makes it
/// durable, pins and announces it. `Err(None)`: the upload broke.
fn import(
    state: &ApiState,
    mut incoming: tokio::sync::mpsc::Receiver<Incoming>,
    events: &tokio::sync::mpsc::UnboundedSender<Event>,
    opts: AddOptions,
    request: &AddRequest,
    only_hash: bool,
    progress: bool,
) -> Result<(), Option<ApiError>> {
    // Held from the first block written until the roots are pinned.
    let writing = state.repo.gc_lock().pin_guard();
    let recording = Arc::new(RecordingStore::new(state.repo.blocks_shared()));
    let store: Arc<dyn Blockstore> = if only_hash {
        Arc::new(DiscardBlockstore)
    } else {
        // Writes overlap hashing; 16 blocks of 256 KiB bound the queue.
        Arc::new(WriteBehind::new(recording.clone(), 16))
    };
    let failed = |message: String| Some(ApiError::internal(message));
    let mut noted = AddRecord::default();
    let mut on_added = |added: &Added| {
        noted.note(added);
        let _ = events.send(Event::Added(AddedLine::new(added)));
    };
    let current = std::cell::RefCell::new((String::new(), 0u64));
    let mut on_progress = |n: u64| {
        if progress {
            let mut current = current.borrow_mut();
            current.1 += n;
            let _ = events.send(Event::Progress(current.0.clone(), current.1));
        }
    };
    let adder = Adder::new(store.as_ref(), &opts, &mut on_added, &mut on_progress);
    let mut tree = StreamedTree::new(adder);
    while let Some(incoming) = incoming.blocking_recv() {
        let Incoming::Part(part) = incoming else {
            return Err(None);
        };
        *current.borrow_mut() = (part.path.clone(), 0);
        let mut reader;
        let entry = match part.upload {
            Upload::Directory => Entry::Directory,
            Upload::Symlink(target) => Entry::Symlink(target),
            Upload::File(file) => {
                reader = file;
                Entry::File(&mut reader)
            }
        };
        tree.add(&part.path, entry, part.meta)
            .map_err(|e| failed(e.to_string()))?;
    }
    let roots = tree.finish().map_err(|e| failed(e.to_string()))?;
    if only_hash {
        return Ok(());
    }
    store
        .sync()
        .map_err(|e| failed(format!("storing the added blocks: {e}")))?;
    let core = Core {
        repo: &state.repo,
        store: state.store.as_ref(),
        names: &state.names,
    };
    noted.written = recording.take_put();
    record(&core, &writing, &roots, &noted, request.pin).map_err(|e| Some(e.into()))?;
    if let Some(net) = &state.net {
        net.provide(noted.summaries.iter().map(|(cid, _)| *cid).collect());
    }
    Ok(())
}

/// Hands each part to the importer in order, a file's body as it arrives.
async fn feed(
    multipart: &mut Multipart,
    parts: &tokio::sync::mpsc::Sender<Incoming>,
) -> Result<(), ApiError> {
    while let Some(mut field) = next_part(multipart).await? {
        let (path, kind, meta) = describe(&field)?;
        let upload = match kind {
            PartKind::Directory => Upload::Directory,
            PartKind::Symlink => {
                let mut target = Vec::new();
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?
                {
                    target.extend_from_slice(&chunk);
                    if target.len() > MAX_SYMLINK {
                        return Err(ApiError::bad_request(format!(
                            "{path}: symlink target over {MAX_SYMLINK} bytes"
                        )));
                    }
                }
                Upload::Symlink(target)
            }
            PartKind::File => {
                let (sender, reader) = part_channel();
                let part = Incoming::Part(Part {
                    path,
                    upload: Upload::File(reader),
                    meta,
                });
                if parts.send(part).await.is_err() || !sender.forward(&mut field).await {
                    // The importer stopped; its error is the answer.
                    return Ok(());
                }
                continue;
            }
        };
        if parts
            .send(Incoming::Part(Part { path, upload, meta }))
            .await
            .is_err()
        {
            return Ok(());
        }
    }
    Ok(())
}
