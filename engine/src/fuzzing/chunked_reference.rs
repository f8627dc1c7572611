//! A reference chunked decoder, written from the grammar of RFC 9112 §7.1 for plainness, not
//! speed: it reads a whole input front to back, one byte at a time, and says where the body
//! ends, or that more bytes are needed, or where and why twine's decoder must refuse.
//!
//! ```text
//! chunked-body   = *chunk last-chunk trailer-section CRLF
//! chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size     = 1*HEXDIG
//! last-chunk     = 1*("0") [ chunk-ext ] CRLF
//! chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! chunk-ext-val  = token / quoted-string
//! trailer-section = *( field-line CRLF ),  field-line = field-name ":" OWS field-value OWS
//! ```
//!
//! twine's decoder (`h1/body_decoder.rs`) differs from the RFC in documented ways, and each is
//! encoded here by name, so that a disagreement is either one of them or a bug:
//! - Stricter, so the reference refuses too, naming the rule: the limits
//!   (`chunk_line_bytes_max`, `trailer_bytes_max`, `body_bytes_max`); a size that overflows
//!   `u64`; whitespace after the size (BWS before `;`: "no whitespace" in a size line); a bare
//!   LF in the trailers.
//! - More lenient, so the reference accepts too, noting it in `leniencies`: the syntax of a
//!   trailer field line (it needs a colon and no NUL, bare CR or bare LF; names and values are
//!   not checked); a size line ending after a `;` with no name (Twisted's `a;`) or in trailing
//!   BWS.
//! - Otherwise chunk extensions are not a difference: twine checks their syntax as the RFC
//!   writes it (quoted-pairs included), so the reference refuses every other extension the
//!   grammar does not produce, and a line that ends after `=` or inside a quoted-string.
//! - Refusals come as soon as the offending byte arrives, and a limit is refused as soon as the
//!   bytes so far cannot end within it, as the decoder documents; the kind is the one of the
//!   part the byte is in (size, extension, chunk end, trailers).

use crate::config::Limits;
use crate::error::ProtocolErrorKind as Kind;
use crate::message::is_token;

/// How a whole input ends, by the reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The body is complete: it is `input[..consumed]`.
    End { consumed: usize },
    /// Every byte is consistent with a body that has not ended yet.
    Incomplete,
    /// twine's decoder must refuse, with this kind; `why` names the rule.
    Refuse { kind: Kind, why: &'static str },
}

/// What the reference makes of an input.
#[derive(Debug)]
pub(super) struct Reference {
    /// The chunk data before the verdict.
    pub(super) body: Vec<u8>,
    pub(super) verdict: Verdict,
    /// RFC violations twine accepts by design (for the failure message).
    pub(super) leniencies: Vec<&'static str>,
}

/// `Err` ends the reading: `Incomplete` or `Refuse`.
type Read<T> = Result<T, Verdict>;

fn refuse<T>(kind: Kind, why: &'static str) -> Read<T> {
    Err(Verdict::Refuse { kind, why })
}

/// Decodes `input` as a chunked body under `limits`.
pub(super) fn decode(input: &[u8], limits: &Limits) -> Reference {
    let mut reference = Reference {
        body: Vec::new(),
        verdict: Verdict::Incomplete,
        leniencies: Vec::new(),
    };
    reference.verdict = match reference.chunked_body(input, limits) {
        Ok(consumed) => Verdict::End { consumed },
        Err(verdict) => verdict,
    };
    reference
}

impl Reference {
    fn lenient(&mut self, what: &'static str) {
        if !self.leniencies.contains(&what) {
            self.leniencies.push(what);
        }
    }

    fn chunked_body(&mut self, input: &[u8], limits: &Limits) -> Read<usize> {
        let mut pos = 0;
        let mut announced = 0_u64;
        loop {
            let (size, line_len) = self.size_line(&input[pos..], limits)?;
            pos += line_len;
            // body_bytes_max counts the sizes announced, once each size line is complete.
            let total = announced.checked_add(size);
            if let Some(max) = limits.body_bytes_max {
                if total.is_none_or(|total| total > max) {
                    return refuse(
                        Kind::BodyTooLarge,
                        "chunk sizes over body_bytes_max (limit)",
                    );
                }
            }
            announced = total.unwrap_or(u64::MAX);
            if size == 0 {
                return self.trailer_section(input, pos, limits);
            }
            let available = input.len() - pos;
            let data_len = usize::try_from(size).unwrap_or(usize::MAX).min(available);
            self.body.extend_from_slice(&input[pos..pos + data_len]);
            pos += data_len;
            if (data_len as u64) < size {
                return Err(Verdict::Incomplete);
            }
            for expected in [b'\r', b'\n'] {
                match input.get(pos) {
                    None => return Err(Verdict::Incomplete),
                    Some(&byte) if byte == expected => pos += 1,
                    Some(_) => return refuse(Kind::InvalidChunkEnd, "chunk-data CRLF (§7.1)"),
                }
            }
        }
    }

