//! An independent, strict HTTP/1.1 response parser for what a client received. It shares no
//! code with the engine's writer, so a framing bug there cannot hide behind the same bug here.
//!
//! Each response is a status line `HTTP/1.1 <3 digits> <reason>` (or `HTTP/1.0`), field lines
//! `name: value` (the name a token, no bare CR or LF anywhere, CRLF line ends only), an empty
//! line, then a body framed per RFC 9112 §6.3 for responses: none for 1xx, 204, 304 and
//! responses to `HEAD`; else `Transfer-Encoding` (chunked, decoded strictly); else a single valid
//! `Content-Length`; else the body runs to the end of the stream.
//!
//! Every response of every run is read here, so a well-formed status or field line takes a
//! one-pass fast path (a table test per byte); any other line, flawed or cut short, goes through
//! the strict path, which names what is wrong. A property test holds the two in agreement. A
//! head byte for byte the same as the one before (keep-alive and pipelined responses repeat
//! theirs) is compared with it, not parsed again; a second property holds that to parsing
//! every head.

use std::borrow::Cow;

use crate::trace::escape;

use super::request_scanner::{is_token, TCHAR};
use super::Memo;

/// One response whose head arrived whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Response<'a> {
    /// The offset of its status line in the stream.
    pub(crate) start: usize,
    /// The status code.
    pub(crate) status: u16,
    /// It carried `Connection: close`.
    pub(crate) close: bool,
    /// The body, framing removed: as much of it as arrived (borrowed from the stream unless
    /// chunked).
    pub(crate) body: Cow<'a, [u8]>,
    /// The whole body arrived (a close-delimited one: the stream ended with EOF).
    pub(crate) complete: bool,
    /// The value of its first `Date` field, trimmed, if it has one.
    pub(crate) date: Option<&'a [u8]>,
}

impl Response<'_> {
    /// Not a 1xx interim response.
    pub(crate) fn is_final(&self) -> bool {
        self.status >= 200
    }
}

/// A protocol error in the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Malformed {
    /// The offset of the offending line or byte.
    pub(crate) at: usize,
    /// What is wrong there.
    pub(crate) what: String,
}

/// Everything a client received, as responses. Parsing stops at the first of `malformed`,
/// `truncated_at` and `after_close`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Responses<'a> {
    /// The responses whose head arrived, in order.
    pub(crate) list: Vec<Response<'a>>,
    /// The first protocol error.
    pub(crate) malformed: Option<Malformed>,
    /// Where the response starts that the stream ended in the middle of.
    pub(crate) truncated_at: Option<usize>,
    /// Where bytes start that follow a final response with `Connection: close`.
    pub(crate) after_close: Option<usize>,
}

/// A response head, borrowing from the stream.
struct Head<'a> {
    status: u16,
    /// The fields this parser judges by, values trimmed.
    fields: Vec<(Kept, &'a [u8])>,
    /// Just past the empty line.
    end: usize,
}

/// The only fields the checks read: framing, `Connection` and `Date`. Every field line is
/// validated; the others are not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kept {
    Connection,
    ContentLength,
    TransferEncoding,
    Date,
}

impl Kept {
    fn of(name: &[u8]) -> Option<Kept> {
        // The four names differ in length: at most one comparison per field line.
        // Servers mostly send the usual spelling: a plain comparison first, a fraction of the
        // case-folding one.
        let (kept, spelled): (Kept, &[u8]) = match name.len() {
            4 => (Kept::Date, b"Date"),
            10 => (Kept::Connection, b"Connection"),
            14 => (Kept::ContentLength, b"Content-Length"),
            17 => (Kept::TransferEncoding, b"Transfer-Encoding"),
            _ => return None,
        };
        (name == spelled || name.eq_ignore_ascii_case(spelled)).then_some(kept)
    }
}

/// How a response body is delimited.
#[derive(Clone, Copy, Debug)]
enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

/// `Ok(None)`: the bytes ran out first.
type Parsed<T> = Result<Option<T>, Malformed>;

