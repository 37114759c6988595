//! `rsipfs mount`: serve /ipfs from the repository until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use rsipfs::blockstore::Blockstore;
use rsipfs::fs::cache::CachedBlockstore;
use rsipfs::fs::ipfs::IpfsFs;
use rsipfs::fs::summaries::SummaryStore;
use rsipfs::fuse::{MountOptions, mount_ipfs};
use rsipfs::repo::PinKind;

use super::Ctx;
use super::args::MountArgs;

/// Small blocks (directories, HAMT shards, internal file nodes) kept in
/// memory; file leaves are cached decoded by the filesystem itself.
const CACHED_BLOCKS: usize = 2048;
const CACHED_BLOCK_MAX: usize = 64 << 10;

pub fn run(ctx: &Ctx, args: MountArgs) -> Result<()> {
    // Block the signals before any thread starts, so every thread inherits
    // the mask and only the sigwait below receives them.
    let signals = termination_signals();
    let repo = Arc::new(ctx.open_repo()?);
    let ipfs_dir = match args.ipfs {
        Some(dir) => dir,
        None => PathBuf::from(repo.config_get("Mounts.IPFS")?.as_str().unwrap_or("/ipfs")),
    };
    let blocks: Arc<dyn Blockstore> = repo.blocks_shared();
    let store: Arc<dyn Blockstore> = Arc::new(CachedBlockstore::new(
        blocks,
        CACHED_BLOCKS,
        CACHED_BLOCK_MAX,
    ));
    let pins_repo = Arc::clone(&repo);
    let list_roots = Box::new(move || {
        pins_repo
            .datastore()
            .pins()
            .map(|pins| {
                pins.into_iter()
                    .filter(|(_, kind)| *kind == PinKind::Recursive)
                    .map(|(cid, _)| cid)
                    .collect()
            })
            .unwrap_or_default()
    });
    let summaries: Arc<dyn SummaryStore> = repo.clone();
    let fs = Arc::new(IpfsFs::new(store, list_roots).with_summaries(summaries));
    let session = mount_ipfs(fs, &ipfs_dir, &MountOptions::default())
        .with_context(|| format!("mounting /ipfs at {}", ipfs_dir.display()))?;
    println!("IPFS mounted at: {}", ipfs_dir.display());
    wait_for(&signals);
    eprintln!("unmounting {}", ipfs_dir.display());
    session.umount_and_join().context("unmounting")?;
    Ok(())
}

fn termination_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; the libc calls only write into it and
    // change this thread's signal mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

fn wait_for(set: &libc::sigset_t) {
    let mut signal = 0;
    // SAFETY: `set` is a valid, initialised signal set.
    unsafe { libc::sigwait(set, &mut signal) };
}
