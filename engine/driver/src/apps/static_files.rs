//! `static`: serves the files under one root directory to `GET` and `HEAD`.
//!
//! It owns the canonical root (shared by every connection's clone) and, per connection, the
//! open file of each response being sent, read in chunks of at most `CHUNK_BYTES` by a push
//! producer that honours pause and resume.
//!
//! Invariants:
//! - *Never outside the root.* A target is percent-decoded segment by segment; a `..` segment
//!   is refused (404), never normalised upward, and the resolved path is canonicalised and must
//!   start with the canonical root, so a symlink pointing outside is refused too (404). The
//!   same check runs again on a directory's `index.html`.
//! - *Never more bytes than `Content-Length`.* The length is taken from the open file's
//!   metadata; each read asks for at most the bytes still declared, and the response is
//!   finished once they are sent, even if the file grew meanwhile. A file that shrank is
//!   noticed as an early end of file and the response is aborted: a wrong length is never sent.
//!
//! A decoded `/` inside a segment (`%2f`) is refused with 404 rather than taken as a
//! separator: RFC 3986 §2.2 says an encoded reserved character is data, and no file name can
//! contain `/`. Segments that are not UTF-8 are refused with 404 as well.
//!
//! File I/O is blocking `std::fs`, on purpose: the simulation runs on turmoil's single-threaded
//! runtime, where `spawn_blocking` is not available, and one bounded read per `produce` call
//! keeps each stall short. A server with slow disks would move the reads to a thread pool.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, ErrorKind, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use twine_engine::{
    AppCommand, Event, Instant, ProducerKind, ProducerState, RequestHead, RequestId, ResponseHead,
};

use crate::App;

/// Bytes read per produced chunk, at most.
const CHUNK_BYTES: usize = 64 * 1024;

/// Reads retried after `ErrorKind::Interrupted` before the response is aborted.
const READ_INTERRUPTED_RETRIES_MAX: u32 = 4;

/// The file served for a directory.
const INDEX_FILE: &str = "index.html";

/// The static-files app for one connection.
#[derive(Debug)]
pub struct StaticFiles {
    /// The served directory.
    /// Invariant: canonical (absolute, no symlinks, no `.` or `..`) and a directory at `new`.
    root: Arc<Path>,
    /// Responses whose body is being sent.
    bodies: BTreeMap<RequestId, FileBody>,
    /// The read buffer, reused: each chunk is split off it and frozen.
    buffer: BytesMut,
}

/// One response body being read from its file.
#[derive(Debug)]
struct FileBody {
    file: File,
    /// Declared bytes not sent yet.
    /// Invariant: greater than zero (the entry is removed when it reaches zero).
    remaining: u64,
    /// The producer is `Producing`.
    producing: bool,
}

/// A file opened for a response, with what its head says.
#[derive(Debug)]
struct Opened {
    file: File,
    length: u64,
    content_type: &'static str,
}

/// Why a request gets no file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// A target that is not origin-form, or with a bad escape or a NUL.
    BadRequest,
    /// The operating system denied access.
    Forbidden,
    /// Missing, outside the root, a `..` segment, or not a regular file.
    NotFound,
    /// Not `GET` or `HEAD`.
    MethodNotAllowed,
}

impl Refusal {
    fn status(self) -> u16 {
        match self {
            Refusal::BadRequest => 400,
            Refusal::Forbidden => 403,
            Refusal::NotFound => 404,
            Refusal::MethodNotAllowed => 405,
        }
    }

    fn body(self) -> &'static [u8] {
        match self {
            Refusal::BadRequest => b"bad request\n",
            Refusal::Forbidden => b"forbidden\n",
            Refusal::NotFound => b"not found\n",
            Refusal::MethodNotAllowed => b"method not allowed\n",
        }
    }

    /// A file-system error as seen by the client: permission errors are 403; anything else
    /// (missing, not a directory, a symlink loop) names no file we serve.
    fn from_io(error: &io::Error) -> Refusal {
        match error.kind() {
            ErrorKind::PermissionDenied => Refusal::Forbidden,
            _ => Refusal::NotFound,
        }
    }
}

