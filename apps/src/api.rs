//! `api`: one route per request-side command of the app API (Twisted's `Request` and
//! `HTTPChannel` methods, web2's `ChannelRequest`), so each can be seen on the wire with a
//! real client and in the simulation's `app_api` family.
//!
//! | route | commands | Twisted |
//! |---|---|---|
//! | `/whoami` | the `ConnectionInfo` of `App::on_connect` | `getPeer`, `getHost`, `isSecure` |
//! | `/accept` | `Consume` 8 bytes at a time, then a 200 with the count | `acceptData` |
//! | `/continue-first` | a `SendInformational(100)`, then as `/accept` (no lazy 100 after it) | |
//! | `/continue-again` | as `/accept`, then a `SendInformational(100)` (dropped: one 100) | |
//! | `/early-answer` | `Consume` 8 bytes, then at the first body bytes a 200, the rest unread | |
//! | `/accept-after/<ms>` | as `/accept`, `ms` milliseconds after the request (below) | `callLater` |
//! | `/hints` | `SendInformational(103)`, then a 200 | `writeIntermediateResponse` |
//! | `/processing` | `SendInformational(102)`, then a 200 | `writeIntermediateResponse` |
//! | `/parts` | `SendBodyParts` of four buffers (one chunk) | `writeSequence` |
//! | `/respond` | `Respond`: head, whole body and end in one command | `write`, `finish` |
//! | `/respond/<n>` | as `/respond`, with `n` bytes of the stream app's pattern (at most 1 MiB) | |
//! | `/close` | `Close` before any head | `loseConnection` |
//! | `/close-mid-body` | 20 bytes declared, 10 sent, `Close` | `loseConnection` |
//! | `/close-one-short` | 20 bytes declared, 19 sent, `Close` | `loseConnection` |
//! | `/close-after` | a complete response, then `Close` | `finish`, `loseConnection` |
//! | `/close-after-body` | all declared bytes, then `Close` (no `Finish`) | `loseConnection` |
//! | `/abort` | `Abort` before any head | `abortConnection` |
//! | `/abort-mid-body` | 20 bytes declared, 10 sent, `Abort` | `abortConnection` |
//! | `/handover/<n>` | push producer, unregistered at `n/2`, pull one | `registerProducer` |
//! | `/misuse/second-producer` | a second `RegisterProducer` (refused) | `RuntimeError` |
//! | `/misuse/body-after-finish` | `SendBody` after `Finish` (refused) | `RuntimeError` |
//! | `/misuse/late-hints` | a 103 after the final head (refused) | |
//! | `/misuse/informational-statuses` | a 101 and a 200 sent as 1xx heads (refused) | |
//! | `/misuse/framing` | a head with `Transfer-Encoding` (refused), then a good one | |
//! | `/misuse/body-lengths` | bodies past or short of their `Content-Length` (refused) | |
//! | `/misuse/heads` | heads the channel must refuse, then a good one (see below) | |
//! | `/empty-writes` | a chunked body with empty `SendBody`s and parts between | `write(b"")` |
//! | `/own-fields` | a head with its own `Connection` and `Server` (below) | `setHeader` |
//! | `/misuse/write-while-paused` | 8 writes of 16 KiB when first paused (below) | |
//! | `/request` | a 200 describing the request as the app got it (below) | `getAllHeaders` |
//! | `/mirror` | a 200 carrying the request's `x-` fields back (below) | `setHeader` |
//! | `/cookie` | a 200 with a `Set-Cookie` (over HTTP/2, never indexed by HPACK) | `addCookie` |
//! | `/status/<n>` | `Respond` with status `n` (200 to 599) and no body | `setResponseCode` |
//! | `/fixed/<n>[/<r>]` | `Respond`: status `n`, reason `r`, static fields | `setResponseCode` |
//!
//! `/accept-after/<ms>` looks at the request for `ms` milliseconds (at most an hour) before it
//! asks for the body, as a Twisted resource that returns `NOT_DONE_YET` and reads from a
//! `callLater`: no credit meanwhile, so an `Expect: 100-continue` client waits for its 100
//! that long, and a body sent anyway waits in the channel's buffer. The app tells the driver
//! its time (`App::wake_at`) and goes on in `App::poll_wake`.
//!
//! `/handover/<n>` sends `n` bytes of the stream app's pattern: a push producer
//! (`streaming=True`) sends the first half, is unregistered (`unregisterProducer`), and a pull
//! producer (`streaming=False`) sends the rest.
//!
//! `/misuse/heads` sends, one after another, statuses of 1000 and 600, a reason phrase and a
//! field value each carrying a CRLF and a second field (response splitting), a 204 with a
//! `Content-Length`, two `Content-Length`s and an empty one: each is refused (`InvalidStatus`
//! twice, `InvalidHeader` twice, `FramingHeader`, `InvalidHeader` twice).
//!
//! `/own-fields` answers `ok` under a head that names its own `Server` (the channel adds none)
//! and asks, in a mixed-case list, for the connection to close (the channel writes one
//! `Connection: close` and closes after the response). It sets no `Date`: the app has no
//! clock, and the simulation checks every `Date` against its own.
//!
//! `/misuse/write-while-paused` streams a chunked body in writes of 16 KiB under a push
//! producer, 16 in all, and ignores the first pause: told `paused`, it writes 8 at once. The
//! channel takes them while the bytes handed out since the transport blocked stay under the
//! send buffer's bound (64 KiB by default: 4 writes) and refuses the rest (`Blocked`); the
//! app writes the rest when told `producing` again, and finishes.
//!
//! `/request` answers, one line each, the request line, every field in the order the app got
//! them (an HTTP/2 request's `:authority` arrives as `host`), how the body is framed
//! (`length N`, `until its end`) and whether a `100 Continue` is owed: what the channel made
//! of the request, for the client to see. It reads no body.
//!
//! `/mirror` answers `ok` under a head carrying each request field whose name starts with
//! `x-` (any case), name and value as the app got them, in their order, then a lower-case
//! `content-length`: response fields the client chooses, for the channel to check and write.
//!
//! `/fixed/<n>` answers `ok` under status `n` (not 204 or 304: the body has a length), the
//! reason given after a second `/` if any, and one `static` field list with the length
//! (`Headers::from_static`, as `--app hello` answers): the channel keeps the head it wrote
//! for such a list and reuses it while the status, reason and added fields stay the same, so
//! a run of these shows whether it tells them apart.
//!
//! The misuse routes then answer `200 ok`: the refused command writes nothing, so the client
//! sees a correct response (the driver reports the typed `UsageError` to its observer: the
//! simulation's trace). Anything else is 404.