    /// A chunk-size line at the start of `line`: the size and the line's length with its CRLF.
    fn size_line(&mut self, line: &[u8], limits: &Limits) -> Read<(u64, usize)> {
        let (mut size, mut digits) = (0_u64, 0_usize);
        // `None` while in the size; then where the extension's syntax is.
        let mut extension: Option<Extension> = None;
        let mut i = 0;
        loop {
            let Some(&byte) = line.get(i) else {
                return Err(Verdict::Incomplete);
            };
            if byte == b'\r' {
                match line.get(i + 1) {
                    None => return Err(Verdict::Incomplete),
                    Some(b'\n') => break,
                    // A bare CR is content, refused below as a byte of its part.
                    Some(_) => {}
                }
            }
            // The limit before the content: a byte past it is refused whatever it is.
            if i >= limits.chunk_line_bytes_max {
                return refuse(
                    Kind::InvalidChunkSize,
                    "line over chunk_line_bytes_max (limit)",
                );
            }
            match &mut extension {
                None => match (byte, char::from(byte).to_digit(16)) {
                    (_, Some(digit)) => {
                        let next = size
                            .checked_mul(16)
                            .and_then(|s| s.checked_add(digit.into()));
                        let Some(next) = next else {
                            return refuse(Kind::InvalidChunkSize, "size over u64 (by design)");
                        };
                        size = next;
                        digits += 1;
                    }
                    (b';', None) if digits > 0 => extension = Some(Extension::BeforeName),
                    (b' ' | b'\t', None) if digits > 0 => {
                        return refuse(
                            Kind::InvalidChunkSize,
                            "whitespace after a size (by design)",
                        );
                    }
                    _ => return refuse(Kind::InvalidChunkSize, "chunk-size = 1*HEXDIG (§7.1)"),
                },
                Some(syntax) => {
                    if !(byte == b'\t' || (byte >= b' ' && byte != 0x7f)) {
                        return refuse(Kind::InvalidChunkExtension, "chunk-ext bytes (§7.1.1)");
                    }
                    *syntax = syntax.step(byte);
                    if *syntax == Extension::Invalid {
                        return refuse(Kind::InvalidChunkExtension, "chunk-ext syntax (§7.1.1)");
                    }
                }
            }
            i += 1;
        }
        if digits == 0 {
            return refuse(Kind::InvalidChunkSize, "chunk-size = 1*HEXDIG (§7.1)");
        }
        if extension.is_some_and(|syntax| !syntax.may_end()) {
            return refuse(
                Kind::InvalidChunkExtension,
                "line ends inside a chunk-ext (§7.1.1)",
            );
        }
        if extension.is_some_and(Extension::lenient_end) {
            self.lenient("chunk-ext: an empty `;` or trailing BWS (as Twisted)");
        }
        Ok((size, i + 2))
    }

