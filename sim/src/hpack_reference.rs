//! HPACK as someone other than the engine speaks it, from `loona-hpack` (the fuzz target's
//! reference too). The engine's encoder and decoder share their dynamic table's code, so a bug
//! in it, read back by the engine's own decoder, would agree with itself.
//! - [`ReferenceDecoder`]: what the harness reads the server's header blocks with, as a
//!   client does.
//! - [`ReferenceEncoder`]: what a scripted client may write its header blocks with, so the
//!   server's decoder meets a table it did not keep itself (plain strings, every new name
//!   added to the table: another client's habits than the engine's Huffman and selective
//!   indexing).
//!
//! Invariant: one context per connection direction, fed every header block in order, as the
//! peer's is (HPACK's state is the connection's).

use bytes::{Bytes, BytesMut};
use twine_engine::h2::hpack::TABLE_SIZE_DEFAULT;

/// One connection's HPACK decoding context, from loona-hpack.
pub struct ReferenceDecoder(loona_hpack::Decoder<'static>);

impl ReferenceDecoder {
    /// A decoder with the default table (4096 bytes), as a client that never changed
    /// `SETTINGS_HEADER_TABLE_SIZE` has; the encoder may shrink it with size updates.
    pub fn new() -> ReferenceDecoder {
        ReferenceDecoder::allowing(TABLE_SIZE_DEFAULT)
    }

    /// A decoder whose peer was told `SETTINGS_HEADER_TABLE_SIZE` = `table_size`: a size
    /// update past it, or an entry kept past it, does not decode.
    pub fn allowing(table_size: usize) -> ReferenceDecoder {
        let mut decoder = loona_hpack::Decoder::new();
        decoder.set_max_allowed_table_size(table_size);
        decoder.set_max_table_size(table_size);
        ReferenceDecoder(decoder)
    }

    /// The fields of one whole header block, or why it does not decode.
    pub fn decode(&mut self, block: &[u8]) -> Result<Vec<(Bytes, Bytes)>, String> {
        let mut fields = Vec::new();
        self.decode_each(block, |name, value| {
            fields.push((Bytes::copy_from_slice(name), Bytes::copy_from_slice(value)));
        })?;
        Ok(fields)
    }

    /// Decodes one whole header block, handing each field to `field` (nothing is copied),
    /// or says why it does not decode.
    pub fn decode_each(
        &mut self,
        block: &[u8],
        mut field: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), String> {
        self.0
            .decode_with_cb(block, |name, value| field(&name, &value))
            .map_err(|e| format!("{e:?}"))
    }
}

impl Default for ReferenceDecoder {
    fn default() -> ReferenceDecoder {
        ReferenceDecoder::new()
    }
}

/// One connection's HPACK encoding context, from loona-hpack: a field found whole in a table
/// is written as its index; otherwise a literal, added to the dynamic table when its name is
/// in neither table; strings never Huffman-coded.
pub struct ReferenceEncoder(loona_hpack::Encoder<'static>);

impl ReferenceEncoder {
    /// An encoder with the default table (4096 bytes).
    pub fn new() -> ReferenceEncoder {
        ReferenceEncoder(loona_hpack::Encoder::new())
    }

    /// An encoder whose table is `table_size` bytes from the start, as the server's decoder's
    /// is when it announced that `SETTINGS_HEADER_TABLE_SIZE` (no size update is written).
    pub fn with_table(table_size: usize) -> ReferenceEncoder {
        let mut encoder = loona_hpack::Encoder::new();
        encoder.set_max_table_size(table_size);
        ReferenceEncoder(encoder)
    }

    /// Appends the header block of `fields`, in order.
    pub fn encode<'a>(
        &mut self,
        fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        out: &mut BytesMut,
    ) {
        let block = self.0.encode(fields);
        out.extend_from_slice(&block);
    }
}

impl Default for ReferenceEncoder {
    fn default() -> ReferenceEncoder {
        ReferenceEncoder::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_blocks_in_one_context_and_names_what_it_refuses() {
        let mut decoder = ReferenceDecoder::new();
        // `:status 200`, then `content-type: a` added to the dynamic table (index 62).
        let first = decoder
            .decode(&[0x88, 0x5f, 0x01, b'a'])
            .expect("a valid block");
        assert_eq!(first[1], (Bytes::from("content-type"), Bytes::from("a")));
        assert_eq!(
            decoder.decode(&[0xbe]).expect("index 62"),
            [(Bytes::from("content-type"), Bytes::from("a"))]
        );
        // Index 63 names nothing.
        assert!(decoder.decode(&[0xbf]).is_err());
        // With no table allowed, an added entry is gone at once, and a size update past the
        // bound does not decode.
        let mut none = ReferenceDecoder::allowing(0);
        assert!(none.decode(&[0x88, 0x5f, 0x01, b'a']).is_ok());
        assert!(none.decode(&[0xbe]).is_err());
        assert!(none.decode(&[0x3f, 0x45]).is_err());
    }

    #[test]
    fn encodes_new_names_into_its_table_and_refers_to_them() {
        let mut encoder = ReferenceEncoder::new();
        let field: [(&[u8], &[u8]); 2] = [(b":method", b"GET"), (b"x-a", b"b")];
        let mut block = BytesMut::new();
        encoder.encode(field, &mut block);
        // `:method GET` by its static index; `x-a: b` a plain literal, added as index 62.
        assert_eq!(block[..], [0x82, 0x40, 3, b'x', b'-', b'a', 1, b'b']);
        block.clear();
        encoder.encode(field, &mut block);
        assert_eq!(block[..], [0x82, 0xbe]);
    }
}
