//! A server's drain signal, shared by its connections: once started, each connection finishes
//! the requests it has, then closes.
//!
//! Invariant: a connection whose wake-up ([`Drain::wake_up`]) was made before the signal
//! started is woken by it; one made after sees it started ([`Drain::is_started`]), as the
//! flag is set before the waiters are woken. The wake-up lives in the connection's future,
//! registered once for the connection's life: no allocation and no lock per wait.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::futures::OwnedNotified;
use tokio::sync::Notify;

/// A drain signal: clones share it.
#[derive(Clone, Debug, Default)]
pub struct Drain {
    started: Arc<AtomicBool>,
    wake: Arc<Notify>,
}

impl Drain {
    /// A signal not started.
    pub fn new() -> Drain {
        Drain::default()
    }

    /// Tells every connection to drain. Idempotent.
    pub fn start(&self) {
        self.started.store(true, Ordering::Release);
        self.wake.notify_waiters();
    }

    /// Whether the signal started: one atomic load, read at every turn of a connection.
    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    /// A future that resolves when the signal starts after this call (before it, check
    /// [`Drain::is_started`]).
    pub(crate) fn wake_up(&self) -> OwnedNotified {
        Arc::clone(&self.wake).notified_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    #[test]
    fn a_wake_up_made_before_the_start_resolves_and_the_flag_is_seen_after() {
        let drain = Drain::new();
        let clone = drain.clone();
        let mut wake_up = pin!(clone.wake_up());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(wake_up.as_mut().poll(&mut cx).is_pending());
        assert!(!clone.is_started());
        drain.start();
        assert!(clone.is_started());
        assert_eq!(wake_up.as_mut().poll(&mut cx), Poll::Ready(()));
    }

    #[test]
    fn a_wake_up_made_before_the_start_resolves_even_if_never_polled_before_it() {
        let drain = Drain::new();
        let mut wake_up = pin!(drain.wake_up());
        drain.start();
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(wake_up.as_mut().poll(&mut cx), Poll::Ready(()));
    }
}
