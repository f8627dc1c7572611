//! The timer table: one optional deadline per named [`Timer`] (quinn's `TimerTable`).
//!
//! Shared by both roles. Which timers are armed is decided by the connection's state
//! (`Channel::sync_timers`, `ClientConnection::sync_timers`); this
//! table only remembers deadlines and reports changes, so that every arm, cancel and fire
//! shows in the trace. Pushing an idle timer back (`extend`) is silent on purpose: a body
//! arriving byte by byte would otherwise fill the trace with timer lines.

use crate::io::{Output, Timer, TimerChange};
use crate::time::Instant;

#[derive(Debug, Default)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; Timer::ALL.len()],
}

impl TimerTable {
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer as usize]
    }

    /// Arms `timer` unless it is already armed.
    pub(crate) fn arm(&mut self, timer: Timer, deadline: Instant, out: &mut impl Extend<Output>) {
        let slot = &mut self.deadlines[timer as usize];
        if slot.is_none() {
            *slot = Some(deadline);
            out.extend([Output::Timer {
                timer,
                change: TimerChange::Set(deadline),
            }]);
        }
    }

    /// Moves an armed timer's deadline, silently.
    pub(crate) fn extend(&mut self, timer: Timer, deadline: Instant) {
        if let Some(slot) = &mut self.deadlines[timer as usize] {
            *slot = deadline;
        }
    }

    /// Disarms `timer` if it is armed.
    pub(crate) fn cancel(&mut self, timer: Timer, out: &mut impl Extend<Output>) {
        if self.deadlines[timer as usize].take().is_some() {
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
        self.deadlines[timer as usize] = None;
        out.extend([Output::Timer {
            timer,
            change: TimerChange::Fired,
        }]);
        Some(timer)
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().copied().min()
    }
}
