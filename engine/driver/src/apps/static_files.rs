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
        let opened = relative_path(head.path()).and_then(|relative| self.open(&relative));
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

/// The root-relative path a request path names (`RequestHead::path`, so absolute-form is
/// already reduced to its path and the query and fragment are gone): each `/`-separated
/// segment is percent-decoded, empty and `.` segments are skipped.
fn relative_path(path: &[u8]) -> Result<PathBuf, Refusal> {
    // Only a path names a file; `*`, authority-form and other schemes do not.
    let path = path.strip_prefix(b"/").ok_or(Refusal::BadRequest)?;
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
#[path = "tests/static_files.rs"]
mod tests;
