//! HTTP/2 on the simulated network: clients that open with the preface (prior knowledge) get
//! the engine's `H2Connection` through the same `AutoConnection` the real server runs, and the
//! same apps as every other family. The harness judges these connections by their frames
//! (`twine_sim::invariants`, `h2_wire`): frames in order, one head per stream before its data,
//! nothing after a stream's end, every stream ended.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use twine_apps::stream::expected_body;
use twine_apps::{Api, Echo, Stream};
use twine_engine::h2::connection::PREFACE;
use twine_engine::h2::frame::{
    ErrorCode, Frame, FrameDecoder, Priority, SettingId, StreamId, MAX_FRAME_SIZE_LIMIT,
};
use twine_engine::h2::hpack::HpackEncoder;
use twine_engine::{CloseReason, ProducerKind, ProducerState, RequestId, Timer, UsageError};
use twine_sim::event::RequestLine;
use twine_sim::pattern::{
    any_body_end, app, bytes_received, bytes_sent, client, close, finish, lost, producer, server,
    server_where, timer_cancelled, timer_fired, timer_set,
};
use twine_sim::{app as app_factory, Action, AppAction, ClientEvent, ClientScript, Grants};
use twine_sim::{Outcome, ReadPolicy, ReferenceDecoder, ReferenceEncoder, Scenario};
use twine_sim::{SendWindow, StreamFaults};
use twine_sim::{ServerEvent, Violation};

use super::app_api::{refused, within_credit};
use super::expect::{absent, all, before_first, count, failed_on, in_order};
use super::{quick_config, slow_reader, Entry};

const FAMILY: &str = "http2";

/// A scripted HTTP/2 client's bytes: the preface, empty SETTINGS, then its frames, header
/// blocks encoded with one HPACK context as a real client's would be.
pub(super) struct H2Script {
    hpack: ScriptHpack,
    bytes: BytesMut,
}

/// Whose HPACK encoder writes a script's header blocks.
enum ScriptHpack {
    /// The engine's own (Huffman strings, selective indexing): most scripts'.
    Engine(HpackEncoder),
    /// loona-hpack's (plain strings, every new name indexed): the server's decoder then keeps
    /// a table that its own encoder's code did not build in step with it.
    Reference(ReferenceEncoder),
}

impl H2Script {
    pub(super) fn new() -> H2Script {
        H2Script::opening(ScriptHpack::Engine(HpackEncoder::new()))
    }

    /// A script whose header blocks an HPACK encoder other than the engine's writes, with a
    /// dynamic table of `table_size` bytes (the server's `SETTINGS_HEADER_TABLE_SIZE`).
    pub(super) fn with_reference_hpack(table_size: usize) -> H2Script {
        H2Script::opening(ScriptHpack::Reference(ReferenceEncoder::with_table(
            table_size,
        )))
    }

    fn opening(hpack: ScriptHpack) -> H2Script {
        let mut script = H2Script {
            hpack,
            bytes: BytesMut::from(&PREFACE[..]),
        };
        script.frame(Frame::Settings {
            ack: false,
            settings: vec![],
        });
        script
    }

    /// A script that goes on a connection already opened: frames only.
    pub(super) fn empty() -> H2Script {
        H2Script {
            hpack: ScriptHpack::Engine(HpackEncoder::new()),
            bytes: BytesMut::new(),
        }
    }

    pub(super) fn frame(&mut self, frame: Frame) -> &mut H2Script {
        frame.write(&mut self.bytes);
        self
    }

    pub(super) fn request(
        &mut self,
        stream: u32,
        method: &str,
        path: &str,
        end_stream: bool,
    ) -> &mut H2Script {
        let fields = [
            (":method", method),
            (":scheme", "http"),
            (":path", path),
            (":authority", "sim"),
        ];
        self.headers(stream, &fields, end_stream)
    }

    pub(super) fn headers(
        &mut self,
        stream: u32,
        fields: &[(&str, &str)],
        end_stream: bool,
    ) -> &mut H2Script {
        let block = self.block(fields);
        self.frame(Frame::Headers {
            stream: StreamId::new(stream),
            priority: None,
            fragment: block.freeze(),
            end_stream,
            end_headers: true,
        })
    }

    /// `fields` as a header block, in this script's HPACK context.
    fn block(&mut self, fields: &[(&str, &str)]) -> BytesMut {
        let mut block = BytesMut::new();
        let fields = fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()));
        match &mut self.hpack {
            ScriptHpack::Engine(hpack) => hpack.encode(fields, &mut block),
            ScriptHpack::Reference(hpack) => hpack.encode(fields, &mut block),
        }
        block
    }

    /// A header block cut into a HEADERS frame and CONTINUATIONs of at most `frame_bytes`.
    fn headers_in_pieces(
        &mut self,
        stream: u32,
        fields: &[(&str, &str)],
        frame_bytes: usize,
    ) -> &mut H2Script {
        let mut block = self.block(fields);
        let mut pieces: Vec<Bytes> = Vec::new();
        while !block.is_empty() {
            pieces.push(block.split_to(frame_bytes.min(block.len())).freeze());
        }
        let last = pieces.len() - 1;
        for (i, fragment) in pieces.into_iter().enumerate() {
            let (stream, end_headers) = (StreamId::new(stream), i == last);
            self.frame(match i {
                0 => Frame::Headers {
                    stream,
                    priority: None,
                    fragment,
                    end_stream: true,
                    end_headers,
                },
                _ => Frame::Continuation {
                    stream,
                    fragment,
                    end_headers,
                },
            });
        }
        self
    }

    pub(super) fn data(
        &mut self,
        stream: u32,
        data: &'static [u8],
        end_stream: bool,
    ) -> &mut H2Script {
        self.frame(Frame::Data {
            stream: StreamId::new(stream),
            data: Bytes::from_static(data),
            end_stream,
            flow_len: data.len() as u32,
        })
    }

    /// Bytes as they are: a frame the frame layer would refuse to write.
    pub(super) fn raw(&mut self, bytes: &[u8]) -> &mut H2Script {
        self.bytes.extend_from_slice(bytes);
        self
    }

    pub(super) fn bytes(&self) -> Bytes {
        Bytes::copy_from_slice(&self.bytes)
    }
}

/// A frame's 9-byte header: `length`, `kind`, `flags`, `stream`.
fn frame_header(length: usize, kind: u8, flags: u8, stream: u32) -> Vec<u8> {
    let mut out = u32::try_from(length)
        .expect("a frame's length")
        .to_be_bytes()[1..]
        .to_vec();
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out
}

/// The HEADERS fragments the client on connection `conn` read, in order (none of these
/// scenarios' blocks needs a CONTINUATION).
fn header_blocks(o: &Outcome, conn: usize) -> Vec<Bytes> {
    (frames_received(o, conn).into_iter())
        .filter_map(|frame| match frame {
            Frame::Headers { fragment, .. } => Some(fragment),
            _ => None,
        })
        .collect()
}

/// What the client read on one stream.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Answer {
    pub(super) statuses: Vec<u16>,
    pub(super) body: Vec<u8>,
    /// Ended by END_STREAM (`None`) or by RST_STREAM with this code.
    pub(super) reset: Option<ErrorCode>,
    pub(super) ended: bool,
}

/// The frames the client on connection `conn` read, decoded, up to the first it cannot decode.
pub(super) fn frames_received(o: &Outcome, conn: usize) -> Vec<Frame> {
    let mut buf = BytesMut::from(&o.clients[conn].received[..]);
    let decoder = FrameDecoder::new(MAX_FRAME_SIZE_LIMIT);
    std::iter::from_fn(|| decoder.decode(&mut buf).ok().flatten()).collect()
}

/// The client's streams as it read them (server frames decoded, one HPACK context).
pub(super) fn answers(o: &Outcome, conn: usize) -> BTreeMap<u32, Answer> {
    let mut hpack = ReferenceDecoder::new();
    let mut out: BTreeMap<u32, Answer> = BTreeMap::new();
    for frame in frames_received(o, conn) {
        let stream = frame.stream().get();
        match frame {
            Frame::Headers {
                fragment,
                end_stream,
                ..
            } => {
                let answer = out.entry(stream).or_default();
                let fields = hpack.decode(&fragment).unwrap_or_default();
                if let Some((_, status)) = fields.iter().find(|(n, _)| &n[..] == b":status") {
                    let status = std::str::from_utf8(status)
                        .unwrap_or("0")
                        .parse()
                        .unwrap_or(0);
                    answer.statuses.push(status);
                }
                answer.ended |= end_stream;
            }
            Frame::Data {
                data, end_stream, ..
            } => {
                let answer = out.entry(stream).or_default();
                answer.body.extend_from_slice(&data);
                answer.ended |= end_stream;
            }
            Frame::RstStream { code, .. } => {
                let answer = out.entry(stream).or_default();
                answer.reset = Some(code);
                answer.ended = true;
            }
            _ => {}
        }
    }
    out
}

/// The fields of the first header block the client read on `stream` (every block decoded in
/// order, one HPACK context), `date`'s value replaced: it follows the clock.
/// `/own-fields` asked for on streams 1, 3, 5 and 7 of one connection, its client's
/// `SETTINGS_HEADER_TABLE_SIZE` set to `table` if given.
fn fields_across(name: &str, table: Option<u32>) -> Scenario {
    let mut script = H2Script::new();
    if let Some(size) = table {
        let settings = vec![(SettingId::HeaderTableSize, size)];
        script.frame(Frame::Settings {
            ack: false,
            settings,
        });
    }
    for stream in [1, 3, 5, 7] {
        script.request(stream, "GET", "/own-fields", true);
    }
    scenario_with(name, app_factory::<Api>(), &script)
}

