//! HTTP/2 on `twine serve`, cleartext with prior knowledge, on the same port as HTTP/1.1:
//! curl (`--http2-prior-knowledge`, one request per connection: curl 7.88 cannot reuse a
//! prior-knowledge connection, whatever the server), Python's `h2` for several streams on
//! one connection, and h2load (nghttp2) with ten connections of ten streams; curl, Python's
//! `h2` and h2load each against every built-in app. Skipped with a note when a client is
//! missing (`.ci/run` installs them all).

mod common;

use std::process::{Command, Stdio};

use common::curl::{curl, have_curl, have_tool, url, TempFile};
use common::{check_stream_pattern, Server};

#[test]
fn curl_gets_and_posts_over_http2() {
    if !have_curl() {
        return;
    }
    let server = Server::start(&["--app", "echo"]);
    let get = curl(&[
        "--http2-prior-knowledge",
        "--verbose",
        &url(&server, "/hello"),
    ]);
    let verbose = String::from_utf8_lossy(&get.stderr);
    assert!(verbose.contains("< HTTP/2 200"), "{verbose}");
    assert!(verbose.contains("< server: twine"), "{verbose}");
    assert_eq!(get.stdout, b"");
    // 3 MB each way: both flow-control windows are exhausted and reopened many times.
    let data: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let upload = TempFile::new("h2-upload", &data);
    let post = curl(&[
        "--http2-prior-knowledge",
        "--data-binary",
        &upload.arg(),
        &url(&server, "/echo"),
    ]);
    assert_eq!(post.stdout.len(), data.len());
    assert!(post.stdout == data, "the echoed body differs");
}

#[test]
fn curl_downloads_push_and_pull_bodies_over_http2() {
    if !have_curl() {
        return;
    }
    let server = Server::start(&["--app", "stream"]);
    for path in ["/stream/5000000", "/pull/2000000"] {
        let out = curl(&["--http2-prior-knowledge", &url(&server, path)]);
        let n: usize = path.rsplit('/').next().unwrap().parse().unwrap();
        assert_eq!(out.stdout.len(), n, "{path}");
        check_stream_pattern(&out.stdout, 0);
    }
}

#[test]
fn http1_still_answers_on_the_same_port() {
    let server = Server::start(&["--app", "echo"]);
    let mut client = server.connect();
    client.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let response = client.read_response();
    assert_eq!(response.status, 200);
}

#[test]
fn many_streams_share_one_connection() {
    if !have_python_h2() {
        return;
    }
    let server = Server::start(&["--app", "stream"]);
    let paths = [
        "/stream/10",
        "/stream/20",
        "/stream/300000",
        "/pull/200000",
        "/nothing",
    ];
    let got = python_h2_get(&server, &paths);
    assert_eq!(
        got,
        ["200 10", "200 20", "200 300000", "200 200000", "404 10"]
    );
}

/// h2load against `path`: `requests` requests over ten connections of ten concurrent streams
/// (`-d FILE` uploads it with each). Every request must succeed with a 2xx, and the response
/// bodies must add up to `requests * body_len` bytes.
fn h2load(server: &Server, path: &str, requests: usize, body_len: usize, upload: Option<&str>) {
    let n = requests.to_string();
    let target = url(server, path);
    let mut args = vec!["-n", &n, "-c", "10", "-m", "10", "-t", "1"];
    if let Some(file) = upload {
        args.extend(["-d", file]);
    }
    args.push(&target);
    let out = Command::new("h2load")
        .args(&args)
        .output()
        .expect("h2load runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let done = format!(
        "requests: {requests} total, {requests} started, {requests} done, {requests} succeeded, \
         0 failed, 0 errored, 0 timeout"
    );
    assert!(text.contains(&done), "{path}: {text}");
    assert!(
        text.contains(&format!(
            "status codes: {requests} 2xx, 0 3xx, 0 4xx, 0 5xx"
        )),
        "{path}: {text}"
    );
    let data = format!("({}) data", requests * body_len);
    assert!(text.contains(&data), "{path}: expected {data}: {text}");
}

#[test]
fn h2load_loads_every_builtin_app() {
    if !have_tool("h2load") {
        return;
    }
    let upload = TempFile::new("h2load-upload", &[b'u'; 3000]);
    let hello = Server::start(&["--app", "hello"]);
    h2load(&hello, "/", 5000, 12, None);
    let echo = Server::start(&["--app", "echo"]);
    h2load(&echo, "/echo", 1000, 3000, Some(&upload.path()));
    let stream = Server::start(&["--app", "stream"]);
    h2load(&stream, "/stream/100000", 200, 100_000, None);
    h2load(&stream, "/pull/30000", 200, 30_000, None);
    let api = Server::start(&["--app", "api"]);
    h2load(&api, "/respond", 1000, 6, None);
    let site = Site::new("h2load");
    let files = Server::start(&["--app", "static", site.root()]);
    h2load(&files, "/page.html", 1000, 20_000, None);
}

