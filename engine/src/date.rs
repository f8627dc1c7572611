//! The `Date` header's value (RFC 9110 §6.6.1), formatted once per second, not per response.
//! The engine reads no clock: the value is the configured wall-clock origin plus `now`.

use crate::time::Instant;

/// The last second formatted, and its value.
#[derive(Debug, Default)]
pub(crate) struct DateCache(Option<(u64, Box<[u8]>)>);

impl DateCache {
    /// The value for `now`, if a wall-clock origin (milliseconds since the Unix epoch at
    /// `Instant::ZERO`) is configured.
    pub(crate) fn value(&mut self, origin_unix_millis: Option<u64>, now: Instant) -> Option<&[u8]> {
        let origin = origin_unix_millis?;
        let now = u64::try_from(now.since_epoch().as_millis()).unwrap_or(u64::MAX);
        let secs = origin.saturating_add(now) / 1000;
        if self.0.as_ref().is_none_or(|(cached, _)| *cached != secs) {
            let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            let value = httpdate::fmt_http_date(time)
                .into_bytes()
                .into_boxed_slice();
            self.0 = Some((secs, value));
        }
        // Borrowed, not a `Bytes` clone: a shared count would cost two atomic operations per
        // response.
        self.0.as_ref().map(|(_, value)| &value[..])
    }
}
