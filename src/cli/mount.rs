//! `rsipfs mount` and `rsipfs daemon`: the network node, the API, and the
//! /ipfs, /ipns and /mfs mounts, served until SIGINT/SIGTERM.

use rsipfs::reprovide::{ReprovideConfig, Reprovider};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use rsipfs::api::{ApiServer, ApiState};
use rsipfs::blockstore::Blockstore;
use rsipfs::fs::cache::CachedBlockstore;
use rsipfs::fs::ipfs::IpfsFs;
use rsipfs::fs::mfs::{Caller, Invalidate, Invalidation, MfsFs, spawn_flusher};
use rsipfs::fs::summaries::SummaryStore;
use rsipfs::fuse::{MountOptions, mount_ipfs, mount_mfs, unmount};
use rsipfs::names::NameSystem;
use rsipfs::names::republish::{RepublishConfig, Republisher};
use rsipfs::net::{NetConfig, NetHandle, NetworkBlockstore, Node};
use rsipfs::repo::{PinKind, Repo};

use super::args::{DaemonArgs, MountArgs};
use super::ipns_mount::{IpnsMount, RepoNames};
use super::{Ctx, Opened};

/// Small blocks (directories, HAMT shards, internal file nodes) kept in
/// memory; file leaves are cached decoded by the filesystem itself.
const CACHED_BLOCKS: usize = 2048;
const CACHED_BLOCK_MAX: usize = 64 << 10;

pub fn run(ctx: &Ctx, args: MountArgs) -> Result<()> {
    // A daemon holding the repository is asked to mount instead.
    if let Opened::Api(api) = ctx.open_repo_or_api()? {
        let mut query = Vec::new();
        query.extend(args.ipfs.map(|p| ("ipfs-path", p.display().to_string())));
        query.extend(args.mfs.map(|p| ("mfs-path", p.display().to_string())));
        query.extend(args.ipns.map(|p| ("ipns-path", p.display().to_string())));
        if args.no_ipns {
            query.push(("no-ipns", "true".to_string()));
        }
        let reply = api.json("mount", &query)?;
        println!(
            "IPFS mounted at: {}",
            reply["IPFS"].as_str().unwrap_or_default()
        );
        if let Some(ipns) = reply["IPNS"].as_str() {
            println!("IPNS mounted at: {ipns}");
        }
        println!(
            "MFS mounted at: {}",
            reply["MFS"].as_str().unwrap_or_default()
        );
        return Ok(());
    }
    serve(ctx, args, true)
}

/// `rsipfs daemon`: the node and the API, and the mounts with `--mount`.
pub fn daemon(ctx: &Ctx, args: DaemonArgs) -> Result<()> {
    serve(ctx, args.common, args.mount)
}

/// How long a read through the mount waits for a block from the network.
const FETCH_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

