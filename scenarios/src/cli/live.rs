//! The connections a server is serving, counted: the accept loop bounds them
//! (`--connections-max`) and the drain waits for them to end. A connection's task keeps only a
//! guard (one pointer), where a `JoinSet` kept an entry of a few hundred bytes per connection
//! (DESIGN.md §8: memory per idle connection). Tasks that outlive the drain's timeout are
//! dropped with the runtime.
//!
//! Invariant: `count` is the number of live guards.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// The count of live connections, and a wake-up when it reaches zero.
#[derive(Debug, Default)]
pub(crate) struct Live {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    count: AtomicUsize,
    all_ended: Notify,
}

/// Held by one connection's task for its life; counted until dropped.
#[derive(Debug)]
pub(crate) struct LiveGuard {
    inner: Arc<Inner>,
}

impl Live {
    pub(crate) fn new() -> Live {
        Live::default()
    }

    /// How many connections are live.
    pub(crate) fn count(&self) -> usize {
        self.inner.count.load(Ordering::Acquire)
    }

    /// Counts one more connection until the guard is dropped.
    pub(crate) fn enter(&self) -> LiveGuard {
        self.inner.count.fetch_add(1, Ordering::AcqRel);
        LiveGuard {
            inner: Arc::clone(&self.inner),
        }
    }

    /// Resolves once no connection is live.
    pub(crate) async fn all_ended(&self) {
        loop {
            // Registered before the count is read, so a last guard dropped in between is
            // not missed.
            let ended = self.inner.all_ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            ended.await;
        }
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        if self.inner.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.inner.all_ended.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn guards_are_counted_until_dropped() {
        let live = Live::new();
        let first = live.enter();
        let second = live.enter();
        assert_eq!(live.count(), 2);
        drop(first);
        assert_eq!(live.count(), 1);
        drop(second);
        assert_eq!(live.count(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn all_ended_waits_for_the_last_guard() {
        let live = Live::new();
        tokio::time::timeout(Duration::from_secs(1), live.all_ended())
            .await
            .expect("nothing live: at once");
        let guard = live.enter();
        let task = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(guard);
        });
        let waited = tokio::time::timeout(Duration::from_secs(4), live.all_ended()).await;
        assert!(waited.is_err(), "ended before the guard was dropped");
        tokio::time::timeout(Duration::from_secs(2), live.all_ended())
            .await
            .expect("ended once the guard was dropped");
        task.await.expect("the task");
    }
}
