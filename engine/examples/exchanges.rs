//! Runs a fixed number of keep-alive exchanges through one `Channel`, nothing else: a
//! workload for instruction-level profiles of the engine, whose counts are repeatable.
//!
//!     cargo build --release -p twine-engine --example exchanges
//!     valgrind --tool=callgrind target/release/examples/exchanges 100000 [pipelined]
//!
//! Each request is a typical browser GET; the app's answer is a `200` with `Content-Type`,
//! `Content-Length` and a 12-byte body, as `twine serve --app hello` sends. With `pipelined`,
//! requests arrive sixteen per read.

use bytes::Bytes;
use twine_engine::{AppCommand, Channel, Config, Event, Input, Instant, Output, ResponseHead};

const GET: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench/1.0\r\n\
Accept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n";

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(100_000, |n| n.parse().expect("a count"));
    let per_read = if args.next().as_deref() == Some("pipelined") {
        16
    } else {
        1
    };
    let input = GET.repeat(per_read);
    let mut channel = Channel::new(Config::new(), Instant::ZERO);
    let mut written = 0;
    for _ in 0..count / per_read {
        channel
            .handle_input(Input::Received {
                now: Instant::ZERO,
                bytes: &input,
            })
            .expect("peer bytes are never refused");
        written += drain(&mut channel);
    }
    println!("{count} exchanges, {written} bytes written");
}

/// Takes every output, answering each request once its body ended; returns the bytes written.
fn drain(channel: &mut Channel) -> usize {
    let now = Instant::ZERO;
    let mut written = 0;
    let mut answers = Vec::new();
    loop {
        while let Some(output) = channel.poll_output() {
            match output {
                Output::Transmit(bytes) => written += bytes.len(),
                Output::Event(Event::BodyEnd { id }) => answers.push(id),
                _ => {}
            }
        }
        if answers.is_empty() {
            return written;
        }
        for request in answers.drain(..) {
            let head = ResponseHead::new(200)
                .with_header("Content-Type", "text/plain")
                .with_header("Content-Length", "12");
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
