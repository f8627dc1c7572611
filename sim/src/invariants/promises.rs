//! The engine's own promises (DESIGN.md §2), checked on the server's side of the trace of one
//! connection: legal bytes on the wire can hide a broken one.
//!
//! - **Timers**: a timer is set for exactly its configured duration from the moment it is
//!   armed; it never fires unarmed; it fires at its deadline (within the simulation's one-tick
//!   granularity), except those a peer's progress pushes back (`body_read`, `send_stall`, the
//!   client role's `response_body_idle`), which never fire before it. On the server's
//!   connections, the origin's and the proxy's upstream ones alike, each by its own
//!   configuration.
//! - **Producers**: a producer's states follow each other (never the same twice in a row),
//!   nothing follows `stopped`, a producer still registered when its app's `Finish` is taken
//!   is stopped at that instant (its work is over), and every producer of a connection that
//!   ended is stopped or was unregistered by its app.
//! - **Reading**: paused and resumed alternate, starting from reading, and neither comes after
//!   the peer's EOF or the close.
//! - **The app's graceful close** (`Close`): the connection ends gracefully, and no request
//!   before the closed one is lost, unless something else broke the connection first (the
//!   peer, a timer, the app's own abort).
//! - **Requests, as the app hears of them**: each is announced once, before anything names
//!   it; its body ends at most once and no body follows the end; it is lost at most once, and
//!   nothing reaches the app for it after that; one the app closed (`Close`, taken) is never
//!   reported lost: the app knows its end.
//! - **Credit** (backpressure, DESIGN.md §2): body bytes reach an app only within the credit
//!   it granted for that request (its `Consume`s), on the server's connections and on the
//!   proxy's upstream ones alike.
//! - **Lingering close**: after a protocol error, the connection closes gracefully only after
//!   shutting down its write side (so a client still sending reads the error, not a reset),
//!   unless the peer's FIN came first or the server is draining (it then closes promptly).

use std::collections::BTreeMap;

use twine_engine::{
    CloseReason, Duration, Instant, ProducerState, ReadState, RequestId, Timeouts, Timer,
    TimerChange,
};

use super::server_trace::Note;
use crate::event::{AppAction, Check, ServerEvent, Violation};
use crate::trace::ms;

/// How late a timer may fire: the simulation steps a millisecond at a time.
const TICK_NANOS: u64 = 1_000_000;

