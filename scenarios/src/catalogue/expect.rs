//! Expectations scenarios check on top of the invariants, each returning one violation per
//! failure. Trace expectations match typed events (`twine_sim::pattern`), never rendered text.

use twine_sim::invariants::exchanges;
use twine_sim::trace::Entry;
use twine_sim::{Check, Outcome, Pattern, ServerEvent, Violation};

/// Connection `conn` received these response status codes, in order (interim ones included),
/// as read by the harness's independent response parser.
pub fn statuses(outcome: &Outcome, conn: usize, expected: &[u16]) -> Vec<Violation> {
    let log = &outcome.clients[conn];
    let exchanges = match exchanges(&log.sent, &log.received) {
        Ok(exchanges) => exchanges,
        Err(error) => return failed_on(conn, error),
    };
    let found: Vec<u16> = exchanges
        .iter()
        .flat_map(|e| e.interim.iter().copied().chain(e.status))
        .collect();
    if found == expected {
        Vec::new()
    } else {
        failed_on(
            conn,
            format!("expected statuses {expected:?}, got {found:?}"),
        )
    }
}

/// Connection `conn`'s responses carried these bodies, in order (`None`: no whole body).
pub fn bodies(outcome: &Outcome, conn: usize, expected: &[Option<&[u8]>]) -> Vec<Violation> {
    let log = &outcome.clients[conn];
    let exchanges = match exchanges(&log.sent, &log.received) {
        Ok(exchanges) => exchanges,
        Err(error) => return failed_on(conn, error),
    };
    let found: Vec<Option<&[u8]>> = exchanges
        .iter()
        .map(|e| e.response_body.as_deref())
        .collect();
    if found == expected {
        Vec::new()
    } else {
        failed_on(conn, format!("expected bodies {expected:?}, got {found:?}"))
    }
}

/// Connection `conn` received exactly these bytes.
pub fn received(outcome: &Outcome, conn: usize, expected: &[u8]) -> Vec<Violation> {
    let got = &outcome.clients[conn].received;
    received_as(conn, expected, got, got)
}

/// Connection `conn` received exactly these bytes, where each `Date: *` of `expected` stands
/// for any one IMF-fixdate (29 bytes): for exact heads in runs whose faults move the clock.
pub fn received_dated(outcome: &Outcome, conn: usize, expected: &[u8]) -> Vec<Violation> {
    const FIELD: &[u8] = b"Date: ";
    const DATE_LEN: usize = 29;
    let got = &outcome.clients[conn].received;
    let mut masked = Vec::with_capacity(got.len());
    let mut rest = &got[..];
    while let Some(at) = rest.windows(FIELD.len()).position(|w| w == FIELD) {
        let date_end = (at + FIELD.len() + DATE_LEN).min(rest.len());
        masked.extend_from_slice(&rest[..at + FIELD.len()]);
        masked.push(b'*');
        rest = &rest[date_end..];
    }
    masked.extend_from_slice(rest);
    received_as(conn, expected, &masked, got)
}

/// What connection `conn` received, as compared (`seen`), is `expected`; a failure shows the
/// bytes as they came (`got`).
fn received_as(conn: usize, expected: &[u8], seen: &[u8], got: &[u8]) -> Vec<Violation> {
    if seen == expected {
        return Vec::new();
    }
    failed_on(
        conn,
        format!(
            "expected to receive {}, got {}",
            twine_sim::trace::escape(expected),
            twine_sim::trace::escape(got)
        ),
    )
}

/// Connection `conn` received these byte strings in this order, each after the end of the
/// last, however the bytes were split into segments.
pub fn received_in_order(outcome: &Outcome, conn: usize, parts: &[&[u8]]) -> Vec<Violation> {
    let got = &outcome.clients[conn].received;
    let mut from = 0;
    for part in parts {
        let found = got[from..]
            .windows(part.len().max(1))
            .position(|window| window == *part);
        match found {
            Some(at) => from += at + part.len(),
            None => {
                let part = twine_sim::trace::escape(part);
                return failed_on(conn, format!("did not receive {part} in order"));
            }
        }
    }
    Vec::new()
}

/// The trace has entries matching these patterns, in this order (each after the last).
pub fn in_order(outcome: &Outcome, patterns: &[Pattern]) -> Vec<Violation> {
    let mut from = 0;
    for pattern in patterns {
        match pattern.find(&outcome.trace, from) {
            Some(at) => from = at + 1,
            None => return failed(format!("trace: {pattern} missing or out of order")),
        }
    }
    Vec::new()
}

/// The trace of connection `conn` has entries matching these patterns, in this order.
pub fn in_order_on(outcome: &Outcome, conn: u32, patterns: &[Pattern]) -> Vec<Violation> {
    let on: Vec<Pattern> = patterns.iter().map(|p| p.clone().on(conn)).collect();
    in_order(outcome, &on)
}