impl StaticFiles {
    /// Serves the files under `root`, canonicalised once here. Fails if `root` cannot be
    /// resolved or is not a directory.
    pub fn new(root: PathBuf) -> io::Result<StaticFiles> {
        let root = fs::canonicalize(root)?;
        if !fs::metadata(&root)?.is_dir() {
            let message = format!("{} is not a directory", root.display());
            return Err(io::Error::new(ErrorKind::InvalidInput, message));
        }
        Ok(StaticFiles {
            root: root.into(),
            bodies: BTreeMap::new(),
            buffer: BytesMut::new(),
        })
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn on_request(&mut self, id: RequestId, head: &RequestHead, commands: &mut Vec<AppCommand>) {
        let is_head = head.method.is_head();
        if !(is_head || head.method.is_get()) {
            // No request-body credit: the channel treats the answer as an early reply.
            refuse(id, Refusal::MethodNotAllowed, false, commands);
            return;
        }
        let opened = parse_target(&head.target).and_then(|relative| self.open(&relative));
        let opened = match opened {
            Ok(opened) => opened,
            Err(refusal) => return refuse(id, refusal, is_head, commands),
        };
        let response = ResponseHead::new(200)
            .with_header("Content-Type", opened.content_type)
            .with_header("Content-Length", opened.length.to_string());
        commands.push(AppCommand::SendHead {
            request: id,
            head: response,
        });
        if is_head || opened.length == 0 {
            // HEAD keeps the length and gets no body; the file is closed here.
            commands.push(AppCommand::Finish { request: id });
            return;
        }
        let body = FileBody {
            file: opened.file,
            remaining: opened.length,
            producing: false,
        };
        let previous = self.bodies.insert(id, body);
        assert!(previous.is_none(), "request {id} arrived twice");
        commands.push(AppCommand::RegisterProducer {
            request: id,
            kind: ProducerKind::Push,
        });
    }

    /// Opens the regular file a decoded, root-relative path names.
    fn open(&self, relative: &Path) -> Result<Opened, Refusal> {
        let mut path = self.confine(&self.root.join(relative))?;
        let mut name = relative.to_path_buf();
        let mut metadata = fs::metadata(&path).map_err(|e| Refusal::from_io(&e))?;
        if metadata.is_dir() {
            // The index may itself be a symlink: confine it again.
            path = self.confine(&path.join(INDEX_FILE))?;
            name = PathBuf::from(INDEX_FILE);
            metadata = fs::metadata(&path).map_err(|e| Refusal::from_io(&e))?;
        }
        // Checked before opening: opening a FIFO for reading would block until a writer came.
        if !metadata.is_file() {
            return Err(Refusal::NotFound);
        }
        let file = File::open(&path).map_err(|e| Refusal::from_io(&e))?;
        // The declared length comes from the open file, not the path, so a rename in between
        // cannot make it describe another file.
        let metadata = file.metadata().map_err(|e| Refusal::from_io(&e))?;
        if !metadata.is_file() {
            return Err(Refusal::NotFound);
        }
        // The type follows the name the client asked for, not a symlink's target.
        let content_type = content_type(&name);
        Ok(Opened {
            file,
            length: metadata.len(),
            content_type,
        })
    }

    /// `path` canonicalised, if it stays under the root.
    fn confine(&self, path: &Path) -> Result<PathBuf, Refusal> {
        let canonical = fs::canonicalize(path).map_err(|e| Refusal::from_io(&e))?;
        if canonical.starts_with(&self.root) {
            Ok(canonical)
        } else {
            Err(Refusal::NotFound)
        }
    }
}

impl Clone for StaticFiles {
    /// Shares the root; the clone starts with no response in flight (open files are per
    /// connection).
    fn clone(&self) -> StaticFiles {
        StaticFiles {
            root: Arc::clone(&self.root),
            bodies: BTreeMap::new(),
            buffer: BytesMut::new(),
        }
    }
}

/// Answers `refusal` with a short `text/plain` body (none for `HEAD`).
fn refuse(id: RequestId, refusal: Refusal, is_head: bool, commands: &mut Vec<AppCommand>) {
    let body = Bytes::from_static(refusal.body());
    let mut head = ResponseHead::new(refusal.status())
        .with_header("Content-Type", "text/plain; charset=utf-8")
        .with_header("Content-Length", body.len().to_string());
    if refusal == Refusal::MethodNotAllowed {
        // RFC 9110 §15.5.6: a 405 lists the methods the resource supports.
        head = head.with_header("Allow", "GET, HEAD");
    }
    commands.push(AppCommand::SendHead { request: id, head });
    if !is_head {
        commands.push(AppCommand::SendBody {
            request: id,
            data: body,
        });
    }
    commands.push(AppCommand::Finish { request: id });
}

/// The root-relative path an origin-form target names: the query and fragment are dropped,
/// each `/`-separated segment is percent-decoded, empty and `.` segments are skipped.
fn parse_target(target: &[u8]) -> Result<PathBuf, Refusal> {
    let end = target
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(target.len());
    // Only origin-form (RFC 9112 §3.2.1) names a file; `*` and absolute-form do not.
    let path = target[..end]
        .strip_prefix(b"/")
        .ok_or(Refusal::BadRequest)?;
    // Decode every segment first, so a bad escape is a 400 wherever it is.
    let segments: Vec<Vec<u8>> = path
        .split(|&b| b == b'/')
        .map(decode_segment)
        .collect::<Result<_, _>>()?;
    let mut relative = PathBuf::new();
    for segment in &segments {
        match segment.as_slice() {
            b"" | b"." => continue,
            b".." => return Err(Refusal::NotFound),
            _ => {}
        }
        if segment.contains(&b'/') {
            return Err(Refusal::NotFound);
        }
        let name = std::str::from_utf8(segment).map_err(|_| Refusal::NotFound)?;
        // Defence in depth: a segment must be exactly one plain component (on Windows a
        // backslash or a drive prefix would make it more).
        let mut components = Path::new(name).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(part)), None) if part == name => relative.push(part),
            _ => return Err(Refusal::NotFound),
        }
    }
    Ok(relative)
}

