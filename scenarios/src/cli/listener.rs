//! What `twine serve` and `twine proxy` share: the listening socket, the first line
//! (`listening on http://IP:PORT`), the limits and timers as flags, the signals and the drain.
//!
//! Serves until SIGINT or SIGTERM. Then it stops accepting, tells every connection to drain
//! (finish the requests it has, then close), waits for them up to `--shutdown-timeout`, and
//! exits 0.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Args;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use twine_driver::{Clock, Drain, RunOptions};
use twine_engine::{AutoConnection, Config, ConnectionInfo, Limits, Timeouts, TimerReports};

use tracing::level_filters::LevelFilter;
use tracing::{debug, error, info, warn};

use super::access_log::{AccessLog, AccessLogFormat, ConnectionLog, LogTarget, LogWriter};
use super::live::{Live, LiveGuard};
use super::tls::{Incoming, TlsArgs, Transport};
use super::Failure;

/// How long to wait after a failed accept before the next one.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// File descriptors kept for everything but client connections (listener, stdio, upstreams
/// being opened, the runtime's own).
const FD_HEADROOM: usize = 64;

/// Connections over the bound being answered 503 at once; past it one is simply closed (a
/// flood of them must not take the file descriptors the bound protects).
const REJECTIONS_MAX: usize = 64;

/// How long a refused connection may take to read its 503 before it is dropped.
const REJECTION_LINGER: Duration = Duration::from_secs(1);

/// What a connection over the bound gets: RFC 9110 §15.6.4, and a hint to retry shortly.
const SERVICE_UNAVAILABLE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
    Content-Type: text/plain\r\nContent-Length: 28\r\nRetry-After: 1\r\n\
    Connection: close\r\n\r\ntoo many connections, retry\n";

/// The flags of every server command.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// How long in-flight requests may take to finish after SIGINT/SIGTERM.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    shutdown_timeout: Duration,

    /// Most connections served at once; past it a new connection gets `503` with
    /// `Retry-After: 1` and is closed [default: the open-file limit less 64, at least 1]
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    connections_max: Option<usize>,

    /// Where to write one line per request: a file (appended to), or `-` for standard output
    /// [default: no access log]
    #[arg(long, value_name = "PATH|-")]
    access_log: Option<LogTarget>,

    /// The access log's format: `common` (CLF, then the duration and the outcome) or `json`.
    #[arg(long, value_enum, default_value = "common")]
    access_log_format: AccessLogFormat,

    /// Diagnostics on standard error from this level up: `off`, `error`, `warn`, `info`,
    /// `debug` or `trace`.
    #[arg(long, value_enum, default_value = "info")]
    log_level: LogLevel,

    #[command(flatten)]
    limits: LimitArgs,

    #[command(flatten)]
    timeouts: TimeoutArgs,

    #[command(flatten)]
    tls: TlsArgs,
}

/// How much `tracing` writes to standard error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    fn filter(self) -> LevelFilter {
        match self {
            LogLevel::Off => LevelFilter::OFF,
            LogLevel::Error => LevelFilter::ERROR,
            LogLevel::Warn => LevelFilter::WARN,
            LogLevel::Info => LevelFilter::INFO,
            LogLevel::Debug => LevelFilter::DEBUG,
            LogLevel::Trace => LevelFilter::TRACE,
        }
    }
}

/// Size limits (Twisted's defaults; see `twine_engine::Limits`).
#[derive(Debug, Args)]
struct LimitArgs {
    /// Longest request line, without its line ending (longer: 414).
    #[arg(long, default_value_t = Limits::DEFAULT.request_line_bytes_max)]
    request_line_bytes_max: usize,
    /// Longest request head, line endings not counted (longer: 431).
    #[arg(long, default_value_t = Limits::DEFAULT.head_bytes_max)]
    head_bytes_max: usize,
    /// Most header fields in a head (more: 431).
    #[arg(long, default_value_t = Limits::DEFAULT.header_count_max)]
    header_count_max: usize,
    /// Longest chunk-size line, extensions included (longer: 400).
    #[arg(long, default_value_t = Limits::DEFAULT.chunk_line_bytes_max)]
    chunk_line_bytes_max: usize,
    /// Most trailer bytes after the last chunk (more: 400).
    #[arg(long, default_value_t = Limits::DEFAULT.trailer_bytes_max)]
    trailer_bytes_max: usize,
    /// Largest request body (larger: 413) [default: no limit]
    #[arg(long)]
    body_bytes_max: Option<u64>,
    /// Received bytes buffered while a request is handled; then reading pauses.
    #[arg(long, default_value_t = Limits::DEFAULT.recv_buffer_bytes_max)]
    recv_buffer_bytes_max: usize,
    /// Bytes accepted while the client is not reading before producers must wait.
    #[arg(long, default_value_t = Limits::DEFAULT.send_buffer_bytes_max)]
    send_buffer_bytes_max: usize,
    /// Requests handled at once on one connection (pipelining depth).
    #[arg(long, default_value_t = Limits::DEFAULT.pipeline_depth_max,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pipeline_depth_max: usize,
    /// Bytes a lingering close reads and discards before it gives up.
    #[arg(long, default_value_t = Limits::DEFAULT.linger_bytes_max)]
    linger_bytes_max: u64,
}

