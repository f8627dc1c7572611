//! `twine proxy` between real processes: curl or a raw socket in front; `twine serve`, or a
//! scripted upstream (a std listener in a thread that records the exact bytes it receives and
//! answers what its test scripts), behind. Everything listens on 127.0.0.1:0 and every wait
//! is bounded. The curl tests are skipped, with a note on stderr, when `curl` is not on PATH
//! (CI installs it).

mod common;

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::curl::{
    chunked_upload_to_echo, curl_any, expect_continue_upload_to_echo, have_curl,
    post_a_megabyte_to_echo, url,
};
use common::{check_stream_pattern, parse_head, preview, run_twine, Client, Server, IO_TIMEOUT};

// ---------------------------------------------------------------------------------------
// The proxy and what stands behind it.

/// `twine proxy --listen 127.0.0.1:0 --upstream <upstream> <extra>`.
fn proxy(upstream: SocketAddr, extra: &[&str]) -> Server {
    let upstream = upstream.to_string();
    let mut args = vec!["proxy", "--listen", "127.0.0.1:0", "--upstream", &upstream];
    args.extend_from_slice(extra);
    Server::spawn(&args)
}

/// `twine serve --app <app>` and a proxy in front of it: (proxy, origin), dropped in that
/// order.
fn proxied_app(app: &str) -> (Server, Server) {
    let origin = Server::start(&["--app", app]);
    let front = proxy(origin.addr, &[]);
    (front, origin)
}

/// What a scripted upstream saw, in order.
#[derive(Debug)]
enum Seen {
    /// A connection was accepted (they are numbered from 0 in this order).
    Accepted,
    /// One whole request (head and framed body), exactly as received.
    Request { conn: usize, bytes: Vec<u8> },
    /// The proxy ended connection `conn`: `how` is "eof", or the error of a read or write.
    Closed {
        conn: usize,
        how: String,
        at: Instant,
    },
}

/// A scripted upstream: each accepted connection runs the script in its own thread.
struct Upstream {
    addr: SocketAddr,
    seen: mpsc::Receiver<Seen>,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Upstream {
    fn start(script: impl Fn(&mut Conn) + Send + Sync + 'static) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the upstream");
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let (tx, seen) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let acceptor = {
            let (stop, accepted) = (stop.clone(), accepted.clone());
            thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let stream = match listener.accept() {
                        Ok((stream, _)) => stream,
                        Err(_) => {
                            thread::sleep(Duration::from_millis(2));
                            continue;
                        }
                    };
                    let conn = accepted.fetch_add(1, Ordering::SeqCst);
                    let _ = tx.send(Seen::Accepted);
                    stream.set_nonblocking(false).unwrap();
                    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
                    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
                    let _ = stream.set_nodelay(true);
                    let (script, seen) = (script.clone(), tx.clone());
                    thread::spawn(move || {
                        let mut conn = Conn {
                            conn,
                            stream,
                            buf: Vec::new(),
                            seen,
                        };
                        script(&mut conn);
                    });
                }
            })
        };
        Upstream {
            addr,
            seen,
            accepted,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// Connections accepted so far.
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// The next thing seen, within `bound`.
    fn next(&self, bound: Duration, waiting_for: &str) -> Seen {
        self.seen
            .recv_timeout(bound)
            .unwrap_or_else(|e| panic!("upstream: no {waiting_for} within {bound:?} ({e})"))
    }

    /// The next request's exact bytes and its connection, within 10 s.
    fn request(&self) -> (usize, Vec<u8>) {
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left, "request") {
                Seen::Request { conn, bytes } => return (conn, bytes),
                Seen::Accepted => {}
                other => panic!("upstream: {other:?} while waiting for a request"),
            }
        }
    }

    /// The next close of a connection by the proxy, within `bound`: which, how and when.
    fn closed(&self, bound: Duration) -> (usize, String, Instant) {
        let deadline = Instant::now() + bound;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left, "close of a connection by the proxy") {
                Seen::Closed { conn, how, at } => return (conn, how, at),
                Seen::Accepted | Seen::Request { .. } => {}
            }
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        // The acceptor polls the flag every 2 ms; connection threads end with their sockets
        // (the proxy's exit closes them) or their 10 s timeouts.
        self.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// One connection of a scripted upstream, as its script sees it.
