//! The command line, as clap definitions. Names and flags follow Kubo's `ipfs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "rsipfs",
    version,
    about = "IPFS in Rust, with a FUSE filesystem at its heart"
)]
pub struct Cli {
    /// Repository path (default: $IPFS_PATH or ~/.ipfs).
    #[arg(long, global = true, value_name = "DIR")]
    pub repo_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new repository.
    Init(InitArgs),
    /// Add files or directories to IPFS.
    Add(AddArgs),
    /// Show the bytes of an IPFS file.
    Cat(CatArgs),
    /// Download a file or directory to the local filesystem.
    Get(GetArgs),
    /// List the links of a directory.
    Ls(LsArgs),
    /// List the links (CIDs) below an object.
    Refs(RefsArgs),
    /// Work with raw blocks.
    #[command(subcommand)]
    Block(BlockCmd),
    /// Work with IPLD DAGs (CAR import/export).
    #[command(subcommand)]
    Dag(DagCmd),
    /// Work with DAG-PB objects.
    #[command(subcommand)]
    Object(ObjectCmd),
    /// Pin objects so `repo gc` keeps them.
    #[command(subcommand)]
    Pin(PinCmd),
    /// Manage the repository.
    #[command(subcommand)]
    Repo(RepoCmd),
    /// Get or set a configuration value.
    Config(ConfigArgs),
    /// Show the rsipfs version.
    Version,
    /// Mount /ipfs (read-only) and /mfs (writable); serve until SIGINT/SIGTERM.
    Mount(MountArgs),
    /// Run the node and the API (and with --mount, the mounts) until
    /// SIGINT/SIGTERM.
    Daemon(DaemonArgs),
    /// Show the node's identity (JSON, as Kubo's), or with a peer ID what
    /// that connected peer told us about itself.
    Id { peer: Option<String> },
    /// Connections to other nodes (needs a running daemon or mount).
    #[command(subcommand)]
    Swarm(SwarmCmd),
    /// Statistics of the running node.
    #[command(subcommand)]
    Stats(StatsCmd),
    /// Ask the DHTs directly (needs a running daemon).
    #[command(subcommand)]
    Routing(RoutingCmd),
    /// Work with the mutable file system (MFS).
    #[command(subcommand)]
    Files(FilesCmd),
    /// Work with IPNS names and records.
    #[command(subcommand)]
    Name(NameCmd),
    /// Manage the keys IPNS names are made from.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Show or edit the list of bootstrap peers (read when the node starts).
    Bootstrap(BootstrapArgs),
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Apply Kubo's configuration profiles, comma-separated (e.g. `test`,
    /// `server`, `lowpower`; `config profile --help` lists them).
    #[arg(short, long, value_name = "PROFILES")]
    pub profile: Option<String>,
}

#[derive(Args, Debug)]
pub struct BootstrapArgs {
    /// `list` when none is given.
    #[command(subcommand)]
    pub cmd: Option<BootstrapCmd>,
}