/// Timers (see `twine_engine::Timeouts`).
#[derive(Debug, Args)]
struct TimeoutArgs {
    /// Total time to receive a request head (not reset by dribbled bytes).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    header_read_timeout: Duration,
    /// Longest silence while a request body is received.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    body_read_timeout: Duration,
    /// Longest idle time between requests.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    idle_keep_alive_timeout: Duration,
    /// Longest time the client may stop reading while a response is pending.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    send_stall_timeout: Duration,
    /// How long a lingering close waits for the client's FIN.
    #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
    linger_timeout: Duration,
    /// How long a graceful close may take to flush before it aborts.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    abort_timeout: Duration,
}

impl ServerArgs {
    pub(crate) fn config(&self) -> Config {
        let l = &self.limits;
        let mut limits = Limits::default();
        limits.request_line_bytes_max = l.request_line_bytes_max;
        limits.head_bytes_max = l.head_bytes_max;
        limits.header_count_max = l.header_count_max;
        limits.chunk_line_bytes_max = l.chunk_line_bytes_max;
        limits.trailer_bytes_max = l.trailer_bytes_max;
        limits.body_bytes_max = l.body_bytes_max;
        limits.recv_buffer_bytes_max = l.recv_buffer_bytes_max;
        limits.send_buffer_bytes_max = l.send_buffer_bytes_max;
        limits.pipeline_depth_max = l.pipeline_depth_max;
        limits.linger_bytes_max = l.linger_bytes_max;
        let t = &self.timeouts;
        let mut timeouts = Timeouts::default();
        timeouts.header_read = t.header_read_timeout;
        timeouts.body_read = t.body_read_timeout;
        timeouts.idle_keep_alive = t.idle_keep_alive_timeout;
        timeouts.send_stall = t.send_stall_timeout;
        timeouts.linger = t.linger_timeout;
        timeouts.abort = t.abort_timeout;
        // The driver sleeps until the connection's next deadline and the log reports fires
        // only: arms and cancels would be outputs nobody reads.
        Config::new()
            .with_limits(limits)
            .with_timeouts(timeouts)
            .with_timer_reports(TimerReports::FiresOnly)
    }
}

/// One accepted connection: its stream, and how to run it once its handshake is done.
/// `serve_one` returns the future that serves it (spawned on the runtime).
pub(crate) struct Accepted {
    /// Boxed: a connection's future keeps what it captured for its whole life, and this waits
    /// out the handshake on the heap ([`Run::establish`]), then moves into the driver.
    pub(crate) run: Box<Run>,
    /// Counts the connection as live until the future serving it is done (or dropped).
    pub(crate) live: LiveGuard,
}

/// A connection's stream before its handshake, and what it runs with after it.
pub(crate) struct Run {
    /// The accepted stream, its TLS handshake (if any) still to do: taken by the handshake.
    incoming: Option<Incoming>,
    pub(crate) channel: AutoConnection,
    pub(crate) clock: Clock,
    /// Its `connection` is the client's and our addresses, and whether TLS is on.
    pub(crate) options: RunOptions,
    /// The connection's access log lines and diagnostics: the driver's observer.
    pub(crate) log: ConnectionLog,
}

