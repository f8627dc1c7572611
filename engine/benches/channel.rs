//! Engine CPU cost per request, side by side with a floor: the least any HTTP/1.1 server must
//! do for the same exchange (parse the head with bare `httparse`, append fixed response bytes).
//! The ratio twine/floor is the price of everything twine adds (strict checks, framing,
//! persistence, timers, producer bookkeeping). Run: `cargo bench -p twine-engine`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use twine_engine::{AppCommand, Channel, Config, Event, Input, Instant, Output, ResponseHead};

const GET: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench/1.0\r\n\
Accept: text/html,application/xhtml+xml\r\nAccept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n";

/// Feeds `input` and answers every request with a 2-byte body, returning the bytes written.
fn serve(channel: &mut Channel, input: &[u8], now: Instant) -> usize {
    let mut written = 0;
    let mut at = 0;
    while at < input.len() {
        let n = channel.recv_window().min(input.len() - at);
        assert!(n > 0, "the window stays open while requests are answered");
        channel
            .handle_input(Input::Received {
                now,
                bytes: &input[at..at + n],
            })
            .unwrap();
        at += n;
        written += drain(channel, now);
    }
    written
}

fn drain(channel: &mut Channel, now: Instant) -> usize {
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
            let head = ResponseHead::new(200).with_header("Content-Length", "2");
            let commands = [
                AppCommand::SendHead { request, head },
                AppCommand::SendBody {
                    request,
                    data: Bytes::from_static(b"ok"),
                },
                AppCommand::Finish { request },
            ];
            for command in commands {
                channel.handle_input(Input::App { now, command }).unwrap();
            }
        }
    }
}

/// The floor: parse each head with bare httparse and append a fixed response.
fn floor(input: &[u8], out: &mut Vec<u8>) -> usize {
    let mut at = 0;
    out.clear();
    while at < input.len() {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&input[at..]) {
            Ok(httparse::Status::Complete(n)) => at += n,
            _ => break,
        }
        out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    }
    out.len()
}

fn requests(c: &mut Criterion) {
    let mut group = c.benchmark_group("requests");
    for count in [1usize, 16] {
        let input = GET.repeat(count);
        group.throughput(Throughput::Elements(count as u64));
        group.bench_with_input(BenchmarkId::new("twine", count), &input, |b, input| {
            let mut channel = Channel::new(Config::new(), Instant::ZERO);
            b.iter(|| black_box(serve(&mut channel, black_box(input), Instant::ZERO)));
        });
        group.bench_with_input(
            BenchmarkId::new("httparse floor", count),
            &input,
            |b, input| {
                let mut out = Vec::with_capacity(4096);
                b.iter(|| black_box(floor(black_box(input), &mut out)));
            },
        );
    }
    group.finish();
}

criterion_group!(benches, requests);
criterion_main!(benches);