/// Percent-decodes one segment (RFC 3986 §2.1). A `%` not followed by two hex digits, or a
/// decoded NUL, is a bad request.
fn decode_segment(raw: &[u8]) -> Result<Vec<u8>, Refusal> {
    let mut decoded = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let byte = if raw[i] == b'%' {
            let high = raw.get(i + 1).and_then(|&b| hex_value(b));
            let low = raw.get(i + 2).and_then(|&b| hex_value(b));
            let (Some(high), Some(low)) = (high, low) else {
                return Err(Refusal::BadRequest);
            };
            i += 3;
            high << 4 | low
        } else {
            i += 1;
            raw[i - 1]
        };
        if byte == 0 {
            return Err(Refusal::BadRequest);
        }
        decoded.push(byte);
    }
    Ok(decoded)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The `Content-Type` for a file name, by extension (ASCII-case-insensitive).
fn content_type(name: &Path) -> &'static str {
    let extension = name.extension().and_then(|e| e.to_str()).unwrap_or("");
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "xml" => "application/xml",
        "mp4" => "video/mp4",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Reads the next chunk: at most `CHUNK_BYTES` and at most `remaining`, in one `read`. An
/// empty chunk means the file ended early.
fn read_chunk(file: &mut File, remaining: u64, buffer: &mut BytesMut) -> io::Result<Bytes> {
    let wanted = usize::try_from(remaining)
        .unwrap_or(usize::MAX)
        .min(CHUNK_BYTES);
    buffer.clear();
    buffer.resize(wanted, 0);
    let mut retries = 0;
    let read = loop {
        match file.read(&mut buffer[..]) {
            Err(e)
                if e.kind() == ErrorKind::Interrupted && retries < READ_INTERRUPTED_RETRIES_MAX =>
            {
                retries += 1;
            }
            result => break result?,
        }
    };
    buffer.truncate(read);
    Ok(buffer.split().freeze())
}

impl App for StaticFiles {
    fn on_event(&mut self, _now: Instant, event: Event, commands: &mut Vec<AppCommand>) {
        match event {
            Event::Request { id, head } => self.on_request(id, &head, commands),
            Event::Lost { id } | Event::ProtocolError { id: Some(id), .. } => {
                self.bodies.remove(&id);
            }
            // No credit is ever granted, so no body arrives; the producer is a push producer,
            // so it is never pulled.
            Event::Body { .. }
            | Event::BodyEnd { .. }
            | Event::Pull { .. }
            | Event::ProtocolError { id: None, .. } => {}
            // `Event` is `#[non_exhaustive]`: a later event concerns no open file.
            _ => {}
        }
    }

    fn on_producer(
        &mut self,
        _now: Instant,
        id: RequestId,
        state: ProducerState,
        _commands: &mut Vec<AppCommand>,
    ) {
        match state {
            ProducerState::Stopped => {
                self.bodies.remove(&id);
            }
            ProducerState::Producing | ProducerState::Paused => {
                if let Some(body) = self.bodies.get_mut(&id) {
                    body.producing = state == ProducerState::Producing;
                }
            }
        }
    }

