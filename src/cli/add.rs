//! `rsipfs add`: flags → import options (Kubo's rules), the progress bar, the
//! `added <cid> <path>` lines, and pinning the roots.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Arc;

use rsipfs::blockstore::{Blockstore, DiscardBlockstore, WriteBehind};
use rsipfs::commands::Core;
use rsipfs::commands::add::{AddRecord, AddRequest, AddedLine, record};
use rsipfs::repo::Repo;
use rsipfs::unixfs::adder::{AddOptions, Added, Adder, Metadata};
use rsipfs::unixfs::plan::{PlannedKind, plan};
use rsipfs::unixfs::streamed::add_paths;

use super::args::AddArgs;
use super::remote::{Api, Part, PartContent, for_each_line};
use super::{Ctx, Opened, finish, stdout};

/// Progress is shown for inputs at least this large.
const PROGRESS_MIN_BYTES: u64 = 16 << 20;

pub fn run(ctx: &Ctx, args: AddArgs) -> Result<()> {
    let request = request_of(&args);
    let opts = request.options()?;
    if args.only_hash {
        return add_locally(None, &args, &opts);
    }
    match ctx.open_repo_or_api()? {
        Opened::Repo(repo) => add_locally(Some(&repo), &args, &opts),
        Opened::Api(api) => add_through(&api, &args, &request, &opts),
    }
}

fn request_of(args: &AddArgs) -> AddRequest {
    AddRequest {
        cid_version: args.cid_version,
        hash: args.hash.clone(),
        chunker: args.chunker.clone(),
        raw_leaves: args.raw_leaves,
        trickle: args.trickle,
        inline: args.inline,
        inline_limit: args.inline_limit as u64,
        wrap: args.wrap,
        recursive: args.recursive,
        hidden: args.hidden,
        preserve_mode: args.preserve_mode,
        preserve_mtime: args.preserve_mtime,
        pin: args.pin,
    }
}

/// Prints what was added as the flags ask, above the progress bar.
struct Printer<'a> {
    args: &'a AddArgs,
    bar: Option<ProgressBar>,
    last: Option<String>,
}

impl Printer<'_> {
    fn added(&mut self, line: &AddedLine) {
        self.last = Some(line.hash.clone());
        if self.args.quieter || self.args.silent {
            return;
        }
        let text = if self.args.quiet {
            format!("{}\n", line.hash)
        } else {
            format!("added {} {}\n", line.hash, line.name)
        };
        match &self.bar {
            Some(bar) => bar.suspend(|| print!("{text}")),
            None => print!("{text}"),
        }
    }

    fn finish(self) -> Result<()> {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let mut out = stdout();
        if self.args.quieter
            && !self.args.silent
            && let Some(last) = &self.last
        {
            writeln!(out, "{last}")?;
        }
        finish(out)
    }
}

/// Imports into `repo` (or, with --only-hash, nowhere).
fn add_locally(repo: Option<&Repo>, args: &AddArgs, opts: &AddOptions) -> Result<()> {
    // Held from the first block written until the roots are pinned.
    let writing = repo.map(|repo| repo.gc_lock().pin_guard());
    if let Some(repo) = repo {
        // Fail before importing when the pins cannot be recorded.
        repo.datastore()?;
    }
    rsipfs::memory::keep_block_buffers(8 << 20);
    let store: Arc<dyn Blockstore> = match repo {
        // Writes overlap hashing; 16 blocks of 256 KiB bound the queue.
        Some(repo) => Arc::new(WriteBehind::new(repo.blocks_shared(), 16)),
        None => Arc::new(DiscardBlockstore),
    };
    let mut printer = Printer {
        args,
        bar: progress_bar(args),
        last: None,
    };
    let bar = printer.bar.clone();
    let mut noted = AddRecord::default();
    let mut on_added = |added: &Added| {
        noted.note(added);
        printer.added(&AddedLine::new(added));
    };
    let mut on_progress = |n: u64| {
        if let Some(bar) = &bar {
            bar.inc(n);
        }
    };
    let mut adder = Adder::new(store.as_ref(), opts, &mut on_added, &mut on_progress);
    let roots = if args.paths.is_empty() {
        let mut stdin = std::io::stdin().lock();
        vec![
            adder
                .add_reader(&mut stdin, args.stdin_name.as_deref())
                .context("adding standard input")?,
        ]
    } else {
        add_paths(adder, &args.paths)?
    };
    if let (Some(repo), Some(writing)) = (repo, &writing) {
        store.sync().context("making the added blocks durable")?;
        // No MFS tree runs in this process: nobody to tell what was written.
        record(&Core::local(repo), writing, &roots, &noted, args.pin)?;
    }
    printer.finish()
}

