//! The `Date` header's value (RFC 9110 §6.6.1), formatted once per second, not per response.
//! The engine reads no clock: the value is the configured wall-clock origin plus `now`.

use bytes::Bytes;

use crate::time::Instant;

/// The last second formatted, and its value.
#[derive(Debug, Default)]
pub(crate) struct DateCache(Option<(u64, Bytes)>);

impl DateCache {
    /// The value for `now`, if a wall-clock origin (milliseconds since the Unix epoch at
    /// `Instant::ZERO`) is configured.
    pub(crate) fn value(&mut self, origin_unix_millis: Option<u64>, now: Instant) -> Option<Bytes> {
        let origin = origin_unix_millis?;
        let now = u64::try_from(now.since_epoch().as_millis()).unwrap_or(u64::MAX);
        let secs = origin.saturating_add(now) / 1000;
        match &self.0 {
            Some((cached, value)) if *cached == secs => Some(value.clone()),
            _ => {
                let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
                let value = Bytes::from(httpdate::fmt_http_date(time));
                self.0 = Some((secs, value.clone()));
                Some(value)
            }
        }
    }
}
