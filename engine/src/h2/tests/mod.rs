//! The HTTP/2 layers' tests, one file per module.

mod flow;
mod frame;
mod hpack;
mod request;
mod stream;

/// Bytes from hex digits, whitespace ignored (RFC examples are written in groups).
pub(crate) fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}
