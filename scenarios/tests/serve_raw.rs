//! `twine serve` end to end over raw sockets: the first line, persistence, pipelining, chunked
//! uploads, 100-continue, half-close, protocol errors, early 413 with lingering close,
//! streaming and backpressure, usage errors, graceful shutdown, idle and slowloris timeouts.
//!
//! Every socket operation is bounded by `common::IO_TIMEOUT` (10 s).

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{check_stream_pattern, run_twine, Server};
use twine_apps::stream::expected_body;

/// What echo answers to a request with an empty body, `Date` normalised.
const EMPTY_200: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                         Content-Length: 0\r\nDate: *\r\nServer: twine\r\n\r\n";

/// What echo answers to a request with a `Content-Length` body, `Date` normalised.
fn echo_200(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\
         Date: *\r\nServer: twine\r\n\r\n{body}",
        body.len()
    )
}

// 1.

#[test]
fn first_line_is_listening_on() {
    let server = Server::start(&["--app", "echo"]);
    let line = &server.first_line;
    let rest = line
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("first line {line:?}"));
    let addr = rest
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("first line {line:?} does not end with a newline"));
    assert!(!addr.ends_with('\r'), "no CR: {line:?}");
    let (ip, port) = addr.rsplit_once(':').expect("IP:PORT");
    assert_eq!(ip, "127.0.0.1", "{line:?}");
    assert!(
        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !port.starts_with('0'),
        "port {port:?}"
    );
    let port: u16 = port.parse().expect("port fits u16");
    assert_ne!(port, 0, "port 0 must be resolved to the real port");
    assert_eq!(server.addr.port(), port);
    // And the address is really the one served.
    let mut c = server.connect();
    c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.read_response().status, 200);
}

// 2.

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = Server::start(&["--app", "echo"]);
    let mut c = server.connect();
    c.send("GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
    let first = c.read_response();
    assert_eq!(first.normalized(), EMPTY_200);
    c.send("POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
    let second = c.read_response();
    assert_eq!(second.normalized(), echo_200("abc"));
    // Still open: a third request on the same socket works.
    c.send("GET /three HTTP/1.1\r\nHost: a\r\n\r\n");
    let third = c.read_response();
    assert_eq!(third.normalized(), EMPTY_200);
    for r in [&first, &second, &third] {
        assert!(!r.closes(), "persistent connection, yet: {}", r.head);
    }
}

#[test]
fn bodiless_requests_are_finished_and_keep_the_connection() {
    // GET, HEAD, an empty POST and a DELETE without a body: each is answered completely, so
    // the next one on the connection is read.
    let server = Server::start(&["--app", "echo"]);
    let mut c = server.connect();
    c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.read_response().normalized(), EMPTY_200);
    c.send("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.read_response_to("HEAD").normalized(), EMPTY_200);
    c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(c.read_response().normalized(), EMPTY_200);
    c.send("DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n");
    let r = c.read_response();
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(r.body.is_empty());
    c.send("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let last = c.read_response();
    assert!(last.closes(), "{}", last.head);
    c.expect_eof();
}

// 3.

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = Server::start(&["--app", "echo"]);
    let mut c = server.connect();
    c.send(
        "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nfirst\
         GET /2 HTTP/1.1\r\nHost: a\r\n\r\n\
         POST /3 HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nthird!",
    );
    let responses: Vec<_> = (0..3).map(|_| c.read_response()).collect();
    let statuses: Vec<_> = responses.iter().map(|r| r.status_line.as_str()).collect();
    assert_eq!(statuses, ["HTTP/1.1 200 OK"; 3]);
    let bodies: Vec<_> = responses.iter().map(|r| r.body.as_slice()).collect();
    assert_eq!(bodies, [&b"first"[..], b"", b"third!"]);
    assert_eq!(responses[0].normalized(), echo_200("first"));
    assert_eq!(responses[1].normalized(), EMPTY_200);
    assert_eq!(responses[2].normalized(), echo_200("third!"));
    // Nothing else, and the connection is still usable.
    c.send("GET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let last = c.read_response();
    assert_eq!(last.status, 200);
    assert!(last.closes(), "{}", last.head);
    c.expect_eof();
}

// 4.

#[test]
fn chunked_upload_with_extension_and_trailer_is_decoded() {
    let server = Server::start(&["--app", "echo"]);
    let mut c = server.connect();
    c.send(
        "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\
         5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n",
    );
    let r = c.read_response();
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.body, b"hello, world");
    assert_eq!(r.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(r.header("Content-Length"), None);
    assert_eq!(r.header("Content-Type"), Some("application/octet-stream"));
    // The trailer was consumed: the next request on the connection is parsed cleanly.
    c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.read_response().normalized(), EMPTY_200);
}

// 5.

#[test]
fn expect_100_continue_gets_100_then_the_response() {
    let server = Server::start(&["--app", "echo"]);
    let mut c = server.connect();
    c.send("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    let interim = c.read_exact_bytes(b"HTTP/1.1 100 Continue\r\n\r\n".len());
    assert_eq!(
        String::from_utf8_lossy(&interim),
        "HTTP/1.1 100 Continue\r\n\r\n"
    );
    c.send("hello");
    let r = c.read_response();
    assert_eq!(r.normalized(), echo_200("hello"));
    // Exactly one 100 Continue, and the connection stays usable.
    c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.read_response().normalized(), EMPTY_200);
}

// 6.

#[test]
fn half_close_after_a_complete_request_still_gets_the_response() {
    let server = Server::start(&["--app", "echo"]);
    let mut c = server.connect();
    c.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhalf-closed");
    c.shutdown_write();
    let r = c.read_response();
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.body, b"half-closed");
    assert_eq!(r.header("Content-Length"), Some("11"));
    c.expect_eof();
}

