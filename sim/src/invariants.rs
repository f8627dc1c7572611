//! Invariant checks over a finished run (DESIGN.md §3, "Invariants"), so that every seed of
//! every scenario is judged the same way, whatever faults it drew. Each violation is one line,
//! `c<N>: ...` for connection N or `run: ...`.
//!
//! 1. **The wire** (each connection's received bytes): the responses are well-framed, read by
//!    an independent parser (`response_parser`), not the engine's writer, since a framing bug
//!    would otherwise check itself. A response may be cut short only when the connection did
//!    not end gracefully or a request was lost or aborted; nothing follows a response with
//!    `Connection: close`; there are no more final responses than requests (one more where the
//!    client sent garbage: the error that answers it); a `100 Continue` answers a request that
//!    asked for it, and the only interim responses are 100 and 103; every final response has
//!    a `Date`, an HTTP date no older than its request's arrival and no newer than its first
//!    byte's leaving.
//! 2. **Order**: responses answer requests in order, 1xx aside. To know which responses answer
//!    `HEAD` (and so have no body) the requests are read by an equally independent, lenient
//!    scanner (`request_scanner`). Scenarios pair them with [`exchanges`] for their own checks.
//!    The requests the engine dispatched are the client's as the scanner splits them: a
//!    prefix of them, each with its method and target, no body longer than the one sent.
//! 3. **The server's trace** (`server_trace`): nothing written after shutdown or close,
//!    nothing processed after a rejected request, buffering bounded while the transport is
//!    blocked, and every accepted connection closed. With the wire: no request reaches the
//!    app once the head of the connection's last response (`Connection: close`) has left.
//! 4. **The engine's promises** (`promises`): timers set for their configured durations and
//!    fired on time, producers moving legally and stopped when the connection ends, reading
//!    paused and resumed in turn; behind a proxy, on its upstream connections and the
//!    origin's too, each by its own configuration.
//! 5. **Liveness**, for well-behaved clients that no destructive fault touched (misbehaving
//!    ones are attackers or broken peers, and a peer FIN, reset or stall at a byte offset
//!    breaks the client's side of the bargain; both are exempt from this alone): each
//!    finished, saw the close it waited for, and got a complete final response to every
//!    request the server could answer.
//! 6. **HTTP/2 connections** are read as frames instead of responses: `h2_wire` (frames in
//!    order, one final head per stream before its data, nothing after a stream's end, every
//!    stream ended, every SETTINGS and PING the server read acknowledged, every final head
//!    dated, every request dispatched one a stream asked for, in order) and `h2_flow` (DATA
//!    within the windows the client had opened by then, frames within its frame size,
//!    header blocks unbroken, nothing above a GOAWAY's last stream, acknowledgements only of
//!    what the client sent, dates within their streams' seconds).

mod desync;
mod h2_flow;
mod h2_wire;
mod promises;
mod request_scanner;
mod response_parser;
mod server_trace;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use crate::client::{Action, ClientLog, ClientScript, ReadPolicy};
use crate::event::{
    AppAction, Check, ClientEvent, Event, Fault, LinkEnd, NetFault, ServerEvent, Violation,
};
use crate::net::by_conn;
use crate::scenario::{Origin, ProxySetup, Scenario};
use crate::trace::{ms, Entry, Trace};
use twine_engine::UsageError;

use request_scanner::{scan_requests, Scan};
use response_parser::{parse_responses, Responses};
use server_trace::Note;

/// Whether the wire's readers (`response_parser`, `request_scanner`) compare a head with the
/// one before and reuse its reading when they are the same, rather than read it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Memo {
    Compare,
    /// Every head read: what the comparison is tested against.
    #[cfg(test)]
    Off,
}

/// One request and what answered it, for scenarios' own checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The method, as sent; empty for the answer to bytes that were no request (garbage).
    pub method: String,
    /// The request target, as sent; empty for garbage.
    pub target: String,
    /// The request body, framing removed (as much as was sent).
    pub request_body: Vec<u8>,
    /// The final response's status; `None` if no final response (head) arrived.
    pub status: Option<u16>,
    /// The final response's body, framing removed; `None` unless it arrived whole.
    pub response_body: Option<Vec<u8>>,
    /// The interim (1xx) responses before the final one, in order.
    pub interim: Vec<u16>,
}

impl Exchange {
    fn unanswered(method: &str, target: &str, request_body: &[u8]) -> Exchange {
        Exchange {
            method: method.to_string(),
            target: target.to_string(),
            request_body: request_body.to_vec(),
            status: None,
            response_body: None,
            interim: Vec::new(),
        }
    }
}

