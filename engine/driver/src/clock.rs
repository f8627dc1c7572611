//! Engine time from `tokio::time`, which turmoil simulates.

use twine_engine::Instant;

/// Converts `tokio::time::Instant`s into engine [`Instant`]s counted from one epoch.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    epoch: tokio::time::Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn start() -> Clock {
        Clock {
            epoch: tokio::time::Instant::now(),
        }
    }

    /// A clock whose epoch was `elapsed` ago: a restarted simulated server keeps counting from
    /// the start of the run, so its `Date` and timer deadlines do not jump back.
    pub fn started_ago(elapsed: std::time::Duration) -> Clock {
        let now = tokio::time::Instant::now();
        Clock {
            epoch: now.checked_sub(elapsed).unwrap_or(now),
        }
    }

    /// The current engine time.
    pub fn now(&self) -> Instant {
        self.to_engine(tokio::time::Instant::now())
    }

    /// An engine instant for a tokio instant.
    pub fn to_engine(&self, at: tokio::time::Instant) -> Instant {
        let nanos = at.saturating_duration_since(self.epoch).as_nanos();
        Instant::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// The tokio instant for an engine instant.
    pub fn to_tokio(&self, at: Instant) -> tokio::time::Instant {
        self.epoch + at.since_epoch()
    }
}