#[test]
fn half_close_after_pipelined_requests_gets_every_response() {
    let server = Server::start(&["--app", "echo"]);
    let mut c = server.connect();
    c.send(
        "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\none\
         POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\ntwo",
    );
    c.shutdown_write();
    assert_eq!(c.read_response().body, b"one");
    let last = c.read_response();
    assert_eq!(last.body, b"two");
    c.expect_eof();
}

// 7.

/// Sends `request` on a new connection and checks the error response: `status`,
/// `Connection: close`, a `Content-Length` that frames the body exactly, then EOF.
fn expect_error(server: &Server, request: &[u8], status: u16) {
    let mut c = server.connect();
    c.send(request);
    let r = c.read_response();
    assert_eq!(
        r.status,
        status,
        "for {:?}: {}",
        common::preview(request),
        r.head
    );
    assert!(r.closes(), "Connection: close expected: {}", r.head);
    let length = r
        .header("Content-Length")
        .unwrap_or_else(|| panic!("Content-Length expected: {}", r.head));
    assert_eq!(length, r.body.len().to_string());
    assert!(!r.body.is_empty(), "a short body naming the problem");
    assert!(r.header("Server").is_some() && r.header("Date").is_some());
    c.expect_eof();
}

#[test]
fn duplicate_content_length_is_400_and_closes() {
    let server = Server::start(&["--app", "echo"]);
    expect_error(
        &server,
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        400,
    );
}

#[test]
fn long_target_is_414() {
    let server = Server::start(&["--app", "echo"]);
    let request = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(20_000));
    expect_error(&server, request.as_bytes(), 414);
}

