//! `twine serve`: the engine as a real server on tokio sockets, with a built-in app
//! (`listener.rs` has the socket, the flags, the signals and the drain).

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use twine_driver::apps::{Api, Echo, Hello, StaticFiles, Stream};
use twine_driver::run_connection;
use twine_engine::CloseReason;

use super::listener::{run_server, Accepted, Run, ServerArgs};
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

/// One connection, from its handshake to its close. Not an `async fn`: a future keeps its
/// arguments for its whole life, and a connection's task is its idle cost.
fn serve_connection(accepted: Accepted, app: AppChoice) -> impl Future<Output = ()> {
    let Accepted { stream, run, live } = accepted;
    async move {
        // Counted until this future is done or dropped.
        let _live = live;
        let Some(stream) = stream.establish().await else {
            return;
        };
        let Run {
            channel,
            clock,
            options,
            mut log,
        } = *run;
        let log = &mut log;
        let end = match app {
            AppChoice::Echo => {
                let mut app = Echo::new();
                run_connection(stream, channel, &mut app, clock, log, options).await
            }
            AppChoice::Hello => {
                let mut app = Hello::new();
                run_connection(stream, channel, &mut app, clock, log, options).await
            }
            AppChoice::Stream => {
                let mut app = Stream::new();
                run_connection(stream, channel, &mut app, clock, log, options).await
            }
            AppChoice::Api => {
                let mut app = Api::new();
                run_connection(stream, channel, &mut app, clock, log, options).await
            }
            AppChoice::Static(mut files) => {
                run_connection(stream, channel, &mut files, clock, log, options).await
            }
        };
        if end.reason == CloseReason::Abort {
            // An abort is a reset: the peer must not mistake a truncated response for a
            // whole one.
            let _ = end.stream.tcp().set_zero_linger();
        }
    }
}
