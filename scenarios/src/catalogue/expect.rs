//! Expectations scenarios check on top of the invariants, each returning one line per failure.

use twine_sim::invariants::exchanges;
use twine_sim::Outcome;

/// Connection `conn` received these response status codes, in order (interim ones included),
/// as read by the harness's independent response parser.
pub fn statuses(outcome: &Outcome, conn: usize, expected: &[u16]) -> Vec<String> {
    let log = &outcome.clients[conn];
    let exchanges = match exchanges(&log.sent, &log.received) {
        Ok(exchanges) => exchanges,
        Err(error) => return vec![format!("c{conn}: {error}")],
    };
    let found: Vec<u16> = exchanges
        .iter()
        .flat_map(|e| e.interim.iter().copied().chain(e.status))
        .collect();
    if found == expected {
        Vec::new()
    } else {
        vec![format!(
            "c{conn}: expected statuses {expected:?}, got {found:?}"
        )]
    }
}

/// Connection `conn`'s responses carried these bodies, in order (`None`: no whole body).
pub fn bodies(outcome: &Outcome, conn: usize, expected: &[Option<&[u8]>]) -> Vec<String> {
    let log = &outcome.clients[conn];
    let exchanges = match exchanges(&log.sent, &log.received) {
        Ok(exchanges) => exchanges,
        Err(error) => return vec![format!("c{conn}: {error}")],
    };
    let found: Vec<Option<&[u8]>> = exchanges
        .iter()
        .map(|e| e.response_body.as_deref())
        .collect();
    if found == expected {
        Vec::new()
    } else {
        vec![format!(
            "c{conn}: expected bodies {expected:?}, got {found:?}"
        )]
    }
}

/// Connection `conn` received exactly these bytes.
pub fn received(outcome: &Outcome, conn: usize, expected: &[u8]) -> Vec<String> {
    let got = &outcome.clients[conn].received;
    if got == expected {
        Vec::new()
    } else {
        vec![format!(
            "c{conn}: expected to receive {}, got {}",
            twine_sim::trace::escape(expected),
            twine_sim::trace::escape(got)
        )]
    }
}

/// The trace has these lines, in this order (each a substring of a line).
pub fn in_order(outcome: &Outcome, lines: &[&str]) -> Vec<String> {
    let text = outcome.trace.to_text();
    let mut rest = text.as_str();
    for line in lines {
        match rest.find(line) {
            Some(at) => rest = &rest[at + line.len()..],
            None => return vec![format!("trace: {line:?} missing or out of order")],
        }
    }
    Vec::new()
}

/// The trace never has this text.
pub fn absent(outcome: &Outcome, text: &str) -> Vec<String> {
    if outcome.trace.to_text().contains(text) {
        vec![format!("trace: {text:?} should not happen")]
    } else {
        Vec::new()
    }
}

/// Connection `conn` saw the server close (EOF), not a reset.
pub fn clean_eof(outcome: &Outcome, conn: usize) -> Vec<String> {
    let log = &outcome.clients[conn];
    if log.saw_eof && log.error.is_none() {
        Vec::new()
    } else {
        vec![format!(
            "c{conn}: expected a clean EOF, got eof={} error={:?}",
            log.saw_eof, log.error
        )]
    }
}

/// All the expectation lists joined.
pub fn all(lists: impl IntoIterator<Item = Vec<String>>) -> Vec<String> {
    lists.into_iter().flatten().collect()
}
