//! The built-in apps: `echo`, `stream` and `static`.

pub mod echo;
pub mod static_files;
pub mod stream;

pub use echo::Echo;
pub use static_files::StaticFiles;
pub use stream::Stream;