#[test]
fn http_2_0_request_line_is_505() {
    let server = Server::start(&["--app", "echo"]);
    expect_error(&server, b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
}

#[test]
fn unknown_transfer_coding_is_501() {
    let server = Server::start(&["--app", "echo"]);
    expect_error(
        &server,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        501,
    );
}

#[test]
fn error_after_a_good_request_does_not_corrupt_it() {
    // The good response comes whole, then the error, then EOF: nothing after the bad bytes
    // is processed (the third request is never answered).
    let server = Server::start(&["--app", "echo"]);
    let mut c = server.connect();
    c.send(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok\
         GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n\
         GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
    );
    assert_eq!(c.read_response().normalized(), echo_200("ok"));
    let error = c.read_response();
    assert_eq!(error.status, 400, "{}", error.head);
    assert!(error.closes());
    c.expect_eof();
}

// 8.

#[test]
fn early_413_arrives_whole_while_the_client_still_uploads() {
    let server = Server::start(&["--app", "echo", "--body-bytes-max", "1000"]);
    for round in 0..3 {
        let mut c = server.connect();
        c.send("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n");
        let mut writer = c.stream.try_clone().expect("clone the socket");
        let uploader = thread::spawn(move || {
            let body = vec![b'x'; 1_000_000];
            // The server may stop reading at any time: errors are expected and ignored.
            let written = body.chunks(64 * 1024).try_fold(0usize, |n, chunk| {
                writer.write_all(chunk).map(|()| n + chunk.len())
            });
            let _ = writer.shutdown(std::net::Shutdown::Write);
            written.unwrap_or(0)
        });
        let r = c.read_response();
        assert_eq!(
            r.status_line, "HTTP/1.1 413 Content Too Large",
            "round {round}: {}",
            r.head
        );
        assert!(r.closes(), "round {round}: {}", r.head);
        let length = r.header("Content-Length").expect("Content-Length");
        assert_eq!(length, r.body.len().to_string(), "round {round}");
        assert!(!r.body.is_empty());
        // Then a clean EOF: no extra bytes, and never a reset.
        c.expect_eof();
        uploader.join().expect("uploader thread");
    }
}

// 9.

#[test]
fn stream_app_sends_a_megabyte_exactly() {
    let server = Server::start(&["--app", "stream"]);
    let mut c = server.connect();
    c.send("GET /stream/1000000 HTTP/1.1\r\nHost: a\r\n\r\n");
    let r = c.read_response();
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.header("Content-Length"), Some("1000000"));
    assert_eq!(r.header("Content-Type"), Some("application/octet-stream"));
    assert_eq!(r.body.len(), 1_000_000);
    check_stream_pattern(&r.body, 0);
    assert!(r.body == expected_body(1_000_000));
    // Keep-alive after a streamed body; other targets are 404.
    c.send("GET /nope HTTP/1.1\r\nHost: a\r\n\r\n");
    let r = c.read_response();
    assert_eq!(r.status, 404);
    assert_eq!(r.body, b"not found\n");
}

// 10.

#[test]
fn slow_reader_gets_every_byte_of_a_large_stream() {
    const N: usize = 20_000_000;
    let server = Server::start(&["--app", "stream"]);
    let mut c = server.connect();
    c.send(format!("GET /stream/{N} HTTP/1.1\r\nHost: a\r\n\r\n"));
    let head = c.read_head();
    assert_eq!(head.status_line, "HTTP/1.1 200 OK");
    assert_eq!(head.header("Content-Length"), Some(N.to_string().as_str()));
    let mut body = Vec::with_capacity(N);
    // Slowly: small reads with pauses, so the server's socket fills and it must pause.
    for _ in 0..6 {
        thread::sleep(Duration::from_millis(200));
        let piece = c.read_some(1000);
        assert!(!piece.is_empty(), "EOF after {} body bytes", body.len());
        body.extend_from_slice(&piece);
    }
    // Then fast.
    let rest = c.read_exact_bytes(N - body.len());
    body.extend_from_slice(&rest);
    assert_eq!(body.len(), N);
    check_stream_pattern(&body, 0);
    // Nothing extra after the body, and the connection is still alive.
    c.send("GET /stream/3 HTTP/1.1\r\nHost: a\r\n\r\n");
    let r = c.read_response();
    assert_eq!(r.body, b"012");
}

// 11.

/// Checks a usage error: exit code 2, nothing on stdout, one `error:` line on stderr.
fn expect_usage_error(args: &[&str]) {
    let out = run_twine(args, Duration::from_secs(10));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "twine {args:?}: stderr {stderr:?}"
    );
    assert!(
        stderr.starts_with("error:"),
        "twine {args:?}: stderr {stderr:?}"
    );
    assert!(
        stderr.ends_with('\n') && stderr.matches('\n').count() == 1,
        "twine {args:?}: stderr must be exactly one line: {stderr:?}"
    );
    assert!(
        out.stdout.is_empty(),
        "twine {args:?}: stdout {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn unknown_flag_is_a_one_line_usage_error() {
    expect_usage_error(&["serve", "--bogus"]);
}

#[test]
fn address_in_use_is_a_one_line_usage_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    expect_usage_error(&["serve", "--listen", &addr]);
    drop(taken);
}

#[test]
fn static_without_a_directory_is_a_one_line_usage_error() {
    expect_usage_error(&["serve", "--listen", "127.0.0.1:0", "--app", "static"]);
}

// 12.

