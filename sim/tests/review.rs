//! Exploration (temporary).
#![allow(unused)]
use std::rc::Rc;
use std::time::Duration;

use twine_driver::apps::{Echo, Stream};
use twine_engine::Config;
use twine_sim::trace::Entry;
use twine_sim::{
    app, invariants, run, Action, ClientLog, ClientScript, Event, Scenario, Seed, Trace,
};

/// Checks a hand-made connection 0: the script, what it received, the server's notes.
fn verdict(script: ClientScript, received: &[u8], tweak: impl FnOnce(&mut ClientLog), notes: &[&str]) -> Vec<String> {
    let mut sent = Vec::new();
    for a in &script.actions { if let Action::Send { bytes, .. } = a { sent.extend_from_slice(bytes); } }
    let mut log = ClientLog { sent, received: received.to_vec(), saw_eof: true, error: None, reset_by_client: false, shutdown_by_client: false, finished: true };
    tweak(&mut log);
    let mut scenario = Scenario::new("review/check", Config::new(), app::<Echo>());
    scenario.clients.push(script);
    let mut entries = Vec::new();
    let mut all = vec!["accepted"]; all.extend_from_slice(notes); all.push("socket closed (FIN)");
    for (i, what) in all.iter().enumerate() {
        entries.push(Entry { at_nanos: i as u64 * 1_000_000, conn: Some(0), event: Event::Server { what: what.to_string() } });
    }
    invariants::check(&scenario, &Trace { entries }, &[log])
}

const OK0: &str = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
const GET: &str = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";

#[test]
fn probes() {
    let r = |name: &str, v: Vec<String>| println!("{name}: {v:?}");
    // FN: garbage after a complete response, connection reset
    r("garbage-after-reset", verdict(ClientScript::new().send(GET).misbehaving(), b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokXYZ", |l| { l.saw_eof = false; l.error = Some("connection reset".into()); }, &[]));
    r("garbage-after-graceful", verdict(ClientScript::new().send(GET).misbehaving(), b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokXYZ", |_| {}, &[]));
    r("103-after-final", verdict(ClientScript::new().send(GET), format!("{OK0}HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n").as_bytes(), |_| {}, &[]));
    r("100-after-final", verdict(ClientScript::new().send(GET), format!("{OK0}HTTP/1.1 100 Continue\r\n\r\n").as_bytes(), |_| {}, &[]));
    r("body-after-protocol-error", verdict(ClientScript::new().send("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").misbehaving(), b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", |_| {}, &["event request req#0 POST / HTTP/1.1", "event protocol error req#0: bad chunk (400)", "event body req#0 5 bytes", "event body end req#0", "write 10 bytes"]));
    r("request-after-protocol-error", verdict(ClientScript::new().send("POST / HTTP/1.1\r\n\r\n").misbehaving(), b"", |_| {}, &["event protocol error: bad (400)", "event request req#1 GET / HTTP/1.1"]));
    r("write-after-close", verdict(ClientScript::new().send(GET).misbehaving(), OK0.as_bytes(), |_| {}, &["shutdown write", "write 3 bytes"]));
    r("second-response-after-request-close-misbehaving", verdict(ClientScript::new().send("GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n").misbehaving(), format!("{OK0}{OK0}").as_bytes(), |_| {}, &[]));
    r("second-response-after-http10", verdict(ClientScript::new().send("GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\n\r\n").misbehaving(), format!("{OK0}{OK0}").as_bytes(), |_| {}, &[]));
    r("two-finals-one-request", verdict(ClientScript::new().send(GET).misbehaving(), format!("{OK0}{OK0}").as_bytes(), |_| {}, &[]));
    r("after-close-split", verdict(ClientScript::new().send(GET).misbehaving(), b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\nX", |_| {}, &[]));
    r("never-closed", { let mut s = ClientScript::new().send(GET).misbehaving(); verdict(s, OK0.as_bytes(), |l| { l.finished = false; l.saw_eof = false; }, &[]) });
    // FP
    r("http10-close-delimited", verdict(ClientScript::new().send("GET / HTTP/1.0\r\n\r\n"), b"HTTP/1.0 200 OK\r\nServer: s\r\n\r\nall of it", |_| {}, &[]));
    r("head-cl", verdict(ClientScript::new().send("HEAD / HTTP/1.1\r\nConnection: close\r\n\r\n"), b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n", |_| {}, &[]));
    r("304-cl", verdict(ClientScript::new().send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\nConnection: close\r\n\r\n", |_| {}, &[]));
    r("1xx-204", verdict(ClientScript::new().send("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"), b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", |_| {}, &[]));
    r("chunked-ext-trailers", verdict(ClientScript::new().send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;a=b;c=\"d e\"\r\nhello\r\n0;x\r\nT: v\r\n\r\n", |_| {}, &[]));
    r("server-closes-pipeline", verdict(ClientScript::new().send("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"), b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", |_| {}, &[]));
}
