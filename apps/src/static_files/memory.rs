//! A fixed tree of files in memory, for the simulation and for tests: deterministic, no
//! clock (each file's modification time is given), no thread, every read answered at once.
//!
//! Invariants: keys are root-relative paths of plain components only, so nothing can name a
//! place outside the tree. A directory is any proper prefix of a key (the root always is);
//! there are no symlinks and no empty directories.

use std::collections::BTreeMap;
use std::future::Pending;
use std::io;
use std::ops::Bound;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use super::file_system::{FileKind, FileSystem, LookupError, Metadata, Reading};

/// Files in memory, shared by every clone.
#[derive(Clone, Debug, Default)]
pub struct MemoryFileSystem {
    files: Arc<BTreeMap<PathBuf, MemoryFile>>,
}

/// One file: its bytes and when it was last modified.
#[derive(Clone, Debug, PartialEq, Eq)]
struct MemoryFile {
    contents: Bytes,
    /// The modification time its validators derive from.
    modified: SystemTime,
}

impl MemoryFileSystem {
    /// An empty tree.
    pub fn new() -> MemoryFileSystem {
        MemoryFileSystem::default()
    }

    /// The tree with `path` (root-relative, `/`-separated) holding `contents`.
    pub fn with_file(
        mut self,
        path: &str,
        contents: impl Into<Bytes>,
        modified: SystemTime,
    ) -> MemoryFileSystem {
        self.insert(path, contents, modified);
        self
    }

    /// Adds or replaces a file. Clones made before keep the tree they had (copy on write).
    ///
    /// # Panics
    /// If `path` has anything but plain components (`..`, `.`, a root): a tree that could name
    /// a place outside itself is a bug in the caller.
    pub fn insert(&mut self, path: &str, contents: impl Into<Bytes>, modified: SystemTime) {
        let key = plain(Path::new(path)).filter(|key| !key.as_os_str().is_empty());
        let Some(key) = key else {
            panic!("memory file path {path:?} must be relative and plain");
        };
        let file = MemoryFile {
            contents: contents.into(),
            modified,
        };
        Arc::make_mut(&mut self.files).insert(key, file);
    }

    fn is_directory(&self, relative: &Path) -> bool {
        let after = (Bound::Excluded(relative), Bound::Unbounded);
        // `Path` orders by components, so whatever lies under `relative` comes right after it.
        self.files
            .range::<Path, _>(after)
            .next()
            .is_some_and(|(key, _)| key.starts_with(relative))
    }
}

impl FileSystem for MemoryFileSystem {
    type File = Bytes;
    /// Never made: every read is answered at once.
    type Read = Pending<io::Result<Bytes>>;

    fn metadata(&self, relative: &Path) -> Result<Metadata, LookupError> {
        let relative = plain(relative).ok_or(LookupError::NotFound)?;
        if let Some(file) = self.files.get(&relative) {
            return Ok(Metadata {
                kind: FileKind::File,
                len: file.contents.len() as u64,
                modified: Some(file.modified),
            });
        }
        if self.is_directory(&relative) {
            return Ok(Metadata {
                kind: FileKind::Directory,
                len: 0,
                modified: None,
            });
        }
        Err(LookupError::NotFound)
    }

    fn open(&self, relative: &Path) -> Result<(Bytes, Metadata), LookupError> {
        let metadata = self.metadata(relative)?;
        let relative = plain(relative).ok_or(LookupError::NotFound)?;
        match (metadata.kind, self.files.get(&relative)) {
            (FileKind::File, Some(file)) => Ok((file.contents.clone(), metadata)),
            (FileKind::File | FileKind::Directory | FileKind::Other, _) => {
                Err(LookupError::NotFound)
            }
        }
    }

    fn read(&self, file: &Bytes, offset: u64, len: usize) -> Reading<Self::Read> {
        let total = file.len();
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(total);
        let end = start.saturating_add(len).min(total);
        Reading::Done(Ok(file.slice(start..end)))
    }
}

/// `path` rebuilt from its plain components, or `None` if it has any other kind.
fn plain(path: &Path) -> Option<PathBuf> {
    path.components()
        .map(|component| match component {
            Component::Normal(part) => Some(part),
            Component::Prefix(_)
            | Component::RootDir
            | Component::CurDir
            | Component::ParentDir => None,
        })
        .collect()
}
