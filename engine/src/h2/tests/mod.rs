mod frame;
mod hpack;
mod stream;
