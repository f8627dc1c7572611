//! Goal: the flush after a graceful close is bounded by `RunOptions::flush_timeout`, and a
//! timeout too long to add to the clock never runs out rather than failing the connection
//! (found in review: the deadline was computed with a plain `+`, which panics on overflow).
//! Method: the real connection loop over an in-memory pipe, on a paused clock (the lingering
//! close's 20 s pass at once); the client asks for a response with `Connection: close` and
//! reads to the end. Before the fix this test panicked.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twine_driver::apps::Hello;
use twine_driver::{run_connection, Clock, RunOptions};
use twine_engine::{Channel, CloseReason, Config};

#[tokio::test(start_paused = true)]
async fn a_flush_timeout_too_long_to_add_never_runs_out() {
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let clock = Clock::start();
    let channel = Channel::new(Config::new(), clock.now());
    let options = RunOptions {
        flush_timeout: Duration::MAX,
        ..RunOptions::default()
    };
    let serving = run_connection(server, channel, Hello::new(), clock, (), options);
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
