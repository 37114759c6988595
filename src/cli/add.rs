//! `rsipfs add`: flags → import options (Kubo's rules), the progress bar, the
//! `added <cid> <path>` lines, and pinning the roots.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Arc;

use rsipfs::blockstore::{Blockstore, DiscardBlockstore, WriteBehind};
use rsipfs::codec::cid::{CidBuilder, HashFn, Version};
use rsipfs::codec::cid_string;
use rsipfs::fs::summaries::SummaryStore;
use rsipfs::repo::PinKind;
use rsipfs::unixfs::adder::{AddOptions, Added, Adder};
use rsipfs::unixfs::chunker::ChunkerSpec;
use rsipfs::unixfs::dir::DirOptions;
use rsipfs::unixfs::file::{FileOptions, Layout};

use super::args::AddArgs;
use super::{Ctx, finish, stdout};

/// Progress is shown for inputs at least this large.
const PROGRESS_MIN_BYTES: u64 = 16 << 20;

pub fn run(ctx: &Ctx, args: AddArgs) -> Result<()> {
    let opts = options(&args)?;
    let repo = if args.only_hash {
        None
    } else {
        Some(ctx.open_repo()?)
    };
    let store: Arc<dyn Blockstore> = match &repo {
        // Writes overlap hashing; 16 blocks of 256 KiB bound the queue.
        Some(repo) => Arc::new(WriteBehind::new(repo.blocks_shared(), 16)),
        None => Arc::new(DiscardBlockstore),
    };

    let started = std::time::Instant::now();
    let bar = progress_bar(&args);
    let mut out = stdout();
    let quiet_mode = args.quieter || args.silent;
    let mut summaries = Vec::new();
    let mut listings = Vec::new();
    let mut on_added = |added: &Added| {
        summaries.push((added.cid, added.summary));
        if let Some(listing) = &added.listing {
            listings.push((added.cid, listing.clone()));
        }
        if quiet_mode {
            return;
        }
        let line = if args.quiet {
            format!("{}\n", cid_string(&added.cid))
        } else {
            format!("added {} {}\n", cid_string(&added.cid), added.path)
        };
        match &bar {
            Some(bar) => bar.suspend(|| print!("{line}")),
            None => {
                let _ = out.write_all(line.as_bytes());
            }
        }
    };
    let mut on_progress = |n: u64| {
        if let Some(bar) = &bar {
            bar.inc(n);
        }
    };
    let mut adder = Adder::new(store.as_ref(), &opts, &mut on_added, &mut on_progress);
    let roots = if args.paths.is_empty() {
        let mut stdin = std::io::stdin().lock();
        vec![
            adder
                .add_reader(&mut stdin, args.stdin_name.as_deref())
                .context("adding standard input")?,
        ]
    } else {
        adder.add_paths(&args.paths)?
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }

    if let Some(repo) = &repo {
        tracing::debug!("imported in {:?}", started.elapsed());
        store.sync().context("making the added blocks durable")?;
        tracing::debug!("durable after {:?}", started.elapsed());
        if args.pin {
            for root in &roots {
                repo.datastore()
                    .set_pin(&root.cid, PinKind::Recursive)
                    .context("pinning")?;
            }
        }
        // Lets the mount list what was just added without reading it back.
        repo.save(&summaries);
        for (dir, entries) in &listings {
            repo.save_listing(dir, entries);
        }
    }
    if args.quieter
        && !args.silent
        && let Some(last) = roots.last()
    {
        writeln!(out, "{}", cid_string(&last.cid))?;
    }
    finish(out)
}

fn options(args: &AddArgs) -> Result<AddOptions> {
    let hash = HashFn::parse(&args.hash)?;
    let version = match (args.cid_version, hash) {
        (Some(0), HashFn::Sha2_256) | (None, HashFn::Sha2_256) => Version::V0,
        (Some(0), _) => bail!(
            "CIDv0 only supports sha2-256; use --cid-version 1 with --hash {}",
            args.hash
        ),
        (Some(1), _) | (None, _) => Version::V1,
        (Some(v), _) => bail!("unknown CID version {v}"),
    };
    let metadata = args.preserve_mode || args.preserve_mtime;
    let raw_leaves = match args.raw_leaves {
        Some(true) if metadata => {
            bail!("--raw-leaves cannot be combined with --preserve-mode/--preserve-mtime")
        }
        Some(explicit) => explicit,
        None => version == Version::V1 && !metadata,
    };
    if args.inline && args.inline_limit > 128 {
        bail!(
            "--inline-limit {} is over the maximum of 128",
            args.inline_limit
        );
    }
    let cid = CidBuilder {
        version,
        hash,
        inline_limit: args.inline.then_some(args.inline_limit),
    };
    let chunker = ChunkerSpec::parse(&args.chunker)?;
    let mut file = FileOptions::kubo_defaults();
    file.cid = cid;
    file.raw_leaves = raw_leaves;
    file.chunker = chunker;
    file.layout = if args.trickle {
        Layout::Trickle
    } else {
        Layout::Balanced
    };
    let dir = DirOptions {
        cid,
        ..DirOptions::default()
    };
    Ok(AddOptions {
        file,
        dir,
        recursive: args.recursive,
        hidden: args.hidden,
        wrap: args.wrap,
        preserve_mode: args.preserve_mode,
        preserve_mtime: args.preserve_mtime,
    })
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
