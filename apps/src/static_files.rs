//! `static`: serves the files of a [`FileSystem`] to `GET` and `HEAD`, with validators,
//! conditional requests and single byte ranges (RFC 9110 §8.8, §13, §14).
//!
//! It owns, per connection, the open file of each response being sent, read in chunks of at
//! most `CHUNK_BYTES` by a push producer that honours pause and resume. The file system is a
//! seam: [`DiskFileSystem`] for the real server, [`MemoryFileSystem`] for the simulation, and
//! the same code path over both.
//!
//! Invariants:
//! - *Never outside the root.* A target becomes a path of plain components only (`target.rs`),
//!   and the file system confines what it names, symlinks included (`disk.rs`). A directory's
//!   `index.html` is looked up, and confined, like any other path; there are no listings.
//! - *Never more bytes than `Content-Length`.* The length is taken from the open file's
//!   metadata; each read asks for at most the bytes still declared, and the response is
//!   finished once they are sent, even if the file grew meanwhile. A file that shrank is
//!   noticed as an early end of file and the response is aborted: a wrong length is never sent.
//! - *At most one read in flight per response*, and a chunk that arrives while the producer is
//!   paused waits for `Producing` before it is sent.
//!
//! Reads run where the file system says ([`file_system::Reading`]): the disk on tokio's
//! blocking pool for the real server, the chunk coming back through [`App::poll_wake`]; the
//! memory tree at once, inside `produce`. Opening a file and reading its metadata stay
//! synchronous: they are single system calls, and making them asynchronous would delay every
//! response head for what is, on a local disk, a cache hit.

pub mod disk;
pub mod file_system;
pub mod memory;
mod range;
mod target;
mod validators;

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use twine_engine::{
    AppCommand, Event, Headers, Instant, ProducerKind, ProducerState, RequestHead, RequestId,
    ResponseHead,
};

pub use disk::{DiskFileSystem, ReadMode};
pub use file_system::{FileKind, FileSystem, LookupError, Metadata, Reading};
pub use memory::MemoryFileSystem;

use range::{parse_range, ByteRange, RangeRequest};
use target::relative_path;
use validators::{Precondition, Validators};

use twine_driver::App;

/// Bytes read per produced chunk, at most.
const CHUNK_BYTES: usize = 64 * 1024;

/// The file served for a directory.
const INDEX_FILE: &str = "index.html";

/// The static-files app for one connection.
#[derive(Debug)]
pub struct StaticFiles<F: FileSystem = DiskFileSystem> {
    /// Where the files come from; shared by every connection's clone.
    files: F,
    /// Responses whose body is being sent.
    bodies: BTreeMap<RequestId, FileBody<F>>,
}

/// One response body being read from its file.
#[derive(Debug)]
struct FileBody<F: FileSystem> {
    file: F::File,
    /// The next byte to read.
    offset: u64,
    /// Declared bytes not sent yet.
    /// Invariant: greater than zero (the entry is removed when it reaches zero).
    remaining: u64,
    /// The producer is `Producing`.
    producing: bool,
    read: ReadSlot<F::Read>,
}

/// The read of one body's next chunk.
#[derive(Debug)]
enum ReadSlot<R> {
    /// None under way: `produce` starts one when the producer produces.
    Idle,
    /// Under way on another thread; `poll_wake` collects it.
    InFlight(R),
    /// Done while the producer was paused: sent by the next `produce`.
    Done(io::Result<Bytes>),
}

/// A file opened for a response, with what its head says.
#[derive(Debug)]
struct Opened<File> {
    file: File,
    metadata: Metadata,
    content_type: String,
    validators: Option<Validators>,
}

/// Which part of an opened file a response carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part {
    /// 200, the whole file.
    Whole,
    /// 206, one range.
    Range(ByteRange),
    /// 416: the one range asked for starts past the end.
    Unsatisfiable,
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
    /// `If-Match` or `If-Unmodified-Since` did not hold.
    PreconditionFailed,
}

impl Refusal {
    fn status(self) -> u16 {
        match self {
            Refusal::BadRequest => 400,
            Refusal::Forbidden => 403,
            Refusal::NotFound => 404,
            Refusal::MethodNotAllowed => 405,
            Refusal::PreconditionFailed => 412,
        }
    }

    fn body(self) -> &'static [u8] {
        match self {
            Refusal::BadRequest => b"bad request\n",
            Refusal::Forbidden => b"forbidden\n",
            Refusal::NotFound => b"not found\n",
            Refusal::MethodNotAllowed => b"method not allowed\n",
            Refusal::PreconditionFailed => b"precondition failed\n",
        }
    }
}

impl From<LookupError> for Refusal {
    fn from(error: LookupError) -> Refusal {
        match error {
            LookupError::NotFound => Refusal::NotFound,
            LookupError::Forbidden => Refusal::Forbidden,
        }
    }
}

