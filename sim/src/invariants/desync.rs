//! The desync check of a proxy run (DESIGN.md §5, "No desync"): the requests the origin
//! receives are exactly the clients' requests as the proxy accepted them, in each client
//! connection's order, with their bodies, and nothing else.
//!
//! The proxy's side is its server channel's events (`c0`, `c1`, ...: a request the channel
//! rejected has no `Request` event, so it must never reach the origin); the origin's is its
//! engine's events (`u0`, `u1`, ...) or, for a scripted origin, the request lines it read.
//! Each origin request must be the next unmatched request of some client connection (a
//! retry may repeat an idempotent request without a body once; a request the proxy answered
//! with a gateway error may never have reached the origin, and is skipped, as is a CONNECT,
//! which the proxy answers itself and never forwards: no tunnels), and an origin
//! request whose body ended must match a client request whose body ended, with as many
//! bytes.
//!
//! And the other way: a response a scripted origin cut short (its bytes, read by the
//! independent response parser, end mid-response) never reaches its client complete: the
//! proxy must cut it too (Twisted finished it as if whole).

use std::collections::BTreeMap;

use twine_engine::RequestId;

use super::response_parser::parse_responses;
use super::Wire;
use crate::client::ClientLog;
use crate::event::{AppAction, Check, Event, ServerEvent, Violation};
use crate::trace::{ms, Trace};

/// One request as one side saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    at: u64,
    method: String,
    target: String,
    /// Body bytes delivered, and whether the body ended.
    body: u64,
    ended: bool,
    /// The request's id on its connection (a restarted server starts them again).
    id: RequestId,
    /// Answered with a gateway error (502, 503, 504): the proxy may have given up on it before
    /// the origin read it (the origin restarted, say), so the origin need not have seen it.
    gateway_error: bool,
}

impl Seen {
    /// Whether the origin may never see this client request: one the proxy answered with a
    /// gateway error, or a CONNECT, which the proxy refuses itself (it makes no tunnels).
    fn may_stay_unseen(&self) -> bool {
        self.gateway_error || self.method == "CONNECT"
    }
}

/// Every desync finding of a proxy run whose origin puts `prefix` before targets.
pub(crate) fn check(trace: &Trace, prefix: &[u8], logs: &[ClientLog]) -> Vec<Violation> {
    let clients = requests(trace, |entry| match (&entry.event, entry.conn) {
        (Event::Server { event }, Some(conn)) => Some((conn, event)),
        _ => None,
    });
    let origin = requests(trace, |entry| match &entry.event {
        Event::Upstream { conn, event } => Some((*conn, event)),
        _ => None,
    });
    let mut origin_requests: Vec<(u32, Seen)> = origin
        .into_iter()
        .flat_map(|(conn, list)| list.into_iter().map(move |r| (conn, r)))
        .collect();
    let scripted = scripted_requests(trace);
    let cut = scripted_cuts(trace, &scripted);
    origin_requests.extend(scripted);
    origin_requests.sort_by_key(|(_, r)| r.at);
    let prefix = String::from_utf8_lossy(prefix).into_owned();
    // Per client connection: how many of its requests the origin has seen so far.
    let mut next: BTreeMap<u32, usize> = BTreeMap::new();
    // The last request matched fresh, while it may still be retried once.
    let mut last: Option<(u32, usize)> = None;
    let mut out = Vec::new();
    for (origin_conn, request) in &origin_requests {
        if request.method == "CONNECT" {
            out.push(Violation::run(
                Check::Desync,
                format!(
                    "u{origin_conn} received CONNECT {} at {}: this proxy makes no tunnels",
                    request.target,
                    ms(request.at)
                ),
            ));
            continue;
        }
        let expected = |r: &Seen| {
            let target = if r.target.starts_with('/') {
                format!("{prefix}{}", r.target)
            } else {
                request.target.clone()
            };
            r.method == request.method && target == request.target
        };
        // The client's next request, past any the proxy answered itself without the origin
        // seeing them.
        let fresh = clients.iter().find_map(|(conn, list)| {
            let from = next.get(conn).copied().unwrap_or(0);
            let (i, r) = list
                .iter()
                .enumerate()
                .skip(from)
                .find(|(_, r)| expected(r) || !r.may_stay_unseen())?;
            expected(r).then_some((*conn, i, r))
        });
        let retry = last.and_then(|(conn, i)| {
            let r = &clients[&conn][i];
            // The proxy's retry rule: an idempotent request (RFC 9110 §9.2.2) without a body.
            let idempotent = ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"];
            let replayable = idempotent.contains(&r.method.as_str()) && r.body == 0 && expected(r);
            replayable.then_some((conn, i, r))
        });
        let Some((conn, i, client)) = fresh.or(retry) else {
            out.push(Violation::run(
                Check::Desync,
                format!(
                    "u{origin_conn} received {} {} at {}, which is no client's next request",
                    request.method,
                    request.target,
                    ms(request.at)
                ),
            ));
            continue;
        };
        if fresh.is_some() {
            next.insert(conn, i + 1);
            last = Some((conn, i));
        } else {
            // Retried once: a second repeat is no retry.
            last = None;
        }
        if cut.contains(&(*origin_conn, request.at)) && client_complete(trace, logs, conn, i) {
            out.push(Violation::on(
                conn,
                Check::Desync,
                format!(
                    "u{origin_conn} cut its response to {} {}, yet the client received it \
                     complete",
                    client.method, client.target
                ),
            ));
        }
        if request.ended && !(client.ended && client.body == request.body) {
            out.push(Violation::on(
                conn,
                Check::Desync,
                format!(
                    "u{origin_conn} received a complete {}-byte body for request {i} ({} {}), \
                     whose client body was {} bytes{}",
                    request.body,
                    client.method,
                    client.target,
                    client.body,
                    if client.ended { "" } else { " and unfinished" }
                ),
            ));
        }
    }
    out.truncate(3);
    out
}

