//! `/api/v0/add`: a multipart upload of files, directories and symlinks
//! (Kubo's encoding), imported as it arrives; answers one JSON line per
//! entry added.

use std::sync::Arc;

use axum::extract::{Multipart, RawQuery, State};
use axum::response::Response;

use super::upload::{PartKind, PartReader, describe, next_part, part_channel};
use super::{ApiError, ApiState, Args, ndjson};
use crate::blockstore::{Blockstore, DiscardBlockstore, WriteBehind};
use crate::commands::Core;
use crate::commands::add::{AddRecord, AddRequest, AddedLine, record};
use crate::unixfs::adder::{Added, Adder, Metadata};
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

pub async fn add(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let args = Args::parse(query.as_deref());
    let request = request(&args)?;
    let opts = request.options()?;
    let only_hash = args.flag(&["only-hash", "n"])?;
    let (parts, mut incoming) = tokio::sync::mpsc::channel::<Incoming>(1);
    let worker_state = state.clone();
    let worker = tokio::task::spawn_blocking(move || {
        let store: Arc<dyn Blockstore> = if only_hash {
            Arc::new(DiscardBlockstore)
        } else {
            // Writes overlap hashing; 16 blocks of 256 KiB bound the queue.
            Arc::new(WriteBehind::new(worker_state.repo.blocks_shared(), 16))
        };
        let mut lines = Vec::new();
        let mut noted = AddRecord::default();
        let mut on_added = |added: &Added| {
            noted.note(added);
            lines.push(AddedLine::new(added));
        };
        let mut on_progress = |_| {};
        let adder = Adder::new(store.as_ref(), &opts, &mut on_added, &mut on_progress);
        let mut tree = StreamedTree::new(adder);
        while let Some(incoming) = incoming.blocking_recv() {
            let Incoming::Part(part) = incoming else {
                return Err(ApiError::bad_request("the upload was malformed"));
            };
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
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
        let roots = tree
            .finish()
            .map_err(|e| ApiError::internal(e.to_string()))?;
        if !only_hash {
            store
                .sync()
                .map_err(|e| ApiError::internal(format!("storing the added blocks: {e}")))?;
            let core = Core {
                repo: &worker_state.repo,
                store: worker_state.store.as_ref(),
            };
            record(&core, &roots, &noted, request.pin)?;
            if let Some(net) = &worker_state.net {
                net.provide(noted.summaries.iter().map(|(cid, _)| *cid).collect());
            }
        }
        Ok(lines)
    });
    let fed = feed(&mut multipart, &parts).await;
    if fed.is_err() {
        let _ = parts.send(Incoming::Abort).await;
    }
    drop(parts);
    let imported = worker
        .await
        .map_err(|e| ApiError::internal(format!("request failed: {e}")))?;
    fed?;
    Ok(ndjson(&imported?))
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