/// Parses `received`. `heads[k]` says whether the k-th final response answers a `HEAD`
/// request; `eof` whether the stream ended with the server's FIN (which completes a
/// close-delimited body).
pub(crate) fn parse_responses<'a>(received: &'a [u8], heads: &[bool], eof: bool) -> Responses<'a> {
    parse_responses_with(received, heads, eof, Memo::Compare)
}

/// What a head says, once parsed: a function of its bytes alone (status line through empty
/// line). So a head byte for byte the same as the last one reads the same: one comparison
/// instead of a scan of every byte. Keep-alive and pipelined responses repeat their heads
/// (`Date` changes once a second); the comparison costs a fraction of the parse.
#[derive(Clone, Copy, Debug)]
struct Reading {
    /// The head's length, through the empty line.
    len: usize,
    status: u16,
    /// It carries `Connection: close`.
    close: bool,
    /// Its body's framing in answer to any request but `HEAD` (which gets no body whatever
    /// the head says: whether a head is valid does not depend on it).
    framing: Framing,
    /// Where its first `Date` value lies, trimmed, from the head's start: offsets, so that
    /// the same bytes elsewhere in the stream read the same.
    date: Option<(usize, usize)>,
}

fn parse_responses_with<'a>(
    received: &'a [u8],
    heads: &[bool],
    eof: bool,
    memo: Memo,
) -> Responses<'a> {
    let mut out = Responses::default();
    let mut pos = 0;
    // The kept fields of the head being parsed: one list for all of them, not one each.
    let mut fields = Vec::new();
    // The last head read, and where.
    let mut last: Option<(usize, Reading)> = None;
    // Final responses parsed so far: the request the next one answers.
    let mut finals = 0;
    while pos < received.len() {
        if out.list.last().is_some_and(|r| r.close && r.is_final()) {
            out.after_close = Some(pos);
            break;
        }
        let answers_head = heads.get(finals).copied().unwrap_or(false);
        let same = last.filter(|(at, reading)| {
            let earlier = &received[*at..at + reading.len];
            memo == Memo::Compare && received.get(pos..pos + reading.len) == Some(earlier)
        });
        let reading = match same {
            Some((_, reading)) => Ok(reading),
            None => read_head(received, pos, &mut fields),
        };
        let parsed = reading.and_then(|reading| {
            last = Some((pos, reading));
            response_at(received, pos, reading, answers_head, eof).map_err(Some)
        });
        match parsed {
            Ok((response, end)) => {
                let complete = response.complete;
                finals += usize::from(response.is_final());
                out.list.push(response);
                match end {
                    Some(end) if complete => pos = end,
                    _ => {
                        out.truncated_at = Some(pos);
                        break;
                    }
                }
            }
            Err(None) if !could_start_response(&received[pos..]) => {
                // Not even the beginning of a status line: no connection end excuses it.
                let what = format!("{} cannot start a response", escape(&received[pos..]));
                out.malformed = Some(Malformed { at: pos, what });
                break;
            }
            Err(None) => {
                out.truncated_at = Some(pos);
                break;
            }
            Err(Some(malformed)) => {
                out.malformed = Some(malformed);
                break;
            }
        }
    }
    out
}

/// Whether `bytes` (an incomplete head) could be the start of `HTTP/1.x `.
fn could_start_response(bytes: &[u8]) -> bool {
    let prefix = b"HTTP/1.";
    let n = bytes.len().min(prefix.len());
    bytes[..n] == prefix[..n]
}

/// Parses the head at `pos` (`fields`: space for its kept fields). `Err(None)`: it is
/// incomplete.
fn read_head<'a>(
    buf: &'a [u8],
    pos: usize,
    fields: &mut Vec<(Kept, &'a [u8])>,
) -> Result<Reading, Option<Malformed>> {
    fields.clear();
    let head = parse_head(buf, pos, std::mem::take(fields))?.ok_or(None)?;
    let framing = framing(&head).map_err(|what| Malformed { at: pos, what })?;
    let close = list(&head.fields, Kept::Connection).any(|t| t.eq_ignore_ascii_case(b"close"));
    // A date holds a comma: it is one value, not a list.
    let date = head.fields.iter().find(|(name, _)| *name == Kept::Date);
    let date = date.map(|(_, value)| {
        // The value is a slice of `buf`: where it starts, counted from the head's start.
        let start = value.as_ptr() as usize - buf[pos..].as_ptr() as usize;
        (start, start + value.len())
    });
    let reading = Reading {
        len: head.end - pos,
        status: head.status,
        close,
        framing,
        date,
    };
    *fields = head.fields;
    Ok(reading)
}