fn serve(ctx: &Ctx, args: MountArgs, mounting: bool) -> Result<()> {
    // Block the signals before any thread starts, so every thread inherits
    // the mask and only the sigwait below receives them.
    let signals = termination_signals();
    let repo = Arc::new(ctx.open_repo()?);
    // One registry for the process, scraped through the API.
    let metrics = Arc::new(rsipfs::metrics::Metrics::new());
    let opts = MountOptions {
        allow_other: args.allow_other
            || repo.config_get("Mounts.FuseAllowOther")?.as_bool() == Some(true),
        metrics: Some(metrics.fuse.clone()),
        ..MountOptions::default()
    };
    watch_repo_usage(&repo, &metrics);
    let republishing = RepublishConfig::from_repo(&repo)?;
    let blocks: Arc<dyn Blockstore> = repo.blocks_shared();
    let node = if args.offline {
        None
    } else {
        Some(start_node(&repo, Arc::clone(&blocks))?)
    };
    if let Some(node) = &node {
        let handle = node.handle.clone();
        metrics.watch_network(Box::new(move || handle.bitswap_stats()));
    }
    let reproviding = ReprovideConfig::from_repo(&repo)?;
    let _reprovider = match &node {
        Some(_)
            if repo
                .config_get("Provide.Enabled")
                .ok()
                .and_then(|v| v.as_bool())
                == Some(false) =>
        {
            tracing::info!("Provide.Enabled is false: announcing nothing");
            None
        }
        Some(node) => Reprovider::start(Arc::clone(&repo), node.handle.clone(), reproviding)
            .context("starting the reprovider")?,
        None => None,
    };
    let local_or_net: Arc<dyn Blockstore> = match &node {
        Some(node) => Arc::new(NetworkBlockstore::new(
            blocks,
            node.handle.clone(),
            FETCH_DEADLINE,
        )),
        None => blocks,
    };
    let store: Arc<dyn Blockstore> = Arc::new(CachedBlockstore::new(
        local_or_net,
        CACHED_BLOCKS,
        CACHED_BLOCK_MAX,
    ));
    let mfs_dir = match (mounting, args.no_mfs, &args.mfs) {
        (false, _, _) | (true, true, _) => None,
        (true, false, Some(dir)) => Some(dir.clone()),
        (true, false, None) => Some(PathBuf::from(
            repo.config_get("Mounts.MFS")?.as_str().unwrap_or("/mfs"),
        )),
    };
    let mut mfs = MfsMount::open(&repo, Arc::clone(&store))?;
    let ipns_dir = match (mounting, args.no_ipns, &args.ipns) {
        (false, _, _) | (true, true, _) => None,
        (true, false, Some(dir)) => Some(dir.clone()),
        (true, false, None) => Some(PathBuf::from(
            repo.config_get("Mounts.IPNS")
                .ok()
                .as_ref()
                .and_then(|v| v.as_str())
                .unwrap_or("/ipns"),
        )),
    };
    let resolve_timeout = rsipfs::go_duration::parse(&args.dht_timeout)
        .with_context(|| format!("--dht-timeout {:?} is not a duration", args.dht_timeout))?;
    // While we hold the repository, other rsipfs commands come through the
    // API named in its `api` file.
    let net = node.as_ref().map(|n| n.handle.clone());
    // Online, names are resolved through and published to the DHT, and
    // ours are republished. One name system (one cache) for the gateway,
    // the API and the /ipns mount: a name published through the API is
    // seen by the mount at once.
    let routing = net
        .clone()
        .map(|net| Arc::new(net) as Arc<dyn rsipfs::names::ValueRouting>);
    let names = Arc::new(NameSystem::new(routing, Some(rsipfs::names::dns::system())));
    let _republisher = match &node {
        Some(_) => Some(
            Republisher::start(Arc::clone(&names), Arc::clone(&repo), republishing)
                .context("starting the IPNS republisher")?,
        ),
        None => None,
    };
    let requested: Arc<Mutex<Vec<(fuser::BackgroundSession, PathBuf)>>> = Arc::default();
    let requested_ipns: Arc<Mutex<Vec<IpnsMount>>> = Arc::default();
    let mounter: Arc<rsipfs::api::Mounter> = if mounting {
        Arc::new(|_| Err("already mounted by this daemon".to_string()))
    } else {
        let ipns = IpnsMounter {
            names: Arc::clone(&names),
            timeout: resolve_timeout,
            mounted: Arc::clone(&requested_ipns),
        };
        mounter(&repo, &store, &mfs.fs, &opts, Arc::clone(&requested), ipns)
    };
    let gateway = Endpoint::start_gateway(
        &repo,
        Arc::clone(&store),
        Arc::clone(&names),
        net.clone(),
        &metrics,
    )?;
    // The `api` file is written before the mounts answer, so a command run
    // as soon as the mount is visible already finds the API.
    let api = Endpoint::start_api(
        &repo,
        Arc::clone(&mfs.fs),
        Arc::clone(&store),
        net,
        Arc::clone(&names),
        mounter,
        metrics,
    )?;
    let mounted = mount_both(
        &repo,
        &store,
        &mut mfs,
        mounting,
        &args,
        mfs_dir.as_deref(),
        &opts,
    );
    let ipns = match (mounted, ipns_dir) {
        (Ok(ipfs), None) => Ok((ipfs, None)),
        (Ok(ipfs), Some(dir)) => {
            let service = RepoNames::new(
                Arc::clone(&repo),
                Arc::clone(&store),
                Arc::clone(&names),
                resolve_timeout,
            );
            match IpnsMount::mount(service, &dir, &opts) {
                Ok(ipns) => Ok((ipfs, Some(ipns))),
                Err(err) => {
                    if let Some((session, dir)) = ipfs {
                        unmount(session, &dir);
                    }
                    Err(err)
                }
            }
        }
        (Err(err), _) => Err(err),
    };
    let (ipfs, ipns) = match ipns {
        Ok(mounted) => mounted,
        Err(err) => {
            api.stop();
            gateway.stop();
            mfs.stop()?;
            return Err(err);
        }
    };
    if let Some(node) = &node {
        println!("PeerID: {}", node.handle.peer_id);
        for addr in node.handle.listen_addrs() {
            println!("Swarm listening on {addr}");
        }
    }
    println!("Daemon is ready");
    wait_for(&signals);
    api.stop();
    gateway.stop();
    let requested = std::mem::take(&mut *requested.lock().unwrap_or_else(|p| p.into_inner()));
    if let Err(err) = mfs.fs.sync(true) {
        eprintln!("saving the MFS root: {err}");
    }
    for (session, dir) in requested {
        eprintln!("unmounting {}", dir.display());
        unmount(session, &dir);
    }
    let requested_ipns =
        std::mem::take(&mut *requested_ipns.lock().unwrap_or_else(|p| p.into_inner()));
    requested_ipns.into_iter().for_each(IpnsMount::stop);
    mfs.stop()?;
    if let Some(ipns) = ipns {
        ipns.stop();
    }
    if let Some((session, dir)) = ipfs {
        eprintln!("unmounting {}", dir.display());
        unmount(session, &dir);
    }
    drop(node);
    Ok(())
}