impl Run {
    /// Does the handshake, the run waiting in its box: then the stream to serve, and the run
    /// out of its box, the box freed. `None` if the handshake failed or took too long. A
    /// client that chose `h2` by ALPN is held to HTTP/2 from its first byte.
    pub(crate) async fn establish(mut self: Box<Run>) -> Option<(Transport, Run)> {
        let stream = self.incoming.take()?.establish().await?;
        if stream.negotiated_http2() {
            self.channel.require_http2(self.clock.now());
        }
        Some((stream, *self))
    }

    /// Who is on the two ends.
    pub(crate) fn connection(&self) -> ConnectionInfo {
        self.options
            .connection
            .expect("the listener fills in the connection's addresses")
    }
}

/// Runs a server on a multi-threaded runtime until a signal, then drains.
pub(crate) fn run_server<F, Fut>(args: &ServerArgs, serve_one: F) -> Result<ExitCode, Failure>
where
    F: FnMut(Accepted) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    // A second server in one process (the tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(args.log_level.filter())
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(format!("cannot start the runtime: {e}")))?;
    let (result, writer) = runtime.block_on(accept_loop(args, serve_one))?;
    // Every connection's log goes with the runtime's tasks; then the writer has all lines.
    drop(runtime);
    if let Some(writer) = writer {
        if let Err(error) = writer.finish() {
            error!("the access log failed: {error}");
        }
    }
    Ok(result)
}

async fn accept_loop<F, Fut>(
    args: &ServerArgs,
    mut serve_one: F,
) -> Result<(ExitCode, Option<LogWriter>), Failure>
where
    F: FnMut(Accepted) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (listening, writer) = Listening::open(args).await?;
    let shutdown = shutdown_signal()?;
    let mut accept_failures = AcceptFailures::default();
    let connections = Live::new();
    let mut rejections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listening.listener.accept() => {
                // Accept errors (out of file descriptors, say) are transient: keep serving, but
                // wait a moment first, or a failing accept spins a core (hyper does the same).
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        accept_failures.report(&error);
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                if connections.count() >= listening.connections_max {
                    // Answered, not left in the backlog: a client waiting there cannot tell a
                    // busy server from a dead one, and its SYN retries only add load.
                    debug!(%peer, "over --connections-max: answered 503");
                    // Over TLS nothing can be said before a handshake, which is the very
                    // work the bound saves: the connection is just closed.
                    if rejections.len() < REJECTIONS_MAX && listening.tls.is_none() {
                        rejections.spawn(reject(stream));
                    }
                    continue;
                }
                let run = listening.run(stream, peer);
                let accepted = Accepted { run, live: connections.enter() };
                tokio::spawn(serve_one(accepted));
            }
            Some(_) = rejections.join_next(), if !rejections.is_empty() => {}
        }
    }
    rejections.abort_all();
    listening.stop(&connections, args.shutdown_timeout).await;
    Ok((ExitCode::SUCCESS, writer))
}

/// A server that listens: its socket and what every connection it accepts shares.
struct Listening {
    listener: TcpListener,
    local: SocketAddr,
    tls: Option<super::tls::Tls>,
    clock: Clock,
    access_log: Option<AccessLog>,
    /// One config for every connection: each channel keeps a pointer to it, not a copy.
    config: std::sync::Arc<Config>,
    drain: Drain,
    connections_max: usize,
}

impl Listening {
    /// Loads the certificates (a bad one is reported before anything listens), binds, opens
    /// the access log and says `listening on ...`.
    async fn open(args: &ServerArgs) -> Result<(Listening, Option<LogWriter>), Failure> {
        let tls = args.tls.load()?;
        let listener = TcpListener::bind(args.listen)
            .await
            .map_err(|e| Failure::usage(format!("cannot listen on {}: {e}", args.listen)))?;
        let local = listener
            .local_addr()
            .map_err(|e| Failure::usage(e.to_string()))?;
        let clock = Clock::start();
        // The one place wall-clock time enters: the origin of `Date` and of the access log's
        // times. In milliseconds, taken next to the clock's start, so every `Date` names the
        // right second.
        let origin = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let (access_log, writer) = match &args.access_log {
            Some(target) => {
                let (log, writer) = AccessLog::open(target, args.access_log_format, origin)
                    .map_err(|e| {
                        Failure::usage(format!("cannot open the access log {target}: {e}"))
                    })?;
                (Some(log), Some(writer))
            }
            None => (None, None),
        };
        let mut stdout = std::io::stdout().lock();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let _ = writeln!(stdout, "listening on {scheme}://{local}");
        let _ = stdout.flush();
        drop(stdout);
        info!("listening on {scheme}://{local}");
        let listening = Listening {
            listener,
            local,
            tls,
            clock,
            access_log,
            config: std::sync::Arc::new(args.config().with_date_origin_millis(origin)),
            drain: Drain::new(),
            connections_max: args.connections_max.unwrap_or_else(default_connections_max),
        };
        Ok((listening, writer))
    }

