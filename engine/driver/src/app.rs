//! The request handler interface, modelled on web2's Request/ChannelRequest split: the app
//! receives request events and producer transitions for one connection and answers with
//! [`AppCommand`]s. Apps are synchronous state machines like the channel; the driver calls
//! [`App::produce`] when it has room to write, which is how push producers run.

use std::task::{Context, Poll};

use twine_engine::{
    AppCommand, CloseReason, ConnectionInfo, Event, Instant, ProducerState, RequestId,
};

/// One connection's request handler.
pub trait App {
    /// The connection was accepted: who is on its two ends (Twisted's `getPeer`, `getHost`,
    /// `isSecure`). Called once, before any event, when the driver knows (`RunOptions::
    /// connection`).
    fn on_connect(&mut self, now: Instant, info: &ConnectionInfo) {
        let _ = (now, info);
    }

    /// A request event. Push commands to answer.
    fn on_event(&mut self, now: Instant, event: Event, commands: &mut Vec<AppCommand>);

    /// A producer transition for one of this app's registered producers.
    fn on_producer(
        &mut self,
        now: Instant,
        request: RequestId,
        state: ProducerState,
        commands: &mut Vec<AppCommand>,
    ) {
        let _ = (now, request, state, commands);
    }

    /// Called when the driver has written everything it was given: a producing push producer
    /// pushes its next chunk. Returns whether it pushed anything. (A pull producer's
    /// `Event::Pull` is delivered at the same moment, through [`App::on_event`]: the channel
    /// asks as soon as the producer may produce, the driver hands the pull on when the data is
    /// needed.)
    fn produce(&mut self, now: Instant, commands: &mut Vec<AppCommand>) -> bool {
        let _ = (now, commands);
        false
    }

    /// The connection closed (the engine's last output): nothing more will come. Called at
    /// once, before the driver flushes and drops the socket.
    fn on_close(&mut self, now: Instant, reason: CloseReason) {
        let _ = (now, reason);
    }

    /// When the app next has work of its own at a time it knows (a response it defers, as a
    /// Twisted resource returns `NOT_DONE_YET` and answers from `callLater`): the driver's
    /// alarm rings then at the latest, and [`App::poll_wake`] is polled with that `now`. Asked
    /// before every wait; `None` (the default) sets no time. A time already past rings at
    /// once, every wait, until `poll_wake` acts on it and moves it.
    fn wake_at(&self) -> Option<Instant> {
        None
    }

    /// Polled while the connection waits, for apps with work of their own (the proxy's
    /// upstream connection, a deferred answer's time come): `Ready` once it pushed commands,
    /// else `Pending` with `cx`'s waker registered wherever its work comes from (a time told
    /// by [`App::wake_at`] needs none). The default never wakes.
    fn poll_wake(
        &mut self,
        cx: &mut Context<'_>,
        now: Instant,
        commands: &mut Vec<AppCommand>,
    ) -> Poll<()> {
        let _ = (cx, now, commands);
        Poll::Pending
    }
}

/// Makes one [`App`] per connection.
pub trait NewApp {
    /// The app type.
    type App: App;
    /// A fresh app for a new connection.
    fn new_app(&self) -> Self::App;
}

impl<F: Fn() -> A, A: App> NewApp for F {
    type App = A;
    fn new_app(&self) -> A {
        self()
    }
}

/// Forwards every [`App`] method through a pointer to an app.
macro_rules! forward_app {
    ($(#[$doc:meta])* $pointer:ty) => {
        $(#[$doc])*
        impl<A: App + ?Sized> App for $pointer {
            fn on_connect(&mut self, now: Instant, info: &ConnectionInfo) {
                (**self).on_connect(now, info);
            }

            fn on_event(&mut self, now: Instant, event: Event, commands: &mut Vec<AppCommand>) {
                (**self).on_event(now, event, commands);
            }

            fn on_producer(
                &mut self,
                now: Instant,
                request: RequestId,
                state: ProducerState,
                commands: &mut Vec<AppCommand>,
            ) {
                (**self).on_producer(now, request, state, commands);
            }

            fn produce(&mut self, now: Instant, commands: &mut Vec<AppCommand>) -> bool {
                (**self).produce(now, commands)
            }

            fn wake_at(&self) -> Option<Instant> {
                (**self).wake_at()
            }

            fn poll_wake(
                &mut self,
                cx: &mut Context<'_>,
                now: Instant,
                commands: &mut Vec<AppCommand>,
            ) -> Poll<()> {
                (**self).poll_wake(cx, now, commands)
            }

            fn on_close(&mut self, now: Instant, reason: CloseReason) {
                (**self).on_close(now, reason);
            }
        }
    };
}

forward_app!(
    /// A boxed app is an app, so apps can be chosen at run time.
    Box<A>
);
forward_app!(
    /// A lent app is an app: the caller looks at it once the connection is done.
    &mut A
);