impl StaticFiles<DiskFileSystem> {
    /// Serves the files under `root` for the real server: reads on tokio's blocking pool, so
    /// a tokio runtime must be current when bodies are produced. (A simulation serves a
    /// [`MemoryFileSystem`] through [`StaticFiles::with_file_system`] instead: a pool thread
    /// would make its runs depend on the host's scheduling.) Fails if `root` cannot be
    /// resolved or is not a directory.
    pub fn new(root: PathBuf) -> io::Result<StaticFiles<DiskFileSystem>> {
        let files = DiskFileSystem::new(root, ReadMode::BlockingPool)?;
        Ok(StaticFiles::with_file_system(files))
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        self.files.root()
    }
}

impl<F: FileSystem> StaticFiles<F> {
    /// Serves the files of `files`.
    pub fn with_file_system(files: F) -> StaticFiles<F> {
        StaticFiles {
            files,
            bodies: BTreeMap::new(),
        }
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
        let validators = opened.validators.as_ref();
        match validators::evaluate(&head.headers, validators) {
            Precondition::Pass => {}
            Precondition::NotModified => return not_modified(id, validators, commands),
            Precondition::Failed => {
                return refuse(id, Refusal::PreconditionFailed, is_head, commands);
            }
        }
        let part = if is_head {
            // RFC 9110 §14.2: range handling is defined for GET only.
            Part::Whole
        } else {
            select_part(&head.headers, opened.metadata.len, validators)
        };
        match part {
            Part::Whole => self.send_file(id, opened, None, is_head, commands),
            Part::Range(range) => self.send_file(id, opened, Some(range), is_head, commands),
            Part::Unsatisfiable => unsatisfiable(id, opened.metadata.len, commands),
        }
    }

    /// Sends the head of a 200 (no `range`) or a 206, and registers the producer of its body.
    fn send_file(
        &mut self,
        id: RequestId,
        opened: Opened<F::File>,
        range: Option<ByteRange>,
        is_head: bool,
        commands: &mut Vec<AppCommand>,
    ) {
        commands.push(AppCommand::SendHead {
            request: id,
            head: representation_head(&opened, range),
        });
        let whole = opened
            .metadata
            .len
            .checked_sub(1)
            .map(|last| ByteRange { first: 0, last });
        let Some(range) = range.or(whole).filter(|_| !is_head) else {
            // HEAD keeps the length and gets no body, and so does an empty file; the file is
            // closed here.
            commands.push(AppCommand::Finish { request: id });
            return;
        };
        let body = FileBody {
            file: opened.file,
            offset: range.first,
            remaining: range.len(),
            producing: false,
            read: ReadSlot::Idle,
        };
        let previous = self.bodies.insert(id, body);
        assert!(previous.is_none(), "request {id} arrived twice");
        commands.push(AppCommand::RegisterProducer {
            request: id,
            kind: ProducerKind::Push,
        });
    }

    /// Opens the regular file a decoded, root-relative path names (a directory's index).
    fn open(&self, relative: &Path) -> Result<Opened<F::File>, Refusal> {
        let mut name = relative.to_path_buf();
        if self.files.metadata(relative)?.kind == FileKind::Directory {
            name.push(INDEX_FILE);
        }
        let (file, metadata) = self.files.open(&name)?;
        Ok(Opened {
            file,
            metadata,
            // The type follows the name the client asked for, not a symlink's target.
            content_type: content_type(&name),
            validators: Validators::of(metadata.len, metadata.modified),
        })
    }
}

impl<F: FileSystem> Clone for StaticFiles<F> {
    /// Shares the file system; the clone starts with no response in flight (open files are
    /// per connection).
    fn clone(&self) -> StaticFiles<F> {
        StaticFiles::with_file_system(self.files.clone())
    }
}

/// Which part of a file of `length` bytes a `GET` gets (RFC 9110 §14.2, §13.1.5): the one
/// range asked for if `If-Range` allows it, else the whole file. An empty file is always sent
/// whole: no `Content-Range` can describe a part of it.
fn select_part(headers: &Headers, length: u64, validators: Option<&Validators>) -> Part {
    let Some(value) = headers.get("range") else {
        return Part::Whole;
    };
    if length == 0 || !validators::range_allowed(headers, validators) {
        return Part::Whole;
    }
    match parse_range(value) {
        RangeRequest::Whole => Part::Whole,
        RangeRequest::One(spec) => spec
            .resolve(length)
            .map_or(Part::Unsatisfiable, Part::Range),
    }
}

/// The head of a 200 (no `range`) or a 206: type, length, range and validators.
fn representation_head<File>(opened: &Opened<File>, range: Option<ByteRange>) -> ResponseHead {
    let length = opened.metadata.len;
    let head = match range {
        Some(range) => ResponseHead::new(206)
            .with_header(
                "Content-Range",
                format!("bytes {}-{}/{length}", range.first, range.last),
            )
            .with_header("Content-Length", range.len().to_string()),
        None => ResponseHead::new(200).with_header("Content-Length", length.to_string()),
    };
    let head = head
        .with_header("Content-Type", opened.content_type.clone())
        .with_header("Accept-Ranges", "bytes");
    with_validators(head, opened.validators.as_ref())
}

fn with_validators(head: ResponseHead, validators: Option<&Validators>) -> ResponseHead {
    match validators {
        Some(validators) => head
            .with_header("ETag", validators.etag.clone())
            .with_header("Last-Modified", validators.last_modified.to_string()),
        None => head,
    }
}

