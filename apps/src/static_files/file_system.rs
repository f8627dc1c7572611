//! The seam between the static app and where its files live: what the app asks of a file
//! system, and nothing more. [`DiskFileSystem`](super::DiskFileSystem) serves a directory,
//! [`MemoryFileSystem`](super::MemoryFileSystem) a fixed tree for the simulation; the app runs
//! the same code over both.
//!
//! Contract, for every implementation:
//! - A path handed in is root-relative and made only of plain components (the app's target
//!   decoding guarantees it). Whatever it names must be inside the root, symlinks included, or
//!   the answer is [`LookupError::NotFound`].
//! - [`FileSystem::read`] returns at most `len` bytes; an empty chunk means the file ended.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::time::SystemTime;

use bytes::Bytes;

/// Where the static app's files come from.
pub trait FileSystem: Clone {
    /// An open regular file, as the reads see it.
    type File: Clone + fmt::Debug;
    /// A read under way, resolving to its chunk.
    type Read: Future<Output = io::Result<Bytes>> + Unpin + fmt::Debug;

    /// What `relative` names, symlinks followed.
    fn metadata(&self, relative: &Path) -> Result<Metadata, LookupError>;

    /// Opens the regular file `relative` names; its metadata describes the opened file (not
    /// the path, which may be renamed meanwhile). Anything but a regular file is `NotFound`.
    fn open(&self, relative: &Path) -> Result<(Self::File, Metadata), LookupError>;

    /// Reads at most `len` bytes of `file` from `offset`: now, or on a thread of its own.
    fn read(&self, file: &Self::File, offset: u64, len: usize) -> Reading<Self::Read>;
}

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// File, directory or something else.
    pub kind: FileKind,
    /// Length in bytes (of a regular file; unspecified otherwise).
    pub len: u64,
    /// Last modification, when the file system keeps one.
    pub modified: Option<SystemTime>,
}

/// The kinds of entry the app tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file: the only kind served.
    File,
    /// A directory: its `index.html` is served.
    Directory,
    /// A FIFO, a socket, a device: never opened (opening a FIFO would block).
    Other,
}

/// Why a path names nothing the app may serve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupError {
    /// Missing, outside the root, or not what was asked for.
    NotFound,
    /// The operating system denied access.
    Forbidden,
}

impl LookupError {
    /// An I/O error as a lookup error: permission errors are `Forbidden`; anything else
    /// (missing, not a directory, a symlink loop) names no file we serve.
    pub fn from_io(error: &io::Error) -> LookupError {
        match error.kind() {
            io::ErrorKind::PermissionDenied => LookupError::Forbidden,
            _ => LookupError::NotFound,
        }
    }
}

/// A read's start: finished already, or under way.
#[derive(Debug)]
pub enum Reading<R> {
    /// The chunk, read at once.
    Done(io::Result<Bytes>),
    /// The read runs elsewhere; poll it for the chunk.
    Started(R),
}