/// Pairs the requests in `sent` with the responses in `received`, in order. `received` is
/// taken to end with the server's FIN (it completes a close-delimited body), as it does in a
/// finished run's `ClientLog`. Responses past a malformed one are unknown, so that is an
/// error; anything else wrong on the wire is left to [`check`].
pub fn exchanges(sent: &[u8], received: &[u8]) -> Result<Vec<Exchange>, String> {
    let wire = Wire::read(sent, received, true);
    if let Some(m) = &wire.responses.malformed {
        return Err(format!("malformed response at byte {}: {}", m.at, m.what));
    }
    let mut out: Vec<Exchange> = wire
        .scan
        .requests
        .iter()
        .map(|r| Exchange::unanswered(&r.method, &r.target, &r.body))
        .collect();
    let mut k = 0;
    for response in &wire.responses.list {
        if k == out.len() {
            out.push(Exchange::unanswered("", "", &[]));
        }
        let exchange = &mut out[k];
        if !response.is_final() {
            exchange.interim.push(response.status);
            continue;
        }
        exchange.status = Some(response.status);
        exchange.response_body = response.complete.then(|| response.body.to_vec());
        k += 1;
    }
    Ok(out)
}

/// Every violated invariant. See the module documentation.
pub fn check(scenario: &Scenario, trace: &Trace, clients: &[ClientLog]) -> Vec<Violation> {
    let mut out = Vec::new();
    if clients.len() != scenario.clients.len() {
        let (logs, scripts) = (clients.len(), scenario.clients.len());
        out.push(Violation::run(
            Check::ClientLogs,
            format!("{logs} client logs for {scripts} client scripts"),
        ));
    }
    let notes = server_notes(trace);
    // A proxy's origin restarting cuts the exchanges in flight: liveness is not owed then.
    let [restarts, origin_restarts, partitions, holds, drains] = net_fault_times(
        trace,
        [
            NetFault::RestartServer,
            NetFault::RestartOrigin,
            NetFault::Partition,
            NetFault::Hold,
            NetFault::DrainServer,
        ],
    );
    let touched = destructively_touched(trace);
    let fins = fins_sent(trace);
    let completed = run_completed(trace, clients);
    let limit = scenario.config.limits.send_buffer_bytes_max;
    let noted = (notes.iter().enumerate())
        .filter(|(_, noted)| !noted.is_empty())
        .filter_map(|(i, _)| u32::try_from(i).ok());
    let conns: BTreeSet<u32> = noted.chain(conn_numbers(clients)).collect();
    for conn in conns {
        let index = usize::try_from(conn).unwrap_or(usize::MAX);
        let notes = notes.get(index).map_or(&[][..], Vec::as_slice);
        let interrupted = server_trace::open_during(notes, &restarts);
        // A partition drops what is in flight for good (turmoil does not retransmit,
        // notes/turmoil.md A2.6), so the server may never read what the client sent, and the
        // client never read what the server sent: the wire cannot be judged against the
        // client's requests. A hold delays everything, long enough for a timer to fire.
        let partitioned = in_flight_during(trace, conn, notes, &partitions);
        let held = in_flight_during(trace, conn, notes, &holds);
        // A drain ends a connection after the requests it has begun, so a script's later
        // requests go unanswered, and a client that connects after it is refused: no
        // liveness is owed. Safety is, and a response begun is finished (the cut-short check).
        let drained = server_trace::open_during(notes, &drains);
        let index = usize::try_from(conn).unwrap_or(usize::MAX);
        if let Some(log) = clients.get(index) {
            let wire = Wire::read(&log.sent, &log.received, log.saw_eof);
            let graceful = log.saw_eof
                && log.error.is_none()
                && !log.reset_by_client
                && !interrupted
                && !server_trace::lost_or_aborted(notes);
            let h2 = h2_wire::judged_as_h2(log, scenario.negotiation);
            if !partitioned && h2 {
                let (violations, dated) = h2_wire::check_safety(conn, log);
                out.extend(violations);
                out.extend(h2_flow::check(conn, trace, h2_wire::is_h2(log), &dated));
                if !interrupted {
                    out.extend(h2_wire::check_requests(conn, log, notes));
                }
            } else if !partitioned {
                out.extend(check_wire(conn, log, &wire, graceful));
                out.extend(check_continue(conn, &wire, notes));
                out.extend(check_limits(conn, &wire, &scenario.config.limits, notes));
                out.extend(check_date(conn, &wire, notes));
                // A restart leaves the server's notes of the connection and the client's
                // log telling of different incarnations.
                if !interrupted {
                    out.extend(check_requests_as_sent(conn, &wire, notes));
                }
                out.extend(check_after_last_response(conn, &wire, notes));
            }
            // Liveness is owed to well-behaved clients no destructive fault touched, on
            // connections whose app did not end them on purpose (an abort: a proxy whose
            // origin broke off mid-body; a graceful close, which leaves later requests
            // unanswered by design).
            let app_cut = notes.iter().any(|(_, e)| {
                matches!(
                    e,
                    ServerEvent::App {
                        command: AppAction::Abort { .. } | AppAction::Close { .. }
                    }
                )
            });
            let origin_cut =
                server_trace::open_during(notes, &origin_restarts) && !origin_restarts.is_empty();
            let spared = !touched.contains(&conn)
                && !interrupted
                && !partitioned
                && !held
                && !drained
                && !app_cut
                && !origin_cut;
            let owed = |s: &&ClientScript| s.well_behaved && spared;
            let script = scenario.clients.get(index).filter(owed);
            match script {
                Some(_) if h2 => {
                    let read = server_trace::bytes_read(notes);
                    out.extend(h2_wire::check_liveness(conn, log, read));
                }
                Some(script) => out.extend(check_liveness(conn, script, log, &wire)),
                None => {}
            }
        }
        out.extend(server_trace::check_conn(
            conn,
            notes,
            limit,
            completed && !interrupted,
        ));
        out.extend(promises::check_conn(conn, notes, &scenario.config.timeouts));
        out.extend(eof_before_fin(conn, notes, fins.get(&conn).copied()));
    }
    if let Some(setup) = &scenario.proxy {
        out.extend(desync::check(trace, &setup.forward.path_prefix, clients));
        out.extend(upstream_promises(trace, setup));
        out.extend(proxy_refused(trace));
    }
    out
}

