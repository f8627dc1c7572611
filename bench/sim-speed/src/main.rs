//! Simulated HTTP exchanges per wall-clock second: one client host opening C keep-alive
//! connections that each make N `GET`s (the last with `Connection: close`) to a server
//! answering `hello world\n`, over turmoil with a 1 ms tick, in two workloads:
//!
//! - **in turn** (the workload): each connection sends a request only once the
//!   previous response has arrived, over links of zero latency;
//! - **pipelined**: each connection sends all N requests at once, over links of 1 ms latency
//!   (the simulated network does least, so what each side does per exchange shows most).
//!
//! Each is served three ways:
//!
//! - twine through its whole harness (`twine_sim::run`: scripted clients, the trace recorded,
//!   invariants judged, faults off), with `twine_apps::Hello`;
//! - twine's driver and engine alone on a plain turmoil host (what the harness adds is the
//!   difference);
//! - hyper (`pipeline_flush`) on a plain turmoil host.
//!
//! The plain hosts share one client: C tasks writing their requests (all at once, or each
//! after the previous response's body arrived) and reading to EOF. What each client received
//! is counted after the clock stops, as the harness's is, so no side pays for the bench's own
//! check.
//!
//! Prints exchanges per second for each and the ratios, best of R rounds each, alternating.
//!
//!     cargo run --release --manifest-path bench/sim-speed/Cargo.toml -- [C] [N] [R] [ONLY]
//!
//! With ONLY (`harness`, `plain` or `hyper`), runs that one server on the in-turn workload,
//! R times, and prints nothing: the form to run under a profiler.

use std::cell::RefCell;
use std::convert::Infallible;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE, SERVER};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twine_apps::Hello;
use twine_driver::{run_connection, Clock, RunOptions};
use twine_engine::{Channel, Config};
use twine_sim::{app, ClientScript, Latency, Scenario, Seed};

const BODY: &[u8] = b"hello world\n";
const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";
const GET_CLOSE: &[u8] = b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";

/// How each connection sends its requests.
#[derive(Clone, Copy)]
enum Workload {
    /// Each request once the previous response's body arrived, over links of zero latency.
    InTurn,
    /// All requests at once, over links of 1 ms latency.
    Pipelined,
}

impl Workload {
    fn latency(self) -> Duration {
        match self {
            Workload::InTurn => Duration::ZERO,
            Workload::Pipelined => Duration::from_millis(1),
        }
    }
}

/// N requests for one connection, the last one closing it.
fn requests(n: usize) -> Vec<&'static [u8]> {
    (0..n)
        .map(|i| if i + 1 == n { GET_CLOSE } else { GET })
        .collect()
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// twine through the harness: seconds taken.
fn twine(workload: Workload, connections: usize, n: usize) -> f64 {
    let mut scenario = Scenario::new("bench/sim_speed", Config::new(), app::<Hello>());
    scenario.latency = Latency::fixed(workload.latency());
    let client = match workload {
        Workload::InTurn => ClientScript::in_turn(requests(n), BODY),
        Workload::Pipelined => ClientScript::pipelining(requests(n)),
    };
    scenario.clients = vec![client; connections];
    let started = Instant::now();
    let outcome = twine_sim::run(&scenario, Seed(1));
    let took = started.elapsed().as_secs_f64();
    for client in &outcome.clients {
        assert_eq!(count(&client.received, BODY), n, "every response arrived");
    }
    assert!(outcome.violations.is_empty(), "{:?}", outcome.violations);
    took
}

/// Which server a plain turmoil host runs.
#[derive(Clone, Copy)]
enum Plain {
    Hyper,
    /// twine's driver and engine with the hello app, no harness around them.
    Twine,
}

