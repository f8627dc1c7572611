//! Goal: the flush after a graceful close is bounded by the channel's own policy,
//! `Timeouts::abort` (`Connection::close_flush_timeout`): a client that reads nothing gets
//! the connection aborted exactly then; and a timeout too long to add to the clock never runs
//! out rather than failing the connection (a bug once: the deadline was computed with a plain
//! `+`, which panics on overflow). Method: the real connection loop over an in-memory pipe, on
//! a paused clock (the lingering close's 20 s pass at once).

use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twine_apps::Hello;
use twine_driver::{run_connection, Clock, RunOptions};
use twine_engine::{AppCommand, Channel, CloseReason, Config, Event, Instant, ResponseHead};

#[tokio::test(start_paused = true)]
async fn a_flush_timeout_too_long_to_add_never_runs_out() {
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let clock = Clock::start();
    let mut config = Config::new();
    config.timeouts.abort = Duration::MAX;
    let channel = Channel::new(config, clock.now());
    let serving = run_connection(
        server,
        channel,
        Hello::new(),
        clock,
        (),
        RunOptions::default(),
    );
    let talking = async {
        let request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        client
            .write_all(request)
            .await
            .expect("the request is sent");
        let mut received = Vec::new();
        client
            .read_to_end(&mut received)
            .await
            .expect("the response is read");
        received
    };
    let (end, received) = tokio::join!(serving, talking);
    assert_eq!(end.reason, CloseReason::Graceful);
    assert!(received.ends_with(b"\r\n\r\nhello world\n"), "{received:?}");
}

/// Answers every request at once with a body of `BIG` bytes.
struct Big;

const BIG: usize = 1 << 20;

impl twine_driver::App for Big {
    fn on_event(&mut self, _now: Instant, event: Event, commands: &mut Vec<AppCommand>) {
        if let Event::Request { id: request, .. } = event {
            let head = ResponseHead::new(200).with_header("Content-Length", BIG.to_string());
            let body = Bytes::from(vec![b'x'; BIG]);
            commands.push(AppCommand::Respond {
                request,
                head,
                body,
            });
        }
    }
}

/// A client sends `Connection: close` and its FIN, then reads nothing: the channel has handed
/// out the whole response and closes gracefully (nothing to linger for), and the bytes the
/// pipe cannot take wait for exactly `Timeouts::abort` (7 s here) before the connection is
/// aborted; the channel's own timers are over by then.
#[tokio::test(start_paused = true)]
async fn a_flush_the_client_never_reads_ends_in_an_abort_at_the_abort_timeout() {
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let clock = Clock::start();
    let mut config = Config::new();
    config.timeouts.abort = Duration::from_secs(7);
    let channel = Channel::new(config, clock.now());
    let started = tokio::time::Instant::now();
    let serving = run_connection(server, channel, Big, clock, (), RunOptions::default());
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    client
        .write_all(request)
        .await
        .expect("the request is sent");
    client.shutdown().await.expect("the FIN is sent");
    let end = serving.await;
    assert_eq!(end.reason, CloseReason::Abort);
    assert_eq!(started.elapsed(), Duration::from_secs(7));
    drop(client);
}
