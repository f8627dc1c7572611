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

/// One connection's HPACK decoding context, from loona-hpack, holding the encoder to the
/// table size updates its peer's acknowledged settings call for, as nghttp2's decoder does.
pub struct ReferenceDecoder {
    decoder: loona_hpack::Decoder<'static>,
    /// The table size the encoder last signalled (HPACK's default until its first update).
    signalled: usize,
    /// The smallest `SETTINGS_HEADER_TABLE_SIZE` acknowledged since the last header block, if
    /// one was below `signalled`: the next block must open with an update to at most it.
    owed: Option<usize>,
}

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
        ReferenceDecoder {
            decoder,
            signalled: table_size,
            owed: None,
        }
    }

    /// The encoder's peer acknowledged `SETTINGS_HEADER_TABLE_SIZE` = `table_size` (RFC 9113
    /// §6.5.3): no size update past it decodes from now on, and if it is below the size the
    /// encoder last signalled, the next header block must open with an update to at most the
    /// smallest such size acknowledged meanwhile (RFC 7541 §4.2: a table shrunk and grown
    /// again between two blocks is still emptied).
    pub fn settings_acknowledged(&mut self, table_size: usize) {
        self.decoder.set_max_allowed_table_size(table_size);
        if table_size < self.signalled {
            self.owed = Some(self.owed.map_or(table_size, |owed| owed.min(table_size)));
        }
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
        let updates = leading_size_updates(block)?;
        if let Some(owed) = self.owed.take() {
            match updates.first() {
                Some(&first) if first <= owed => {}
                Some(&first) => {
                    return Err(format!(
                        "the block opens with a table size update to {first}, above {owed}, the \
                         smallest SETTINGS_HEADER_TABLE_SIZE acknowledged since the last block \
                         (RFC 7541 §4.2)"
                    ))
                }
                None => {
                    return Err(format!(
                        "the first block after SETTINGS_HEADER_TABLE_SIZE = {owed} was \
                         acknowledged does not open with a table size update (RFC 7541 §4.2)"
                    ))
                }
            }
        }
        if let Some(&last) = updates.last() {
            self.signalled = last;
        }
        self.decoder
            .decode_with_cb(block, |name, value| field(&name, &value))
            .map_err(|e| format!("{e:?}"))
    }
}

/// The dynamic table size updates a header block opens with (RFC 7541 §6.3: `001` and a
/// 5-bit prefix integer, §5.1), in order.
fn leading_size_updates(block: &[u8]) -> Result<Vec<usize>, String> {
    let mut updates = Vec::new();
    let mut rest = block;
    while let Some(&first) = rest.first() {
        if first & 0xe0 != 0x20 {
            break;
        }
        let mut size = usize::from(first & 0x1f);
        let mut used = 1;
        if size == 0x1f {
            let mut shift = 0;
            loop {
                let Some(&byte) = rest.get(used) else {
                    return Err("a table size update cut short".into());
                };
                used += 1;
                let more = usize::from(byte & 0x7f)
                    .checked_shl(shift)
                    .filter(|_| shift <= 28)
                    .ok_or("a table size update past 2^32")?;
                size += more;
                shift += 7;
                if byte & 0x80 == 0 {
                    break;
                }
            }
        }
        updates.push(size);
        rest = &rest[used..];
    }
    Ok(updates)
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
    fn holds_the_encoder_to_the_smallest_table_size_acknowledged() {
        // 0 then 4096 acknowledged between two blocks: the next opens with an update to 0.
        let mut decoder = ReferenceDecoder::new();
        decoder.settings_acknowledged(0);
        decoder.settings_acknowledged(4096);
        // Only the final size (4096: `0x3f 0xe1 0x1f`) signalled.
        let final_only = decoder.decode(&[0x3f, 0xe1, 0x1f, 0x88]);
        assert!(final_only.unwrap_err().contains("above 0"));
        let mut decoder = ReferenceDecoder::new();
        decoder.settings_acknowledged(0);
        decoder.settings_acknowledged(4096);
        assert!(decoder.decode(&[0x20, 0x3f, 0xe1, 0x1f, 0x88]).is_ok());
        // Owed once: the block after needs no update.
        assert!(decoder.decode(&[0x88]).is_ok());
        // No update at all after a smaller size was acknowledged.
        let mut decoder = ReferenceDecoder::new();
        decoder.settings_acknowledged(100);
        let none = decoder.decode(&[0x88]).unwrap_err();
        assert!(
            none.contains("does not open with a table size update"),
            "{none}"
        );
        // A size no smaller than the one signalled owes nothing; one past it does not decode.
        let mut decoder = ReferenceDecoder::new();
        decoder.settings_acknowledged(4096);
        assert!(decoder.decode(&[0x88]).is_ok());
        decoder.settings_acknowledged(100);
        assert!(decoder.decode(&[0x3f, 0x46, 0x88]).is_err());
        assert_eq!(
            leading_size_updates(&[0x3f, 0xe1, 0x1f, 0x20, 0x88]),
            Ok(vec![4096, 0])
        );
        assert!(leading_size_updates(&[0x3f, 0xe1]).is_err());
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