use std::collections::{BTreeMap, BTreeSet};
use std::task::{Context, Poll};

use bytes::Bytes;
use twine_engine::{
    AppCommand, BodyLength, ConnectionInfo, Event, Instant, ProducerKind, ProducerState,
    RequestHead, RequestId, ResponseHead,
};

use crate::stream::pattern_chunk;
use route::{EndAfter, OwnContinue, Route};
use twine_driver::App;

mod misuse;
mod route;

/// Credit per `/accept` grant: small, so a body takes several.
const ACCEPT_CREDIT_BYTES: u64 = 8;

/// Bytes per `/misuse/write-while-paused` write.
const PAUSE_WRITE_BYTES: usize = 16 * 1024;

/// `/misuse/write-while-paused` writes in all, and how many it sends when first paused.
const PAUSE_WRITES: u32 = 16;
const PAUSE_BURST_WRITES: u32 = 8;

/// `/cookie`'s `Set-Cookie` value: a secret an HTTP/2 connection's HPACK table must never
/// hold (RFC 7541 §7.1.3), so that no later block can be used to guess at it.
pub const COOKIE: &str = "session=3f1c9a; HttpOnly";

/// Bytes per handover chunk: small, so each producer sends several.
const HANDOVER_CHUNK_BYTES: u64 = 4 * 1024;

/// The api app for one connection.
#[derive(Debug, Default)]
pub struct Api {
    /// Who is on the two ends, once the driver said.
    connection: Option<ConnectionInfo>,
    /// `/accept` requests and the body bytes each has received.
    accepting: BTreeMap<RequestId, u64>,
    handovers: BTreeMap<RequestId, Handover>,
    /// `/misuse/write-while-paused` requests.
    ignoring_pause: BTreeMap<RequestId, IgnoringPause>,
    /// `/accept-after/<ms>` requests whose time has not come.
    deferred: BTreeMap<RequestId, Deferred>,
    /// `/early-answer` requests waiting for their first body bytes.
    answering_early: BTreeSet<RequestId>,
}

/// An `/accept-after/<ms>` request waiting for its time.
#[derive(Debug)]
struct Deferred {
    at: Instant,
    /// Its body ended meanwhile: it had none (a body waits for credit), so it is answered at
    /// once when its time comes.
    ended: bool,
}

