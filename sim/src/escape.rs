//! Bytes as text for the trace: printable ASCII as is, `\r \n \t \\ \"` escaped, `\xNN` for
//! the rest; long payloads abbreviated with their length and a digest; and every byte back
//! from such text (a recording's). Imports nothing else of the harness but the digest's hash.

use std::fmt::Write as _;

/// Payloads longer than this are shown as a prefix plus their length and digest.
const SHOWN_BYTES_MAX: usize = 400;

/// How much of a long payload is shown.
const SHOWN_PREFIX_BYTES: usize = 96;

/// Bytes as a quoted, escaped string: printable ASCII as is, `\r \n \t \\ \"`, and `\xNN`
/// for the rest. Long payloads show a prefix, the length and an FNV-1a digest of the whole.
pub fn escape(bytes: &[u8]) -> String {
    let shown = if bytes.len() > SHOWN_BYTES_MAX {
        &bytes[..SHOWN_PREFIX_BYTES]
    } else {
        bytes
    };
    let mut out = escape_all(shown);
    if shown.len() < bytes.len() {
        let _ = write!(
            out,
            "…(+{} bytes, {} total, digest {:016x})",
            bytes.len() - shown.len(),
            bytes.len(),
            digest(bytes)
        );
    }
    out
}

/// Every byte as a quoted, escaped string (see [`escape`]).
pub fn escape_all(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    out.push('"');
    for &b in bytes {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    out
}

/// What [`escape_all`] wrote, read back; `None` if it is not such a string (a recording of
/// a connection keeps its bytes this way).
pub fn unescape_all(text: &str) -> Option<Vec<u8>> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = Vec::with_capacity(inner.len());
    let mut rest = inner.as_bytes();
    while let [b, after @ ..] = rest {
        rest = after;
        if *b != b'\\' {
            out.push(*b);
            continue;
        }
        let (byte, after) = match rest {
            [b'r', after @ ..] => (b'\r', after),
            [b'n', after @ ..] => (b'\n', after),
            [b't', after @ ..] => (b'\t', after),
            [b'\\', after @ ..] => (b'\\', after),
            [b'"', after @ ..] => (b'"', after),
            [b'x', hi, lo, after @ ..] if hi.is_ascii_hexdigit() && lo.is_ascii_hexdigit() => {
                let hex = [*hi, *lo];
                let hex = std::str::from_utf8(&hex).ok()?;
                (u8::from_str_radix(hex, 16).ok()?, after)
            }
            _ => return None,
        };
        out.push(byte);
        rest = after;
    }
    Some(out)
}

/// A stable fingerprint for long payloads (FNV-1a; checked against an independent
/// implementation in the tests).
pub fn digest(bytes: &[u8]) -> u64 {
    crate::rng::fnv1a(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes come back as they were.
        #[test]
        fn escaping_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(unescape_all(&escape_all(&bytes)), Some(bytes));
        }
    }

    #[test]
    fn what_escape_all_never_writes_is_refused() {
        for text in ["abc", "\"a\\q\"", "\"\\x+f\"", "\"\\x4\"", "\"a"] {
            assert_eq!(unescape_all(text), None, "{text}");
        }
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape(b"GET / HTTP/1.1\r\n\"\\\x00\xff"),
            r#""GET / HTTP/1.1\r\n\"\\\x00\xff""#
        );
        let long = vec![b'a'; 1000];
        assert!(
            escape(&long).ends_with("…(+904 bytes, 1000 total, digest 3c835852fbac676d)"),
            "{}",
            escape(&long)
        );
    }
}
