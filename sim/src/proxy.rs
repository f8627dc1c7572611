//! A proxy run's two extra pieces: the proxy's upstream side on the server host (the real
//! `twine_driver::proxy` pool, each upstream connection a task on turmoil sockets), and the
//! origin host behind it, running a built-in app on the real engine or a misbehaving script
//! (as the scenario's `ProxySetup` describes).
//!
//! The origin's engine inputs and outputs are traced as `Event::Upstream` (`u0`, `u1`, ... in
//! the order it accepted them); a script's reads and writes too. The proxy's upstream
//! connections are not traced (the origin's view shows what crossed), but their timers count
//! as pending, so a run is never declared over while a 504 is still to come.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twine_driver::proxy::{UpstreamPool, UpstreamTask};
use twine_driver::{run_connection, Clock, RunOptions};
use twine_engine::{Channel, CloseReason, Config};

use crate::event::{Event, ServerEvent};
use crate::link::{End, Links, Windowed};
use crate::net::hold_fin;
use crate::observer::{Sink, TraceObserver};
use crate::pending::{Engine, Pending};
use crate::scenario::{AppFactory, Origin, OriginStep, ProxySetup};
use crate::trace::Recorder;

/// The origin's host name and port.
pub const ORIGIN: (&str, u16) = ("upstream", 80);

/// The pool of the proxy's upstream connections, for one incarnation of the server host.
pub(crate) type SimPool = Arc<UpstreamPool<Box<dyn Fn(UpstreamTask)>>>;

/// A pool whose connections connect to the origin over turmoil, their timers reported to
/// `pending`.
pub(crate) fn upstream_pool(
    setup: &ProxySetup,
    (recorder, net, pending): (Recorder, crate::net::Network, Pending),
    links: Links,
    clock: Clock,
) -> SimPool {
    let made = Rc::new(Cell::new(0_u32));
    let client = setup.client.clone();
    let open: Box<dyn Fn(UpstreamTask)> = Box::new(move |task: UpstreamTask| {
        let n = made.get();
        made.set(n + 1);
        let (client, pending, links) = (client.clone(), pending.clone(), links.clone());
        let (recorder, net) = (recorder.clone(), net.clone());
        tokio::task::spawn_local(async move {
            let engine = Engine::ProxyClient(n);
            let _ended = Ended(pending.clone(), engine);
            let mut observer = TraceObserver::new(recorder, net, pending, Sink::ProxyClient(n));
            let connect = async move {
                let stream = turmoil::net::TcpStream::connect(ORIGIN).await?;
                let port = stream.local_addr()?.port();
                Ok(links.wrap(stream, port, End::Proxy, n))
            };
            if let Some(end) = task.run(connect, client, clock, &mut observer).await {
                let mut stream = end.stream;
                if end.reason == CloseReason::Graceful {
                    // Dropping the socket sends the FIN; hold it while turmoil would lose it.
                    hold_fin(|| stream.fin_would_be_lost()).await;
                }
            }
        });
    });
    UpstreamPool::new(setup.idle_max, open)
}

/// Counts an origin connection as open while its task lives (a restart may drop it).
struct OriginOpen(crate::net::Network);

impl OriginOpen {
    fn new(net: crate::net::Network) -> OriginOpen {
        net.connection_opened();
        OriginOpen(net)
    }
}

impl Drop for OriginOpen {
    fn drop(&mut self) {
        self.0.origin_connection_closed();
    }
}

/// Forgets an engine's pending timers when its task ends, also when a host restart drops the
/// task mid-flight.
struct Ended(Pending, Engine);

impl Drop for Ended {
    fn drop(&mut self) {
        self.0.ended(self.1);
    }
}