/// The response whose head at `pos` reads `reading`, and where it ends (`None`: incomplete).
fn response_at(
    buf: &[u8],
    pos: usize,
    reading: Reading,
    answers_head: bool,
    eof: bool,
) -> Result<(Response<'_>, Option<usize>), Malformed> {
    let head_end = pos + reading.len;
    let framing = if answers_head {
        Framing::Length(0)
    } else {
        reading.framing
    };
    let (body, end) = match framing {
        Framing::Length(n) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            let end = head_end.checked_add(n).filter(|&end| end <= buf.len());
            let body_end = end.unwrap_or(buf.len());
            (Cow::Borrowed(&buf[head_end..body_end]), end)
        }
        Framing::Chunked => {
            let (body, end) = parse_chunked(buf, head_end)?;
            (Cow::Owned(body), end)
        }
        Framing::UntilClose => (Cow::Borrowed(&buf[head_end..]), eof.then_some(buf.len())),
    };
    let response = Response {
        start: pos,
        status: reading.status,
        close: reading.close,
        body,
        complete: end.is_some(),
        date: reading
            .date
            .map(|(start, end)| &buf[pos + start..pos + end]),
    };
    Ok((response, end))
}

/// The CRLF-terminated line at `pos` without its CRLF, and where the next one starts.
fn line(buf: &[u8], pos: usize) -> Parsed<(&[u8], usize)> {
    let rest = &buf[pos.min(buf.len())..];
    let Some(lf) = memchr::memchr(b'\n', rest) else {
        return Ok(None);
    };
    let Some(line) = rest[..lf].strip_suffix(b"\r") else {
        let what = "a bare LF ends a line (CRLF required)".to_string();
        return Err(Malformed { at: pos + lf, what });
    };
    if let Some(cr) = memchr::memchr(b'\r', line) {
        let what = "a bare CR inside a line".to_string();
        return Err(Malformed { at: pos + cr, what });
    }
    Ok(Some((line, pos + lf + 1)))
}

/// `fields` is where the kept fields go: empty, its space reused.
fn parse_head<'a>(
    buf: &'a [u8],
    pos: usize,
    mut fields: Vec<(Kept, &'a [u8])>,
) -> Parsed<Head<'a>> {
    let (status, mut next) = match quick_status_line(buf, pos) {
        Some(parsed) => parsed,
        None => {
            let Some((first, next)) = line(buf, pos)? else {
                return Ok(None);
            };
            let status = status_line(first).map_err(|what| Malformed { at: pos, what })?;
            (status, next)
        }
    };
    loop {
        if buf.get(next..next + 2) == Some(&b"\r\n"[..]) {
            let end = next + 2;
            return Ok(Some(Head {
                status,
                fields,
                end,
            }));
        }
        let (kept, after) = match quick_field_line(buf, next) {
            Some((name, value, after)) => (Kept::of(name).map(|k| (k, value.trim_ascii())), after),
            None => {
                // Not empty: an empty line (CRLF) ended the head above.
                let Some((field_line, after)) = line(buf, next)? else {
                    return Ok(None);
                };
                let kept = field(field_line).map_err(|what| Malformed { at: next, what })?;
                (kept, after)
            }
        };
        fields.extend(kept);
        next = after;
    }
}

/// The fast path for a well-formed status line at `pos`: the status and where the next line
/// starts, in one pass. `None` for anything else, including a line not yet whole; the strict
/// path ([`line`], [`status_line`]) then judges it, so both agree on every input.
fn quick_status_line(buf: &[u8], pos: usize) -> Option<(u16, usize)> {
    let rest = buf.get(pos..)?;
    let after_version = rest
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| rest.strip_prefix(b"HTTP/1.0 "))?;
    let status = match after_version {
        [a @ b'1'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9', b' ', ..] => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return None,
    };
    let reason_at = pos + 9 + 4;
    let end = reason_at + text_run(&buf[reason_at..]);
    (buf.get(end..end + 2)? == b"\r\n").then_some((status, end + 2))
}