/// A `/misuse/write-while-paused` response in progress.
#[derive(Debug, Default)]
struct IgnoringPause {
    /// Writes made (refused ones included: the app is not told).
    written: u32,
    burst_done: bool,
    producing: bool,
}

/// A `/handover/<n>` response in progress.
#[derive(Debug)]
struct Handover {
    sent: u64,
    total: u64,
    stage: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The push producer sends the first half while it may produce.
    Push { producing: bool },
    /// The pull producer sends the rest, a chunk per `Event::Pull`.
    Pull,
}

impl Api {
    /// A new api app.
    pub fn new() -> Api {
        Api::default()
    }

    /// Starts reading `id`'s body, `/accept`'s way: credit in small steps, so the client's
    /// `100 Continue` waits for the first.
    fn accept(&mut self, request: RequestId, commands: &mut Vec<AppCommand>) {
        self.accepting.insert(request, 0);
        let bytes = ACCEPT_CREDIT_BYTES;
        commands.push(AppCommand::Consume { request, bytes });
    }

    /// Answers an `/early-answer` request at its first body bytes (or an empty body's end),
    /// leaving the rest of its body unread. Returns whether `id` was one.
    fn answer_early(&mut self, id: RequestId, commands: &mut Vec<AppCommand>) -> bool {
        if !self.answering_early.remove(&id) {
            return false;
        }
        let head = text_head(200).with_header("Content-Length", "6");
        respond_whole(commands, id, head, Some(Bytes::from_static(b"early\n")));
        true
    }

    fn on_request(
        &mut self,
        now: Instant,
        id: RequestId,
        head: &RequestHead,
        commands: &mut Vec<AppCommand>,
    ) {
        let request = id;
        match Route::of(head.path()) {
            Route::Handover(total) => self.start_handover(id, total, commands),
            // No `Content-Length`: a 204 or 304 may not carry one; the channel frames the rest.
            Route::Status(status) => respond_whole(commands, id, ResponseHead::new(status), None),
            Route::Fixed(head) => respond_whole(commands, id, head, Some(ok())),
            Route::Accept { own_continue } => {
                let own = || AppCommand::SendInformational {
                    request,
                    head: ResponseHead::new(100),
                };
                if own_continue == OwnContinue::First {
                    commands.push(own());
                }
                self.accept(id, commands);
                if own_continue == OwnContinue::Again {
                    // A 100 of the app's own after the lazy one: the channel drops it.
                    commands.push(own());
                }
            }
            Route::EarlyAnswer => {
                self.answering_early.insert(id);
                let bytes = ACCEPT_CREDIT_BYTES;
                commands.push(AppCommand::Consume { request, bytes });
            }
            Route::AcceptAfter(wait) => {
                let deferred = Deferred {
                    at: now + wait,
                    ended: false,
                };
                self.deferred.insert(id, deferred);
            }
            Route::WhoAmI => respond(commands, id, 200, Bytes::from(self.whoami())),
            Route::Hints => {
                let head = ResponseHead::new(103).with_header("Link", "</style.css>; rel=preload");
                commands.push(AppCommand::SendInformational { request, head });
                respond(commands, id, 200, Bytes::from_static(b"hinted\n"));
            }
            Route::Processing => {
                let head = ResponseHead::new(102);
                commands.push(AppCommand::SendInformational { request, head });
                respond(commands, id, 200, Bytes::from_static(b"processed\n"));
            }
            Route::Parts => {
                let head = text_head(200);
                commands.push(AppCommand::SendHead { request, head });
                let parts = ["Hello", ", ", "world", "!\n"]
                    .map(|part| Bytes::from_static(part.as_bytes()))
                    .to_vec();
                commands.push(AppCommand::SendBodyParts { request, parts });
                commands.push(AppCommand::Finish { request });
            }
            Route::Respond => {
                let body = Bytes::from_static(b"whole\n");
                let head = text_head(200).with_header("Content-Length", body.len().to_string());
                respond_whole(commands, id, head, Some(body));
            }
            Route::RespondBytes(len) => {
                let body = Bytes::from(crate::stream::expected_body(len));
                let head = text_head(200).with_header("Content-Length", len.to_string());
                respond_whole(commands, id, head, Some(body));
            }
            Route::End { after } => end_connection(commands, id, after),
            Route::EmptyWrites => empty_writes(commands, id),
            Route::OwnFields => {
                let head = text_head(200)
                    .with_header("Connection", "keep-alive, Close")
                    .with_header("Server", "api")
                    .with_header("Content-Length", "3");
                commands.push(AppCommand::SendHead { request, head });
                commands.push(AppCommand::SendBody {
                    request,
                    data: ok(),
                });
                commands.push(AppCommand::Finish { request });
            }
            Route::Request => respond(commands, id, 200, Bytes::from(describe(head))),
            Route::Mirror => respond_whole(commands, id, mirrored_head(head), Some(ok())),
            Route::Cookie => {
                let head = text_head(200)
                    .with_header("Set-Cookie", COOKIE)
                    .with_header("Content-Length", "3");
                respond_whole(commands, id, head, Some(ok()));
            }
            Route::WriteWhilePaused => {
                commands.push(AppCommand::SendHead {
                    request,
                    head: text_head(200),
                });
                let kind = ProducerKind::Push;
                commands.push(AppCommand::RegisterProducer { request, kind });
                self.ignoring_pause.insert(id, IgnoringPause::default());
            }
            Route::Misuse(misuse) => misuse::answer(commands, id, misuse),
            Route::NotFound => respond(commands, id, 404, Bytes::from_static(b"not found\n")),
        }
    }

