//! `echo`: every request gets 200 with `Content-Type: application/octet-stream`; the body is the
//! request body (empty for GET and HEAD), streamed back as it arrives.
//!
//! Request-body credit is granted only while the response producer is not paused, so a client
//! that uploads fast but reads slowly is slowed down to its own reading speed: backpressure
//! end to end, with at most `CREDIT_BYTES` in flight per request.
//!
//! Body bytes that arrive while the producer is paused (credit granted before the pause) are
//! held, not sent: the channel refuses a body write past its send buffer's bound, and a
//! refused write would be lost. They go out one chunk per `produce` call once the producer
//! resumes, and the response finishes only when none is left.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

use twine_engine::{
    AppCommand, BodyLength, Event, Instant, ProducerKind, ProducerState, RequestId, ResponseHead,
};

use twine_driver::App;

/// Request-body bytes granted at a time.
const CREDIT_BYTES: u64 = 64 * 1024;

/// The echo app for one connection.
#[derive(Debug, Default)]
pub struct Echo {
    requests: BTreeMap<RequestId, EchoRequest>,
}

#[derive(Debug)]
struct EchoRequest {
    /// The body is sent back (not GET or HEAD).
    echo_body: bool,
    /// The response producer is paused: hold back credit.
    paused: bool,
    /// Credit used up while paused, granted again on resume.
    owed_credit: u64,
    /// Body bytes held while paused (or behind others held), in order.
    held: VecDeque<Bytes>,
    /// The request body ended: finish once nothing is held.
    ended: bool,
}

impl Echo {
    /// A new echo app.
    pub fn new() -> Echo {
        Echo::default()
    }

    fn on_request(
        &mut self,
        id: RequestId,
        body: BodyLength,
        method_has_body: bool,
    ) -> Vec<AppCommand> {
        let echo_body = method_has_body;
        let mut head =
            ResponseHead::new(200).with_header("Content-Type", "application/octet-stream");
        match (echo_body, body) {
            (false, _) => head = head.with_header("Content-Length", "0"),
            (true, BodyLength::Known(length)) => {
                head = head.with_header("Content-Length", length.to_string())
            }
            // Unknown length: the channel frames it (chunked, or until close for HTTP/1.0).
            (true, BodyLength::Chunked | BodyLength::UntilClose) => {}
        }
        if body == BodyLength::Known(0) {
            // Nothing to read or echo: the whole answer is known now.
            return vec![
                AppCommand::SendHead { request: id, head },
                AppCommand::Finish { request: id },
            ];
        }
        self.requests.insert(
            id,
            EchoRequest {
                echo_body,
                paused: false,
                owed_credit: 0,
                held: VecDeque::new(),
                ended: false,
            },
        );
        let mut commands = vec![
            // Credit first: answering before reading would be an early reply (and a close).
            AppCommand::Consume {
                request: id,
                bytes: CREDIT_BYTES,
            },
            AppCommand::SendHead { request: id, head },
        ];
        if echo_body {
            // The producer's pauses hold back credit, so the upload waits for the download.
            let kind = ProducerKind::Push;
            commands.push(AppCommand::RegisterProducer { request: id, kind });
        }
        commands
    }
}

impl App for Echo {
    fn on_event(&mut self, _now: Instant, event: Event, commands: &mut Vec<AppCommand>) {
        match event {
            Event::Request { id, head } => {
                let echo_body = !(head.method.is_get() || head.method.is_head());
                commands.extend(self.on_request(id, head.body, echo_body));
            }
            Event::Body { id, data } => {
                let Some(request) = self.requests.get_mut(&id) else {
                    return;
                };
                let len = data.len() as u64;
                if request.echo_body {
                    if request.paused || !request.held.is_empty() {
                        request.held.push_back(data);
                    } else {
                        commands.push(AppCommand::SendBody { request: id, data });
                    }
                }
                if request.paused {
                    request.owed_credit += len;
                } else {
                    commands.push(AppCommand::Consume {
                        request: id,
                        bytes: len,
                    });
                }
            }
            // Requests without a body were finished with their head.
            Event::BodyEnd { id } => {
                let Some(request) = self.requests.get_mut(&id) else {
                    return;
                };
                request.ended = true;
                if request.held.is_empty() {
                    self.requests.remove(&id);
                    commands.push(AppCommand::Finish { request: id });
                }
            }
            Event::Lost { id } => {
                self.requests.remove(&id);
            }
            Event::Pull { .. } | Event::ProtocolError { .. } => {}
            _ => {}
        }
    }

    fn on_producer(
        &mut self,
        _now: Instant,
        id: RequestId,
        state: ProducerState,
        commands: &mut Vec<AppCommand>,
    ) {
        let Some(request) = self.requests.get_mut(&id) else {
            return;
        };
        request.paused = state == ProducerState::Paused;
        if state == ProducerState::Producing && request.owed_credit > 0 {
            let bytes = std::mem::take(&mut request.owed_credit);
            commands.push(AppCommand::Consume { request: id, bytes });
        }
    }

    /// Sends one held chunk of the first request that is producing and holds one, and
    /// finishes it once its body ended and nothing is held.
    fn produce(&mut self, _now: Instant, commands: &mut Vec<AppCommand>) -> bool {
        let ready = self
            .requests
            .iter_mut()
            .find(|(_, r)| !r.paused && !r.held.is_empty());
        let Some((&id, request)) = ready else {
            return false;
        };
        if let Some(data) = request.held.pop_front() {
            commands.push(AppCommand::SendBody { request: id, data });
        }
        if request.ended && request.held.is_empty() {
            self.requests.remove(&id);
            commands.push(AppCommand::Finish { request: id });
        }
        true
    }
}