    /// The trailer section and the final CRLF, from `pos`: where the body ends.
    fn trailer_section(&mut self, input: &[u8], mut pos: usize, limits: &Limits) -> Read<usize> {
        let max = limits.trailer_bytes_max;
        // Trailer bytes so far, line endings included; the section must fit in `max`.
        let mut bytes = 0_usize;
        loop {
            // At a line's start the final empty line must still fit.
            if bytes + 2 > max {
                return refuse(
                    Kind::InvalidTrailers,
                    "trailers over trailer_bytes_max (limit)",
                );
            }
            if input.get(pos) == Some(&b'\r') {
                return match input.get(pos + 1) {
                    None => Err(Verdict::Incomplete),
                    Some(b'\n') => Ok(pos + 2),
                    Some(_) => refuse(Kind::InvalidTrailers, "bare CR (§2.2)"),
                };
            }
            let start = pos;
            loop {
                match input.get(pos) {
                    None => return Err(Verdict::Incomplete),
                    Some(b'\r') => match input.get(pos + 1) {
                        None => return Err(Verdict::Incomplete),
                        Some(b'\n') => break,
                        Some(_) => return refuse(Kind::InvalidTrailers, "bare CR (§2.2)"),
                    },
                    Some(b'\n') => return refuse(Kind::InvalidTrailers, "bare LF (by design)"),
                    Some(0) => return refuse(Kind::InvalidTrailers, "NUL (RFC 9110 §5.5)"),
                    Some(_) => {
                        bytes += 1;
                        // This line's CRLF and the final CRLF must still fit.
                        if bytes + 4 > max {
                            return refuse(Kind::InvalidTrailers, "trailers over the limit");
                        }
                    }
                }
                pos += 1;
            }
            let field_line = &input[start..pos];
            let Some(colon) = field_line.iter().position(|&b| b == b':') else {
                return refuse(Kind::InvalidTrailers, "field-line needs a colon (§5)");
            };
            let value_ok = field_line[colon + 1..]
                .iter()
                .all(|&b| b == b'\t' || (b >= b' ' && b != 0x7f));
            if !is_token(&field_line[..colon]) || !value_ok {
                self.lenient("trailer field syntax (checked lightly)");
            }
            bytes += 2;
            pos += 2;
        }
    }
}

/// Where a chunk extension's syntax is (RFC 9112 §7.1.1), after its first `;`:
///
/// ```text
/// quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
/// qdtext        = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
/// quoted-pair   = "\" ( HTAB / SP / VCHAR / obs-text )
/// ```
///
/// Control bytes never reach it (the caller refuses them first), so a state that takes "any
/// other byte" takes only HTAB, SP, VCHAR and obs-text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Extension {
    /// After `;`, in BWS.
    BeforeName,
    Name,
    /// BWS after a name: `=` or `;` must follow.
    AfterName,
    /// After `=`, in BWS.
    BeforeValue,
    Token,
    Quoted,
    /// After the backslash of a quoted-pair, inside a quoted-string.
    QuotedPair,
    /// After a closing DQUOTE.
    Closed,
    /// BWS after a value: `;` must follow.
    AfterValue,
    /// Not an extension by the RFC's grammar.
    Invalid,
}

impl Extension {
    fn step(self, byte: u8) -> Extension {
        let tchar = is_token(&[byte]);
        let ws = matches!(byte, b' ' | b'\t');
        match self {
            Extension::BeforeName if ws => Extension::BeforeName,
            Extension::BeforeName if tchar => Extension::Name,
            Extension::Name if tchar => Extension::Name,
            Extension::Name | Extension::AfterName if ws => Extension::AfterName,
            Extension::Name | Extension::AfterName if byte == b'=' => Extension::BeforeValue,
            Extension::BeforeValue if ws => Extension::BeforeValue,
            Extension::BeforeValue if tchar => Extension::Token,
            Extension::BeforeValue if byte == b'"' => Extension::Quoted,
            Extension::Token if tchar => Extension::Token,
            Extension::Quoted if byte == b'"' => Extension::Closed,
            Extension::Quoted if byte == b'\\' => Extension::QuotedPair,
            // qdtext: HTAB, SP, %x21, %x23-5B, %x5D-7E, obs-text (the caller refused the rest).
            Extension::Quoted => Extension::Quoted,
            // The escaped byte: HTAB, SP, VCHAR or obs-text, all that the caller lets through.
            Extension::QuotedPair => Extension::Quoted,
            Extension::Token | Extension::Closed | Extension::AfterValue if ws => {
                Extension::AfterValue
            }
            Extension::Name
            | Extension::AfterName
            | Extension::Token
            | Extension::Closed
            | Extension::AfterValue
                if byte == b';' =>
            {
                Extension::BeforeName
            }
            _ => Extension::Invalid,
        }
    }

    /// Whether the line may end here: right after a name or a value (§7.1.1), or at one of
    /// twine's documented leniencies ([`Extension::lenient_end`]).
    fn may_end(self) -> bool {
        matches!(self, Extension::Name | Extension::Token | Extension::Closed) || self.lenient_end()
    }

    /// twine accepts a line ending after a `;` with no name (Twisted's `a;`) or in trailing
    /// BWS; the grammar does not.
    fn lenient_end(self) -> bool {
        matches!(
            self,
            Extension::BeforeName | Extension::AfterName | Extension::AfterValue
        )
    }
}
