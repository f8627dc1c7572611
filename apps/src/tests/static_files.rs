//! Each test builds a directory tree under the system temp directory, drives the app with
//! hand-made events exactly as the driver would, and checks the commands it answers with.
//! The HTTP rules (validators, conditions, ranges) are tested over the memory tree in
//! `static_http.rs`, which shares this harness.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};

use twine_engine::{BodyLength, Headers, Method, Version};

use super::*;

#[path = "static_http.rs"]
mod http;

/// A temporary tree: `<dir>/root` is served, `<dir>/outside` is not. Removed on drop.
struct Tree {
    dir: PathBuf,
}

impl Tree {
    fn new(name: &str) -> Tree {
        let dir =
            std::env::temp_dir().join(format!("twine-static-{}-{}", std::process::id(), name));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("root")).unwrap();
        fs::create_dir_all(dir.join("outside")).unwrap();
        fs::write(dir.join("outside/secret.txt"), "secret").unwrap();
        Tree { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    /// Writes `root/<path>`, creating its directories.
    fn file(&self, path: &str, contents: &[u8]) -> &Tree {
        let path = self.root().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
        self
    }

    /// The app over this tree, reading inline so that `produce` sends every chunk itself.
    fn app(&self) -> StaticFiles {
        let files = DiskFileSystem::new(self.root(), ReadMode::Inline).unwrap();
        StaticFiles::with_file_system(files)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// What the commands for one request amount to.
#[derive(Debug, Default)]
struct Response {
    status: u16,
    headers: Headers,
    body: Vec<u8>,
    chunks: Vec<usize>,
    producer: bool,
    finished: bool,
    aborted: bool,
}

impl Response {
    fn header(&self, name: &str) -> &str {
        std::str::from_utf8(self.headers.get(name).unwrap()).unwrap()
    }
}

fn collect(response: &mut Response, commands: Vec<AppCommand>) {
    for command in commands {
        assert!(
            !response.finished && !response.aborted,
            "a command after the end of the response"
        );
        match command {
            AppCommand::SendHead { head, .. } => {
                assert_eq!(response.status, 0, "two heads");
                response.status = head.status;
                response.headers = head.headers;
            }
            AppCommand::SendBody { data, .. } => {
                assert!(response.status != 0, "body before head");
                response.chunks.push(data.len());
                response.body.extend_from_slice(&data);
            }
            AppCommand::Finish { .. } => response.finished = true,
            AppCommand::Respond { head, body, .. } => {
                assert_eq!(response.status, 0, "two heads");
                response.status = head.status;
                response.headers = head.headers;
                if !body.is_empty() {
                    response.chunks.push(body.len());
                    response.body.extend_from_slice(&body);
                }
                response.finished = true;
            }
            AppCommand::Abort { .. } => response.aborted = true,
            AppCommand::RegisterProducer { kind, .. } => {
                assert_eq!(kind, ProducerKind::Push);
                response.producer = true;
            }
            other => panic!("unexpected command {other:?}"),
        }
    }
}

fn request_head(method: &str, target: &str, headers: Headers) -> RequestHead {
    RequestHead {
        method: Method::new(method.to_owned()),
        target: Bytes::from(target.to_owned()),
        version: Version::Http11,
        headers,
        body: BodyLength::Known(0),
        expect_continue: false,
    }
}

/// Sends the request and answers only what `on_event` pushes.
fn start<F: FileSystem>(app: &mut StaticFiles<F>, id: u64, method: &str, target: &str) -> Response {
    start_with(app, id, method, target, Headers::new())
}

/// `start` with request header fields.
fn start_with<F: FileSystem>(
    app: &mut StaticFiles<F>,
    id: u64,
    method: &str,
    target: &str,
    headers: Headers,
) -> Response {
    let mut commands = Vec::new();
    let head = request_head(method, target, headers);
    app.on_event(
        Instant::ZERO,
        Event::Request {
            id: RequestId::from_sequence(id),
            head,
        },
        &mut commands,
    );
    let mut response = Response::default();
    collect(&mut response, commands);
    response
}

/// Lets the producer produce until it has nothing more.
fn drain<F: FileSystem>(app: &mut StaticFiles<F>, id: u64, response: &mut Response) {
    let mut commands = Vec::new();
    app.on_producer(
        Instant::ZERO,
        RequestId::from_sequence(id),
        ProducerState::Producing,
        &mut commands,
    );
    let mut calls = 0;
    while app.produce(Instant::ZERO, &mut commands) {
        calls += 1;
        assert!(calls < 1_000, "produce never stops");
    }
    collect(response, commands);
}

/// A whole exchange.
fn fetch<F: FileSystem>(app: &mut StaticFiles<F>, method: &str, target: &str) -> Response {
    fetch_with(app, method, target, Headers::new())
}

/// `fetch` with request header fields.
fn fetch_with<F: FileSystem>(
    app: &mut StaticFiles<F>,
    method: &str,
    target: &str,
    headers: Headers,
) -> Response {
    let mut response = start_with(app, 0, method, target, headers);
    if response.producer {
        drain(app, 0, &mut response);
    }
    assert!(response.finished, "{method} {target}: not finished");
    response
}

fn assert_refused<F: FileSystem>(app: &mut StaticFiles<F>, target: &str, status: u16) {
    let response = fetch(app, "GET", target);
    assert_eq!(response.status, status, "GET {target}");
    assert_eq!(response.header("Content-Type"), "text/plain; charset=utf-8");
    assert_eq!(
        response.header("Content-Length"),
        response.body.len().to_string()
    );
    assert!(!response.body.is_empty());
    assert!(!response.producer);
}

/// Bytes that differ at every offset modulo a prime, so misordered chunks show.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[test]
fn serves_a_file_with_its_type() {
    let tree = Tree::new("file");
    tree.file("hello.txt", b"hello\n")
        .file("app.JS", b"x")
        .file("blob", b"\x00\x01");
    let mut app = tree.app();
    let response = fetch(&mut app, "GET", "/hello.txt");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Type"), "text/plain; charset=utf-8");
    assert_eq!(response.header("Content-Length"), "6");
    assert_eq!(response.body, b"hello\n");
    let js = fetch(&mut app, "GET", "/app.JS");
    assert_eq!(js.header("Content-Type"), "text/javascript; charset=utf-8");
    let blob = fetch(&mut app, "GET", "/blob");
    assert_eq!(blob.header("Content-Type"), "application/octet-stream");
    assert_eq!(blob.body, b"\x00\x01");
}

#[test]
fn head_has_the_length_and_no_body() {
    let tree = Tree::new("head");
    tree.file("page.html", b"<p>hi</p>");
    let mut app = tree.app();
    let response = start(&mut app, 0, "HEAD", "/page.html");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Type"), "text/html; charset=utf-8");
    assert_eq!(response.header("Content-Length"), "9");
    assert!(response.body.is_empty() && response.finished && !response.producer);
    assert!(app.bodies.is_empty(), "HEAD keeps no file open");
    let missing = start(&mut app, 1, "HEAD", "/missing");
    assert_eq!(missing.status, 404);
    assert!(missing.body.is_empty() && missing.finished);
}

#[test]
fn missing_files_are_404() {
    let tree = Tree::new("missing");
    tree.file("a.txt", b"a");
    let mut app = tree.app();
    assert_refused(&mut app, "/nope.txt", 404);
    assert_refused(&mut app, "/a.txt/inside", 404);
    assert_refused(&mut app, "/dir/nope", 404);
}

#[test]
fn other_methods_are_405() {
    let tree = Tree::new("method");
    tree.file("a.txt", b"a");
    let mut app = tree.app();
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "get"] {
        let response = fetch(&mut app, method, "/a.txt");
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("Allow"), "GET, HEAD");
        assert_eq!(
            response.header("Content-Length"),
            response.body.len().to_string()
        );
    }
}

#[test]
fn dot_dot_segments_are_404() {
    let tree = Tree::new("dotdot");
    tree.file("a.txt", b"a").file("sub/b.txt", b"b");
    let mut app = tree.app();
    assert_refused(&mut app, "/../outside/secret.txt", 404);
    // Even when it would stay inside the root: nothing is normalised upward.
    assert_refused(&mut app, "/sub/../a.txt", 404);
    assert_refused(&mut app, "/..", 404);
    assert_eq!(fetch(&mut app, "GET", "/./sub//./b.txt").body, b"b");
}

#[test]
fn encoded_dot_dot_is_404() {
    let tree = Tree::new("encoded-dotdot");
    tree.file("a.txt", b"a");
    let mut app = tree.app();
    assert_refused(&mut app, "/%2e%2e/outside/secret.txt", 404);
    assert_refused(&mut app, "/%2E%2E/", 404);
    assert_refused(&mut app, "/.%2e/outside/secret.txt", 404);
    assert_eq!(fetch(&mut app, "GET", "/%61.txt").body, b"a");
}

#[test]
fn encoded_slash_is_404() {
    let tree = Tree::new("encoded-slash");
    tree.file("a/b.txt", b"b");
    let mut app = tree.app();
    assert_eq!(fetch(&mut app, "GET", "/a/b.txt").status, 200);
    assert_refused(&mut app, "/a%2fb.txt", 404);
    assert_refused(&mut app, "/a%2Fb.txt", 404);
    assert_refused(&mut app, "/a/..%2f..%2foutside%2fsecret.txt", 404);
}

#[test]
fn bad_targets_are_400() {
    let tree = Tree::new("bad");
    tree.file("a.txt", b"a");
    let mut app = tree.app();
    for target in [
        "/%zz", "/a%2", "/a%", "/a%00b", "/%00", "*", "a.txt", "h:80", "",
    ] {
        assert_refused(&mut app, target, 400);
    }
}

#[test]
fn absolute_form_targets_name_their_path() {
    // RFC 9112 §3.2.2: a server must accept absolute-form; the authority is not a path.
    let tree = Tree::new("absolute");
    tree.file("a.txt", b"a");
    let mut app = tree.app();
    for target in [
        "http://h/a.txt",
        "HTTPS://h:8/a.txt?q",
        "http://h/./a.txt#f",
    ] {
        let response = fetch(&mut app, "GET", target);
        assert_eq!(response.status, 200, "{target}");
        assert_eq!(response.body, b"a", "{target}");
    }
    assert_refused(&mut app, "http://h/missing", 404);
    assert_refused(&mut app, "ftp://h/a.txt", 400);
}

#[test]
fn symlinks_leaving_the_root_are_404() {
    let tree = Tree::new("symlink");
    tree.file("a.txt", b"a");
    let root = tree.root();
    std::os::unix::fs::symlink(tree.dir.join("outside/secret.txt"), root.join("out.txt")).unwrap();
    std::os::unix::fs::symlink(tree.dir.join("outside"), root.join("outdir")).unwrap();
    std::os::unix::fs::symlink(root.join("a.txt"), root.join("in.txt")).unwrap();
    let mut app = tree.app();
    assert_refused(&mut app, "/out.txt", 404);
    assert_refused(&mut app, "/outdir/secret.txt", 404);
    assert_refused(&mut app, "/outdir", 404);
    assert_eq!(fetch(&mut app, "GET", "/in.txt").body, b"a");
}

#[test]
fn directories_serve_their_index() {
    let tree = Tree::new("index");
    tree.file("docs/index.html", b"<h1>docs</h1>")
        .file("bare/x.txt", b"x");
    std::os::unix::fs::symlink(
        tree.dir.join("outside/secret.txt"),
        tree.root().join("bare/index.html"),
    )
    .unwrap();
    fs::create_dir(tree.root().join("empty")).unwrap();
    let mut app = tree.app();
    for target in ["/docs", "/docs/", "/docs/index.html"] {
        let response = fetch(&mut app, "GET", target);
        assert_eq!(response.status, 200, "{target}");
        assert_eq!(response.header("Content-Type"), "text/html; charset=utf-8");
        assert_eq!(response.body, b"<h1>docs</h1>");
    }
    assert_refused(&mut app, "/empty/", 404);
    assert_refused(&mut app, "/", 404);
    // An index that is a symlink out of the root is refused like any other.
    assert_refused(&mut app, "/bare/", 404);
    tree.file("index.html", b"home");
    assert_eq!(fetch(&mut app, "GET", "/").body, b"home");
}

#[test]
fn query_and_fragment_are_ignored() {
    let tree = Tree::new("query");
    tree.file("a.txt", b"a");
    let mut app = tree.app();
    for target in [
        "/a.txt?x=1",
        "/a.txt?../../outside/secret.txt",
        "/a.txt#frag",
        "/a.txt?%zz",
        "/a.txt?next=http://h/b",
    ] {
        assert_eq!(fetch(&mut app, "GET", target).body, b"a", "{target}");
    }
}

#[test]
fn large_files_arrive_whole_and_in_order() {
    let tree = Tree::new("large");
    let contents = pattern(2 * CHUNK_BYTES + 1234);
    tree.file("big.bin", &contents);
    let mut app = tree.app();
    let response = fetch(&mut app, "GET", "/big.bin");
    assert_eq!(
        response.header("Content-Length"),
        contents.len().to_string()
    );
    assert!(response.body == contents, "body differs");
    assert!(response.chunks.len() >= 3);
    assert!(response.chunks.iter().all(|&n| 0 < n && n <= CHUNK_BYTES));
    assert!(app.bodies.is_empty());
}

#[test]
fn empty_files_finish_at_once() {
    let tree = Tree::new("empty-file");
    tree.file("empty.txt", b"");
    let mut app = tree.app();
    let response = start(&mut app, 0, "GET", "/empty.txt");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Length"), "0");
    assert!(response.finished && !response.producer);
    assert!(app.bodies.is_empty());
}

#[test]
fn pause_stops_production_and_resume_continues() {
    let tree = Tree::new("pause");
    let contents = pattern(3 * CHUNK_BYTES);
    tree.file("big.bin", &contents);
    let mut app = tree.app();
    let mut response = start(&mut app, 0, "GET", "/big.bin");
    let mut commands = Vec::new();
    // Registered but not yet told to produce: nothing.
    assert!(!app.produce(Instant::ZERO, &mut commands));
    app.on_producer(
        Instant::ZERO,
        RequestId::from_sequence(0),
        ProducerState::Producing,
        &mut commands,
    );
    assert!(app.produce(Instant::ZERO, &mut commands));
    app.on_producer(
        Instant::ZERO,
        RequestId::from_sequence(0),
        ProducerState::Paused,
        &mut commands,
    );
    assert!(!app.produce(Instant::ZERO, &mut commands));
    collect(&mut response, commands);
    assert_eq!(response.chunks.len(), 1);
    assert!(!response.finished);
    drain(&mut app, 0, &mut response);
    assert!(response.finished);
    assert!(response.body == contents, "body differs");
}

#[test]
fn stopped_and_lost_drop_the_file() {
    let tree = Tree::new("stopped");
    tree.file("big.bin", &pattern(2 * CHUNK_BYTES));
    let mut app = tree.app();
    let mut commands = Vec::new();
    start(&mut app, 0, "GET", "/big.bin");
    app.on_producer(
        Instant::ZERO,
        RequestId::from_sequence(0),
        ProducerState::Producing,
        &mut commands,
    );
    app.on_producer(
        Instant::ZERO,
        RequestId::from_sequence(0),
        ProducerState::Stopped,
        &mut commands,
    );
    assert!(app.bodies.is_empty());
    start(&mut app, 1, "GET", "/big.bin");
    app.on_producer(
        Instant::ZERO,
        RequestId::from_sequence(1),
        ProducerState::Producing,
        &mut commands,
    );
    app.on_event(
        Instant::ZERO,
        Event::Lost {
            id: RequestId::from_sequence(1),
        },
        &mut commands,
    );
    assert!(app.bodies.is_empty());
    assert!(!app.produce(Instant::ZERO, &mut commands));
    assert!(commands.is_empty());
}

#[test]
fn a_truncated_file_aborts() {
    let tree = Tree::new("truncated");
    tree.file("big.bin", &pattern(2 * CHUNK_BYTES));
    let mut app = tree.app();
    let mut response = start(&mut app, 0, "GET", "/big.bin");
    let mut commands = Vec::new();
    app.on_producer(
        Instant::ZERO,
        RequestId::from_sequence(0),
        ProducerState::Producing,
        &mut commands,
    );
    assert!(app.produce(Instant::ZERO, &mut commands));
    File::options()
        .write(true)
        .open(tree.root().join("big.bin"))
        .unwrap()
        .set_len(10)
        .unwrap();
    collect(&mut response, commands);
    drain(&mut app, 0, &mut response);
    assert!(response.aborted && !response.finished);
    assert!(response.body.len() < 2 * CHUNK_BYTES);
    assert!(app.bodies.is_empty());
}

#[test]
fn a_growing_file_sends_only_the_declared_length() {
    let tree = Tree::new("growing");
    tree.file("log.txt", b"0123456789");
    let mut app = tree.app();
    let mut response = start(&mut app, 0, "GET", "/log.txt");
    let mut log = File::options()
        .append(true)
        .open(tree.root().join("log.txt"))
        .unwrap();
    log.write_all(b"more bytes").unwrap();
    drain(&mut app, 0, &mut response);
    assert_eq!(response.header("Content-Length"), "10");
    assert_eq!(response.body, b"0123456789");
    assert!(response.finished);
}

#[test]
fn permission_errors_are_403() {
    use std::os::unix::fs::PermissionsExt;
    // The mapping itself, checked even when the file system cannot deny us (as root).
    let denied = io::Error::from(ErrorKind::PermissionDenied);
    assert_eq!(LookupError::from_io(&denied), LookupError::Forbidden);
    assert_eq!(
        LookupError::from_io(&io::Error::from(ErrorKind::NotFound)),
        LookupError::NotFound
    );
    let tree = Tree::new("forbidden");
    tree.file("locked.txt", b"x");
    let path = tree.root().join("locked.txt");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    if File::open(&path).is_ok() {
        // Running as root: permissions are not enforced, so there is nothing to check.
        return;
    }
    let mut app = tree.app();
    assert_refused(&mut app, "/locked.txt", 403);
}

#[test]
fn new_wants_a_directory() {
    let tree = Tree::new("new");
    tree.file("a.txt", b"a");
    assert!(StaticFiles::new(tree.root().join("a.txt")).is_err());
    assert!(StaticFiles::new(tree.root().join("missing")).is_err());
    let app = StaticFiles::new(tree.dir.join("outside/../root/.")).unwrap();
    assert_eq!(app.root(), fs::canonicalize(tree.root()).unwrap());
}

#[test]
fn clones_share_the_root_and_nothing_else() {
    let tree = Tree::new("clone");
    tree.file("big.bin", &pattern(2 * CHUNK_BYTES));
    let mut app = tree.app();
    start(&mut app, 0, "GET", "/big.bin");
    let clone = app.clone();
    assert_eq!(clone.files.root(), app.files.root());
    assert!(clone.bodies.is_empty());
}

#[test]
fn paths_decode_to_relative_paths() {
    assert_eq!(relative_path(b"/"), Ok(PathBuf::new()));
    assert_eq!(relative_path(b"/a/./b//c"), Ok(PathBuf::from("a/b/c")));
    assert_eq!(relative_path(b"/a%20b"), Ok(PathBuf::from("a b")));
    assert_eq!(relative_path(b"/%C3%A9"), Ok(PathBuf::from("\u{e9}")));
    assert_eq!(relative_path(b"/%ff"), Err(Refusal::NotFound));
    assert_eq!(relative_path(b"/../%zz"), Err(Refusal::BadRequest));
    assert_eq!(relative_path(b"/a\\b"), Ok(PathBuf::from("a\\b")));
}

#[test]
fn content_types_follow_the_extension() {
    let cases = [
        ("a.htm", "text/html; charset=utf-8"),
        ("a.HTML", "text/html; charset=utf-8"),
        ("a.json", "application/json"),
        ("a.jpeg", "image/jpeg"),
        ("a.wasm", "application/wasm"),
        ("a.woff2", "font/woff2"),
        ("a.mjs", "application/javascript; charset=utf-8"),
        ("a.CSS", "text/css; charset=utf-8"),
        ("a.tar.gz", "application/gzip"),
        (".png", "application/octet-stream"),
        ("noext", "application/octet-stream"),
    ];
    for (name, expected) in cases {
        assert_eq!(content_type(Path::new(name)), expected, "{name}");
    }
}

/// The real server's mode: each read goes to tokio's blocking pool, `produce` pushes nothing,
/// and the chunk comes back through `poll_wake`, whole and in order.
#[test]
fn pool_reads_come_back_through_poll_wake() {
    let tree = Tree::new("pool");
    let contents = pattern(2 * CHUNK_BYTES + 7);
    tree.file("big.bin", &contents);
    let mut app = StaticFiles::new(tree.root()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut response = start(&mut app, 0, "GET", "/big.bin");
    let mut commands = Vec::new();
    let id = RequestId::from_sequence(0);
    app.on_producer(Instant::ZERO, id, ProducerState::Producing, &mut commands);
    let mut wakes = 0;
    runtime.block_on(async {
        while !response.finished {
            assert!(!app.produce(Instant::ZERO, &mut commands));
            std::future::poll_fn(|cx| app.poll_wake(cx, Instant::ZERO, &mut commands)).await;
            wakes += 1;
            collect(&mut response, std::mem::take(&mut commands));
        }
    });
    assert_eq!(wakes, 3);
    assert_eq!(response.chunks, [CHUNK_BYTES, CHUNK_BYTES, 7]);
    assert!(response.body == contents, "body differs");
    assert!(app.bodies.is_empty());
}

/// A pool read that finishes while the producer is paused is kept, not sent: the channel
/// asked for no more, and gets the chunk with the next `Producing`.
#[test]
fn a_pool_read_finishing_while_paused_waits_for_producing() {
    let tree = Tree::new("pool-paused");
    tree.file("a.bin", &pattern(100));
    let mut app = StaticFiles::new(tree.root()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _entered = runtime.enter();
    let mut response = start(&mut app, 0, "GET", "/a.bin");
    let mut commands = Vec::new();
    let id = RequestId::from_sequence(0);
    app.on_producer(Instant::ZERO, id, ProducerState::Producing, &mut commands);
    assert!(!app.produce(Instant::ZERO, &mut commands));
    app.on_producer(Instant::ZERO, id, ProducerState::Paused, &mut commands);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..10_000 {
        let poll = app.poll_wake(&mut cx, Instant::ZERO, &mut commands);
        assert!(
            poll.is_pending() && commands.is_empty(),
            "sent while paused"
        );
        if matches!(app.bodies[&id].read, ReadSlot::Done(_)) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(
        matches!(app.bodies[&id].read, ReadSlot::Done(_)),
        "the read never finished"
    );
    assert!(!app.produce(Instant::ZERO, &mut commands), "paused");
    app.on_producer(Instant::ZERO, id, ProducerState::Producing, &mut commands);
    assert!(app.produce(Instant::ZERO, &mut commands));
    collect(&mut response, commands);
    assert!(response.finished);
    assert_eq!(response.body, pattern(100));
}