/// The proxy's commands refused, on its clients' connections or its upstream ones: it holds
/// each until its connection can take it, so none should be (a refused body followed by an
/// accepted end would cut a message short). Except those for a request the connection lost
/// or finished while they were on their way (a credit grant, an abort): the proxy hears of
/// that after it sent them, and they change nothing.
fn proxy_refused(trace: &Trace) -> Vec<Violation> {
    let refused = trace.entries.iter().find_map(|entry| {
        let (on, event) = match &entry.event {
            Event::Server { event } => (('c', entry.conn), event),
            Event::ProxyClient { conn, event } => (('p', Some(*conn)), event),
            _ => return None,
        };
        let ServerEvent::AppRefused { command, error } = event else {
            return None;
        };
        let raced = matches!(error, UsageError::RequestLost | UsageError::AlreadyFinished);
        (!raced).then_some((on, command, error))
    });
    refused
        .map(|((side, conn), command, error)| {
            let conn = conn.map_or("?".into(), |c| c.to_string());
            let detail = format!("{side}{conn}: {command} refused ({error:?})");
            Violation::run(Check::ProxyRefused, detail)
        })
        .into_iter()
        .collect()
}

/// The timer, credit, producer and reading promises on the connections behind a proxy: its own
/// upstream connections (the proxy's session is their app; their timers run for the proxy's
/// client configuration) and the origin's, when an engine serves the origin (for its own).
/// The engine's order to close ends a connection's producers (the proxy's upstream
/// connections have no socket events of their own).
fn upstream_promises(trace: &Trace, setup: &ProxySetup) -> Vec<Violation> {
    let mut hops: BTreeMap<LinkEnd, Vec<(u64, &ServerEvent)>> = BTreeMap::new();
    for entry in &trace.entries {
        let (end, event) = match &entry.event {
            Event::ProxyClient { conn, event } => (LinkEnd::Proxy(*conn), event),
            Event::Upstream { conn, event } => (LinkEnd::Origin(*conn), event),
            _ => continue,
        };
        hops.entry(end).or_default().push((entry.at_nanos, event));
    }
    let closed = |e: &ServerEvent| {
        matches!(
            e,
            ServerEvent::Close { .. } | ServerEvent::SocketClosed | ServerEvent::SocketAborted
        )
    };
    let mut out = Vec::new();
    for (end, events) in hops {
        let timers = promises::timers(&events, |timer| match (end, &setup.origin) {
            (LinkEnd::Proxy(_), _) => setup.client.timeouts.of(timer),
            (LinkEnd::Origin(_), Origin::App { config, .. }) => config.timeouts.of(timer),
            (LinkEnd::Origin(_), _) => None,
        });
        let timers = timers.map(|d| (Check::Timer, d));
        let credit = promises::credit(events.iter().copied()).map(|d| (Check::Credit, d));
        let producers = promises::producers(&events, closed).map(|d| (Check::Producer, d));
        let reading = promises::reading(&events).map(|d| (Check::Reading, d));
        let reusable = promises::reusable(&events).map(|d| (Check::Reusable, d));
        let found = timers
            .into_iter()
            .chain(credit)
            .chain(producers)
            .chain(reading);
        for (check, detail) in found.chain(reusable) {
            out.push(Violation::run(check, format!("{end}: {detail}")));
        }
    }
    out
}

