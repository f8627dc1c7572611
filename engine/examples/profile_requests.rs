//! A fixed loop of keep-alive requests through one channel, for profilers
//! (`valgrind --tool=callgrind target/release/examples/profile_requests`).

use bytes::Bytes;
use twine_engine::{AppCommand, Channel, Config, Event, Input, Instant, Output, ResponseHead};

const GET: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: bench/1.0\r\n\
Accept: text/html\r\nConnection: keep-alive\r\n\r\n";

fn main() {
    let mut channel = Channel::new(Config::new(), Instant::ZERO);
    let now = Instant::ZERO;
    let mut written = 0usize;
    for _ in 0..20_000 {
        channel
            .handle_input(Input::Received { now, bytes: GET })
            .unwrap();
        let mut answers = Vec::new();
        while let Some(output) = channel.poll_output() {
            if let Output::Event(Event::BodyEnd { id }) = output {
                answers.push(id);
            }
        }
        for request in answers {
            let head = ResponseHead::new(200).with_header("Content-Length", "2");
            for command in [
                AppCommand::SendHead { request, head },
                AppCommand::SendBody {
                    request,
                    data: Bytes::from_static(b"ok"),
                },
                AppCommand::Finish { request },
            ] {
                channel.handle_input(Input::App { now, command }).unwrap();
                while let Some(output) = channel.poll_output() {
                    if let Output::Transmit(bytes) = output {
                        written += bytes.len();
                    }
                }
            }
        }
    }
    println!("{written} bytes written");
}
