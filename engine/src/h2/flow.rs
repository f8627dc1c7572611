//! Flow-control windows (RFC 9113 §5.2, §6.9), both ways, for a stream or the connection.
//!
//! - [`SendWindow`]: what the peer lets us send. WINDOW_UPDATE grows it, past 2^31-1 is a
//!   FLOW_CONTROL_ERROR; a change of the peer's `SETTINGS_INITIAL_WINDOW_SIZE` shifts every
//!   stream's window by the difference, which may leave it negative (§6.9.2): nothing may be
//!   sent until updates bring it above zero.
//! - [`RecvWindow`]: what we let the peer send. Data past it is a FLOW_CONTROL_ERROR. Room is
//!   given back only for bytes the app *took* (Twisted's `H2Stream` acknowledges only what
//!   its request consumed), and announced in batches of at least half the window, so a peer
//!   cannot make us send a WINDOW_UPDATE per byte.
//!
//! The windows know nothing of which frame or scope an error belongs to: the connection maps
//! [`WindowOverflow`] to a stream or connection error.

use super::frame::MAX_WINDOW;

/// A window would pass 2^31-1, or data came past the window we granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowOverflow;

/// What the peer lets us send. Invariant: at most 2^31-1; may be negative after a SETTINGS
/// change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendWindow(i64);

impl SendWindow {
    /// A window of `initial` bytes.
    pub fn new(initial: u32) -> SendWindow {
        assert!(initial <= MAX_WINDOW, "window over 2^31-1");
        SendWindow(i64::from(initial))
    }

    /// Bytes that may be sent now (0 while the window is empty or negative).
    pub fn available(&self) -> u32 {
        u32::try_from(self.0.max(0)).expect("the window is at most 2^31-1")
    }

    /// `n` bytes were sent. Panics past what is available: sending more is our bug.
    pub fn spend(&mut self, n: u32) {
        assert!(n <= self.available(), "sent past the flow-control window");
        self.0 -= i64::from(n);
    }

    /// A WINDOW_UPDATE of `increment`.
    pub fn grow(&mut self, increment: u32) -> Result<(), WindowOverflow> {
        self.shift(i64::from(increment))
    }

    /// The peer's initial window changed by `delta` (new minus old).
    pub fn shift(&mut self, delta: i64) -> Result<(), WindowOverflow> {
        let next = self.0 + delta;
        if next > i64::from(MAX_WINDOW) {
            return Err(WindowOverflow);
        }
        self.0 = next;
        Ok(())
    }

    /// The window as it stands, negative included (for traces and tests).
    pub fn value(&self) -> i64 {
        self.0
    }
}

/// What we let the peer send, and the room the app has given back but we have not announced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvWindow {
    /// Bytes the peer may still send.
    open: u32,
    /// Bytes taken by the app since the last WINDOW_UPDATE.
    released: u32,
    /// The window we aim to keep open: updates are sent once half of it is released.
    target: u32,
}

impl RecvWindow {
    /// A window of `initial` bytes (our `SETTINGS_INITIAL_WINDOW_SIZE`, or 65 535 for the
    /// connection).
    pub fn new(initial: u32) -> RecvWindow {
        assert!(initial <= MAX_WINDOW, "window over 2^31-1");
        RecvWindow {
            open: initial,
            released: 0,
            target: initial,
        }
    }

    /// `n` flow-controlled bytes arrived (DATA, padding included).
    pub fn receive(&mut self, n: u32) -> Result<(), WindowOverflow> {
        self.open = self.open.checked_sub(n).ok_or(WindowOverflow)?;
        Ok(())
    }

    /// The app took `n` bytes (or they were dropped unread: padding, a reset stream's data):
    /// room to give back.
    pub fn release(&mut self, n: u32) {
        self.released = self.released.saturating_add(n).min(MAX_WINDOW - self.open);
    }

    /// The WINDOW_UPDATE increment to send now, if enough room was released (at least half
    /// the target, or everything when the window is shut, so a peer never waits on a
    /// batch that cannot fill).
    pub fn update(&mut self) -> Option<u32> {
        let due = self.released >= self.target.div_ceil(2) || (self.open == 0 && self.released > 0);
        if !due {
            return None;
        }
        let increment = std::mem::take(&mut self.released);
        self.open += increment;
        Some(increment)
    }

    /// Bytes the peer may still send.
    pub fn open(&self) -> u32 {
        self.open
    }
}