/// Mounts /ipfs (when `mounting`) and /mfs (when it has a directory);
/// /ipfs is unmounted again if /mfs cannot be mounted.
fn mount_both(
    repo: &Arc<Repo>,
    store: &Arc<dyn Blockstore>,
    mfs: &mut MfsMount,
    mounting: bool,
    args: &MountArgs,
    mfs_dir: Option<&std::path::Path>,
    opts: &MountOptions,
) -> Result<Option<(fuser::BackgroundSession, PathBuf)>> {
    let ipfs = if mounting {
        let dir = match &args.ipfs {
            Some(dir) => dir.clone(),
            None => PathBuf::from(repo.config_get("Mounts.IPFS")?.as_str().unwrap_or("/ipfs")),
        };
        Some(mount_ipfs_tree(repo, Arc::clone(store), &dir, opts)?)
    } else {
        None
    };
    if let Some(dir) = mfs_dir
        && let Err(err) = mfs.mount(repo, dir, opts)
    {
        if let Some((session, dir)) = ipfs {
            unmount(session, &dir);
        }
        return Err(err);
    }
    Ok(ipfs)
}

/// What the daemon needs to mount /ipns when asked, and the /ipns mounts
/// it made (stopped at shutdown).
struct IpnsMounter {
    names: Arc<rsipfs::names::NameSystem>,
    timeout: std::time::Duration,
    mounted: Arc<Mutex<Vec<IpnsMount>>>,
}