/// The fast path for a well-formed field line at `pos` (a token, a colon, text, CRLF): its
/// name, its value untrimmed and where the next line starts. `None` for anything else, which
/// the strict path ([`line`], [`field`]) judges; a line it accepts, the strict path accepts
/// with the same name and value.
fn quick_field_line(buf: &[u8], pos: usize) -> Option<(&[u8], &[u8], usize)> {
    let rest = buf.get(pos..)?;
    let colon = rest.iter().position(|&b| !TCHAR[usize::from(b)])?;
    if colon == 0 || rest[colon] != b':' {
        return None;
    }
    let value_at = colon + 1;
    let end = value_at + text_run(&rest[value_at..]);
    (rest.get(end..end + 2)? == b"\r\n").then_some((
        &rest[..colon],
        &rest[value_at..end],
        pos + end + 2,
    ))
}

/// How many bytes at the start of `bytes` are [`is_text`].
fn text_run(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&b| !TEXT[usize::from(b)])
        .unwrap_or(bytes.len())
}

/// `HTTP/1.1 200 OK` (RFC 9112 §4): version, SP, three digits (100 to 599), SP, a reason of
/// visible characters, spaces and tabs (possibly empty).
fn status_line(line: &[u8]) -> Result<u16, String> {
    let bad = |why: &str| format!("bad status line {} ({why})", escape(line));
    let rest = line
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| line.strip_prefix(b"HTTP/1.0 "))
        .ok_or_else(|| bad("not HTTP/1.1 or HTTP/1.0 then a space"))?;
    let code = match rest {
        [a @ b'1'..=b'5', b, c, ..] if b.is_ascii_digit() && c.is_ascii_digit() => [a, b, c]
            .iter()
            .fold(0u16, |n, &&d| n * 10 + u16::from(d - b'0')),
        _ => return Err(bad("no status code from 100 to 599")),
    };
    match &rest[3..] {
        [b' ', reason @ ..] if reason.iter().all(|&b| is_text(b)) => Ok(code),
        [b' ', ..] => Err(bad("a control character in the reason")),
        _ => Err(bad("no space after the status code")),
    }
}

/// HTAB, SP, visible ASCII and obs-text: what a reason phrase or field value may hold.
const fn is_text(b: u8) -> bool {
    matches!(b, b'\t' | b' '..=b'~' | 0x80..=0xff)
}

/// [`is_text`] as a table: every byte of every field value of every response is checked.
const TEXT: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_text(b as u8);
        b += 1;
    }
    table
};

/// `name: value` (RFC 9112 §5): a token, a colon at once, the value with optional whitespace.
/// `Ok(None)` for a valid field the checks do not read.
fn field(line: &[u8]) -> Result<Option<(Kept, &[u8])>, String> {
    if line.starts_with(b" ") || line.starts_with(b"\t") {
        return Err("obsolete line folding (a field line starts with whitespace)".into());
    }
    let Some(colon) = memchr::memchr(b':', line) else {
        return Err(format!("a field line without a colon: {}", escape(line)));
    };
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if !is_token(name) {
        return Err(format!("an invalid field name {}", escape(name)));
    }
    if !value.iter().all(|&b| TEXT[usize::from(b)]) {
        return Err(format!("a control character in field {}", escape(name)));
    }
    Ok(Kept::of(name).map(|kept| (kept, value.trim_ascii())))
}