/// Requests per connection from one side's engine events.
fn requests<'a>(
    trace: &'a Trace,
    side: impl Fn(&'a crate::trace::Entry) -> Option<(u32, &'a ServerEvent)>,
) -> BTreeMap<u32, Vec<Seen>> {
    let mut out: BTreeMap<u32, Vec<Seen>> = BTreeMap::new();
    for entry in &trace.entries {
        let Some((conn, event)) = side(entry) else {
            continue;
        };
        let list = out.entry(conn).or_default();
        match event {
            ServerEvent::Request { id, line } => {
                list.push(Seen {
                    at: entry.at_nanos,
                    method: String::from_utf8_lossy(line.method.as_bytes()).into_owned(),
                    target: String::from_utf8_lossy(&line.target).into_owned(),
                    body: 0,
                    ended: false,
                    id: *id,
                    gateway_error: false,
                });
            }
            ServerEvent::App {
                command: AppAction::Head { request, status },
            } => {
                // Ids are per connection and in order; a restarted server starts again, so
                // the latest request with this id.
                if let Some(seen) = list.iter_mut().rev().find(|r| r.id == *request) {
                    seen.gateway_error = matches!(status, 502..=504);
                }
            }
            ServerEvent::Body { bytes, .. } => {
                if let Some(last) = list.last_mut() {
                    last.body += *bytes as u64;
                }
            }
            ServerEvent::BodyEnd { .. } => {
                if let Some(last) = list.last_mut() {
                    last.ended = true;
                }
            }
            _ => {}
        }
    }
    out
}

/// The requests (by origin connection and time) whose response a scripted origin cut short:
/// what it wrote, read by the independent parser, ends inside that response.
fn scripted_cuts(trace: &Trace, requests: &[(u32, Seen)]) -> Vec<(u32, u64)> {
    let mut sent: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    for entry in &trace.entries {
        if let Event::UpstreamSent { conn, bytes } = &entry.event {
            sent.entry(*conn).or_default().extend_from_slice(bytes);
        }
    }
    let mut out = Vec::new();
    for (conn, bytes) in sent {
        let asked: Vec<&Seen> = requests
            .iter()
            .filter(|(c, _)| *c == conn)
            .map(|(_, r)| r)
            .collect();
        let heads: Vec<bool> = asked.iter().map(|r| r.method == "HEAD").collect();
        let responses = parse_responses(&bytes, &heads, true);
        let finals = responses.list.iter().filter(|r| r.is_final());
        for (request, response) in asked.iter().zip(finals) {
            if !response.complete {
                out.push((conn, request.at));
            }
        }
    }
    out
}

/// Whether client `conn` received a complete final response to its request `i`. A server that
/// aborted the connection reset it on a real socket, so its EOF ends no close-delimited body
/// (turmoil delivers an abort as a plain EOF).
fn client_complete(trace: &Trace, clients: &[ClientLog], conn: u32, i: usize) -> bool {
    let Some(log) = usize::try_from(conn).ok().and_then(|c| clients.get(c)) else {
        return false;
    };
    let aborted = trace.entries.iter().any(|entry| {
        entry.conn == Some(conn)
            && matches!(
                entry.event,
                Event::Server {
                    event: ServerEvent::SocketAborted
                }
            )
    });
    let wire = Wire::read(&log.sent, &log.received, log.saw_eof && !aborted);
    let complete = wire.finals().nth(i).is_some_and(|r| r.complete);
    complete
}

/// The request lines a scripted origin read (its heads only: bodies are not judged there).
fn scripted_requests(trace: &Trace) -> Vec<(u32, Seen)> {
    let mut read: BTreeMap<u32, (u64, Vec<u8>)> = BTreeMap::new();
    for entry in &trace.entries {
        if let Event::UpstreamReceived { conn, bytes } = &entry.event {
            let slot = read.entry(*conn).or_insert((entry.at_nanos, Vec::new()));
            slot.1.extend_from_slice(bytes);
        }
    }
    let mut out = Vec::new();
    for (conn, (at, bytes)) in read {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        for head in text.split("\r\n\r\n").filter(|h| !h.is_empty()) {
            let line = head.lines().next().unwrap_or_default();
            let mut words = line.split(' ');
            if let (Some(method), Some(target), Some(version)) =
                (words.next(), words.next(), words.next())
            {
                if version.starts_with("HTTP/") {
                    let (method, target) = (method.to_string(), target.to_string());
                    let (body, ended) = (0, false);
                    out.push((
                        conn,
                        Seen {
                            at,
                            method,
                            target,
                            body,
                            ended,
                            // The origin's side: no id and no answer to judge.
                            id: RequestId::from_sequence(0),
                            gateway_error: false,
                        },
                    ));
                }
            }
        }
    }
    out
}