/// Mounts /ipfs, /ipns and /mfs when a client asks the running daemon to;
/// the sessions are kept in `requested` (and `ipns`) and unmounted at
/// shutdown.
fn mounter(
    repo: &Arc<Repo>,
    store: &Arc<dyn Blockstore>,
    mfs: &Arc<MfsFs>,
    opts: &MountOptions,
    requested: Arc<Mutex<Vec<(fuser::BackgroundSession, PathBuf)>>>,
    ipns: IpnsMounter,
) -> Arc<rsipfs::api::Mounter> {
    let (repo, store, mfs, opts) = (
        Arc::clone(repo),
        Arc::clone(store),
        Arc::clone(mfs),
        opts.clone(),
    );
    Arc::new(move |asked: rsipfs::api::MountRequest| {
        let configured = |key: &str, default: &str| -> PathBuf {
            let value = repo.config_get(key).ok();
            PathBuf::from(value.as_ref().and_then(|v| v.as_str()).unwrap_or(default))
        };
        let ipfs = asked
            .ipfs
            .unwrap_or_else(|| configured("Mounts.IPFS", "/ipfs"));
        let mfs_dir = asked
            .mfs
            .unwrap_or_else(|| configured("Mounts.MFS", "/mfs"));
        let ipns_dir = (!asked.no_ipns).then(|| {
            asked
                .ipns
                .unwrap_or_else(|| configured("Mounts.IPNS", "/ipns"))
        });
        let mut mounted = requested
            .lock()
            .map_err(|_| "mount table poisoned".to_string())?;
        let mut ipns_mounted = ipns
            .mounted
            .lock()
            .map_err(|_| "mount table poisoned".to_string())?;
        let taken = |dir: &PathBuf| {
            mounted.iter().any(|(_, d)| d == dir) || ipns_mounted.iter().any(|m| m.dir() == dir)
        };
        if taken(&ipfs) || taken(&mfs_dir) || ipns_dir.as_ref().is_some_and(taken) {
            return Err("already mounted".to_string());
        }
        if let Some(dir) = &ipns_dir {
            let service = RepoNames::new(
                Arc::clone(&repo),
                Arc::clone(&store),
                Arc::clone(&ipns.names),
                ipns.timeout,
            );
            ipns_mounted.push(IpnsMount::mount(service, dir, &opts).map_err(|e| format!("{e:#}"))?);
        }
        let ipfs_session = mount_ipfs_tree(&repo, Arc::clone(&store), &ipfs, &opts)
            .map_err(|e| format!("{e:#}"))?;
        mounted.push(ipfs_session);
        let mfs_session =
            mount_mfs_tree(&mfs, &repo, &mfs_dir, &opts).map_err(|e| format!("{e:#}"))?;
        mounted.push((mfs_session, mfs_dir.clone()));
        Ok(rsipfs::api::Mounted {
            ipfs: ipfs.display().to_string(),
            ipns: ipns_dir.map(|dir| dir.display().to_string()),
            mfs: mfs_dir.display().to_string(),
        })
    })
}

/// The repository's block count and size for the metrics: counted once on
/// a thread of its own, then kept up to date as blocks come and go.
fn watch_repo_usage(repo: &Repo, metrics: &rsipfs::metrics::Metrics) {
    let blocks = repo.blocks_shared();
    let counting = Arc::clone(&blocks);
    let spawned = std::thread::Builder::new()
        .name("repo-usage".into())
        .spawn(move || {
            if let Err(err) = counting.count_usage() {
                tracing::warn!("counting the repository's blocks: {err}");
            }
        });
    if let Err(err) = spawned {
        tracing::warn!("not counting the repository's blocks: {err}");
    }
    metrics.watch_repo(Box::new(move || blocks.counted_usage()));
}

/// The libp2p node, with the repository's identity and swarm addresses.
fn start_node(repo: &Arc<Repo>, blocks: Arc<dyn Blockstore>) -> Result<Node> {
    let config = repo.config_get("")?;
    let net = NetConfig {
        keypair: repo.keypair()?,
        listen: usable(
            "Addresses.Swarm",
            parse("Addresses.Swarm", strings(&config, "/Addresses/Swarm"))?,
        ),
        bootstrap: usable("Bootstrap", parse("Bootstrap", bootstrap_entries(&config))?),
        dns: rsipfs::names::dns::system(),
        watermarks: super::net_config::watermarks(&config)?,
        peering: super::net_config::peering(&config)?,
        limits: super::net_config::resource_limits(&config)?,
        announce: super::net_config::announce(&config)?,
        routing: super::net_config::routing(&config)?,
        providers: Arc::clone(repo) as Arc<dyn rsipfs::net::providers::ProviderBook>,
        reach: super::net_config::reach(&config)?,
    };
    rsipfs::net::start(net, blocks).context("starting the network node")
}

