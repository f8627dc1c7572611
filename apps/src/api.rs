//! `api`: one route per request-side command of the app API (Twisted's `Request` and
//! `HTTPChannel` methods, web2's `ChannelRequest`), so each can be seen on the wire with a
//! real client and in the simulation's `app_api` family.
//!
//! | route | commands | Twisted |
//! |---|---|---|
//! | `/whoami` | the `ConnectionInfo` of `App::on_connect` | `getPeer`, `getHost`, `isSecure` |
//! | `/accept` | `Consume` 8 bytes at a time, then a 200 with the count | `acceptData` |
//! | `/continue-again` | as `/accept`, then a `SendInformational(100)` (dropped: one 100) | |
//! | `/hints` | `SendInformational(103)`, then a 200 | `writeIntermediateResponse` |
//! | `/processing` | `SendInformational(102)`, then a 200 | `writeIntermediateResponse` |
//! | `/parts` | `SendBodyParts` of four buffers (one chunk) | `writeSequence` |
//! | `/respond` | `Respond`: head, whole body and end in one command | `write`, `finish` |
//! | `/close` | `Close` before any head | `loseConnection` |
//! | `/close-mid-body` | 20 bytes declared, 10 sent, `Close` | `loseConnection` |
//! | `/close-after` | a complete response, then `Close` | `finish`, `loseConnection` |
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
//! | `/status/<n>` | `Respond` with status `n` (200 to 599) and no body | `setResponseCode` |
//! | `/fixed/<n>[/<r>]` | `Respond`: status `n`, reason `r`, static fields | `setResponseCode` |
//!
//! `/handover/<n>` sends `n` bytes of the stream app's pattern: a push producer
//! (`streaming=True`) sends the first half, is unregistered (`unregisterProducer`), and a pull
//! producer (`streaming=False`) sends the rest.
//!
//! `/misuse/heads` sends, one after another, a status of 1000, a reason phrase and a field value
//! each carrying a CRLF and a second field (response splitting), and a 204 with a
//! `Content-Length`: each is refused (`InvalidStatus`, `InvalidHeader` twice, `FramingHeader`).
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

use std::collections::BTreeMap;

use bytes::Bytes;
use twine_engine::{
    AppCommand, BodyLength, ConnectionInfo, Event, Header, Headers, Instant, ProducerKind,
    ProducerState, RequestHead, RequestId, ResponseHead,
};

use crate::stream::pattern_chunk;
use twine_driver::App;

/// Credit per `/accept` grant: small, so a body takes several.
const ACCEPT_CREDIT_BYTES: u64 = 8;

/// Bytes per `/misuse/write-while-paused` write.
const PAUSE_WRITE_BYTES: usize = 16 * 1024;

