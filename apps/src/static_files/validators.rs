//! Validators and the conditional requests that use them (RFC 9110 §8.8, §13).
//!
//! A file's `ETag` is *strong*: `"<length hex>-<modification nanoseconds hex>"`. Strong
//! because `If-Range` and `If-Match` compare strongly (§13.1.3, §13.1.5): a weak tag would make
//! every resumed download start over. The claim it makes, that two responses with the same
//! tag are byte-identical, rests on the modification time: a rewrite to the same length
//! within the file system's timestamp granularity would keep the tag (nginx and Apache accept
//! the same risk with coarser, one-second times). A file without a modification time gets
//! no validators at all, as a tag from the length alone would be a lie.
//!
//! `Last-Modified` is the modification time in whole seconds, the resolution of an
//! HTTP-date, so comparisons with `If-Modified-Since` are made in seconds too.
//!
//! Preconditions are evaluated in the order of §13.2.2, for `GET` and `HEAD` only.

use std::time::{SystemTime, UNIX_EPOCH};

use httpdate::HttpDate;
use twine_engine::Headers;

/// The validators of one version of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Validators {
    /// The strong entity tag, quotes included.
    pub(crate) etag: String,
    pub(crate) last_modified: HttpDate,
}

impl Validators {
    /// The validators of a file of `len` bytes last modified at `modified`, if it has a time
    /// after the Unix epoch.
    pub(crate) fn of(len: u64, modified: Option<SystemTime>) -> Option<Validators> {
        let modified = modified?;
        let nanos = modified.duration_since(UNIX_EPOCH).ok()?.as_nanos();
        Some(Validators {
            etag: format!("\"{len:x}-{nanos:x}\""),
            last_modified: HttpDate::from(modified),
        })
    }
}

/// What the preconditions decide (RFC 9110 §13.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Precondition {
    /// Serve the file (or its range).
    Pass,
    /// `304 Not Modified`: the client's copy is current.
    NotModified,
    /// `412 Precondition Failed`: `If-Match` or `If-Unmodified-Since` did not hold.
    Failed,
}

/// Evaluates `If-Match`, `If-Unmodified-Since`, `If-None-Match` and `If-Modified-Since`, in
/// that order, for a `GET` or `HEAD` of an existing file.
pub(crate) fn evaluate(headers: &Headers, validators: Option<&Validators>) -> Precondition {
    let etag = validators.map(|v| v.etag.as_bytes());
    let last_modified = validators.map(|v| v.last_modified);
    // Step 1 and 2: the resource exists, so `*` matches; a tag list compares strongly.
    if headers.contains("if-match") {
        if !tag_list_matches(headers, "if-match", etag, Comparison::Strong) {
            return Precondition::Failed;
        }
    } else if let (Some(date), Some(modified)) =
        (header_date(headers, "if-unmodified-since"), last_modified)
    {
        if modified > date {
            return Precondition::Failed;
        }
    }
    // Step 3 and 4: `If-Modified-Since` counts only without `If-None-Match` (§13.1.3).
    if headers.contains("if-none-match") {
        if tag_list_matches(headers, "if-none-match", etag, Comparison::Weak) {
            return Precondition::NotModified;
        }
    } else if let (Some(date), Some(modified)) =
        (header_date(headers, "if-modified-since"), last_modified)
    {
        if modified <= date {
            return Precondition::NotModified;
        }
    }
    Precondition::Pass
}

/// Whether a `Range` may be honoured given `If-Range` (RFC 9110 §13.1.5): yes without it;
/// with an entity tag, if it matches ours strongly; with a date, if it is our
/// `Last-Modified` exactly. Anything else (an unparseable value, no validators) means the
/// client's copy cannot be trusted, and the whole file is sent.
pub(crate) fn range_allowed(headers: &Headers, validators: Option<&Validators>) -> bool {
    let Some(value) = headers.get("if-range") else {
        return true;
    };
    let Some(validators) = validators else {
        return false;
    };
    let value = trim(value);
    if value.starts_with(b"\"") || value.starts_with(b"W/") {
        return match parse_tag_list(value) {
            Some(TagList::Tags(tags)) if tags.len() == 1 => {
                tags[0].matches(validators.etag.as_bytes(), Comparison::Strong)
            }
            Some(TagList::Tags(_) | TagList::Any) | None => false,
        };
    }
    parse_date(value) == Some(validators.last_modified)
}

/// How two entity tags are compared (RFC 9110 §8.8.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comparison {
    /// Both strong and the same opaque tag.
    Strong,
    /// The same opaque tag, weakness ignored.
    Weak,
}

/// One entity tag of a request's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EntityTag<'a> {
    weak: bool,
    /// The opaque tag, quotes included.
    opaque: &'a [u8],
}

impl EntityTag<'_> {
    /// Compares with our tag, which is always strong.
    fn matches(&self, ours: &[u8], comparison: Comparison) -> bool {
        let weakness_allowed = match comparison {
            Comparison::Strong => !self.weak,
            Comparison::Weak => true,
        };
        weakness_allowed && self.opaque == ours
    }
}

/// A parsed `If-Match` / `If-None-Match` / `If-Range` value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum TagList<'a> {
    Any,
    Tags(Vec<EntityTag<'a>>),
}

