//! `twine serve` driven by a real client: curl. Every test is skipped, with a note on stderr,
//! when `curl` is not on PATH (CI installs it).

mod common;

use common::curl::{
    chunked_upload_to_echo, curl, expect_continue_upload_to_echo, have_curl,
    post_a_megabyte_to_echo, url,
};
use common::Server;

/// Splits curl `-i` output into the head (as text) and the body.
fn split_head(output: &[u8]) -> (String, &[u8]) {
    let at = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head in curl -i output");
    (
        String::from_utf8_lossy(&output[..at + 4]).into_owned(),
        &output[at + 4..],
    )
}

#[test]
fn curl_get() {
    if !have_curl() {
        return;
    }
    let server = Server::start(&["--app", "echo"]);
    let out = curl(&["-i", &url(&server, "/hello")]);
    let (head, body) = split_head(&out.stdout);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains("\r\nContent-Type: application/octet-stream\r\n"),
        "{head}"
    );
    assert!(head.contains("\r\nContent-Length: 0\r\n"), "{head}");
    assert!(head.contains("\r\nServer: twine\r\n"), "{head}");
    assert!(body.is_empty());
}

#[test]
fn curl_post_of_a_megabyte_echoes_it() {
    if !have_curl() {
        return;
    }
    post_a_megabyte_to_echo(&Server::start(&["--app", "echo"]));
}

#[test]
fn curl_chunked_upload_echoes_it() {
    if !have_curl() {
        return;
    }
    let verbose = chunked_upload_to_echo(&Server::start(&["--app", "echo"]));
    assert!(
        verbose.contains("< Transfer-Encoding: chunked"),
        "the echo of a chunked upload is chunked:\n{verbose}"
    );
}

#[test]
fn curl_expect_100_continue() {
    if !have_curl() {
        return;
    }
    let verbose = expect_continue_upload_to_echo(&Server::start(&["--app", "echo"]));
    assert!(
        verbose.contains("< HTTP/1.1 100 Continue"),
        "no 100 Continue from the server:\n{verbose}"
    );
}

#[test]
fn curl_reuses_the_connection_for_two_urls() {
    if !have_curl() {
        return;
    }
    let server = Server::start(&["--app", "echo"]);
    let out = curl(&[
        "-v",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        "-w",
        "%{stdout}%{http_code}:%{num_connects}\n",
        &url(&server, "/one"),
        &url(&server, "/two"),
    ]);
    let verbose = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200:1\n200:0\n",
        "the second transfer must not open a new connection:\n{verbose}"
    );
    assert!(
        verbose.contains("Re-using existing connection"),
        "no connection reuse in:\n{verbose}"
    );
}

#[test]
fn curl_http_1_0() {
    if !have_curl() {
        return;
    }
    let server = Server::start(&["--app", "echo"]);
    let out = curl(&[
        "-0",
        "-v",
        "-i",
        "--data-binary",
        "ten bytes!",
        &url(&server, "/old"),
    ]);
    let verbose = String::from_utf8_lossy(&out.stderr);
    assert!(verbose.contains("> POST /old HTTP/1.0"), "{verbose}");
    let (head, body) = split_head(&out.stdout);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nContent-Length: 10\r\n"), "{head}");
    assert_eq!(body, b"ten bytes!");
    // HTTP/1.0 without keep-alive: the server closes.
    assert!(head.contains("\r\nConnection: close\r\n"), "{head}");
}

#[test]
fn curl_http_1_0_keep_alive() {
    if !have_curl() {
        return;
    }
    let server = Server::start(&["--app", "echo"]);
    let out = curl(&[
        "-0",
        "-v",
        "-H",
        "Connection: keep-alive",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        "-w",
        "%{stdout}%{http_code}:%{num_connects}\n",
        &url(&server, "/one"),
        &url(&server, "/two"),
    ]);
    let verbose = String::from_utf8_lossy(&out.stderr);
    assert!(
        verbose.contains("< Connection: keep-alive"),
        "a persistent 1.0 client is answered with keep-alive:\n{verbose}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200:1\n200:0\n",
        "{verbose}"
    );
}