#[test]
fn sigterm_finishes_the_response_in_flight_then_exits_zero() {
    const N: usize = 30_000_000;
    let mut server = Server::start(&["--app", "stream"]);
    let mut c = server.connect();
    c.send(format!("GET /stream/{N} HTTP/1.1\r\nHost: a\r\n\r\n"));
    let head = c.read_head();
    assert_eq!(head.status, 200);
    let mut body = c.read_exact_bytes(100_000);
    server.terminate();
    // Give the signal time to land while the response is still in flight.
    thread::sleep(Duration::from_millis(100));
    assert!(
        server.wait_exit(Duration::ZERO).is_none(),
        "the server exited with a response in flight"
    );
    body.extend_from_slice(&c.read_exact_bytes(N - body.len()));
    check_stream_pattern(&body, 0);
    // The drained connection closes after its response; closing our side ends its
    // lingering close at once (otherwise it waits for our FIN up to --linger-timeout).
    c.expect_eof();
    drop(c);
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("the server exits within 5 s after its last connection closed");
    assert!(status.success(), "exit status {status:?}");
    // And it no longer listens.
    assert!(std::net::TcpStream::connect(server.addr).is_err());
}

#[test]
fn sigterm_on_an_idle_server_exits_zero() {
    let mut server = Server::start(&["--app", "echo"]);
    // A completed exchange first, so the server is surely past its start-up.
    let mut c = server.connect();
    c.send("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    assert_eq!(c.read_response().status, 200);
    c.expect_eof();
    drop(c);
    server.terminate();
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("exit within 10 s");
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn sigterm_right_after_the_first_line_exits_zero() {
    // The first line promises a server ready to serve, signals included.
    let mut server = Server::start(&["--app", "echo"]);
    server.terminate();
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("exit within 10 s");
    assert!(
        status.success(),
        "SIGTERM just after `listening on` must drain and exit 0, got {status:?}"
    );
}

#[test]
fn sigterm_closes_idle_keep_alive_connections() {
    let mut server = Server::start(&["--app", "echo"]);
    let mut c = server.connect();
    c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.read_response().status, 200);
    server.terminate();
    // The idle connection is closed (no 15 s keep-alive wait), and the server exits 0.
    let started = Instant::now();
    c.expect_eof();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "well before the 15 s keep-alive timer"
    );
    drop(c);
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("exit within 10 s");
    assert!(status.success(), "exit status {status:?}");
}

// 13.

#[test]
fn idle_keep_alive_timeout_closes_the_connection() {
    let server = Server::start(&["--app", "echo", "--idle-keep-alive-timeout", "1s"]);
    let mut c = server.connect();
    c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(c.read_response().normalized(), EMPTY_200);
    let started = Instant::now();
    // Closed without a word: no response bytes, a clean EOF.
    c.expect_eof();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(800) && waited <= Duration::from_secs(10),
        "closed after {waited:?}, expected about 1 s"
    );
}

// 14.

#[test]
fn slowloris_gets_408_at_the_head_deadline() {
    let server = Server::start(&["--app", "echo", "--header-read-timeout", "1s"]);
    let mut c = server.connect();
    let started = Instant::now();
    c.send("GET / HTTP/1.1\r\n");
    let stop = Arc::new(AtomicBool::new(false));
    let mut writer = c.stream.try_clone().unwrap();
    let dribbler = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let header = format!("X-Slow: {}", "a".repeat(200));
            let mut sent = 0;
            for &byte in header.as_bytes() {
                thread::sleep(Duration::from_millis(200));
                if stop.load(Ordering::SeqCst) || writer.write_all(&[byte]).is_err() {
                    break;
                }
                sent += 1;
            }
            sent
        })
    };
    let r = c.read_response();
    let waited = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    assert_eq!(r.status_line, "HTTP/1.1 408 Request Timeout", "{}", r.head);
    assert!(r.closes(), "{}", r.head);
    assert_eq!(
        r.header("Content-Length"),
        Some(r.body.len().to_string().as_str())
    );
    // The dribble goes on for 40 s: a deadline reset by each byte would not fire before it
    // ends, so a generous bound (for a loaded CI machine) still proves the point.
    assert!(
        waited >= Duration::from_millis(800) && waited <= Duration::from_secs(10),
        "408 after {waited:?}, expected about 1 s even though bytes kept arriving"
    );
    c.expect_eof();
    let sent = dribbler.join().unwrap();
    assert!(
        sent >= 3,
        "only {sent} bytes dribbled: the test did not dribble"
    );
}
