//! The built-in apps: `echo`, `hello`, `stream`, `static` and `api`.

pub mod api;
pub mod echo;
pub mod hello;
pub mod static_files;
pub mod stream;

pub use api::Api;
pub use echo::Echo;
pub use hello::Hello;
pub use static_files::{DiskFileSystem, FileSystem, MemoryFileSystem, ReadMode, StaticFiles};
pub use stream::Stream;
