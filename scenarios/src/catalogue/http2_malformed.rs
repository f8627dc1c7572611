//! A malformed HTTP/2 frame or request of each kind (RFC 9113 §4-§8), each followed by a good
//! GET on stream 101: a connection error is GOAWAY with the RFC's code and the GET is never
//! served; a stream error is RST_STREAM with the RFC's code on that stream only, and the GET
//! is answered; a frame the RFC says to ignore changes nothing. Every client here breaks the
//! protocol, so none is owed liveness; the frame checks of the harness still judge every
//! byte the server sends.

use std::time::Duration;

use bytes::Bytes;
use twine_apps::{Api, Echo, Stream};
use twine_engine::h2::frame::{ErrorCode, Frame, SettingId, StreamId};
use twine_sim::{
    app as app_factory, Action, ClientScript, Negotiation, Outcome, Scenario, Violation,
};

use super::expect::{absent, all, failed_on, in_order};
use super::http2::{answered, answers, goaway, reset, H2Script};
use super::{quick_config, Entry};
use twine_sim::pattern::{any_request, finish, head, lost};

const FAMILY: &str = "http2_malformed";

/// The stream of the good GET that follows every malformed frame.
const AFTER: u32 = 101;

/// What the server must do about the malformed frame.
enum Verdict {
    /// GOAWAY with this code; the GET after it is never served.
    Connection(ErrorCode),
    /// RST_STREAM with this code on this stream; the GET after it is answered.
    Stream(u32, ErrorCode),
    /// Nothing: the GET after it is answered.
    Ignored,
}

/// The preface, empty SETTINGS, what `build` writes, then the good GET.
fn scenario(name: &str, build: fn(&mut H2Script)) -> Scenario {
    let mut script = H2Script::new();
    build(&mut script);
    script.request(AFTER, "GET", "/after", true);
    let mut s = Scenario::new(name, quick_config(), app_factory::<Echo>());
    s.clients
        .push(ClientScript::new().send(script.bytes()).misbehaving());
    s
}

fn judge(o: &Outcome, verdict: Verdict) -> Vec<Violation> {
    match verdict {
        Verdict::Connection(code) => {
            let after = match answers(o, 0).get(&AFTER) {
                Some(answer) => failed_on(0, format!("stream {AFTER} was served: {answer:?}")),
                None => Vec::new(),
            };
            all([goaway(o, code), after])
        }
        Verdict::Stream(stream, code) => {
            let answered_first = answers(o, 0)
                .get(&stream)
                .is_some_and(|a| !a.statuses.is_empty());
            if stream == 1 && answered_first {
                return answered_before_the_error(o, code);
            }
            all([reset(o, stream, code), answered(o, AFTER, &[200], b"")])
        }
        Verdict::Ignored => answered(o, AFTER, &[200], b""),
    }
}

/// Stream 1 (request 0) got its 200 before the malformed frame was read: its request came in
/// a read of its own (a cut of the bytes), and the echo answered it at once. Then the stream
/// error resets it after its head; or, if its response was already complete, the stream was
/// closed, and DATA or HEADERS on a closed stream is the connection error STREAM_CLOSED
/// (RFC 9113 §5.1, §6.1), after which the GET is never served.
fn answered_before_the_error(o: &Outcome, code: ErrorCode) -> Vec<Violation> {
    let first = answers(o, 0).remove(&1).unwrap_or_default();
    let closed_first = first.ended && first.reset.is_none() && in_order(o, &[finish(0)]).is_empty();
    if closed_first && code == ErrorCode::StreamClosed {
        return judge(o, Verdict::Connection(ErrorCode::StreamClosed));
    }
    let reset_after_head = if first.reset == Some(code) {
        Vec::new()
    } else {
        failed_on(
            0,
            format!("stream 1: {first:?}; expected a reset {code:?} after its head"),
        )
    };
    all([
        reset_after_head,
        in_order(o, &[head(0, 200), lost(0)]),
        answered(o, AFTER, &[200], b""),
    ])
}

/// A GET on stream 1, answered, its stream closed and forgotten (the client waits 20 ms),
/// then what `late` writes, then the good GET.
fn after_the_stream_closed(name: &str, late: fn(&mut H2Script)) -> Scenario {
    let mut script = H2Script::new();
    script.request(1, "GET", "/", true);
    let answered_at = script.bytes().len();
    late(&mut script);
    script.request(AFTER, "GET", "/after", true);
    let bytes = script.bytes();
    let mut s = Scenario::new(name, quick_config(), app_factory::<Echo>());
    s.clients.push(
        ClientScript::new()
            .send(bytes.slice(..answered_at))
            .then(Action::Sleep(Duration::from_millis(20)))
            .send(bytes.slice(answered_at..))
            .misbehaving(),
    );
    s
}