/// A server on a plain turmoil host, and a plain client host: seconds taken.
fn plain(server: Plain, workload: Workload, connections: usize, n: usize) -> f64 {
    let mut sim = turmoil::Builder::new()
        .tick_duration(Duration::from_millis(1))
        .min_message_latency(workload.latency())
        .max_message_latency(workload.latency())
        .simulation_duration(Duration::from_secs(3600))
        .build();
    sim.host("server", move || async move {
        let listener = turmoil::net::TcpListener::bind("0.0.0.0:80").await?;
        loop {
            let (stream, _) = listener.accept().await?;
            match server {
                Plain::Hyper => tokio::task::spawn_local(serve_hyper(stream)),
                Plain::Twine => tokio::task::spawn_local(serve_twine(stream)),
            };
        }
    });
    // What each connection received, judged once the clock has stopped.
    let streams: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    let received_by_client = Rc::clone(&streams);
    sim.client("clients", async move {
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let streams = Rc::clone(&received_by_client);
            tasks.push(tokio::task::spawn_local(async move {
                tokio::time::sleep(Duration::from_millis(1)).await;
                let mut stream = turmoil::net::TcpStream::connect("server:80").await?;
                let mut received = match workload {
                    Workload::InTurn => in_turn(&mut stream, n).await?,
                    Workload::Pipelined => {
                        stream.write_all(&requests(n).concat()).await?;
                        Vec::new()
                    }
                };
                stream.read_to_end(&mut received).await?;
                streams.borrow_mut().push(received);
                Ok::<(), std::io::Error>(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        Ok(())
    });
    let started = Instant::now();
    sim.run().expect("the plain simulation runs");
    let took = started.elapsed().as_secs_f64();
    let streams = streams.borrow();
    assert_eq!(streams.len(), connections, "every connection ended");
    for received in streams.iter() {
        assert_eq!(count(received, BODY), n, "every response arrived");
    }
    took
}

/// Sends each request once the previous response's body has arrived, as the harness's
/// `ClientScript::in_turn` does: what was received before the last request went out.
async fn in_turn(stream: &mut turmoil::net::TcpStream, n: usize) -> std::io::Result<Vec<u8>> {
    let mut received = Vec::new();
    // Where the last body seen ends: the next search starts there.
    let mut seen_to = 0;
    for (i, request) in requests(n).into_iter().enumerate() {
        if i > 0 {
            loop {
                let unseen = &received[seen_to..];
                if let Some(at) = unseen.windows(BODY.len()).position(|w| w == BODY) {
                    seen_to += at + BODY.len();
                    break;
                }
                if stream.read_buf(&mut received).await? == 0 {
                    return Ok(received);
                }
            }
        }
        stream.write_all(request).await?;
    }
    Ok(received)
}

async fn serve_hyper(stream: turmoil::net::TcpStream) {
    let service = service_fn(|_: Request<hyper::body::Incoming>| async {
        let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
        let text = HeaderValue::from_static("text/plain");
        response.headers_mut().insert(CONTENT_TYPE, text);
        // The bytes twine sends (`Server: twine` by default).
        response
            .headers_mut()
            .insert(SERVER, HeaderValue::from_static("hyper"));
        Ok::<_, Infallible>(response)
    });
    let _ = http1::Builder::new()
        .pipeline_flush(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn serve_twine(stream: turmoil::net::TcpStream) {
    let clock = Clock::start();
    let channel = Channel::new(Config::new(), clock.now());
    let mut app = Hello::new();
    run_connection(
        stream,
        channel,
        &mut app,
        clock,
        &mut (),
        RunOptions::default(),
    )
    .await;
}

/// Best of `rounds` for each server, alternating, as exchanges per second.
fn measure(workload: Workload, connections: usize, n: usize, rounds: usize) -> [f64; 3] {
    let (mut harness, mut bare, mut hyper) = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..rounds {
        harness = harness.min(twine(workload, connections, n));
        bare = bare.min(plain(Plain::Twine, workload, connections, n));
        hyper = hyper.min(plain(Plain::Hyper, workload, connections, n));
    }
    let exchanges = (connections * n) as f64;
    [harness, bare, hyper].map(|secs| exchanges / secs)
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .take(3)
        .map(|a| a.parse::<usize>().expect("a number"));
    let connections = args.next().unwrap_or(50);
    let n = args.next().unwrap_or(200);
    let rounds = args.next().unwrap_or(3);
    if let Some(only) = std::env::args().nth(4) {
        for _ in 0..rounds {
            match only.as_str() {
                "harness" => twine(Workload::InTurn, connections, n),
                "plain" => plain(Plain::Twine, Workload::InTurn, connections, n),
                "hyper" => plain(Plain::Hyper, Workload::InTurn, connections, n),
                other => {
                    eprintln!("error: ONLY is harness, plain or hyper, not {other:?}");
                    std::process::exit(2);
                }
            };
        }
        return;
    }
    let workloads = [
        (Workload::InTurn, "in turn, zero latency"),
        (Workload::Pipelined, "pipelined, 1 ms latency"),
    ];
    println!("{connections} keep-alive connections x {n} requests, best of {rounds}");
    for (workload, name) in workloads {
        let [harness, bare, hyper] = measure(workload, connections, n, rounds);
        println!("{name}:");
        println!("  twine, the whole harness (trace on)  {harness:>10.0} exchanges/s");
        println!("  twine, a plain turmoil host          {bare:>10.0} exchanges/s");
        println!("  hyper, a plain turmoil host          {hyper:>10.0} exchanges/s");
        println!(
            "  harness / hyper                      {:>10.2}",
            harness / hyper
        );
        println!(
            "  plain twine / hyper                  {:>10.2}",
            bare / hyper
        );
    }
}
