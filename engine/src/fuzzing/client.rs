//! The `client_response` target: a `ClientConnection` that sent one request (GET, or HEAD
//! when the first byte is odd) reads the fuzzer's bytes as the server's answer.
//!
//! Properties, whatever the bytes:
//! - however the answer is split into reads, and whatever credit the app grants when, the
//!   events are the same (body data merged);
//! - body data never exceeds the credit granted, and a `Known(n)` body that ends delivered
//!   exactly `n` bytes;
//! - the exchange ends at most once (`BodyEnd`, `ProtocolError` or `Lost`; a protocol error
//!   without an id is the connection's, for bytes after the exchange), and a `Known(n)` body
//!   that ends delivered exactly `n` bytes.

use bytes::Bytes;

use super::{fnv1a, shown, Reader};
use crate::message::{BodyLength, Headers, Method, RequestHead, Version};
use crate::{AppCommand, ClientConfig, ClientConnection, Event, Input, Instant, Output, RequestId};

/// What a run saw, body data merged.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Informational(u16),
    Response(u16, BodyLength),
    Body(Vec<u8>),
    BodyEnd,
    /// The connection stays open for another request: only right after `BodyEnd`.
    Reusable,
    Lost,
    Error(crate::ProtocolErrorKind, u16),
}

pub(super) fn check(data: &[u8]) {
    let mut reader = Reader::new(data);
    let head = reader.byte() % 2 == 1;
    let answer = reader.rest();
    let whole = run(answer, head, &[], u64::MAX);
    let hash = fnv1a(data);
    let cuts: Vec<usize> = (0..4)
        .map(|i| (hash >> (i * 16)) as usize % (answer.len() + 1))
        .collect();
    let credit = 1 + hash % 64;
    let split = run(answer, head, &cuts, credit);
    // `Reusable` says how the connection stood when the exchange ended: bytes that arrive in
    // the same read may already end it, in a later read only after it. The rest may not
    // depend on the split.
    let exchange = |seen: Vec<Seen>| -> Vec<Seen> {
        seen.into_iter().filter(|s| *s != Seen::Reusable).collect()
    };
    let (whole, split) = (exchange(whole), exchange(split));
    assert_eq!(
        whole,
        split,
        "split at {cuts:?} with credit {credit} changed the events of {}",
        shown(answer)
    );
}

fn run(answer: &[u8], head: bool, cuts: &[usize], credit_step: u64) -> Vec<Seen> {
    let now = Instant::ZERO;
    let mut client = ClientConnection::new(ClientConfig::new(), now);
    let request = RequestHead {
        method: Method::new(if head { "HEAD" } else { "GET" }),
        target: Bytes::from_static(b"/"),
        version: Version::Http11,
        headers: Headers::new().with("Host", "fuzz"),
        body: BodyLength::Known(0),
        expect_continue: false,
    };
    let id = RequestId::from_sequence(0);
    let commands = [
        AppCommand::SendRequest { head: request },
        AppCommand::Finish { request: id },
    ];
    for command in commands {
        client
            .handle_input(Input::App { now, command })
            .expect("a valid request");
    }
    let mut log = Log::default();
    log.drain(&mut client);
    let mut cuts = cuts.to_vec();
    cuts.sort_unstable();
    let mut at = 0;
    for cut in cuts.into_iter().chain([answer.len()]) {
        let mut piece = &answer[at..cut.max(at)];
        at = cut.max(at);
        while !piece.is_empty() && !client.is_closed() {
            let window = client.recv_window();
            if window == 0 {
                log.grant(&mut client, credit_step);
                if client.recv_window() == 0 {
                    break;
                }
                continue;
            }
            let (now_bytes, rest) = piece.split_at(window.min(piece.len()));
            client
                .handle_input(Input::Received {
                    now,
                    bytes: now_bytes,
                })
                .expect("peer bytes never fail");
            log.drain(&mut client);
            piece = rest;
            log.grant(&mut client, credit_step);
        }
    }
    if !client.is_closed() {
        client
            .handle_input(Input::ReceivedEof { now })
            .expect("peer EOF never fails");
        log.drain(&mut client);
    }
    // All the credit it may want, so buffered bytes are judged.
    for _ in 0..4 {
        log.grant(&mut client, u64::MAX / 8);
    }
    log.seen
}

#[derive(Default)]
struct Log {
    seen: Vec<Seen>,
    granted: u64,
    delivered: u64,
    ended: bool,
    known: Option<u64>,
}

impl Log {
    fn grant(&mut self, client: &mut ClientConnection, bytes: u64) {
        if self.ended || client.is_closed() {
            return;
        }
        let command = AppCommand::Consume {
            request: RequestId::from_sequence(0),
            bytes,
        };
        if client
            .handle_input(Input::App {
                now: Instant::ZERO,
                command,
            })
            .is_ok()
        {
            self.granted = self.granted.saturating_add(bytes);
        }
        self.drain(client);
    }

    fn drain(&mut self, client: &mut ClientConnection) {
        while let Some(output) = client.poll_output() {
            let Output::Event(event) = output else {
                continue;
            };
            // A protocol error without an id is the connection's (bytes with no request in
            // flight), not an ending of the exchange.
            let terminal = matches!(
                event,
                Event::BodyEnd { .. }
                    | Event::Lost { .. }
                    | Event::ProtocolError { id: Some(_), .. }
            );
            assert!(
                !(terminal && self.ended),
                "{event:?} after the exchange ended"
            );
            self.ended |= terminal;
            let seen = match event {
                Event::Informational { head, .. } => Seen::Informational(head.status),
                Event::Response { head, body, .. } => {
                    self.known = match body {
                        BodyLength::Known(n) => Some(n),
                        _ => None,
                    };
                    Seen::Response(head.status, body)
                }
                Event::Body { data, .. } => {
                    self.delivered += data.len() as u64;
                    assert!(
                        self.delivered <= self.granted,
                        "{} body bytes delivered against {} granted",
                        self.delivered,
                        self.granted
                    );
                    if let Some(Seen::Body(previous)) = self.seen.last_mut() {
                        previous.extend_from_slice(&data);
                        continue;
                    }
                    Seen::Body(data.to_vec())
                }
                Event::BodyEnd { .. } => {
                    if let Some(n) = self.known {
                        assert_eq!(self.delivered, n, "a Known({n}) body ended short or long");
                    }
                    Seen::BodyEnd
                }
                Event::Reusable => {
                    assert_eq!(
                        self.seen.last(),
                        Some(&Seen::BodyEnd),
                        "Reusable not after BodyEnd"
                    );
                    Seen::Reusable
                }
                Event::Lost { .. } => Seen::Lost,
                Event::ProtocolError { error, .. } => Seen::Error(error.kind, error.status),
                other => panic!("a client connection reported {other:?}"),
            };
            self.seen.push(seen);
        }
    }
}
