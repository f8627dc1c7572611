//! Checks over the server's side of the trace: the engine's outputs and the driver's socket
//! events of one connection, matched by variant.

use twine_engine::{CloseReason, TransportState};

use crate::event::{AppAction, Check, ServerEvent, Violation};
use crate::trace::ms;

/// One server-side entry: when, and what.
pub(crate) type Note<'a> = (u64, &'a ServerEvent);

/// Every violation on connection `conn`. `must_end`: the run completed and no server restart
/// dropped the connection, so its socket must have been closed.
pub(crate) fn check_conn(
    conn: u32,
    notes: &[Note<'_>],
    send_buffer_bytes_max: usize,
    must_end: bool,
) -> Vec<Violation> {
    [
        writes_after_close(notes),
        requests_after_rejection(notes),
        writes_while_blocked(notes, send_buffer_bytes_max),
        must_end.then(|| unended(notes)).flatten(),
    ]
    .into_iter()
    .flatten()
    .map(|(check, detail)| Violation::on(conn, check, detail))
    .collect()
}

/// No byte is written after the write side was shut down or the connection closed.
fn writes_after_close(notes: &[Note<'_>]) -> Option<(Check, String)> {
    let mut closed: Option<Note<'_>> = None;
    for &(at, event) in notes {
        if let (Some((closed_at, by)), ServerEvent::Write { bytes }) = (closed, event) {
            let (at, closed_at) = (ms(at), ms(closed_at));
            let detail = format!("wrote {bytes} bytes at {at} after \"{by}\" at {closed_at}");
            return Some((Check::WriteAfterClose, detail));
        }
        let closes = matches!(
            event,
            ServerEvent::ShutdownWrite | ServerEvent::Close { .. }
        );
        if closed.is_none() && closes {
            closed = Some((at, event));
        }
    }
    None
}

/// Nothing is processed after a rejected request or once the server is closing: no request
/// or body event reaches the app after a protocol error or after the write side shut down.
fn requests_after_rejection(notes: &[Note<'_>]) -> Option<(Check, String)> {
    let mut stopped: Option<Note<'_>> = None;
    for &(at, event) in notes {
        let processed = matches!(
            event,
            ServerEvent::Request { .. } | ServerEvent::Body { .. } | ServerEvent::BodyEnd { .. }
        );
        if let (Some((stopped_at, by)), true) = (stopped, processed) {
            let (at, stopped_at) = (ms(at), ms(stopped_at));
            let detail = format!("\"{event}\" at {at} after \"{by}\" at {stopped_at}");
            return Some((Check::ProcessedAfterRejection, detail));
        }
        let stops = matches!(
            event,
            ServerEvent::ProtocolError { .. } | ServerEvent::ShutdownWrite
        );
        if stopped.is_none() && stops {
            stopped = Some((at, event));
        }
    }
    None
}

/// While the transport is blocked, no input writes once the bytes written since the block
/// reached the send buffer's bound. An input's writes come together, with no other event
/// between them (a chunk's size line, its data and its CRLF), and it is judged by what was
/// written before it: the channel takes an app's write while there is room, and the write may
/// end past the bound. A drain's own write is not the app's data: HTTP/2's GOAWAY, which
/// must go out whatever the peer reads (its control frames have a bound of their own).
fn writes_while_blocked(
    notes: &[Note<'_>],
    send_buffer_bytes_max: usize,
) -> Option<(Check, String)> {
    // When the transport blocked, and the bytes written since.
    let mut blocked: Option<(u64, usize)> = None;
    let mut after_a_write = false;
    let mut after_the_drain = false;
    for &(at, event) in notes {
        let write = matches!(event, ServerEvent::Write { .. });
        let drain = matches!(
            event,
            ServerEvent::App {
                command: AppAction::Drain
            }
        );
        if after_the_drain && write {
            continue;
        }
        after_the_drain = drain;
        match (event, &mut blocked) {
            (
                ServerEvent::Transport {
                    state: TransportState::Blocked,
                },
                None,
            ) => blocked = Some((at, 0)),
            (
                ServerEvent::Transport {
                    state: TransportState::Writable,
                },
                _,
            ) => blocked = None,
            (ServerEvent::Write { bytes }, Some((since, sum))) => {
                if *sum >= send_buffer_bytes_max && !after_a_write {
                    let detail = format!(
                        "wrote {bytes} bytes at {} while the transport was blocked (since {}) \
                         with {sum} bytes already written, the limit being {}",
                        ms(at),
                        ms(*since),
                        send_buffer_bytes_max
                    );
                    return Some((Check::WriteWhileBlocked, detail));
                }
                *sum += bytes;
            }
            _ => {}
        }
        after_a_write = write;
    }
    None
}

/// Every accepted connection ends: its socket is closed (FIN) or aborted.
fn unended(notes: &[Note<'_>]) -> Option<(Check, String)> {
    let accepted = notes
        .iter()
        .position(|&(_, e)| *e == ServerEvent::Accepted)?;
    let ended = notes[accepted..].iter().any(|&(_, e)| is_end(e));
    let at = ms(notes[accepted].0);
    let detail = format!("accepted at {at} but its socket was never closed nor aborted");
    (!ended).then_some((Check::Unended, detail))
}

fn is_end(event: &ServerEvent) -> bool {
    matches!(
        event,
        ServerEvent::SocketClosed | ServerEvent::SocketAborted
    )
}

/// Whether the server lost or aborted a request on this connection, or its app closed it, so
/// that a response may be cut short.
pub(crate) fn lost_or_aborted(notes: &[Note<'_>]) -> bool {
    notes.iter().any(|&(_, event)| {
        matches!(
            event,
            ServerEvent::Lost { .. }
                | ServerEvent::Close {
                    reason: CloseReason::Abort
                }
                | ServerEvent::SocketAborted
                // The app ended the connection where a response stood (`loseConnection`).
                | ServerEvent::App {
                    command: AppAction::Close { .. }
                }
        )
    })
}

/// Whether a network fault at one of `times` (a server restart, a partition) came while the
/// connection was open, or before it could even be accepted: such a fault breaks the
/// connection without the engine or the driver knowing.
pub(crate) fn open_during(notes: &[Note<'_>], times: &[u64]) -> bool {
    let Some(&(accepted, _)) = notes.iter().find(|&&(_, e)| *e == ServerEvent::Accepted) else {
        // Never accepted (or only by a server that restarted before it could say so).
        return !times.is_empty();
    };
    let ended = notes.iter().find(|&&(_, e)| is_end(e)).map(|&(at, _)| at);
    times
        .iter()
        .any(|&r| r >= accepted && ended.is_none_or(|e| r <= e))
}

/// The bytes the server read on the connection.
pub(crate) fn bytes_read(notes: &[Note<'_>]) -> usize {
    (notes.iter())
        .map(|&(_, event)| match event {
            ServerEvent::Read { bytes } => *bytes,
            _ => 0,
        })
        .sum()
}
