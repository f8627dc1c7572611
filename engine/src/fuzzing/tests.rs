//! Goal: the fuzz corpus is a regression suite, and the fuzz oracles can tell right from wrong.
//! Method: every file of `fuzz/corpus/<target>/` goes through the target's check function (a
//! missing or empty folder fails, so the replay cannot pass by finding nothing); the reference
//! chunked decoder is pinned on hand-written cases, including each documented difference, so
//! that the differential property compares against something known to be right.

use std::path::{Path, PathBuf};

use super::chunked_reference::{decode, Verdict};
use crate::config::Limits;
use crate::error::ProtocolErrorKind as Kind;

/// The corpus files of `target`, sorted; panics if there are none.
fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("no fuzz corpus at {}: {error}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable corpus folder").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "the fuzz corpus at {} is empty",
        dir.display()
    );
    files
}

/// Runs every corpus file of `target` through `check`, naming the file that fails.
fn replay(target: &str, check: fn(&[u8])) {
    for path in corpus(target) {
        let data = std::fs::read(&path).expect("a readable corpus file");
        let result = std::panic::catch_unwind(|| check(&data));
        if let Err(panic) = result {
            eprintln!("fuzz corpus file {} fails", path.display());
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn head_parser_corpus_replays() {
    replay("head_parser", super::head_parser);
}

#[test]
fn chunked_decoder_corpus_replays() {
    replay("chunked_decoder", super::chunked_decoder);
}

#[test]
fn client_response_corpus_replays() {
    replay("client_response", super::client_response);
}

#[test]
fn h2_connection_corpus_replays() {
    replay("h2_connection", super::h2_connection);
}

#[test]
fn h2_frames_corpus_replays() {
    replay("h2_frames", super::h2_frames);
}

#[test]
fn hpack_decoder_corpus_replays() {
    replay("hpack_decoder", super::hpack_decoder);
}

#[test]
fn channel_corpus_replays() {
    replay("channel", super::channel);
}

#[test]
#[should_panic(expected = "no fuzz corpus")]
fn a_missing_corpus_fails() {
    replay("no_such_target", |_| {});
}

/// The reference's verdict and body for `input` under the default limits.
fn reference(input: &[u8]) -> (Verdict, Vec<u8>) {
    reference_with(&Limits::DEFAULT, input)
}

fn reference_with(limits: &Limits, input: &[u8]) -> (Verdict, Vec<u8>) {
    let reference = decode(input, limits);
    (reference.verdict, reference.body)
}

fn refused(input: &[u8]) -> Option<Kind> {
    match reference(input).0 {
        Verdict::Refuse { kind, .. } => Some(kind),
        Verdict::End { .. } | Verdict::Incomplete => None,
    }
}

#[test]
fn reference_decodes_valid_bodies() {
    let input = b"5;a=b;c=\"d;\\\"e\"\r\nhello\r\n1; x = y\r\n!\r\n000\r\nT: v\r\n\r\nNEXT";
    let (verdict, body) = reference(input);
    assert_eq!(
        verdict,
        Verdict::End {
            consumed: input.len() - 4
        }
    );
    assert_eq!(body, b"hello!");
    assert_eq!(reference(b"5\r\nhel").0, Verdict::Incomplete);
    assert_eq!(reference(b"0\r\n\r").0, Verdict::Incomplete);
    assert_eq!(reference(b"").0, Verdict::Incomplete);
}

#[test]
fn reference_refuses_rfc_violations() {
    assert_eq!(refused(b"x\r\n"), Some(Kind::InvalidChunkSize));
    assert_eq!(refused(b"\r\n"), Some(Kind::InvalidChunkSize));
    assert_eq!(refused(b";a\r\n"), Some(Kind::InvalidChunkSize));
    assert_eq!(refused(b"1;a\x01\r\n"), Some(Kind::InvalidChunkExtension));
    assert_eq!(refused(b"1;a\rb\r\n"), Some(Kind::InvalidChunkExtension));
    // Extension syntax (§7.1.1): a name after `;`, a value after `=`, a closed quoted-string,
    // a backslash only in a quoted-pair, no byte outside the grammar.
    for input in [
        &b"1;a=\r\n"[..],
        b"1;=b\r\n",
        b"1;a b\r\n",
        b"1;a=\"b\r\n",
        b"1;a=\"b\\\r\n",
        b"1;a=\\\"b\"\r\n",
        b"1;a=\"\\\x01\"\r\n",
    ] {
        assert_eq!(
            refused(input),
            Some(Kind::InvalidChunkExtension),
            "{input:?}"
        );
    }
    assert_eq!(refused(b"1\r\nab"), Some(Kind::InvalidChunkEnd));
    assert_eq!(refused(b"1\r\na\rx"), Some(Kind::InvalidChunkEnd));
    assert_eq!(refused(b"0\r\nno colon\r\n"), Some(Kind::InvalidTrailers));
    assert_eq!(refused(b"0\r\nA: \0\r\n"), Some(Kind::InvalidTrailers));
    assert_eq!(refused(b"0\r\n\rx"), Some(Kind::InvalidTrailers));
}

#[test]
fn reference_names_twines_documented_strictness() {
    // RFC-valid, refused by design.
    assert_eq!(refused(b"1 ;a\r\n"), Some(Kind::InvalidChunkSize));
    assert_eq!(
        refused(b"10000000000000000\r\n"),
        Some(Kind::InvalidChunkSize)
    );
    assert_eq!(refused(b"0\r\nA: b\nx"), Some(Kind::InvalidTrailers));
    let long_line = [&b"1;"[..], &[b'a'; 1023]].concat();
    assert_eq!(refused(&long_line), Some(Kind::InvalidChunkSize));
    assert_eq!(refused(&long_line[..1024]), None);
    let limits = Limits {
        trailer_bytes_max: 8,
        body_bytes_max: Some(3),
        ..Limits::DEFAULT
    };
    let verdict = |input: &[u8]| reference_with(&limits, input).0;
    // A field line of k bytes needs k + 4: its CRLF and the final CRLF.
    assert_eq!(verdict(b"0\r\nA:bc\r\n\r\n"), Verdict::End { consumed: 11 });
    assert!(matches!(
        verdict(b"0\r\nA:bcd"),
        Verdict::Refuse {
            kind: Kind::InvalidTrailers,
            ..
        }
    ));
    assert!(matches!(
        verdict(b"2\r\nab\r\n2\r\n"),
        Verdict::Refuse {
            kind: Kind::BodyTooLarge,
            ..
        }
    ));
}

#[test]
fn reference_notes_twines_documented_leniency() {
    for input in [
        &b"0\r\na b: \x01\r\n\r\n"[..],
        b"0\r\n:\r\n\r\n",
        b"1;\r\nx\r\n0\r\n\r\n",
        b"1;a \r\nx\r\n0\r\n\r\n",
    ] {
        let reference = decode(input, &Limits::DEFAULT);
        assert!(
            matches!(reference.verdict, Verdict::End { .. }),
            "{reference:?}"
        );
        assert_eq!(reference.leniencies.len(), 1, "{reference:?}");
    }
}
