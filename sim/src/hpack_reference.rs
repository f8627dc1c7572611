//! [`ReferenceDecoder`]: the HPACK decoder the harness reads the server's header blocks with,
//! `loona-hpack`'s rather than the engine's (the fuzz target's reference too). The engine's
//! encoder and decoder share their dynamic table, so a bug in it, read back by the engine's
//! own decoder, would agree with itself; an independent decoder sees the blocks as a client
//! does.
//!
//! Invariant: one decoder per connection direction, fed every header block in order, as the
//! peer's decoder is (HPACK's state is the connection's).

use bytes::Bytes;
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
}