/// The strings of the config list at `pointer`; missing is empty.
fn strings(config: &serde_json::Value, pointer: &str) -> Vec<String> {
    config
        .pointer(pointer)
        .and_then(|v| v.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn parse(key: &str, entries: Vec<String>) -> Result<Vec<libp2p::Multiaddr>> {
    entries
        .iter()
        .map(|a| {
            a.parse()
                .with_context(|| format!("{key}: bad address {a:?}"))
        })
        .collect()
}

/// `Bootstrap`, with Kubo's `auto` read as the default list (what Kubo
/// falls back to without an AutoConf answer), unless AutoConf is off.
fn bootstrap_entries(config: &serde_json::Value) -> Vec<String> {
    let auto_on = config
        .pointer("/AutoConf/Enabled")
        .and_then(|v| v.as_bool())
        != Some(false);
    let mut entries = Vec::new();
    for entry in strings(config, "/Bootstrap") {
        if entry != rsipfs::commands::bootstrap::AUTO {
            entries.push(entry);
        } else if auto_on {
            entries.extend(rsipfs::repo::DEFAULT_BOOTSTRAP.map(String::from));
        }
    }
    entries
}

/// The addresses of config list `key` this node can use; the others are
/// skipped with one log line per reason.
fn usable(key: &str, addrs: Vec<libp2p::Multiaddr>) -> Vec<libp2p::Multiaddr> {
    let mut skipped: Vec<(&str, Vec<String>)> = Vec::new();
    let mut kept = Vec::new();
    for addr in addrs {
        match unsupported(&addr) {
            None => kept.push(addr),
            Some(why) => match skipped.iter_mut().find(|(w, _)| *w == why) {
                Some((_, list)) => list.push(addr.to_string()),
                None => skipped.push((why, vec![addr.to_string()])),
            },
        }
    }
    for (why, list) in skipped {
        tracing::warn!("{key}: skipping {} ({why}): {}", list.len(), list.join(" "));
    }
    kept
}

/// Why the node cannot use `addr`, if it cannot: it speaks TCP and QUIC-v1
/// over IP addresses or DNS names (resolved when dialled).
fn unsupported(addr: &libp2p::Multiaddr) -> Option<&'static str> {
    use libp2p::multiaddr::Protocol;
    let mut parts = addr.iter();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Protocol::Dnsaddr(_)), _, _) => None,
        (
            Some(
                Protocol::Ip4(_)
                | Protocol::Ip6(_)
                | Protocol::Dns(_)
                | Protocol::Dns4(_)
                | Protocol::Dns6(_),
            ),
            transport,
            quic,
        ) => match (transport, quic) {
            (Some(Protocol::Tcp(_)), _) => None,
            (Some(Protocol::Udp(_)), Some(Protocol::QuicV1)) => None,
            (Some(Protocol::Udp(_)), _) => Some("only QUIC-v1 is spoken over UDP"),
            _ => Some("no transport for it"),
        },
        _ => Some("no transport for it"),
    }
}

