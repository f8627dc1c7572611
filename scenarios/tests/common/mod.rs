//! Shared helpers for the `twine serve` integration tests: a server guard that owns the
//! process, a raw HTTP/1.1 client that parses responses itself, and a bounded command runner.
//!
//! Std only: `std::net::TcpStream`, `std::process::Command`, `kill -TERM` for signals.

#![allow(dead_code)]

pub(crate) mod curl;

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Every socket read and write gives up after this long.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the server may take to print its first line.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a server may take to exit after SIGTERM when a guard is dropped.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// The `twine` binary built for these tests.
pub(crate) fn twine_bin() -> &'static str {
    env!("CARGO_BIN_EXE_twine")
}

/// A running `twine serve`. Dropping it sends SIGTERM and waits (bounded), then kills.
pub(crate) struct Server {
    child: Child,
    /// The address parsed from the first line.
    pub(crate) addr: SocketAddr,
    /// The first stdout line, exactly as printed (with its line ending).
    pub(crate) first_line: String,
    /// Kept open so that the server's stdout stays a live pipe.
    stdout: BufReader<ChildStdout>,
    exited: Option<ExitStatus>,
}

impl Server {
    /// `twine serve --listen 127.0.0.1:0 <args>`.
    pub(crate) fn start(args: &[&str]) -> Server {
        let mut full = vec!["serve", "--listen", "127.0.0.1:0"];
        full.extend_from_slice(args);
        Server::spawn(&full)
    }

    /// `twine <args>`; the first stdout line must be `listening on http://IP:PORT`.
    pub(crate) fn spawn(args: &[&str]) -> Server {
        let mut child = Command::new(twine_bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // The diagnostics (`--log-level info`: start, drain, stop) would fill the test
            // output; `TWINE_TEST_STDERR=1` shows them.
            .stderr(if std::env::var_os("TWINE_TEST_STDERR").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("spawn twine");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let result = reader.read_line(&mut line);
            let _ = tx.send((result, line, reader));
        });
        let (result, line, reader) = match rx.recv_timeout(START_TIMEOUT) {
            Ok(got) => got,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("twine {args:?} printed no first line within {START_TIMEOUT:?}");
            }
        };
        if let Err(e) = result {
            let _ = child.kill();
            let _ = child.wait();
            panic!("reading twine's stdout: {e}");
        }
        let addr = match parse_listening_line(&line) {
            Some(addr) => addr,
            None => {
                let _ = child.kill();
                let status = child.wait();
                panic!("twine {args:?}: first stdout line is {line:?} (process: {status:?})");
            }
        };
        Server {
            child,
            addr,
            first_line: line,
            stdout: reader,
            exited: None,
        }
    }

    /// The next line the server prints on standard output (after the first), waiting for it.
    pub(crate) fn next_stdout_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read twine's stdout");
        line
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A raw client connected to the server.
    pub(crate) fn connect(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Sends SIGTERM (`kill -TERM pid`).
    pub(crate) fn terminate(&mut self) {
        if self.exited.is_some() {
            return;
        }
        let sent = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !sent {
            // No `kill` command: the best we have is SIGKILL.
            let _ = self.child.kill();
        }
    }

    /// Waits up to `bound` for the process to exit.
    pub(crate) fn wait_exit(&mut self, bound: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.exited {
            return Some(status);
        }
        let deadline = Instant::now() + bound;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    self.exited = Some(status);
                    return Some(status);
                }
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited.is_some() {
            return;
        }
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        self.terminate();
        if self.wait_exit(STOP_TIMEOUT).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `listening on http://IP:PORT\n` → the address; anything else → `None`.
pub(crate) fn parse_listening_line(line: &str) -> Option<SocketAddr> {
    let rest = line.strip_suffix('\n')?.strip_prefix("listening on ")?;
    let rest = rest
        .strip_prefix("http://")
        .or_else(|| rest.strip_prefix("https://"))?;
    if rest.contains(['\r', '\n', ' ', '/']) {
        return None;
    }
    rest.parse().ok()
}

/// Runs `twine <args>` that must exit on its own within `bound`; panics (after killing it)
/// if it does not.
pub(crate) fn run_twine(args: &[&str], bound: Duration) -> Output {
    let mut child = Command::new(twine_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn twine");
    let deadline = Instant::now() + bound;
    loop {
        match child.try_wait().expect("try_wait") {
            Some(_) => break,
            None if Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("twine {args:?} did not exit within {bound:?}");
            }
        }
    }
    child.wait_with_output().expect("collect output")
}

/// One parsed response.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    /// The exact bytes of the response (head and framed body).
    pub(crate) raw: Vec<u8>,
    /// The head, status line to the empty line included.
    pub(crate) head: String,
    /// `HTTP/1.1 200 OK`, without its CRLF.
    pub(crate) status_line: String,
    pub(crate) status: u16,
    /// Fields in order, names as sent.
    pub(crate) headers: Vec<(String, String)>,
    /// The decoded body.
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// The value of the only field called `name` (case-insensitive); panics if there are two.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str());
        let first = values.next();
        assert!(
            values.next().is_none(),
            "two {name} fields in {:?}",
            self.head
        );
        first
    }

    /// The raw bytes with the `Date` value replaced by `*` (after checking it looks like an
    /// IMF-fixdate), so a whole response can be compared byte for byte.
    pub(crate) fn normalized(&self) -> String {
        normalize_date(&String::from_utf8_lossy(&self.raw))
    }

    /// Whether the response says the connection closes.
    pub(crate) fn closes(&self) -> bool {
        self.header("Connection")
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")))
    }
}

