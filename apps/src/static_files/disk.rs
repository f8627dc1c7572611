//! The real file system under one root directory.
//!
//! It owns the canonical root, shared by every clone.
//!
//! Invariants:
//! - *Never outside the root.* Every path is canonicalised and must start with the canonical
//!   root, so a symlink pointing outside is refused (`NotFound`) like a `..` would be.
//! - *Only regular files are opened*, checked on the path before opening (opening a FIFO for
//!   reading would block until a writer came) and again on the open file.
//! - Reads are positioned (`pread`), so a file handle is shared by reads without a cursor,
//!   and a read never asks for more than it was given as `len`.
//!
//! Where reads run is a [`ReadMode`]: on tokio's blocking pool for the real server, so a slow
//! disk stalls no connection; in the caller for tests and for runtimes without a pool.

use std::fs::{self, File};
use std::future::Future;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use tokio::task::JoinHandle;

use super::file_system::{FileKind, FileSystem, LookupError, Metadata, Reading};

/// Reads retried after `ErrorKind::Interrupted` before the read fails.
const READ_INTERRUPTED_RETRIES_MAX: u32 = 4;

/// Where a disk read runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// In the calling thread: simple and deterministic, but a slow disk blocks the runtime.
    Inline,
    /// On tokio's blocking pool (`spawn_blocking`); needs a tokio runtime when reading.
    BlockingPool,
}

/// The files under one directory.
#[derive(Clone, Debug)]
pub struct DiskFileSystem {
    /// Invariant: canonical (absolute, no symlinks, no `.` or `..`) and a directory at `new`.
    root: Arc<Path>,
    reads: ReadMode,
}

impl DiskFileSystem {
    /// Serves the files under `root`, canonicalised once here. Fails if `root` cannot be
    /// resolved or is not a directory.
    pub fn new(root: PathBuf, reads: ReadMode) -> io::Result<DiskFileSystem> {
        let root = fs::canonicalize(root)?;
        if !fs::metadata(&root)?.is_dir() {
            let message = format!("{} is not a directory", root.display());
            return Err(io::Error::new(ErrorKind::InvalidInput, message));
        }
        Ok(DiskFileSystem {
            root: root.into(),
            reads,
        })
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The canonical path `relative` names, if it stays under the root.
    fn confine(&self, relative: &Path) -> Result<PathBuf, LookupError> {
        let canonical =
            fs::canonicalize(self.root.join(relative)).map_err(|e| LookupError::from_io(&e))?;
        if canonical.starts_with(&self.root) {
            Ok(canonical)
        } else {
            Err(LookupError::NotFound)
        }
    }
}

impl FileSystem for DiskFileSystem {
    type File = Arc<File>;
    type Read = DiskRead;

    fn metadata(&self, relative: &Path) -> Result<Metadata, LookupError> {
        let path = self.confine(relative)?;
        let metadata = fs::metadata(path).map_err(|e| LookupError::from_io(&e))?;
        Ok(metadata_of(&metadata))
    }

    fn open(&self, relative: &Path) -> Result<(Arc<File>, Metadata), LookupError> {
        let path = self.confine(relative)?;
        let metadata = fs::metadata(&path).map_err(|e| LookupError::from_io(&e))?;
        if !metadata.is_file() {
            return Err(LookupError::NotFound);
        }
        let file = File::open(&path).map_err(|e| LookupError::from_io(&e))?;
        let metadata = file.metadata().map_err(|e| LookupError::from_io(&e))?;
        if !metadata.is_file() {
            return Err(LookupError::NotFound);
        }
        Ok((Arc::new(file), metadata_of(&metadata)))
    }

    fn read(&self, file: &Arc<File>, offset: u64, len: usize) -> Reading<DiskRead> {
        match self.reads {
            ReadMode::Inline => Reading::Done(read_at(file, offset, len)),
            ReadMode::BlockingPool => {
                let file = Arc::clone(file);
                let task = tokio::task::spawn_blocking(move || read_at(&file, offset, len));
                Reading::Started(DiskRead(task))
            }
        }
    }
}

/// A read on tokio's blocking pool. Dropping it abandons the chunk, not the read (a blocking
/// task cannot be cancelled); the file stays open until the read returns.
#[derive(Debug)]
pub struct DiskRead(JoinHandle<io::Result<Bytes>>);

impl Future for DiskRead {
    type Output = io::Result<Bytes>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<Bytes>> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|joined| joined.unwrap_or_else(|e| Err(io::Error::other(e))))
    }
}

fn metadata_of(metadata: &fs::Metadata) -> Metadata {
    let kind = if metadata.is_file() {
        FileKind::File
    } else if metadata.is_dir() {
        FileKind::Directory
    } else {
        FileKind::Other
    };
    Metadata {
        kind,
        len: metadata.len(),
        modified: metadata.modified().ok(),
    }
}

/// One positioned read of at most `len` bytes at `offset`.
fn read_at(file: &File, offset: u64, len: usize) -> io::Result<Bytes> {
    let mut buffer = BytesMut::zeroed(len);
    let mut retries = 0;
    let read = loop {
        match read_at_once(file, &mut buffer, offset) {
            Err(e)
                if e.kind() == ErrorKind::Interrupted && retries < READ_INTERRUPTED_RETRIES_MAX =>
            {
                retries += 1;
            }
            result => break result?,
        }
    };
    buffer.truncate(read);
    Ok(buffer.freeze())
}

#[cfg(unix)]
fn read_at_once(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buffer, offset)
}

#[cfg(windows)]
fn read_at_once(file: &File, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
    // Moves the file's cursor, which no read here relies on.
    std::os::windows::fs::FileExt::seek_read(file, buffer, offset)
}