/// Whether any line of `name` matches our tag. A line that does not parse matches nothing:
/// for `If-None-Match` the whole file is sent, for `If-Match` the request fails, the safe
/// reading of both.
fn tag_list_matches(
    headers: &Headers,
    name: &str,
    ours: Option<&[u8]>,
    comparison: Comparison,
) -> bool {
    headers
        .get_all(name)
        .filter_map(|value| parse_tag_list(value))
        .any(|list| match list {
            TagList::Any => true,
            TagList::Tags(tags) => {
                ours.is_some_and(|ours| tags.iter().any(|tag| tag.matches(ours, comparison)))
            }
        })
}

/// `"*" / #entity-tag` (RFC 9110 §13.1.1), empty list elements allowed (§5.6.1.2).
fn parse_tag_list(value: &[u8]) -> Option<TagList<'_>> {
    let value = trim(value);
    if value == b"*" {
        return Some(TagList::Any);
    }
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = skip_separators(rest);
        if rest.is_empty() {
            break;
        }
        let (tag, after) = parse_entity_tag(rest)?;
        tags.push(tag);
        rest = trim_start(after);
        match rest.first() {
            None | Some(b',') => {}
            Some(_) => return None,
        }
    }
    if tags.is_empty() {
        None
    } else {
        Some(TagList::Tags(tags))
    }
}

/// `[ "W/" ] DQUOTE *etagc DQUOTE` at the start of `input`, and what follows it.
fn parse_entity_tag(input: &[u8]) -> Option<(EntityTag<'_>, &[u8])> {
    let (weak, quoted) = match input.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, input),
    };
    let inner = quoted.strip_prefix(b"\"")?;
    let close = inner.iter().position(|&b| b == b'"')?;
    // etagc = %x21 / %x23-7E / obs-text: no controls, no space.
    if !inner[..close]
        .iter()
        .all(|&b| b == 0x21 || b >= 0x23 && b != 0x7f)
    {
        return None;
    }
    let opaque = &quoted[..close + 2];
    Some((EntityTag { weak, opaque }, &quoted[close + 2..]))
}

/// The first line of a date header, if it is an HTTP-date in any of its three formats
/// (RFC 9110 §5.6.7); otherwise the header is ignored, as §13.1.3 and §13.1.4 say.
fn header_date(headers: &Headers, name: &str) -> Option<HttpDate> {
    parse_date(headers.get(name)?)
}

fn parse_date(value: &[u8]) -> Option<HttpDate> {
    std::str::from_utf8(trim(value)).ok()?.parse().ok()
}

fn skip_separators(input: &[u8]) -> &[u8] {
    let start = input
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t' | b','))
        .unwrap_or(input.len());
    &input[start..]
}

fn trim_start(input: &[u8]) -> &[u8] {
    let start = input
        .iter()
        .position(|&b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(input.len());
    &input[start..]
}

fn trim(input: &[u8]) -> &[u8] {
    let input = trim_start(input);
    let end = input
        .iter()
        .rposition(|&b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |last| last + 1);
    &input[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(weak: bool, opaque: &str) -> EntityTag<'_> {
        EntityTag {
            weak,
            opaque: opaque.as_bytes(),
        }
    }

    #[test]
    fn tag_lists_parse() {
        assert_eq!(parse_tag_list(b" * "), Some(TagList::Any));
        assert_eq!(
            parse_tag_list(b"\"a\", W/\"b\",,\"c,d\" "),
            Some(TagList::Tags(vec![
                tag(false, "\"a\""),
                tag(true, "\"b\""),
                tag(false, "\"c,d\""),
            ]))
        );
        for bad in [
            &b""[..],
            b"a",
            b"\"a",
            b"\"a\" b",
            b"w/\"a\"",
            b"\"a b\"",
            b"*, \"a\"",
        ] {
            assert_eq!(
                parse_tag_list(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn comparisons_follow_rfc_9110_table() {
        // RFC 9110 §8.8.3.2's example, read against our always-strong tag.
        let ours = b"\"1\"";
        assert!(!tag(true, "\"1\"").matches(ours, Comparison::Strong));
        assert!(tag(true, "\"1\"").matches(ours, Comparison::Weak));
        assert!(tag(false, "\"1\"").matches(ours, Comparison::Strong));
        assert!(!tag(false, "\"2\"").matches(ours, Comparison::Weak));
    }

    #[test]
    fn validators_need_a_modification_time() {
        let modified = UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 5);
        let validators = Validators::of(255, Some(modified)).unwrap();
        assert_eq!(validators.etag, "\"ff-17979cfe362a0005\"");
        assert_eq!(
            validators.last_modified.to_string(),
            "Tue, 14 Nov 2023 22:13:20 GMT"
        );
        assert_eq!(Validators::of(1, None), None);
    }

    #[test]
    fn dates_parse_in_all_three_formats() {
        let expected = parse_date(b"Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            parse_date(b"Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(expected)
        );
        assert_eq!(parse_date(b"Sun Nov  6 08:49:37 1994"), Some(expected));
        assert_eq!(parse_date(b"yesterday"), None);
    }
}
