//! Engine time: a monotonic instant handed in by the driver.
//!
//! The engine never reads a clock. Every `Input` carries `now`, an [`Instant`] counting
//! nanoseconds from the driver's epoch (the start of the process for the real server, the start
//! of the simulation for the harness). It prints as milliseconds so that traces and snapshots
//! are stable (TigerBeetle bans `std::time::Instant` for the same reason).

use core::fmt;
use core::ops::{Add, Sub};
pub use core::time::Duration;

/// A point in time, in nanoseconds since the driver's epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The driver's epoch.
    pub const ZERO: Instant = Instant(0);

    /// An instant `nanos` nanoseconds after the epoch.
    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }

    /// An instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(millis.saturating_mul(1_000_000))
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time since the epoch.
    pub const fn since_epoch(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates far in the future instead of overflowing: a timer that far out never fires.
    fn add(self, rhs: Duration) -> Instant {
        let nanos = u64::try_from(rhs.as_nanos()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(nanos))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Instant {
    /// Milliseconds with three decimals, e.g. `1500.250ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0 / 1_000;
        write!(f, "{}.{:03}ms", micros / 1_000, micros % 1_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_milliseconds() {
        assert_eq!(Instant::from_nanos(1_500_250_000).to_string(), "1500.250ms");
        assert_eq!(Instant::ZERO.to_string(), "0.000ms");
    }

    #[test]
    fn a_difference_saturates_at_zero() {
        let (earlier, later) = (Instant::from_millis(5), Instant::from_millis(12));
        assert_eq!(later - earlier, Duration::from_millis(7));
        assert_eq!(earlier - later, Duration::ZERO);
    }

    #[test]
    fn addition_saturates() {
        assert_eq!(
            Instant::from_nanos(u64::MAX - 1) + Duration::from_secs(1),
            Instant(u64::MAX)
        );
        assert_eq!(Instant::ZERO + Duration::MAX, Instant(u64::MAX));
    }
}
