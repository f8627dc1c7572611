//! Goal: the HPACK seam decodes RFC 7541's own examples across a connection's blocks, turns
//! every decoding failure into COMPRESSION_ERROR, bounds the decoded list while keeping the
//! dynamic table in step, and signals the peer's table size (0 included) exactly as §4.2
//! says. Method: Appendix C's requests (C.3 plain, C.4 Huffman) as literal bytes, malformed
//! blocks, and round trips through our own decoder.

use super::{hex, APPENDIX_C3_BLOCKS, APPENDIX_C4_BLOCKS, APPENDIX_C_REQUESTS};
use bytes::{Bytes, BytesMut};
use proptest::strategy::Strategy;

use crate::h2::hpack::{self, DecodeError, Field, HpackDecoder, HpackEncoder, TABLE_SIZE_DEFAULT};

fn fields(list: &[(&'static str, &'static str)]) -> Vec<Field> {
    list.iter()
        .map(|(n, v)| {
            (
                Bytes::from_static(n.as_bytes()),
                Bytes::from_static(v.as_bytes()),
            )
        })
        .collect()
}

fn decoder() -> HpackDecoder {
    HpackDecoder::new(TABLE_SIZE_DEFAULT, 65_536)
}

/// RFC 7541 C.3 (plain literals) and C.4 (the same requests, Huffman-coded): three requests on
/// one connection, each leaning on the dynamic table the previous ones filled.
#[test]
fn appendix_c_requests_decode_across_blocks() {
    for blocks in [APPENDIX_C3_BLOCKS, APPENDIX_C4_BLOCKS] {
        let mut decoder = decoder();
        for (block, list) in blocks.iter().zip(APPENDIX_C_REQUESTS) {
            let expected = fields(list);
            assert_eq!(decoder.decode(&hex(block)), Ok(expected), "{block}");
        }
    }
}

#[test]
fn every_decoding_failure_is_a_compression_error() {
    let cases = [
        ("an index past both tables", "be"),
        ("index 0", "80"),
        ("an integer cut short", "ff"),
        ("a string longer than the block", "400a 6375 7374"),
        ("Huffman padding that is not all ones", "4081 00 0161"),
        (
            "a size update above our SETTINGS_HEADER_TABLE_SIZE",
            "3fe2 1f 82",
        ),
        ("a size update at the end of a block", "82 20"),
    ];
    for (what, block) in cases {
        assert_eq!(
            decoder().decode(&hex(block)),
            Err(DecodeError::Compression),
            "{what}"
        );
    }
}

#[test]
fn the_list_bound_drops_fields_but_keeps_the_table_in_step() {
    // Each field here counts 10 + 12 + 32 = 54 bytes (RFC 9113 §6.5.2).
    let block = hex("400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65");
    let mut exact = HpackDecoder::new(TABLE_SIZE_DEFAULT, 54);
    assert_eq!(
        exact.decode(&block),
        Ok(fields(&[("custom-key", "custom-value")]))
    );
    // Two of them (the literal, then a reference to the entry it added) pass a 60-byte bound.
    let mut tight = HpackDecoder::new(TABLE_SIZE_DEFAULT, 60);
    let twice = [block.clone(), hex("be")].concat();
    assert_eq!(tight.decode(&twice), Err(DecodeError::HeaderListTooLarge));
    // The entry was still added: the next block's reference to it (index 62) decodes.
    assert_eq!(
        tight.decode(&hex("be")),
        Ok(fields(&[("custom-key", "custom-value")]))
    );
    // An HPACK bomb: one byte per 54-byte field, 2000 of them, bounded all the same.
    let bomb = hex(&"be".repeat(2000));
    assert_eq!(
        HpackDecoder::new(TABLE_SIZE_DEFAULT, 65_536).decode(&[block.clone(), bomb].concat()),
        Err(DecodeError::HeaderListTooLarge)
    );
}

fn encode(encoder: &mut HpackEncoder, list: &[(&'static str, &'static str)]) -> Vec<u8> {
    let mut out = BytesMut::new();
    encoder.encode(
        list.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
        &mut out,
    );
    out.to_vec()
}

#[test]
fn encoded_blocks_round_trip_through_the_decoder() {
    let list = [
        (":status", "200"),
        ("content-type", "text/plain"),
        ("x-twine", "1"),
    ];
    let mut encoder = HpackEncoder::new();
    let mut decoder = decoder();
    let first = encode(&mut encoder, &list);
    let second = encode(&mut encoder, &list);
    assert!(
        second.len() < first.len(),
        "the second block uses the dynamic table"
    );
    for block in [first, second] {
        assert_eq!(decoder.decode(&block), Ok(fields(&list)));
    }
}

#[test]
fn a_peer_table_size_of_zero_is_signalled_and_honoured() {
    let list = [("x-twine", "1"), ("x-twine", "1")];
    let mut encoder = HpackEncoder::new();
    encoder.set_peer_table_size(0);
    let first = encode(&mut encoder, &list);
    assert_eq!(first[0], 0x20, "a size update to 0 opens the next block");
    let second = encode(&mut encoder, &list);
    assert_eq!(second, first[1..], "no dynamic entry is ever referenced");
    let mut decoder = decoder();
    assert_eq!(decoder.decode(&first), Ok(fields(&list)));
    assert_eq!(decoder.decode(&second), Ok(fields(&list)));
}