/// Replaces each `Date: <IMF-fixdate>` value with `*`, checking its shape.
pub(crate) fn normalize_date(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\r\nDate: ") {
        let start = at + "\r\nDate: ".len();
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find("\r\n").expect("Date line ends");
        let value = &rest[start..end];
        // e.g. `Sun, 06 Nov 1994 08:49:37 GMT`: 29 bytes.
        assert!(
            value.len() == 29 && value.ends_with(" GMT") && value.as_bytes()[3] == b',',
            "Date value {value:?} is not an IMF-fixdate"
        );
        out.push('*');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A raw HTTP/1.1 client on a blocking socket, with read and write timeouts.
pub(crate) struct Client {
    pub(crate) stream: TcpStream,
    /// Bytes read but not consumed yet.
    buf: Vec<u8>,
}

impl Client {
    pub(crate) fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let _ = stream.set_nodelay(true);
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Sets the read timeout (≤ 10 s in these tests).
    pub(crate) fn set_read_timeout(&self, timeout: Duration) {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
    }

    /// Writes all of `bytes`.
    pub(crate) fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream.write_all(bytes.as_ref()).expect("write");
    }

    /// Shuts down the write side (a FIN).
    pub(crate) fn shutdown_write(&self) {
        self.stream
            .shutdown(Shutdown::Write)
            .expect("shutdown(Write)");
    }

    /// One read from the socket into the buffer: the count (0 at EOF), or the error.
    pub(crate) fn try_fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Like `try_fill`, but an error fails the test with what was read so far.
    fn fill(&mut self, waiting_for: &str) -> usize {
        match self.try_fill() {
            Ok(n) => n,
            Err(e) => panic!(
                "{} while waiting for {waiting_for}; {} unconsumed bytes: {:?}",
                describe(&e),
                self.buf.len(),
                preview(&self.buf)
            ),
        }
    }

    /// Exactly `n` bytes.
    pub(crate) fn read_exact_bytes(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            if self.fill(&format!("{n} bytes")) == 0 {
                panic!(
                    "EOF after {} of {n} bytes: {:?}",
                    self.buf.len(),
                    preview(&self.buf)
                );
            }
        }
        self.buf.drain(..n).collect()
    }

    /// At most `max` bytes: the buffered ones, else one read. Empty at EOF.
    pub(crate) fn read_some(&mut self, max: usize) -> Vec<u8> {
        if self.buf.is_empty() {
            let mut chunk = vec![0u8; max];
            let n = loop {
                match self.stream.read(&mut chunk) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => panic!("{} in read_some", describe(&e)),
                }
            };
            chunk.truncate(n);
            return chunk;
        }
        let n = max.min(self.buf.len());
        self.buf.drain(..n).collect()
    }

    /// Bytes up to and including `pattern`.
    pub(crate) fn read_until(&mut self, pattern: &[u8]) -> Vec<u8> {
        let mut searched = 0;
        loop {
            if let Some(at) = find(&self.buf[searched..], pattern) {
                let end = searched + at + pattern.len();
                return self.buf.drain(..end).collect();
            }
            searched = self.buf.len().saturating_sub(pattern.len() - 1);
            let what = format!("{:?}", String::from_utf8_lossy(pattern));
            if self.fill(&what) == 0 {
                panic!(
                    "EOF before {what}; {} unconsumed bytes: {:?}",
                    self.buf.len(),
                    preview(&self.buf)
                );
            }
        }
    }

    /// Everything until EOF. A reset or a timeout fails the test.
    pub(crate) fn read_to_eof(&mut self) -> Vec<u8> {
        loop {
            if self.fill("EOF") == 0 {
                return std::mem::take(&mut self.buf);
            }
        }
    }

    /// The next thing is a clean EOF: no bytes, no reset.
    pub(crate) fn expect_eof(&mut self) {
        let rest = self.read_to_eof();
        assert!(
            rest.is_empty(),
            "expected EOF, got {} more bytes: {:?}",
            rest.len(),
            preview(&rest)
        );
    }

    /// A response head: status line and fields.
    pub(crate) fn read_head(&mut self) -> Response {
        let raw = self.read_until(b"\r\n\r\n");
        parse_head(raw)
    }

    /// One response to a request that is not HEAD.
    pub(crate) fn read_response(&mut self) -> Response {
        self.read_response_to("GET")
    }

    /// One response to a `method` request, framed as RFC 9112 §6.3 says.
    pub(crate) fn read_response_to(&mut self, method: &str) -> Response {
        let mut response = self.read_head();
        let no_body = method == "HEAD"
            || (100..200).contains(&response.status)
            || response.status == 204
            || response.status == 304;
        if no_body {
            return response;
        }
        let chunked = response.header("Transfer-Encoding").map(str::to_owned);
        let length = response.header("Content-Length").map(str::to_owned);
        if let Some(te) = chunked {
            assert_eq!(te, "chunked", "unexpected transfer coding");
            assert!(length.is_none(), "both Content-Length and chunked");
            self.read_chunked(&mut response);
        } else if let Some(length) = length {
            assert!(
                !length.is_empty() && length.bytes().all(|b| b.is_ascii_digit()),
                "bad Content-Length {length:?}"
            );
            let body = self.read_exact_bytes(length.parse().unwrap());
            response.raw.extend_from_slice(&body);
            response.body = body;
        } else {
            let body = self.read_to_eof();
            response.raw.extend_from_slice(&body);
            response.body = body;
        }
        response
    }

    fn read_chunked(&mut self, response: &mut Response) {
        loop {
            let line = self.read_until(b"\r\n");
            response.raw.extend_from_slice(&line);
            let text = std::str::from_utf8(&line[..line.len() - 2]).expect("chunk line is text");
            let size = text.split(';').next().unwrap().trim_end();
            let size = usize::from_str_radix(size, 16)
                .unwrap_or_else(|_| panic!("bad chunk-size line {text:?}"));
            if size == 0 {
                // Trailer fields, then the empty line.
                loop {
                    let field = self.read_until(b"\r\n");
                    response.raw.extend_from_slice(&field);
                    if field == b"\r\n" {
                        return;
                    }
                }
            }
            let data = self.read_exact_bytes(size + 2);
            assert_eq!(&data[size..], b"\r\n", "chunk data not followed by CRLF");
            response.raw.extend_from_slice(&data);
            response.body.extend_from_slice(&data[..size]);
        }
    }
}