/// Sends the entries to the running daemon, which imports them as they
/// arrive; the progress bar follows the bytes sent.
fn add_through(api: &Api, args: &AddArgs, request: &AddRequest, opts: &AddOptions) -> Result<()> {
    // Each file is opened as its part is sent, not all at once: a tree of
    // 100 000 files would run out of descriptors.
    let parts: Box<dyn Iterator<Item = std::io::Result<Part>>> = if args.paths.is_empty() {
        let name = args.stdin_name.clone().unwrap_or_default();
        Box::new(std::iter::once(Ok(file_part(
            name,
            Box::new(std::io::stdin()),
            Metadata::default(),
        ))))
    } else {
        Box::new(plan(&args.paths, opts)?.into_iter().map(|entry| {
            let content = match entry.kind {
                PlannedKind::Directory => PartContent::Directory,
                PlannedKind::Symlink(target) => PartContent::Symlink(target),
                PlannedKind::File => {
                    let file = std::fs::File::open(&entry.source).map_err(|e| {
                        std::io::Error::new(e.kind(), format!("{}: {e}", entry.source.display()))
                    })?;
                    PartContent::File(Box::new(file))
                }
            };
            Ok(Part {
                path: entry.path,
                content,
                field: field_name(entry.meta),
            })
        }))
    };
    let printer = Printer {
        args,
        bar: progress_bar(args),
        last: None,
    };
    let counted = printer.bar.clone();
    let parts = parts.map(move |part| {
        let mut part = part?;
        if let Some(bar) = &counted {
            part.content = match part.content {
                PartContent::File(reader) => PartContent::File(Box::new(bar.wrap_read(reader))),
                other => other,
            };
        }
        Ok(part)
    });
    let mut query = request.to_query();
    query.push(("only-hash", "false".to_string()));
    let reply = api.call_with_parts("add", &query, Box::new(parts))?;
    let mut printer = printer;
    for_each_line(reply, |line: AddedLine| {
        printer.added(&line);
        Ok(())
    })?;
    printer.finish()
}

fn file_part(path: String, reader: Box<dyn std::io::Read>, meta: Metadata) -> Part {
    Part {
        path,
        content: PartContent::File(reader),
        field: field_name(meta),
    }
}

/// Kubo's encoding of UnixFS metadata in a part's field name.
fn field_name(meta: Metadata) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(mode) = meta.mode {
        query.append_pair("mode", &format!("{mode:04o}"));
    }
    if let Some(mtime) = meta.mtime {
        query.append_pair("mtime", &mtime.seconds.to_string());
        query.append_pair("mtime-nsecs", &mtime.nanos.to_string());
    }
    match query.finish() {
        q if q.is_empty() => "file".to_string(),
        q => format!("file?{q}"),
    }
}

fn progress_bar(args: &AddArgs) -> Option<ProgressBar> {
    let wanted = args
        .progress
        .unwrap_or_else(|| std::io::stderr().is_terminal());
    if !wanted || args.silent {
        return None;
    }
    let total = if args.paths.is_empty() {
        0
    } else {
        total_bytes(&args.paths)
    };
    if args.progress.is_none() && total < PROGRESS_MIN_BYTES {
        return None;
    }
    let bar = ProgressBar::new(total);
    let style =
        ProgressStyle::with_template("{bytes}/{total_bytes} [{bar:40}] {bytes_per_sec} {eta}")
            .expect("valid template")
            .progress_chars("=> ");
    bar.set_style(style);
    Some(bar)
}

fn total_bytes(paths: &[PathBuf]) -> u64 {
    fn walk(path: &Path) -> u64 {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return 0;
        };
        if meta.is_dir() {
            std::fs::read_dir(path)
                .map(|entries| entries.flatten().map(|e| walk(&e.path())).sum())
                .unwrap_or(0)
        } else if meta.is_file() {
            meta.len()
        } else {
            0
        }
    }
    paths.iter().map(|p| walk(p)).sum()
}
