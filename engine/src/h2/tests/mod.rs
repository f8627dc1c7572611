mod flow;
mod frame;
mod hpack;
mod stream;