#[test]
fn several_changes_signal_the_smallest_then_the_last() {
    let mut encoder = HpackEncoder::new();
    encoder.set_peer_table_size(100);
    encoder.set_peer_table_size(2000);
    let block = encode(&mut encoder, &[(":status", "200")]);
    // 100 = 31 + 69; 2000 = 31 + 1969 = 31 + 0x31 + 15 * 128; then :status 200 (index 8).
    assert_eq!(block, hex("3f45 3fb10f 88"));
    // A larger peer table changes nothing of ours (we keep the default).
    let mut default = HpackEncoder::new();
    default.set_peer_table_size(65_536);
    assert_eq!(encode(&mut default, &[(":status", "200")]), hex("88"));
}

proptest::proptest! {
    /// Whatever fields and table sizes, our encoder's blocks decode, through the codec's
    /// decoder, to exactly the fields encoded: the two dynamic tables stay in step across
    /// blocks, evictions and size changes.
    #[test]
    fn our_encoder_and_the_codec_decoder_agree(
        blocks in proptest::collection::vec(
            (
                proptest::option::of(0u32..5000),
                proptest::collection::vec(
                    (
                        proptest::sample::select(vec![
                            ":status", "content-type", "date", "server", "content-length",
                            "set-cookie", "x-custom", "x-other", "location", "vary",
                        ]),
                        proptest::collection::vec(proptest::num::u8::ANY, 0..300),
                    ),
                    // Never empty: every block we write has at least `:status`.
                    1..12,
                ),
            ),
            1..12,
        )
    ) {
        let mut encoder = HpackEncoder::new();
        let mut decoder = HpackDecoder::new(TABLE_SIZE_DEFAULT, usize::MAX);
        for (size, list) in blocks {
            if let Some(size) = size {
                encoder.set_peer_table_size(size);
            }
            let mut block = BytesMut::new();
            encoder.encode(list.iter().map(|(n, v)| (n.as_bytes(), &v[..])), &mut block);
            let expected: Vec<Field> = list
                .iter()
                .map(|(n, v)| (Bytes::from_static(n.as_bytes()), Bytes::copy_from_slice(v)))
                .collect();
            proptest::prop_assert_eq!(decoder.decode(&block), Ok(expected));
        }
    }
}

/// Blocks made of representations, well-formed or nearly: indexed fields, literals (raw or
/// Huffman, new names or indexed ones, each indexing mode) and size updates, with a byte cut
/// off or flipped now and then.
fn representation() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::*;
    let octets = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(b'a'..=b'z', 0..60),
    ];
    let string = (any::<bool>(), octets).prop_map(|(huffman, octets)| {
        let mut out = BytesMut::new();
        if huffman {
            let mut coded = BytesMut::new();
            hpack::huffman_encode(&octets, &mut coded);
            hpack::encode_integer(coded.len(), 7, 0x80, &mut out);
            out.extend_from_slice(&coded);
        } else {
            hpack::encode_integer(octets.len(), 7, 0, &mut out);
            out.extend_from_slice(&octets);
        }
        out.to_vec()
    });
    prop_oneof![
        4 => (1usize..70).prop_map(|index| {
            let mut out = BytesMut::new();
            hpack::encode_integer(index, 7, 0x80, &mut out);
            out.to_vec()
        }),
        8 => (
            proptest::sample::select(vec![(6u8, 0x40u8), (6, 0x40), (4, 0x10), (4, 0)]),
            prop_oneof![Just(0usize), 1usize..66],
            string.clone(),
            string,
        )
            .prop_map(|((prefix, pattern), name_index, name, value)| {
                let mut out = BytesMut::new();
                hpack::encode_integer(name_index, prefix, pattern, &mut out);
                let mut out = out.to_vec();
                if name_index == 0 {
                    out.extend_from_slice(&name);
                }
                out.extend_from_slice(&value);
                out
            }),
        1 => proptest::sample::select(vec![0usize, 40, 100, 101, 4096, 4097]).prop_map(|size| {
            let mut out = BytesMut::new();
            hpack::encode_integer(size, 5, 0x20, &mut out);
            out.to_vec()
        }),
        1 => proptest::collection::vec(any::<u8>(), 1..4),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
    /// Whatever the blocks, on one connection, our decoder and the reference agree: the same
    /// fields, or both refuse the block (and the connection ends there).
    #[test]
    fn the_decoder_agrees_with_the_reference(
        blocks in proptest::collection::vec(
            proptest::collection::vec(representation(), 0..8).prop_map(|r| r.concat()),
            1..6,
        ),
        table_size in proptest::sample::select(vec![0usize, 100, 4096]),
    ) {
        crate::fuzzing::hpack::decoders_agree(table_size, blocks.iter().map(Vec::as_slice));
    }
}