struct Conn {
    conn: usize,
    stream: TcpStream,
    /// Bytes read and not consumed yet.
    buf: Vec<u8>,
    seen: mpsc::Sender<Seen>,
}

impl Conn {
    fn note(&self, seen: Seen) {
        let _ = self.seen.send(seen);
    }

    fn closed(&self, how: String) {
        let (conn, at) = (self.conn, Instant::now());
        self.note(Seen::Closed { conn, how, at });
    }

    /// One request, recorded; `None` (and the close recorded) when the connection ends first.
    fn request(&mut self) -> Option<Vec<u8>> {
        match self.read_request() {
            Ok(bytes) => {
                let conn = self.conn;
                self.note(Seen::Request {
                    conn,
                    bytes: bytes.clone(),
                });
                Some(bytes)
            }
            Err(e) => {
                self.closed(how(&e));
                None
            }
        }
    }

    /// Writes `bytes`; false (and the close recorded) when the write fails.
    fn answer(&mut self, bytes: &[u8]) -> bool {
        match self.stream.write_all(bytes) {
            Ok(()) => true,
            Err(e) => {
                self.closed(how(&e));
                false
            }
        }
    }

    /// Reads (and discards) until the proxy ends the connection, and records how; a 10 s
    /// silence is recorded as its error.
    fn wait_closed(&mut self) {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return self.closed("eof".into()),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return self.closed(how(&e)),
            }
        }
    }

    /// A request's head and its body as framed (Content-Length or chunked, trailer included).
    fn read_request(&mut self) -> io::Result<Vec<u8>> {
        let mut raw = self.read_through(b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
        let field = |name: &str| {
            head.split("\r\n")
                .find_map(|line| line.strip_prefix(name))
                .map(|value| value.trim().to_owned())
        };
        if field("transfer-encoding:").as_deref() == Some("chunked") {
            loop {
                let line = self.read_through(b"\r\n")?;
                raw.extend_from_slice(&line);
                let text = String::from_utf8_lossy(&line).into_owned();
                let size = text.trim_end().split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size, 16).map_err(|_| {
                    io::Error::new(ErrorKind::InvalidData, format!("chunk line {text:?}"))
                })?;
                if size == 0 {
                    loop {
                        let line = self.read_through(b"\r\n")?;
                        raw.extend_from_slice(&line);
                        if line == b"\r\n" {
                            return Ok(raw);
                        }
                    }
                }
                raw.extend_from_slice(&self.read_n(size + 2)?);
            }
        }
        if let Some(length) = field("content-length:") {
            let length = length.parse().map_err(|_| {
                io::Error::new(ErrorKind::InvalidData, format!("Content-Length {length:?}"))
            })?;
            raw.extend_from_slice(&self.read_n(length)?);
        }
        Ok(raw)
    }

    fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn read_through(&mut self, pattern: &[u8]) -> io::Result<Vec<u8>> {
        loop {
            if let Some(at) = self.buf.windows(pattern.len()).position(|w| w == pattern) {
                return Ok(self.buf.drain(..at + pattern.len()).collect());
            }
            self.fill()?;
        }
    }

    fn read_n(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            self.fill()?;
        }
        Ok(self.buf.drain(..n).collect())
    }
}

/// "eof", or an error's kind.
fn how(e: &io::Error) -> String {
    match e.kind() {
        ErrorKind::UnexpectedEof => "eof".into(),
        kind => format!("{kind:?}"),
    }
}

/// A port nothing listens on: one a listener had until it was dropped.
fn dead_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().unwrap()
}