/// On connection `conn`, `fired` (a timer firing) came exactly `millis` after the last entry
/// matching `since` before it: a duration measured from an event, which holds however the
/// bytes before it were cut.
pub fn fired_after(
    outcome: &Outcome,
    conn: u32,
    fired: Pattern,
    since: Pattern,
    millis: u64,
) -> Vec<Violation> {
    let (fired, since) = (fired.on(conn), since.on(conn));
    let entries = &outcome.trace.entries;
    let Some(at) = fired.find(&outcome.trace, 0) else {
        return failed(format!("trace: {fired} missing"));
    };
    let Some(from) = entries[..at].iter().rev().find(|e| since.matches(e)) else {
        return failed(format!("trace: no {since} before {fired}"));
    };
    let after = (entries[at].at_nanos - from.at_nanos) / 1_000_000;
    if entries[at].at_nanos - from.at_nanos == millis * 1_000_000 {
        Vec::new()
    } else {
        failed(format!(
            "trace: {fired} {after}ms after the last {since}, expected {millis}ms"
        ))
    }
}

/// No entry of connection `conn` matches `pattern`.
pub fn absent_on(outcome: &Outcome, conn: u32, pattern: Pattern) -> Vec<Violation> {
    absent(outcome, pattern.on(conn))
}

/// No entry of the trace matches `pattern`.
pub fn absent(outcome: &Outcome, pattern: Pattern) -> Vec<Violation> {
    match pattern.count(&outcome.trace) {
        0 => Vec::new(),
        _ => failed(format!("trace: {pattern} should not happen")),
    }
}

/// Exactly `n` entries of the trace match `pattern`.
pub fn count(outcome: &Outcome, pattern: Pattern, n: usize) -> Vec<Violation> {
    match pattern.count(&outcome.trace) {
        found if found == n => Vec::new(),
        found => failed(format!("trace: {pattern} {found} times, expected {n}")),
    }
}

/// Bytes the server read in `entries`.
pub fn server_read_bytes(entries: &[Entry]) -> u64 {
    let read = |e: &Entry| match e.event.as_server() {
        Some(ServerEvent::Read { bytes }) => *bytes as u64,
        _ => 0,
    };
    entries.iter().map(read).sum()
}

/// Connection `conn`'s server had read exactly `bytes` bytes before the first entry matching
/// `marker`, in however many reads.
pub fn read_before(outcome: &Outcome, conn: u32, marker: Pattern, bytes: u64) -> Vec<Violation> {
    if marker.find(&outcome.trace, 0).is_none() {
        return failed(format!("trace: {marker} missing"));
    }
    let on_conn: Vec<Entry> = before_first(outcome, &marker)
        .iter()
        .filter(|e| e.conn == Some(conn))
        .cloned()
        .collect();
    match server_read_bytes(&on_conn) {
        read if read == bytes => Vec::new(),
        read => failed(format!(
            "trace: c{conn} read {read} bytes before {marker}, expected {bytes}"
        )),
    }
}

/// The entries from the first that matches `from` (included) to the end.
pub fn from_first<'a>(outcome: &'a Outcome, from: &Pattern) -> Option<&'a [Entry]> {
    let at = from.find(&outcome.trace, 0)?;
    Some(&outcome.trace.entries[at..])
}

/// The entries before the first that matches `to`, or all of them.
pub fn before_first<'a>(outcome: &'a Outcome, to: &Pattern) -> &'a [Entry] {
    let end = to
        .find(&outcome.trace, 0)
        .unwrap_or(outcome.trace.entries.len());
    &outcome.trace.entries[..end]
}

/// One failed expectation about the run.
pub fn failed(detail: String) -> Vec<Violation> {
    vec![Violation::run(Check::Expectation, detail)]
}

/// One failed expectation about connection `conn`.
pub fn failed_on<C: TryInto<u32>>(conn: C, detail: String) -> Vec<Violation> {
    let conn = conn.try_into().unwrap_or(u32::MAX);
    vec![Violation::on(conn, Check::Expectation, detail)]
}

/// Connection `conn` saw the server close (EOF), not a reset.
pub fn clean_eof(outcome: &Outcome, conn: usize) -> Vec<Violation> {
    let log = &outcome.clients[conn];
    if log.saw_eof && log.error.is_none() {
        Vec::new()
    } else {
        failed_on(
            conn,
            format!(
                "expected a clean EOF, got eof={} error={:?}",
                log.saw_eof, log.error
            ),
        )
    }
}

/// All the expectation lists joined.
pub fn all(lists: impl IntoIterator<Item = Vec<Violation>>) -> Vec<Violation> {
    lists.into_iter().flatten().collect()
}
