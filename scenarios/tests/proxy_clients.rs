//! Real HTTP clients other than curl (Python's `http.client` and `urllib`, wget, Node.js's
//! `http`) through `twine proxy`, each run twice: direct to `twine serve` and through a proxy in
//! front of it. Every body a client saves through the proxy must equal, byte for byte, the one
//! it saved direct, and the verdict it prints must be the same both ways.
//!
//! `twine proxy` has one upstream and no built-in app serves both `/stream/<n>` and the echo,
//! so there are two origins (`--app stream` and `--app echo`), each with its own proxy; a
//! client that needs both keeps one keep-alive connection to each.
//!
//! Each test is skipped, with a note on stderr, when its tool is not on PATH. Every client
//! process is killed after 20 s, which fails the test instead of blocking it.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{check_stream_pattern, Server};

/// How long a client process may run before it is killed.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// The origins, their proxies, and the two ways of reaching them.

/// `twine serve --app echo`, `twine serve --app stream`, and a `twine proxy` in front of
/// each. The proxies are declared first so that they are dropped (stopped) first.
struct Origins {
    echo_proxy: Server,
    stream_proxy: Server,
    echo: Server,
    stream: Server,
}

/// One way to reach the two apps: direct or through the proxies.
struct Side {
    name: &'static str,
    echo: SocketAddr,
    stream: SocketAddr,
}

impl Origins {
    fn start() -> Origins {
        let echo = Server::start(&["--app", "echo"]);
        let stream = Server::start(&["--app", "stream"]);
        let echo_proxy = proxy(echo.addr);
        let stream_proxy = proxy(stream.addr);
        Origins {
            echo_proxy,
            stream_proxy,
            echo,
            stream,
        }
    }

    fn direct(&self) -> Side {
        Side {
            name: "direct",
            echo: self.echo.addr,
            stream: self.stream.addr,
        }
    }

    fn proxied(&self) -> Side {
        Side {
            name: "proxied",
            echo: self.echo_proxy.addr,
            stream: self.stream_proxy.addr,
        }
    }
}

/// `twine proxy --listen 127.0.0.1:0 --upstream <upstream>`.
fn proxy(upstream: SocketAddr) -> Server {
    let upstream = upstream.to_string();
    Server::spawn(&["proxy", "--listen", "127.0.0.1:0", "--upstream", &upstream])
}

/// What one run of a client left: the verdict it printed, and the files it saved.
struct Run {
    verdict: String,
    files: BTreeMap<String, Vec<u8>>,
}

impl Run {
    fn file(&self, name: &str) -> &[u8] {
        self.files
            .get(name)
            .unwrap_or_else(|| panic!("the client saved no {name:?}"))
    }
}

/// Runs `client` direct, then through the proxies, each with its own empty output directory,
/// and checks that both runs saved the same files with identical bytes and printed the same
/// verdict. Returns the proxied run.
fn direct_vs_proxied(tag: &str, client: impl Fn(&Side, &Path) -> String) -> Run {
    let origins = Origins::start();
    let direct = run_side(tag, &origins.direct(), &client);
    let proxied = run_side(tag, &origins.proxied(), &client);
    assert_eq!(
        direct.files.keys().collect::<Vec<_>>(),
        proxied.files.keys().collect::<Vec<_>>(),
        "{tag}: the files saved direct and through the proxy differ"
    );
    for (name, body) in &direct.files {
        same_bytes(
            &format!("{tag}: {name} through the proxy"),
            &proxied.files[name],
            body,
        );
    }
    assert_eq!(
        proxied.verdict, direct.verdict,
        "{tag}: the verdict through the proxy differs from the direct one"
    );
    proxied
}

fn run_side(tag: &str, side: &Side, client: &impl Fn(&Side, &Path) -> String) -> Run {
    let dir = TempDir::new(&format!("{tag}-{}", side.name));
    let verdict = client(side, &dir.0);
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&dir.0).expect("read the output directory") {
        let entry = entry.expect("directory entry");
        let name = entry.file_name().to_string_lossy().into_owned();
        files.insert(
            name,
            std::fs::read(entry.path()).expect("read a saved body"),
        );
    }
    Run { verdict, files }
}