    /// The `/whoami` answer: who is on the two ends, as the driver said.
    fn whoami(&self) -> String {
        match &self.connection {
            Some(info) => format!(
                "peer {}\nlocal {}\nsecure {}\n",
                info.peer, info.local, info.secure
            ),
            None => "unknown\n".to_owned(),
        }
    }

    fn start_handover(&mut self, id: RequestId, total: u64, commands: &mut Vec<AppCommand>) {
        let head = ResponseHead::new(200)
            .with_header("Content-Type", "application/octet-stream")
            .with_header("Content-Length", total.to_string());
        commands.push(AppCommand::SendHead { request: id, head });
        if total == 0 {
            commands.push(AppCommand::Finish { request: id });
            return;
        }
        let mut handover = Handover {
            sent: 0,
            total,
            stage: Stage::Push { producing: false },
        };
        if total / 2 == 0 {
            // No first half to push.
            handover.stage = Stage::Pull;
        }
        let kind = match handover.stage {
            Stage::Push { .. } => ProducerKind::Push,
            Stage::Pull => ProducerKind::Pull,
        };
        self.handovers.insert(id, handover);
        commands.push(AppCommand::RegisterProducer { request: id, kind });
    }

    /// The next chunk of a handover; at the half, the push producer hands over to a pull one.
    fn send_chunk(&mut self, id: RequestId, commands: &mut Vec<AppCommand>) -> bool {
        let Some(handover) = self.handovers.get_mut(&id) else {
            return false;
        };
        let half = handover.total / 2;
        let end = match handover.stage {
            Stage::Push { .. } => half,
            Stage::Pull => handover.total,
        };
        let len = (end - handover.sent).min(HANDOVER_CHUNK_BYTES);
        let data = pattern_chunk(handover.sent, len as usize);
        handover.sent += len;
        commands.push(AppCommand::SendBody { request: id, data });
        if handover.sent == handover.total {
            self.handovers.remove(&id);
            commands.push(AppCommand::Finish { request: id });
        } else if handover.sent == half && matches!(handover.stage, Stage::Push { .. }) {
            handover.stage = Stage::Pull;
            commands.push(AppCommand::UnregisterProducer { request: id });
            let kind = ProducerKind::Pull;
            commands.push(AppCommand::RegisterProducer { request: id, kind });
        }
        true
    }
}

/// A `text/plain` head with `status`.
pub(crate) fn text_head(status: u16) -> ResponseHead {
    ResponseHead::new(status).with_header("Content-Type", "text/plain")
}

/// The `/request` answer: what the channel handed the app.
fn describe(head: &RequestHead) -> String {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let mut out = format!(
        "{} {} {}\n",
        text(head.method.as_bytes()),
        text(&head.target),
        head.version.as_str()
    );
    for field in head.headers.iter() {
        out += &format!("{}: {}\n", text(&field.name), text(&field.value));
    }
    match head.body {
        BodyLength::Known(length) => out += &format!("body: length {length}\n"),
        BodyLength::Chunked => out += "body: until its end\n",
        BodyLength::UntilClose => out += "body: until close\n",
    }
    let owed = if head.expect_continue { "yes" } else { "no" };
    out + &format!("100 continue owed: {owed}\n")
}

