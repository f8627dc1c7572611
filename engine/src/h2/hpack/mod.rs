//! HPACK (RFC 7541) behind a seam, both halves our own: the [`encoder`] (`loona-hpack`'s
//! never indexes a field whose name a table has, and never Huffman-codes: a response's
//! `content-type`, `date` and `server` went out whole every time, 59 octets where h2 sends
//! 8) and the [`decoder`] (`loona-hpack`'s built two SipHash maps of the 257 Huffman codes
//! for every Huffman-coded string and looked each bit up in them: 21M instructions for a
//! 16 KiB value, 1.3M with ours; it stays as the tests' and the fuzz target's reference, and
//! ours accepts exactly what it accepts). The rest of the engine sees only what HTTP/2 needs.
//!
//! What the seam adds to the decoding codec:
//! - every decoding failure is one value, [`DecodeError::Compression`]: the connection's
//!   COMPRESSION_ERROR (RFC 9113 §4.3);
//! - the decoded header list is bounded *while* decoding (RFC 9113 §6.5.2 sizes: name, value
//!   and 32 bytes per field): past the bound, fields are no longer kept, but the block is still
//!   decoded to its end so the dynamic table stays in step with the peer's, and the caller
//!   gets [`DecodeError::HeaderListTooLarge`] (a stream error, not a connection one);
//! - the encoder honours the peer's `SETTINGS_HEADER_TABLE_SIZE`, 0 included, and signals
//!   each change with a dynamic table size update at the start of the next block (RFC 7541
//!   §4.2: the smallest size since the last block, then the final one).

mod decoder;
mod encoder;
mod huffman;
mod table;

/// For the tests' own blocks.
#[cfg(test)]
pub(crate) use {encoder::encode_integer, huffman::encode as huffman_encode};

use bytes::{Bytes, BytesMut};

/// The dynamic table size both ends start with (RFC 9113 §6.5.2).
pub const TABLE_SIZE_DEFAULT: usize = 4096;

/// RFC 9113 §6.5.2: each field counts 32 bytes of overhead.
const FIELD_OVERHEAD_BYTES: usize = 32;

/// Why a header block could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The block is not valid HPACK: the connection ends with COMPRESSION_ERROR.
    Compression,
    /// The header list is larger than allowed; the block was decoded (the table is in step),
    /// its fields dropped.
    HeaderListTooLarge,
}

/// One decoded field.
pub type Field = (Bytes, Bytes);

/// Decodes the peer's header blocks. One per connection: the dynamic table spans blocks.
#[derive(Debug)]
pub struct HpackDecoder {
    codec: decoder::Decoder,
    list_bytes_max: usize,
}

impl HpackDecoder {
    /// A decoder whose dynamic table may grow to `table_size_max` (our
    /// `SETTINGS_HEADER_TABLE_SIZE`) and whose decoded lists are bounded by `list_bytes_max`
    /// (our `SETTINGS_MAX_HEADER_LIST_SIZE`).
    pub fn new(table_size_max: usize, list_bytes_max: usize) -> HpackDecoder {
        HpackDecoder {
            codec: decoder::Decoder::new(table_size_max),
            list_bytes_max,
        }
    }

    /// Decodes one whole header block (HEADERS and its CONTINUATIONs, joined).
    pub fn decode(&mut self, block: &[u8]) -> Result<Vec<Field>, DecodeError> {
        let mut fields = Vec::new();
        let mut list_bytes = 0usize;
        let mut too_large = false;
        let list_bytes_max = self.list_bytes_max;
        let result = self.codec.decode(block, |name, value| {
            list_bytes = list_bytes.saturating_add(name.len() + value.len() + FIELD_OVERHEAD_BYTES);
            if list_bytes > list_bytes_max {
                // Keep decoding (the table must stay in step), keep nothing more.
                too_large = true;
                fields = Vec::new();
            } else if !too_large {
                fields.push((name.clone(), value.clone()));
            }
        });
        match (result, too_large) {
            (Err(_), _) => Err(DecodeError::Compression),
            (Ok(()), true) => Err(DecodeError::HeaderListTooLarge),
            (Ok(()), false) => Ok(fields),
        }
    }
}

/// Encodes our header blocks. One per connection.
#[derive(Debug)]
pub struct HpackEncoder {
    encoder: encoder::Encoder,
    /// The table size in use (what the peer's decoder was last told).
    table_size: usize,
    /// Changes not yet signalled: the smallest size since the last block, and the final one.
    pending: Option<(usize, usize)>,
}

impl Default for HpackEncoder {
    fn default() -> HpackEncoder {
        HpackEncoder::new()
    }
}

impl HpackEncoder {
    /// An encoder with the default table size.
    pub fn new() -> HpackEncoder {
        HpackEncoder::with(encoder::Encoder::new(
            TABLE_SIZE_DEFAULT,
            encoder::Indexing::Selective,
        ))
    }

    fn with(encoder: encoder::Encoder) -> HpackEncoder {
        HpackEncoder {
            encoder,
            table_size: TABLE_SIZE_DEFAULT,
            pending: None,
        }
    }

    /// The peer's `SETTINGS_HEADER_TABLE_SIZE` changed: use at most that much (never more
    /// than the default, which bounds our memory), from the next block on.
    pub fn set_peer_table_size(&mut self, peer_max: u32) {
        let size = usize::try_from(peer_max)
            .unwrap_or(usize::MAX)
            .min(TABLE_SIZE_DEFAULT);
        let (smallest, _) = self.pending.unwrap_or((self.table_size, self.table_size));
        self.pending = Some((smallest.min(size), size));
        self.encoder.set_max_size(size);
    }

    /// Appends the block for `fields` to `out`.
    pub fn encode<'a>(
        &mut self,
        fields: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
        out: &mut BytesMut,
    ) {
        if let Some((smallest, last)) = self.pending.take() {
            if smallest != last {
                write_size_update(smallest, out);
            }
            if smallest != last || last != self.table_size {
                write_size_update(last, out);
            }
            self.table_size = last;
        }
        for (name, value) in fields {
            self.encoder.encode_field(name, value, out);
        }
    }
}

/// A dynamic table size update (RFC 7541 §6.3): `001` and a 5-bit prefix integer.
fn write_size_update(size: usize, out: &mut BytesMut) {
    encoder::encode_integer(size, 5, 0x20, out);
}