/// Stream `stream` was answered with the api app's `/own-fields` head as HTTP/2 sends it.
fn own_fields_on(o: &Outcome, stream: u32) -> Vec<Violation> {
    let want = [
        (":status", "200"),
        ("content-type", "text/plain"),
        ("server", "api"),
        ("content-length", "3"),
        ("date", "(the clock's)"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    let got = response_fields(o, stream);
    if got == want {
        return Vec::new();
    }
    failed_on(
        0,
        format!("stream {stream}'s fields: {got:?}; expected {want:?}"),
    )
}

/// `request_fields_from_another_encoder`'s requests: the stream, then the names of its own
/// fields, each an entry of 128 bytes in the server's 256-byte HPACK table.
const REFERENCE_ENCODED_REQUESTS: [(u32, &[&str]); 4] = [
    (1, &["x-a", "x-b"]),
    (3, &["x-a", "x-b", "x-c"]),
    (5, &["x-b", "x-c", "x-a"]),
    (7, &["x-c", "x-a"]),
];

/// A value that makes `name`'s entry exactly 128 bytes (RFC 7541 §4.1: name, value and 32
/// octets): the name's last letter, 93 times.
fn table_filling_value(name: &str) -> String {
    name[name.len() - 1..].repeat(128 - 32 - name.len())
}

fn response_fields(o: &Outcome, stream: u32) -> Vec<(String, String)> {
    let mut hpack = ReferenceDecoder::new();
    let mut first = None;
    for frame in frames_received(o, 0) {
        if let Frame::Headers {
            stream: on,
            fragment,
            ..
        } = frame
        {
            let fields = hpack.decode(&fragment).unwrap_or_default();
            if on.get() == stream && first.is_none() {
                first = Some(fields);
            }
        }
    }
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let fields = first.unwrap_or_default().into_iter();
    fields
        .map(|(name, value)| match &name[..] {
            b"date" => (text(&name), "(the clock's)".to_owned()),
            _ => (text(&name), text(&value)),
        })
        .collect()
}

/// Stream `stream` got these statuses and this whole body, ended by END_STREAM.
pub(super) fn answered(o: &Outcome, stream: u32, statuses: &[u16], body: &[u8]) -> Vec<Violation> {
    answered_then(o, stream, statuses, body, None)
}

/// Stream `stream` got these statuses and this body with END_STREAM, then, if `reset`, a
/// RST_STREAM with that code (a response complete before its request: RFC 9113 §8.1).
fn answered_then(
    o: &Outcome,
    stream: u32,
    statuses: &[u16],
    body: &[u8],
    reset: Option<ErrorCode>,
) -> Vec<Violation> {
    let got = answers(o, 0).remove(&stream).unwrap_or_default();
    let want = Answer {
        statuses: statuses.to_vec(),
        body: body.to_vec(),
        reset,
        ended: true,
    };
    if got == want {
        return Vec::new();
    }
    let shown = |a: &Answer| {
        format!(
            "statuses {:?}, {} body bytes, reset {:?}, ended {}",
            a.statuses,
            a.body.len(),
            a.reset,
            a.ended
        )
    };
    failed_on(
        0,
        format!(
            "stream {stream}: {}; expected {}",
            shown(&got),
            shown(&want)
        ),
    )
}

/// Stream `stream` was reset with `code` before any response head.
pub(super) fn reset(o: &Outcome, stream: u32, code: ErrorCode) -> Vec<Violation> {
    let got = answers(o, 0).remove(&stream).unwrap_or_default();
    if got.reset == Some(code) && got.statuses.is_empty() {
        return Vec::new();
    }
    failed_on(
        0,
        format!("stream {stream}: {got:?}; expected a reset {code:?}"),
    )
}

/// The connection ended with GOAWAY carrying `code`.
pub(super) fn goaway(o: &Outcome, code: ErrorCode) -> Vec<Violation> {
    let last = frames_received(o, 0)
        .into_iter()
        .filter_map(|frame| match frame {
            Frame::GoAway { code, .. } => Some(code),
            _ => None,
        })
        .last();
    if last == Some(code) {
        return Vec::new();
    }
    failed_on(0, format!("GOAWAY {last:?}, expected {code:?}"))
}

/// A flooding client (misbehaving: no liveness is owed to it) against the echo app, with the
/// HTTP/2 limits `limits` sets.
fn flood(
    name: &str,
    script: &H2Script,
    limits: impl FnOnce(&mut twine_engine::H2Limits),
) -> Scenario {
    let mut config = quick_config();
    limits(&mut config.h2);
    let mut s = Scenario::new(name, config, app_factory::<Echo>());
    s.clients
        .push(ClientScript::new().send(script.bytes()).misbehaving());
    s
}

fn scenario_with(name: &str, factory: twine_sim::AppFactory, script: &H2Script) -> Scenario {
    let mut s = Scenario::new(name, quick_config(), factory);
    s.clients.push(ClientScript::new().send(script.bytes()));
    s
}

/// A POST to the echo app on stream 1 whose body comes as `frames` DATA frames of `piece`,
/// then `last` with END_STREAM.
fn post_in_frames(
    name: &str,
    frames: usize,
    piece: &'static [u8],
    last: &'static [u8],
) -> Scenario {
    let mut script = H2Script::new();
    script.request(1, "POST", "/", false);
    for _ in 0..frames {
        script.data(1, piece, false);
    }
    script.data(1, last, true);
    scenario_with(name, app_factory::<Echo>(), &script)
}

/// An upload of 81 919 bytes to the echo app on stream 1, past the stream's window of 65 535:
/// the window's worth, then, once the server's WINDOW_UPDATE on stream 1 has arrived, what
/// `between` adds and the last 16 384 bytes.
fn upload_past_the_window(name: &str, between: impl FnOnce(&mut H2Script)) -> Scenario {
    let mut first = H2Script::new();
    first.request(1, "POST", "/echo", false);
    for _ in 0..3 {
        first.data(1, &UPLOAD_CHUNK, false);
    }
    first.data(1, &UPLOAD_CHUNK[..16_383], false);
    let mut then = H2Script::empty();
    between(&mut then);
    then.data(1, &UPLOAD_CHUNK, true);
    let mut s = Scenario::new(name, quick_config(), app_factory::<Echo>());
    let wait = Action::WaitFor(Bytes::from_static(STREAM_1_WINDOW_UPDATE));
    let client = ClientScript::new()
        .send(first.bytes())
        .then(wait)
        .send(then.bytes());
    s.clients.push(client.granting(Grants::All));
    s
}

/// A DATA frame carrying one byte `p` and `pad` bytes of padding: 2 + `pad` bytes of window
/// for one of body (RFC 9113 §6.1: the Pad Length field and the padding are flow-controlled).
fn padded_byte(stream: u32, pad: u8, end_stream: bool) -> Vec<u8> {
    let flags = 0x8 | u8::from(end_stream);
    let mut frame = frame_header(2 + usize::from(pad), 0x0, flags, stream);
    frame.extend_from_slice(&[pad, b'p']);
    frame.resize(frame.len() + usize::from(pad), 0);
    frame
}

/// A POST to the echo app on `stream` whose body is `frames` bytes, each in a DATA frame
/// padded to 256 bytes of window: 65 280 of window for 255 bytes of body at most.
fn padded_upload(script: &mut H2Script, stream: u32, frames: usize, end_stream: bool) {
    script.request(stream, "POST", "/echo", false);
    for i in 0..frames {
        script.raw(&padded_byte(stream, 254, end_stream && i + 1 == frames));
    }
}

const R0: RequestId = RequestId::from_sequence(0);

/// The api app's routes `http2/app_api_routes` asks for, a stream each, with the statuses and
/// the body each must get: the misuse routes' refused commands send nothing, so each answers a
/// plain `ok`.
const API_ROUTES: &[(&str, &[u16], &[u8])] = &[
    ("/hints", &[103, 200], b"hinted\n"),
    ("/processing", &[102, 200], b"processed\n"),
    ("/respond", &[200], b"whole\n"),
    ("/parts", &[200], b"Hello, world!\n"),
    ("/empty-writes", &[200], b"ok\n!\n"),
    ("/status/204", &[204], b""),
    ("/status/404", &[404], b""),
    ("/misuse/heads", &[200], b"ok\n"),
    ("/misuse/body-lengths", &[200], b"ok\n"),
    ("/misuse/late-hints", &[200], b"ok\n"),
    ("/misuse/informational-statuses", &[200], b"ok\n"),
    ("/misuse/body-after-finish", &[200], b"ok\n"),
    ("/misuse/framing", &[200], b"ok\n"),
];

/// An upload's DATA payload: as many bytes as one frame of the default size carries.
static UPLOAD_CHUNK: [u8; 16_384] = [b'u'; 16_384];

/// The header of a WINDOW_UPDATE on stream 1: a 4-byte payload, type 8, no flags.
const STREAM_1_WINDOW_UPDATE: &[u8] = &[0, 0, 4, 8, 0, 0, 0, 0, 1];

/// The header of the server's SETTINGS under `quick_config`: six settings, 36 bytes.
const SERVER_SETTINGS: &[u8] = &[0, 0, 36, 4, 0, 0, 0, 0, 0];

/// The header of a WINDOW_UPDATE on the connection (stream 0).
const CONNECTION_WINDOW_UPDATE: &[u8] = &[0, 0, 4, 8, 0, 0, 0, 0, 0];

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "request_as_the_app_sees_it",
        about: "a GET ending with its HEADERS reaches the app as an HTTP/2 request: its fields in order, then `:authority` as its `Host`, a body of length 0, no `100 Continue` owed (the api app's `/request` describes it)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let fields = [(":method", "GET"), (":scheme", "http"), (":path", "/request?q=1"), (":authority", "sim"), ("user-agent", "sim"), ("accept", "*/*")];
            script.headers(1, &fields, true);
            scenario_with("http2/request_as_the_app_sees_it", app_factory::<Api>(), &script)
        },
        expect: |o| answered(o, 1, &[200], b"GET /request?q=1 HTTP/2\nuser-agent: sim\naccept: */*\nhost: sim\nbody: length 0\n100 continue owed: no\n"),
    },
    Entry {
        family: FAMILY,
        name: "cookie_crumbs_joined",
        about: "a Cookie split into crumbs, one field each, as browsers send it over HTTP/2 for HPACK's sake: the app gets one `cookie` field where the first crumb stood, the crumbs joined by `; ` (RFC 9113 §8.2.3: what an HTTP/1.1 app or origin expects, which allows one)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let fields = [(":method", "GET"), (":scheme", "http"), (":path", "/request"), (":authority", "sim"), ("cookie", "a=1"), ("accept", "*/*"), ("cookie", "b=2"), ("cookie", "c=3")];
            script.headers(1, &fields, true);
            scenario_with("http2/cookie_crumbs_joined", app_factory::<Api>(), &script)
        },
        expect: |o| answered(o, 1, &[200], b"GET /request HTTP/2\ncookie: a=1; b=2; c=3\naccept: */*\nhost: sim\nbody: length 0\n100 continue owed: no\n"),
    },
    Entry {
        family: FAMILY,
        name: "te_trailers_accepted",
        about: "`te: trailers`, which every gRPC client sends, is the one TE value an HTTP/2 request may carry (RFC 9113 §8.2.2): the request is served, where any other value is malformed (`http2_malformed/te_other_than_trailers`)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let fields = [(":method", "POST"), (":scheme", "http"), (":path", "/echo"), (":authority", "sim"), ("te", "trailers"), ("content-type", "application/grpc")];
            script.headers(1, &fields, false).data(1, b"\0\0\0\0\x02hi", true);
            scenario_with("http2/te_trailers_accepted", app_factory::<Echo>(), &script)
        },
        expect: |o| answered(o, 1, &[200], b"\0\0\0\0\x02hi"),
    },
    Entry {
        family: FAMILY,
        name: "host_matching_authority",
        about: "a `host` field that names the same host as `:authority` (in another case) is accepted: the app sees the request's own `host` once, not a second one made from `:authority`",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let fields = [(":method", "GET"), (":scheme", "http"), (":path", "/request"), (":authority", "sim"), ("host", "SIM")];
            script.headers(1, &fields, true);
            scenario_with("http2/host_matching_authority", app_factory::<Api>(), &script)
        },
        expect: |o| answered(o, 1, &[200], b"GET /request HTTP/2\nhost: SIM\nbody: length 0\n100 continue owed: no\n"),
    },
    Entry {
        family: FAMILY,
        name: "content_length_of_nineteen_digits",
        about: "a `content-length` of 19 digits (10^18, within a u64) is a length like any other: the app sees it and answers before the body, which never comes, so the stream is reset with NO_ERROR after the response (§8.1)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let fields = [(":method", "POST"), (":scheme", "http"), (":path", "/request"), (":authority", "sim"), ("content-length", "1000000000000000000")];
            script.headers(1, &fields, false);
            scenario_with("http2/content_length_of_nineteen_digits", app_factory::<Api>(), &script)
        },
        expect: |o| {
            let body = b"POST /request HTTP/2\ncontent-length: 1000000000000000000\nhost: sim\nbody: length 1000000000000000000\n100 continue owed: no\n";
            all([
                answered_then(o, 1, &[200], body, Some(ErrorCode::NoError)),
                goaway(o, ErrorCode::NoError),
                // Reset at once, not kept for a body that cannot come within its window.
                count(o, timer_fired(Timer::IdleKeepAlive), 1),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "expect_continue",
        about: "`expect: 100-continue` over HTTP/2: the app's first credit sends a HEADERS frame of `:status 100` alone, the body reaches the app 8 bytes of credit at a time, and the final response follows on the same stream (Twisted's test_respondWith100Continue)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let fields = [(":method", "POST"), (":scheme", "http"), (":path", "/accept"), (":authority", "sim"), ("expect", "100-continue"), ("content-length", "20")];
            script.headers(1, &fields, false);
            script.data(1, b"twenty bytes of body", true);
            scenario_with("http2/expect_continue", app_factory::<Api>(), &script)
        },
        expect: |o| all([answered(o, 1, &[100, 200], b"received 20 bytes\n"), within_credit(o, R0)]),
    },
    Entry {
        family: FAMILY,
        name: "app_100_after_the_lazy_one_dropped",
        about: "over HTTP/2 as over HTTP/1.1, an app's own 100 Continue after its first credit (the lazy one already sent) is dropped: one HEADERS of `:status 100` on the stream, then the answer",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let fields = [(":method", "POST"), (":scheme", "http"), (":path", "/continue-again"), (":authority", "sim"), ("expect", "100-continue"), ("content-length", "20")];
            script.headers(1, &fields, false);
            script.data(1, b"twenty bytes of body", true);
            scenario_with("http2/app_100_after_the_lazy_one_dropped", app_factory::<Api>(), &script)
        },
        expect: |o| answered(o, 1, &[100, 200], b"received 20 bytes\n"),
    },
    Entry {
        family: FAMILY,
        name: "app_100_before_its_credit_is_the_only_one",
        about: "over HTTP/2 as over HTTP/1.1, an app's own 100 Continue before its first credit is the stream's only one: no lazy HEADERS of `:status 100` follows when the credit comes",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let fields = [(":method", "POST"), (":scheme", "http"), (":path", "/continue-first"), (":authority", "sim"), ("expect", "100-continue"), ("content-length", "20")];
            script.headers(1, &fields, false);
            script.data(1, b"twenty bytes of body", true);
            scenario_with("http2/app_100_before_its_credit_is_the_only_one", app_factory::<Api>(), &script)
        },
        expect: |o| answered(o, 1, &[100, 200], b"received 20 bytes\n"),
    },
    Entry {
        family: FAMILY,
        name: "own_fields",
        about: "the api app's `/own-fields` over HTTP/2: its `Connection` field is dropped (connection-specific, §8.2.2), its own `server` kept and none added, names lower-cased, `date` added",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/own-fields", true);
            scenario_with("http2/own_fields", app_factory::<Api>(), &script)
        },
        expect: |o| all([own_fields_on(o, 1), answered(o, 1, &[200], b"ok\n")]),
    },
    Entry {
        family: FAMILY,
        name: "fields_across_responses",
        about: "`/own-fields` four times on one connection: every response decodes (by an HPACK decoder other than the engine's) to the same fields, the later ones by reference to the entries the first added to the dynamic table (RFC 7541 §2.3.3)",
        seed: 1,
        build: |_| fields_across("http2/fields_across_responses", None),
        expect: |o| all([1, 3, 5, 7].map(|stream| all([own_fields_on(o, stream), answered(o, stream, &[200], b"ok\n")]))),
    },
    Entry {
        family: FAMILY,
        name: "fields_across_a_small_table",
        about: "`/own-fields` four times on one connection whose client allows HPACK a dynamic table of 100 bytes: every response decodes (by an HPACK decoder other than the engine's) to the same fields, and never by reference to an entry the table had to evict to stay within the 100 bytes (RFC 7541 §4.4)",
        seed: 1,
        build: |_| fields_across("http2/fields_across_a_small_table", Some(100)),
        expect: |o| all([1, 3, 5, 7].map(|stream| all([own_fields_on(o, stream), answered(o, stream, &[200], b"ok\n")]))),
    },
    Entry {
        family: FAMILY,
        name: "fields_across_a_table_one_byte_short",
        about: "`/own-fields` four times on one connection whose client allows HPACK a dynamic table of 159 bytes, one byte short of the 160 its three indexed fields take (name, value and 32 octets each, RFC 7541 §4.1): each response's `date` evicts its `content-type`, and every response decodes (by an HPACK decoder other than the engine's) to the same fields",
        seed: 1,
        build: |_| fields_across("http2/fields_across_a_table_one_byte_short", Some(159)),
        expect: |o| all([1, 3, 5, 7].map(|stream| all([own_fields_on(o, stream), answered(o, stream, &[200], b"ok\n")]))),
    },
    Entry {
        family: FAMILY,
        name: "request_fields_from_another_encoder",
        about: "four requests to `/request` on a server whose HPACK table is 256 bytes, their header blocks written by an HPACK encoder other than the engine's (plain strings, each new name added to the table): the first request's two 128-byte entries fill the table exactly, the second's third entry evicts only the oldest, the third's re-added name evicts the next; every request reads back with the fields it was sent, each reference to an entry still in the table resolved to it (RFC 7541 §4.1, §4.4)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::with_reference_hpack(256);
            for (stream, names) in REFERENCE_ENCODED_REQUESTS {
                let mut fields = vec![(":method", "GET"), (":scheme", "http"), (":path", "/request"), (":authority", "sim")];
                let values: Vec<String> = names.iter().map(|&name| table_filling_value(name)).collect();
                fields.extend(names.iter().zip(&values).map(|(&name, value)| (name, value.as_str())));
                script.headers(stream, &fields, true);
            }
            let mut config = quick_config();
            config.h2.header_table_size = 256;
            let mut s = Scenario::new("http2/request_fields_from_another_encoder", config, app_factory::<Api>());
            s.clients.push(ClientScript::new().send(script.bytes()));
            s
        },
        expect: |o| {
            all(REFERENCE_ENCODED_REQUESTS.map(|(stream, names)| {
                let fields: String = names.iter().map(|&name| format!("{name}: {}\n", table_filling_value(name))).collect();
                let body = format!("GET /request HTTP/2\n{fields}host: sim\nbody: length 0\n100 continue owed: no\n");
                answered(o, stream, &[200], body.as_bytes())
            }))
        },
    },
    Entry {
        family: FAMILY,
        name: "small_request_fields_from_another_encoder",
        about: "two requests to `/request` whose header blocks an HPACK encoder other than the engine's writes, each with the small field `x-a: 1` (an entry of 36 bytes: name, value and 32 octets, RFC 7541 §4.1) and `:authority sim`: the first adds both to the default 4096-byte table, the second names them by index, and the server resolves both",
        seed: 1,
        build: |_| {
            let mut script = H2Script::with_reference_hpack(4096);
            for stream in [1, 3] {
                let fields = [(":method", "GET"), (":scheme", "http"), (":path", "/request"), (":authority", "sim"), ("x-a", "1")];
                script.headers(stream, &fields, true);
            }
            let mut s = Scenario::new("http2/small_request_fields_from_another_encoder", quick_config(), app_factory::<Api>());
            s.clients.push(ClientScript::new().send(script.bytes()));
            s
        },
        expect: |o| {
            let body = b"GET /request HTTP/2\nx-a: 1\nhost: sim\nbody: length 0\n100 continue owed: no\n";
            all([answered(o, 1, &[200], body), answered(o, 3, &[200], body)])
        },
    },
    Entry {
        family: FAMILY,
        name: "request_field_as_large_as_the_table",
        about: "two requests to `/request` on a server whose HPACK table is 128 bytes, written by an HPACK encoder other than the engine's: the first adds an entry of exactly 128 bytes, which fits (RFC 7541 §4.4: only an entry larger than the table empties it and is not added), and the second's reference to it resolves",
        seed: 1,
        build: |_| {
            let mut script = H2Script::with_reference_hpack(128);
            let value = table_filling_value("x-a");
            for stream in [1, 3] {
                script.headers(stream, &[(":method", "GET"), (":scheme", "http"), (":path", "/request"), (":authority", "sim"), ("x-a", &value)], true);
            }
            let mut config = quick_config();
            config.h2.header_table_size = 128;
            let mut s = Scenario::new("http2/request_field_as_large_as_the_table", config, app_factory::<Api>());
            s.clients.push(ClientScript::new().send(script.bytes()));
            s
        },
        expect: |o| {
            let body = format!("GET /request HTTP/2\nx-a: {}\nhost: sim\nbody: length 0\n100 continue owed: no\n", table_filling_value("x-a"));
            all([1, 3].map(|stream| answered(o, stream, &[200], body.as_bytes())))
        },
    },
    Entry {
        family: FAMILY,
        name: "field_lengths_at_the_prefix_bound",
        about: "`/mirror` sends back fields whose values are 126, 127 and 128 bytes of `~` (longer Huffman-coded, so written as they are): a string length of 127 is the 7-bit prefix's largest, which HPACK writes as 127 and a 0 after it (RFC 7541 §5.1), and every value decodes whole in the client's context",
        seed: 1,
        build: |_| {
            let values = [126, 127, 128].map(|n| "~".repeat(n));
            let fields = [(":method", "GET"), (":scheme", "http"), (":path", "/mirror"), (":authority", "sim"), ("x-a", values[0].as_str()), ("x-b", values[1].as_str()), ("x-c", values[2].as_str())];
            let mut script = H2Script::new();
            script.headers(1, &fields, true);
            scenario_with("http2/field_lengths_at_the_prefix_bound", app_factory::<Api>(), &script)
        },
        expect: |o| {
            let got: Vec<(String, usize)> = response_fields(o, 1).into_iter().filter(|(name, _)| name.starts_with("x-")).map(|(name, value)| (name, value.len())).collect();
            let want = [("x-a", 126), ("x-b", 127), ("x-c", 128)].map(|(n, len)| (n.to_string(), len));
            let mirrored = if got == want { Vec::new() } else { failed_on(0, format!("mirrored fields (name, value length) {got:?}; expected {want:?}")) };
            all([mirrored, answered(o, 1, &[200], b"ok\n")])
        },
    },
    Entry {
        family: FAMILY,
        name: "response_block_past_a_frame",
        about: "`/mirror` sends back three fields of 8 000 bytes of `~` (longer Huffman-coded, so written as they are), asked for in a HEADERS and a CONTINUATION: the response's block of 24 KiB goes out as a HEADERS of 16 384 bytes without END_HEADERS and a CONTINUATION that ends it (RFC 9113 §4.3, §6.10), no frame past the client's SETTINGS_MAX_FRAME_SIZE, and decodes whole",
        seed: 1,
        build: |_| {
            let value = "~".repeat(8_000);
            let fields = [(":method", "GET"), (":scheme", "http"), (":path", "/mirror"), (":authority", "sim"), ("x-a", value.as_str()), ("x-b", value.as_str()), ("x-c", value.as_str())];
            let mut script = H2Script::new();
            script.headers_in_pieces(1, &fields, 16_384);
            scenario_with("http2/response_block_past_a_frame", app_factory::<Api>(), &script)
        },
        expect: |o| {
            // Stream 1's header frames as (HEADERS or not, END_HEADERS, fragment length).
            let mut shape = Vec::new();
            let mut block = BytesMut::new();
            for frame in frames_received(o, 0) {
                let (headers, fragment, end_headers) = match frame {
                    Frame::Headers { stream, fragment, end_headers, .. } if stream.get() == 1 => (true, fragment, end_headers),
                    Frame::Continuation { stream, fragment, end_headers } if stream.get() == 1 => (false, fragment, end_headers),
                    _ => continue,
                };
                shape.push((headers, end_headers, fragment.len()));
                block.extend_from_slice(&fragment);
            }
            let framed = match &shape[..] {
                [(true, false, 16_384), (false, true, rest)] if *rest > 0 => Vec::new(),
                _ => failed_on(0, format!("stream 1's header frames (HEADERS, END_HEADERS, length) {shape:?}; expected a full HEADERS without END_HEADERS, then one CONTINUATION ending the block")),
            };
            let fields = ReferenceDecoder::new().decode(&block).unwrap_or_default();
            let mirrored: Vec<(Vec<u8>, usize)> = fields.into_iter().filter(|(name, _)| name.starts_with(b"x-")).map(|(name, value)| (name.to_vec(), value.len())).collect();
            let want: Vec<(Vec<u8>, usize)> = [b"x-a", b"x-b", b"x-c"].map(|name| (name.to_vec(), 8_000)).to_vec();
            let decoded = if mirrored == want { Vec::new() } else { failed_on(0, format!("mirrored fields (name, value length) {mirrored:?}")) };
            let answer = answers(o, 0).remove(&1).unwrap_or_default();
            let body = if answer.body == b"ok\n" && answer.ended && answer.reset.is_none() { Vec::new() } else { failed_on(0, format!("stream 1's answer {answer:?}")) };
            all([framed, decoded, body])
        },
    },
    Entry {
        family: FAMILY,
        name: "acknowledgements_not_answered",
        about: "a client that acknowledges the server's SETTINGS once they arrive, as every real client does, and sends a PING with ACK set that answers nothing: neither is answered (RFC 9113 §6.5.3: an ACK is not acknowledged; §6.7: an endpoint MUST NOT respond to a PING ACK, or two such peers would answer each other forever), and the GET behind them is",
        seed: 1,
        build: |_| {
            let mut rest = H2Script::empty();
            rest.frame(Frame::Settings { ack: true, settings: Vec::new() });
            rest.frame(Frame::Ping { ack: true, payload: *b"unasked!" });
            rest.request(1, "GET", "/respond", true);
            let mut s = Scenario::new("http2/acknowledgements_not_answered", quick_config(), app_factory::<Api>());
            let settings = Action::WaitFor(Bytes::from_static(SERVER_SETTINGS));
            s.clients.push(ClientScript::new().send(H2Script::new().bytes()).then(settings).send(rest.bytes()));
            s
        },
        expect: |o| {
            let frames = frames_received(o, 0);
            let pings = frames.iter().filter(|f| matches!(f, Frame::Ping { .. })).count();
            let acks = frames.iter().filter(|f| matches!(f, Frame::Settings { ack: true, .. })).count();
            let answered_acks = if pings == 0 && acks == 1 { Vec::new() } else { failed_on(0, format!("{pings} PINGs and {acks} SETTINGS ACKs from the server; expected none and one")) };
            all([answered_acks, answered(o, 1, &[200], b"whole\n")])
        },
    },
    Entry {
        family: FAMILY,
        name: "set_cookie_never_indexed",
        about: "two responses carrying a `Set-Cookie` (`/cookie`): HPACK writes it each time as a literal never to be indexed (`0x1f 0x28`: the static name `set-cookie`, RFC 7541 §6.2.3), so the connection's table never holds the secret for a later block to be compared against (§7.1.3)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/cookie", true).request(3, "GET", "/cookie", true);
            scenario_with("http2/set_cookie_never_indexed", app_factory::<Api>(), &script)
        },
        expect: |o| {
            let blocks = header_blocks(o, 0);
            let indexed = blocks.iter().filter(|block| !block.windows(2).any(|w| w == [0x1f, 0x28])).count();
            let never = if blocks.len() == 2 && indexed == 0 { Vec::new() } else { failed_on(0, format!("{indexed} of {} header blocks without set-cookie as a never-indexed literal", blocks.len())) };
            let cookie = response_fields(o, 1).contains(&("set-cookie".to_string(), twine_apps::api::COOKIE.to_string()));
            let sent = if cookie { Vec::new() } else { failed_on(0, "stream 1's response has no set-cookie".into()) };
            all([never, sent, answered(o, 1, &[200], b"ok\n"), answered(o, 3, &[200], b"ok\n")])
        },
    },
    Entry {
        family: FAMILY,
        name: "hints_without_server_or_date",
        about: "an informational head (`/hints`: a 103 with a `Link`) carries only its own fields, no `server` or `date`, which belong to the final head (RFC 9110 §6.6.1); the 200 after it has both",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/hints", true);
            scenario_with("http2/hints_without_server_or_date", app_factory::<Api>(), &script)
        },
        expect: |o| {
            let got = response_fields(o, 1);
            let want = [(":status", "103"), ("link", "</style.css>; rel=preload")].map(|(n, v)| (n.to_string(), v.to_string()));
            let hints = if got == want { Vec::new() } else { failed_on(0, format!("the 103's fields: {got:?}; expected {want:?}")) };
            all([hints, answered(o, 1, &[103, 200], b"hinted\n")])
        },
    },
    Entry {
        family: FAMILY,
        name: "answered_early_then_trailers",
        about: "a POST whose whole response (`/respond`) comes before its body: the body and its trailers, sent after the response, are read and dropped, the stream ends with both END_STREAMs (no RST_STREAM), and the app hears nothing more of it",
        seed: 1,
        build: |_| {
            let mut first = H2Script::new();
            first.request(1, "POST", "/respond", false);
            let mut then = H2Script::empty();
            then.data(1, b"late body", false);
            then.headers(1, &[("x-checksum", "1")], true);
            let mut s = Scenario::new("http2/answered_early_then_trailers", quick_config(), app_factory::<Api>());
            // The response's last frame's header: 6 bytes of DATA with END_STREAM on stream 1.
            let ended = Bytes::from_static(&[0, 0, 6, 0, 1, 0, 0, 0, 1]);
            s.clients.push(ClientScript::new().send(first.bytes()).then(Action::WaitFor(ended)).send(then.bytes()));
            s
        },
        expect: |o| all([answered(o, 1, &[200], b"whole\n"), absent(o, any_body_end()), goaway(o, ErrorCode::NoError)]),
    },
    Entry {
        family: FAMILY,
        name: "producer_handover",
        about: "`/handover/100000` over HTTP/2: a push producer sends the first half, is unregistered, and a pull producer registered on the same stream sends the rest, a chunk per pull, past the stream's first window (the client grants as it reads): every byte arrives once, in order",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/handover/100000", true);
            let mut s = Scenario::new("http2/producer_handover", quick_config(), app_factory::<Api>());
            s.clients.push(ClientScript::new().send(script.bytes()).granting(Grants::All));
            s
        },
        expect: |o| {
            let unregistered = app(AppAction::UnregisterProducer { request: R0 });
            let pull = app(AppAction::RegisterProducer { request: R0, kind: ProducerKind::Pull });
            all([answered(o, 1, &[200], &expected_body(100_000)), in_order(o, &[unregistered, pull])])
        },
    },
    Entry {
        family: FAMILY,
        name: "answered_early_then_window_and_reset",
        about: "a POST whose whole response (`/respond`) comes before its body, then, on that half-closed stream, the client's WINDOW_UPDATE for the DATA it read and its RST_STREAM(CANCEL) (it will not send the body): both are the peer's to send on a stream it has not ended (§5.1, half-closed (local) on our side), neither is a connection error, and a GET on stream 3 is served after them",
        seed: 1,
        build: |_| {
            let mut first = H2Script::new();
            first.request(1, "POST", "/respond", false);
            let mut then = H2Script::empty();
            then.frame(Frame::WindowUpdate { stream: StreamId::new(1), increment: 6 });
            then.frame(Frame::RstStream { stream: StreamId::new(1), code: ErrorCode::Cancel });
            then.request(3, "GET", "/respond", true);
            let mut s = Scenario::new("http2/answered_early_then_window_and_reset", quick_config(), app_factory::<Api>());
            // The response's last frame's header: 6 bytes of DATA with END_STREAM on stream 1.
            let ended = Bytes::from_static(&[0, 0, 6, 0, 1, 0, 0, 0, 1]);
            s.clients.push(ClientScript::new().send(first.bytes()).then(Action::WaitFor(ended)).send(then.bytes()));
            s
        },
        expect: |o| all([answered(o, 1, &[200], b"whole\n"), answered(o, 3, &[200], b"whole\n"), goaway(o, ErrorCode::NoError)]),
    },
    Entry {
        family: FAMILY,
        name: "answered_early_then_silent",
        about: "a POST whose whole response (`/respond`) comes before its body, then a client silent for 3 s, past the 2 s idle time: only the stream whose body was being discarded ends (RST_STREAM(NO_ERROR) after its END_STREAM, RFC 9113 §8.1), not the connection, which serves the GET that follows",
        seed: 1,
        build: |_| {
            let mut first = H2Script::new();
            first.request(1, "POST", "/respond", false);
            let mut then = H2Script::empty();
            then.request(3, "GET", "/respond", true);
            let mut s = Scenario::new("http2/answered_early_then_silent", quick_config(), app_factory::<Api>());
            // The response's last frame's header: 6 bytes of DATA with END_STREAM on stream 1.
            let ended = Bytes::from_static(&[0, 0, 6, 0, 1, 0, 0, 0, 1]);
            let client = ClientScript::new().send(first.bytes()).then(Action::WaitFor(ended)).then(Action::Sleep(Duration::from_secs(3)));
            s.clients.push(client.send(then.bytes()));
            s
        },
        expect: |o| all([answered_then(o, 1, &[200], b"whole\n", Some(ErrorCode::NoError)), answered(o, 3, &[200], b"whole\n")]),
    },
    Entry {
        family: FAMILY,
        name: "misuse_write_while_paused",
        about: "over HTTP/2, an app that answers its first pause (the stream's window full) with 8 writes of 16 KiB: the stream takes them while its queue stays under the send buffer's bound (64 KiB) and refuses the rest (`Blocked`); the response then completes with what was taken, within the windows the reader grants",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/misuse/write-while-paused", true);
            let mut s = Scenario::new("http2/misuse_write_while_paused", quick_config(), app_factory::<Api>());
            let read = ReadPolicy::Rate { bytes: 16_384, every: Duration::from_millis(10) };
            s.clients.push(ClientScript::new().send(script.bytes()).reading(read).granting(Grants::All));
            s
        },
        expect: |o| {
            let blocked = UsageError::Send(twine_engine::SendError::Blocked);
            let write = AppAction::Body { request: R0, bytes: 16_384 };
            let got = answers(o, 0).remove(&1).unwrap_or_default();
            let whole = match got.statuses == [200] && got.ended && got.reset.is_none() {
                true => Vec::new(),
                false => failed_on(0, format!("stream 1: {got:?}; expected a 200 ended by END_STREAM")),
            };
            all([whole, in_order(o, &[refused(write, blocked)])])
        },
    },
    Entry {
        family: FAMILY,
        name: "app_api_routes",
        about: "the api app's routes over HTTP/2, one stream each: a 103 then the answer, a 102 then the answer, a whole `Respond`, body parts, empty writes, a 204 and a 404, and the misuse routes, whose refused commands (heads HTTP/2 cannot carry, bodies off their length, a 103 after the head) send nothing",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            for (i, (path, _, _)) in API_ROUTES.iter().enumerate() {
                script.request(1 + 2 * i as u32, "GET", path, true);
            }
            scenario_with("http2/app_api_routes", app_factory::<Api>(), &script)
        },
        expect: |o| all(API_ROUTES.iter().enumerate().map(|(i, (_, statuses, body))| answered(o, 1 + 2 * i as u32, statuses, body))),
    },
    Entry {
        family: FAMILY,
        name: "get",
        about: "a GET over HTTP/2 with prior knowledge: our SETTINGS first, HEADERS, an empty DATA with END_STREAM (Twisted's frames), GOAWAY when idle",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/x", true);
            scenario_with("http2/get", app_factory::<Echo>(), &script)
        },
        expect: |o| all([answered(o, 1, &[200], b""), in_order(o, &[app(AppAction::Head { request: R0, status: 200 }), client(ClientEvent::Eof)]), goaway(o, ErrorCode::NoError)]),
    },
    Entry {
        family: FAMILY,
        name: "preface_alone_first",
        about: "a client whose 24-byte preface arrives alone, its SETTINGS and GET 50 ms later: the preface decides the protocol, so our SETTINGS go out at once, before the rest arrives",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/x", true);
            let bytes = script.bytes();
            let mut s = Scenario::new("http2/preface_alone_first", quick_config(), app_factory::<Echo>());
            s.clients.push(ClientScript::new().send(bytes.slice(..PREFACE.len())).then(Action::Sleep(Duration::from_millis(50))).send(bytes.slice(PREFACE.len()..)));
            s
        },
        // Our SETTINGS (36 bytes of payload) before the client's own (empty) SETTINGS.
        expect: |o| all([answered(o, 1, &[200], b""), in_order(o, &[bytes_received(b"\x00\x00\x24\x04\x00\x00\x00\x00\x00"), bytes_sent(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")])]),
    },
    Entry {
        family: FAMILY,
        name: "get_after_alpn",
        about: "a GET on a connection whose TLS handshake chose `h2` by ALPN, so HTTP/2 from its first byte (as `twine serve --tls` runs it): our SETTINGS may go before the client's preface arrives, and the GET is answered as over prior knowledge",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/x", true);
            let mut s = scenario_with("http2/get_after_alpn", app_factory::<Echo>(), &script);
            s.negotiation = twine_sim::Negotiation::AlpnH2;
            s
        },
        expect: |o| all([answered(o, 1, &[200], b""), goaway(o, ErrorCode::NoError)]),
    },
    Entry {
        family: FAMILY,
        name: "post_echoed",
        about: "a body in two DATA frames reaches the app within its credit and comes back on the same stream",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "POST", "/echo", false).data(1, b"hello ", false).data(1, b"world", true);
            scenario_with("http2/post_echoed", app_factory::<Echo>(), &script)
        },
        expect: |o| answered(o, 1, &[200], b"hello world"),
    },
    Entry {
        family: FAMILY,
        name: "post_padded",
        about: "a POST whose HEADERS and DATA frames are both PADDED (3 and 5 bytes of padding): the padding is stripped from each, the block decoded, and only the body's 5 bytes reach the app and come back (§6.1, §6.2)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let fields = [(":method", "POST"), (":scheme", "http"), (":path", "/echo"), (":authority", "sim")];
            let block = script.block(&fields);
            // Type, flags (END_HEADERS | PADDED), stream 1; the pad length, the block, the pad.
            let mut headers = frame_header(1 + block.len() + 3, 0x1, 0x4 | 0x8, 1);
            headers.push(3);
            headers.extend_from_slice(&block);
            headers.extend_from_slice(&[0; 3]);
            script.raw(&headers);
            // DATA with END_STREAM | PADDED: 5 of padding after "hello".
            let mut data = frame_header(1 + 5 + 5, 0x0, 0x1 | 0x8, 1);
            data.push(5);
            data.extend_from_slice(b"hello");
            data.extend_from_slice(&[0; 5]);
            script.raw(&data);
            scenario_with("http2/post_padded", app_factory::<Echo>(), &script)
        },
        expect: |o| answered(o, 1, &[200], b"hello"),
    },
    Entry {
        family: FAMILY,
        name: "header_table_size_lowered",
        about: "a client whose SETTINGS lower HPACK's dynamic table to 0 bytes: the server's first header block after them opens with a dynamic table size update to 0 (RFC 7541 §4.2, RFC 9113 §6.5.2) and indexes nothing after it, so both GETs are read right by a decoder holding no table",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.frame(Frame::Settings { ack: false, settings: vec![(SettingId::HeaderTableSize, 0)] });
            script.request(1, "GET", "/a", true).request(3, "GET", "/b", true);
            scenario_with("http2/header_table_size_lowered", app_factory::<Echo>(), &script)
        },
        expect: |o| {
            let blocks = header_blocks(o, 0);
            let first = match blocks.first() {
                Some(block) if block.first() == Some(&0x20) => Vec::new(),
                other => failed_on(0, format!("the first header block {other:?} does not open with a size update to 0 (0x20)")),
            };
            // A decoder allowed no table reads every block, or names the index it lacks.
            let mut decoder = ReferenceDecoder::allowing(0);
            let read = blocks.iter().filter_map(|b| decoder.decode(b).err().map(|e| failed_on(0, format!("{e:?}")))).flatten().collect();
            all([answered(o, 1, &[200], b""), answered(o, 3, &[200], b""), first, read])
        },
    },
    Entry {
        family: FAMILY,
        name: "header_table_size_down_and_up",
        about: "a GET answered, then two SETTINGS lowering HPACK's dynamic table to 0 bytes and raising it back to 4096, then a second GET: the second response's block opens with two size updates, to 0 (the smallest between the two blocks, which empties the table) and then to 4096 (RFC 7541 §4.2), and reads right in the client's one context",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/a", true);
            let first = script.bytes();
            let table = |size| Frame::Settings { ack: false, settings: vec![(SettingId::HeaderTableSize, size)] };
            script.frame(table(0)).frame(table(4096)).request(3, "GET", "/b", true);
            let then = script.bytes().slice(first.len()..);
            let mut s = Scenario::new("http2/header_table_size_down_and_up", quick_config(), app_factory::<Echo>());
            s.clients.push(ClientScript::new().send(first).then(Action::Sleep(Duration::from_millis(100))).send(then));
            s
        },
        expect: |o| {
            let blocks = header_blocks(o, 0);
            // `0x20`: an update to 0; `0x3f 0xe1 0x1f`: to 4096.
            let second = match blocks.get(1) {
                Some(block) if block.starts_with(&[0x20, 0x3f, 0xe1, 0x1f]) => Vec::new(),
                other => failed_on(0, format!("the second header block {other:?} does not open with size updates to 0 and 4096")),
            };
            let first = match blocks.first() {
                Some(block) if block.first().is_some_and(|b| b & 0xe0 != 0x20) => Vec::new(),
                other => failed_on(0, format!("the first header block {other:?} opens with a size update none asked for")),
            };
            all([answered(o, 1, &[200], b""), answered(o, 3, &[200], b""), first, second])
        },
    },
    Entry {
        family: FAMILY,
        name: "post_with_trailers",
        about: "a body followed by a trailer section that ends the stream: the trailers are read and dropped (as Twisted does), the body ends there and comes back whole",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "POST", "/echo", false).data(1, b"hello ", false).data(1, b"world", false);
            script.headers(1, &[("x-checksum", "5eb63bbb"), ("x-note", "done")], true);
            scenario_with("http2/post_with_trailers", app_factory::<Echo>(), &script)
        },
        expect: |o| all([answered(o, 1, &[200], b"hello world"), goaway(o, ErrorCode::NoError)]),
    },
    Entry {
        family: FAMILY,
        name: "streams_interleaved",
        about: "a push and a pull producer answer two streams of one connection at once, within the 65 535-byte windows the scripted client never reopens",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/stream/35000", true).request(3, "GET", "/pull/30000", true);
            scenario_with("http2/streams_interleaved", app_factory::<Stream>(), &script)
        },
        expect: |o| {
            all([
                answered(o, 1, &[200], &expected_body(35_000)),
                answered(o, 3, &[200], &expected_body(30_000)),
                in_order(o, &[app(AppAction::RegisterProducer { request: RequestId::from_sequence(1), kind: ProducerKind::Pull })]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "window_never_granted",
        about: "a client that reads but never grants window holds a response at the connection's 65 535 bytes; the send stall timer ends it with GOAWAY(FLOW_CONTROL_ERROR) (CVE-2019-9517)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/stream/70000", true);
            let mut s = Scenario::new("http2/window_never_granted", quick_config(), app_factory::<Stream>());
            s.clients.push(ClientScript::new().send(script.bytes()).misbehaving());
            s
        },
        expect: |o| {
            all([
                goaway(o, ErrorCode::FlowControlError),
                in_order(o, &[timer_set(Timer::SendStall), timer_fired(Timer::SendStall), client(ClientEvent::Eof)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "slow_read_progress_not_stall",
        about: "a reader still taking 200 bytes every millisecond is not stalled: each bit of progress while the transport stays blocked pushes send_stall (50 ms) back, so a 50 000-byte stream drains for 250 ms and is never aborted",
        seed: 1,
        build: |_| {
            let mut config = quick_config();
            config.timeouts.send_stall = Duration::from_millis(50);
            let mut script = H2Script::new();
            script.request(1, "GET", "/stream/50000", true);
            let mut s = Scenario::new("http2/slow_read_progress_not_stall", config, app_factory::<Stream>());
            s.faults = slow_reader(8192, 200);
            s.clients.push(ClientScript::new().send(script.bytes()).granting(Grants::All));
            s
        },
        expect: |o| {
            all([
                answered(o, 1, &[200], &expected_body(50_000)),
                absent(o, timer_fired(Timer::SendStall)),
                absent(o, close(CloseReason::Abort)),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "window_as_backpressure",
        about: "a slow reader that grants window as it reads DATA: the stream's push producer pauses each time the window runs out and resumes at each WINDOW_UPDATE, until all 200 000 bytes are through",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/stream/200000", true);
            let mut s = Scenario::new("http2/window_as_backpressure", quick_config(), app_factory::<Stream>());
            let read = ReadPolicy::Rate { bytes: 16_384, every: Duration::from_millis(10) };
            s.clients.push(ClientScript::new().send(script.bytes()).reading(read).granting(Grants::All));
            s
        },
        expect: |o| {
            all([
                answered(o, 1, &[200], &expected_body(200_000)),
                in_order(o, &[producer(0, ProducerState::Paused), producer(0, ProducerState::Producing), producer(0, ProducerState::Paused), producer(0, ProducerState::Producing), producer(0, ProducerState::Stopped)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "reset_mid_stream",
        about: "the client resets a stream mid-body (RST_STREAM CANCEL): its producer is stopped and the request lost, and the next stream on the connection is answered in full",
        seed: 1,
        build: |_| {
            let mut first = H2Script::new();
            first.request(1, "GET", "/stream/1000000", true);
            let mut then = H2Script::empty();
            then.frame(Frame::RstStream { stream: StreamId::new(1), code: ErrorCode::Cancel }).request(3, "GET", "/stream/20000", true);
            let mut s = Scenario::new("http2/reset_mid_stream", quick_config(), app_factory::<Stream>());
            let read = ReadPolicy::Rate { bytes: 16_384, every: Duration::from_millis(5) };
            let client = ClientScript::new().send(first.bytes()).then(Action::Sleep(Duration::from_millis(20))).send(then.bytes());
            s.clients.push(client.reading(read).granting(Grants::All));
            s
        },
        expect: |o| {
            all([
                answered(o, 3, &[200], &expected_body(20_000)),
                in_order(o, &[producer(0, ProducerState::Paused), lost(0), producer(0, ProducerState::Stopped), finish(1)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "hundred_streams_one_stalled",
        about: "100 concurrent streams on a connection window opened to 1 MiB, one stream the client never grants window: the other 99 are answered in full, the stalled one holds at its 65 535 bytes until the send stall timer ends the connection with GOAWAY(FLOW_CONTROL_ERROR)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            // As nghttp2 and curl do: the connection's window opened wide at once, so only
            // the stalled stream's own window holds anything back.
            script.frame(Frame::WindowUpdate { stream: StreamId::new(0), increment: 1 << 20 });
            script.request(1, "GET", "/stream/100000", true);
            for id in (3..=199).step_by(2) {
                script.request(id, "GET", "/stream/5000", true);
            }
            let mut s = Scenario::new("http2/hundred_streams_one_stalled", quick_config(), app_factory::<Stream>());
            s.clients.push(ClientScript::new().send(script.bytes()).granting(Grants::AllBut(1)).misbehaving());
            s
        },
        expect: |o| {
            let answers = answers(o, 0);
            let mut out: Vec<Violation> = (3..=199).step_by(2).flat_map(|id| answered(o, id, &[200], &expected_body(5_000))).collect();
            let stalled = answers.get(&1).map_or(0, |a| a.body.len());
            if stalled != 65_535 {
                out.extend(failed_on(0, format!("the stalled stream got {stalled} bytes, expected its window's 65 535")));
            }
            out.extend(goaway(o, ErrorCode::FlowControlError));
            out.extend(in_order(o, &[finish(99), timer_fired(Timer::SendStall)]));
            out
        },
    },
    Entry {
        family: FAMILY,
        name: "window_closed_before_producing",
        about: "a client whose stream windows start at 0 and who never grants: the producer is registered paused, queues nothing, and the send stall timer still ends the connection with GOAWAY(FLOW_CONTROL_ERROR) (the swarm found it running no timer at all)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.frame(Frame::Settings { ack: false, settings: vec![(SettingId::InitialWindowSize, 0)] });
            script.request(1, "GET", "/stream/1000", true);
            let mut s = Scenario::new("http2/window_closed_before_producing", quick_config(), app_factory::<Stream>());
            s.clients.push(ClientScript::new().send(script.bytes()).misbehaving());
            s
        },
        expect: |o| {
            all([
                goaway(o, ErrorCode::FlowControlError),
                in_order(o, &[producer(0, ProducerState::Paused), timer_set(Timer::SendStall), timer_fired(Timer::SendStall), lost(0), client(ClientEvent::Eof)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "rapid_reset_flood",
        about: "streams opened and reset at once past the reset bucket (10 here; Twisted's 1000) end the connection with GOAWAY(ENHANCE_YOUR_CALM) (CVE-2023-44487)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            for id in (1..=23).step_by(2) {
                script.request(id, "GET", "/", true).frame(Frame::RstStream { stream: StreamId::new(id), code: ErrorCode::Cancel });
            }
            flood("http2/rapid_reset_flood", &script, |h2| h2.resets_burst = 10)
        },
        expect: |o| goaway(o, ErrorCode::EnhanceYourCalm),
    },
    Entry {
        family: FAMILY,
        name: "resets_refill_at_their_rate",
        about: "the reset bucket (10 here) refills at 33 a second: 10 streams opened (POSTs whose bodies never come) and reset at once are allowed, 10 more a second later too (the bucket full again), but of 4 more 100 ms after those only 3 are (3.3 earned): the fourth ends the connection with GOAWAY(ENHANCE_YOUR_CALM), its last stream the fourth's (CVE-2023-44487)",
        seed: 1,
        build: |_| {
            let batch = |first: u32, resets: u32| {
                let mut script = if first == 1 { H2Script::new() } else { H2Script::empty() };
                for id in (first..first + 2 * resets).step_by(2) {
                    // A POST whose body never comes: open until its reset, however the bytes are cut.
                    script.request(id, "POST", "/", false).frame(Frame::RstStream { stream: StreamId::new(id), code: ErrorCode::Cancel });
                }
                script.bytes()
            };
            let mut config = quick_config();
            config.h2.resets_burst = 10;
            config.h2.resets_per_second = 33;
            let mut s = Scenario::new("http2/resets_refill_at_their_rate", config, app_factory::<Echo>());
            let client = ClientScript::new().send(batch(1, 10)).then(Action::Sleep(Duration::from_secs(1))).send(batch(21, 10));
            let client = client.then(Action::Sleep(Duration::from_millis(100))).send(batch(41, 4));
            s.clients.push(client.misbehaving());
            s
        },
        expect: |o| {
            let last = frames_received(o, 0).into_iter().find_map(|frame| match frame {
                Frame::GoAway { last_stream, .. } => Some(last_stream.get()),
                _ => None,
            });
            let at_the_fourth = match last {
                Some(47) => Vec::new(),
                other => failed_on(0, format!("GOAWAY's last stream {other:?}, expected 47")),
            };
            all([goaway(o, ErrorCode::EnhanceYourCalm), at_the_fourth])
        },
    },
    Entry {
        family: FAMILY,
        name: "continuation_flood",
        about: "a header block that never ends, one empty CONTINUATION after another, ends the connection with GOAWAY(ENHANCE_YOUR_CALM) at the bound (CVE-2024-27316)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.frame(Frame::Headers { stream: StreamId::new(1), priority: None, fragment: Bytes::from_static(&[0x82]), end_stream: true, end_headers: false });
            for _ in 0..40 {
                script.frame(Frame::Continuation { stream: StreamId::new(1), fragment: Bytes::new(), end_headers: false });
            }
            flood("http2/continuation_flood", &script, |_| {})
        },
        expect: |o| goaway(o, ErrorCode::EnhanceYourCalm),
    },
    Entry {
        family: FAMILY,
        name: "continuations_at_the_bound",
        about: "a header block in a HEADERS frame and exactly as many CONTINUATION frames as the bound allows (32), the last one ending it: within the bound, the request is served",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let fields = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "sim")];
            let fragment = script.block(&fields).freeze();
            let stream = StreamId::new(1);
            script.frame(Frame::Headers { stream, priority: None, fragment, end_stream: true, end_headers: false });
            for i in 1..=32 {
                script.frame(Frame::Continuation { stream, fragment: Bytes::new(), end_headers: i == 32 });
            }
            scenario_with("http2/continuations_at_the_bound", app_factory::<Echo>(), &script)
        },
        expect: |o| answered(o, 1, &[200], b""),
    },
    Entry {
        family: FAMILY,
        name: "large_header_block_in_continuations",
        about: "a GET whose header block (a 40 000-byte field) comes as HEADERS and CONTINUATION frames of 16 KiB, within the header list bound: the pieces are joined and the request served",
        seed: 1,
        build: |_| {
            let big = "a".repeat(40_000);
            let mut script = H2Script::new();
            let fields = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "sim"), ("x-big", big.as_str())];
            script.headers_in_pieces(1, &fields, 16_384);
            scenario_with("http2/large_header_block_in_continuations", app_factory::<Echo>(), &script)
        },
        expect: |o| answered(o, 1, &[200], b""),
    },
    Entry {
        family: FAMILY,
        name: "headers_with_priority",
        about: "a GET whose HEADERS carries the PRIORITY flag (5 bytes of dependency and weight before its header block): the priority is read and set aside (RFC 9113 §5.3.2), the block decoded and the request served",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let fields = [(":method", "GET"), (":scheme", "http"), (":path", "/prioritised"), (":authority", "sim")];
            let fragment = script.block(&fields).freeze();
            let priority = Some(Priority { dependency: StreamId::new(0), exclusive: true, weight: 200 });
            script.frame(Frame::Headers { stream: StreamId::new(1), priority, fragment, end_stream: true, end_headers: true });
            scenario_with("http2/headers_with_priority", app_factory::<Echo>(), &script)
        },
        expect: |o| all([answered(o, 1, &[200], b""), count(o, server_where("the request for /prioritised", |e| matches!(e, ServerEvent::Request { line, .. } if line.target == "/prioritised")), 1)]),
    },
    Entry {
        family: FAMILY,
        name: "priority_frames_ignored",
        about: "PRIORITY frames as a browser sends them: five on idle streams 3 to 11 building a dependency tree before any request (they open no stream, §5.1), the first GET on stream 13, then one on stream 13 while its response may still be coming and one on stream 1, never used: each is read and set aside (RFC 9113 §5.3.2), and the GETs on 13 and 15 are served",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let priority = |dependency: u32, weight: u8| Priority { dependency: StreamId::new(dependency), exclusive: false, weight };
            for (stream, dependency) in [(3, 0), (5, 0), (7, 0), (9, 7), (11, 3)] {
                script.frame(Frame::Priority { stream: StreamId::new(stream), priority: priority(dependency, 200) });
            }
            script.request(13, "GET", "/", true);
            script.frame(Frame::Priority { stream: StreamId::new(13), priority: priority(11, 21) });
            script.frame(Frame::Priority { stream: StreamId::new(1), priority: priority(0, 0) });
            script.request(15, "GET", "/", true);
            scenario_with("http2/priority_frames_ignored", app_factory::<Echo>(), &script)
        },
        expect: |o| {
            let resets = frames_received(o, 0).iter().filter(|f| matches!(f, Frame::RstStream { .. })).count();
            let none_reset = if resets == 0 { Vec::new() } else { failed_on(0, format!("{resets} streams reset")) };
            all([answered(o, 13, &[200], b""), answered(o, 15, &[200], b""), none_reset])
        },
    },
    Entry {
        family: FAMILY,
        name: "headers_with_priority_on_itself",
        about: "a GET on stream 1 whose HEADERS priority (exclusive) makes it depend on itself is a stream PROTOCOL_ERROR (RFC 9113 §5.3.1): stream 1 is reset, its request never reaches the app, and stream 3 after it is served on the same connection",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let fields = [(":method", "GET"), (":scheme", "http"), (":path", "/on-itself"), (":authority", "sim")];
            let fragment = script.block(&fields).freeze();
            let priority = Some(Priority { dependency: StreamId::new(1), exclusive: true, weight: 16 });
            script.frame(Frame::Headers { stream: StreamId::new(1), priority, fragment, end_stream: true, end_headers: true });
            script.request(3, "GET", "/after", true);
            scenario_with("http2/headers_with_priority_on_itself", app_factory::<Echo>(), &script)
        },
        expect: |o| {
            let on_itself = server_where("the request for /on-itself", |e| matches!(e, ServerEvent::Request { line, .. } if line.target == "/on-itself"));
            all([reset(o, 1, ErrorCode::ProtocolError), absent(o, on_itself), answered(o, 3, &[200], b"")])
        },
    },
    Entry {
        family: FAMILY,
        name: "header_block_past_the_list_bound",
        about: "a header block that grows past the header list bound (64 KiB) across CONTINUATION frames ends the connection with GOAWAY(ENHANCE_YOUR_CALM) before it is decoded (CVE-2024-27316)",
        seed: 1,
        build: |_| {
            // `~` has a 13-bit Huffman code, so the encoder sends it raw: 70 000 bytes of block,
            // in pieces of 16 000 so that no prefix of it is exactly the bound.
            let big = "~".repeat(70_000);
            let mut script = H2Script::new();
            let fields = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "sim"), ("x-big", big.as_str())];
            script.headers_in_pieces(1, &fields, 16_000);
            let mut s = Scenario::new("http2/header_block_past_the_list_bound", quick_config(), app_factory::<Echo>());
            s.clients.push(ClientScript::new().send(script.bytes()).misbehaving());
            s
        },
        expect: |o| all([goaway(o, ErrorCode::EnhanceYourCalm), absent(o, twine_sim::pattern::any_request())]),
    },
    Entry {
        family: FAMILY,
        name: "header_list_at_the_bound",
        about: "a request whose header list is exactly the bound (65 536 bytes: each field's name and value and its 32 bytes, RFC 9113 §6.5.2) is served, and so is the next one: only a list past it is refused",
        seed: 1,
        build: |_| {
            let base = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "sim")];
            let listed = |fields: &[(&str, &str)]| fields.iter().map(|(name, value)| name.len() + value.len() + 32).sum::<usize>();
            let value = "~".repeat(65_536 - listed(&base) - listed(&[("x-big", "")]));
            let exact: Vec<(&str, &str)> = base.iter().copied().chain([("x-big", value.as_str())]).collect();
            assert_eq!(listed(&exact), 65_536, "the list is the bound exactly");
            let mut script = H2Script::new();
            script.headers_in_pieces(1, &exact, 16_000).request(3, "GET", "/after", true);
            scenario_with("http2/header_list_at_the_bound", app_factory::<Echo>(), &script)
        },
        expect: |o| all([answered(o, 1, &[200], b""), answered(o, 3, &[200], b"")]),
    },
    Entry {
        family: FAMILY,
        name: "header_block_at_the_list_bound",
        about: "a header block of exactly the header list bound (65 536 bytes) across HEADERS and CONTINUATION frames is not too long to read: it is decoded, its list (past the bound with each field's 32 bytes) is answered 431 on its stream, and the connection serves the next request",
        seed: 1,
        build: |_| {
            let base = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "sim")];
            let block_len = |value: &str| {
                let fields: Vec<(&str, &str)> = base.iter().copied().chain([("x-big", value)]).collect();
                H2Script::new().block(&fields).len()
            };
            // `~` goes raw (a 13-bit Huffman code): the block grows a byte per byte of value.
            let value = "~".repeat(65_000 + 65_536 - block_len(&"~".repeat(65_000)));
            assert_eq!(block_len(&value), 65_536, "the block is the bound exactly");
            let exact: Vec<(&str, &str)> = base.iter().copied().chain([("x-big", value.as_str())]).collect();
            let mut script = H2Script::new();
            script.headers_in_pieces(1, &exact, 16_000).request(3, "GET", "/after", true);
            scenario_with("http2/header_block_at_the_list_bound", app_factory::<Echo>(), &script)
        },
        expect: |o| all([answered(o, 1, &[431], b""), answered(o, 3, &[200], b"")]),
    },
    Entry {
        family: FAMILY,
        name: "body_in_many_small_frames",
        about: "an upload in 150 DATA frames of one byte each, more than the bound on empty frames in a row (100): frames that carry bytes are not empty ones, so the body is taken whole and echoed",
        seed: 1,
        build: |_| post_in_frames("http2/body_in_many_small_frames", 149, b"x", b"x"),
        expect: |o| answered(o, 1, &[200], &[b'x'; 150]),
    },
    Entry {
        family: FAMILY,
        name: "empty_data_at_the_bound",
        about: "exactly as many empty DATA frames in a row as the bound allows (100), then the body: within the bound, the request is served",
        seed: 1,
        build: |_| post_in_frames("http2/empty_data_at_the_bound", 100, b"", b"body"),
        expect: |o| answered(o, 1, &[200], b"body"),
    },
    Entry {
        family: FAMILY,
        name: "empty_data_flood",
        about: "empty DATA frames in a row past the bound (100) end the connection with GOAWAY(ENHANCE_YOUR_CALM) (CVE-2019-9518)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "POST", "/", false);
            for _ in 0..101 {
                script.data(1, b"", false);
            }
            flood("http2/empty_data_flood", &script, |_| {})
        },
        expect: |o| goaway(o, ErrorCode::EnhanceYourCalm),
    },
    Entry {
        family: FAMILY,
        name: "ping_flood_not_read",
        about: "2000 PINGs from a client that reads nothing (its window 1000 bytes): the answers to the first read block the transport, reading stops at once so the rest of the flood is never taken in (CVE-2019-9512), and the idle timer (no stream open) ends the connection",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            for i in 0..2000u64 {
                script.frame(Frame::Ping { ack: false, payload: i.to_be_bytes() });
            }
            let mut s = Scenario::new("http2/ping_flood_not_read", quick_config(), app_factory::<Echo>());
            s.faults = std::rc::Rc::new(|_| StreamFaults { window: Some(SendWindow { bytes: 1000, drain_bytes_per_ms: 0 }), ..StreamFaults::default() });
            s.clients.push(ClientScript::new().send(script.bytes()).reading(ReadPolicy::Never).misbehaving());
            s
        },
        expect: |o| {
            // Paused, and then not one read until the idle timer ends the connection, however
            // the flood's bytes were cut.
            let reads = server_where("a read", |e| matches!(e, ServerEvent::Read { .. }));
            let paused = server(ServerEvent::Reading { state: twine_engine::ReadState::Paused });
            let before_idle = before_first(o, &timer_fired(Timer::IdleKeepAlive));
            let at_pause = before_idle.iter().position(|e| paused.matches(e)).unwrap_or(before_idle.len());
            let read_while_paused = before_idle[at_pause..].iter().filter(|e| reads.matches(e)).count();
            all([
                in_order(o, &[paused, timer_fired(Timer::IdleKeepAlive), server(ServerEvent::Close { reason: twine_engine::CloseReason::Graceful })]),
                if read_while_paused == 0 { Vec::new() } else { failed_on(0, format!("{read_while_paused} reads while reading was paused")) },
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "hpack_bomb",
        about: "a 4000-byte field put in the HPACK table once, then referenced 20 times in a 20-byte block: the decoded list is bounded while decoding and the request is answered 431 on its stream; the connection lives on",
        seed: 1,
        build: |_| {
            let bomb = "b".repeat(4000);
            let mut script = H2Script::new();
            let base = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "sim")];
            let mut once = base.to_vec();
            once.push(("x-bomb", &bomb));
            script.headers(1, &once, true);
            let mut many = base.to_vec();
            many.extend(std::iter::repeat_n(("x-bomb", bomb.as_str()), 20));
            script.headers(3, &many, true).request(5, "GET", "/after", true);
            scenario_with("http2/hpack_bomb", app_factory::<Echo>(), &script)
        },
        expect: |o| all([answered(o, 1, &[200], b""), answered(o, 3, &[431], b""), answered(o, 5, &[200], b"")]),
    },
    Entry {
        family: FAMILY,
        name: "slow_headers_frame",
        about: "a HEADERS frame dribbled a few bytes every 300 ms, arriving over longer than the idle time: the connection is not idle, the head deadline runs and the request is served (the swarm found the idle timer cutting it)",
        seed: 1,
        build: |_| {
            let preface = H2Script::new();
            let mut request = H2Script::empty();
            request.headers(1, &[(":method", "GET"), (":scheme", "http"), (":path", "/slow"), (":authority", "sim"), ("x-padding", "0123456789abcdefghij")], true);
            let mut s = Scenario::new("http2/slow_headers_frame", quick_config(), app_factory::<Echo>());
            let client = ClientScript::new().send(preface.bytes()).send_in(request.bytes(), twine_sim::Fragments::Each(4), Duration::from_millis(300));
            s.clients.push(client);
            s
        },
        expect: |o| {
            let head = app(AppAction::Head { request: R0, status: 200 });
            let idle = timer_fired(Timer::IdleKeepAlive);
            let cut = before_first(o, &head).iter().any(|e| idle.matches(e));
            all([
                answered(o, 1, &[200], b""),
                if cut { failed_on(0, "the idle timer fired before the request was served".into()) } else { Vec::new() },
                in_order(o, &[timer_cancelled(Timer::HeaderRead), timer_set(Timer::HeaderRead), head]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "abort_resets_one_stream",
        about: "`Abort` is RST_STREAM(CANCEL) on its stream only; the next stream gets its 103 and 200",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/abort", true).request(3, "GET", "/hints", true);
            scenario_with("http2/abort_resets_one_stream", app_factory::<Api>(), &script)
        },
        expect: |o| all([reset(o, 1, ErrorCode::Cancel), answered(o, 3, &[103, 200], b"hinted\n")]),
    },
    Entry {
        family: FAMILY,
        name: "malformed_request_resets_its_stream",
        about: "an upper-case field name resets its stream with PROTOCOL_ERROR and never reaches the app; the connection lives on",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let bad = [(":method", "GET"), (":scheme", "http"), (":path", "/"), ("X-Upper", "1")];
            script.headers(1, &bad, true).request(3, "GET", "/ok", true);
            scenario_with("http2/malformed_request_resets_its_stream", app_factory::<Echo>(), &script)
        },
        expect: |o| {
            all([
                reset(o, 1, ErrorCode::ProtocolError),
                answered(o, 3, &[200], b""),
                in_order(o, &[server(ServerEvent::Request {
                    id: R0,
                    line: Box::new(RequestLine {
                        method: twine_engine::Method::new("GET"),
                        target: Bytes::from_static(b"/ok"),
                        version: twine_engine::Version::Http2,
                    }),
                })]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "window_shrunk_by_settings",
        about: "SETTINGS_INITIAL_WINDOW_SIZE lowered to 1 000 while a stream is open moves its window by the difference, below zero if more was sent already (RFC 9113 §6.9.2), and a later SETTINGS raising it lets the response complete",
        seed: 1,
        build: |_| {
            let mut first = H2Script::new();
            first.request(1, "GET", "/stream/30000", true);
            first.frame(Frame::Settings { ack: false, settings: vec![(SettingId::InitialWindowSize, 1_000)] });
            let mut then = H2Script::empty();
            then.frame(Frame::Settings { ack: false, settings: vec![(SettingId::InitialWindowSize, 65_535)] });
            let mut s = Scenario::new("http2/window_shrunk_by_settings", quick_config(), app_factory::<Stream>());
            let client = ClientScript::new().send(first.bytes()).then(Action::Sleep(Duration::from_millis(20))).send(then.bytes());
            s.clients.push(client);
            s
        },
        expect: |o| answered(o, 1, &[200], &expected_body(30_000)),
    },
    Entry {
        family: FAMILY,
        name: "window_below_zero_by_settings",
        about: "a stream whose 65 535-byte window is spent is taken 64 535 below zero by SETTINGS_INITIAL_WINDOW_SIZE 1 000; a WINDOW_UPDATE of 64 535 brings it back to 0 (nothing may go), one of 500 lets exactly 500 bytes go, and SETTINGS 65 535 the rest (RFC 9113 §6.9.2: the window is owed, not forgotten)",
        seed: 1,
        build: |_| {
            let mut first = H2Script::new();
            first.request(1, "GET", "/stream/100000", true);
            let mut below = H2Script::empty();
            below.frame(Frame::Settings { ack: false, settings: vec![(SettingId::InitialWindowSize, 1_000)] });
            below.frame(Frame::WindowUpdate { stream: StreamId::CONNECTION, increment: 100_000 });
            below.frame(Frame::WindowUpdate { stream: StreamId::new(1), increment: 64_535 });
            let mut five_hundred = H2Script::empty();
            five_hundred.frame(Frame::WindowUpdate { stream: StreamId::new(1), increment: 500 });
            let mut rest = H2Script::empty();
            rest.frame(Frame::Settings { ack: false, settings: vec![(SettingId::InitialWindowSize, 65_535)] });
            let mut s = Scenario::new("http2/window_below_zero_by_settings", quick_config(), app_factory::<Stream>());
            let pause = || Action::Sleep(Duration::from_millis(20));
            let client = ClientScript::new()
                .send(first.bytes())
                .then(pause())
                .send(below.bytes())
                .then(pause())
                .send(five_hundred.bytes())
                .then(pause())
                .send(rest.bytes());
            s.clients.push(client);
            s
        },
        expect: |o| {
            // Stream 1's DATA the client read before the server acknowledged the last SETTINGS
            // (the third ACK: the preface's, the lowering's, the raising's).
            let mut acks = 0;
            let mut sent = 0;
            for frame in frames_received(o, 0) {
                match frame {
                    Frame::Settings { ack: true, .. } => acks += 1,
                    Frame::Data { stream, data, .. } if stream.get() == 1 && acks < 3 => sent += data.len(),
                    _ => {}
                }
            }
            let owed = if sent == 66_035 { Vec::new() } else { failed_on(0, format!("{sent} bytes of stream 1 went before the window was raised, expected 65 535 + 500")) };
            all([answered(o, 1, &[200], &expected_body(100_000)), owed])
        },
    },
    Entry {
        family: FAMILY,
        name: "frame_size_raised_then_lowered",
        about: "a client raises SETTINGS_MAX_FRAME_SIZE to 65 536 and asks `/mirror` for 24 KiB of fields: the response's block goes in one HEADERS frame; it lowers the setting back to 16 384 and asks again: once the lowering is acknowledged the block is cut at 16 384, a HEADERS and a CONTINUATION (RFC 9113 §4.2, §6.5.3)",
        seed: 1,
        build: |_| {
            let value = "~".repeat(8_000);
            let fields = |path| [(":method", "GET"), (":scheme", "http"), (":path", path), (":authority", "sim"), ("x-a", value.as_str()), ("x-b", value.as_str()), ("x-c", value.as_str())];
            let mut first = H2Script::new();
            first.frame(Frame::Settings { ack: false, settings: vec![(SettingId::MaxFrameSize, 65_536)] });
            first.headers_in_pieces(1, &fields("/mirror"), 16_384);
            let mut then = H2Script::empty();
            then.frame(Frame::Settings { ack: false, settings: vec![(SettingId::MaxFrameSize, 16_384)] });
            then.headers_in_pieces(3, &fields("/mirror"), 16_384);
            let mut s = Scenario::new("http2/frame_size_raised_then_lowered", quick_config(), app_factory::<Api>());
            let client = ClientScript::new().send(first.bytes()).then(Action::Sleep(Duration::from_millis(20))).send(then.bytes());
            s.clients.push(client);
            s
        },
        expect: |o| {
            // Each stream's header frames as (HEADERS or not, END_HEADERS, fragment length),
            // and its block.
            let mut shapes: BTreeMap<u32, Vec<(bool, bool, usize)>> = BTreeMap::new();
            let mut blocks: BTreeMap<u32, BytesMut> = BTreeMap::new();
            for frame in frames_received(o, 0) {
                let (stream, headers, fragment, end_headers) = match frame {
                    Frame::Headers { stream, fragment, end_headers, .. } => (stream, true, fragment, end_headers),
                    Frame::Continuation { stream, fragment, end_headers } => (stream, false, fragment, end_headers),
                    _ => continue,
                };
                shapes.entry(stream.get()).or_default().push((headers, end_headers, fragment.len()));
                blocks.entry(stream.get()).or_default().extend_from_slice(&fragment);
            }
            // Both blocks whole: a 200 with the three fields mirrored (one HPACK context).
            let mut hpack = ReferenceDecoder::new();
            let decoded: Vec<Vec<(Vec<u8>, usize)>> = blocks.values().map(|block| {
                let fields = hpack.decode(block).unwrap_or_default();
                fields.into_iter().filter(|(name, _)| name.starts_with(b"x-") || &name[..] == b":status").map(|(name, value)| (name.to_vec(), value.len())).collect()
            }).collect();
            let want: Vec<(Vec<u8>, usize)> = [(&b":status"[..], 3), (b"x-a", 8_000), (b"x-b", 8_000), (b"x-c", 8_000)].map(|(name, len)| (name.to_vec(), len)).to_vec();
            let whole = if decoded == [want.clone(), want] { Vec::new() } else { failed_on(0, format!("the blocks decoded (name, value length) {decoded:?}")) };
            let raised = match shapes.get(&1).map(Vec::as_slice) {
                Some([(true, true, len)]) if *len > 16_384 => Vec::new(),
                shape => failed_on(0, format!("stream 1's header frames {shape:?}; expected one HEADERS past 16 384 bytes")),
            };
            let lowered = match shapes.get(&3).map(Vec::as_slice) {
                Some([(true, false, 16_384), (false, true, rest)]) if *rest > 0 => Vec::new(),
                shape => failed_on(0, format!("stream 3's header frames {shape:?}; expected a HEADERS of 16 384 bytes and a CONTINUATION")),
            };
            all([answered(o, 1, &[200], b"ok\n"), whole, raised, lowered])
        },
    },
    Entry {
        family: FAMILY,
        name: "window_opened_by_settings",
        about: "a client whose streams start with a window of 0 opens them with SETTINGS_INITIAL_WINDOW_SIZE alone, no WINDOW_UPDATE: the open stream's window moves by the difference and its response goes out (RFC 9113 §6.9.2); every SETTINGS is acknowledged, and the PING sent with the last one",
        seed: 1,
        build: |_| {
            let mut first = H2Script::new();
            first.frame(Frame::Settings { ack: false, settings: vec![(SettingId::InitialWindowSize, 0)] });
            first.request(1, "GET", "/stream/20000", true);
            let mut then = H2Script::empty();
            then.frame(Frame::Settings { ack: false, settings: vec![(SettingId::InitialWindowSize, 65_535)] });
            then.frame(Frame::Ping { ack: false, payload: *b"opened!!" });
            let mut s = Scenario::new("http2/window_opened_by_settings", quick_config(), app_factory::<Stream>());
            let client = ClientScript::new().send(first.bytes()).then(Action::Sleep(Duration::from_millis(20))).send(then.bytes());
            s.clients.push(client);
            s
        },
        expect: |o| {
            all([
                answered(o, 1, &[200], &expected_body(20_000)),
                in_order(o, &[producer(0, ProducerState::Paused), producer(0, ProducerState::Producing), producer(0, ProducerState::Stopped)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "upload_past_the_window",
        about: "an upload of 81 919 bytes on a stream window of 65 535: the client sends the window's worth, waits for the server's WINDOW_UPDATE on its stream (sent once the app has taken half), then the rest; the echo app returns all of it",
        seed: 1,
        build: |_| {
            upload_past_the_window("http2/upload_past_the_window", |_| {})
        },
        expect: |o| answered(o, 1, &[200], &[b'u'; 81_919]),
    },
    Entry {
        family: FAMILY,
        name: "padding_given_back_on_the_stream",
        about: "an upload of 255 one-byte DATA frames each padded to 256 bytes: 65 280 bytes of the stream's window for 255 of body. The padding is given back as each frame arrives (RFC 9113 §6.1: it is flow-controlled, and no app will ever take it), so the server's WINDOW_UPDATE on stream 1 comes though the app has taken 255 bytes; the client waits for it, then sends 16 384 bytes more, and the echo app returns all of it",
        seed: 1,
        build: |_| {
            let mut first = H2Script::new();
            padded_upload(&mut first, 1, 255, false);
            let mut then = H2Script::empty();
            then.data(1, &UPLOAD_CHUNK, true);
            let mut s = Scenario::new("http2/padding_given_back_on_the_stream", quick_config(), app_factory::<Echo>());
            let wait = Action::WaitFor(Bytes::from_static(STREAM_1_WINDOW_UPDATE));
            s.clients.push(ClientScript::new().send(first.bytes()).then(wait).send(then.bytes()));
            s
        },
        expect: |o| answered(o, 1, &[200], &[&[b'p'; 255][..], &UPLOAD_CHUNK].concat()),
    },
    Entry {
        family: FAMILY,
        name: "untaken_body_given_back_on_the_connection",
        about: "with the connection's window at 65 535, an upload of 61 152 bytes to `/status/200`, whose app answers without taking the body: the bytes it never took go back to the connection's window, those held when it answered and those read after (WINDOW_UPDATE on stream 0); the client waits for it, then uploads 49 152 bytes on stream 3 to `/accept`, and both are answered",
        seed: 1,
        build: |_| {
            let mut first = H2Script::new();
            first.request(1, "POST", "/status/200", false);
            for _ in 0..3 {
                first.data(1, &UPLOAD_CHUNK, false);
            }
            first.data(1, &[b'x'; 12_000], true);
            let mut then = H2Script::empty();
            then.request(3, "POST", "/accept", false);
            for last in [false, false, true] {
                then.data(3, &UPLOAD_CHUNK, last);
            }
            let mut config = quick_config();
            config.h2.connection_window_size = 65_535;
            let mut s = Scenario::new("http2/untaken_body_given_back_on_the_connection", config, app_factory::<Api>());
            let wait = Action::WaitFor(Bytes::from_static(CONNECTION_WINDOW_UPDATE));
            s.clients.push(ClientScript::new().send(first.bytes()).then(wait).send(then.bytes()));
            s
        },
        expect: |o| all([answered(o, 1, &[200], b""), answered(o, 3, &[200], b"received 49152 bytes\n")]),
    },
    Entry {
        family: FAMILY,
        name: "padding_given_back_on_the_connection",
        about: "with the connection's window kept at the protocol's 65 535 (Twisted's), an upload of 255 one-byte DATA frames padded to 256 bytes: 65 280 bytes of the connection's window for 255 of body. The padding is given back as each frame arrives, so the server's WINDOW_UPDATE on the connection comes though the app has taken little; the client waits for it, then asks for a GET on stream 3, and both streams are answered",
        seed: 1,
        build: |_| {
            let mut upload = H2Script::new();
            padded_upload(&mut upload, 1, 255, true);
            let mut get = H2Script::empty();
            get.request(3, "GET", "/echo", true);
            let mut config = quick_config();
            config.h2.connection_window_size = 65_535;
            let mut s = Scenario::new("http2/padding_given_back_on_the_connection", config, app_factory::<Echo>());
            let wait = Action::WaitFor(Bytes::from_static(CONNECTION_WINDOW_UPDATE));
            s.clients.push(ClientScript::new().send(upload.bytes()).then(wait).send(get.bytes()));
            s
        },
        expect: |o| all([answered(o, 1, &[200], &[b'p'; 255]), answered(o, 3, &[200], b"")]),
    },
    Entry {
        family: FAMILY,
        name: "app_close_on_streams",
        about: "the app's `Close` on streams of one connection (the api app): before any head the stream is reset (CANCEL); after 10 of the 20 bytes its `content-length` declares, or after 19 (stream 11: a cut by one byte), the stream is reset too (CANCEL), since END_STREAM would make the cut response look whole, and malformed (RFC 9113 §8.1.1); a complete response ends as it was, also one whose request body is still coming (stream 9, its body 20 ms later); a GET among them is answered",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/close", true).request(3, "GET", "/close-mid-body", true).request(5, "GET", "/close-after", true).request(7, "GET", "/status/200", true);
            script.request(9, "POST", "/close-after", false).request(11, "GET", "/close-one-short", true);
            let mut rest = H2Script::empty();
            rest.data(9, b"late", true);
            let mut s = Scenario::new("http2/app_close_on_streams", quick_config(), app_factory::<Api>());
            s.clients.push(ClientScript::new().send(script.bytes()).then(Action::Sleep(Duration::from_millis(20))).send(rest.bytes()));
            s
        },
        expect: |o| {
            let cut = answers(o, 0).remove(&3).unwrap_or_default();
            let cut_reset = Answer { statuses: vec![200], body: b"first half".to_vec(), reset: Some(ErrorCode::Cancel), ended: true };
            let one_short = answers(o, 0).remove(&11).unwrap_or_default();
            let one_short_reset = Answer { statuses: vec![200], body: b"nineteen bytes sent".to_vec(), reset: Some(ErrorCode::Cancel), ended: true };
            all([
                reset(o, 1, ErrorCode::Cancel),
                if cut == cut_reset { Vec::new() } else { failed_on(0, format!("stream 3: {cut:?}, expected {cut_reset:?}")) },
                answered(o, 5, &[200], b"bye\n"),
                answered(o, 7, &[200], b""),
                answered(o, 9, &[200], b"bye\n"),
                if one_short == one_short_reset { Vec::new() } else { failed_on(0, format!("stream 11: {one_short:?}, expected {one_short_reset:?}")) },
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "app_close_after_a_whole_body",
        about: "the app's `Close` after every byte its `content-length` declares but before `Finish` (the api app's `/close-after-body`): the response is whole, so the stream ends with END_STREAM, not a reset; the connection goes on and a GET after it is answered",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/close-after-body", true).request(3, "GET", "/status/200", true);
            let mut s = Scenario::new("http2/app_close_after_a_whole_body", quick_config(), app_factory::<Api>());
            s.clients.push(ClientScript::new().send(script.bytes()));
            s
        },
        expect: |o| all([answered(o, 1, &[200], b"whole body, no finish\n"), answered(o, 3, &[200], b"")]),
    },
    Entry {
        family: FAMILY,
        name: "late_data_on_streams_we_reset",
        about: "two uploads the app closes before any head (the api app's `/close`) are reset with CANCEL; the DATA the client had sent on each before it saw its reset comes 20 ms later and is ignored, on both streams (each reset stream is remembered, not only the last): the GET after them is answered and the connection ends only when idle, GOAWAY NO_ERROR",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "POST", "/close", false).request(3, "POST", "/close", false);
            let mut late = H2Script::empty();
            late.data(1, b"late", true).data(3, b"late", true).request(5, "GET", "/status/200", true);
            let mut s = Scenario::new("http2/late_data_on_streams_we_reset", quick_config(), app_factory::<Api>());
            s.clients.push(ClientScript::new().send(script.bytes()).then(Action::Sleep(Duration::from_millis(20))).send(late.bytes()));
            s
        },
        expect: |o| {
            all([
                reset(o, 1, ErrorCode::Cancel),
                reset(o, 3, ErrorCode::Cancel),
                answered(o, 5, &[200], b""),
                goaway(o, ErrorCode::NoError),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "window_updates_batched",
        about: "an upload of 20 000 bytes, under half the stream's window, taken by the app 8 bytes at a time (the api app's `/accept`): no WINDOW_UPDATE is sent for it, not one per grant",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            let fields = [(":method", "POST"), (":scheme", "http"), (":path", "/accept"), (":authority", "sim"), ("content-length", "20000")];
            script.headers(1, &fields, false);
            script.data(1, &UPLOAD_CHUNK, false).data(1, &UPLOAD_CHUNK[..20_000 - 16_384], true);
            scenario_with("http2/window_updates_batched", app_factory::<Api>(), &script)
        },
        expect: |o| {
            // The connection's own, sent with our SETTINGS, is the only one.
            let updates = frames_received(o, 0)
                .into_iter()
                .filter(|f| matches!(f, Frame::WindowUpdate { .. }))
                .count();
            all([
                answered(o, 1, &[200], b"received 20000 bytes\n"),
                if updates == 1 { Vec::new() } else { failed_on(0, format!("{updates} WINDOW_UPDATE frames, expected only the connection's first")) },
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "upload_echoed_to_a_slow_reader",
        about: "an upload of 81 919 bytes, past the stream's window, echoed to a client that reads slowly (the transport blocks again and again) and pings midway: window updates owed while blocked are queued, never taken for a flood of control frames, the PING is acknowledged and every byte comes back",
        seed: 1,
        build: |_| {
            let ping = |then: &mut H2Script| {
                then.frame(Frame::Ping { ack: false, payload: *b"midway!!" });
            };
            let mut s = upload_past_the_window("http2/upload_echoed_to_a_slow_reader", ping);
            s.faults = slow_reader(8192, 4096);
            s
        },
        expect: |o| {
            let acked = frames_received(o, 0).iter().any(|f| matches!(f, Frame::Ping { ack: true, payload } if payload == b"midway!!"));
            let blocked = server(ServerEvent::Transport { state: twine_engine::TransportState::Blocked });
            all([
                answered(o, 1, &[200], &[b'u'; 81_919]),
                in_order(o, &[blocked]),
                if acked { Vec::new() } else { failed_on(0, "the PING was never acknowledged".into()) },
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "client_goaway_after_its_request",
        about: "a client sends GOAWAY after its request: the server answers the stream, then closes at once rather than when its idle timer fires",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/x", true);
            script.frame(Frame::GoAway { last_stream: StreamId::new(0), code: ErrorCode::NoError, debug: Bytes::new() });
            scenario_with("http2/client_goaway_after_its_request", app_factory::<Echo>(), &script)
        },
        expect: |o| {
            all([
                answered(o, 1, &[200], b""),
                in_order(o, &[finish(0), client(ClientEvent::Eof)]),
                absent(o, timer_fired(Timer::IdleKeepAlive)),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "reader_paused_past_the_abort_time",
        about: "a client that reads nothing for 5 s in the middle of a 300 000-byte response, its socket full: longer than the 3 s a closing connection may stay blocked, shorter than the 10 s send stall; the connection is not closing, so only the stall timer runs, and the whole response arrives once the client reads",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/stream/300000", true);
            let mut s = Scenario::new("http2/reader_paused_past_the_abort_time", quick_config(), app_factory::<Stream>());
            let read = ReadPolicy::After(Duration::from_secs(5));
            s.clients.push(ClientScript::new().send(script.bytes()).reading(read).granting(Grants::All));
            // Nothing drains until the client reads (the chaos phase's end lifts the window).
            s.faults = slow_reader(32_768, 0);
            s.chaos_phase = Duration::from_secs(5);
            s
        },
        expect: |o| all([answered(o, 1, &[200], &expected_body(300_000)), absent(o, timer_fired(Timer::Abort))]),
    },
    Entry {
        family: FAMILY,
        name: "reader_gone_silent_aborted",
        about: "a client that never reads a 1 000 000-byte response, its socket full: after the 10 s send stall the connection is aborted at once (nothing more can reach the peer, so no GOAWAY is queued for it and no closing timer runs)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/stream/1000000", true);
            let mut s = Scenario::new("http2/reader_gone_silent_aborted", quick_config(), app_factory::<Stream>());
            s.clients.push(ClientScript::new().send(script.bytes()).reading(ReadPolicy::Never).granting(Grants::All).misbehaving());
            s.faults = slow_reader(32_768, 0);
            // The window stays shut past the stall.
            s.chaos_phase = Duration::from_secs(20);
            s
        },
        expect: |o| {
            all([
                in_order(o, &[timer_fired(Timer::SendStall), close(CloseReason::Abort)]),
                absent(o, timer_set(Timer::Linger)),
                absent(o, timer_set(Timer::Abort)),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "shut_window_given_back_at_once",
        about: "a stream window of 64 bytes (SETTINGS_INITIAL_WINDOW_SIZE) filled by an upload to `/accept`, whose app takes 8 bytes at a time: with the window shut, the first 8 taken go back at once (WINDOW_UPDATE +8: the peer has no room left, so a batch held for half the window would only stall it), then in batches of half; the 100-byte upload completes",
        seed: 1,
        build: |_| {
            let mut first = H2Script::new();
            first.request(1, "POST", "/accept", false).data(1, &[b'u'; 64], false);
            let mut rest = H2Script::empty();
            rest.data(1, &[b'v'; 36], true);
            let mut config = quick_config();
            config.h2.initial_window_size = 64;
            let mut s = Scenario::new("http2/shut_window_given_back_at_once", config, app_factory::<Api>());
            // The client sends the rest once the server has opened 40 bytes: a WINDOW_UPDATE of 32 on stream 1.
            let opened = Bytes::from_static(&[0, 0, 4, 8, 0, 0, 0, 0, 1, 0, 0, 0, 32]);
            s.clients.push(ClientScript::new().send(first.bytes()).then(Action::WaitFor(opened)).send(rest.bytes()));
            s
        },
        expect: |o| {
            let increments: Vec<u32> = frames_received(o, 0)
                .into_iter()
                .filter_map(|frame| match frame {
                    Frame::WindowUpdate { stream, increment } if stream.get() == 1 => Some(increment),
                    _ => None,
                })
                .collect();
            let at_once = match increments.first() {
                Some(8) => Vec::new(),
                first => failed_on(0, format!("the shut window's first WINDOW_UPDATE {first:?}, expected 8")),
            };
            all([answered(o, 1, &[200], b"received 100 bytes\n"), at_once])
        },
    },
    Entry {
        family: FAMILY,
        name: "streams_past_the_concurrency_limit",
        about: "a client opens three streams at once on a server that allows two (SETTINGS_MAX_CONCURRENT_STREAMS): the third is refused with RST_STREAM(REFUSED_STREAM) while the first two, slow to read, are answered in full (RFC 9113 §5.1.2)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/stream/100000", true).request(3, "GET", "/stream/100000", true).request(5, "GET", "/x", true);
            let mut config = quick_config();
            config.h2.max_concurrent_streams = 2;
            let mut s = Scenario::new("http2/streams_past_the_concurrency_limit", config, app_factory::<Stream>());
            let read = ReadPolicy::Rate { bytes: 16_384, every: Duration::from_millis(10) };
            // Past the limit the server announced: not owed liveness.
            s.clients.push(ClientScript::new().send(script.bytes()).reading(read).granting(Grants::All).misbehaving());
            s
        },
        expect: |o| {
            all([
                answered(o, 1, &[200], &expected_body(100_000)),
                answered(o, 3, &[200], &expected_body(100_000)),
                reset(o, 5, ErrorCode::RefusedStream),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "head_request",
        about: "a HEAD over HTTP/2: the head says the length a GET would get, and the stream ends without a body byte (RFC 9110 §9.3.2)",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "HEAD", "/stream/1000", true);
            scenario_with("http2/head_request", app_factory::<Stream>(), &script)
        },
        expect: |o| answered(o, 1, &[200], b""),
    },
];