/// `/misuse/write-while-paused` writes in all, and how many it sends when first paused.
const PAUSE_WRITES: u32 = 16;
const PAUSE_BURST_WRITES: u32 = 8;

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

    fn on_request(&mut self, id: RequestId, head: &RequestHead, commands: &mut Vec<AppCommand>) {
        let path = head.path();
        if let Some(total) = number_after(path, b"/handover/") {
            self.start_handover(id, total, commands);
            return;
        }
        if let Some(status) =
            number_after::<u16>(path, b"/status/").filter(|status| (200..=599).contains(status))
        {
            // No `Content-Length`: a 204 or 304 may not carry one; the channel frames the rest.
            let (head, body) = (ResponseHead::new(status), Bytes::new());
            commands.push(AppCommand::Respond {
                request: id,
                head,
                body,
            });
            return;
        }
        if let Some(head) = path.strip_prefix(b"/fixed/").and_then(fixed_head) {
            let body = Bytes::from_static(b"ok\n");
            commands.push(AppCommand::Respond {
                request: id,
                head,
                body,
            });
            return;
        }
        let request = id;
        let ok = || Bytes::from_static(b"ok\n");
        match path {
            b"/accept" | b"/continue-again" => {
                // Credit in small steps: the client's `100 Continue` waits for the first.
                self.accepting.insert(id, 0);
                let bytes = ACCEPT_CREDIT_BYTES;
                commands.push(AppCommand::Consume { request, bytes });
                if path == b"/continue-again" {
                    // A 100 of the app's own after the lazy one: the channel drops it.
                    let head = ResponseHead::new(100);
                    commands.push(AppCommand::SendInformational { request, head });
                }
            }
            b"/whoami" => {
                let body = match &self.connection {
                    Some(info) => format!(
                        "peer {}\nlocal {}\nsecure {}\n",
                        info.peer, info.local, info.secure
                    ),
                    None => "unknown\n".to_owned(),
                };
                respond(commands, id, 200, Bytes::from(body));
            }
            b"/hints" => {
                let hints = ResponseHead::new(103).with_header("Link", "</style.css>; rel=preload");
                commands.push(AppCommand::SendInformational {
                    request,
                    head: hints,
                });
                respond(commands, id, 200, Bytes::from_static(b"hinted\n"));
            }
            b"/processing" => {
                let head = ResponseHead::new(102);
                commands.push(AppCommand::SendInformational { request, head });
                respond(commands, id, 200, Bytes::from_static(b"processed\n"));
            }
            b"/parts" => {
                commands.push(AppCommand::SendHead {
                    request,
                    head: text_head(200),
                });
                let parts = ["Hello", ", ", "world", "!\n"]
                    .map(|part| Bytes::from_static(part.as_bytes()))
                    .to_vec();
                commands.push(AppCommand::SendBodyParts { request, parts });
                commands.push(AppCommand::Finish { request });
            }
            b"/respond" => {
                let body = Bytes::from_static(b"whole\n");
                let head = text_head(200).with_header("Content-Length", body.len().to_string());
                commands.push(AppCommand::Respond {
                    request,
                    head,
                    body,
                });
            }
            b"/close" => commands.push(AppCommand::Close { request }),
            b"/close-mid-body" | b"/abort-mid-body" => {
                let head = text_head(200).with_header("Content-Length", "20");
                commands.push(AppCommand::SendHead { request, head });
                let data = Bytes::from_static(b"first half");
                commands.push(AppCommand::SendBody { request, data });
                commands.push(match path {
                    b"/close-mid-body" => AppCommand::Close { request },
                    _ => AppCommand::Abort { request },
                });
            }
            b"/close-after" => {
                respond(commands, id, 200, Bytes::from_static(b"bye\n"));
                commands.push(AppCommand::Close { request });
            }
            b"/abort" => commands.push(AppCommand::Abort { request }),
            b"/misuse/second-producer" => {
                let head = text_head(200).with_header("Content-Length", "3");
                commands.push(AppCommand::SendHead { request, head });
                for kind in [ProducerKind::Push, ProducerKind::Pull] {
                    commands.push(AppCommand::RegisterProducer { request, kind });
                }
                commands.push(AppCommand::UnregisterProducer { request });
                commands.push(AppCommand::SendBody {
                    request,
                    data: ok(),
                });
                commands.push(AppCommand::Finish { request });
            }
            b"/misuse/body-after-finish" => {
                respond(commands, id, 200, ok());
                let data = Bytes::from_static(b"late");
                commands.push(AppCommand::SendBody { request, data });
            }
            b"/misuse/late-hints" => {
                let head = text_head(200).with_header("Content-Length", "3");
                commands.push(AppCommand::SendHead { request, head });
                let head = ResponseHead::new(103);
                commands.push(AppCommand::SendInformational { request, head });
                commands.push(AppCommand::SendBody {
                    request,
                    data: ok(),
                });
                commands.push(AppCommand::Finish { request });
            }
            b"/misuse/body-lengths" => {
                // Each body that does not match its length is refused and writes nothing.
                for length in ["10", "2"] {
                    let head = text_head(200).with_header("Content-Length", length);
                    let body = ok();
                    commands.push(AppCommand::Respond {
                        request,
                        head,
                        body,
                    });
                }
                let head = text_head(200).with_header("Content-Length", "3");
                commands.push(AppCommand::SendHead { request, head });
                for data in [&b"too long\n"[..], b"o"] {
                    let data = Bytes::from_static(data);
                    commands.push(AppCommand::SendBody { request, data });
                }
                commands.push(AppCommand::Finish { request });
                let data = Bytes::from_static(b"k\n");
                commands.push(AppCommand::SendBody { request, data });
                commands.push(AppCommand::Finish { request });
            }
            b"/misuse/heads" => {
                for head in refused_heads() {
                    commands.push(AppCommand::SendHead { request, head });
                }
                respond(commands, id, 200, ok());
            }
            b"/empty-writes" => {
                // An empty chunk would end a chunked body: each empty write must send nothing.
                let head = text_head(200);
                commands.push(AppCommand::SendHead { request, head });
                let data = Bytes::new();
                commands.push(AppCommand::SendBody { request, data });
                commands.push(AppCommand::SendBody {
                    request,
                    data: ok(),
                });
                let parts = vec![Bytes::new(), Bytes::from_static(b"!\n"), Bytes::new()];
                commands.push(AppCommand::SendBodyParts { request, parts });
                let data = Bytes::new();
                commands.push(AppCommand::SendBody { request, data });
                commands.push(AppCommand::Finish { request });
            }
            b"/own-fields" => {
                let head = text_head(200)
                    .with_header("Connection", "keep-alive, Close")
                    .with_header("Server", "api")
                    .with_header("Content-Length", "3");
                commands.push(AppCommand::SendHead { request, head });
                let data = ok();
                commands.push(AppCommand::SendBody { request, data });
                commands.push(AppCommand::Finish { request });
            }
            b"/request" => respond(commands, id, 200, Bytes::from(describe(head))),
            b"/mirror" => {
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
                // Lower case, as HTTP/2 apps write names: the channel reads it as the framing.
                let head = mirrored.with_header("content-length", "3");
                commands.push(AppCommand::Respond {
                    request,
                    head,
                    body: ok(),
                });
            }
            b"/misuse/write-while-paused" => {
                commands.push(AppCommand::SendHead {
                    request,
                    head: text_head(200),
                });
                let kind = ProducerKind::Push;
                commands.push(AppCommand::RegisterProducer { request, kind });
                self.ignoring_pause.insert(id, IgnoringPause::default());
            }
            b"/misuse/informational-statuses" => {
                // A 101 would switch protocols; a 200 would be the final head in disguise.
                for status in [101, 200] {
                    let head = ResponseHead::new(status);
                    commands.push(AppCommand::SendInformational { request, head });
                }
                respond(commands, id, 200, ok());
            }
            b"/misuse/framing" => {
                let head = text_head(200).with_header("Transfer-Encoding", "chunked");
                commands.push(AppCommand::SendHead { request, head });
                respond(commands, id, 200, ok());
            }
            _ => respond(commands, id, 404, Bytes::from_static(b"not found\n")),
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

/// The heads `/misuse/heads` sends, each of which the channel must refuse.
fn refused_heads() -> [ResponseHead; 4] {
    let split = "Set-Cookie: smuggled=1";
    let mut bad_reason = ResponseHead::new(200);
    bad_reason.reason = Some(Bytes::from(format!("OK\r\n{split}")));
    [
        text_head(1000),
        bad_reason,
        text_head(200).with_header("X-Note", format!("ok\r\n{split}")),
        ResponseHead::new(204).with_header("Content-Length", "0"),
    ]
}

/// A `text/plain` head with `status`.
fn text_head(status: u16) -> ResponseHead {
    ResponseHead::new(status).with_header("Content-Type", "text/plain")
}

/// The `/fixed/` fields: one static list for every such response, as `--app hello`'s, so
/// the channel checks it once and keeps the head it wrote for the next.
static FIXED_FIELDS: [Header; 2] = [
    Header::from_static("Content-Type", "text/plain"),
    Header::from_static("Content-Length", "3"),
];

/// The head `/fixed/<status>[/<reason>]` asks for (a status from 200 to 599 that may carry a
/// body: not 204 or 304), with the static field list.
fn fixed_head(rest: &[u8]) -> Option<ResponseHead> {
    let (status, reason) = match rest.iter().position(|&b| b == b'/') {
        Some(slash) => (&rest[..slash], Some(&rest[slash + 1..])),
        None => (rest, None),
    };
    let status: u16 = std::str::from_utf8(status).ok()?.parse().ok()?;
    if !(200..=599).contains(&status) || status == 204 || status == 304 {
        return None;
    }
    let mut head = ResponseHead::new(status);
    head.headers = Headers::from_static(&FIXED_FIELDS);
    head.reason = reason.map(Bytes::copy_from_slice);
    Some(head)
}

/// The number after `prefix` in `path` (`/status/204`), if that is all there is.
fn number_after<T: std::str::FromStr>(path: &[u8], prefix: &[u8]) -> Option<T> {
    let digits = path.strip_prefix(prefix)?;
    std::str::from_utf8(digits).ok()?.parse().ok()
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
fn respond(commands: &mut Vec<AppCommand>, request: RequestId, status: u16, body: Bytes) {
    let head = text_head(status).with_header("Content-Length", body.len().to_string());
    commands.push(AppCommand::SendHead { request, head });
    commands.push(AppCommand::SendBody {
        request,
        data: body,
    });
    commands.push(AppCommand::Finish { request });
}

impl App for Api {
    fn on_connect(&mut self, _now: Instant, info: &ConnectionInfo) {
        self.connection = Some(*info);
    }

    fn on_event(&mut self, _now: Instant, event: Event, commands: &mut Vec<AppCommand>) {
        match event {
            Event::Request { id, head } => self.on_request(id, &head, commands),
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
                if let Some(received) = self.accepting.get_mut(&id) {
                    *received += data.len() as u64;
                    let bytes = data.len() as u64;
                    commands.push(AppCommand::Consume { request: id, bytes });
                }
            }
            Event::BodyEnd { id } => {
                if let Some(received) = self.accepting.remove(&id) {
                    let body = Bytes::from(format!("received {received} bytes\n"));
                    respond(commands, id, 200, body);
                }
            }
            Event::Lost { id } => {
                self.handovers.remove(&id);
                self.accepting.remove(&id);
                self.ignoring_pause.remove(&id);
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