/// argv: the server's address, then paths. Requests every path at once on one connection
/// (streams 1, 3, 5, ...), giving back window as data arrives; prints `status length` per
/// path, in the order given.
const PYTHON_H2_GET: &str = r#"
import socket, sys
import h2.config, h2.connection, h2.events

host, port = sys.argv[1].rsplit(":", 1)
paths = sys.argv[2:]
sock = socket.create_connection((host, int(port)), timeout=20)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
results = {}
for i, path in enumerate(paths):
    stream = 2 * i + 1
    headers = [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", "t")]
    conn.send_headers(stream, headers, end_stream=True)
    results[stream] = [None, 0]
open_streams = set(results)
sock.sendall(conn.data_to_send())
while open_streams:
    data = sock.recv(65536)
    if not data:
        sys.exit("EOF with streams open: %r" % sorted(open_streams))
    for event in conn.receive_data(data):
        if isinstance(event, h2.events.ResponseReceived):
            results[event.stream_id][0] = dict(event.headers)[b":status"].decode()
        elif isinstance(event, h2.events.DataReceived):
            results[event.stream_id][1] += len(event.data)
            conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            open_streams.discard(event.stream_id)
        elif isinstance(event, h2.events.ConnectionTerminated):
            sys.exit("GOAWAY: %r" % event)
    sock.sendall(conn.data_to_send())
for stream in sorted(results):
    print(results[stream][0], results[stream][1])
"#;

/// `twine serve` arguments, and the paths asked of that app with the `status length` each
/// must get.
type AppCase = (Vec<String>, Vec<(&'static str, &'static str)>);

/// Every built-in app with the paths asked of it and the `status length` each must get.
fn every_app(root: &str) -> Vec<AppCase> {
    let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    vec![
        (args(&["--app", "hello"]), vec![("/", "200 12")]),
        (args(&["--app", "echo"]), vec![("/anything", "200 0")]),
        (
            args(&["--app", "stream"]),
            vec![
                ("/stream/100000", "200 100000"),
                ("/pull/50000", "200 50000"),
            ],
        ),
        (
            args(&["--app", "api"]),
            vec![("/respond", "200 6"), ("/hints", "200 7")],
        ),
        (
            vec!["--app".into(), "static".into(), root.to_string()],
            vec![("/page.html", "200 20000"), ("/missing", "404 10")],
        ),
    ]
}

/// A directory holding `page.html` (20 000 bytes), removed when dropped.
struct Site(std::path::PathBuf);

impl Site {
    fn new(name: &str) -> Site {
        let root = std::env::temp_dir().join(format!("twine-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("page.html"), [b'p'; 20_000]).unwrap();
        Site(root)
    }

    fn root(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether python3 has the h2 package; prints a note when it does not.
fn have_python_h2() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import h2"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("note: python3 with the h2 package is missing; skipping this test");
    }
    ok
}

/// `status length` for each path, all asked at once on one connection by Python's `h2`.
fn python_h2_get(server: &Server, paths: &[&str]) -> Vec<String> {
    let address = server.addr.to_string();
    let mut argv = vec!["-c", PYTHON_H2_GET, address.as_str()];
    argv.extend(paths);
    let out = Command::new("python3")
        .args(&argv)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn python_h2_gets_from_every_builtin_app() {
    if !have_python_h2() {
        return;
    }
    let site = Site::new("python-h2");
    for (args, cases) in every_app(site.root()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = Server::start(&args);
        let paths: Vec<&str> = cases.iter().map(|(path, _)| *path).collect();
        let want: Vec<&str> = cases.iter().map(|(_, want)| *want).collect();
        assert_eq!(python_h2_get(&server, &paths), want, "{args:?}");
    }
}

#[test]
fn curl_gets_from_every_builtin_app_over_http2() {
    if !have_curl() {
        return;
    }
    let site = Site::new("curl-h2");
    for (args, cases) in every_app(site.root()) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = Server::start(&args);
        for (path, want) in cases {
            let out = curl(&[
                "--http2-prior-knowledge",
                "-o",
                "/dev/null",
                "-w",
                "%{http_version} %{http_code} %{size_download}",
                &url(&server, path),
            ]);
            let got = String::from_utf8_lossy(&out.stdout).into_owned();
            assert_eq!(got, format!("2 {want}"), "{args:?} {path}");
        }
    }
}
