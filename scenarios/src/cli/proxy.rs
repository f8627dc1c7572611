//! `twine proxy`: the engine as a reverse proxy in front of one HTTP/1.1 server, with the
//! same first line, flags, signals and drain as `twine serve` (`listener.rs`).

use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::net::TcpStream;
use twine_driver::proxy::{ended_with_abort, Proxy, UpstreamPool, UpstreamTask};
use twine_driver::{run_connection, Clock};
use twine_engine::proxy::ProxyConfig;
use twine_engine::{ClientConfig, ClientTimeouts, CloseReason};

use super::listener::{run_server, Accepted, Run, ServerArgs};
use super::Failure;

/// Arguments of `twine proxy`.
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// The server to forward to.
    #[arg(long, value_name = "HOST:PORT")]
    upstream: String,

    /// Send the upstream's address as `Host` instead of the client's.
    #[arg(long)]
    rewrite_host: bool,

    /// Put every request target under this path (`/x` under `/app` is `/app/x`).
    #[arg(long, value_name = "P", default_value = "")]
    prefix: String,

    /// From the end of a request to the upstream's response head (504 past it); also bounds
    /// connecting to the upstream (502 past it).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    upstream_timeout: Duration,

    /// Longest silence of the upstream within a response body; past it the response is cut.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    upstream_body_timeout: Duration,

    /// Idle keep-alive connections kept open to the upstream for reuse.
    #[arg(long, default_value_t = 64)]
    upstream_connections_max: usize,

    /// How long an idle upstream connection is kept.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
    upstream_idle_timeout: Duration,

    #[command(flatten)]
    server: ServerArgs,
}

pub(crate) fn run(args: ProxyArgs) -> Result<ExitCode, Failure> {
    let upstream = resolve(&args.upstream)?;
    let prefix = args.prefix.clone();
    if !(prefix.is_empty() || prefix.starts_with('/')) {
        return Err(Failure::usage(format!(
            "--prefix must start with '/': '{prefix}'"
        )));
    }
    let authority = match upstream.port() {
        80 => args
            .upstream
            .rsplit_once(':')
            .map_or(args.upstream.clone(), |(host, _)| host.to_owned()),
        _ => args.upstream.clone(),
    };
    let forwarding = ProxyConfig::new(authority)
        .with_rewrite_host(args.rewrite_host)
        .with_path_prefix(prefix);
    let mut timeouts = ClientTimeouts::default();
    timeouts.response_head = args.upstream_timeout;
    timeouts.response_body_idle = args.upstream_body_timeout;
    timeouts.idle_keep_alive = args.upstream_idle_timeout;
    let mut client = ClientConfig::new().with_timeouts(timeouts);
    // The head limits apply to responses too; the body limit is the client's (413), not the
    // upstream's: a response is never refused for its size.
    client.limits = args.server.config().limits;
    client.limits.body_bytes_max = None;
    let connect_timeout = args.upstream_timeout;
    let pool = UpstreamPool::new(args.upstream_connections_max, move |task| {
        open_upstream(task, upstream, client.clone(), connect_timeout)
    });
    run_server(&args.server, move |accepted| {
        proxy_connection(accepted, forwarding.clone(), pool.clone())
    })
}

/// `HOST:PORT` to one address, resolved once at start: a typo is a one-line error now, not
/// a 502 on every request.
fn resolve(upstream: &str) -> Result<SocketAddr, Failure> {
    let invalid = |why: String| Failure::usage(format!("invalid --upstream '{upstream}': {why}"));
    if !upstream.contains(':') {
        return Err(invalid("expected HOST:PORT".into()));
    }
    let mut addresses = upstream
        .to_socket_addrs()
        .map_err(|e| invalid(e.to_string()))?;
    addresses
        .next()
        .ok_or_else(|| invalid("it resolves to no address".into()))
}

fn open_upstream(
    task: UpstreamTask,
    address: SocketAddr,
    config: ClientConfig,
    connect_timeout: Duration,
) {
    tokio::spawn(async move {
        // A black-holed upstream would otherwise hold the client for the kernel's SYN retries
        // (about two minutes): past the upstream timeout the connect fails, answered 502.
        let connect = async move {
            let connecting = tokio::time::timeout(connect_timeout, TcpStream::connect(address));
            let stream = connecting.await.map_err(|_| io::ErrorKind::TimedOut)??;
            let _ = stream.set_nodelay(true);
            Ok(stream)
        };
        let end = task.run(connect, config, Clock::start(), &mut ()).await;
        if ended_with_abort(&end) {
            if let Some(end) = end {
                let _ = end.stream.set_zero_linger();
            }
        }
    });
}

/// One client connection of the proxy. Not an `async fn`, for the reason `serve_connection`
/// gives.
fn proxy_connection<F: Fn(UpstreamTask)>(
    accepted: Accepted,
    config: ProxyConfig,
    pool: Arc<UpstreamPool<F>>,
) -> impl Future<Output = ()> {
    let Accepted { run, live } = accepted;
    async move {
        // Counted until this future is done or dropped.
        let _live = live;
        let Some((stream, run)) = run.establish().await else {
            return;
        };
        let from = run.connection();
        let Run {
            channel,
            clock,
            options,
            mut log,
            ..
        } = run;
        let mut app = Proxy::new(config, from, pool);
        let end = run_connection(stream, channel, &mut app, clock, &mut log, options).await;
        if end.reason == CloseReason::Abort {
            // An abort is a reset: the client must not mistake a cut response for a whole
            // one.
            let _ = end.stream.tcp().set_zero_linger();
        }
    }
}
