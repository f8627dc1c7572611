//! The app API on the real server: `twine serve --app api` (one route per app command) and the
//! stream app's pull route, over raw sockets and curl. The same commands run in the simulation
//! in the `app_api` family; here they meet a real kernel and real clients.

mod common;

use std::io::Read;

use common::curl::{curl, curl_any, have_curl, url};
use common::{check_stream_pattern, normalize_date, Server};

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\n")
}

#[test]
fn whoami_names_both_ends_of_the_socket() {
    let server = Server::start(&["--app", "api"]);
    let mut client = server.connect();
    client.send(get("/whoami"));
    let response = client.read_response();
    let body = String::from_utf8(response.body.clone()).unwrap();
    let local = client.stream.local_addr().unwrap();
    assert_eq!(
        body,
        format!("peer {local}\nlocal {}\nsecure false\n", server.addr)
    );
}

#[test]
fn early_hints_reach_the_client_before_the_response() {
    let server = Server::start(&["--app", "api"]);
    let mut client = server.connect();
    client.send("GET /hints HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    let all = normalize_date(&String::from_utf8(client.read_to_eof()).unwrap());
    assert_eq!(
        all,
        "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n\
         HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\
         Connection: close\r\nDate: *\r\nServer: twine\r\n\r\nhinted\n"
    );
}

#[test]
fn curl_sees_the_hints_and_the_one_chunk_of_parts() {
    if !have_curl() {
        return;
    }
    let server = Server::start(&["--app", "api"]);
    let hints = curl(&["--verbose", &url(&server, "/hints")]);
    let verbose = String::from_utf8_lossy(&hints.stderr);
    assert!(verbose.contains("< HTTP/1.1 103 Early Hints"), "{verbose}");
    assert!(
        verbose.contains("< Link: </style.css>; rel=preload"),
        "{verbose}"
    );
    assert_eq!(hints.stdout, b"hinted\n");
    let parts = curl(&["--raw", &url(&server, "/parts")]);
    assert_eq!(parts.stdout, b"e\r\nHello, world!\n\r\n0\r\n\r\n");
}

#[test]
fn close_mid_body_is_a_clean_fin_that_curl_reports_as_partial() {
    let server = Server::start(&["--app", "api"]);
    let mut client = server.connect();
    client.send(get("/close-mid-body"));
    // Everything sent before the close arrives, then EOF: no reset.
    let all = normalize_date(&String::from_utf8(client.read_to_eof()).unwrap());
    assert_eq!(
        all,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\
         Date: *\r\nServer: twine\r\n\r\nfirst half"
    );
    if have_curl() {
        let output = curl_any(&[&url(&server, "/close-mid-body")]);
        // 18: "Partial file. Only a part of the file was transferred."
        assert_eq!(output.status.code(), Some(18), "{output:?}");
        assert_eq!(output.stdout, b"first half");
    }
}

#[test]
fn close_before_the_head_sends_nothing() {
    let server = Server::start(&["--app", "api"]);
    let mut client = server.connect();
    client.send(get("/close"));
    assert_eq!(client.read_to_eof(), b"");
}

#[test]
fn close_after_a_response_drops_the_pipelined_ones() {
    let server = Server::start(&["--app", "api"]);
    let mut client = server.connect();
    client.send(format!("{}{}", get("/close-after"), get("/hints")));
    let all = normalize_date(&String::from_utf8(client.read_to_eof()).unwrap());
    assert_eq!(
        all,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\
         Date: *\r\nServer: twine\r\n\r\nbye\n"
    );
}

#[test]
fn abort_resets_the_connection() {
    let server = Server::start(&["--app", "api"]);
    let mut client = server.connect();
    client.send(get("/abort-mid-body"));
    // Head, body and abort came in one batch: the unwritten output is discarded, and the
    // socket is closed with SO_LINGER 0, a reset.
    let mut got = Vec::new();
    let result = client.stream.read_to_end(&mut got);
    assert_eq!(got, b"", "nothing of the aborted response is written");
    let error = result.expect_err("a reset, not an EOF");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
}

#[test]
fn misuse_never_reaches_the_wire() {
    let server = Server::start(&["--app", "api"]);
    for path in [
        "/misuse/second-producer",
        "/misuse/body-after-finish",
        "/misuse/late-hints",
        "/misuse/framing",
        "/misuse/heads",
        "/misuse/body-lengths",
    ] {
        let mut client = server.connect();
        client.send(format!(
            "GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        ));
        let all = normalize_date(&String::from_utf8(client.read_to_eof()).unwrap());
        assert_eq!(
            all,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\
             Connection: close\r\nDate: *\r\nServer: twine\r\n\r\nok\n",
            "{path}"
        );
    }
}

#[test]
fn pull_and_handover_bodies_are_whole_through_curl() {
    if !have_curl() {
        return;
    }
    let server = Server::start(&["--app", "stream"]);
    let pulled = curl(&[&url(&server, "/pull/3000000")]);
    assert_eq!(pulled.stdout.len(), 3_000_000);
    check_stream_pattern(&pulled.stdout, 0);
    let server = Server::start(&["--app", "api"]);
    let handed = curl(&["--limit-rate", "2M", &url(&server, "/handover/1000000")]);
    assert_eq!(handed.stdout.len(), 1_000_000);
    check_stream_pattern(&handed.stdout, 0);
}

#[test]
fn hello_answers_twelve_bytes_over_both_protocols() {
    let server = Server::start(&["--app", "hello"]);
    let mut client = server.connect();
    for _ in 0..2 {
        client.send(get("/anything"));
        let response = client.read_response();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"hello world\n");
    }
    if have_curl() {
        let h2 = curl(&["--http2-prior-knowledge", &url(&server, "/x")]);
        assert_eq!(h2.stdout, b"hello world\n");
    }
}

#[test]
fn a_deferred_reader_sends_its_100_when_its_time_comes() {
    // `/accept-after/300` asks for the body 300 ms after the request, from the app's own
    // time (`App::wake_at`): the driver's alarm rings for it on the real clock too.
    let server = Server::start(&["--app", "api"]);
    let mut client = server.connect();
    let started = std::time::Instant::now();
    client.send(
        "POST /accept-after/300 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\
         Expect: 100-continue\r\nConnection: close\r\n\r\n",
    );
    let interim = client.read_head();
    let waited = started.elapsed();
    assert_eq!(interim.status_line, "HTTP/1.1 100 Continue");
    assert!(
        waited >= std::time::Duration::from_millis(300),
        "{waited:?}"
    );
    client.send("hello");
    let response = client.read_response();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"received 5 bytes\n");
}
