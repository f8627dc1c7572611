//! The test harness: one channel, a virtual clock, a byte pipe, and optional auto-answering.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::{
    AppCommand, Channel, CloseReason, Config, Duration, Event, Input, Instant, Limits, Output,
    ProducerState, ReadState, RequestHead, RequestId, ResponseHead, Timer, TimerChange,
    TransportState, UsageError,
};

/// The first request on a connection.
pub(crate) const R0: RequestId = RequestId::from_sequence(0);
/// The second request on a connection.
pub(crate) const R1: RequestId = RequestId::from_sequence(1);

/// How the harness answers requests on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AutoAnswer {
    /// Never: the test sends commands.
    Off,
    /// Like Twisted's `DummyHTTPHandler`: read the whole body, then answer with headers
    /// `Request`, `Command`, `Version`, `Content-Length` and the body
    /// `'''\n<request Content-Length or None>\n<body>'''\n`.
    Dummy,
}

pub(crate) struct Harness {
    pub(crate) channel: Channel,
    pub(crate) now: Instant,
    /// Bytes the client has sent that the channel has not read yet (window closed).
    pending: VecDeque<u8>,
    /// Every byte the channel transmitted.
    pub(crate) wire: Vec<u8>,
    /// Every output other than `Transmit`, in order.
    pub(crate) log: Vec<Output>,
    pub(crate) auto: AutoAnswer,
    /// Heads and bodies of requests seen, for the auto-answer and assertions.
    pub(crate) heads: Vec<(RequestId, RequestHead)>,
    bodies: Vec<(RequestId, Vec<u8>)>,
    pub(crate) peer_eof_sent: bool,
}

impl Harness {
    pub(crate) fn new(config: Config) -> Harness {
        let now = Instant::ZERO;
        let mut harness = Harness {
            channel: Channel::new(config, now),
            now,
            pending: VecDeque::new(),
            wire: Vec::new(),
            log: Vec::new(),
            auto: AutoAnswer::Off,
            heads: Vec::new(),
            bodies: Vec::new(),
            peer_eof_sent: false,
        };
        harness.drain();
        harness
    }

    pub(crate) fn dummy(config: Config) -> Harness {
        let mut harness = Harness::new(config);
        harness.auto = AutoAnswer::Dummy;
        harness
    }

    /// The client sends `bytes`; the channel reads as much as its window allows.
    pub(crate) fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.pending.extend(bytes.as_ref());
        self.pump();
    }

    /// The client sends `bytes` one byte per read.
    pub(crate) fn send_bytewise(&mut self, bytes: impl AsRef<[u8]>) {
        for &b in bytes.as_ref() {
            self.send([b]);
        }
    }

    /// Feeds pending bytes while the window is open.
    pub(crate) fn pump(&mut self) {
        loop {
            let window = self.channel.recv_window();
            if window == 0 || self.pending.is_empty() || self.channel.is_closed() {
                break;
            }
            let n = window.min(self.pending.len());
            let chunk: Vec<u8> = self.pending.drain(..n).collect();
            let now = self.now;
            self.input(Input::Received { now, bytes: &chunk });
        }
        if self.pending.is_empty() && self.peer_eof_sent && !self.channel.is_closed() {
            self.peer_eof_sent = false;
            let now = self.now;
            self.input(Input::ReceivedEof { now });
        }
    }

    /// The client half-closes (after its pending bytes are read).
    pub(crate) fn send_eof(&mut self) {
        self.peer_eof_sent = true;
        self.pump();
    }

    pub(crate) fn pending_len(&self) -> usize {
        self.pending.len()
    }

    pub(crate) fn input(&mut self, input: Input<'_>) {
        self.channel
            .handle_input(input)
            .expect("peer inputs never fail");
        self.drain();
    }

    pub(crate) fn app(&mut self, command: AppCommand) -> Result<(), UsageError> {
        let now = self.now;
        let result = self.channel.handle_input(Input::App { now, command });
        self.drain();
        self.pump();
        result
    }

    pub(crate) fn transport(&mut self, state: TransportState) {
        let now = self.now;
        self.input(Input::Transport { now, state });
        self.pump();
    }

    /// Moves the clock forward, firing the timers that come due on the way, in order.
    pub(crate) fn advance(&mut self, by: Duration) {
        let end = self.now + by;
        while let Some(deadline) = self.channel.poll_timeout().filter(|&d| d <= end) {
            self.now = self.now.max(deadline);
            let now = self.now;
            self.input(Input::Timeout { now });
            self.pump();
        }
        self.now = end;
    }

    pub(crate) fn advance_secs(&mut self, secs: u64) {
        self.advance(Duration::from_secs(secs));
    }

    fn drain(&mut self) {
        let mut answers = Vec::new();
        while let Some(output) = self.channel.poll_output() {
            match output {
                Output::Transmit(bytes) => self.wire.extend_from_slice(&bytes),
                Output::Event(event) => {
                    self.record(&event, &mut answers);
                    self.log.push(Output::Event(event));
                }
                other => self.log.push(other),
            }
        }
        for command in answers {
            let now = self.now;
            let result = self.channel.handle_input(Input::App { now, command });
            // The dummy answers blindly; a request lost meanwhile is the one allowed refusal.
            assert!(
                matches!(result, Ok(()) | Err(UsageError::RequestLost)),
                "{result:?}"
            );
            self.drain();
        }
    }

    fn record(&mut self, event: &Event, answers: &mut Vec<AppCommand>) {
        match event {
            Event::Request { id, head } => {
                self.heads.push((*id, head.clone()));
                self.bodies.push((*id, Vec::new()));
                if self.auto == AutoAnswer::Dummy {
                    answers.push(AppCommand::Consume {
                        request: *id,
                        bytes: u64::MAX,
                    });
                }
            }
            Event::Body { id, data } => {
                if let Some((_, body)) = self.bodies.iter_mut().find(|(i, _)| i == id) {
                    body.extend_from_slice(data);
                }
            }
            Event::BodyEnd { id } if self.auto == AutoAnswer::Dummy => {
                answers.extend(self.dummy_answer(*id));
            }
            Event::BodyEnd { .. } => {}
            _ => {}
        }
    }

    fn dummy_answer(&self, id: RequestId) -> Vec<AppCommand> {
        let head = &self
            .heads
            .iter()
            .find(|(i, _)| *i == id)
            .expect("a known request")
            .1;
        let body = &self
            .bodies
            .iter()
            .find(|(i, _)| *i == id)
            .expect("a known request")
            .1;
        let length = head
            .headers
            .get("content-length")
            .map(|v| String::from_utf8_lossy(v).into_owned());
        let mut data = b"'''\n".to_vec();
        data.extend_from_slice(length.as_deref().unwrap_or("None").as_bytes());
        data.push(b'\n');
        data.extend_from_slice(body);
        data.extend_from_slice(b"'''\n");
        let response = ResponseHead::new(200)
            .with_header("Request", head.target.clone())
            .with_header("Command", Bytes::copy_from_slice(head.method.as_bytes()))
            .with_header("Version", head.version.as_str())
            .with_header("Content-Length", data.len().to_string());
        vec![
            AppCommand::SendHead {
                request: id,
                head: response,
            },
            AppCommand::SendBody {
                request: id,
                data: data.into(),
            },
            AppCommand::Finish { request: id },
        ]
    }

    /// The request body received so far for `id`.
    pub(crate) fn body(&self, id: RequestId) -> &[u8] {
        &self
            .bodies
            .iter()
            .find(|(i, _)| *i == id)
            .expect("a known request")
            .1
    }

    /// Everything transmitted, as text, then forgotten.
    pub(crate) fn take_wire(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.wire)).into_owned()
    }

    pub(crate) fn request_ids(&self) -> Vec<RequestId> {
        self.heads.iter().map(|(id, _)| *id).collect()
    }

    pub(crate) fn closed(&self) -> Option<CloseReason> {
        self.log.iter().find_map(|o| match o {
            Output::Close(reason) => Some(*reason),
            _ => None,
        })
    }

    pub(crate) fn shut_down(&self) -> bool {
        self.log.iter().any(|o| matches!(o, Output::ShutdownWrite))
    }

    pub(crate) fn producer_states(&self, request: RequestId) -> Vec<ProducerState> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Output::Producer { request: r, state } if *r == request => Some(*state),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn reading(&self) -> ReadState {
        self.log
            .iter()
            .rev()
            .find_map(|o| match o {
                Output::Reading(state) => Some(*state),
                _ => None,
            })
            .unwrap_or(ReadState::Resumed)
    }

    pub(crate) fn events(&self) -> Vec<&Event> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Output::Event(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn protocol_errors(&self) -> Vec<crate::ProtocolErrorKind> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::ProtocolError { error, .. } => Some(error.kind),
                _ => None,
            })
            .collect()
    }
}