/// A complete response with a `Content-Length` body.
pub(crate) fn respond(
    commands: &mut Vec<AppCommand>,
    request: RequestId,
    status: u16,
    body: Bytes,
) {
    let head = text_head(status).with_header("Content-Length", body.len().to_string());
    commands.push(AppCommand::SendHead { request, head });
    commands.push(AppCommand::SendBody {
        request,
        data: body,
    });
    commands.push(AppCommand::Finish { request });
}

/// The `ok` body of most routes.
pub(crate) fn ok() -> Bytes {
    Bytes::from_static(b"ok\n")
}

/// `Respond`: head, whole body (if any) and end in one command.
pub(crate) fn respond_whole(
    commands: &mut Vec<AppCommand>,
    request: RequestId,
    head: ResponseHead,
    body: Option<Bytes>,
) {
    let body = body.unwrap_or_default();
    commands.push(AppCommand::Respond {
        request,
        head,
        body,
    });
}

/// The `/close`, `/abort`, `/close-mid-body`, `/abort-mid-body`, `/close-one-short`,
/// `/close-after` and `/close-after-body` answers.
fn end_connection(commands: &mut Vec<AppCommand>, request: RequestId, after: EndAfter) {
    let end = |abort: bool| match abort {
        true => AppCommand::Abort { request },
        false => AppCommand::Close { request },
    };
    match after {
        EndAfter::Nothing { abort } => commands.push(end(abort)),
        EndAfter::HalfABody { abort } => {
            let head = text_head(200).with_header("Content-Length", "20");
            commands.push(AppCommand::SendHead { request, head });
            let data = Bytes::from_static(b"first half");
            commands.push(AppCommand::SendBody { request, data });
            commands.push(end(abort));
        }
        EndAfter::AllButOneByte => {
            let head = text_head(200).with_header("Content-Length", "20");
            commands.push(AppCommand::SendHead { request, head });
            let data = Bytes::from_static(b"nineteen bytes sent");
            commands.push(AppCommand::SendBody { request, data });
            commands.push(end(false));
        }
        EndAfter::AResponse => {
            respond(commands, request, 200, Bytes::from_static(b"bye\n"));
            commands.push(end(false));
        }
        EndAfter::AWholeBody => {
            let body = Bytes::from_static(b"whole body, no finish\n");
            let head = text_head(200).with_header("Content-Length", body.len().to_string());
            commands.push(AppCommand::SendHead { request, head });
            commands.push(AppCommand::SendBody {
                request,
                data: body,
            });
            commands.push(end(false));
        }
    }
}

/// `/empty-writes`: a chunked body with empty writes between. An empty chunk would end a
/// chunked body, so each empty write must send nothing.
fn empty_writes(commands: &mut Vec<AppCommand>, request: RequestId) {
    let head = text_head(200);
    commands.push(AppCommand::SendHead { request, head });
    commands.push(AppCommand::SendBody {
        request,
        data: Bytes::new(),
    });
    commands.push(AppCommand::SendBody {
        request,
        data: ok(),
    });
    let parts = vec![Bytes::new(), Bytes::from_static(b"!\n"), Bytes::new()];
    commands.push(AppCommand::SendBodyParts { request, parts });
    commands.push(AppCommand::SendBody {
        request,
        data: Bytes::new(),
    });
    commands.push(AppCommand::Finish { request });
}

/// The `/mirror` head: each request field named `x-...` (any case), in order, then a lower-case
/// `content-length` (as HTTP/2 apps write names: the channel reads it as the framing).
fn mirrored_head(head: &RequestHead) -> ResponseHead {
    let mut mirrored = text_head(200);
    for field in head.headers.iter() {
        if field
            .name
            .get(..2)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"x-"))
        {
            mirrored = mirrored.with_header(field.name.clone(), field.value.clone());
        }
    }
    mirrored.with_header("content-length", "3")
}

impl App for Api {
    fn on_connect(&mut self, _now: Instant, info: &ConnectionInfo) {
        self.connection = Some(*info);
    }