#[derive(Subcommand, Debug)]
pub enum BootstrapCmd {
    /// Show the peers in the bootstrap list.
    List,
    /// Add peers (`<multiaddr>/p2p/<peer>`; `default` adds the default list).
    Add {
        peers: Vec<String>,
        /// Add the default bootstrap peers.
        #[arg(long)]
        default: bool,
    },
    /// Remove peers (`/p2p/<peer>` removes every address of that peer).
    Rm {
        peers: Vec<String>,
        /// Remove every peer (as `rm all`).
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Make a new key and print its IPNS name.
    Gen {
        name: String,
        /// ed25519 or rsa.
        #[arg(short = 't', long = "type", default_value = "ed25519")]
        kind: String,
        /// Bits of an RSA key (2048 to 4096; default 2048).
        #[arg(short, long)]
        size: Option<usize>,
        /// How to write the name: base36 (k51…), base32 or b58mh (peer ID).
        #[arg(long, default_value = "base36")]
        ipns_base: String,
    },
    /// List the keys (with -l, their IPNS names too).
    #[command(alias = "ls")]
    List {
        #[arg(short = 'l')]
        long: bool,
        #[arg(long, default_value = "base36")]
        ipns_base: String,
    },
    /// Remove keys.
    Rm {
        #[arg(required = true)]
        names: Vec<String>,
        #[arg(short = 'l')]
        long: bool,
        #[arg(long, default_value = "base36")]
        ipns_base: String,
    },
    /// Rename a key.
    Rename {
        old: String,
        new: String,
        /// Replace a key already named NEW.
        #[arg(short, long)]
        force: bool,
        #[arg(long, default_value = "base36")]
        ipns_base: String,
    },
    /// Write a key to a file (as Kubo's `key export`).
    Export {
        name: String,
        /// Where to write it (default: NAME.key, or NAME.pem).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// libp2p-protobuf-cleartext or pem-pkcs8-cleartext.
        #[arg(short, long, default_value = "libp2p-protobuf-cleartext")]
        format: String,
    },
    /// Store a key from a file (as `key export` writes it) under a name.
    Import {
        name: String,
        file: PathBuf,
        /// libp2p-protobuf-cleartext or pem-pkcs8-cleartext.
        #[arg(short, long, default_value = "libp2p-protobuf-cleartext")]
        format: String,
        #[arg(long, default_value = "base36")]
        ipns_base: String,
    },
    /// Give the node a new identity, keeping the old one as a named key
    /// (the daemon must be stopped).
    Rotate {
        /// The name the old identity is kept under.
        #[arg(short = 'o', long = "oldkey")]
        old_key: String,
        /// ed25519 or rsa.
        #[arg(short = 't', long = "type", default_value = "ed25519")]
        kind: String,
        /// Bits of an RSA key.
        #[arg(short, long)]
        size: Option<usize>,
    },
}

#[derive(Subcommand, Debug)]
pub enum NameCmd {
    /// Point a name (the node's own, or a key's) at a path.
    Publish {
        /// /ipfs/<cid>[/path], a bare CID, or /ipns/<name>.
        path: String,
        /// The key whose name is published (see `key list`).
        #[arg(short, long, default_value = "self")]
        key: String,
        /// How long the record stays valid.
        #[arg(short, long, default_value = "48h")]
        lifetime: String,
        /// How long resolvers may cache the record (default 5m, at most
        /// the lifetime).
        #[arg(long)]
        ttl: Option<String>,
        /// The record's sequence number (above the current one).
        #[arg(long)]
        sequence: Option<u64>,
        /// Publish even with no daemon running: the record is kept on this
        /// node only.
        #[arg(long)]
        allow_offline: bool,
        /// Check that the path resolves before publishing it.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        resolve: bool,
        /// Print only the name.
        #[arg(short = 'Q', long)]
        quieter: bool,
    },
    /// The path a name points to (the node's own when none is given).
    Resolve {
        name: Option<String>,
        /// Follow names that point at names, to a path.
        #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set)]
        recursive: bool,
        /// Ask the network again rather than answer from the cache.
        #[arg(short, long)]
        nocache: bool,
        /// How long to gather records from the DHT (0: no limit).
        #[arg(long, default_value = "30s")]
        dht_timeout: String,
    },
    /// Write the record held for a name to stdout.
    Get { name: String },
    /// Keep a record for a name, after checking it (with no daemon running).
    Put { name: String, record: PathBuf },
    /// Show what an IPNS record (from a file or stdin) says, and with
    /// --verify whether it is valid for a name.
    Inspect {
        /// The record file; stdin when absent or `-`.
        record: Option<PathBuf>,
        /// The name (k51…, a peer ID, or /ipns/…) to check the record against.
        #[arg(long, value_name = "NAME")]
        verify: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum FilesCmd {
    /// List a directory.
    Ls {
        #[arg(default_value = "/")]
        path: String,
        /// Show CIDs and sizes.
        #[arg(short = 'l', long = "long")]
        long: bool,
    },
    /// Make a directory.
    Mkdir {
        path: String,
        #[arg(short, long)]
        parents: bool,
    },
    /// Write stdin (or a file) to an MFS file.
    Write {
        path: String,
        /// Read from this local file instead of stdin.
        file: Option<PathBuf>,
        #[arg(short = 'e', long)]
        create: bool,
        #[arg(short, long)]
        truncate: bool,
        #[arg(short, long)]
        parents: bool,
        #[arg(short, long)]
        offset: Option<u64>,
        #[arg(short = 'n', long)]
        count: Option<u64>,
    },
    /// Read a file.
    Read {
        path: String,
        #[arg(short, long, default_value_t = 0)]
        offset: u64,
        #[arg(short = 'n', long)]
        count: Option<u64>,
    },
    /// Remove a file or (with -r) a directory.
    Rm {
        path: String,
        #[arg(short, long)]
        recursive: bool,
    },
    /// Copy an MFS path or /ipfs/<cid> into MFS (no data is copied).
    Cp {
        src: String,
        dst: String,
        #[arg(short, long)]
        parents: bool,
    },
    /// Move or rename.
    Mv { src: String, dst: String },
    /// Show a file's or directory's CID and sizes.
    Stat {
        #[arg(default_value = "/")]
        path: String,
        /// Print only the CID.
        #[arg(long)]
        hash: bool,
        /// Print only the size.
        #[arg(long)]
        size: bool,
        /// Output template: <hash> <size> <cumulsize> <childs> <type> <mode>
        /// <mode-octal> <mtime> <mtime-secs> <mtime-nsecs>.
        #[arg(long)]
        format: Option<String>,
    },
    /// Print the CID of a path (changes are always flushed).
    Flush {
        #[arg(default_value = "/")]
        path: String,
    },
    /// Change the CID version or hash of a directory.
    Chcid {
        #[arg(default_value = "/")]
        path: String,
        #[arg(long)]
        cid_version: Option<u64>,
        #[arg(long)]
        hash: Option<String>,
    },
    /// List the recorded versions of the tree, newest first.
    Log,
    /// Make a recorded version (its number from `files log`, or its commit
    /// CID) the current tree; the change is recorded as a new version.
    Restore { version: String },
}

#[derive(Subcommand, Debug)]
pub enum StatsCmd {
    /// What the node announced in the DHT (needs a running daemon).
    Provide,
    /// Both DHTs' modes (server or client) and routing tables (needs a
    /// running daemon).
    Dht,
}

#[derive(Subcommand, Debug)]
pub enum RoutingCmd {
    /// Announce that this node has these blocks.
    Provide {
        /// Every block of the DAGs below them too.
        #[arg(short, long)]
        recursive: bool,
        #[arg(required = true)]
        cids: Vec<String>,
    },
    /// The peers that provide a CID.
    Findprovs {
        /// How many providers to find.
        #[arg(short = 'n', long = "num-providers", default_value_t = 20)]
        num_providers: u64,
        cid: String,
    },
    /// The addresses of a peer.
    Findpeer { peer: String },
    /// The value stored under an /ipns/<name> key, as raw bytes.
    Get { key: String },
    /// Store a signed IPNS record under its /ipns/<name> key, here and in
    /// the DHT (the record from a file, or stdin with `-`).
    Put {
        key: String,
        file: std::path::PathBuf,
        /// Store it even when no daemon is running (here only).
        #[arg(long)]
        allow_offline: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum SwarmCmd {
    /// Open connections to /ip4/…/tcp/…/p2p/<peer> addresses.
    Connect { addrs: Vec<String> },
    /// Close connections to peers.
    Disconnect { addrs: Vec<String> },
    /// List connected peers.
    Peers {
        /// Show each connection's latency (the last ping).
        #[arg(long)]
        latency: bool,
        /// Show whether we dialled it (outbound) or it dialled us (inbound).
        #[arg(long)]
        direction: bool,
        /// Both of the above.
        #[arg(short, long)]
        verbose: bool,
    },
    /// List the addresses this node listens on.
    Addrs,
    /// Peers kept connected and never trimmed (`Peering.Peers` and these).
    #[command(subcommand)]
    Peering(PeeringCmd),
}

#[derive(Subcommand, Debug)]
pub enum PeeringCmd {
    /// Protect /…/p2p/<peer> addresses and keep them connected.
    Add { addrs: Vec<String> },
    /// Stop protecting peers (by ID).
    Rm { ids: Vec<String> },
    /// List the peering peers.
    Ls,
}

#[derive(Args, Debug)]
pub struct DaemonArgs {
    /// Mount /ipfs and /mfs too.
    #[arg(long)]
    pub mount: bool,
    #[command(flatten)]
    pub common: MountArgs,
}

#[derive(Args, Debug)]
pub struct MountArgs {
    /// Where to mount /ipfs (default: config Mounts.IPFS).
    #[arg(long, value_name = "DIR")]
    pub ipfs: Option<PathBuf>,
    /// Where to mount the writable MFS tree (default: config Mounts.MFS).
    #[arg(long, value_name = "DIR")]
    pub mfs: Option<PathBuf>,
    /// Mount /ipfs only.
    #[arg(long, conflicts_with = "mfs")]
    pub no_mfs: bool,
    /// Where to mount /ipns (default: config Mounts.IPNS).
    #[arg(long, value_name = "DIR")]
    pub ipns: Option<PathBuf>,
    /// Do not mount /ipns.
    #[arg(long, conflicts_with = "ipns")]
    pub no_ipns: bool,
    /// How long resolving a name under /ipns may take before it is not
    /// found (a Go duration).
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub dht_timeout: String,
    /// Let other users than the mounting one use the mounts (default:
    /// config Mounts.FuseAllowOther).
    #[arg(long)]
    pub allow_other: bool,
    /// Serve local blocks only (the network node is not started).
    #[arg(long)]
    pub offline: bool,
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// Files or directories to add; none reads standard input.
    pub paths: Vec<PathBuf>,
    /// Add directory paths recursively.
    #[arg(short, long)]
    pub recursive: bool,
    /// Write only the CIDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Write only the final CID.
    #[arg(short = 'Q', long)]
    pub quieter: bool,
    /// Write nothing.
    #[arg(long)]
    pub silent: bool,
    /// Show a progress bar (default: when stderr is a terminal).
    #[arg(short, long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub progress: Option<bool>,
    /// Use the trickle DAG layout.
    #[arg(short, long)]
    pub trickle: bool,
    /// Wrap the files in a directory.
    #[arg(short, long = "wrap-with-directory")]
    pub wrap: bool,
    /// Only compute the CIDs; store nothing.
    #[arg(short = 'n', long)]
    pub only_hash: bool,
    /// Chunker: size-N, rabin, rabin-AVG, rabin-MIN-AVG-MAX or buzhash.
    #[arg(short = 's', long, default_value = "size-262144")]
    pub chunker: String,
    /// Pin what is added (default true).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub pin: bool,
    /// Use raw blocks for leaves (default: true with CIDv1).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub raw_leaves: Option<bool>,
    /// CID version (0 or 1).
    #[arg(long)]
    pub cid_version: Option<u64>,
    /// Hash function (sha2-256, sha2-512).
    #[arg(long, default_value = "sha2-256")]
    pub hash: String,
    /// Give blocks of at most --inline-limit bytes identity CIDs.
    #[arg(long)]
    pub inline: bool,
    #[arg(long, default_value_t = 32)]
    pub inline_limit: usize,
    /// Include files whose names start with a dot.
    #[arg(short = 'H', long)]
    pub hidden: bool,
    /// Store file permissions as UnixFS mode.
    #[arg(long)]
    pub preserve_mode: bool,
    /// Store modification times as UnixFS mtime.
    #[arg(long)]
    pub preserve_mtime: bool,
    /// Name to print for data read from standard input.
    #[arg(long)]
    pub stdin_name: Option<String>,
}

#[derive(Args, Debug)]
pub struct CatArgs {
    pub path: String,
    #[arg(short, long, default_value_t = 0)]
    pub offset: u64,
    #[arg(short, long)]
    pub length: Option<u64>,
}

#[derive(Args, Debug)]
pub struct GetArgs {
    pub path: String,
    /// Where to write (default: the last path component, or the CID).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    pub paths: Vec<String>,
    /// Print a header line.
    #[arg(short = 'v', long)]
    pub headers: bool,
    /// Show sizes (default true).
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set)]
    pub size: bool,
}

#[derive(Args, Debug)]
pub struct RefsArgs {
    pub paths: Vec<String>,
    /// Walk the whole DAG.
    #[arg(short, long)]
    pub recursive: bool,
    /// Print each CID once.
    #[arg(short, long)]
    pub unique: bool,
}

#[derive(Subcommand, Debug)]
pub enum BlockCmd {
    /// Write a block's raw bytes to stdout.
    Get { cid: String },
    /// Store stdin (or a file) as a block and print its CID.
    Put {
        file: Option<PathBuf>,
        /// Codec of the block: raw, dag-pb, dag-cbor.
        #[arg(long, default_value = "raw")]
        cid_codec: String,
        #[arg(long, default_value = "sha2-256")]
        mhtype: String,
        #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
        pin: bool,
    },
    /// Print a block's CID and size.
    Stat { cid: String },
    /// Remove blocks.
    Rm {
        cids: Vec<String>,
        #[arg(short, long)]
        force: bool,
        #[arg(short, long)]
        quiet: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum DagCmd {
    /// Print a node as JSON (dag-pb as Kubo's dag-json view; raw as bytes).
    Get { path: String },
    /// Store a dag-json node read from stdin as dag-pb (or raw bytes as raw).
    Put {
        file: Option<PathBuf>,
        #[arg(long, default_value = "dag-json")]
        input_codec: String,
        #[arg(long, default_value = "dag-cbor")]
        store_codec: String,
        #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
        pin: bool,
    },
    /// Export a DAG as a CARv1 to stdout.
    Export { path: String },
    /// Import blocks from CAR files (v1 or v2) and pin their roots.
    Import {
        files: Vec<PathBuf>,
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        pin_roots: bool,
    },
    /// Size and block count of a DAG.
    Stat { path: String },
}

#[derive(Subcommand, Debug)]
pub enum ObjectCmd {
    /// The node's links and data as JSON.
    Get { path: String },
    /// The node's statistics.
    Stat { path: String },
    /// The node's raw Data field.
    Data { path: String },
    /// The node's links.
    Links {
        path: String,
        #[arg(short = 'v', long)]
        headers: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum PinCmd {
    Add {
        paths: Vec<String>,
        #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set)]
        recursive: bool,
    },
    Rm {
        paths: Vec<String>,
        #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set)]
        recursive: bool,
    },
    Ls {
        paths: Vec<String>,
        /// direct, indirect, recursive or all.
        #[arg(short = 't', long = "type", default_value = "all")]
        pin_type: String,
        #[arg(short, long)]
        quiet: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum RepoCmd {
    /// Rehash every block and report the corrupt ones.
    Verify,
    /// Remove blocks that no pin and not the MFS root reach.
    Gc {
        #[arg(short, long)]
        quiet: bool,
    },
    /// Repository statistics.
    Stat {
        /// Print sizes in MiB.
        #[arg(long)]
        human: bool,
    },
    /// The repository's version string.
    Version,
    /// Rebuild a missing or damaged datastore (pins, MFS root and history)
    /// from roots.journal; the damaged file is moved aside, not deleted.
    Fsck,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub cmd: Option<ConfigCmd>,
    /// Dotted key, e.g. Addresses.API.
    pub key: Option<String>,
    pub value: Option<String>,
    /// Parse VALUE as JSON.
    #[arg(long)]
    pub json: bool,
    /// Treat VALUE as a boolean.
    #[arg(long)]
    pub bool: bool,
    /// Print the whole config.
    #[arg(long)]
    pub show: bool,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Kubo's configuration profiles.
    #[command(subcommand)]
    Profile(ProfileCmd),
}

#[derive(Subcommand, Debug)]
pub enum ProfileCmd {
    /// Apply a profile to the config (the old one is kept as
    /// config-pre-NAME-…).
    #[command(after_help = profile_help())]
    Apply {
        profile: String,
        /// Show what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

fn profile_help() -> String {
    let mut help = String::from("Profiles:\n");
    for profile in rsipfs::repo::Profile::ALL {
        help.push_str(&format!(
            "  {:<20}{}\n",
            profile.name(),
            profile.description()
        ));
    }
    help
}
