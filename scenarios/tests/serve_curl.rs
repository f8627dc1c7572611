//! `twine serve` driven by a real client: curl. Every test is skipped, with a note on stderr,
//! when `curl` is not on PATH (CI installs it).

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::Server;

/// Whether curl runs; prints a note when it does not.
fn have_curl() -> bool {
    let ok = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("note: curl is not on PATH; skipping this test");
    }
    ok
}

/// Runs curl with a 20 s overall bound (its own `--max-time`, and ours on the process).
fn curl(args: &[&str]) -> Output {
    let mut full = vec!["--silent", "--show-error", "--max-time", "20"];
    full.extend_from_slice(args);
    let mut child = Command::new("curl")
        .args(&full)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn curl");
    // Outputs can be large: collect them in threads while we wait with a bound.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut v);
        v
    });
    let err_thread = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut v);
        v
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(25);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("curl {full:?} did not finish within 25 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = Output {
        status,
        stdout: out_thread.join().unwrap(),
        stderr: err_thread.join().unwrap(),
    };
    assert!(
        output.status.success(),
        "curl {full:?} failed: {:?}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A temporary file removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> TempFile {
        let path = std::env::temp_dir().join(format!("twine-curl-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).expect("write temp file");
        TempFile(path)
    }

    fn arg(&self) -> String {
        format!("@{}", self.0.display())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// 1 MB of varied bytes (all 256 values), so a corrupted echo cannot pass by accident.
fn megabyte() -> Vec<u8> {
    (0..1_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn url(server: &Server, path: &str) -> String {
    format!("http://{}{path}", server.addr)
}

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
    let server = Server::start(&["--app", "echo"]);
    let data = megabyte();
    let file = TempFile::new("post", &data);
    let out = curl(&[
        "--data-binary",
        &file.arg(),
        "-H",
        "Content-Type: application/octet-stream",
        "-w",
        "%{stderr}%{http_code} %{size_download}",
        &url(&server, "/"),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "200 1000000");
    assert!(
        out.stdout == data,
        "echoed body differs ({} bytes)",
        out.stdout.len()
    );
}

#[test]
fn curl_chunked_upload_echoes_it() {
    if !have_curl() {
        return;
    }
    let server = Server::start(&["--app", "echo"]);
    let data = megabyte();
    let file = TempFile::new("chunked", &data);
    let out = curl(&[
        "-v",
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &file.arg(),
        &url(&server, "/"),
    ]);
    let verbose = String::from_utf8_lossy(&out.stderr);
    assert!(
        verbose.contains("> Transfer-Encoding: chunked"),
        "curl did not upload chunked:\n{verbose}"
    );
    assert!(
        verbose.contains("< HTTP/1.1 200 OK"),
        "status missing:\n{verbose}"
    );
    assert!(
        verbose.contains("< Transfer-Encoding: chunked"),
        "the echo of a chunked upload is chunked:\n{verbose}"
    );
    assert!(
        out.stdout == data,
        "echoed body differs ({} bytes)",
        out.stdout.len()
    );
}

#[test]
fn curl_expect_100_continue() {
    if !have_curl() {
        return;
    }
    let server = Server::start(&["--app", "echo"]);
    // Larger than curl's threshold (1 MiB) so curl sends `Expect` on its own; the header is
    // also given explicitly in case another curl version has another threshold.
    let data: Vec<u8> = megabyte().into_iter().cycle().take(1_500_000).collect();
    let file = TempFile::new("expect", &data);
    let out = curl(&[
        "-v",
        "-H",
        "Expect: 100-continue",
        "--expect100-timeout",
        "10",
        "--data-binary",
        &file.arg(),
        &url(&server, "/"),
    ]);
    let verbose = String::from_utf8_lossy(&out.stderr);
    assert!(
        verbose.contains("> Expect: 100-continue"),
        "curl sent no Expect:\n{verbose}"
    );
    assert!(
        verbose.contains("< HTTP/1.1 100 Continue"),
        "no 100 Continue from the server:\n{verbose}"
    );
    assert!(verbose.contains("< HTTP/1.1 200 OK"), "{verbose}");
    assert!(
        out.stdout == data,
        "echoed body differs ({} bytes)",
        out.stdout.len()
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
