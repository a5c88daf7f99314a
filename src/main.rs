//! The `peercode` binary: parses the command line and hands off to the library crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

#[derive(Parser)]
#[command(
    name = "peercode",
    version,
    about = "Real-time collaborative code editor with a sandboxed runner"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the whole product: collaboration server, web app, runner.
    Serve(Box<cli::serve::Args>),
    /// Run one file in the sandbox and print its output, verdict and usage.
    Run(cli::run::Args),
    /// Print a static complexity report for a Python or JavaScript file.
    Analyze(cli::analyze::Args),
    /// Report which sandbox protections and language toolchains this host has.
    Doctor(cli::doctor::Args),
    /// Export a room's recording to a file, or import one as a new room.
    Replay(cli::replay::Args),
    /// Take run jobs from the Redis queue (`serve --runner queue`) and run them here.
    Worker(cli::worker::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => cli::serve::main(*args),
        Command::Run(args) => cli::run::main(args),
        Command::Analyze(args) => cli::analyze::main(args),
        Command::Doctor(args) => cli::doctor::main(args),
        Command::Replay(args) => cli::replay::main(args),
        Command::Worker(args) => cli::worker::main(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("peercode: {err:#}");
            ExitCode::from(2)
        }
    }
}