/// The default config without `Server`, so expected bytes stay short.
pub(crate) fn bare() -> Config {
    Config {
        server_name: None,
        ..Config::new()
    }
}

/// Counts non-overlapping occurrences of `needle`.
pub(crate) fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// `bare()` with up to `n` requests dispatched to the app at once.
pub(crate) fn depth(n: usize) -> Config {
    let mut limits = Limits::default();
    limits.pipeline_depth_max = n;
    Config { limits, ..bare() }
}

/// The app sends `head` for `id`; it must be accepted.
pub(crate) fn head(h: &mut Harness, id: RequestId, head: ResponseHead) {
    h.app(AppCommand::SendHead { request: id, head }).unwrap();
}

/// The app sends `data` as body of `id`; it must be accepted.
pub(crate) fn body(h: &mut Harness, id: RequestId, data: &'static str) {
    h.app(AppCommand::SendBody {
        request: id,
        data: data.into(),
    })
    .unwrap();
}

/// The app finishes the response to `id`; it must be accepted.
pub(crate) fn finish(h: &mut Harness, id: RequestId) {
    h.app(AppCommand::Finish { request: id }).unwrap();
}

/// The app answers `id` with a 200 whose Content-Length fits `text`, sends `text`, finishes.
pub(crate) fn answer(h: &mut Harness, id: RequestId, text: &'static str) {
    let response = ResponseHead::new(200).with_header("Content-Length", text.len().to_string());
    head(h, id, response);
    body(h, id, text);
    finish(h, id);
}

/// The app grants `bytes` more body credit to `id`; it must be accepted.
pub(crate) fn consume(h: &mut Harness, id: RequestId, bytes: u64) {
    h.app(AppCommand::Consume { request: id, bytes }).unwrap();
}

/// Whether the app was told `Event::Lost` for `id`.
pub(crate) fn lost(h: &Harness, id: RequestId) -> bool {
    h.events()
        .iter()
        .any(|e| matches!(e, Event::Lost { id: i } if *i == id))
}

/// The ids of every `Event::Lost`, in order.
pub(crate) fn lost_ids(h: &Harness) -> Vec<RequestId> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Lost { id } => Some(*id),
            _ => None,
        })
        .collect()
}

/// The timers that fired, in order.
pub(crate) fn fired(h: &Harness) -> Vec<Timer> {
    h.log
        .iter()
        .filter_map(|o| match o {
            Output::Timer {
                timer,
                change: TimerChange::Fired,
            } => Some(*timer),
            _ => None,
        })
        .collect()
}
