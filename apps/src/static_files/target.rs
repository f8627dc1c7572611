//! Request targets to root-relative paths: the only way a client's bytes become a path.
//!
//! Invariant: a path returned is made of plain components only (no `..`, no `.`, no root, no
//! prefix), each the UTF-8 of one percent-decoded segment without `/` or NUL, so joining it
//! to the root cannot climb out by itself (symlinks are the file system's to confine).
//!
//! A `..` segment is refused (404), never normalised upward. A decoded `/` inside a segment
//! (`%2f`) is refused with 404 rather than taken as a separator: RFC 3986 §2.2 says an encoded
//! reserved character is data, and no file name can contain `/`. Segments that are not UTF-8
//! are refused with 404 as well.

use std::path::{Component, Path, PathBuf};

use super::Refusal;

/// The root-relative path a request path names (`RequestHead::path`, so absolute-form is
/// already reduced to its path and the query and fragment are gone): each `/`-separated
/// segment is percent-decoded, empty and `.` segments are skipped.
pub(super) fn relative_path(path: &[u8]) -> Result<PathBuf, Refusal> {
    // Only a path names a file; `*`, authority-form and other schemes do not.
    let path = path.strip_prefix(b"/").ok_or(Refusal::BadRequest)?;
    // Decode every segment first, so a bad escape is a 400 wherever it is.
    let segments: Vec<Vec<u8>> = path
        .split(|&b| b == b'/')
        .map(decode_segment)
        .collect::<Result<_, _>>()?;
    let mut relative = PathBuf::new();
    for segment in &segments {
        match segment.as_slice() {
            b"" | b"." => continue,
            b".." => return Err(Refusal::NotFound),
            _ => {}
        }
        if segment.contains(&b'/') {
            return Err(Refusal::NotFound);
        }
        let name = std::str::from_utf8(segment).map_err(|_| Refusal::NotFound)?;
        // Defence in depth: a segment must be exactly one plain component (on Windows a
        // backslash or a drive prefix would make it more).
        let mut components = Path::new(name).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(part)), None) if part == name => relative.push(part),
            _ => return Err(Refusal::NotFound),
        }
    }
    Ok(relative)
}

/// Percent-decodes one segment (RFC 3986 §2.1). A `%` not followed by two hex digits, or a
/// decoded NUL, is a bad request.
fn decode_segment(raw: &[u8]) -> Result<Vec<u8>, Refusal> {
    let mut decoded = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let byte = if raw[i] == b'%' {
            let high = raw.get(i + 1).and_then(|&b| hex_value(b));
            let low = raw.get(i + 2).and_then(|&b| hex_value(b));
            let (Some(high), Some(low)) = (high, low) else {
                return Err(Refusal::BadRequest);
            };
            i += 3;
            high << 4 | low
        } else {
            i += 1;
            raw[i - 1]
        };
        if byte == 0 {
            return Err(Refusal::BadRequest);
        }
        decoded.push(byte);
    }
    Ok(decoded)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