/// 304: the validators and nothing about the body (RFC 9110 §15.4.5).
fn not_modified(id: RequestId, validators: Option<&Validators>, commands: &mut Vec<AppCommand>) {
    let head = with_validators(ResponseHead::new(304), validators);
    let body = Bytes::new();
    commands.push(AppCommand::Respond {
        request: id,
        head,
        body,
    });
}

/// 416 with the file's length, so the client can ask again (RFC 9110 §15.5.17).
fn unsatisfiable(id: RequestId, length: u64, commands: &mut Vec<AppCommand>) {
    let body = Bytes::from_static(b"range not satisfiable\n");
    let head = ResponseHead::new(416)
        .with_header("Content-Range", format!("bytes */{length}"))
        .with_header("Content-Type", "text/plain; charset=utf-8")
        .with_header("Content-Length", body.len().to_string());
    commands.push(AppCommand::Respond {
        request: id,
        head,
        body,
    });
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
    // HEAD keeps the length and gets no body.
    let body = if is_head { Bytes::new() } else { body };
    commands.push(AppCommand::Respond {
        request: id,
        head,
        body,
    });
}

/// The `Content-Type` for a file name, by extension (ASCII-case-insensitive), from the
/// `mime_guess` table. Text types say UTF-8, as most text served today is; JavaScript is text
/// too, whichever of its two names the table gives (RFC 9239 §6).
fn content_type(name: &Path) -> String {
    let Some(mime) = mime_guess::from_path(name).first_raw() else {
        return "application/octet-stream".to_owned();
    };
    if mime.starts_with("text/") || mime == "application/javascript" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

impl<F: FileSystem> FileBody<F> {
    /// The size of the next read: at most `CHUNK_BYTES` and at most the bytes still declared.
    fn next_len(&self) -> usize {
        usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(CHUNK_BYTES)
    }

    /// Sends a read's chunk, and ends the response if it was the last or the file ended early.
    /// Returns whether the response ended.
    fn deliver(
        &mut self,
        id: RequestId,
        read: io::Result<Bytes>,
        commands: &mut Vec<AppCommand>,
    ) -> bool {
        match read {
            Ok(data) if !data.is_empty() => {
                let len = data.len() as u64;
                assert!(
                    len <= self.remaining,
                    "{id}: the file system read more than was asked"
                );
                self.remaining -= len;
                self.offset += len;
                commands.push(AppCommand::SendBody { request: id, data });
                if self.remaining == 0 {
                    commands.push(AppCommand::Finish { request: id });
                    return true;
                }
                false
            }
            // The file is shorter than its metadata said (truncated while served) or cannot be
            // read: the declared length can no longer be met, so the response is cut off.
            Ok(_) | Err(_) => {
                commands.push(AppCommand::Abort { request: id });
                true
            }
        }
    }
}

impl<F: FileSystem> App for StaticFiles<F> {
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
            // Dropping an in-flight read abandons its chunk.
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

    /// Sends the first producing body's next chunk: one read already done, or one read now.
    /// A read that goes to another thread pushes nothing; `poll_wake` sends its chunk.
    fn produce(&mut self, _now: Instant, commands: &mut Vec<AppCommand>) -> bool {
        for (&id, body) in self.bodies.iter_mut().filter(|(_, body)| body.producing) {
            let read = match std::mem::replace(&mut body.read, ReadSlot::Idle) {
                ReadSlot::Done(read) => read,
                ReadSlot::InFlight(read) => {
                    body.read = ReadSlot::InFlight(read);
                    continue;
                }
                ReadSlot::Idle => match self.files.read(&body.file, body.offset, body.next_len()) {
                    Reading::Done(read) => read,
                    Reading::Started(read) => {
                        body.read = ReadSlot::InFlight(read);
                        continue;
                    }
                },
            };
            let ended = body.deliver(id, read, commands);
            if ended {
                self.bodies.remove(&id);
            }
            return true;
        }
        false
    }

    /// Collects the reads that finished: a producing body's chunk is sent now, a paused
    /// body's is kept for `produce`.
    fn poll_wake(
        &mut self,
        cx: &mut Context<'_>,
        _now: Instant,
        commands: &mut Vec<AppCommand>,
    ) -> Poll<()> {
        let mut woke = false;
        let mut ended = Vec::new();
        for (&id, body) in &mut self.bodies {
            let read = match &mut body.read {
                ReadSlot::InFlight(read) => match Pin::new(read).poll(cx) {
                    Poll::Ready(read) => read,
                    Poll::Pending => continue,
                },
                ReadSlot::Idle | ReadSlot::Done(_) => continue,
            };
            if body.producing {
                body.read = ReadSlot::Idle;
                woke = true;
                if body.deliver(id, read, commands) {
                    ended.push(id);
                }
            } else {
                body.read = ReadSlot::Done(read);
            }
        }
        for id in &ended {
            self.bodies.remove(id);
        }
        if woke {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
#[path = "tests/static_files.rs"]
mod tests;
