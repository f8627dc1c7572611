//! Checks over the server's side of the trace: the engine's outputs and the driver's socket
//! events of one connection, as `server.rs` renders them ("write 149 bytes", "shutdown write",
//! "close graceful", "transport blocked", "event request req#0 GET / HTTP/1.1", ...).

/// One server-side entry: when, and what (as rendered in the trace).
pub(crate) type Note<'a> = (u64, &'a str);

/// The fault the run driver records when it restarts the server host.
pub(crate) const RESTART: &str = "network: restart server";

/// Every violation on connection `conn`. `must_end`: the run completed and no server restart
/// dropped the connection, so its socket must have been closed.
pub(crate) fn check_conn(
    conn: u32,
    notes: &[Note<'_>],
    send_buffer_bytes_max: usize,
    must_end: bool,
) -> Vec<String> {
    [
        writes_after_close(notes),
        requests_after_rejection(notes),
        writes_while_blocked(notes, send_buffer_bytes_max),
        must_end.then(|| unended(notes)).flatten(),
    ]
    .into_iter()
    .flatten()
    .map(|what| format!("c{conn}: {what}"))
    .collect()
}

/// The size of a "write N bytes" output.
fn written(what: &str) -> Option<usize> {
    what.strip_prefix("write ")?
        .strip_suffix(" bytes")?
        .parse()
        .ok()
}

/// Simulated time as the trace prints it.
pub(crate) fn ms(at_nanos: u64) -> String {
    let micros = at_nanos / 1_000;
    format!("{}.{:03}ms", micros / 1_000, micros % 1_000)
}

/// No byte is written after the write side was shut down or the connection closed.
fn writes_after_close(notes: &[Note<'_>]) -> Option<String> {
    let mut closed: Option<Note<'_>> = None;
    for &(at, what) in notes {
        if let (Some((closed_at, by)), Some(n)) = (closed, written(what)) {
            let (at, closed_at) = (ms(at), ms(closed_at));
            return Some(format!(
                "wrote {n} bytes at {at} after \"{by}\" at {closed_at}"
            ));
        }
        if closed.is_none() && (what == "shutdown write" || what.starts_with("close ")) {
            closed = Some((at, what));
        }
    }
    None
}

/// Nothing is processed after a rejected request or once the server is closing: no request
/// or body event reaches the app after a protocol error or after "shutdown write".
fn requests_after_rejection(notes: &[Note<'_>]) -> Option<String> {
    let mut stopped: Option<Note<'_>> = None;
    for &(at, what) in notes {
        let processed = what.starts_with("event request ") || what.starts_with("event body ");
        if let (Some((stopped_at, by)), true) = (stopped, processed) {
            let (at, stopped_at) = (ms(at), ms(stopped_at));
            return Some(format!("\"{what}\" at {at} after \"{by}\" at {stopped_at}"));
        }
        let stops = what.starts_with("event protocol error") || what == "shutdown write";
        if stopped.is_none() && stops {
            stopped = Some((at, what));
        }
    }
    None
}

/// Buffering stays bounded while the transport is blocked: between "transport blocked" and
/// the next "transport writable", no write starts once `send_buffer_bytes_max` bytes were
/// written (the engine must refuse data then).
fn writes_while_blocked(notes: &[Note<'_>], send_buffer_bytes_max: usize) -> Option<String> {
    // When the transport blocked, and the bytes written since.
    let mut blocked: Option<(u64, usize)> = None;
    for &(at, what) in notes {
        match (what, &mut blocked) {
            ("transport blocked", None) => blocked = Some((at, 0)),
            ("transport writable", _) => blocked = None,
            (_, Some((since, sum))) => {
                let Some(n) = written(what) else { continue };
                if *sum >= send_buffer_bytes_max {
                    return Some(format!(
                        "wrote {n} bytes at {} while the transport was blocked (since {}) \
                         with {sum} bytes already written, the limit being {}",
                        ms(at),
                        ms(*since),
                        send_buffer_bytes_max
                    ));
                }
                *sum += n;
            }
            _ => {}
        }
    }
    None
}

/// Every accepted connection ends: its socket is closed (FIN) or aborted.
fn unended(notes: &[Note<'_>]) -> Option<String> {
    let accepted = notes.iter().position(|&(_, what)| what == "accepted")?;
    let ended = notes[accepted..].iter().any(|&(_, what)| is_end(what));
    let at = ms(notes[accepted].0);
    (!ended).then(|| format!("accepted at {at} but its socket was never closed nor aborted"))
}

fn is_end(what: &str) -> bool {
    what == "socket closed (FIN)" || what == "socket aborted"
}

/// Whether the server lost or aborted a request on this connection, so that a response may be
/// cut short.
pub(crate) fn lost_or_aborted(notes: &[Note<'_>]) -> bool {
    notes.iter().any(|&(_, what)| {
        what.starts_with("event lost") || what == "close abort" || what == "socket aborted"
    })
}

/// Whether a server restart (at one of `restarts`) came while the connection was open: it
/// drops the connection without the engine or the driver knowing.
pub(crate) fn interrupted_by_restart(notes: &[Note<'_>], restarts: &[u64]) -> bool {
    let Some(&(accepted, _)) = notes.iter().find(|&&(_, what)| what == "accepted") else {
        // Never accepted (or only by a server that restarted before it could say so).
        return !restarts.is_empty();
    };
    let ended = notes
        .iter()
        .find(|&&(_, what)| is_end(what))
        .map(|&(at, _)| at);
    restarts
        .iter()
        .any(|&r| r >= accepted && ended.is_none_or(|e| r <= e))
}