/// `got` equals `expected`; the message names the lengths and the first differing byte.
fn same_bytes(what: &str, got: &[u8], expected: &[u8]) {
    if got == expected {
        return;
    }
    let first = got
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(expected.len()));
    panic!(
        "{what}: {} bytes, expected {} bytes; first difference at byte {first}",
        got.len(),
        expected.len()
    );
}

// ---------------------------------------------------------------------------------------
// Processes, files and data.

/// Whether `program <version_flag>` runs; prints a note when it does not.
fn have(program: &str, version_flag: &str) -> bool {
    let ok = Command::new(program)
        .arg(version_flag)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("note: {program} is not on PATH; skipping this test");
    }
    ok
}

/// Runs `program args` with no proxy settings in its environment, killed after 20 s (which
/// fails the test); it must exit 0. Outputs are collected in threads while we wait.
fn run_client(program: &str, args: &[&str]) -> Output {
    let mut command = Command::new(program);
    command.args(args);
    for var in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
    ] {
        command.env_remove(var);
    }
    command.env_remove("ALL_PROXY");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_thread = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if started.elapsed() > CLIENT_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let err = err_thread.join().unwrap();
            panic!(
                "{program} did not finish within {CLIENT_TIMEOUT:?}; stderr:\n{}",
                String::from_utf8_lossy(&err)
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    let output = Output {
        status,
        stdout: out_thread.join().unwrap(),
        stderr: err_thread.join().unwrap(),
    };
    assert!(
        output.status.success(),
        "{program} failed: {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("twine-clients-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temp directory");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A temporary file removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("twine-clients-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).expect("write temp file");
        TempFile(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temp path")
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

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temp path")
}

// ---------------------------------------------------------------------------------------
// Python 3: http.client on keep-alive connections, and urllib.request.

/// argv: stream address, echo address, output directory, the 1 MB file to upload.
///
/// One keep-alive connection to the stream app (a GET of 100000 bytes, and after the uploads
/// the same GET again) and one to the echo app (a 1 MB POST with `Content-Length`, a chunked
/// POST from an iterator, then a GET); each reply must keep its connection open and the next
/// request must go on the same socket. Then one GET with `urllib.request`.
const PYTHON_SCRIPT: &str = r##"
import http.client, os, sys, urllib.request

stream_addr, echo_addr, out, data_path = sys.argv[1:5]
with open(data_path, "rb") as f:
    data = f.read()

def fail(message):
    sys.stderr.write("python: " + message + "\n")
    sys.exit(1)

def save(name, body):
    with open(os.path.join(out, name), "wb") as f:
        f.write(body)

def connect(addr):
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    conn.connect()
    return conn, conn.sock

def exchange(conn, sock, method, path, **kw):
    what = method + " " + path
    conn.request(method, path, **kw)
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        fail(what + ": status %d %s" % (resp.status, resp.reason))
    if resp.will_close:
        fail(what + ": the response closes the connection: %r" % resp.getheaders())
    if conn.sock is not sock:
        fail(what + ": http.client is not on its first socket any more")
    framing = "chunked" if resp.chunked else "length=%s" % resp.getheader("Content-Length")
    return body, framing

stream, stream_sock = connect(stream_addr)
echo, echo_sock = connect(echo_addr)
verdict = []

body, framing = exchange(stream, stream_sock, "GET", "/stream/100000")
if len(body) != 100000:
    fail("GET /stream/100000: %d bytes" % len(body))
save("stream-first", body)
verdict.append("stream GET %d %s" % (len(body), framing))

headers = {"Content-Type": "application/octet-stream"}
body, framing = exchange(echo, echo_sock, "POST", "/upload", body=data, headers=headers)
if body != data:
    fail("POST of %d bytes: echoed %d bytes, not identical" % (len(data), len(body)))
save("echo-post", body)
verdict.append("echo POST %d %s" % (len(body), framing))

pieces = [b"first piece\n", data[:300000], b"", data[300000:700000], b"last piece\n"]
sent = b"".join(pieces)
headers = {"Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"}
body, framing = exchange(
    echo, echo_sock, "POST", "/chunked", body=iter(pieces), headers=headers,
    encode_chunked=True)
if body != sent:
    fail("chunked POST of %d bytes: echoed %d bytes, not identical" % (len(sent), len(body)))
save("echo-chunked", body)
verdict.append("echo chunked POST %d %s" % (len(body), framing))

body, framing = exchange(echo, echo_sock, "GET", "/after")
if body:
    fail("GET /after on echo: %d bytes" % len(body))
verdict.append("echo GET %d %s" % (len(body), framing))

body, framing = exchange(stream, stream_sock, "GET", "/stream/100000")
save("stream-again", body)
verdict.append("stream GET again %d %s" % (len(body), framing))
stream.close()
echo.close()

opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open("http://%s/stream/54321" % stream_addr, timeout=20) as resp:
    if resp.status != 200:
        fail("urllib GET: status %d" % resp.status)
    body = resp.read()
save("urllib", body)
verdict.append("urllib GET %d" % len(body))
print("; ".join(verdict))
"##;

#[test]
fn python_http_client_keep_alive_and_urllib() {
    if !have("python3", "--version") {
        return;
    }
    let data = megabyte();
    let upload = TempFile::new("python-upload", &data);
    let run = direct_vs_proxied("python", |side, out| {
        let (stream, echo) = (side.stream.to_string(), side.echo.to_string());
        let args = [
            "-c",
            PYTHON_SCRIPT,
            &stream,
            &echo,
            path_arg(out),
            upload.path(),
        ];
        let output = run_client("python3", &args);
        String::from_utf8(output.stdout).expect("the verdict is UTF-8")
    });
    assert_eq!(
        run.verdict,
        "stream GET 100000 length=100000; echo POST 1000000 length=1000000; \
         echo chunked POST 700023 chunked; echo GET 0 length=0; \
         stream GET again 100000 length=100000; urllib GET 54321\n"
    );
    for name in ["stream-first", "stream-again"] {
        assert_eq!(run.file(name).len(), 100_000, "{name}");
        check_stream_pattern(run.file(name), 0);
    }
    same_bytes("echo-post", run.file("echo-post"), &data);
    let mut sent = b"first piece\n".to_vec();
    sent.extend_from_slice(&data[..700_000]);
    sent.extend_from_slice(b"last piece\n");
    same_bytes("echo-chunked", run.file("echo-chunked"), &sent);
    assert_eq!(run.file("urllib").len(), 54_321);
    check_stream_pattern(run.file("urllib"), 0);
}

// ---------------------------------------------------------------------------------------
// wget.

/// `wget -q -O <out> <extra> <url>`, with no config file, no proxy, one try and a timeout.
fn wget(out: &Path, extra: &[&str], url: &str) {
    let mut args = vec![
        "-q",
        "--no-config",
        "--no-proxy",
        "--tries=1",
        "--timeout=20",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-O", path_arg(out), url]);
    run_client("wget", &args);
}

#[test]
fn wget_download_of_5_mb() {
    if !have("wget", "--version") {
        return;
    }
    let run = direct_vs_proxied("wget-get", |side, out| {
        let url = format!("http://{}/stream/5000000", side.stream);
        wget(&out.join("stream"), &[], &url);
        String::new()
    });
    assert_eq!(run.file("stream").len(), 5_000_000);
    check_stream_pattern(run.file("stream"), 0);
}

#[test]
fn wget_post_file_echoes_it() {
    if !have("wget", "--version") {
        return;
    }
    let data = megabyte();
    let upload = TempFile::new("wget-upload", &data);
    let run = direct_vs_proxied("wget-post", |side, out| {
        let url = format!("http://{}/upload", side.echo);
        let post = format!("--post-file={}", upload.path());
        let header = "--header=Content-Type: application/octet-stream";
        wget(&out.join("echo"), &[&post, header], &url);
        String::new()
    });
    same_bytes("wget's echo", run.file("echo"), &data);
}

// ---------------------------------------------------------------------------------------
// Node.js: http.request with a keep-alive agent.

/// argv: stream address, echo address, output directory.
///
/// An agent with `keepAlive` and one socket per host: three sequential GETs to the stream app
/// (each socket is numbered when first seen, so the verdict shows which socket served each
/// reply and whether Node says it reused it), then a POST to the echo app streamed as three
/// chunked writes with pauses between them, and a GET to the echo app after it.
const NODE_SCRIPT: &str = r##"
const http = require("http");
const fs = require("fs");
const path = require("path");
const [streamAddr, echoAddr, out] = process.argv.slice(1);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let sockets = 0;

function fail(message) {
  process.stderr.write("node: " + message + "\n");
  process.exit(1);
}

function request(addr, method, target, headers, send) {
  const at = addr.lastIndexOf(":");
  const options = {
    host: addr.slice(0, at), port: Number(addr.slice(at + 1)),
    method, path: target, headers, agent,
  };
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      const socket = req.socket.twineId;
      const framing = res.headers["transfer-encoding"] === "chunked"
        ? "chunked" : "length=" + res.headers["content-length"];
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        if (res.statusCode !== 200) fail(method + " " + target + ": " + res.statusCode);
        const body = Buffer.concat(chunks);
        resolve({ body, socket, reused: req.reusedSocket, framing });
      });
    });
    req.on("socket", (s) => { if (s.twineId === undefined) s.twineId = sockets++; });
    req.on("error", (e) => reject(new Error(method + " " + target + ": " + e.message)));
    send(req);
  });
}

