//! The `Range` header (RFC 9110 §14.1.1, §14.2), for `bytes` only.
//!
//! One range is served as a 206; several are answered with the whole file (a server may
//! ignore `Range`, §14.2, and a `multipart/byteranges` body is not worth its cost here); a
//! value that does not parse, or another unit, is ignored as §14.2 requires.

/// What a request's `Range` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RangeRequest {
    /// No usable `Range`: absent, invalid, another unit, or several ranges.
    Whole,
    /// Exactly one range.
    One(RangeSpec),
}

/// One `range-spec`, before the file's length is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RangeSpec {
    /// `first-last` or `first-`. Numbers too large for `u64` saturate: they still mean "past
    /// the end".
    From { first: u64, last: Option<u64> },
    /// `-length`: the last `length` bytes.
    Suffix { length: u64 },
}

/// A satisfiable range of a file, both ends included.
/// Invariant: `first <= last < len` of the file it was resolved against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ByteRange {
    pub(crate) first: u64,
    pub(crate) last: u64,
}

impl ByteRange {
    /// The number of bytes in the range (never zero).
    pub(crate) fn len(self) -> u64 {
        self.last - self.first + 1
    }
}

impl RangeSpec {
    /// The bytes this spec selects in a file of `len` bytes, or `None` if it is
    /// unsatisfiable (§14.1.1: a first byte past the end, or a zero suffix).
    pub(crate) fn resolve(self, len: u64) -> Option<ByteRange> {
        let end = len.checked_sub(1)?;
        match self {
            RangeSpec::From { first, last } if first <= end => Some(ByteRange {
                first,
                last: last.unwrap_or(end).min(end),
            }),
            RangeSpec::From { .. } => None,
            RangeSpec::Suffix { length: 0 } => None,
            RangeSpec::Suffix { length } => Some(ByteRange {
                first: len.saturating_sub(length),
                last: end,
            }),
        }
    }
}

/// Parses a `Range` value: `bytes=` (the unit case-insensitive) then a list of range specs.
pub(crate) fn parse_range(value: &[u8]) -> RangeRequest {
    let value = value.trim_ascii();
    let Some((unit, set)) = value.split_at_checked(6) else {
        return RangeRequest::Whole;
    };
    if !unit.eq_ignore_ascii_case(b"bytes=") {
        return RangeRequest::Whole;
    }
    let mut specs = set
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        // Empty list elements are allowed and mean nothing (RFC 9110 §5.6.1.2).
        .filter(|element| !element.is_empty())
        .map(parse_spec);
    match (specs.next(), specs.next()) {
        (Some(Some(spec)), None) => RangeRequest::One(spec),
        // None, one invalid, or several (whose validity does not matter: all are ignored).
        (None | Some(None), _) | (Some(Some(_)), Some(_)) => RangeRequest::Whole,
    }
}

/// `first-pos "-" [ last-pos ]` or `"-" suffix-length`; `None` if invalid, including a
/// `last-pos` before `first-pos`.
fn parse_spec(spec: &[u8]) -> Option<RangeSpec> {
    let dash = spec.iter().position(|&b| b == b'-')?;
    let (first, last) = (&spec[..dash], &spec[dash + 1..]);
    if first.is_empty() {
        return Some(RangeSpec::Suffix {
            length: parse_digits(last)?,
        });
    }
    let first = parse_digits(first)?;
    let last = if last.is_empty() {
        None
    } else {
        Some(parse_digits(last)?)
    };
    if last.is_some_and(|last| last < first) {
        return None;
    }
    Some(RangeSpec::From { first, last })
}

/// `1*DIGIT`, saturating at `u64::MAX`.
fn parse_digits(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(value: &str) -> RangeSpec {
        match parse_range(value.as_bytes()) {
            RangeRequest::One(spec) => spec,
            RangeRequest::Whole => panic!("{value}: not one range"),
        }
    }

    #[test]
    fn the_three_forms_parse() {
        let from = |first, last| RangeSpec::From { first, last };
        assert_eq!(one("bytes=0-499"), from(0, Some(499)));
        assert_eq!(one("bytes=9500-"), from(9500, None));
        assert_eq!(one("bytes=-500"), RangeSpec::Suffix { length: 500 });
        assert_eq!(one(" Bytes=5-5 , "), from(5, Some(5)));
        assert_eq!(one("bytes=99999999999999999999999-"), from(u64::MAX, None));
    }

    #[test]
    fn invalid_or_several_ranges_mean_the_whole_file() {
        for value in [
            "",
            "bytes=",
            "bytes=,",
            "bytes 0-1",
            "items=0-1",
            "bytes=1-0",
            "bytes=a-b",
            "bytes=-",
            "bytes=--1",
            "bytes=0-1-2",
            "bytes=+1-2",
            "bytes=0-1,2-3",
            "bytes=0-1,x",
            "bytes=\u{e9}",
        ] {
            assert_eq!(
                parse_range(value.as_bytes()),
                RangeRequest::Whole,
                "{value:?}"
            );
        }
    }

    #[test]
    fn specs_resolve_against_the_length() {
        let range = |first, last| Some(ByteRange { first, last });
        let from = |first, last| RangeSpec::From { first, last };
        assert_eq!(from(0, Some(499)).resolve(10_000), range(0, 499));
        assert_eq!(from(0, Some(20_000)).resolve(10_000), range(0, 9_999));
        assert_eq!(from(9_500, None).resolve(10_000), range(9_500, 9_999));
        assert_eq!(from(10_000, None).resolve(10_000), None);
        assert_eq!(
            RangeSpec::Suffix { length: 500 }.resolve(10_000),
            range(9_500, 9_999)
        );
        assert_eq!(
            RangeSpec::Suffix { length: 20_000 }.resolve(10_000),
            range(0, 9_999)
        );
        assert_eq!(RangeSpec::Suffix { length: 0 }.resolve(10_000), None);
        assert_eq!(from(0, None).resolve(0), None);
        assert_eq!(range(3, 7).unwrap().len(), 5);
    }
}