/// Reads everything until the peer ends the connection: the bytes and "eof" or "reset".
/// A read timeout (10 s) fails the test.
fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, &'static str) {
    let mut all = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (all, "eof"),
            Ok(n) => all.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return (all, "reset"),
            Err(e) => panic!("{e} after {} bytes: {:?}", all.len(), preview(&all)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// 1. In front of `twine serve --app echo`, driven by curl.

#[test]
fn curl_post_of_a_megabyte_through_the_proxy() {
    if !have_curl() {
        return;
    }
    let (front, _origin) = proxied_app("echo");
    post_a_megabyte_to_echo(&front);
}

#[test]
fn curl_chunked_upload_through_the_proxy() {
    if !have_curl() {
        return;
    }
    let (front, _origin) = proxied_app("echo");
    let verbose = chunked_upload_to_echo(&front);
    assert!(verbose.contains("< Via: 1.1 twine"), "{verbose}");
}

#[test]
fn curl_expect_100_continue_through_the_proxy() {
    if !have_curl() {
        return;
    }
    let (front, _origin) = proxied_app("echo");
    let verbose = expect_continue_upload_to_echo(&front);
    // Exactly one: the proxy's own (the upstream's is not forwarded as a second one).
    assert_eq!(
        verbose.matches("< HTTP/1.1 100 Continue").count(),
        1,
        "one 100 Continue from the proxy:\n{verbose}"
    );
}

// ---------------------------------------------------------------------------------------
// 2. The exact bytes on each side, with a scripted upstream.

/// Answers every request on a connection with `response`, until the proxy closes it.
fn answering(response: &'static [u8]) -> impl Fn(&mut Conn) + Send + Sync + 'static {
    move |conn: &mut Conn| {
        while conn.request().is_some() {
            if !conn.answer(response) {
                return;
            }
        }
    }
}

#[test]
fn hop_by_hop_fields_stay_on_their_hop() {
    let upstream = Upstream::start(answering(
        b"HTTP/1.1 200 OK\r\n\
          Connection: keep-alive, X-Bar\r\n\
          X-Bar: 1\r\n\
          Keep-Alive: timeout=5\r\n\
          Proxy-Connection: keep-alive\r\n\
          Upgrade: h2c\r\n\
          Trailer: X-Sum\r\n\
          Content-Length: 2\r\n\
          X-End: e\r\n\
          \r\n\
          ok",
    ));
    let front = proxy(upstream.addr, &[]);
    let mut client = front.connect();
    client.send(
        "GET /a?b=c HTTP/1.1\r\n\
         Host: example.com\r\n\
         Connection: keep-alive, X-Foo\r\n\
         X-Foo: 1\r\n\
         Keep-Alive: 300\r\n\
         Proxy-Connection: keep-alive\r\n\
         TE: trailers\r\n\
         Upgrade: h2c\r\n\
         Accept: text/html\r\n\
         \r\n",
    );
    let (_, request) = upstream.request();
    assert_eq!(
        String::from_utf8_lossy(&request),
        "GET /a?b=c HTTP/1.1\r\n\
         Host: example.com\r\n\
         Accept: text/html\r\n\
         Via: 1.1 twine\r\n\
         Forwarded: for=127.0.0.1;host=\"example.com\";proto=http\r\n\
         X-Forwarded-For: 127.0.0.1\r\n\
         X-Forwarded-Proto: http\r\n\
         \r\n"
    );
    let response = client.read_response();
    assert_eq!(
        response.normalized(),
        "HTTP/1.1 200 OK\r\n\
         Content-Length: 2\r\n\
         X-End: e\r\n\
         Via: 1.1 twine\r\n\
         Date: *\r\n\
         Server: twine\r\n\
         \r\n\
         ok"
    );
}

#[test]
fn rewritten_host_and_prefix() {
    let upstream = Upstream::start(answering(b"HTTP/1.1 204 No Content\r\n\r\n"));
    let front = proxy(upstream.addr, &["--rewrite-host", "--prefix", "/app/"]);
    let mut client = front.connect();
    client.send(
        "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 10.0.0.1\r\n\
         X-Forwarded-Proto: https\r\n\r\n",
    );
    let (_, request) = upstream.request();
    assert_eq!(
        String::from_utf8_lossy(&request),
        format!(
            "GET /app/a?b=c HTTP/1.1\r\n\
             Host: {}\r\n\
             Via: 1.1 twine\r\n\
             Forwarded: for=127.0.0.1;host=\"example.com\";proto=http\r\n\
             X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\n\
             X-Forwarded-Proto: http\r\n\
             \r\n",
            upstream.addr
        )
    );
    assert_eq!(client.read_response().status, 204);
}

#[test]
fn chunked_upload_is_reframed_without_extensions_or_trailer() {
    let upstream = Upstream::start(answering(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    let front = proxy(upstream.addr, &[]);
    let mut client = front.connect();
    // One write: the proxy reads it whole, so the decoded chunks are the two sent and the
    // re-framed ones have their sizes.
    client.send(
        "POST /up HTTP/1.1\r\n\
         Host: example.com\r\n\
         Content-Type: text/plain\r\n\
         Transfer-Encoding: chunked\r\n\
         Trailer: X-Sum\r\n\
         \r\n\
         5;ext=1\r\n\
         hello\r\n\
         6;a=b;c=\"q;r\"\r\n\
         \x20world\r\n\
         0;last\r\n\
         X-Sum: 42\r\n\
         \r\n",
    );
    let (_, request) = upstream.request();
    assert_eq!(
        String::from_utf8_lossy(&request),
        "POST /up HTTP/1.1\r\n\
         Host: example.com\r\n\
         Content-Type: text/plain\r\n\
         Via: 1.1 twine\r\n\
         Forwarded: for=127.0.0.1;host=\"example.com\";proto=http\r\n\
         X-Forwarded-For: 127.0.0.1\r\n\
         X-Forwarded-Proto: http\r\n\
         Transfer-Encoding: chunked\r\n\
         \r\n\
         5\r\n\
         hello\r\n\
         6\r\n\
         \x20world\r\n\
         0\r\n\
         \r\n"
    );
    let response = client.read_response();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Length"), Some("0"));
}

/// Twisted's `test_proxy` data-forwarding case: an HTTP/1.0 response with a repeated field
/// and a close-delimited body reaches an HTTP/1.1 client chunked, both fields kept.
#[test]
fn http10_close_delimited_response_is_chunked_for_the_client() {
    let upstream = Upstream::start(|conn: &mut Conn| {
        if conn.request().is_some() {
            conn.answer(b"HTTP/1.0 200 OK\r\nFoo: bar\r\nFoo: baz\r\n\r\nSome data\r\n");
        }
        // Dropping the socket ends the body.
    });
    let front = proxy(upstream.addr, &[]);
    let mut client = front.connect();
    for round in 0..2 {
        client.send("GET /foo HTTP/1.1\r\nHost: example.com\r\n\r\n");
        let response = client.read_response();
        assert_eq!(
            response.normalized(),
            "HTTP/1.1 200 OK\r\n\
             Foo: bar\r\n\
             Foo: baz\r\n\
             Via: 1.0 twine\r\n\
             Transfer-Encoding: chunked\r\n\
             Date: *\r\n\
             Server: twine\r\n\
             \r\n\
             b\r\n\
             Some data\r\n\
             \r\n\
             0\r\n\
             \r\n",
            "round {round}"
        );
    }
    // The client's connection stayed open; each close-delimited response used up its own
    // upstream connection.
    assert_eq!(upstream.accepted(), 2);
}

// ---------------------------------------------------------------------------------------
// 3. Gateway errors.

fn assert_gateway_error(response: &common::Response, status_line: &str) {
    assert_eq!(response.status_line, status_line, "{}", response.head);
    assert_eq!(
        response.header("Content-Type"),
        Some("text/plain"),
        "{}",
        response.head
    );
    assert!(
        !response.body.is_empty() && response.body.ends_with(b"\n"),
        "{:?}",
        preview(&response.body)
    );
}

#[test]
fn dead_upstream_is_502() {
    let front = proxy(dead_port(), &[]);
    let mut client = front.connect();
    client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let response = client.read_response();
    assert_gateway_error(&response, "HTTP/1.1 502 Bad Gateway");
    // The client's connection survives: the next request gets its own 502.
    client.send("GET /again HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_gateway_error(&client.read_response(), "HTTP/1.1 502 Bad Gateway");
}

#[test]
fn garbage_from_the_upstream_is_502() {
    let upstream = Upstream::start(|conn: &mut Conn| {
        if conn.request().is_some() && conn.answer(b"ICY 200 OK\r\n\r\n") {
            conn.wait_closed();
        }
    });
    let front = proxy(upstream.addr, &[]);
    let mut client = front.connect();
    client.send("GET /radio HTTP/1.1\r\nHost: x\r\n\r\n");
    let response = client.read_response();
    assert_gateway_error(&response, "HTTP/1.1 502 Bad Gateway");
    // The proxy does not keep a connection that spoke garbage.
    let (conn, how, _) = upstream.closed(Duration::from_secs(5));
    assert_eq!(conn, 0);
    assert!(how == "eof" || how == "ConnectionReset", "{how}");
}

#[test]
fn silent_upstream_is_504_after_the_timeout() {
    let upstream = Upstream::start(|conn: &mut Conn| {
        if conn.request().is_some() {
            conn.wait_closed();
        }
    });
    let front = proxy(upstream.addr, &["--upstream-timeout", "1s"]);
    let mut client = front.connect();
    let sent = Instant::now();
    client.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    let response = client.read_response();
    let took = sent.elapsed();
    assert_gateway_error(&response, "HTTP/1.1 504 Gateway Timeout");
    assert!(
        took >= Duration::from_millis(950) && took <= Duration::from_secs(5),
        "504 after {took:?}, expected 1 s (up to 5 s)"
    );
    // The exchange is abandoned: the upstream connection is closed.
    let (conn, how, at) = upstream.closed(Duration::from_secs(5));
    assert_eq!(conn, 0);
    assert!(how == "eof" || how == "ConnectionReset", "{how}");
    assert!(
        at >= sent + Duration::from_millis(950),
        "closed before the timeout"
    );
}

// ---------------------------------------------------------------------------------------
// 4. A response cut short upstream is cut short downstream.

/// Declares 100000 bytes, sends 1000, closes.
fn cutting_upstream() -> Upstream {
    Upstream::start(|conn: &mut Conn| {
        if conn.request().is_some() {
            let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec();
            response.extend_from_slice(&[b'x'; 1000]);
            conn.answer(&response);
        }
    })
}

#[test]
fn curl_sees_a_cut_response_as_partial() {
    if !have_curl() {
        return;
    }
    let upstream = cutting_upstream();
    let front = proxy(upstream.addr, &[]);
    let out = curl_any(&["-o", "/dev/null", &url(&front, "/cut")]);
    // 18: "Partial file": the connection ended cleanly before the declared length.
    assert_eq!(
        out.status.code(),
        Some(18),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn raw_client_sees_a_cut_response_end_early() {
    let upstream = cutting_upstream();
    let front = proxy(upstream.addr, &[]);
    let mut client = front.connect();
    client.send("GET /cut HTTP/1.1\r\nHost: x\r\n\r\n");
    let (all, ending) = read_until_closed(&mut client.stream);
    // Everything the upstream sent is relayed, then a clean FIN: the declared length shows
    // the cut, and no reset can destroy the relayed bytes on their way.
    let at = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head ({ending}): {:?}", preview(&all)));
    let head = parse_head(all[..at + 4].to_vec());
    assert_eq!(head.status, 200, "{}", head.head);
    assert_eq!(
        head.header("Content-Length"),
        Some("100000"),
        "{}",
        head.head
    );
    let body = &all[at + 4..];
    assert_eq!(body, &[b'x'; 1000][..], "{:?}", preview(body));
    assert_eq!(ending, "eof");
}

// ---------------------------------------------------------------------------------------
// 5. A client that leaves mid-download.

/// Sends `GET <path>`, reads the head and at least 4 KiB of body, makes sure more is waiting
/// unread (so closing the socket resets it), and drops the connection.
fn leave_mid_download(mut client: Client, path: &str) {
    client.send(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));
    let head = client.read_head();
    assert_eq!(head.status, 200, "{}", head.head);
    client.read_exact_bytes(4096);
    let mut byte = [0u8; 1];
    let waiting = client.stream.peek(&mut byte).expect("peek");
    assert_eq!(waiting, 1, "more body is on its way");
}

#[test]
fn client_leaving_mid_download_closes_the_upstream_connection() {
    let upstream = Upstream::start(|conn: &mut Conn| {
        if conn.request().is_none() {
            return;
        }
        if !conn.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n") {
            return;
        }
        // Slowly (16 KiB every 2 ms) until the proxy lets go; 10 s at most (the test waits
        // 5 s for the close).
        let block = [b'y'; 16 * 1024];
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !conn.answer(&block) {
                return;
            }
            thread::sleep(Duration::from_millis(2));
        }
        conn.closed("still writing after 10 s".into());
    });
    let front = proxy(upstream.addr, &[]);
    leave_mid_download(front.connect(), "/big");
    let left = Instant::now();
    let (conn, how, at) = upstream.closed(Duration::from_secs(5));
    assert_eq!(conn, 0);
    assert!(
        how == "ConnectionReset" || how == "BrokenPipe",
        "the upstream write ended with {how}"
    );
    assert!(
        at.saturating_duration_since(left) < Duration::from_secs(5),
        "closed {:?} after the client left",
        at.saturating_duration_since(left)
    );
    eprintln!(
        "the upstream saw {how} {:?} after the client left",
        at.saturating_duration_since(left)
    );
    // The proxy still serves.
    let mut client = front.connect();
    client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(client.read_head().status, 200);
}

#[test]
fn client_leaving_a_stream_app_download_leaves_the_proxy_serving() {
    let (front, _origin) = proxied_app("stream");
    leave_mid_download(front.connect(), "/stream/100000000");
    let mut client = front.connect();
    client.send("GET /stream/1000 HTTP/1.1\r\nHost: x\r\n\r\n");
    let response = client.read_response();
    assert_eq!(response.status, 200, "{}", response.head);
    assert_eq!(response.body.len(), 1000);
    check_stream_pattern(&response.body, 0);
}

// ---------------------------------------------------------------------------------------
// 6. Memory stays bounded while a slow client downloads a large body.

/// A `kB` field of `/proc/<pid>/status` (VmHWM, VmRSS), or `None` without procfs.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The proxy's peak RSS may not pass this while it streams 200 MB to a slow client.
const PEAK_RSS_BOUND_KIB: u64 = 32 * 1024;

#[test]
fn slow_download_of_200_mb_keeps_the_proxy_small() {
    const TOTAL: usize = 200_000_000;
    let (front, _origin) = proxied_app("stream");
    let Some(before) = status_kib(front.pid(), "VmHWM:") else {
        eprintln!("note: no /proc/PID/status; skipping this test");
        return;
    };
    let mut client = front.connect();
    let started = Instant::now();
    client.send(format!("GET /stream/{TOTAL} HTTP/1.1\r\nHost: x\r\n\r\n"));
    let head = client.read_head();
    assert_eq!(head.status, 200, "{}", head.head);
    assert_eq!(
        head.header("Content-Length"),
        Some(TOTAL.to_string().as_str())
    );
    // 64 KiB reads with a pause after each: the client is the bottleneck, so the proxy must
    // hold the upstream back instead of buffering.
    let mut got = 0;
    while got < TOTAL {
        let data = client.read_some((64 * 1024).min(TOTAL - got));
        assert!(!data.is_empty(), "EOF after {got} of {TOTAL} bytes");
        check_stream_pattern(&data, got);
        got += data.len();
        thread::sleep(Duration::from_millis(1));
    }
    let took = started.elapsed();
    let peak = status_kib(front.pid(), "VmHWM:").expect("VmHWM");
    eprintln!("proxy VmHWM: {before} KiB at start, {peak} KiB after {TOTAL} bytes in {took:?}");
    assert!(
        peak <= PEAK_RSS_BOUND_KIB,
        "the proxy's peak RSS is {peak} KiB (bound {PEAK_RSS_BOUND_KIB} KiB)"
    );
    // The response ended exactly there: the connection takes the next request.
    client.send("GET /stream/10 HTTP/1.1\r\nHost: x\r\n\r\n");
    let next = client.read_response();
    assert_eq!(next.body.len(), 10);
    check_stream_pattern(&next.body, 0);
}

// ---------------------------------------------------------------------------------------
// 7. Keep-alive on both sides.

#[test]
fn three_requests_on_one_connection_use_one_upstream_connection() {
    let upstream = Upstream::start(|conn: &mut Conn| {
        let mut count = 0;
        while conn.request().is_some() {
            let body = format!("conn {} request {count}", conn.conn);
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if !conn.answer(response.as_bytes()) {
                return;
            }
            count += 1;
        }
    });
    let front = proxy(upstream.addr, &[]);
    let mut client = front.connect();
    for i in 0..3 {
        client.send(format!("GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n"));
        let response = client.read_response();
        assert_eq!(response.status, 200, "{}", response.head);
        assert_eq!(
            String::from_utf8_lossy(&response.body),
            format!("conn 0 request {i}")
        );
        let (conn, request) = upstream.request();
        assert_eq!(conn, 0);
        assert!(request.starts_with(format!("GET /{i} HTTP/1.1\r\n").as_bytes()));
    }
    assert_eq!(upstream.accepted(), 1, "the upstream connection was reused");
}

// ---------------------------------------------------------------------------------------
// 8. Command-line mistakes.

#[test]
fn proxy_mistakes_are_one_line_and_exit_2() {
    let port = dead_port().to_string();
    for args in [
        &["proxy", "--listen", "127.0.0.1:0"][..],
        &[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "nohostport",
        ],
        &[
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &port,
            "--prefix",
            "x",
        ],
    ] {
        let output = run_twine(args, Duration::from_secs(10));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
}
