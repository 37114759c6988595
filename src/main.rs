//! The `rsipfs` binary: parse, dispatch, exit code. Everything else is in the library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
