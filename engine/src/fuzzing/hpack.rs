//! The `hpack_decoder` property: our HPACK decoder against `loona-hpack`'s (the reference),
//! block by block on one connection: the same fields, or both refuse the block (where the
//! connection would end with COMPRESSION_ERROR).
//!
//! The input: a byte choosing our `SETTINGS_HEADER_TABLE_SIZE` (0, 100 or 4096), then blocks,
//! each a length octet and that many bytes (cut short at the end of the input).

use bytes::Bytes;

use crate::h2::hpack::{Field, HpackDecoder};

/// The table sizes the first byte picks from: none, a few entries, the default.
const TABLE_SIZES: [usize; 3] = [0, 100, 4096];

pub(super) fn check(data: &[u8]) {
    let Some((&choice, mut rest)) = data.split_first() else {
        return;
    };
    let table_size = TABLE_SIZES[usize::from(choice) % TABLE_SIZES.len()];
    let mut blocks = Vec::new();
    while let Some((&len, after)) = rest.split_first() {
        let (block, after) = after.split_at(usize::from(len).min(after.len()));
        blocks.push(block);
        rest = after;
    }
    decoders_agree(table_size, blocks);
}

/// Decodes `blocks` as one connection's, with both decoders at our `table_size`, and panics
/// where they part: the same fields, or both refuse the block (and the connection ends).
pub(crate) fn decoders_agree<'a>(table_size: usize, blocks: impl IntoIterator<Item = &'a [u8]>) {
    let mut ours = HpackDecoder::new(table_size, usize::MAX);
    let mut reference = loona_hpack::Decoder::new();
    reference.set_max_allowed_table_size(table_size);
    reference.set_max_table_size(table_size);
    for block in blocks {
        let expected = reference_decode(&mut reference, block);
        let got = ours.decode(block).ok();
        assert_eq!(got, expected, "the decoders part on block {block:02x?}");
        if got.is_none() {
            return;
        }
    }
}

fn reference_decode(
    reference: &mut loona_hpack::Decoder<'static>,
    block: &[u8],
) -> Option<Vec<Field>> {
    let mut fields = Vec::new();
    let decoded = reference.decode_with_cb(block, |name, value| {
        fields.push((
            Bytes::copy_from_slice(&name),
            Bytes::copy_from_slice(&value),
        ));
    });
    decoded.ok().map(|()| fields)
}