/// A frame exactly as given: its header says `payload.len()`.
fn raw(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const PRIORITY: u8 = 0x2;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PUSH_PROMISE: u8 = 0x5;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;

const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY_FLAG: u8 = 0x20;

/// `:method GET :scheme http :path /`, all from the static table.
const GET_BLOCK: &[u8] = &[0x82, 0x86, 0x84];

fn window_update(s: &mut H2Script, stream: u32, increment: u32) {
    s.raw(&raw(WINDOW_UPDATE, 0, stream, &increment.to_be_bytes()));
}

fn setting(s: &mut H2Script, id: SettingId, value: u32) {
    s.frame(Frame::Settings {
        ack: false,
        settings: vec![(id, value)],
    });
}

fn post_open(s: &mut H2Script, stream: u32) {
    s.request(stream, "POST", "/", false);
}

fn get_with(s: &mut H2Script, extra: (&str, &str)) {
    let fields = [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "sim"),
        extra,
    ];
    s.headers(1, &fields, true);
}

/// Stream 1 opened by a POST declaring `content_length`, its body to follow.
fn post_declaring(s: &mut H2Script, content_length: &str) {
    let fields = [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "sim"),
        ("content-length", content_length),
    ];
    s.headers(1, &fields, false);
}

/// One malformed-frame scenario.
macro_rules! malformed {
    ($name:literal, $about:literal, $build:expr, $verdict:expr $(,)?) => {
        Entry {
            family: FAMILY,
            name: $name,
            about: $about,
            seed: 1,
            build: |_| scenario(concat!("http2_malformed/", $name), $build),
            expect: |o| judge(o, $verdict),
        }
    };
}