/// Parses a head that ends with `\r\n\r\n`.
pub(crate) fn parse_head(raw: Vec<u8>) -> Response {
    let head = String::from_utf8(raw.clone()).expect("response head is UTF-8");
    let mut lines = head[..head.len() - 4].split("\r\n");
    let status_line = lines.next().unwrap().to_owned();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap();
    assert_eq!(version, "HTTP/1.1", "status line {status_line:?}");
    let status = parts
        .next()
        .and_then(|s| (s.len() == 3).then_some(s))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .map(|line| {
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("bad field line {line:?} in {head:?}"));
            assert!(
                !name.is_empty() && !name.contains([' ', '\t']),
                "bad field name in {line:?}"
            );
            (name.to_owned(), value.trim_matches([' ', '\t']).to_owned())
        })
        .collect();
    Response {
        raw,
        head,
        status_line,
        status,
        headers,
        body: Vec::new(),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn describe(e: &io::Error) -> String {
    match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => format!("read timed out ({e})"),
        ErrorKind::ConnectionReset => format!("connection reset by the server ({e})"),
        _ => format!("read error ({e})"),
    }
}

/// The first bytes of `bytes`, for messages.
pub(crate) fn preview(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(300)];
    let mut s = String::from_utf8_lossy(shown).into_owned();
    if bytes.len() > shown.len() {
        s.push_str(&format!("... ({} bytes)", bytes.len()));
    }
    s
}

/// Checks that `body` is the `stream` app's pattern starting at `offset`, without building
/// the expected body; the message names the first wrong byte.
pub(crate) fn check_stream_pattern(body: &[u8], offset: usize) {
    // The pattern repeats every 64 bytes (see `twine_apps::stream`).
    let pattern = twine_apps::stream::expected_body(64);
    assert_eq!(
        twine_apps::stream::expected_body(128)[64..],
        pattern[..],
        "the stream pattern is 64 bytes long"
    );
    if let Some(i) = body
        .iter()
        .enumerate()
        .position(|(i, &b)| b != pattern[(offset + i) % 64])
    {
        panic!(
            "stream body wrong at byte {}: got {:?}, expected {:?}",
            offset + i,
            preview(&body[i..i + 64.min(body.len() - i)]),
            (pattern[(offset + i) % 64] as char)
        );
    }
}
