//! The built-in apps: `echo`, `stream`, `static` and `api`.

pub mod api;
pub mod echo;
pub mod static_files;
pub mod stream;

pub use api::Api;
pub use echo::Echo;
pub use static_files::StaticFiles;
pub use stream::Stream;