/// The origin host's main future: accept forever, each connection by the origin's kind.
pub(crate) async fn serve_origin(
    origin: Origin,
    (recorder, net, pending): (Recorder, crate::net::Network, Pending),
    links: Links,
    accepted: Rc<Cell<u32>>,
) -> turmoil::Result {
    if matches!(origin, Origin::Down) {
        // The host is up and its port closed, so a connection attempt is refused at once.
        std::future::pending::<()>().await;
    }
    let listener = turmoil::net::TcpListener::bind(("0.0.0.0", ORIGIN.1)).await?;
    let clock = Clock::started_ago(turmoil::sim_elapsed().unwrap_or_default());
    loop {
        let (stream, peer) = listener.accept().await?;
        let conn = accepted.get();
        accepted.set(conn + 1);
        let stream = links.wrap(stream, peer.port(), End::Origin, conn);
        let (recorder, net, pending) = (recorder.clone(), net.clone(), pending.clone());
        match &origin {
            Origin::App { config, app } => {
                let (config, app) = ((**config).clone(), app.clone());
                // The run waits for the real engine's connections to end (its timers end
                // them); a script's are the harness's own and may wait forever.
                let open = OriginOpen::new(net.clone());
                tokio::task::spawn_local(async move {
                    let _open = open;
                    let _ended = Ended(pending.clone(), Engine::Origin(conn));
                    let sink = Sink::Origin(conn);
                    let observer = TraceObserver::new(recorder.clone(), net, pending, sink);
                    origin_connection(stream, config, app, clock, observer, conn, &recorder).await;
                });
            }
            Origin::Script(script) => {
                let steps = script(conn);
                let origin = scripted_origin(stream, steps, conn, (recorder, pending));
                tokio::task::spawn_local(origin);
            }
            Origin::Down => unreachable!("a down origin accepts nothing"),
        }
    }
}

async fn origin_connection(
    stream: Windowed<turmoil::net::TcpStream>,
    config: Config,
    app: AppFactory,
    clock: Clock,
    mut observer: TraceObserver,
    conn: u32,
    recorder: &Recorder,
) {
    recorder.record(None, upstream(conn, ServerEvent::Accepted));
    let channel = Channel::new(config.clone(), clock.now());
    let mut app = app();
    let options = RunOptions::default();
    let end = run_connection(stream, channel, &mut app, clock, &mut observer, options).await;
    let ended = match end.reason {
        CloseReason::Graceful => ServerEvent::SocketClosed,
        CloseReason::Abort => ServerEvent::SocketAborted,
    };
    let mut stream = end.stream;
    if end.reason == CloseReason::Graceful {
        hold_fin(|| stream.fin_would_be_lost()).await;
    }
    recorder.record(None, upstream(conn, ended));
}

async fn scripted_origin(
    mut stream: Windowed<turmoil::net::TcpStream>,
    steps: Vec<OriginStep>,
    conn: u32,
    (recorder, pending): (Recorder, Pending),
) {
    recorder.record(None, upstream(conn, ServerEvent::Accepted));
    let mut buf = vec![0_u8; 16 * 1024];
    let mut head = Vec::new();
    for step in steps {
        match step {
            OriginStep::ReadHead => {
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let Ok(n) = stream.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        recorder.record(None, upstream(conn, ServerEvent::ReadEof));
                        break;
                    }
                    let bytes = Bytes::copy_from_slice(&buf[..n]);
                    recorder.record(None, Event::UpstreamReceived { conn, bytes });
                    head.extend_from_slice(&buf[..n]);
                }
                // Keep what followed the head: a `Read` step counts it.
                let end = head
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(head.len(), |at| at + 4);
                head.drain(..end);
            }
            OriginStep::Read(mut left) => {
                // Bytes after the head in the head's last read count as read.
                let mut carried = std::mem::take(&mut head);
                left = left.saturating_sub(carried.len());
                carried.clear();
                while left > 0 {
                    let want = left.min(buf.len());
                    match stream.read(&mut buf[..want]).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let bytes = Bytes::copy_from_slice(&buf[..n]);
                            recorder.record(None, Event::UpstreamReceived { conn, bytes });
                            left -= n;
                        }
                    }
                }
            }
            OriginStep::Write(bytes) => {
                if stream.write_all(&bytes).await.is_err() {
                    recorder.record(None, upstream(conn, ServerEvent::SocketAborted));
                    return;
                }
                recorder.record(None, Event::UpstreamSent { conn, bytes });
            }
            OriginStep::Sleep(duration) => {
                let _busy = pending.origin_busy();
                tokio::time::sleep(duration).await;
            }
            OriginStep::Close => break,
            OriginStep::Hang => {
                let ended = loop {
                    match stream.read(&mut buf).await {
                        Ok(0) => break ServerEvent::ReadEof,
                        Err(_) => break ServerEvent::ConnectionLost,
                        Ok(_) => {}
                    }
                };
                recorder.record(None, upstream(conn, ended));
                break;
            }
        }
    }
    let busy = pending.origin_busy();
    hold_fin(|| stream.fin_would_be_lost()).await;
    drop(busy);
    recorder.record(None, upstream(conn, ServerEvent::SocketClosed));
    drop(stream);
}

fn upstream(conn: u32, event: ServerEvent) -> Event {
    Event::Upstream { conn, event }
}
