//! `twine serve`: the engine as a real server on tokio sockets, with a built-in app
//! (`listener.rs` has the socket, the flags, the signals and the drain).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use twine_driver::apps::{Api, Echo, Hello, StaticFiles, Stream};
use twine_driver::{run_connection, App, Clock, RunOptions};
use twine_engine::{AutoConnection, CloseReason};

use super::access_log::ConnectionLog;
use super::listener::{run_server, Accepted, ServerArgs};
use super::tls::Transport;
use super::Failure;

/// Arguments of `twine serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The app: `echo`, `hello` (12 bytes for every request, for benchmarks), `stream`
    /// (GET /stream/<n> push, /pull/<n> pull), `api` (one route per app command, see
    /// `twine_driver::apps::api`), or `static DIR`.
    #[arg(long, num_args = 1..=2, value_names = ["APP", "DIR"], default_value = "echo")]
    app: Vec<String>,

    #[command(flatten)]
    server: ServerArgs,
}

/// Which app serves.
#[derive(Debug, Clone)]
enum AppChoice {
    Echo,
    Hello,
    Stream,
    Api,
    Static(StaticFiles),
}

impl AppChoice {
    fn parse(words: &[String]) -> Result<AppChoice, Failure> {
        match words {
            [name] if name == "echo" => Ok(AppChoice::Echo),
            [name] if name == "hello" => Ok(AppChoice::Hello),
            [name] if name == "stream" => Ok(AppChoice::Stream),
            [name] if name == "api" => Ok(AppChoice::Api),
            [name, dir] if name == "static" => StaticFiles::new(PathBuf::from(dir))
                .map(AppChoice::Static)
                .map_err(|e| Failure::usage(format!("cannot serve directory {dir}: {e}"))),
            [name] if name == "static" => Err(Failure::usage(
                "--app static needs a directory: --app static DIR",
            )),
            [name, ..] if ["echo", "hello", "stream", "api"].contains(&name.as_str()) => {
                Err(Failure::usage(format!("--app {name} takes no argument")))
            }
            _ => Err(Failure::usage(format!(
                "unknown app '{}': expected echo, hello, stream, api or static DIR",
                words.join(" ")
            ))),
        }
    }
}

pub(crate) fn run(args: ServeArgs) -> Result<ExitCode, Failure> {
    let app = AppChoice::parse(&args.app)?;
    run_server(&args.server, move |accepted| {
        serve_connection(accepted, app.clone())
    })
}

async fn serve_connection(accepted: Accepted, app: AppChoice) {
    let Accepted {
        stream,
        channel,
        clock,
        options,
        mut log,
        ..
    } = accepted;
    let Some(stream) = stream.establish().await else {
        return;
    };
    let log = &mut log;
    let end = match app {
        AppChoice::Echo => run_with(stream, channel, Echo::new(), clock, log, options).await,
        AppChoice::Hello => run_with(stream, channel, Hello::new(), clock, log, options).await,
        AppChoice::Stream => run_with(stream, channel, Stream::new(), clock, log, options).await,
        AppChoice::Api => run_with(stream, channel, Api::new(), clock, log, options).await,
        AppChoice::Static(files) => run_with(stream, channel, files, clock, log, options).await,
    };
    if end.1 == CloseReason::Abort {
        // An abort is a reset: the peer must not mistake a truncated response for a whole one.
        let _ = end.0.tcp().set_zero_linger();
    }
}

async fn run_with<A: App>(
    stream: Transport,
    channel: AutoConnection,
    mut app: A,
    clock: Clock,
    log: &mut ConnectionLog,
    options: RunOptions,
) -> (Transport, CloseReason) {
    let end = run_connection(stream, channel, &mut app, clock, log, options).await;
    (end.stream, end.reason)
}