    /// What an accepted connection runs with.
    fn run(&self, stream: TcpStream, peer: SocketAddr) -> Box<Run> {
        let local = stream.local_addr().unwrap_or(self.local);
        let secure = self.tls.is_some();
        let options = RunOptions {
            // nginx's client_header_buffer_size: most request heads fit in 1 KiB (reads grow
            // when they come back full).
            read_bytes_min: 1024,
            // Connections arriving in a burst must not all hold their buffers at once: with
            // 100 ms, 2,000 opened back to back kept 1 KiB more each once idle (freed, but
            // still resident). A busy connection's next request comes far sooner than this.
            idle_release_after: Duration::from_millis(10),
            drain: Some(self.drain.clone()),
            connection: Some(ConnectionInfo {
                peer,
                local,
                secure,
            }),
            ..RunOptions::default()
        };
        let channel = AutoConnection::new(std::sync::Arc::clone(&self.config), self.clock.now());
        let log = self.access_log.as_ref().map_or_else(
            || ConnectionLog::off(peer),
            |access| access.connection(peer),
        );
        let incoming = Some(Incoming {
            tcp: stream,
            tls: self.tls.clone(),
        });
        let clock = self.clock;
        Box::new(Run {
            incoming,
            channel,
            clock,
            options,
            log,
        })
    }

    /// Stops listening, tells every connection to drain and waits for them, up to `timeout`
    /// (those still open then are dropped with the runtime).
    async fn stop(self, connections: &Live, timeout: Duration) {
        drop(self.listener);
        info!("draining {} connections", connections.count());
        self.drain.start();
        let drained = tokio::time::timeout(timeout, connections.all_ended()).await;
        if drained.is_err() {
            warn!(
                "--shutdown-timeout passed: aborting {} connections",
                connections.count()
            );
        }
        info!("stopped");
    }
}

/// Accept failures, logged at most once per `ACCEPT_FAILURE_LOG_INTERVAL`: out of file
/// descriptors, accept fails every `ACCEPT_ERROR_PAUSE`, and a line each time would bury the
/// rest of the log.
#[derive(Debug, Default)]
struct AcceptFailures {
    last_logged: Option<std::time::Instant>,
    unlogged: u64,
}

/// See [`AcceptFailures`].
const ACCEPT_FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(5);

impl AcceptFailures {
    fn report(&mut self, error: &std::io::Error) {
        let now = std::time::Instant::now();
        if self
            .last_logged
            .is_some_and(|at| now.duration_since(at) < ACCEPT_FAILURE_LOG_INTERVAL)
        {
            self.unlogged += 1;
            return;
        }
        match std::mem::take(&mut self.unlogged) {
            0 => warn!("accept failed: {error}"),
            more => warn!("accept failed: {error} ({more} more failures since the last report)"),
        }
        self.last_logged = Some(now);
    }
}

/// The 503 for a connection over the bound: written, the write side shut, then what the client
/// sent read and dropped for a moment (so its unread request does not turn our close into a
/// reset that destroys the answer), and closed.
async fn reject(mut stream: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = tokio::time::timeout(REJECTION_LINGER, async {
        stream.write_all(SERVICE_UNAVAILABLE).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// The open-file limit less the headroom, at least 1 (Linux: `/proc/self/limits`; 1024
/// elsewhere or when it cannot be read).
fn default_connections_max() -> usize {
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse::<usize>().ok()
        })
        .unwrap_or(1024);
    limit.saturating_sub(FD_HEADROOM).max(1)
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, before the
/// first line is printed, so a signal sent right after it is never lost.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, Failure> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let install =
            |kind| signal(kind).map_err(|e| Failure::usage(format!("cannot handle signals: {e}")));
        let mut interrupt = install(SignalKind::interrupt())?;
        let mut terminate = install(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                biased;
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