fn mount_ipfs_tree(
    repo: &Arc<Repo>,
    store: Arc<dyn Blockstore>,
    dir: &std::path::Path,
    opts: &MountOptions,
) -> Result<(fuser::BackgroundSession, PathBuf)> {
    let pins_repo = Arc::clone(repo);
    let list_roots = Box::new(move || {
        pins_repo
            .datastore()
            .and_then(|ds| ds.pins())
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
    let session = mount_ipfs(fs, dir, opts)
        .with_context(|| format!("mounting /ipfs at {}", dir.display()))?;
    println!("IPFS mounted at: {}", dir.display());
    Ok((session, dir.to_path_buf()))
}

/// How often changes under /mfs are written out as a new MFS root.
const MFS_FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The MFS tree this process serves (to the API, and mounted if asked).
struct MfsMount {
    fs: Arc<MfsFs>,
    mounted: Option<(fuser::BackgroundSession, PathBuf)>,
    flusher: std::thread::JoinHandle<()>,
    stop_flusher: Arc<std::sync::atomic::AtomicBool>,
}

/// Tells the kernel behind `session` to drop what a writable tree changed.
pub(super) fn kernel_invalidator(session: &fuser::BackgroundSession) -> Invalidate {
    let notifier = session.notifier();
    Box::new(move |change| {
        // The kernel may not know the inode or name: nothing to drop then.
        let _ = match change {
            Invalidation::Inode(ino) => notifier.inval_inode(fuser::INodeNo(*ino), 0, 0),
            Invalidation::Entry(parent, name) => {
                notifier.inval_entry(fuser::INodeNo(*parent), std::ffi::OsStr::new(name))
            }
        };
    })
}

fn mount_mfs_tree(
    fs: &Arc<MfsFs>,
    repo: &Repo,
    dir: &std::path::Path,
    opts: &MountOptions,
) -> Result<fuser::BackgroundSession> {
    let session = mount_mfs(Arc::clone(fs), dir, repo.path(), opts)
        .with_context(|| format!("mounting MFS at {}", dir.display()))?;
    fs.set_invalidate(kernel_invalidator(&session));
    println!("MFS mounted at: {}", dir.display());
    Ok(session)
}

impl MfsMount {
    /// Opens the MFS tree and starts its flusher; nothing is mounted yet.
    fn open(repo: &Arc<Repo>, store: Arc<dyn Blockstore>) -> Result<Self> {
        let fs = rsipfs::commands::files::open_tree(repo, store, process_owner())?;
        let stop_flusher = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flusher = spawn_flusher(Arc::clone(&fs), MFS_FLUSH_EVERY, Arc::clone(&stop_flusher));
        Ok(MfsMount {
            fs,
            mounted: None,
            flusher,
            stop_flusher,
        })
    }

    fn mount(&mut self, repo: &Repo, dir: &std::path::Path, opts: &MountOptions) -> Result<()> {
        let session = mount_mfs_tree(&self.fs, repo, dir, opts)?;
        self.mounted = Some((session, dir.to_path_buf()));
        Ok(())
    }

    /// Writes out the tree, unmounts, then writes out whatever came last.
    fn stop(self) -> Result<()> {
        if let Err(err) = self.fs.sync(true) {
            eprintln!("saving the MFS root: {err}");
        }
        if let Some((session, dir)) = self.mounted {
            eprintln!("unmounting {}", dir.display());
            unmount(session, &dir);
        }
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

/// Who owns what the DAG gives no owner: the user running rsipfs.
pub fn process_owner() -> Caller {
    // SAFETY: getuid/getgid cannot fail.
    unsafe {
        Caller {
            uid: libc::getuid(),
            gid: libc::getgid(),
        }
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

/// A running server and the file in the repository that tells clients
/// where it is: `api` (a multiaddr) or `gateway` (a URL), as Kubo writes them.
struct Endpoint {
    /// Dropping it stops the server.
    _server: ApiServer,
    file: PathBuf,
}

impl Endpoint {
    fn publish(server: ApiServer, repo: &Repo, name: &str, address: &str) -> Result<Self> {
        let file = repo.path().join(name);
        // Written aside and renamed: a reader never sees it empty or half written.
        let partial = repo.path().join(format!(".{name}.partial"));
        let written =
            std::fs::write(&partial, address).and_then(|()| std::fs::rename(&partial, &file));
        if let Err(err) = written {
            let _ = std::fs::remove_file(&partial);
            server.stop();
            return Err(err).with_context(|| format!("writing {}", file.display()));
        }
        Ok(Endpoint {
            _server: server,
            file,
        })
    }

    /// Stops the server; the file goes first (see `Drop`).
    fn stop(self) {
        drop(self);
    }

    /// The API server at `Addresses.API`.
    fn start_api(
        repo: &Arc<Repo>,
        mfs: Arc<MfsFs>,
        store: Arc<dyn Blockstore>,
        net: Option<NetHandle>,
        names: Arc<NameSystem>,
        mounter: Arc<rsipfs::api::Mounter>,
        metrics: Arc<rsipfs::metrics::Metrics>,
    ) -> Result<Self> {
        let configured = repo.config_get("Addresses.API")?;
        let multiaddr = configured.as_str().unwrap_or("/ip4/127.0.0.1/tcp/5001");
        let addr =
            tcp_socket_addr(multiaddr).with_context(|| format!("Addresses.API {multiaddr:?}"))?;
        let state = ApiState {
            repo: Arc::clone(repo),
            mfs,
            store,
            names,
            net,
            mounter: Some(mounter),
            cors: Arc::new(rsipfs::api::cors::Cors::from_config(
                &repo.config_get("API.HTTPHeaders").unwrap_or_default(),
            )),
            metrics: Some(metrics),
        };
        let limits = http_limits(repo, "API")?;
        let server = rsipfs::api::start(addr, state, limits)
            .with_context(|| format!("serving the API on {addr}"))?;
        println!("RPC API server listening on {}", server.multiaddr());
        let multiaddr = server.multiaddr();
        Endpoint::publish(server, repo, "api", &multiaddr)
    }

    /// The read-only HTTP gateway at `Addresses.Gateway`.
    fn start_gateway(
        repo: &Arc<Repo>,
        store: Arc<dyn Blockstore>,
        names: Arc<rsipfs::names::NameSystem>,
        net: Option<NetHandle>,
        metrics: &rsipfs::metrics::Metrics,
    ) -> Result<Self> {
        let configured = repo.config_get("Addresses.Gateway")?;
        let multiaddr = configured.as_str().unwrap_or("/ip4/127.0.0.1/tcp/8080");
        let addr = tcp_socket_addr(multiaddr)
            .with_context(|| format!("Addresses.Gateway {multiaddr:?}"))?;
        let limits = http_limits(repo, "Gateway")?;
        let sources = rsipfs::gateway::Sources {
            repo: Arc::clone(repo),
            store,
            names,
        };
        let gateway_section = repo.config_get("Gateway").unwrap_or_default();
        let hosts = rsipfs::gateway::Hosts::from_config(&gateway_section)
            .map_err(|err| anyhow::anyhow!("config Gateway.{err}"))?;
        // Kubo serves /routing/v1 unless Gateway.ExposeRoutingAPI is false.
        let routing_api = gateway_section
            .get("ExposeRoutingAPI")
            .and_then(|v| v.as_bool())
            != Some(false);
        // As Kubo ≥ 0.40: no codec conversions unless asked (IPIP-524).
        let codec_conversion = gateway_section
            .get("AllowCodecConversion")
            .and_then(|v| v.as_bool())
            == Some(true);
        let extras = rsipfs::gateway::Extras {
            routing_api,
            net,
            metrics: Some(metrics.gateway.clone()),
            codec_conversion,
        };
        let server = rsipfs::gateway::start_with(addr, sources, hosts, limits, extras)
            .with_context(|| format!("serving the gateway on {addr}"))?;
        println!("Gateway server listening on {}", server.multiaddr());
        let url = format!("http://{}", server.addr);
        Endpoint::publish(server, repo, "gateway", &url)
    }
}

/// The file goes before the server, so no client is sent to a server going
/// away, and it goes on every way out, errors included.
impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.file);
    }
}

/// A server's limits from its config section (`API`, `Gateway`).
fn http_limits(repo: &Repo, section: &str) -> Result<rsipfs::api::Limits> {
    let config = repo.config_get(section).unwrap_or_default();
    rsipfs::api::Limits::from_config(&config)
        .map_err(|err| anyhow::anyhow!("config {section}.{err}"))
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