function pattern(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >> 8)) & 0xff;
  return b;
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const verdict = [];
  for (const n of [1000, 100000, 1000000]) {
    const r = await request(streamAddr, "GET", "/stream/" + n, {}, (req) => req.end());
    if (r.body.length !== n) fail("GET /stream/" + n + ": " + r.body.length + " bytes");
    fs.writeFileSync(path.join(out, "stream-" + n), r.body);
    verdict.push(`GET ${n}: socket ${r.socket} reused ${r.reused} ${r.framing}`);
  }
  const pieces = [Buffer.from("first piece\n"), pattern(200000), Buffer.from("last piece\n")];
  const headers = {
    "Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked",
  };
  const r = await request(echoAddr, "POST", "/upload", headers, async (req) => {
    for (const piece of pieces) {
      req.write(piece);
      await pause(50);
    }
    req.end();
  });
  const sent = Buffer.concat(pieces);
  if (!r.body.equals(sent)) fail("chunked POST: echoed " + r.body.length + " bytes, not identical");
  fs.writeFileSync(path.join(out, "echo-chunked"), r.body);
  verdict.push(`POST ${r.body.length}: socket ${r.socket} reused ${r.reused} ${r.framing}`);
  const g = await request(echoAddr, "GET", "/after", {}, (req) => req.end());
  if (g.body.length !== 0) fail("GET /after on echo: " + g.body.length + " bytes");
  verdict.push(`GET echo: socket ${g.socket} reused ${g.reused} ${g.framing}`);
  fs.writeFileSync(path.join(out, "sent"), sent);
  agent.destroy();
  console.log(verdict.join("; "));
}

main().catch((e) => fail(e.stack || String(e)));
"##;

#[test]
fn node_keep_alive_agent_and_chunked_upload() {
    if !have("node", "--version") {
        return;
    }
    let run = direct_vs_proxied("node", |side, out| {
        let (stream, echo) = (side.stream.to_string(), side.echo.to_string());
        let output = run_client("node", &["-e", NODE_SCRIPT, &stream, &echo, path_arg(out)]);
        String::from_utf8(output.stdout).expect("the verdict is UTF-8")
    });
    assert_eq!(
        run.verdict,
        "GET 1000: socket 0 reused false length=1000; \
         GET 100000: socket 0 reused true length=100000; \
         GET 1000000: socket 0 reused true length=1000000; \
         POST 200023: socket 1 reused false chunked; \
         GET echo: socket 1 reused true length=0\n"
    );
    for n in [1000, 100_000, 1_000_000] {
        let body = run.file(&format!("stream-{n}"));
        assert_eq!(body.len(), n);
        check_stream_pattern(body, 0);
    }
    assert_eq!(run.file("sent").len(), 200_023);
    same_bytes(
        "node's chunked echo",
        run.file("echo-chunked"),
        run.file("sent"),
    );
}
