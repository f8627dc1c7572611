mod flow;
mod frame;
mod hpack;
mod request;
mod stream;