/// One connection's bytes, read both ways.
struct Wire<'a> {
    scan: Scan<'a>,
    responses: Responses<'a>,
}

impl<'a> Wire<'a> {
    fn read(sent: &'a [u8], received: &'a [u8], eof: bool) -> Wire<'a> {
        let scan = scan_requests(sent);
        let responses = parse_responses(received, &scan.heads(), eof);
        Wire { scan, responses }
    }

    fn finals(&self) -> impl Iterator<Item = &response_parser::Response<'a>> {
        self.responses.list.iter().filter(|r| r.is_final())
    }
}

fn conn_numbers(clients: &[ClientLog]) -> impl Iterator<Item = u32> {
    (0..clients.len()).map_while(|i| u32::try_from(i).ok())
}

/// The server-side entries of each connection, in order, indexed by connection number (the
/// client scripts' indices: dense from 0, so a list rather than a map, which cost a search
/// per entry).
fn server_notes(trace: &Trace) -> Vec<Vec<Note<'_>>> {
    let mut notes: Vec<Vec<Note<'_>>> = Vec::new();
    for entry in &trace.entries {
        if let (Some(conn), Event::Server { event }) = (entry.conn, &entry.event) {
            by_conn(&mut notes, conn).push((entry.at_nanos, event));
        }
    }
    notes
}

/// The connections a destructive fault touched (the peer's FIN, a reset or a stall forever at
/// a byte offset, a slow sender, a client giving up): owed safety, not liveness.
fn destructively_touched(trace: &Trace) -> BTreeSet<u32> {
    let destructive = |e: &&Entry| {
        matches!(
            e.event.as_fault(),
            Some(
                Fault::PeerFinAt { .. }
                    | Fault::ResetAt { .. }
                    | Fault::StallAt { .. }
                    | Fault::SlowSender { .. }
                    | Fault::GaveUp { .. }
            )
        )
    };
    trace
        .entries
        .iter()
        .filter(destructive)
        .filter_map(|e| e.conn)
        .collect()
}