pub(super) const ENTRIES: &[Entry] = &[
    malformed!(
        "ping_wrong_length",
        "a PING of 7 bytes is a connection FRAME_SIZE_ERROR (§6.7)",
        |s| {
            s.raw(&raw(PING, 0, 0, b"1234567"));
        },
        Verdict::Connection(ErrorCode::FrameSizeError),
    ),
    malformed!(
        "ping_on_a_stream",
        "a PING on stream 1 is a connection PROTOCOL_ERROR (§6.7)",
        |s| {
            s.raw(&raw(PING, 0, 1, b"12345678"));
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "data_on_stream_zero",
        "DATA on stream 0 is a connection PROTOCOL_ERROR (§6.1)",
        |s| {
            s.raw(&raw(DATA, 0, 0, b"x"));
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "headers_on_stream_zero",
        "HEADERS on stream 0 is a connection PROTOCOL_ERROR (§6.2)",
        |s| {
            s.raw(&raw(HEADERS, END_STREAM | END_HEADERS, 0, GET_BLOCK));
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "even_stream_from_the_client",
        "a client opening even stream 2 is a connection PROTOCOL_ERROR (§5.1.1)",
        |s| {
            s.request(2, "GET", "/", true);
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "stream_id_going_backwards",
        "opening stream 3 after stream 5 is a connection PROTOCOL_ERROR (§5.1.1)",
        |s| {
            s.request(5, "GET", "/", true).request(3, "GET", "/", true);
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "stream_id_skipped_two_ranges_ago",
        "opening stream 3 (skipping 1), then 7 (skipping 5), then 1 is a connection PROTOCOL_ERROR (§5.1.1): every skipped range is remembered, not only the last",
        |s| {
            s.request(3, "GET", "/", true)
                .request(7, "GET", "/", true)
                .request(1, "GET", "/", true);
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "stream_id_skipped_after_three_opened",
        "opening streams 1, 3 and 5 in turn, then 13 (skipping 7 to 11), then 9 is a connection PROTOCOL_ERROR (§5.1.1): the skipped range starts two past the highest stream opened, wherever that is",
        |s| {
            for id in [1, 3, 5, 13, 9] {
                s.request(id, "GET", "/", true);
            }
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "settings_ack_with_payload",
        "a SETTINGS acknowledgement with a payload is a connection FRAME_SIZE_ERROR (§6.5)",
        |s| {
            s.raw(&raw(SETTINGS, ACK, 0, &[0, 3, 0, 0, 0, 10]));
        },
        Verdict::Connection(ErrorCode::FrameSizeError),
    ),
    malformed!(
        "settings_length_not_a_multiple_of_six",
        "SETTINGS of 5 bytes is a connection FRAME_SIZE_ERROR (§6.5)",
        |s| {
            s.raw(&raw(SETTINGS, 0, 0, &[0, 3, 0, 0, 0]));
        },
        Verdict::Connection(ErrorCode::FrameSizeError),
    ),
    malformed!(
        "settings_on_a_stream",
        "SETTINGS on stream 1 is a connection PROTOCOL_ERROR (§6.5)",
        |s| {
            s.raw(&raw(SETTINGS, 0, 1, &[]));
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "settings_window_too_large",
        "SETTINGS_INITIAL_WINDOW_SIZE of 2^31 is a connection FLOW_CONTROL_ERROR (§6.5.2)",
        |s| {
            s.raw(&raw(SETTINGS, 0, 0, &[0, 4, 0x80, 0, 0, 0]));
        },
        Verdict::Connection(ErrorCode::FlowControlError),
    ),
    malformed!(
        "settings_frame_size_too_small",
        "SETTINGS_MAX_FRAME_SIZE of 100 is a connection PROTOCOL_ERROR (§6.5.2)",
        |s| {
            s.raw(&raw(SETTINGS, 0, 0, &[0, 5, 0, 0, 0, 100]));
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "settings_enable_push_two",
        "SETTINGS_ENABLE_PUSH of 2 is a connection PROTOCOL_ERROR (§6.5.2)",
        |s| {
            s.raw(&raw(SETTINGS, 0, 0, &[0, 2, 0, 0, 0, 2]));
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "settings_unknown_ignored",
        "an unknown setting is ignored (§6.5.2) and the connection goes on",
        |s| {
            setting(s, SettingId::Unknown(0xf00d), 7);
        },
        Verdict::Ignored,
    ),
    malformed!(
        "window_update_zero_on_a_stream",
        "a WINDOW_UPDATE of 0 on an open stream is a stream PROTOCOL_ERROR (§6.9): that stream is reset, the connection goes on",
        |s| {
            post_open(s, 1);
            window_update(s, 1, 0);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "window_update_zero_on_the_connection",
        "a WINDOW_UPDATE of 0 on stream 0 is a connection PROTOCOL_ERROR (§6.9)",
        |s| window_update(s, 0, 0),
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "window_update_overflowing_the_connection",
        "a WINDOW_UPDATE taking the connection's send window past 2^31-1 is a connection FLOW_CONTROL_ERROR (§6.9.1)",
        |s| window_update(s, 0, 0x7fff_ffff),
        Verdict::Connection(ErrorCode::FlowControlError),
    ),
    malformed!(
        "window_update_overflowing_a_stream",
        "a WINDOW_UPDATE taking a stream's send window past 2^31-1 is a stream FLOW_CONTROL_ERROR (§6.9.1)",
        |s| {
            post_open(s, 1);
            window_update(s, 1, 0x7fff_ffff);
        },
        Verdict::Stream(1, ErrorCode::FlowControlError),
    ),
    malformed!(
        "window_updates_to_the_maximum_accepted",
        "WINDOW_UPDATEs taking the connection's send window and an open stream's from 65 535 to exactly 2^31-1 are legal (§6.9.1: only past it is an error), so nothing happens",
        |s| {
            window_update(s, 0, 0x7fff_ffff - 65_535);
            post_open(s, 1);
            window_update(s, 1, 0x7fff_ffff - 65_535);
        },
        Verdict::Ignored,
    ),
    malformed!(
        "window_update_on_a_skipped_stream",
        "a WINDOW_UPDATE on stream 1, which the client skipped by opening stream 3 first (so closed, §5.1.1), is ignored and the connection goes on",
        |s| {
            s.request(3, "GET", "/", true);
            window_update(s, 1, 100);
        },
        Verdict::Ignored,
    ),
    malformed!(
        "window_update_wrong_length",
        "a WINDOW_UPDATE of 3 bytes is a connection FRAME_SIZE_ERROR (§6.9)",
        |s| {
            s.raw(&raw(WINDOW_UPDATE, 0, 0, &[0, 0, 1]));
        },
        Verdict::Connection(ErrorCode::FrameSizeError),
    ),
    malformed!(
        "rst_stream_on_an_idle_stream",
        "RST_STREAM on a stream never opened is a connection PROTOCOL_ERROR (§6.4)",
        |s| {
            s.frame(Frame::RstStream {
                stream: StreamId::new(5),
                code: ErrorCode::Cancel,
            });
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "rst_stream_wrong_length",
        "RST_STREAM of 3 bytes is a connection FRAME_SIZE_ERROR (§6.4)",
        |s| {
            post_open(s, 1);
            s.raw(&raw(RST_STREAM, 0, 1, &[0, 0, 8]));
        },
        Verdict::Connection(ErrorCode::FrameSizeError),
    ),
    malformed!(
        "continuation_without_headers",
        "CONTINUATION with no header block open is a connection PROTOCOL_ERROR (§6.10)",
        |s| {
            s.raw(&raw(CONTINUATION, END_HEADERS, 1, GET_BLOCK));
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "header_block_interrupted",
        "a PING between HEADERS and its CONTINUATION is a connection PROTOCOL_ERROR (§6.10)",
        |s| {
            s.raw(&raw(HEADERS, END_STREAM, 1, GET_BLOCK));
            s.raw(&raw(PING, 0, 0, b"12345678"));
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "priority_on_itself",
        "PRIORITY making stream 3 depend on itself is a stream PROTOCOL_ERROR (§5.3.1)",
        |s| {
            s.raw(&raw(PRIORITY, 0, 3, &[0, 0, 0, 3, 16]));
        },
        Verdict::Stream(3, ErrorCode::ProtocolError),
    ),
    malformed!(
        "priority_wrong_length",
        "PRIORITY of 4 bytes is a stream FRAME_SIZE_ERROR (§6.3)",
        |s| {
            s.raw(&raw(PRIORITY, 0, 3, &[0, 0, 0, 1]));
        },
        Verdict::Stream(3, ErrorCode::FrameSizeError),
    ),
    malformed!(
        "undecodable_header_block",
        "a header block naming table index 70 of an empty dynamic table is a connection COMPRESSION_ERROR (RFC 7541 §2.3.3, RFC 9113 §4.3)",
        |s| {
            s.raw(&raw(HEADERS, END_STREAM | END_HEADERS, 1, &[0xc6]));
        },
        Verdict::Connection(ErrorCode::CompressionError),
    ),
    malformed!(
        "priority_and_no_header_block",
        "HEADERS with the PRIORITY flag and exactly its 5 bytes, so an empty header block: a frame of legal size (§6.2), and a request without its pseudo-header fields, a stream PROTOCOL_ERROR (§8.1.1, §8.3.1)",
        |s| {
            s.raw(&raw(HEADERS, END_STREAM | END_HEADERS | PRIORITY_FLAG, 1, &[0, 0, 0, 0, 15]));
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "hpack_index_zero",
        "a header block naming table index 0, which no entry has, is a connection COMPRESSION_ERROR (RFC 7541 §6.1: index 0 is a decoding error)",
        |s| {
            s.raw(&raw(HEADERS, END_STREAM | END_HEADERS, 1, &[0x82, 0x86, 0x84, 0x80]));
        },
        Verdict::Connection(ErrorCode::CompressionError),
    ),
    malformed!(
        "hpack_string_past_the_block",
        "a literal whose value's length (10) runs past the end of the header block is a connection COMPRESSION_ERROR (RFC 7541 §5.2), not a read past the block",
        |s| {
            // GET /, then `x-a` with a value said to be 10 bytes long, of which 2 are there.
            let block = [0x82, 0x86, 0x84, 0x00, 0x03, b'x', b'-', b'a', 0x0a, b'o', b'k'];
            s.raw(&raw(HEADERS, END_STREAM | END_HEADERS, 1, &block));
        },
        Verdict::Connection(ErrorCode::CompressionError),
    ),
    malformed!(
        "hpack_size_update_at_the_end",
        "a header block ending with a dynamic table size update, after its fields, is a connection COMPRESSION_ERROR (RFC 7541 §4.2: an update comes at the beginning of a block)",
        |s| {
            s.raw(&raw(HEADERS, END_STREAM | END_HEADERS, 1, &[0x82, 0x86, 0x84, 0x20]));
        },
        Verdict::Connection(ErrorCode::CompressionError),
    ),
    malformed!(
        "huffman_padding_not_ones",
        "a Huffman-coded value whose padding bits are zeros, not the most significant bits of EOS, is a connection COMPRESSION_ERROR (RFC 7541 §5.2)",
        |s| {
            // GET /, then `x-a` with the value `a` (code 00011), padded with 000.
            let block = [0x82, 0x86, 0x84, 0x00, 0x03, b'x', b'-', b'a', 0x81, 0x18];
            s.raw(&raw(HEADERS, END_STREAM | END_HEADERS, 1, &block));
        },
        Verdict::Connection(ErrorCode::CompressionError),
    ),
    malformed!(
        "size_update_past_the_table",
        "a header block opening with a dynamic table size update to 4097, one past the 4096 our SETTINGS allow, is a connection COMPRESSION_ERROR (RFC 7541 §6.3)",
        |s| {
            s.raw(&raw(HEADERS, END_STREAM | END_HEADERS, 1, &[0x3f, 0xe2, 0x1f, 0x82, 0x86, 0x84]));
        },
        Verdict::Connection(ErrorCode::CompressionError),
    ),
    Entry {
        family: FAMILY,
        name: "size_update_to_the_table_size",
        about: "a header block opening with a dynamic table size update to exactly the 4096 our SETTINGS allow is legal (RFC 7541 §6.3): the request is served, and so is the GET after it",
        seed: 1,
        build: |_| {
            scenario("http2_malformed/size_update_to_the_table_size", |s| {
                s.raw(&raw(HEADERS, END_STREAM | END_HEADERS, 1, &[0x3f, 0xe1, 0x1f, 0x82, 0x86, 0x84]));
            })
        },
        expect: |o| all([answered(o, 1, &[200], b""), judge(o, Verdict::Ignored)]),
    },
    malformed!(
        "integer_of_too_many_octets",
        "an HPACK integer (a name's index, 16) spread over 5 octets past its prefix, more than the 4 any valid size or index needs, is a connection COMPRESSION_ERROR (RFC 7541 §5.1: encodings past an implementation's limits in octet length are decoding errors)",
        |s| {
            // GET /, then `accept-encoding: x` with its name's index as 15 + 1, the 1 and
            // four zero continuation octets after the 4-bit prefix.
            let block = [0x82, 0x86, 0x84, 0x0f, 0x81, 0x80, 0x80, 0x80, 0x00, 0x01, b'x'];
            s.raw(&raw(HEADERS, END_STREAM | END_HEADERS, 1, &block));
        },
        Verdict::Connection(ErrorCode::CompressionError),
    ),
    malformed!(
        "push_promise_from_a_client",
        "PUSH_PROMISE from a client is a connection PROTOCOL_ERROR (§8.4)",
        |s| {
            post_open(s, 1);
            s.raw(&raw(PUSH_PROMISE, END_HEADERS, 1, &[0, 0, 0, 2, 0x82]));
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "frame_over_max_frame_size",
        "DATA of 16 385 bytes, past our SETTINGS_MAX_FRAME_SIZE, is a connection FRAME_SIZE_ERROR (§4.2)",
        |s| {
            post_open(s, 1);
            s.raw(&raw(DATA, 0, 1, &[b'x'; 16_385]));
        },
        Verdict::Connection(ErrorCode::FrameSizeError),
    ),
    malformed!(
        "goaway_too_short",
        "GOAWAY of 4 bytes is a connection FRAME_SIZE_ERROR (§6.8)",
        |s| {
            s.raw(&raw(GOAWAY, 0, 0, &[0, 0, 0, 0]));
        },
        Verdict::Connection(ErrorCode::FrameSizeError),
    ),
    malformed!(
        "data_on_an_idle_stream",
        "DATA on a stream never opened is a connection PROTOCOL_ERROR (§5.1)",
        |s| {
            s.raw(&raw(DATA, 0, 7, b"x"));
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "data_after_end_stream",
        "DATA on a stream the client already ended (half-closed remote) is a stream STREAM_CLOSED (§5.1)",
        |s| {
            s.request(1, "GET", "/", true);
            s.raw(&raw(DATA, 0, 1, b"x"));
        },
        Verdict::Stream(1, ErrorCode::StreamClosed),
    ),
    Entry {
        family: FAMILY,
        name: "data_past_the_window",
        about: "an upload of 65 536 bytes, one past the stream's window of 65 535, sent without waiting for a WINDOW_UPDATE on a GET whose answer the stream app is sending and which takes none of the body (so no window is given back): a stream FLOW_CONTROL_ERROR (§6.9.1) after the head, and the request after it is served",
        seed: 1,
        build: |_| {
            let mut script = H2Script::new();
            script.request(1, "GET", "/stream/1000000", false);
            for _ in 0..4 {
                script.raw(&raw(DATA, 0, 1, &[b'u'; 16_384]));
            }
            script.request(AFTER, "GET", "/stream/0", true);
            let mut s = Scenario::new("http2_malformed/data_past_the_window", quick_config(), app_factory::<Stream>());
            s.clients.push(ClientScript::new().send(script.bytes()).misbehaving());
            s
        },
        expect: |o| judge(o, Verdict::Stream(1, ErrorCode::FlowControlError)),
    },
    Entry {
        family: FAMILY,
        name: "data_past_a_window_given_back",
        about: "a stream window of 64 bytes (SETTINGS_INITIAL_WINDOW_SIZE) filled by an upload to `/accept`, whose app takes 8 bytes at a time: once the server has given 40 back (WINDOW_UPDATE +8 at once, then +32), the client sends 41 bytes, one past the window: a stream FLOW_CONTROL_ERROR (§6.9.1), and the request after it is served",
        seed: 1,
        build: |_| {
            let mut first = H2Script::new();
            first.request(1, "POST", "/accept", false).data(1, &[b'u'; 64], false);
            let mut rest = H2Script::empty();
            rest.data(1, &[b'v'; 41], true).request(AFTER, "GET", "/status/200", true);
            let mut config = quick_config();
            config.h2.initial_window_size = 64;
            let mut s = Scenario::new("http2_malformed/data_past_a_window_given_back", config, app_factory::<Api>());
            // The rest once the server has opened 40 bytes: a WINDOW_UPDATE of 32 on stream 1.
            let opened = Bytes::from_static(&[0, 0, 4, 8, 0, 0, 0, 0, 1, 0, 0, 0, 32]);
            s.clients.push(ClientScript::new().send(first.bytes()).then(Action::WaitFor(opened)).send(rest.bytes()).misbehaving());
            s
        },
        expect: |o| judge(o, Verdict::Stream(1, ErrorCode::FlowControlError)),
    },
    Entry {
        family: FAMILY,
        name: "data_after_the_stream_closed",
        about: "DATA on a stream whose request and response both ended (closed, and forgotten by the server) is a connection STREAM_CLOSED (§5.1, §6.1), never ignored (found by explore: data_after_end_stream cut so that its GET was answered first)",
        seed: 1,
        build: |_| {
            after_the_stream_closed("http2_malformed/data_after_the_stream_closed", |s| {
                s.raw(&raw(DATA, 0, 1, b"x"));
            })
        },
        expect: |o| all([answered(o, 1, &[200], b""), judge(o, Verdict::Connection(ErrorCode::StreamClosed))]),
    },
    Entry {
        family: FAMILY,
        name: "alpn_h2_then_an_http1_request",
        about: "on a connection whose TLS handshake chose `h2` by ALPN, a client that sends an HTTP/1.1 request in place of the preface gets our SETTINGS and GOAWAY(PROTOCOL_ERROR) (RFC 9113 §3.4), never an HTTP/1.1 answer, and its request is never served (h2spec http2/3.5/2 over TLS)",
        seed: 1,
        build: |_| {
            let mut s = Scenario::new("http2_malformed/alpn_h2_then_an_http1_request", quick_config(), app_factory::<Echo>());
            s.negotiation = Negotiation::AlpnH2;
            s.clients.push(ClientScript::new().send(&b"GET / HTTP/1.1\r\nHost: sim\r\n\r\n"[..]).misbehaving());
            s
        },
        expect: |o| all([goaway(o, ErrorCode::ProtocolError), absent(o, any_request())]),
    },
    Entry {
        family: FAMILY,
        name: "headers_after_the_stream_closed",
        about: "HEADERS reopening a stream whose request and response both ended (closed, and forgotten by the server) is a connection STREAM_CLOSED (§5.1; h2spec http2/5.1/12), as DATA there is",
        seed: 1,
        build: |_| {
            after_the_stream_closed("http2_malformed/headers_after_the_stream_closed", |s| {
                s.request(1, "GET", "/", true);
            })
        },
        expect: |o| all([answered(o, 1, &[200], b""), judge(o, Verdict::Connection(ErrorCode::StreamClosed))]),
    },
    malformed!(
        "padded_without_a_pad_length",
        "DATA flagged PADDED with an empty payload has no Pad Length field: a connection FRAME_SIZE_ERROR (§4.2, §6.1), not a read past the frame",
        |s| {
            post_open(s, 1);
            s.raw(&raw(DATA, PADDED, 1, b""));
        },
        Verdict::Connection(ErrorCode::FrameSizeError),
    ),
    malformed!(
        "headers_priority_cut_short",
        "HEADERS flagged PRIORITY whose payload is shorter than the 5 bytes of dependency and weight: a connection FRAME_SIZE_ERROR (§4.2, §6.2), not a read past the frame",
        |s| {
            s.raw(&raw(HEADERS, END_HEADERS | END_STREAM | PRIORITY_FLAG, 1, &[0, 0, 0]));
        },
        Verdict::Connection(ErrorCode::FrameSizeError),
    ),
    malformed!(
        "padding_longer_than_the_payload",
        "DATA whose pad length is not less than its payload is a connection PROTOCOL_ERROR (§6.1)",
        |s| {
            post_open(s, 1);
            s.raw(&raw(DATA, PADDED, 1, &[3, b'a', b'b']));
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "settings_at_their_bounds_accepted",
        "SETTINGS at the edge of each range (ENABLE_PUSH 1, INITIAL_WINDOW_SIZE 2^31-1, MAX_FRAME_SIZE 2^24-1, then 2^14) are legal (§6.5.2), so nothing happens",
        |s| {
            let mut settings = Vec::new();
            for (id, value) in [(2_u16, 1_u32), (4, 0x7fff_ffff), (5, 0xff_ffff), (5, 0x4000)] {
                settings.extend_from_slice(&id.to_be_bytes());
                settings.extend_from_slice(&value.to_be_bytes());
            }
            s.raw(&raw(SETTINGS, 0, 0, &settings));
        },
        Verdict::Ignored,
    ),
    malformed!(
        "unknown_frame_type_ignored",
        "a frame of unknown type 0xfa is ignored (§4.1, §5.5) and the connection goes on",
        |s| {
            s.raw(&raw(0xfa, 0xff, 0, b"extension"));
        },
        Verdict::Ignored,
    ),
    malformed!(
        "body_longer_than_content_length",
        "a body longer than its Content-Length is malformed, a stream PROTOCOL_ERROR (§8.1.1)",
        |s| {
            post_declaring(s, "3");
            s.raw(&raw(DATA, END_STREAM, 1, b"hello"));
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "connection_specific_field",
        "a Connection field in a request is malformed, a stream PROTOCOL_ERROR (§8.2.2)",
        |s| get_with(s, ("connection", "keep-alive")),
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "te_other_than_trailers",
        "TE with a value other than trailers is malformed, a stream PROTOCOL_ERROR (§8.2.2)",
        |s| get_with(s, ("te", "gzip")),
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "unknown_pseudo_header",
        "an unknown pseudo-header field is malformed, a stream PROTOCOL_ERROR (§8.3)",
        |s| get_with(s, (":protocol-x", "1")),
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "pseudo_header_after_a_regular_field",
        "a pseudo-header after a regular field is malformed, a stream PROTOCOL_ERROR (§8.3)",
        |s| {
            let fields = [
                (":method", "GET"),
                (":scheme", "http"),
                ("accept", "*/*"),
                (":path", "/"),
            ];
            s.headers(1, &fields, true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "missing_method",
        "a request without :method is malformed, a stream PROTOCOL_ERROR (§8.3.1)",
        |s| {
            let fields = [(":scheme", "http"), (":path", "/"), (":authority", "sim")];
            s.headers(1, &fields, true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "authority_with_userinfo",
        "an :authority with userinfo is malformed, a stream PROTOCOL_ERROR (§8.3.1)",
        |s| {
            let fields = [
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "user@sim"),
            ];
            s.headers(1, &fields, true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "host_differs_from_authority",
        "a host field naming another host than :authority is malformed, a stream PROTOCOL_ERROR (§8.3.1): an app reading one and a proxy routing on the other would disagree",
        |s| get_with(s, ("host", "elsewhere")),
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "two_host_fields",
        "two host fields, even naming the same host, are malformed, a stream PROTOCOL_ERROR (§8.3.1): a request has one host",
        |s| {
            let fields = [
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "sim"),
                ("host", "sim"),
                ("host", "sim"),
            ];
            s.headers(1, &fields, true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "connect_without_authority",
        "a CONNECT without :authority is malformed, a stream PROTOCOL_ERROR (§8.5: it names where to connect)",
        |s| {
            s.headers(1, &[(":method", "CONNECT")], true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "body_short_at_the_trailers",
        "trailers ending a body short of its Content-Length (5 of 10 bytes) are malformed, a stream PROTOCOL_ERROR (§8.1.1): the trailers end the body as END_STREAM on DATA would",
        |s| {
            post_declaring(s, "10");
            s.raw(&raw(DATA, 0, 1, b"hello"));
            s.headers(1, &[("x-checksum", "1")], true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "trailers_on_a_stream_we_reset",
        "trailers on a stream the server reset for a body past its Content-Length are ignored (§5.1: frames in flight when the reset was sent), not a connection error: stream 1 is reset and the GET after it answered",
        |s| {
            post_declaring(s, "3");
            s.raw(&raw(DATA, 0, 1, b"hello"));
            s.headers(1, &[("x-checksum", "1")], true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "settings_push_a_window_past_the_maximum",
        "a stream's send window opened to 2^31-1 by WINDOW_UPDATE, then SETTINGS_INITIAL_WINDOW_SIZE raised by one: the stream's window would pass 2^31-1, a connection FLOW_CONTROL_ERROR (§6.9.2)",
        |s| {
            post_open(s, 1);
            window_update(s, 1, 0x7fff_ffff - 65_535);
            setting(s, SettingId::InitialWindowSize, 65_536);
        },
        Verdict::Connection(ErrorCode::FlowControlError),
    ),
    malformed!(
        "body_shorter_than_content_length",
        "a body that ends short of its Content-Length is malformed, a stream PROTOCOL_ERROR (§8.1.1)",
        |s| {
            post_declaring(s, "10");
            s.raw(&raw(DATA, END_STREAM, 1, b"hello"));
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "body_past_content_length_before_its_end",
        "DATA past the Content-Length is malformed as it arrives, before END_STREAM: a stream PROTOCOL_ERROR (§8.1.1)",
        |s| {
            post_declaring(s, "3");
            s.raw(&raw(DATA, 0, 1, b"hello"));
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "ping_too_long",
        "a PING of 9 bytes is a connection FRAME_SIZE_ERROR (§6.7): exactly 8, not at least 8",
        |s| {
            s.raw(&raw(PING, 0, 0, b"123456789"));
        },
        Verdict::Connection(ErrorCode::FrameSizeError),
    ),
    malformed!(
        "rst_stream_too_long",
        "RST_STREAM of 5 bytes is a connection FRAME_SIZE_ERROR (§6.4): exactly 4, not at least 4",
        |s| {
            s.request(1, "GET", "/", true);
            s.raw(&raw(RST_STREAM, 0, 1, &[0, 0, 0, 8, 0]));
        },
        Verdict::Connection(ErrorCode::FrameSizeError),
    ),
    malformed!(
        "window_update_too_long",
        "a WINDOW_UPDATE of 5 bytes is a connection FRAME_SIZE_ERROR (§6.9): exactly 4, not at least 4",
        |s| {
            s.raw(&raw(WINDOW_UPDATE, 0, 0, &[0, 0, 1, 0, 0]));
        },
        Verdict::Connection(ErrorCode::FrameSizeError),
    ),
    malformed!(
        "pseudo_header_twice",
        "a second :path is malformed, a stream PROTOCOL_ERROR (§8.3): no last-one-wins",
        |s| get_with(s, (":path", "/other")),
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "missing_scheme",
        "a GET without :scheme is malformed, a stream PROTOCOL_ERROR (§8.3.1)",
        |s| {
            s.headers(1, &[(":method", "GET"), (":path", "/"), (":authority", "sim")], true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "empty_path",
        "an empty :path is malformed, a stream PROTOCOL_ERROR (§8.3.1)",
        |s| {
            let fields = [(":method", "GET"), (":scheme", "http"), (":path", ""), (":authority", "sim")];
            s.headers(1, &fields, true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "connect_with_a_path",
        "a CONNECT carrying :scheme and :path is malformed, a stream PROTOCOL_ERROR (§8.5)",
        |s| {
            let fields = [(":method", "CONNECT"), (":scheme", "http"), (":path", "/"), (":authority", "sim:443")];
            s.headers(1, &fields, true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "connect_with_a_scheme",
        "a CONNECT carrying :scheme without :path is malformed too, a stream PROTOCOL_ERROR (§8.5: only :method and :authority)",
        |s| {
            let fields = [(":method", "CONNECT"), (":scheme", "http"), (":authority", "sim:443")];
            s.headers(1, &fields, true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "connect_with_only_a_path",
        "a CONNECT carrying :path without :scheme is malformed too, a stream PROTOCOL_ERROR (§8.5: only :method and :authority)",
        |s| {
            let fields = [(":method", "CONNECT"), (":path", "/"), (":authority", "sim:443")];
            s.headers(1, &fields, true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "field_name_not_a_token",
        "a field name holding `(` and `)` is not a token: malformed, a stream PROTOCOL_ERROR (§8.2)",
        |s| get_with(s, ("x(ab)cd", "1")),
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "method_not_a_token",
        "a :method holding `(` and `)` is not a token: malformed, a stream PROTOCOL_ERROR (§8.3.1)",
        |s| {
            let fields = [(":method", "G(E)T123"), (":scheme", "http"), (":path", "/"), (":authority", "sim")];
            s.headers(1, &fields, true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "value_with_crlf",
        "a field value carrying CR LF (HPACK passes any byte) is malformed, a stream PROTOCOL_ERROR (§8.2.1): never a second field once written as HTTP/1",
        |s| get_with(s, ("x-note", "a\r\nx-smuggled: 1")),
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "value_padded",
        "a field value with leading whitespace is malformed, a stream PROTOCOL_ERROR (§8.2.1)",
        |s| get_with(s, ("x-note", " a")),
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "content_lengths_differ",
        "two content-length fields that differ are malformed, a stream PROTOCOL_ERROR (§8.1.1)",
        |s| {
            let fields = [
                (":method", "POST"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "sim"),
                ("content-length", "3"),
                ("content-length", "5"),
            ];
            s.headers(1, &fields, false);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "data_after_the_client_reset",
        "DATA on a stream the client reset is a stream STREAM_CLOSED (§5.1), never taken as body",
        |s| {
            post_declaring(s, "5");
            s.raw(&raw(RST_STREAM, 0, 1, &8u32.to_be_bytes()));
            s.raw(&raw(DATA, END_STREAM, 1, b"hello"));
        },
        Verdict::Stream(1, ErrorCode::StreamClosed),
    ),
    malformed!(
        "content_length_with_a_sign",
        "a content-length of `+5` is not a number (digits only, RFC 9110 §8.6): the request is malformed, a stream PROTOCOL_ERROR (§8.1.1), even with 5 bytes of body",
        |s| {
            post_declaring(s, "+5");
            s.raw(&raw(DATA, END_STREAM, 1, b"hello"));
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "content_length_of_twenty_digits",
        "a content-length of 20 digits (10^19) is past what twine takes (19 digits, as on HTTP/1.1): the request is malformed, a stream PROTOCOL_ERROR (§8.1.1)",
        |s| post_declaring(s, "10000000000000000000"),
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "data_after_our_reset",
        "DATA the client sent before our RST_STREAM reached it (its POST was malformed, a stream PROTOCOL_ERROR) is ignored once the stream is gone: no second error, the connection goes on (§5.1)",
        |s| {
            let fields = [
                (":method", "POST"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "sim"),
                ("connection", "keep-alive"),
            ];
            s.headers(1, &fields, false);
            s.raw(&raw(DATA, END_STREAM, 1, b"hello"));
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "goaway_on_a_stream",
        "GOAWAY on stream 1 is a connection PROTOCOL_ERROR (§6.8)",
        |s| {
            s.raw(&raw(GOAWAY, 0, 1, &[0; 8]));
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "rst_stream_on_stream_zero",
        "RST_STREAM on stream 0 is a connection PROTOCOL_ERROR (§6.4)",
        |s| {
            s.raw(&raw(RST_STREAM, 0, 0, &8u32.to_be_bytes()));
        },
        Verdict::Connection(ErrorCode::ProtocolError),
    ),
    malformed!(
        "trailers_without_end_stream",
        "a trailer section that does not end its stream is malformed, a stream PROTOCOL_ERROR (§8.1)",
        |s| {
            post_open(s, 1);
            s.headers(1, &[("x-checksum", "1")], false);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "trailers_with_a_pseudo_header",
        "a pseudo-header field among trailers is malformed, a stream PROTOCOL_ERROR (§8.1)",
        |s| {
            post_open(s, 1);
            s.headers(1, &[(":path", "/")], true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "trailers_with_an_upper_case_name",
        "a trailer field whose name has upper-case letters is malformed, a stream PROTOCOL_ERROR (§8.2.1)",
        |s| {
            post_open(s, 1);
            s.headers(1, &[("X-Checksum", "1")], true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
    malformed!(
        "trailers_with_a_connection_field",
        "a connection-specific field among trailers is malformed, a stream PROTOCOL_ERROR (§8.2.2)",
        |s| {
            post_open(s, 1);
            s.headers(1, &[("transfer-encoding", "chunked")], true);
        },
        Verdict::Stream(1, ErrorCode::ProtocolError),
    ),
];