    fn on_event(&mut self, now: Instant, event: Event, commands: &mut Vec<AppCommand>) {
        match event {
            Event::Request { id, head } => self.on_request(now, id, &head, commands),
            Event::Pull { id } => {
                let pulling = self
                    .handovers
                    .get(&id)
                    .is_some_and(|h| h.stage == Stage::Pull);
                if pulling {
                    self.send_chunk(id, commands);
                }
            }
            Event::Body { id, data } => {
                if self.answer_early(id, commands) {
                    return;
                }
                if let Some(received) = self.accepting.get_mut(&id) {
                    *received += data.len() as u64;
                    let bytes = data.len() as u64;
                    commands.push(AppCommand::Consume { request: id, bytes });
                }
            }
            Event::BodyEnd { id } => {
                if self.answer_early(id, commands) {
                    return;
                }
                if let Some(deferred) = self.deferred.get_mut(&id) {
                    deferred.ended = true;
                }
                if let Some(received) = self.accepting.remove(&id) {
                    let body = Bytes::from(format!("received {received} bytes\n"));
                    respond(commands, id, 200, body);
                }
            }
            Event::Lost { id } => {
                self.handovers.remove(&id);
                self.accepting.remove(&id);
                self.ignoring_pause.remove(&id);
                self.deferred.remove(&id);
                self.answering_early.remove(&id);
            }
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
        if state == ProducerState::Stopped {
            self.handovers.remove(&id);
            self.ignoring_pause.remove(&id);
            return;
        }
        if let Some(pushing) = self.ignoring_pause.get_mut(&id) {
            pushing.producing = state == ProducerState::Producing;
            if state == ProducerState::Paused && !pushing.burst_done {
                // The misuse: the first pause is answered with more writes, not fewer.
                pushing.burst_done = true;
                for _ in 0..PAUSE_BURST_WRITES {
                    pushing.written += 1;
                    let data = Bytes::from(vec![b'p'; PAUSE_WRITE_BYTES]);
                    commands.push(AppCommand::SendBody { request: id, data });
                }
            }
        }
        if let Some(handover) = self.handovers.get_mut(&id) {
            if let Stage::Push { producing } = &mut handover.stage {
                *producing = state == ProducerState::Producing;
            }
        }
    }

    fn wake_at(&self) -> Option<Instant> {
        self.deferred.values().map(|deferred| deferred.at).min()
    }

    fn poll_wake(
        &mut self,
        _cx: &mut Context<'_>,
        now: Instant,
        commands: &mut Vec<AppCommand>,
    ) -> Poll<()> {
        // In request order, each whose time has come (the driver's alarm rang for the first).
        let due: Vec<RequestId> = (self.deferred.iter())
            .filter(|(_, deferred)| deferred.at <= now)
            .map(|(&id, _)| id)
            .collect();
        for &id in &due {
            match self.deferred.remove(&id) {
                Some(Deferred { ended: true, .. }) => {
                    respond(commands, id, 200, Bytes::from_static(b"received 0 bytes\n"));
                }
                _ => self.accept(id, commands),
            }
        }
        if due.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }

    fn produce(&mut self, _now: Instant, commands: &mut Vec<AppCommand>) -> bool {
        let pushing = self
            .handovers
            .iter()
            .find(|(_, h)| h.stage == Stage::Push { producing: true })
            .map(|(&id, _)| id);
        if pushing.is_some_and(|id| self.send_chunk(id, commands)) {
            return true;
        }
        let Some((&id, pushing)) = self.ignoring_pause.iter_mut().find(|(_, p)| p.producing) else {
            return false;
        };
        pushing.written += 1;
        let data = Bytes::from(vec![b'p'; PAUSE_WRITE_BYTES]);
        commands.push(AppCommand::SendBody { request: id, data });
        if pushing.written >= PAUSE_WRITES {
            commands.push(AppCommand::Finish { request: id });
            self.ignoring_pause.remove(&id);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::expected_body;

    #[test]
    fn handover_chunks_rebuild_the_pattern() {
        let mut app = Api::new();
        let id = RequestId::from_sequence(0);
        let mut commands = Vec::new();
        app.start_handover(id, 10_001, &mut commands);
        app.on_producer(Instant::ZERO, id, ProducerState::Producing, &mut commands);
        while app.produce(Instant::ZERO, &mut commands) {}
        assert!(commands.contains(&AppCommand::UnregisterProducer { request: id }));
        while app.handovers.contains_key(&id) {
            app.on_event(Instant::ZERO, Event::Pull { id }, &mut commands);
        }
        let body: Vec<u8> = commands
            .iter()
            .filter_map(|c| match c {
                AppCommand::SendBody { data, .. } => Some(data.to_vec()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(body, expected_body(10_001));
        assert_eq!(commands.last(), Some(&AppCommand::Finish { request: id }));
    }
}
