//! The built-in apps of `twine serve` (`--app`): `echo`, `hello`, `stream`, `static` and
//! `api`, each a [`twine_driver::App`]. They are apps like any user's: they see only the app
//! API (events in, commands out), so the driver, which runs them, knows none of them.

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
