//! `--connections-max`: at the bound a new connection is answered `503` with `Retry-After` and
//! closed, the connections being served are untouched, and room frees as they end.

mod common;

use common::{normalize_date, run_twine, Server};
use std::time::Duration;

const BUSY: &str = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n\
                    Content-Length: 28\r\nRetry-After: 1\r\nConnection: close\r\n\r\n\
                    too many connections, retry\n";

#[test]
fn past_the_bound_a_connection_gets_503_and_room_frees_as_connections_end() {
    let server = Server::start(&["--app", "echo", "--connections-max", "2"]);
    let mut first = server.connect();
    let mut second = server.connect();
    // Both served (a request each proves they were accepted and handed to the engine).
    for client in [&mut first, &mut second] {
        client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(client.read_response().status, 200);
    }
    let mut third = server.connect();
    third.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(String::from_utf8(third.read_to_eof()).unwrap(), BUSY);
    // The two in service are untouched.
    first.send("GET /again HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(first.read_response().status, 200);
    // One ends: the next connection is served (the server notices the end within a moment).
    first.send("GET /bye HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assert_eq!(first.read_response().status, 200);
    first.expect_eof();
    // Its socket counts until it is closed: the server lingers for the client's FIN.
    drop(first);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut fourth = server.connect();
        fourth.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
        let answer = normalize_date(&String::from_utf8(fourth.read_to_eof()).unwrap());
        if answer.starts_with("HTTP/1.1 200 OK\r\n") {
            break;
        }
        assert_eq!(answer, BUSY);
        assert!(std::time::Instant::now() < deadline, "the room never freed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_bound_of_zero_is_a_usage_error() {
    let output = run_twine(
        &["serve", "--listen", "127.0.0.1:0", "--connections-max", "0"],
        Duration::from_secs(10),
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--connections-max"), "{stderr}");
}
