//! The `twine` command line: argument parsing, one-line errors, exit codes.
//!
//! Exit codes: 0 success; 1 a run or check failed; 2 a usage or setup error (bad flag, address
//! in use), always reported on one line.

mod access_log;
mod listener;
mod live;
mod proxy;
mod recording;
mod serve;
mod sim;
mod tls;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::watchdog::{Limits, Watchdog};

/// twine: an HTTP/1.1 channel engine and its deterministic network chaos harness.
#[derive(Debug, Parser)]
#[command(name = "twine", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every scenario family over many seeds with swarm-chosen faults (the main job).
    Explore(sim::ExploreArgs),
    /// Run one scenario and print its verdict (exit 0 pass, 1 fail).
    Run(sim::RunArgs),
    /// Run one scenario and print its full trace, identical on every run.
    Replay(sim::ReplayArgs),
    /// List every scenario with what it proves.
    List,
    /// Serve HTTP/1.1 and HTTP/2 for real on a TCP address.
    Serve(serve::ServeArgs),
    /// Run a reverse proxy in front of an HTTP/1.1 server.
    Proxy(proxy::ProxyArgs),
}

/// A failure to report: the message (one line) and the exit code.
#[derive(Debug)]
pub struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    /// A usage or setup error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            code: 2,
        }
    }
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return clap_failure(error),
    };
    // Simulated runs are watched: one that never ends fails with a report (see `watchdog`).
    let simulates = matches!(
        cli.command,
        Command::Explore(_) | Command::Run(_) | Command::Replay(_)
    );
    let _watchdog = simulates.then(|| Watchdog::start(Limits::for_this_machine()));
    let result = match cli.command {
        Command::Explore(args) => sim::explore(args),
        Command::Run(args) => sim::run(args),
        Command::Replay(args) => sim::replay(args),
        Command::List => sim::list(),
        Command::Serve(args) => serve::run(args),
        Command::Proxy(args) => proxy::run(args),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// `--help` and `--version` print in full; any other parse error is one line and exit 2.
fn clap_failure(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            ExitCode::from(2)
        }
        _ => {
            // clap's message runs until its usage block; fold it onto one line.
            let rendered = error.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .map(str::trim)
                .take_while(|l| {
                    !l.starts_with("Usage:")
                        && !l.starts_with("tip:")
                        && !l.starts_with("For more information")
                })
                .filter(|l| !l.is_empty())
                .collect();
            let message = message.join(" ");
            let message = message.trim_start_matches("error: ");
            eprintln!("error: {message} (see twine --help)");
            ExitCode::from(2)
        }
    }
}