/// Every broken promise on connection `conn`.
pub(crate) fn check_conn(conn: u32, notes: &[Note<'_>], timeouts: &Timeouts) -> Vec<Violation> {
    let mut out = Vec::new();
    out.extend(timers(notes, |timer| timeouts.of(timer)).map(|d| (Check::Timer, d)));
    let socket_ended =
        |e: &ServerEvent| matches!(e, ServerEvent::SocketClosed | ServerEvent::SocketAborted);
    out.extend(producers(notes, socket_ended).map(|d| (Check::Producer, d)));
    out.extend(reading(notes).map(|d| (Check::Reading, d)));
    out.extend(lingering(notes).map(|d| (Check::Lingering, d)));
    out.extend(app_close(notes).map(|d| (Check::AppClose, d)));
    out.extend(request_events(notes).map(|d| (Check::RequestEvents, d)));
    out.extend(credit(notes.iter().map(|&(at, e)| (at, e))).map(|d| (Check::Credit, d)));
    out.into_iter()
        .map(|(check, detail)| Violation::on(conn, check, detail))
        .collect()
}

/// The first body delivered past its request's credit: every `Body` is counted against the
/// sum of the app's `Consume`s for that request before it.
pub(crate) fn credit<'a>(
    events: impl IntoIterator<Item = (u64, &'a ServerEvent)>,
) -> Option<String> {
    // Per request: credit granted, body bytes delivered.
    let mut books: BTreeMap<RequestId, (u64, u64)> = BTreeMap::new();
    for (at, event) in events {
        match event {
            ServerEvent::App {
                command: AppAction::Consume { request, bytes },
            } => books.entry(*request).or_default().0 += *bytes,
            ServerEvent::Body { id, bytes } => {
                let (granted, delivered) = books.entry(*id).or_default();
                *delivered += *bytes as u64;
                if *delivered > *granted {
                    return Some(format!(
                        "{id}: {delivered} body bytes delivered by {} on {granted} of credit",
                        ms(at)
                    ));
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether a peer's progress pushes the timer's deadline back without a new `set`.
fn extended_by_progress(timer: Timer) -> bool {
    match timer {
        Timer::BodyRead | Timer::SendStall | Timer::ResponseBodyIdle => true,
        Timer::HeaderRead | Timer::IdleKeepAlive | Timer::Linger | Timer::Abort => false,
        _ => false,
    }
}

/// The first broken timer promise, if any; `duration_of` says how long each timer of the
/// connection's configuration runs (`None`: not checked).
pub(crate) fn timers(
    notes: &[Note<'_>],
    duration_of: impl Fn(Timer) -> Option<Duration>,
) -> Option<String> {
    // Timer → its deadline while armed.
    let mut armed: BTreeMap<Timer, u64> = BTreeMap::new();
    for &(at, event) in notes {
        let ServerEvent::Timer { timer, change } = event else {
            continue;
        };
        let name = timer.name();
        match change {
            TimerChange::Set(deadline) => {
                if let Some(after) = duration_of(*timer) {
                    let want = Instant::from_nanos(at) + after;
                    if *deadline != want {
                        return Some(format!(
                            "timer {name} set at {} for {deadline}, not {want} ({after:?} later)",
                            ms(at),
                        ));
                    }
                }
                armed.insert(*timer, deadline.as_nanos());
            }
            TimerChange::Cancelled => {
                if armed.remove(timer).is_none() {
                    return Some(format!("timer {name} cancelled at {} unarmed", ms(at)));
                }
            }
            TimerChange::Fired => {
                let Some(deadline) = armed.remove(timer) else {
                    return Some(format!("timer {name} fired at {} unarmed", ms(at)));
                };
                let early = at < deadline;
                let late = !extended_by_progress(*timer) && at > deadline + TICK_NANOS;
                if early || late {
                    return Some(format!(
                        "timer {name} fired at {}, its deadline being {}",
                        ms(at),
                        ms(deadline)
                    ));
                }
            }
        }
    }
    None
}

/// The first broken producer promise; `ends` tells the event after which every producer of
/// the connection must have stopped.
pub(crate) fn producers(notes: &[Note<'_>], ends: impl Fn(&ServerEvent) -> bool) -> Option<String> {
    let mut out = Vec::new();
    let mut last: BTreeMap<RequestId, (u64, ProducerState)> = BTreeMap::new();
    // Producers whose app finished their response, by the instant they must stop at.
    let mut finished: BTreeMap<RequestId, u64> = BTreeMap::new();
    let not_stopped = |request: &RequestId, at: u64| {
        format!(
            "producer {request} not stopped when its response finished, at {}",
            ms(at)
        )
    };
    for (index, &(at, event)) in notes.iter().enumerate() {
        if let Some((&request, &finished_at)) = finished.iter().find(|(_, &t)| t < at) {
            out.push(not_stopped(&request, finished_at));
            finished.remove(&request);
        }
        let refused = notes
            .get(index + 1)
            .is_some_and(|(_, next)| matches!(next, ServerEvent::AppRefused { .. }));
        if let ServerEvent::App {
            command: AppAction::Finish { request },
        } = event
        {
            let running = last
                .get(request)
                .is_some_and(|(_, state)| *state != ProducerState::Stopped);
            if running && !refused {
                finished.insert(*request, at);
            }
            continue;
        }
        if let ServerEvent::App {
            command: AppAction::UnregisterProducer { request },
        } = event
        {
            // The app took its producer back (no `stopped`: Twisted's `unregisterProducer`
            // does not stop it); a producer registered next starts afresh. Unless refused.
            if !refused {
                last.remove(request);
                finished.remove(request);
            }
            continue;
        }
        let ServerEvent::Producer { request, state } = event else {
            continue;
        };
        match last.get(request) {
            Some((_, ProducerState::Stopped)) => out.push(format!(
                "producer {request} {state:?} at {} after it stopped",
                ms(at)
            )),
            Some((_, before)) if before == state => out.push(format!(
                "producer {request} {state:?} twice in a row, at {}",
                ms(at)
            )),
            _ => {}
        }
        if *state == ProducerState::Stopped {
            finished.remove(request);
        }
        last.insert(*request, (at, *state));
    }
    if let Some((request, &at)) = finished.iter().next() {
        out.push(not_stopped(request, at));
    }
    if notes.iter().any(|&(_, e)| ends(e)) {
        for (request, (at, state)) in &last {
            if *state != ProducerState::Stopped {
                out.push(format!(
                    "producer {request} left {state:?} (since {}) when the connection ended",
                    ms(*at)
                ));
            }
        }
    }
    out.into_iter().next()
}

/// A graceful close after a protocol error without a lingering close first, if any.
fn lingering(notes: &[Note<'_>]) -> Option<String> {
    // A draining server skips the lingering close to shut down promptly (the engine's
    // documented choice: `AppCommand::Drain`), whether it was told before the error or after.
    let drain = ServerEvent::App {
        command: AppAction::Drain,
    };
    if notes.iter().any(|&(_, e)| *e == drain) {
        return None;
    }
    let error = notes
        .iter()
        .position(|&(_, e)| matches!(e, ServerEvent::ProtocolError { .. }))?;
    // The peer's FIN, before the error or after it, leaves nothing to linger for.
    let mut nothing_to_linger_for = notes[..error]
        .iter()
        .any(|&(_, e)| *e == ServerEvent::ReadEof);
    for &(at, event) in &notes[error..] {
        match event {
            ServerEvent::ShutdownWrite | ServerEvent::ReadEof => nothing_to_linger_for = true,
            ServerEvent::Close {
                reason: CloseReason::Graceful,
            } if !nothing_to_linger_for => {
                return Some(format!(
                    "closed at {} after a protocol error without a lingering close",
                    ms(at)
                ));
            }
            ServerEvent::Close { .. } => return None,
            _ => {}
        }
    }
    None
}

/// The first broken reading promise, if any: paused and resumed alternate, starting from
/// reading, and neither comes after the peer's EOF or the close (nothing is left to read).
pub(crate) fn reading(notes: &[Note<'_>]) -> Option<String> {
    let mut reading = ReadState::Resumed;
    let mut ended: Option<&str> = None;
    for &(at, event) in notes {
        match event {
            ServerEvent::ReadEof => ended = ended.or(Some("the peer's EOF")),
            ServerEvent::Close { .. } => ended = ended.or(Some("the close")),
            ServerEvent::Reading { state } => {
                if let Some(after) = ended {
                    return Some(format!("reading {state:?} at {}, after {after}", ms(at)));
                }
                if *state == reading {
                    return Some(format!("reading {state:?} twice in a row, at {}", ms(at)));
                }
                reading = *state;
            }
            _ => {}
        }
    }
    None
}

/// The first broken promise of a client connection's `Reusable` (the exchange that ended left
/// it open and idle), if any: said once per exchange, and never once the connection closed.
/// A pool trusts it to hand the connection to the next request.
pub(crate) fn reusable(notes: &[Note<'_>]) -> Option<String> {
    // When it last said so, with no request since.
    let mut offered: Option<u64> = None;
    let mut closed: Option<u64> = None;
    for &(at, event) in notes {
        match event {
            ServerEvent::App {
                command: AppAction::SendRequest { .. },
            } => offered = None,
            ServerEvent::Close { .. } => closed = closed.or(Some(at)),
            ServerEvent::Reusable => {
                if let Some(closed) = closed {
                    return Some(format!(
                        "said reusable at {}, after its close at {}",
                        ms(at),
                        ms(closed)
                    ));
                }
                if let Some(before) = offered {
                    return Some(format!(
                        "said reusable at {} and at {} with no request between",
                        ms(before),
                        ms(at)
                    ));
                }
                offered = Some(at);
            }
            _ => {}
        }
    }
    None
}

/// The first broken promise of an accepted `Close`, if any.
fn app_close(notes: &[Note<'_>]) -> Option<String> {
    let accepted = |index: usize| {
        !notes
            .get(index + 1)
            .is_some_and(|(_, next)| matches!(next, ServerEvent::AppRefused { .. }))
    };
    let (start, closed) = notes
        .iter()
        .enumerate()
        .find_map(|(index, (_, event))| match event {
            ServerEvent::App {
                command: AppAction::Close { request },
            } if accepted(index) => Some((index, *request)),
            _ => None,
        })?;
    for &(at, event) in &notes[start..] {
        match event {
            // Something else ends the connection: no promise about what follows.
            ServerEvent::ConnectionLost
            | ServerEvent::Timer {
                change: TimerChange::Fired,
                ..
            }
            | ServerEvent::App {
                command: AppAction::Abort { .. },
            } => return None,
            ServerEvent::Close {
                reason: CloseReason::Abort,
            } => {
                return Some(format!(
                    "the app closed {closed} gracefully, yet the connection was aborted at {}",
                    ms(at)
                ));
            }
            ServerEvent::Lost { id } if *id < closed => {
                return Some(format!(
                    "the app closed {closed} gracefully, yet {id} before it was lost at {}",
                    ms(at)
                ));
            }
            _ => {}
        }
    }
    None
}

/// What the app has been told of one request so far.
#[derive(Default)]
struct Told {
    body_ended: bool,
    lost: bool,
    /// The app's `Close` for it was taken.
    closed_by_app: bool,
}

/// The first broken promise of what the app hears of a request, if any: each request is
/// announced once, before anything else names it; its body ends at most once and no body
/// follows the end; it is lost at most once, and nothing reaches the app for it after that
/// (a lost request's producer is stopped, so not even a pull); a request the app closed is
/// never reported lost (the engine marks it lost without telling: the app knows).
fn request_events(notes: &[Note<'_>]) -> Option<String> {
    let mut told: BTreeMap<RequestId, Told> = BTreeMap::new();
    for (index, &(at, event)) in notes.iter().enumerate() {
        let (id, what) = match event {
            ServerEvent::Request { id, .. } => {
                if told.insert(*id, Told::default()).is_some() {
                    return Some(format!("{id} announced again at {}", ms(at)));
                }
                continue;
            }
            ServerEvent::App {
                command: AppAction::Close { request },
            } => {
                let refused = notes
                    .get(index + 1)
                    .is_some_and(|(_, next)| matches!(next, ServerEvent::AppRefused { .. }));
                if let (false, Some(closed)) = (refused, told.get_mut(request)) {
                    closed.closed_by_app = true;
                }
                continue;
            }
            ServerEvent::Body { id, .. } => (id, "body"),
            ServerEvent::BodyEnd { id } => (id, "its body's end"),
            ServerEvent::Pull { id } => (id, "a pull"),
            ServerEvent::Lost { id } => (id, "its loss"),
            _ => continue,
        };
        // Formatted only when broken: this runs for every event of every run.
        let broken = |why: &str| Some(format!("{id}: {what} at {}, {why}", ms(at)));
        let Some(request) = told.get_mut(id) else {
            return broken("before the request");
        };
        if request.lost {
            return broken("after it was lost");
        }
        if request.closed_by_app && matches!(event, ServerEvent::Lost { .. }) {
            return broken("after the app closed it");
        }
        match event {
            ServerEvent::Body { .. } | ServerEvent::BodyEnd { .. } if request.body_ended => {
                return broken("after its body ended");
            }
            ServerEvent::BodyEnd { .. } => request.body_ended = true,
            ServerEvent::Lost { .. } => request.lost = true,
            _ => {}
        }
    }
    None
}
