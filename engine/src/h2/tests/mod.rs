mod frame;
mod hpack;
