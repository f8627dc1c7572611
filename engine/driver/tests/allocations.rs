//! Heap allocations per request, counted (dhat's testing mode is this binary's global
//! allocator), with upper bounds that fail when a change adds allocations to the hot path.
//!
//! Two views: the engine alone (a `Channel` fed keep-alive and 16-deep pipelined requests, its
//! app answering each as `twine serve --app hello` does), and the whole connection loop
//! (`run_connection` with the hello app over an in-memory duplex stream). The bounds are the
//! counts measured when they were set, which the note in each assertion names; lower them when
//! an allocation goes away.

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twine_apps::Hello;
use twine_driver::{run_connection, Clock, RunOptions};
use twine_engine::{
    AppCommand, Channel, Config, Event, Header, Headers, Input, Instant, Output, ResponseHead,
};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// A typical browser GET.
const GET: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench/1.0\r\n\
Accept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n";

/// The app's fields, a static list as `twine serve --app hello` sends.
static FIELDS: [Header; 2] = [
    Header::from_static("Content-Type", "text/plain"),
    Header::from_static("Content-Length", "12"),
];

/// Requests measured per case, after as many to warm up (buffers reach their sizes).
const REQUESTS: usize = 1024;

fn allocations() -> u64 {
    dhat::HeapStats::get().total_blocks
}

/// How the app makes its response fields.
#[derive(Clone, Copy)]
enum Fields {
    /// A static list, as `twine serve --app hello` does: nothing to allocate.
    Static,
    /// Appended one by one, as an app that builds its head does: one list per response.
    Owned,
}

impl Fields {
    fn head(self) -> ResponseHead {
        match self {
            Fields::Static => ResponseHead {
                headers: Headers::from_static(&FIELDS),
                ..ResponseHead::new(200)
            },
            Fields::Owned => ResponseHead::new(200)
                .with_header("Content-Type", "text/plain")
                .with_header("Content-Length", "12"),
        }
    }
}

/// Feeds `reads` reads of `per_read` requests each and answers every request.
fn engine_exchanges(channel: &mut Channel, fields: Fields, per_read: usize, reads: usize) {
    let input = GET.repeat(per_read);
    let now = Instant::ZERO;
    let mut answers = Vec::with_capacity(per_read);
    for _ in 0..reads {
        channel
            .handle_input(Input::Received { now, bytes: &input })
            .expect("peer bytes are never refused");
        loop {
            while let Some(output) = channel.poll_output() {
                if let Output::Event(Event::BodyEnd { id }) = output {
                    answers.push(id);
                }
            }
            if answers.is_empty() {
                break;
            }
            for request in answers.drain(..) {
                let head = fields.head();
                let data = Bytes::from_static(b"hello world\n");
                for command in [
                    AppCommand::SendHead { request, head },
                    AppCommand::SendBody { request, data },
                    AppCommand::Finish { request },
                ] {
                    channel
                        .handle_input(Input::App { now, command })
                        .expect("a valid command");
                }
            }
        }
    }
}

/// Allocations per request of `per_read`-deep reads through a channel alone.
fn engine_per_request(fields: Fields, per_read: usize) -> f64 {
    let mut channel = Channel::new(Config::new(), Instant::ZERO);
    engine_exchanges(&mut channel, fields, per_read, REQUESTS / per_read);
    let before = allocations();
    engine_exchanges(&mut channel, fields, per_read, REQUESTS / per_read);
    (allocations() - before) as f64 / REQUESTS as f64
}

/// Allocations per keep-alive request through the whole connection loop: the client sends a
/// request, reads the whole response, and sends the next.
fn loop_per_request() -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let serving = tokio::spawn(async move {
            let clock = Clock::start();
            let channel = Channel::new(Config::new(), clock.now());
            let mut app = Hello::new();
            run_connection(
                server,
                channel,
                &mut app,
                clock,
                &mut (),
                RunOptions::default(),
            )
            .await;
        });
        let mut response = [0u8; 4096];
        let mut exchange = async |client: &mut tokio::io::DuplexStream| {
            client.write_all(GET).await.expect("write");
            let mut got = 0;
            while !response[..got].ends_with(b"hello world\n") {
                let n = client.read(&mut response[got..]).await.expect("read");
                assert!(n > 0, "the server closed");
                got += n;
            }
        };
        for _ in 0..REQUESTS {
            exchange(&mut client).await;
        }
        let before = allocations();
        for _ in 0..REQUESTS {
            exchange(&mut client).await;
        }
        let per_request = (allocations() - before) as f64 / REQUESTS as f64;
        drop(client);
        serving.await.expect("the connection ends");
        per_request
    })
}

#[test]
fn allocations_per_request_stay_within_their_bounds() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let keep_alive = engine_per_request(Fields::Static, 1);
    let owned = engine_per_request(Fields::Owned, 1);
    let pipelined = engine_per_request(Fields::Static, 16);
    let whole_loop = loop_per_request();
    eprintln!(
        "allocations per request: engine keep-alive {keep_alive:.2} ({owned:.2} with owned \
         fields), engine pipelined x16 {pipelined:.2}, connection loop keep-alive \
         {whole_loop:.2}"
    );
    assert!(
        keep_alive <= KEEP_ALIVE_MAX,
        "engine keep-alive: {keep_alive:.2}"
    );
    assert!(
        owned <= OWNED_FIELDS_MAX,
        "engine keep-alive, owned fields: {owned:.2}"
    );
    assert!(
        pipelined <= PIPELINED_MAX,
        "engine pipelined: {pipelined:.2}"
    );
    assert!(whole_loop <= LOOP_MAX, "connection loop: {whole_loop:.2}");
}

/// Measured 1.00: the request head's field list (the app's fields are a static list). The
/// receive buffer, the head buffer and the queues keep their space from request to request
/// (they are given back when the connection goes idle, `release_idle_memory`), and the head's
/// bytes are split off an already shared buffer. (2.00 before static lists.)
const KEEP_ALIVE_MAX: f64 = 1.05;
/// Measured 2.00: the request head's field list and the app's owned field list.
const OWNED_FIELDS_MAX: f64 = 2.05;
/// Measured 1.00: the same one per request; a pipeline's reads and heads share the kept
/// buffers.
const PIPELINED_MAX: f64 = 1.05;
/// Measured 1.00: the engine's one. The driver's write staging buffer is kept from response
/// to response like the channel's buffers, its command lists are swapped, not replaced, and
/// reads land on the stack.
const LOOP_MAX: f64 = 1.05;
