//! `rsipfs mount`: serve /ipfs from the repository until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use rsipfs::api::{ApiServer, ApiState};
use rsipfs::blockstore::Blockstore;
use rsipfs::codec::cid::Cid;
use rsipfs::fs::cache::CachedBlockstore;
use rsipfs::fs::ipfs::IpfsFs;
use rsipfs::fs::mfs::{Caller, Invalidation, MfsFs, spawn_flusher};
use rsipfs::fs::summaries::SummaryStore;
use rsipfs::fuse::{MountOptions, mount_ipfs, mount_mfs, unmount};
use rsipfs::repo::{PinKind, Repo};
use rsipfs::unixfs::dir::{DirOptions, build_directory};

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
    let mfs_dir = match (args.no_mfs, args.mfs) {
        (true, _) => None,
        (false, Some(dir)) => Some(dir),
        (false, None) => Some(PathBuf::from(
            repo.config_get("Mounts.MFS")?.as_str().unwrap_or("/mfs"),
        )),
    };
    let opts = MountOptions {
        allow_other: args.allow_other
            || repo.config_get("Mounts.FuseAllowOther")?.as_bool() == Some(true),
        ..MountOptions::default()
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
    let fs = Arc::new(IpfsFs::new(Arc::clone(&store), list_roots).with_summaries(summaries));
    let session = mount_ipfs(fs, &ipfs_dir, &opts)
        .with_context(|| format!("mounting /ipfs at {}", ipfs_dir.display()))?;
    println!("IPFS mounted at: {}", ipfs_dir.display());
    let mfs = match &mfs_dir {
        Some(dir) => Some(MfsMount::start(&repo, Arc::clone(&store), dir, &opts)?),
        None => None,
    };
    // While we hold the repository, other rsipfs commands come through the
    // API named in its `api` file.
    let api = match &mfs {
        Some(mfs) => Some(ApiEndpoint::start(&repo, Arc::clone(&mfs.fs), store)?),
        None => None,
    };
    wait_for(&signals);
    if let Some(api) = api {
        api.stop();
    }
    if let Some(mfs) = mfs {
        mfs.stop()?;
    }
    eprintln!("unmounting {}", ipfs_dir.display());
    unmount(session, &ipfs_dir);
    Ok(())
}

/// How often changes under /mfs are written out as a new MFS root.
const MFS_FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

struct MfsMount {
    fs: Arc<MfsFs>,
    dir: PathBuf,
    session: fuser::BackgroundSession,
    flusher: std::thread::JoinHandle<()>,
    stop_flusher: Arc<std::sync::atomic::AtomicBool>,
}

impl MfsMount {
    fn start(
        repo: &Arc<Repo>,
        store: Arc<dyn Blockstore>,
        dir: &std::path::Path,
        opts: &MountOptions,
    ) -> Result<Self> {
        let root = match repo.mfs_root()? {
            Some(root) => root,
            None => {
                let empty = build_directory(store.as_ref(), Vec::new(), &DirOptions::default())?;
                store.sync()?;
                repo.set_mfs_root(&empty.cid)?;
                empty.cid
            }
        };
        let saver = Arc::clone(repo);
        let persist = Box::new(move |root: &Cid, head: &Cid| {
            saver.set_mfs_state(root, head).map_err(|e| e.to_string())
        });
        // SAFETY: getuid/getgid cannot fail.
        let owner = unsafe {
            Caller {
                uid: libc::getuid(),
                gid: libc::getgid(),
            }
        };
        let fs = MfsFs::new(store, root, repo.mfs_history()?, owner, persist)
            .map_err(|e| anyhow::anyhow!("opening the MFS root {root}: {e}"))?
            .with_attrs(repo.clone());
        let fs = Arc::new(fs);
        let session = mount_mfs(Arc::clone(&fs), dir, repo.path(), opts)
            .with_context(|| format!("mounting MFS at {}", dir.display()))?;
        let notifier = session.notifier();
        fs.set_invalidate(Box::new(move |change| {
            // The kernel may not know the inode or name: nothing to drop then.
            let _ = match change {
                Invalidation::Inode(ino) => notifier.inval_inode(fuser::INodeNo(*ino), 0, 0),
                Invalidation::Entry(parent, name) => {
                    notifier.inval_entry(fuser::INodeNo(*parent), std::ffi::OsStr::new(name))
                }
            };
        }));
        println!("MFS mounted at: {}", dir.display());
        let stop_flusher = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flusher = spawn_flusher(Arc::clone(&fs), MFS_FLUSH_EVERY, Arc::clone(&stop_flusher));
        Ok(MfsMount {
            fs,
            dir: dir.to_path_buf(),
            session,
            flusher,
            stop_flusher,
        })
    }

    /// Writes out the tree, unmounts, then writes out whatever came last.
    fn stop(self) -> Result<()> {
        if let Err(err) = self.fs.sync(true) {
            eprintln!("saving the MFS root: {err}");
        }
        eprintln!("unmounting {}", self.dir.display());
        unmount(self.session, &self.dir);
        self.stop_flusher
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.flusher.thread().unpark();
        let _ = self.flusher.join();
        self.fs
            .sync(true)
            .map_err(|e| anyhow::anyhow!("saving the MFS root: {e}"))?;
        self.fs.seal_history();
        Ok(())
    }
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

/// The API server and the repository's `api` file naming it.
struct ApiEndpoint {
    server: ApiServer,
    file: PathBuf,
}

impl ApiEndpoint {
    fn start(repo: &Repo, mfs: Arc<MfsFs>, store: Arc<dyn Blockstore>) -> Result<Self> {
        let configured = repo.config_get("Addresses.API")?;
        let multiaddr = configured.as_str().unwrap_or("/ip4/127.0.0.1/tcp/5001");
        let addr =
            tcp_socket_addr(multiaddr).with_context(|| format!("Addresses.API {multiaddr:?}"))?;
        let server = rsipfs::api::start(addr, ApiState { mfs, store })
            .with_context(|| format!("serving the API on {addr}"))?;
        let file = repo.path().join("api");
        std::fs::write(&file, server.multiaddr())
            .with_context(|| format!("writing {}", file.display()))?;
        println!("RPC API server listening on {}", server.multiaddr());
        Ok(ApiEndpoint { server, file })
    }

    /// Removes `api` first, so no client is sent to a server going away.
    fn stop(self) {
        let _ = std::fs::remove_file(&self.file);
        self.server.stop();
    }
}

/// `/ip4/127.0.0.1/tcp/5001` (or /ip6) as a socket address.
fn tcp_socket_addr(multiaddr: &str) -> Result<std::net::SocketAddr> {
    let parts: Vec<&str> = multiaddr.split('/').collect();
    match parts.as_slice() {
        ["", "ip4" | "ip6", ip, "tcp", port] => Ok(std::net::SocketAddr::new(
            ip.parse().context("bad IP address")?,
            port.parse().context("bad port")?,
        )),
        _ => anyhow::bail!("expected /ip4/<address>/tcp/<port>"),
    }
}