    fn produce(&mut self, _now: Instant, commands: &mut Vec<AppCommand>) -> bool {
        let Some((&id, body)) = self.bodies.iter_mut().find(|(_, body)| body.producing) else {
            return false;
        };
        assert!(
            body.remaining > 0,
            "{id}: a finished body is still registered"
        );
        match read_chunk(&mut body.file, body.remaining, &mut self.buffer) {
            Ok(data) if !data.is_empty() => {
                // `read_chunk` asked for at most `remaining` bytes.
                body.remaining -= data.len() as u64;
                commands.push(AppCommand::SendBody { request: id, data });
                if body.remaining == 0 {
                    self.bodies.remove(&id);
                    commands.push(AppCommand::Finish { request: id });
                }
            }
            // The file is shorter than its metadata said (truncated while served) or cannot be
            // read: the declared length can no longer be met, so the response is cut off.
            Ok(_) | Err(_) => {
                self.bodies.remove(&id);
                commands.push(AppCommand::Abort { request: id });
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    //! Each test builds a directory tree under the system temp directory, drives the app with
    //! hand-made events exactly as the driver would, and checks the commands it answers with.

    use std::io::Write;

    use twine_engine::{BodyLength, Headers, Method, Version};

    use super::*;

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

        fn app(&self) -> StaticFiles {
            StaticFiles::new(self.root()).unwrap()
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
                AppCommand::Abort { .. } => response.aborted = true,
                AppCommand::RegisterProducer { kind, .. } => {
                    assert_eq!(kind, ProducerKind::Push);
                    response.producer = true;
                }
                other => panic!("unexpected command {other:?}"),
            }
        }
    }

    fn request_head(method: &str, target: &str) -> RequestHead {
        RequestHead {
            method: Method::new(method.to_owned()),
            target: Bytes::from(target.to_owned()),
            version: Version::Http11,
            headers: Headers::new(),
            body: BodyLength::Known(0),
            expect_continue: false,
        }
    }

    /// Sends the request and answers only what `on_event` pushes.
    fn start(app: &mut StaticFiles, id: u64, method: &str, target: &str) -> Response {
        let mut commands = Vec::new();
        let head = request_head(method, target);
        app.on_event(
            Instant::ZERO,
            Event::Request {
                id: RequestId(id),
                head,
            },
            &mut commands,
        );
        let mut response = Response::default();
        collect(&mut response, commands);
        response
    }

    /// Lets the producer produce until it has nothing more.
    fn drain(app: &mut StaticFiles, id: u64, response: &mut Response) {
        let mut commands = Vec::new();
        app.on_producer(
            Instant::ZERO,
            RequestId(id),
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
    fn fetch(app: &mut StaticFiles, method: &str, target: &str) -> Response {
        let mut response = start(app, 0, method, target);
        if response.producer {
            drain(app, 0, &mut response);
        }
        assert!(response.finished, "{method} {target}: not finished");
        response
    }

    fn assert_refused(app: &mut StaticFiles, target: &str, status: u16) {
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
            "/%zz",
            "/a%2",
            "/a%",
            "/a%00b",
            "/%00",
            "*",
            "http://h/a.txt",
            "a.txt",
            "",
        ] {
            assert_refused(&mut app, target, 400);
        }
    }

    #[test]
    fn symlinks_leaving_the_root_are_404() {
        let tree = Tree::new("symlink");
        tree.file("a.txt", b"a");
        let root = tree.root();
        std::os::unix::fs::symlink(tree.dir.join("outside/secret.txt"), root.join("out.txt"))
            .unwrap();
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
            RequestId(0),
            ProducerState::Producing,
            &mut commands,
        );
        assert!(app.produce(Instant::ZERO, &mut commands));
        app.on_producer(
            Instant::ZERO,
            RequestId(0),
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
            RequestId(0),
            ProducerState::Producing,
            &mut commands,
        );
        app.on_producer(
            Instant::ZERO,
            RequestId(0),
            ProducerState::Stopped,
            &mut commands,
        );
        assert!(app.bodies.is_empty());
        start(&mut app, 1, "GET", "/big.bin");
        app.on_producer(
            Instant::ZERO,
            RequestId(1),
            ProducerState::Producing,
            &mut commands,
        );
        app.on_event(
            Instant::ZERO,
            Event::Lost { id: RequestId(1) },
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
            RequestId(0),
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
        assert_eq!(Refusal::from_io(&denied), Refusal::Forbidden);
        assert_eq!(
            Refusal::from_io(&io::Error::from(ErrorKind::NotFound)),
            Refusal::NotFound
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
        assert!(Arc::ptr_eq(&app.root, &clone.root));
        assert!(clone.bodies.is_empty());
    }

    #[test]
    fn targets_decode_to_relative_paths() {
        assert_eq!(parse_target(b"/"), Ok(PathBuf::new()));
        assert_eq!(parse_target(b"/a/./b//c"), Ok(PathBuf::from("a/b/c")));
        assert_eq!(parse_target(b"/a%20b"), Ok(PathBuf::from("a b")));
        assert_eq!(parse_target(b"/%C3%A9"), Ok(PathBuf::from("\u{e9}")));
        assert_eq!(parse_target(b"/%ff"), Err(Refusal::NotFound));
        assert_eq!(parse_target(b"/../%zz"), Err(Refusal::BadRequest));
        assert_eq!(parse_target(b"/a\\b"), Ok(PathBuf::from("a\\b")));
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
            ("a.tar.gz", "application/octet-stream"),
            (".png", "application/octet-stream"),
            ("noext", "application/octet-stream"),
        ];
        for (name, expected) in cases {
            assert_eq!(content_type(Path::new(name)), expected, "{name}");
        }
    }
}
