//! Goal: an app's reason phrase reaches the wire exactly as given when it is legal
//! (`*( HTAB / SP / VCHAR / obs-text )`, RFC 9112 §4), and one holding any other byte (a control
//! byte, CR or LF that would split the response, DEL) is refused with
//! `UsageError::InvalidHeader` before anything is written, leaving the request answerable.
//! Method: the channel's `SendHead` with every control byte between two letters, then a legal
//! head; the exact response bytes.

use bytes::Bytes;

use super::harness::{bare, Harness, R0};
use crate::{AppCommand, ResponseHead, UsageError};

fn with_reason(reason: &[u8]) -> ResponseHead {
    let mut head = ResponseHead::new(200).with_header("Content-Length", "0");
    head.reason = Some(Bytes::copy_from_slice(reason));
    head
}

#[test]
fn a_legal_reason_phrase_is_written_as_given() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let reason = b"Fine \tby me ~!\x80\xff";
    h.app(AppCommand::SendHead {
        request: R0,
        head: with_reason(reason),
    })
    .unwrap();
    h.app(AppCommand::Finish { request: R0 }).unwrap();
    let mut expected = b"HTTP/1.1 200 ".to_vec();
    expected.extend_from_slice(reason);
    expected.extend_from_slice(b"\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(h.wire, expected);
}

#[test]
fn a_reason_phrase_with_a_control_byte_is_refused() {
    let controls = (0x00..0x20).filter(|&b| b != b'\t').chain([0x7f]);
    for control in controls {
        let mut h = Harness::new(bare());
        h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        let result = h.app(AppCommand::SendHead {
            request: R0,
            head: with_reason(&[b'O', control, b'K']),
        });
        assert_eq!(
            result,
            Err(UsageError::InvalidHeader),
            "byte {control:#04x}"
        );
        assert_eq!(h.take_wire(), "", "byte {control:#04x}");
        h.app(AppCommand::SendHead {
            request: R0,
            head: with_reason(b"OK"),
        })
        .unwrap();
        h.app(AppCommand::Finish { request: R0 }).unwrap();
        assert_eq!(
            h.take_wire(),
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        );
    }
}
