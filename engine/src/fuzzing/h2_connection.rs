//! The `h2_connection` property: an HTTP/2 connection reading the fuzzer's bytes (after a
//! valid preface) as its client's frames, in reads the input sizes, with an app that answers
//! every request (and aborts some).
//!
//! 1. Peer bytes never panic the connection (its own asserts included: no DATA past a window,
//!    no frame a stream's state forbids).
//! 2. Everything it writes is well-formed: frames that parse, header blocks that decode with
//!    one HPACK context across the connection.
//! 3. Each request's events come in order: `Request` first, `BodyEnd` at most once, nothing
//!    after `Lost`; nothing at all after `Close`.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};

use crate::config::Config;
use crate::h2::connection::PREFACE;
use crate::h2::frame::{Frame, FrameDecoder, MAX_FRAME_SIZE_LIMIT};
use crate::h2::hpack::HpackDecoder;
use crate::h2::H2Connection;
use crate::io::{AppCommand, Event, Input, Output, RequestId};
use crate::message::ResponseHead;
use crate::time::Instant;

#[derive(Default)]
struct Seen {
    body_ended: bool,
    lost: bool,
}

pub(super) fn check(data: &[u8]) {
    let mut now = Instant::ZERO;
    let mut conn = H2Connection::new(Config::new(), now);
    let mut client = Client::default();
    client.drain(&mut conn);
    let mut input = PREFACE.to_vec();
    input.extend_from_slice(data);
    let sizes = data.iter().map(|&b| usize::from(b % 61) + 1);
    let mut rest = &input[..];
    let mut sizes = sizes.chain(std::iter::repeat(usize::MAX));
    while !rest.is_empty() && !client.closed {
        let window = conn.recv_window();
        let n = sizes
            .next()
            .unwrap_or(usize::MAX)
            .min(rest.len())
            .min(window);
        if n == 0 {
            break;
        }
        conn.handle_input(Input::Received {
            now,
            bytes: &rest[..n],
        })
        .expect("peer bytes are never refused");
        rest = &rest[n..];
        client.drain(&mut conn);
        for command in std::mem::take(&mut client.commands) {
            // The app may be refused (a stream reset meanwhile); it never panics.
            let _ = conn.handle_input(Input::App { now, command });
            client.drain(&mut conn);
        }
        now = now + std::time::Duration::from_millis(10);
    }
    let _ = conn.handle_input(Input::ReceivedEof { now });
    client.drain(&mut conn);
    // Property 2: the server's bytes are frames, its header blocks decode in one context.
    let wire = &mut client.wire;
    let decoder = FrameDecoder::new(MAX_FRAME_SIZE_LIMIT);
    let mut hpack = HpackDecoder::new(4096, usize::MAX);
    let mut block: Option<BytesMut> = None;
    while let Some(frame) = decoder.decode(wire).expect("property 2: our frames parse") {
        match frame {
            Frame::Headers {
                fragment,
                end_headers,
                ..
            } => {
                assert!(block.is_none(), "property 2: HEADERS inside a block");
                let bytes = BytesMut::from(&fragment[..]);
                if end_headers {
                    hpack
                        .decode(&bytes)
                        .expect("property 2: our header blocks decode");
                } else {
                    block = Some(bytes);
                }
            }
            Frame::Continuation {
                fragment,
                end_headers,
                ..
            } => {
                let bytes = block
                    .as_mut()
                    .expect("property 2: CONTINUATION after HEADERS");
                bytes.extend_from_slice(&fragment);
                if end_headers {
                    let whole = block.take().expect("a block");
                    hpack
                        .decode(&whole)
                        .expect("property 2: our header blocks decode");
                }
            }
            _ => assert!(block.is_none(), "property 2: a frame inside a header block"),
        }
    }
    assert!(wire.is_empty(), "property 2: a partial frame was written");
}

/// The client's side of the run: what the connection wrote, the requests it reported, the
/// app's commands waiting to be fed.
#[derive(Default)]
struct Client {
    wire: BytesMut,
    requests: BTreeMap<RequestId, Seen>,
    closed: bool,
    commands: Vec<AppCommand>,
}

impl Client {
    /// Takes every output of the connection.
    fn drain(&mut self, conn: &mut H2Connection) {
        while let Some(output) = conn.poll_output() {
            assert!(!self.closed, "property 3: output after Close: {output:?}");
            match output {
                Output::Transmit(bytes) => self.wire.extend_from_slice(&bytes),
                Output::Close(_) => self.closed = true,
                Output::Event(event) => on_event(event, &mut self.requests, &mut self.commands),
                _ => {}
            }
        }
    }
}

fn on_event(event: Event, requests: &mut BTreeMap<RequestId, Seen>, out: &mut Vec<AppCommand>) {
    match event {
        Event::Request { id, .. } => {
            assert!(
                requests.insert(id, Seen::default()).is_none(),
                "property 3: {id} twice"
            );
            out.push(AppCommand::Consume {
                request: id,
                bytes: 1 << 20,
            });
            if id.sequence() % 5 == 3 {
                out.push(AppCommand::Abort { request: id });
                return;
            }
            let len = (id.sequence() * 7919 % 40_000) as usize;
            let head = ResponseHead::new(200).with_header("Content-Length", len.to_string());
            out.push(AppCommand::SendHead { request: id, head });
            out.push(AppCommand::SendBody {
                request: id,
                data: Bytes::from(vec![b'r'; len]),
            });
            out.push(AppCommand::Finish { request: id });
        }
        Event::Body { id, .. } => {
            let seen = requests
                .get(&id)
                .expect("property 3: body before its request");
            assert!(
                !seen.lost && !seen.body_ended,
                "property 3: body after the end of {id}"
            );
        }
        Event::BodyEnd { id } => {
            let seen = requests
                .get_mut(&id)
                .expect("property 3: body end before its request");
            assert!(
                !seen.lost && !seen.body_ended,
                "property 3: a second end of {id}"
            );
            seen.body_ended = true;
        }
        Event::Lost { id } => {
            let seen = requests
                .get_mut(&id)
                .expect("property 3: lost before its request");
            assert!(!seen.lost, "property 3: {id} lost twice");
            seen.lost = true;
        }
        _ => {}
    }
}
