//! Command dispatch and the output formats users of Kubo expect. `anyhow`
//! lives only here: library errors are typed and get their context added.

mod add;
mod args;
mod bootstrap;
mod files;
mod ipns_mount;
mod keys;
mod mount;
mod name;
mod net_config;
mod node_cmds;
mod objects;
mod pins;
mod read;
mod remote;
mod repo_cmds;
mod stat_format;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use rsipfs::commands::{CommandError, Core};
use rsipfs::repo::{Repo, default_repo_path};

use args::{Cli, Command};

pub fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!("Error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("RSIPFS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<()> {
    let repo_path = cli.repo_dir.clone().unwrap_or_else(default_repo_path);
    let ctx = Ctx { repo_path };
    match cli.command {
        Command::Init(args) => repo_cmds::init(&ctx, args),
        Command::Version => {
            // A running daemon answers for itself; otherwise this binary.
            let version = match ctx.open_repo_or_api() {
                Ok(Opened::Api(api)) => api.typed("version", &[])?,
                _ => rsipfs::commands::repo::version(),
            };
            println!("rsipfs version {}", version.version);
            Ok(())
        }
        Command::Config(args) => repo_cmds::config(&ctx, args),
        Command::Repo(cmd) => repo_cmds::repo(&ctx, cmd),
        Command::Add(args) => add::run(&ctx, args),
        Command::Cat(args) => read::cat(&ctx, args),
        Command::Get(args) => read::get(&ctx, args),
        Command::Ls(args) => read::ls(&ctx, args),
        Command::Refs(args) => read::refs(&ctx, args),
        Command::Block(cmd) => objects::block(&ctx, cmd),
        Command::Dag(cmd) => objects::dag(&ctx, cmd),
        Command::Object(cmd) => objects::object(&ctx, cmd),
        Command::Pin(cmd) => pins::pin(&ctx, cmd),
        Command::Mount(args) => mount::run(&ctx, args),
        Command::Daemon(args) => mount::daemon(&ctx, args),
        Command::Id { peer } => node_cmds::id(&ctx, peer),
        Command::Swarm(cmd) => node_cmds::swarm(&ctx, cmd),
        Command::Stats(args::StatsCmd::Provide) => node_cmds::stats_provide(&ctx),
        Command::Stats(args::StatsCmd::Dht) => node_cmds::stats_dht(&ctx),
        Command::Routing(cmd) => node_cmds::routing(&ctx, cmd),
        Command::Files(cmd) => files::run(&ctx, cmd),
        Command::Name(cmd) => name::run(&ctx, cmd),
        Command::Key(cmd) => keys::run(&ctx, cmd),
        Command::Bootstrap(args) => {
            bootstrap::run(&ctx, args.cmd.unwrap_or(args::BootstrapCmd::List))
        }
    }
}

pub enum Opened {
    Repo(Repo),
    Api(remote::Api),
}

impl Opened {
    /// Runs a command on the repository, or has the running daemon run it
    /// (`command` and `query` in Kubo's API); either way the same answer.
    pub fn run<T: serde::de::DeserializeOwned>(
        &self,
        command: &str,
        query: &[(&str, String)],
        local: impl FnOnce(&Core) -> Result<T, CommandError>,
    ) -> Result<T> {
        match self {
            Opened::Repo(repo) => Ok(local(&Core::local(repo))?),
            Opened::Api(api) => api.typed(command, query),
        }
    }

    /// [`Opened::run`] for commands that answer one JSON value per line.
    pub fn run_lines<T: serde::de::DeserializeOwned>(
        &self,
        command: &str,
        query: &[(&str, String)],
        local: impl FnOnce(&Core) -> Result<Vec<T>, CommandError>,
    ) -> Result<Vec<T>> {
        match self {
            Opened::Repo(repo) => Ok(local(&Core::local(repo))?),
            Opened::Api(api) => api.lines(command, query),
        }
    }

    /// [`Opened::run`] for commands that take a file (the API's multipart
    /// body).
    pub fn run_with_file<T: serde::de::DeserializeOwned>(
        &self,
        command: &str,
        query: &[(&str, String)],
        file: Vec<u8>,
        local: impl FnOnce(&Core) -> Result<T, CommandError>,
    ) -> Result<T> {
        match self {
            Opened::Repo(repo) => Ok(local(&Core::local(repo))?),
            Opened::Api(api) => {
                let body = api.call_with_file(command, query, std::io::Cursor::new(file))?;
                serde_json::from_reader(body).context("the API answered with unexpected JSON")
            }
        }
    }

    /// [`Opened::run`] for commands that answer with bytes.
    pub fn run_bytes(
        &self,
        command: &str,
        query: &[(&str, String)],
        local: impl FnOnce(&Core) -> Result<Vec<u8>, CommandError>,
    ) -> Result<Vec<u8>> {
        match self {
            Opened::Repo(repo) => Ok(local(&Core::local(repo))?),
            Opened::Api(api) => api.bytes(command, query),
        }
    }
}

/// Positional arguments as the API's repeated `arg`s.
pub fn args_query(args: &[String]) -> Vec<(&'static str, String)> {
    args.iter().map(|a| ("arg", a.clone())).collect()
}

pub struct Ctx {
    pub repo_path: PathBuf,
}

impl Ctx {
    /// The repository, or, while a running mount holds it, that mount's API.
    pub fn open_repo_or_api(&self) -> Result<Opened> {
        match Repo::open(&self.repo_path) {
            Ok(repo) => Ok(Opened::Repo(repo)),
            Err(locked @ rsipfs::repo::RepoError::Locked { .. }) => {
                match remote::Api::from_repo(&self.repo_path)? {
                    Some(api) => Ok(Opened::Api(api)),
                    None => Err(anyhow::Error::new(locked)).with_context(|| {
                        format!("cannot open the repository at {}", self.repo_path.display())
                    }),
                }
            }
            Err(err) => Err(anyhow::Error::new(err)).with_context(|| {
                format!("cannot open the repository at {}", self.repo_path.display())
            }),
        }
    }

    pub fn open_repo(&self) -> Result<Repo> {
        Repo::open(&self.repo_path)
            .with_context(|| format!("cannot open the repository at {}", self.repo_path.display()))
    }
}

/// Stdout, buffered; flushed by the caller.
pub fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock())
}

pub fn finish(mut out: impl Write) -> Result<()> {
    out.flush().context("writing to stdout")
}
