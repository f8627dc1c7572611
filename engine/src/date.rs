//! The `Date` header's value (RFC 9110 §6.6.1), formatted once per second, not per response.
//! The engine reads no clock: the value is the configured wall-clock origin plus `now`.
//! [`DateCache`] keeps the value for HTTP/2; an HTTP/1.1 channel keeps it inside the formatted
//! end of its response heads (`h1::head_memo::HeadMemo`).
//!
//! Invariant: the cached value is an IMF-fixdate, always [`DATE_LEN`] bytes, held inline: no
//! allocation per second per connection, and nothing on the heap for an idle connection to keep.

use std::io::Write;

use crate::time::Instant;

/// `Sun, 06 Nov 1994 08:49:37 GMT`: an IMF-fixdate has a fixed length.
pub(crate) const DATE_LEN: usize = 29;

/// The last second formatted, and its value.
#[derive(Debug)]
pub(crate) struct DateCache {
    /// [`NOT_FORMATTED`] until the first value is formatted (a sentinel, not an `Option`: the
    /// cache is 40 bytes of every HTTP/2 connection instead of 48).
    second: u64,
    value: [u8; DATE_LEN],
}

/// No second formatted yet. An origin at `u64::MAX` ms would land 584 million years on, past
/// what a date can say anyway.
const NOT_FORMATTED: u64 = u64::MAX;

impl Default for DateCache {
    fn default() -> DateCache {
        DateCache {
            second: NOT_FORMATTED,
            value: [0; DATE_LEN],
        }
    }
}

impl DateCache {
    /// The value for `now`, if a wall-clock origin (milliseconds since the Unix epoch at
    /// `Instant::ZERO`) is configured.
    pub(crate) fn value(&mut self, origin_unix_millis: Option<u64>, now: Instant) -> Option<&[u8]> {
        let secs = unix_second(origin_unix_millis?, now);
        if self.second != secs {
            self.value = format_date(secs);
            self.second = secs;
        }
        // Borrowed, not a `Bytes` clone: a shared count would cost two atomic operations per
        // response.
        Some(&self.value)
    }
}

/// The second since the Unix epoch at `now`, for a wall-clock origin (milliseconds since the
/// Unix epoch at `Instant::ZERO`).
pub(crate) fn unix_second(origin_unix_millis: u64, now: Instant) -> u64 {
    let now = u64::try_from(now.since_epoch().as_millis()).unwrap_or(u64::MAX);
    origin_unix_millis.saturating_add(now) / 1000
}

/// The IMF-fixdate of `secs` after the Unix epoch, written in place.
pub(crate) fn format_date(secs: u64) -> [u8; DATE_LEN] {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    let mut value = [0u8; DATE_LEN];
    let mut out = &mut value[..];
    // `HttpDate` writes exactly `DATE_LEN` bytes for every year it formats (1970 to 9999).
    write!(out, "{}", httpdate::HttpDate::from(time)).expect("an IMF-fixdate is 29 bytes");
    assert!(out.is_empty(), "an IMF-fixdate is 29 bytes");
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    #[test]
    fn the_value_is_the_origin_plus_now_and_follows_the_second() {
        let mut cache = DateCache::default();
        let origin = Some(1_700_000_000_000);
        assert_eq!(cache.value(None, Instant::ZERO), None);
        let first = cache.value(origin, Instant::ZERO).map(<[u8]>::to_vec);
        assert_eq!(
            first.as_deref(),
            Some(&b"Tue, 14 Nov 2023 22:13:20 GMT"[..])
        );
        let same_second = Instant::ZERO + Duration::from_millis(999);
        let again = cache.value(origin, same_second).map(<[u8]>::to_vec);
        assert_eq!(again, first);
        let next = Instant::ZERO + Duration::from_millis(1000);
        assert_eq!(
            cache.value(origin, next),
            Some(&b"Tue, 14 Nov 2023 22:13:21 GMT"[..])
        );
    }

    #[test]
    fn the_first_and_last_years_formatted_fit() {
        assert_eq!(&format_date(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            &format_date(253_402_300_799),
            b"Fri, 31 Dec 9999 23:59:59 GMT"
        );
    }
}