/// The comma-separated elements of every field named `name`, trimmed, empty ones skipped.
fn list<'a>(fields: &'a [(Kept, &'a [u8])], name: Kept) -> impl Iterator<Item = &'a [u8]> {
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    fields
        .iter()
        .filter(move |(n, _)| *n == name)
        .flat_map(|(_, v)| v.split(|&b| b == b','))
        .map(move |t| {
            let start = t.iter().position(|b| !blank(b)).unwrap_or(t.len());
            let end = t.iter().rposition(|b| !blank(b)).map_or(start, |i| i + 1);
            &t[start..end]
        })
        .filter(|t| !t.is_empty())
}

/// RFC 9112 §6.3, the response cases but `HEAD`'s, in order; and what RFC 9110 §8.6 and RFC
/// 9112 §6.1 forbid a server to send: framing fields in 1xx and 204 responses, or both
/// framing fields at once.
fn framing(head: &Head<'_>) -> Result<Framing, String> {
    let status = head.status;
    let count = |name: Kept| head.fields.iter().filter(|(n, _)| *n == name).count();
    let (codings, lengths) = (count(Kept::TransferEncoding), count(Kept::ContentLength));
    if (status < 200 || status == 204) && codings + lengths > 0 {
        return Err(format!("a framing field in a {status} response"));
    }
    if codings > 0 && lengths > 0 {
        return Err("both Transfer-Encoding and Content-Length".into());
    }
    let length = match lengths {
        0 => None,
        1 => Some(content_length(head)?),
        _ => return Err(format!("{lengths} Content-Length fields")),
    };
    if status < 200 || status == 204 || status == 304 {
        return Ok(Framing::Length(0));
    }
    if codings > 0 {
        let last = list(&head.fields, Kept::TransferEncoding).last();
        let chunked = last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"));
        return Ok(if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        });
    }
    Ok(length.map_or(Framing::UntilClose, Framing::Length))
}

/// The one `Content-Length` value: digits only, no list, no overflow.
fn content_length(head: &Head<'_>) -> Result<u64, String> {
    let value = head
        .fields
        .iter()
        .find(|(n, _)| *n == Kept::ContentLength)
        .map_or(&b""[..], |(_, v)| v);
    let digits = !value.is_empty() && value.iter().all(u8::is_ascii_digit);
    let n = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
    n.filter(|_| digits).ok_or_else(|| {
        let value = String::from_utf8_lossy(value);
        format!("an invalid Content-Length {value:?}")
    })
}

/// A chunked body (RFC 9112 §7.1), strictly: hex size (extensions allowed), CRLF, data, CRLF,
/// ..., the last chunk `0`, trailer fields, CRLF. Returns the data and where the body ends.
fn parse_chunked(buf: &[u8], at: usize) -> Result<(Vec<u8>, Option<usize>), Malformed> {
    let mut body = Vec::new();
    let mut pos = at;
    loop {
        let Some((size_line, next)) = line(buf, pos)? else {
            return Ok((body, None));
        };
        let size = chunk_size(size_line).ok_or_else(|| Malformed {
            at: pos,
            what: format!("an invalid chunk-size line {}", escape(size_line)),
        })?;
        if size == 0 {
            return Ok((body, trailers(buf, next)?));
        }
        let data_end = usize::try_from(size).ok().and_then(|n| next.checked_add(n));
        let Some(data_end) = data_end.filter(|&end| end <= buf.len()) else {
            body.extend_from_slice(&buf[next..]);
            return Ok((body, None));
        };
        body.extend_from_slice(&buf[next..data_end]);
        match &buf[data_end..] {
            [b'\r', b'\n', ..] => pos = data_end + 2,
            [] | [b'\r'] => return Ok((body, None)),
            _ => {
                let what = "chunk data not followed by CRLF".to_string();
                return Err(Malformed { at: data_end, what });
            }
        }
    }
}

/// `1*HEXDIG *( BWS ";" ext )`: the size, checked for overflow.
fn chunk_size(size_line: &[u8]) -> Option<u64> {
    let digits = size_line
        .iter()
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    let rest = size_line[digits..].trim_ascii_start();
    let extensions_ok = rest.is_empty() || (rest[0] == b';' && rest.iter().all(|&b| is_text(b)));
    if digits == 0 || !extensions_ok {
        return None;
    }
    let hex = std::str::from_utf8(&size_line[..digits]).ok()?;
    u64::from_str_radix(hex, 16).ok()
}

/// The trailer section at `pos`: field lines, then an empty line. Where it ends, if it did.
fn trailers(buf: &[u8], mut pos: usize) -> Parsed<usize> {
    loop {
        let Some((trailer, next)) = line(buf, pos)? else {
            return Ok(None);
        };
        if trailer.is_empty() {
            return Ok(Some(next));
        }
        field(trailer).map_err(|what| Malformed { at: pos, what })?;
        pos = next;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A head's status, kept fields and end.
    type HeadParts<'a> = (u16, Vec<(Kept, &'a [u8])>, usize);

    /// A head read the strict way only, every line through [`line`], [`status_line`] and
    /// [`field`] (the parser before its fast paths).
    fn strict_head(buf: &[u8]) -> Parsed<HeadParts<'_>> {
        let Some((first, mut next)) = line(buf, 0)? else {
            return Ok(None);
        };
        let status = status_line(first).map_err(|what| Malformed { at: 0, what })?;
        let mut fields = Vec::new();
        loop {
            let Some((field_line, after)) = line(buf, next)? else {
                return Ok(None);
            };
            if field_line.is_empty() {
                return Ok(Some((status, fields, after)));
            }
            fields.extend(field(field_line).map_err(|what| Malformed { at: next, what })?);
            next = after;
        }
    }

    /// Pieces of heads, well-formed and not: the fast paths must bail out on every flaw.
    const PIECES: [&[u8]; 24] = [
        b"HTTP/1.1 ",
        b"HTTP/1.0 ",
        b"HTTP/2 ",
        b"200",
        b"99",
        b"600",
        b" ",
        b"OK",
        b"\r\n",
        b"\r",
        b"\n",
        b"Content-Length",
        b"connection",
        b":",
        b" 12 ",
        b"close",
        b"\0",
        b"\t",
        b"x",
        b"\xc3\xa9",
        b"\x7f",
        b"Transfer-Encoding: chunked",
        b"\r\n\r\n",
        b"a b",
    ];

    proptest! {
        #[test]
        fn the_fast_paths_agree_with_the_strict_parser(
            status_first in any::<bool>(),
            pieces in prop::collection::vec(prop::sample::select(&PIECES[..]), 0..24),
        ) {
            let mut buf = if status_first { b"HTTP/1.1 200 OK\r\n".to_vec() } else { Vec::new() };
            buf.extend(pieces.concat());
            let fast =
                parse_head(&buf, 0, Vec::new()).map(|h| h.map(|h| (h.status, h.fields, h.end)));
            prop_assert_eq!(fast, strict_head(&buf));
        }
    }

    /// Whole responses and flawed ones, some heads the same but for their framing or a byte
    /// (a head compared with the last one must be read exactly as a parsed one).
    const RESPONSES: [&[u8]; 15] = [
        b"HTTP/1.1 200 OK\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\nContent-Length: 2\r\n\r\nhi",
        b"HTTP/1.1 200 OK\r\nDate: Tue, 14 Nov 2023 22:13:21 GMT\r\nContent-Length: 2\r\n\r\nhi",
        b"HTTP/1.1 200 OK\r\ndate:  one \r\nDATE: two\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhi!",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\nhi",
        b"HTTP/1.0 200 OK\r\n\r\nto the end",
    ];

    proptest! {
        /// Comparing a head with the last one reads every stream as parsing every head does:
        /// the same responses, errors, offsets and ends, whichever requests were `HEAD`.
        #[test]
        fn a_head_compared_with_the_last_reads_as_a_parsed_one(
            picks in prop::collection::vec(0..RESPONSES.len(), 0..12),
            heads in prop::collection::vec(any::<bool>(), 0..12),
            cut in any::<prop::sample::Index>(),
            eof in any::<bool>(),
        ) {
            let stream: Vec<u8> = picks.iter().flat_map(|&i| RESPONSES[i].to_vec()).collect();
            let stream = &stream[..cut.index(stream.len() + 1)];
            prop_assert_eq!(
                parse_responses_with(stream, &heads, eof, Memo::Compare),
                parse_responses_with(stream, &heads, eof, Memo::Off)
            );
        }
    }

    proptest! {
        /// The table-driven run stops where the definition does.
        #[test]
        fn the_text_run_stops_at_the_first_byte_that_is_not_text(
            bytes in prop::collection::vec(
                prop_oneof![
                    6 => prop::sample::select(b"aZ ~!:/".to_vec()),
                    1 => any::<u8>(),
                ],
                0..40,
            )
        ) {
            let defined = bytes.iter().position(|&b| !is_text(b)).unwrap_or(bytes.len());
            prop_assert_eq!(text_run(&bytes), defined);
        }
    }

    /// A response's `Date` is its first one, trimmed, read from its own bytes: a head equal
    /// to the one before (whose reading is reused) gives the slice of the later response.
    #[test]
    fn the_date_is_the_first_one_of_each_response() {
        let stream = [RESPONSES[0], RESPONSES[0], RESPONSES[2], RESPONSES[1]].concat();
        let responses = parse_responses(&stream, &[], true);
        let dates: Vec<Option<&[u8]>> = responses.list.iter().map(|r| r.date).collect();
        let expected: [Option<&[u8]>; 4] = [
            Some(b"Tue, 14 Nov 2023 22:13:20 GMT"),
            Some(b"Tue, 14 Nov 2023 22:13:20 GMT"),
            Some(b"one"),
            Some(b"Tue, 14 Nov 2023 22:13:21 GMT"),
        ];
        assert_eq!(dates, expected);
        let second = responses.list[1].date.expect("a date");
        let second_at = second.as_ptr() as usize - stream.as_ptr() as usize;
        assert_eq!(
            second_at,
            RESPONSES[0].len() + 23,
            "read from the second response"
        );
        let undated = parse_responses(RESPONSES[3], &[], true);
        assert_eq!(undated.list[0].date, None);
    }

    #[test]
    fn the_kept_names_are_known_in_any_case_and_only_they() {
        assert_eq!(Kept::of(b"Connection"), Some(Kept::Connection));
        assert_eq!(Kept::of(b"CONTENT-length"), Some(Kept::ContentLength));
        assert_eq!(Kept::of(b"transfer-Encoding"), Some(Kept::TransferEncoding));
        assert_eq!(Kept::of(b"DATE"), Some(Kept::Date));
        for other in [
            &b"Connectiom"[..],
            b"Content-Lengths",
            b"Content-Type",
            b"te",
            b"Dates",
            b"",
        ] {
            assert_eq!(Kept::of(other), None, "{}", escape(other));
        }
    }

    #[test]
    fn the_text_table_holds_htab_sp_visible_ascii_and_obs_text() {
        let text: Vec<u8> = (0..=255u8).filter(|&b| TEXT[usize::from(b)]).collect();
        let expected: Vec<u8> = std::iter::once(b'\t')
            .chain(b' '..=b'~')
            .chain(0x80..=0xff)
            .collect();
        assert_eq!(text, expected);
    }

    /// Status and body of each response, for streams that must parse whole.
    fn parse_ok(received: &[u8], heads: &[bool]) -> Vec<(u16, Vec<u8>)> {
        let out = parse_responses(received, heads, true);
        assert_eq!(
            (&out.malformed, out.truncated_at, out.after_close),
            (&None, None, None)
        );
        assert!(out.list.iter().all(|r| r.complete));
        out.list
            .into_iter()
            .map(|r| (r.status, r.body.into_owned()))
            .collect()
    }

    fn malformed(received: &[u8]) -> Malformed {
        let out = parse_responses(received, &[], true);
        out.malformed.expect("the stream is malformed")
    }

    #[test]
    fn content_length() {
        let got = parse_ok(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", &[]);
        assert_eq!(got, [(200, b"hello".to_vec())]);
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let stream = b"HTTP/1.1 200 OK\r\ntransfer-encoding:  chunked \r\n\r\n\
            5;name=value\r\nhello\r\nA\r\n0123456789\r\n0\r\nDigest: x\r\nMore: y\r\n\r\n";
        let got = parse_ok(stream, &[]);
        assert_eq!(got, [(200, b"hello0123456789".to_vec())]);
    }

    #[test]
    fn bodiless_responses() {
        let stream = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n\
            HTTP/1.1 204 No Content\r\n\r\n\
            HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        let got = parse_ok(stream, &[true, false, false, false]);
        let statuses: Vec<u16> = got.iter().map(|(s, _)| *s).collect();
        assert_eq!(statuses, [200, 204, 304, 200]);
        assert_eq!(got[3].1, b"ok");
        assert!(got[..3].iter().all(|(_, body)| body.is_empty()));
    }

    #[test]
    fn interim_then_final() {
        let stream = b"HTTP/1.1 100 Continue\r\n\r\n\
            HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
        // The interim responses do not take the HEAD's turn: the first 200 answers it.
        let got = parse_ok(stream, &[true, false]);
        let want = [
            (100, vec![]),
            (103, vec![]),
            (200, vec![]),
            (200, b"x".to_vec()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn close_delimited() {
        let stream = b"HTTP/1.0 200 OK\r\nServer: s\r\n\r\nall of it\r\n\r\n";
        assert_eq!(
            parse_ok(stream, &[]),
            [(200, b"all of it\r\n\r\n".to_vec())]
        );
        // Without the FIN it is not known to be whole.
        let out = parse_responses(stream, &[], false);
        assert_eq!(out.truncated_at, Some(0));
        assert!(!out.list[0].complete);
    }

    #[test]
    fn pipelined() {
        let stream = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na\
            HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n\
            HTTP/1.1 200 \r\nContent-Length: 1\r\nConnection: close\r\n\r\nc";
        let got = parse_ok(stream, &[]);
        let bodies: Vec<&[u8]> = got.iter().map(|(_, b)| b.as_slice()).collect();
        assert_eq!(bodies, [b"a", b"b", b"c"]);
    }

    #[test]
    fn bad_status_lines() {
        for line in [
            &b"HTTP/1.1 200OK\r\n\r\n"[..],
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/2 200 OK\r\n\r\n",
            b"http/1.1 200 OK\r\n\r\n",
            b"HTTP/1.1 600 Nope\r\n\r\n",
            b"HTTP/1.1 200 O\x01K\r\n\r\n",
        ] {
            let out = parse_responses(line, &[], true);
            let m = out.malformed.expect("malformed");
            assert_eq!(m.at, 0, "{line:?}");
            assert!(m.what.starts_with("bad status line"), "{}", m.what);
        }
        let first = b"HTTP/1.1 204 No Content\r\n\r\n";
        let m = malformed(&[&first[..], b"HTTP/1.1 200 OK\n\n"].concat());
        assert_eq!((m.at, m.what.contains("bare LF")), (first.len() + 15, true));
    }

    #[test]
    fn bad_fields() {
        let m = malformed(b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n");
        assert_eq!(m.at, 17);
        let m = malformed(b"HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n");
        assert!(m.what.contains("folding"), "{}", m.what);
        let m = malformed(b"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx");
        assert!(m.what.contains("Content-Length"), "{}", m.what);
        let m = malformed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx");
        assert!(m.what.contains("2 Content-Length"), "{}", m.what);
        let m = malformed(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n");
        assert!(m.what.contains("204"), "{}", m.what);
        let both = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(malformed(both).what.contains("both"));
    }

    #[test]
    fn bad_chunks() {
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let at = head.len();
        for (chunks, offset, what) in [
            (&b"x\r\n"[..], 0, "chunk-size"),
            (b"-1\r\n", 0, "chunk-size"),
            (b"11111111111111111\r\n", 0, "chunk-size"),
            (b"2\r\nabc\r\n", 5, "not followed by CRLF"),
            (b"1\r\na\r\n0\r\nno colon\r\n\r\n", 9, "without a colon"),
        ] {
            let m = malformed(&[head.clone(), chunks.to_vec()].concat());
            assert_eq!(m.at, at + offset, "{chunks:?}: {}", m.what);
            assert!(m.what.contains(what), "{chunks:?}: {}", m.what);
        }
    }

    #[test]
    fn truncated() {
        let stream = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello";
        let out = parse_responses(stream, &[], true);
        assert_eq!((out.truncated_at, out.malformed), (Some(0), None));
        assert_eq!(out.list[0].body[..], *b"hello");
        let out = parse_responses(b"HTTP/1.1 200 OK\r\nContent-Le", &[], true);
        assert_eq!((out.truncated_at, out.list.len()), (Some(0), 0));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab";
        let out = parse_responses(chunked, &[], true);
        assert_eq!(out.truncated_at, Some(0));
    }

    #[test]
    fn bytes_after_connection_close() {
        let stream = b"HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\n\
            HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\nX";
        let out = parse_responses(stream, &[], true);
        assert_eq!(out.after_close, Some(stream.len() - 1));
        assert_eq!(out.list.len(), 2);
    }
}
