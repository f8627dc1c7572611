//! Goal (DESIGN.md §8): a connection gives back the buffers it keeps from request to request
//! once it has had nothing to do for `idle_release_after`, not before, once per idle spell,
//! and goes on serving afterwards.
//! Method: the real connection loop runs a `Channel` wrapped to count its
//! `release_idle_memory` calls, over an in-memory pipe, on a paused clock (sleeps move time
//! exactly). The delays are literal.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use twine_apps::Hello;
use twine_driver::{run_connection, Clock, RunOptions};
use twine_engine::{Channel, Config, Connection, Input, Instant, Output, UsageError};

/// A channel whose releases are counted.
struct Counting {
    channel: Channel,
    releases: Arc<AtomicUsize>,
}

impl Connection for Counting {
    fn handle_input(&mut self, input: Input<'_>) -> Result<(), UsageError> {
        self.channel.handle_input(input)
    }
    fn poll_output(&mut self) -> Option<Output> {
        self.channel.poll_output()
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.channel.poll_timeout()
    }
    fn recv_window(&self) -> usize {
        self.channel.recv_window()
    }
    fn close_flush_timeout(&self) -> std::time::Duration {
        self.channel.config().timeouts.abort
    }
    fn release_idle_memory(&mut self) {
        self.releases.fetch_add(1, Ordering::SeqCst);
        self.channel.release_idle_memory();
    }
}

async fn exchange(client: &mut DuplexStream) {
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .await
        .expect("write");
    let mut response = Vec::new();
    let mut chunk = [0u8; 1024];
    while !response.ends_with(b"hello world\n") {
        let n = client.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the server closed");
        response.extend_from_slice(&chunk[..n]);
    }
    assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"));
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[test]
fn an_idle_connection_releases_its_buffers_once_after_the_delay() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let releases = Arc::new(AtomicUsize::new(0));
    let count = || releases.load(Ordering::SeqCst);
    runtime.block_on(async {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let clock = Clock::start();
        let channel = Counting {
            channel: Channel::new(Config::new(), clock.now()),
            releases: Arc::clone(&releases),
        };
        let mut app = Hello::new();
        let options = RunOptions {
            idle_release_after: Duration::from_millis(100),
            ..RunOptions::default()
        };
        let mut observer = ();
        let serving = run_connection(server, channel, &mut app, clock, &mut observer, options);
        let talking = async {
            exchange(&mut client).await;
            sleep_ms(99).await;
            assert_eq!(count(), 0, "released before the delay");
            sleep_ms(2).await;
            assert_eq!(count(), 1, "not released after the delay");
            sleep_ms(5_000).await;
            assert_eq!(count(), 1, "released again with nothing in between");

            // Served as before; activity restarts the delay.
            exchange(&mut client).await;
            sleep_ms(60).await;
            exchange(&mut client).await;
            sleep_ms(60).await;
            assert_eq!(count(), 1, "released 60 ms after the last request");
            sleep_ms(41).await;
            assert_eq!(count(), 2, "not released 101 ms after the last request");
            exchange(&mut client).await;
            drop(client);
        };
        let (end, ()) = tokio::join!(serving, talking);
        assert_eq!(end.reason, twine_engine::CloseReason::Graceful);
    });
}