/// Whether a network fault at one of `times` came while connection `conn` had bytes that could
/// be in flight: from its accept until its client saw the end (EOF, an error, its own reset),
/// or before it was even accepted.
fn in_flight_during(trace: &Trace, conn: u32, notes: &[Note<'_>], times: &[u64]) -> bool {
    if times.is_empty() {
        return false;
    }
    let Some(&(accepted, _)) = notes.iter().find(|&&(_, e)| *e == ServerEvent::Accepted) else {
        return true;
    };
    let client_end = trace.entries.iter().find_map(|e| {
        let ended = matches!(
            e.event.as_client(),
            Some(
                ClientEvent::Eof
                    | ClientEvent::ReadError(_)
                    | ClientEvent::WriteError(_)
                    | ClientEvent::Reset
            )
        );
        (e.conn == Some(conn) && ended).then_some(e.at_nanos)
    });
    times
        .iter()
        .any(|&t| t >= accepted && client_end.is_none_or(|end| t <= end))
}

/// When each connection's peer first sent a FIN the server may read: the client shutting
/// down its write side, or a fault showing the server a FIN at a byte offset. A client that
/// ends by dropping its socket sends one too, untraced: such connections are not judged.
fn fins_sent(trace: &Trace) -> BTreeMap<u32, u64> {
    let mut fins = BTreeMap::new();
    for entry in &trace.entries {
        let fin = match &entry.event {
            Event::Client { event } => *event == ClientEvent::ShutdownWrite,
            Event::Fault { fault, .. } => matches!(fault, Fault::PeerFinAt { .. }),
            _ => false,
        };
        if let (true, Some(conn)) = (fin, entry.conn) {
            fins.entry(conn).or_insert(entry.at_nanos);
        }
    }
    fins
}

/// The server read the peer's EOF no earlier than the peer sent its FIN (`sent_at`): an input
/// stamped with a clock left behind would show its effects (a close, a timer's deadline) too
/// early.
fn eof_before_fin(conn: u32, notes: &[Note<'_>], sent_at: Option<u64>) -> Option<Violation> {
    let sent_at = sent_at?;
    let (read_at, _) = notes.iter().find(|&&(_, e)| *e == ServerEvent::ReadEof)?;
    (*read_at < sent_at).then(|| {
        let detail = format!(
            "read the peer's EOF at {}, before it was sent at {}",
            ms(*read_at),
            ms(sent_at)
        );
        Violation::on(conn, Check::Causality, detail)
    })
}

/// When the run applied each of these network faults, in one pass over the trace.
fn net_fault_times<const N: usize>(trace: &Trace, faults: [NetFault; N]) -> [Vec<u64>; N] {
    let mut times = std::array::from_fn(|_| Vec::new());
    for entry in &trace.entries {
        if let Some(Fault::Network { fault }) = entry.event.as_fault() {
            if let Some(k) = faults.iter().position(|f| f == fault) {
                times[k].push(entry.at_nanos);
            }
        }
    }
    times
}

/// Whether the run completed: the simulation ends early (with an error, reported by the run)
/// only while some client task is still going. A client ends either by finishing its script
/// or by failing to connect.
fn run_completed(trace: &Trace, clients: &[ClientLog]) -> bool {
    let connected = |conn: usize| {
        trace.entries.iter().any(|e| {
            e.conn.and_then(|c| usize::try_from(c).ok()) == Some(conn)
                && e.event.as_client() == Some(&ClientEvent::Connected)
        })
    };
    clients
        .iter()
        .enumerate()
        .all(|(i, log)| log.finished || (log.error.is_some() && !connected(i)))
}

/// Checks 1 and 2: the responses on the wire, against the requests.
fn check_wire(conn: u32, log: &ClientLog, wire: &Wire, graceful: bool) -> Vec<Violation> {
    let mut out = Vec::new();
    let responses = &wire.responses;
    if let Some(m) = &responses.malformed {
        let detail = format!("malformed response at byte {}: {}", m.at, m.what);
        out.push((Check::Malformed, detail));
    }
    if let Some(at) = responses.truncated_at.filter(|_| graceful) {
        let end = log.received.len();
        let detail = format!(
            "the response from byte {at} is cut short at EOF (byte {end}), though the \
             connection ended gracefully and no request was lost"
        );
        out.push((Check::CutShort, detail));
    }
    if let Some(at) = responses.after_close {
        let n = log.received.len() - at;
        let detail = format!("{n} bytes from byte {at} follow a response with Connection: close");
        out.push((Check::AfterClose, detail));
    }
    let (finals, requests) = (wire.finals().count(), wire.scan.requests.len());
    let garbage = wire.scan.rest_at.is_some();
    if finals > requests + usize::from(garbage) {
        let rest = if garbage { " and some garbage" } else { "" };
        let detail = format!("{finals} final responses for {requests} requests{rest}");
        out.push((Check::ExtraResponse, detail));
    }
    // A request that closes the connection is the last one answered (whatever follows it,
    // garbage included, is never read).
    if let Some(last) = wire.scan.requests.iter().position(|r| r.close) {
        if finals > last + 1 {
            let detail =
                format!("{finals} final responses, though request {last} closes the connection");
            out.push((Check::AfterClosingRequest, detail));
        }
    }
    out.extend(check_interim(wire).into_iter().map(|d| (Check::Interim, d)));
    out.into_iter()
        .map(|(check, detail)| Violation::on(conn, check, detail))
        .collect()
}

/// A `100 Continue` answers the request whose turn it is (the one after the last final
/// response), which must have asked for it, and only once; other interim responses are 103
/// only, and none goes to an HTTP/1.0 request (RFC 9110 §15.2). A 100 that came after its
/// request's final response began would take the next request's turn, so it is caught here
/// too, unless that request asked for one as well (the wire cannot tell them apart).
fn check_interim(wire: &Wire) -> Vec<String> {
    let mut out = Vec::new();
    let mut turn = 0;
    // The last request a 100 answered.
    let mut continued = None;
    for response in &wire.responses.list {
        let at = response.start;
        let request = wire.scan.requests.get(turn);
        if response.status < 200 && request.is_some_and(|r| r.http10) {
            out.push(format!(
                "interim response {} at byte {at} to HTTP/1.0 request {turn}",
                response.status
            ));
            continue;
        }
        match response.status {
            100 => match wire.scan.requests.get(turn) {
                None => out.push(format!(
                    "100 Continue at byte {at} answers no request ({turn} sent and answered)"
                )),
                Some(r) if !r.expect_continue => out.push(format!(
                    "100 Continue at byte {at} for request {turn} ({} {}), which did not send \
                     Expect: 100-continue",
                    r.method, r.target
                )),
                Some(_) if continued == Some(turn) => out.push(format!(
                    "a second 100 Continue at byte {at} for request {turn}: a 100 is a \
                     one-time signal (RFC 9110 §15.2.1)"
                )),
                Some(_) => continued = Some(turn),
            },
            102 | 103 if wire.scan.requests.get(turn).is_none() => out.push(format!(
                "interim response {} at byte {at} answers no request ({turn} sent and answered)",
                response.status
            )),
            102 | 103 => {}
            status if status < 200 => out.push(format!(
                "interim response {status} at byte {at}: only 100, 102 and 103 are expected \
                 (101 needs an upgrade the engine never makes)"
            )),
            _ => turn += 1,
        }
    }
    out
}

/// Limits are enforced at their exact bounds (DESIGN.md §2): a request over the request-line,
/// head or field-count limit, or declaring a body over the body limit, is never served (2xx);
/// one within every limit is never refused as too large (414, 431, 413) by the engine (an app
/// may answer 413 itself: a proxy relays its origin's). Requests and final responses are
/// paired in order.
fn check_limits(
    conn: u32,
    wire: &Wire,
    limits: &twine_engine::Limits,
    notes: &[Note<'_>],
) -> Vec<Violation> {
    let mut out = Vec::new();
    let app_status = |i: usize, status: u16| {
        notes.iter().any(|(_, e)| {
            matches!(e, ServerEvent::App {
                command: AppAction::Head { request, status: s }
                    | AppAction::Respond { request, status: s, .. }
            } if request.sequence() == i as u64 && *s == status)
        })
    };
    for (i, (request, response)) in wire.scan.requests.iter().zip(wire.finals()).enumerate() {
        let head_over = request.line_bytes > limits.request_line_bytes_max
            || request.head_bytes > limits.head_bytes_max
            || request.field_count > limits.header_count_max;
        // A declared length is refused from the head; a chunked body once it grows past the
        // limit, which may be after the app's response began (then it is cut, not refused).
        let body_bytes = request.content_length.unwrap_or(request.body.len() as u64);
        let body_over = limits.body_bytes_max.is_some_and(|max| body_bytes > max);
        let declared_over = body_over && request.content_length.is_some();
        let served = (200..300).contains(&response.status);
        let too_large =
            matches!(response.status, 413 | 414 | 431) && !app_status(i, response.status);
        let (line, head) = (request.line_bytes, request.head_bytes);
        // Long targets are what limits are about: show their start only.
        let what = || {
            let target: String = request.target.chars().take(40).collect();
            format!(
                "request {i} ({} {target}: line {line} bytes, head {head} bytes, {} fields, \
                 body {:?})",
                request.method, request.field_count, request.content_length
            )
        };
        if (head_over || declared_over) && served {
            let detail = format!("{} is over a limit, yet served {}", what(), response.status);
            out.push(Violation::on(conn, Check::Limit, detail));
        } else if !head_over && !body_over && too_large {
            let detail = format!(
                "{} is within every limit, yet refused {}",
                what(),
                response.status
            );
            out.push(Violation::on(conn, Check::Limit, detail));
        }
    }
    out.truncate(1);
    out
}

/// A final response's `Date` is an HTTP date, no older than the second its request reached
/// the engine and no newer than the second the engine handed out the response's first byte:
/// a date formatted once and kept too long, or read off the wrong clock, shows here. A proxy
/// relays its origin's `Date`, which the origin formatted after the proxy took the request
/// and before it answered, so the same bounds hold. Requests and final responses are paired
/// in order. Every `Date` in a run is an engine's (no app or scripted origin writes one), so
/// one that is not a date, or a final response without one, is the engine's mistake.
fn check_date(conn: u32, wire: &Wire, notes: &[Note<'_>]) -> Option<Violation> {
    let dispatched = notes.iter().filter_map(|&(at, event)| match event {
        ServerEvent::Request { .. } => Some(at),
        _ => None,
    });
    // Where each write the engine handed out ends in the stream, and when it was handed out;
    // responses come in stream order, so one walk through the writes serves them all.
    let mut end = 0;
    let mut writes = notes
        .iter()
        .filter_map(|&(at, event)| match event {
            ServerEvent::Write { bytes } => {
                end += bytes;
                Some((end, at))
            }
            _ => None,
        })
        .peekable();
    let second = crate::net::unix_second;
    let mut last = None;
    for (response, dispatched_at) in wire.finals().zip(dispatched) {
        let at = response.start;
        // The engine dates every final response (the run configures its clock's origin),
        // whoever built the rest of the head: the app, or an origin behind the proxy.
        let Some(value) = response.date else {
            let detail = format!("the response at byte {at} has no Date");
            return Some(Violation::on(conn, Check::Date, detail));
        };
        let Some(date) = unix_seconds(value, &mut last) else {
            let value = crate::escape::escape(value);
            let detail = format!("the response at byte {at} is dated {value}, not an HTTP date");
            return Some(Violation::on(conn, Check::Date, detail));
        };
        let earliest = second(dispatched_at);
        while writes.next_if(|&(end, _)| end <= at).is_some() {}
        let written = writes.peek().map(|&(_, at)| second(at));
        if date < earliest || written.is_some_and(|latest| date > latest) {
            let written = written.map_or("-".to_string(), |s| s.to_string());
            let detail = format!(
                "the response at byte {at} is dated {date} (Unix seconds), its request arrived \
                 at {earliest} and its first byte left at {written}"
            );
            return Some(Violation::on(conn, Check::Date, detail));
        }
    }
    None
}

/// The requests the engine dispatched are the client's, as the independent scanner splits
/// its bytes: the n-th dispatched has the n-th sent's method and target, none is dispatched
/// that was not sent whole in its head, and no request's body delivered to the app is longer
/// than the one sent. The engine may dispatch fewer (it refuses a bad head, or the connection
/// ends): what it takes is a prefix. A framing bug that takes a body for the next request, or
/// the next request for a body, shows here under any fault, where a scenario's own
/// expectations are not checked.
fn check_requests_as_sent(conn: u32, wire: &Wire, notes: &[Note<'_>]) -> Option<Violation> {
    let sent = &wire.scan.requests;
    // The body bytes delivered for each dispatched request, by its place in arrival order.
    let mut delivered: Vec<usize> = Vec::new();
    for (_, event) in notes {
        match event {
            ServerEvent::Request { id, line } => {
                let n = delivered.len();
                delivered.push(0);
                let Some(request) = sent.get(n) else {
                    let detail = format!(
                        "dispatched {id} {} {} but the client sent {} requests",
                        crate::escape::escape(line.method.as_bytes()),
                        crate::escape::escape(&line.target),
                        sent.len()
                    );
                    return Some(Violation::on(conn, Check::Framing, detail));
                };
                let method = line.method.as_bytes() == request.method.as_bytes();
                if !method || line.target[..] != *request.target.as_bytes() {
                    let detail = format!(
                        "dispatched {id} {} {}, where the client sent {} {}",
                        crate::escape::escape(line.method.as_bytes()),
                        crate::escape::escape(&line.target),
                        crate::escape::escape(request.method.as_bytes()),
                        crate::escape::escape(request.target.as_bytes())
                    );
                    return Some(Violation::on(conn, Check::Framing, detail));
                }
            }
            ServerEvent::Body { id, bytes } => {
                let n = usize::try_from(id.sequence()).unwrap_or(usize::MAX);
                let (Some(total), Some(request)) = (delivered.get_mut(n), sent.get(n)) else {
                    continue;
                };
                *total += bytes;
                if *total > request.body.len() {
                    let detail = format!(
                        "{id}'s body reached {total} bytes, where the client sent {}",
                        request.body.len()
                    );
                    return Some(Violation::on(conn, Check::Framing, detail));
                }
            }
            _ => {}
        }
    }
    None
}

/// Nothing is processed behind a connection's last response (DESIGN.md §2, persistence):
/// once the head of a final response with `Connection: close` has left the engine, no
/// request reaches the app, since the connection ends after that response and could never
/// answer it. Requests dispatched before that head (a deeper pipeline) are lost, not
/// processed after it.
fn check_after_last_response(conn: u32, wire: &Wire, notes: &[Note<'_>]) -> Option<Violation> {
    let last = wire.finals().find(|r| r.close)?;
    // The engine's write that carries the last response's first byte.
    let mut end = 0;
    let written = notes.iter().position(|&(_, event)| match event {
        ServerEvent::Write { bytes } => {
            end += bytes;
            end > last.start
        }
        _ => false,
    })?;
    let written_at = notes[written].0;
    let (at, event) = notes[written + 1..]
        .iter()
        .find(|(_, event)| matches!(event, ServerEvent::Request { .. }))?;
    let detail = format!(
        "\"{event}\" at {} after the head of the last response (`Connection: close`, at byte \
         {}) left at {}",
        ms(*at),
        last.start,
        ms(written_at)
    );
    Some(Violation::on(conn, Check::ProcessedAfterRejection, detail))
}

/// A `Date` value in Unix seconds, if it parses. `last` is the value read before and its
/// reading: responses repeat their date within a second, and a repeated one is not parsed
/// again.
fn unix_seconds<'a>(value: &'a [u8], last: &mut Option<(&'a [u8], u64)>) -> Option<u64> {
    if let Some((seen, date)) = *last {
        if seen == value {
            return Some(date);
        }
    }
    let date = http_date(value)?;
    *last = Some((value, date));
    Some(date)
}

/// An HTTP date (any of RFC 9110's three forms) in Unix seconds.
fn http_date(value: &[u8]) -> Option<u64> {
    let date = httpdate::parse_http_date(std::str::from_utf8(value).ok()?).ok()?;
    Some(date.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs())
}

/// `100 Continue` is lazy (DESIGN.md §2, web2): it goes out only once the app asks for the
/// body, so a connection never receives more of them than it has requests whose app granted
/// body credit.
fn check_continue(conn: u32, wire: &Wire, notes: &[Note<'_>]) -> Option<Violation> {
    // A 100 for a request that did not ask for one is the interim check's finding.
    let expecting = wire
        .scan
        .requests
        .iter()
        .filter(|r| r.expect_continue)
        .count();
    let received = wire
        .responses
        .list
        .iter()
        .filter(|r| r.status == 100)
        .count();
    let continues = received.min(expecting);
    let asked: BTreeSet<_> = notes
        .iter()
        .filter_map(|&(_, e)| match e {
            ServerEvent::App {
                command: AppAction::Consume { request, bytes },
            } if *bytes > 0 => Some(*request),
            _ => None,
        })
        .collect();
    (continues > asked.len()).then(|| {
        let detail = format!(
            "{continues} 100 Continue received, but the app asked for the body of only {} \
             requests",
            asked.len()
        );
        Violation::on(conn, Check::Continue, detail)
    })
}

/// Check 4, for a well-behaved client: it finished, saw the close it waited for, and got a
/// complete final response to each request up to the first that closes the connection.
fn check_liveness(
    conn: u32,
    script: &ClientScript,
    log: &ClientLog,
    wire: &Wire,
) -> Vec<Violation> {
    let mut out = Vec::new();
    if !log.finished {
        let detail = "a well-behaved client did not finish its script";
        out.push((Check::Unfinished, detail.to_string()));
    }
    let waited = script.wait_for_close && script.read != ReadPolicy::Never && !log.reset_by_client;
    if waited && !log.saw_eof && log.error.is_none() {
        let detail = "a well-behaved client waited for the server to close, in vain";
        out.push((Check::CloseNotSeen, detail.to_string()));
    }
    let cut_short = log.shutdown_by_client && log.sent.len() < script_bytes(script);
    if !log.reset_by_client && !cut_short {
        let requests = &wire.scan.requests;
        // Up to the first request, or response, that closes the connection.
        let by_request = requests
            .iter()
            .position(|r| r.close)
            .map_or(requests.len(), |i| i + 1);
        let by_response = wire
            .finals()
            .position(|r| r.close)
            .map_or(usize::MAX, |i| i + 1);
        let answerable = by_request.min(by_response);
        let complete = wire.finals().filter(|r| r.complete).count();
        if complete != answerable {
            let detail = format!(
                "{complete} complete final responses for the {answerable} requests the server \
                 could answer (of {} sent)",
                requests.len()
            );
            out.push((Check::Unanswered, detail));
        }
    }
    out.into_iter()
        .map(|(check, detail)| Violation::on(conn, check, detail))
        .collect()
}

/// Every byte the script sends.
fn script_bytes(script: &ClientScript) -> usize {
    let sent = |action: &Action| match action {
        Action::Send { bytes, .. } => bytes.len(),
        _ => 0,
    };
    script.actions.iter().map(sent).sum()
}
