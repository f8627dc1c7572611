//! The timer table: one optional deadline per named [`Timer`] (quinn's `TimerTable`).
//!
//! Shared by both roles. Which timers are armed is decided by the connection's state
//! (`Channel::sync_timers`, `ClientConnection::sync_timers`); this
//! table only remembers deadlines and reports changes, so that every arm, cancel and fire
//! shows in the trace (arms and cancels unless the connection's [`TimerReports`] asks for
//! fires only, as `twine serve` does; the client role reports all). Pushing an idle timer back
//! (`extend`) is silent on purpose: a body arriving byte by byte would otherwise fill the
//! trace with timer lines.

use crate::config::TimerReports;
use crate::io::{Output, Timer, TimerChange};
use crate::time::Instant;

/// The deadlines in nanoseconds, [`UNARMED`] for a timer not armed: 8 bytes a timer where an
/// `Option<Instant>` takes 16 (every connection holds a table).
#[derive(Debug)]
pub(crate) struct TimerTable {
    deadlines: [u64; Timer::ALL.len()],
}

/// A timer not armed. An armed deadline is at most one nanosecond earlier (585 years).
const UNARMED: u64 = u64::MAX;

impl Default for TimerTable {
    fn default() -> TimerTable {
        TimerTable {
            deadlines: [UNARMED; Timer::ALL.len()],
        }
    }
}

impl TimerTable {
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        let nanos = self.deadlines[timer as usize];
        (nanos != UNARMED).then(|| Instant::from_nanos(nanos))
    }

    /// Arms `timer` unless it is already armed.
    pub(crate) fn arm(
        &mut self,
        timer: Timer,
        deadline: Instant,
        reports: TimerReports,
        out: &mut impl Extend<Output>,
    ) {
        let deadline = armed(deadline);
        let slot = &mut self.deadlines[timer as usize];
        if *slot == UNARMED {
            *slot = deadline.as_nanos();
            if !reports.arms_and_cancels() {
                return;
            }
            out.extend([Output::Timer {
                timer,
                change: TimerChange::Set(deadline),
            }]);
        }
    }

    /// Moves an armed timer's deadline, silently.
    pub(crate) fn extend(&mut self, timer: Timer, deadline: Instant) {
        let slot = &mut self.deadlines[timer as usize];
        if *slot != UNARMED {
            *slot = armed(deadline).as_nanos();
        }
    }

    /// Disarms `timer` if it is armed.
    pub(crate) fn cancel(
        &mut self,
        timer: Timer,
        reports: TimerReports,
        out: &mut impl Extend<Output>,
    ) {
        let slot = &mut self.deadlines[timer as usize];
        if std::mem::replace(slot, UNARMED) != UNARMED && reports.arms_and_cancels() {
            out.extend([Output::Timer {
                timer,
                change: TimerChange::Cancelled,
            }]);
        }
    }

    /// Takes the first timer (in table order) whose deadline is at or before `now`.
    pub(crate) fn take_expired(
        &mut self,
        now: Instant,
        out: &mut impl Extend<Output>,
    ) -> Option<Timer> {
        let timer = Timer::ALL
            .into_iter()
            .find(|&t| self.get(t).is_some_and(|d| d <= now))?;
        self.deadlines[timer as usize] = UNARMED;
        out.extend([Output::Timer {
            timer,
            change: TimerChange::Fired,
        }]);
        Some(timer)
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let earliest = self.deadlines.iter().copied().min()?;
        (earliest != UNARMED).then(|| Instant::from_nanos(earliest))
    }
}

/// `deadline`, kept off [`UNARMED`].
fn armed(deadline: Instant) -> Instant {
    Instant::from_nanos(deadline.as_nanos().min(UNARMED - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: TimerReports = TimerReports::All;

    /// Arm, extend, cancel and fire, with the outputs each reports; the far-future deadline
    /// stays armed (it is kept one nanosecond off the unarmed mark).
    #[test]
    fn the_table_arms_extends_cancels_and_fires() {
        let mut table = TimerTable::default();
        let mut out: Vec<Output> = Vec::new();
        assert_eq!(table.next_deadline(), None);
        table.arm(Timer::HeaderRead, Instant::from_millis(10), ALL, &mut out);
        table.arm(Timer::HeaderRead, Instant::from_millis(99), ALL, &mut out);
        table.arm(
            Timer::IdleKeepAlive,
            Instant::from_nanos(u64::MAX),
            ALL,
            &mut out,
        );
        assert_eq!(out.len(), 2, "arming an armed timer is silent");
        assert_eq!(table.get(Timer::HeaderRead), Some(Instant::from_millis(10)));
        assert_eq!(
            table.get(Timer::IdleKeepAlive),
            Some(Instant::from_nanos(u64::MAX - 1))
        );
        table.extend(Timer::HeaderRead, Instant::from_millis(20));
        table.extend(Timer::BodyRead, Instant::from_millis(5));
        assert_eq!(table.get(Timer::BodyRead), None, "extending arms nothing");
        assert_eq!(table.next_deadline(), Some(Instant::from_millis(20)));
        assert_eq!(table.take_expired(Instant::from_millis(19), &mut out), None);
        assert_eq!(
            table.take_expired(Instant::from_millis(20), &mut out),
            Some(Timer::HeaderRead)
        );
        table.cancel(Timer::IdleKeepAlive, ALL, &mut out);
        table.cancel(Timer::IdleKeepAlive, ALL, &mut out);
        assert_eq!(table.next_deadline(), None);
        assert_eq!(out.len(), 4, "one fire and one cancel reported");
    }

    /// Reporting fires only, the table keeps the same deadlines and says nothing of arms and
    /// cancels.
    #[test]
    fn fires_only_keeps_the_deadlines_and_reports_the_fire() {
        const FIRES: TimerReports = TimerReports::FiresOnly;
        let mut table = TimerTable::default();
        let mut out: Vec<Output> = Vec::new();
        table.arm(Timer::HeaderRead, Instant::from_millis(10), FIRES, &mut out);
        table.arm(Timer::Linger, Instant::from_millis(30), FIRES, &mut out);
        table.cancel(Timer::Linger, FIRES, &mut out);
        assert_eq!(out, []);
        assert_eq!(table.next_deadline(), Some(Instant::from_millis(10)));
        let expired = table.take_expired(Instant::from_millis(10), &mut out);
        assert_eq!(expired, Some(Timer::HeaderRead));
        let fired = Output::Timer {
            timer: Timer::HeaderRead,
            change: TimerChange::Fired,
        };
        assert_eq!(out, [fired]);
        assert_eq!(table.next_deadline(), None);
    }
}
