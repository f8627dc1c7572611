//! `twine serve`: the engine as a real server on tokio sockets, with a built-in app
//! (`listener.rs` has the socket, the flags, the signals and the drain).

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use twine_apps::{Api, DiskFileSystem, Echo, Hello, ReadMode, StaticFiles, Stream};
use twine_driver::{run_connection, App, ConnectionEnd};
use twine_engine::CloseReason;

use super::listener::{run_server, Accepted, Run, ServerArgs};
use super::recording::Recorder;
use super::tls::Transport;
use super::Failure;

/// Arguments of `twine serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The app: `echo`, `hello` (12 bytes for every request, for benchmarks), `stream`
    /// (GET /stream/<n> push, /pull/<n> pull, /unsized/<n> push without a length), `api` (one
    /// route per app command, see `twine_apps::api`), or `static DIR`.
    #[arg(long, num_args = 1..=2, value_names = ["APP", "DIR"], default_value = "echo")]
    pub(crate) app: Vec<String>,

    /// Record each connection's inputs from its client into DIR (`conn-N.twinerec`, written
    /// when it closes), for `twine replay --recording FILE` to run them in the simulation.
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) server: ServerArgs,
}

/// Which app serves.
#[derive(Debug, Clone)]
enum AppChoice {
    Echo,
    Hello,
    Stream,
    Api,
    /// Shared: the future serving a connection holds its choice for the connection's life.
    Static(Arc<StaticFiles>),
}

impl AppChoice {
    fn parse(words: &[String]) -> Result<AppChoice, Failure> {
        match words {
            [name] if name == "echo" => Ok(AppChoice::Echo),
            [name] if name == "hello" => Ok(AppChoice::Hello),
            [name] if name == "stream" => Ok(AppChoice::Stream),
            [name] if name == "api" => Ok(AppChoice::Api),
            [name, dir] if name == "static" => StaticFiles::new(PathBuf::from(dir))
                .map(|files| AppChoice::Static(Arc::new(files)))
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
    let recorder = match &args.record {
        // The flags after `serve`: the replay runs the same app and config.
        Some(dir) => Some(Recorder::new(dir, &serve_flags(&app))?),
        None => None,
    };
    run_server(&args.server, move |mut accepted| {
        if let Some(recorder) = &recorder {
            let at = accepted.run.clock.now();
            accepted.run.log.record_into(recorder, at);
        }
        serve_connection(accepted, app.clone())
    })
}

/// The app `--app` names, made afresh for each connection of a simulated run (a replayed
/// recording). The static app reads its directory inline: deterministic, as a run must be.
pub(crate) fn simulated_app(words: &[String]) -> Result<twine_sim::AppFactory, Failure> {
    Ok(match AppChoice::parse(words)? {
        AppChoice::Echo => twine_sim::app::<Echo>(),
        AppChoice::Hello => twine_sim::app::<Hello>(),
        AppChoice::Stream => twine_sim::app::<Stream>(),
        AppChoice::Api => twine_sim::app::<Api>(),
        AppChoice::Static(files) => {
            let disk = DiskFileSystem::new(files.root().to_path_buf(), ReadMode::Inline)
                .map_err(|e| Failure::usage(format!("cannot serve the recorded directory: {e}")))?;
            let files = StaticFiles::with_file_system(disk);
            std::rc::Rc::new(move || Box::new(files.clone()) as Box<dyn App>)
        }
    })
}

/// This process's arguments after `serve` (a path that is not UTF-8 as near as it can be),
/// with the static app's directory made absolute: a replay may run from anywhere.
fn serve_flags(app: &AppChoice) -> Vec<String> {
    let mut flags: Vec<String> = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .skip_while(|arg| arg != "serve")
        .skip(1)
        .collect();
    if let AppChoice::Static(files) = app {
        let at = flags
            .windows(2)
            .position(|w| w[0] == "--app" && w[1] == "static");
        if let Some(dir) = at.and_then(|at| flags.get_mut(at + 2)) {
            *dir = files.root().to_string_lossy().into_owned();
        }
    }
    flags
}

/// One connection, from its handshake to its close. Not an `async fn`: a future keeps its
/// arguments for its whole life, and a connection's task is its idle cost.
fn serve_connection(accepted: Accepted, app: AppChoice) -> impl Future<Output = ()> {
    let Accepted { run, live } = accepted;
    async move {
        // `live` counts the connection until this future is done or dropped. Dropped by hand
        // at the end rather than moved into a local: a local beside the captured value would
        // be a second slot in the future, the connection's idle cost.
        let Some((stream, run)) = run.establish().await else {
            drop(live);
            return;
        };
        // The future holds the largest of these arms for every connection, whichever app it
        // runs: an app that keeps state is boxed (one allocation per connection), so that a
        // hello connection's task does not pay for a static-files one's.
        let end = match app {
            AppChoice::Echo => drive(stream, run, Box::new(Echo::new())).await,
            AppChoice::Hello => drive(stream, run, Hello::new()).await,
            AppChoice::Stream => drive(stream, run, Box::new(Stream::new())).await,
            AppChoice::Api => drive(stream, run, Box::new(Api::new())).await,
            AppChoice::Static(files) => {
                let app = Box::new(StaticFiles::clone(&files));
                // Not held across the await: a slot in the future.
                drop(files);
                drive(stream, run, app).await
            }
        };
        if end.reason == CloseReason::Abort {
            // An abort is a reset: the peer must not mistake a truncated response for a
            // whole one.
            let _ = end.stream.tcp().set_zero_linger();
        }
        drop(live);
    }
}

/// The connection loop over an established stream, the app and the log handed over: a plain
/// function, so that what it is given moves into the loop's future, kept there once (named
/// in the future above, each would keep a second place in it for the connection's life).
fn drive<A: App>(
    stream: Transport,
    run: Run,
    app: A,
) -> impl Future<Output = ConnectionEnd<Transport>> {
    let Run {
        channel,
        clock,
        options,
        log,
        ..
    } = run;
    run_connection(stream, channel, app, clock, log, options)
}
