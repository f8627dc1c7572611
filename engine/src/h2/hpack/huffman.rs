//! Huffman coding of HPACK string literals (RFC 7541 §5.2): each octet's code from Appendix
//! B, most significant bit first, the last octet padded with the high bits of EOS (all ones,
//! §5.2).
//!
//! Decoding reads a bit at a time against a table built at compile time: the code is
//! canonical (the codes of one length are consecutive, in the order of their octets), so
//! each length needs only its first code, how many codes it has and where their octets start.

use bytes::{BufMut, BytesMut};

/// `(code, bits)` for each octet, RFC 7541 Appendix B (EOS, symbol 256, is only padding).
const CODES: [(u32, u8); 256] = [
    (0x1ff8, 13),
    (0x7fffd8, 23),
    (0xfffffe2, 28),
    (0xfffffe3, 28),
    (0xfffffe4, 28),
    (0xfffffe5, 28),
    (0xfffffe6, 28),
    (0xfffffe7, 28),
    (0xfffffe8, 28),
    (0xffffea, 24),
    (0x3ffffffc, 30),
    (0xfffffe9, 28),
    (0xfffffea, 28),
    (0x3ffffffd, 30),
    (0xfffffeb, 28),
    (0xfffffec, 28),
    (0xfffffed, 28),
    (0xfffffee, 28),
    (0xfffffef, 28),
    (0xffffff0, 28),
    (0xffffff1, 28),
    (0xffffff2, 28),
    (0x3ffffffe, 30),
    (0xffffff3, 28),
    (0xffffff4, 28),
    (0xffffff5, 28),
    (0xffffff6, 28),
    (0xffffff7, 28),
    (0xffffff8, 28),
    (0xffffff9, 28),
    (0xffffffa, 28),
    (0xffffffb, 28),
    (0x14, 6),
    (0x3f8, 10),
    (0x3f9, 10),
    (0xffa, 12),
    (0x1ff9, 13),
    (0x15, 6),
    (0xf8, 8),
    (0x7fa, 11),
    (0x3fa, 10),
    (0x3fb, 10),
    (0xf9, 8),
    (0x7fb, 11),
    (0xfa, 8),
    (0x16, 6),
    (0x17, 6),
    (0x18, 6),
    (0x0, 5),
    (0x1, 5),
    (0x2, 5),
    (0x19, 6),
    (0x1a, 6),
    (0x1b, 6),
    (0x1c, 6),
    (0x1d, 6),
    (0x1e, 6),
    (0x1f, 6),
    (0x5c, 7),
    (0xfb, 8),
    (0x7ffc, 15),
    (0x20, 6),
    (0xffb, 12),
    (0x3fc, 10),
    (0x1ffa, 13),
    (0x21, 6),
    (0x5d, 7),
    (0x5e, 7),
    (0x5f, 7),
    (0x60, 7),
    (0x61, 7),
    (0x62, 7),
    (0x63, 7),
    (0x64, 7),
    (0x65, 7),
    (0x66, 7),
    (0x67, 7),
    (0x68, 7),
    (0x69, 7),
    (0x6a, 7),
    (0x6b, 7),
    (0x6c, 7),
    (0x6d, 7),
    (0x6e, 7),
    (0x6f, 7),
    (0x70, 7),
    (0x71, 7),
    (0x72, 7),
    (0xfc, 8),
    (0x73, 7),
    (0xfd, 8),
    (0x1ffb, 13),
    (0x7fff0, 19),
    (0x1ffc, 13),
    (0x3ffc, 14),
    (0x22, 6),
    (0x7ffd, 15),
    (0x3, 5),
    (0x23, 6),
    (0x4, 5),
    (0x24, 6),
    (0x5, 5),
    (0x25, 6),
    (0x26, 6),
    (0x27, 6),
    (0x6, 5),
    (0x74, 7),
    (0x75, 7),
    (0x28, 6),
    (0x29, 6),
    (0x2a, 6),
    (0x7, 5),
    (0x2b, 6),
    (0x76, 7),
    (0x2c, 6),
    (0x8, 5),
    (0x9, 5),
    (0x2d, 6),
    (0x77, 7),
    (0x78, 7),
    (0x79, 7),
    (0x7a, 7),
    (0x7b, 7),
    (0x7ffe, 15),
    (0x7fc, 11),
    (0x3ffd, 14),
    (0x1ffd, 13),
    (0xffffffc, 28),
    (0xfffe6, 20),
    (0x3fffd2, 22),
    (0xfffe7, 20),
    (0xfffe8, 20),
    (0x3fffd3, 22),
    (0x3fffd4, 22),
    (0x3fffd5, 22),
    (0x7fffd9, 23),
    (0x3fffd6, 22),
    (0x7fffda, 23),
    (0x7fffdb, 23),
    (0x7fffdc, 23),
    (0x7fffdd, 23),
    (0x7fffde, 23),
    (0xffffeb, 24),
    (0x7fffdf, 23),
    (0xffffec, 24),
    (0xffffed, 24),
    (0x3fffd7, 22),
    (0x7fffe0, 23),
    (0xffffee, 24),
    (0x7fffe1, 23),
    (0x7fffe2, 23),
    (0x7fffe3, 23),
    (0x7fffe4, 23),
    (0x1fffdc, 21),
    (0x3fffd8, 22),
    (0x7fffe5, 23),
    (0x3fffd9, 22),
    (0x7fffe6, 23),
    (0x7fffe7, 23),
    (0xffffef, 24),
    (0x3fffda, 22),
    (0x1fffdd, 21),
    (0xfffe9, 20),
    (0x3fffdb, 22),
    (0x3fffdc, 22),
    (0x7fffe8, 23),
    (0x7fffe9, 23),
    (0x1fffde, 21),
    (0x7fffea, 23),
    (0x3fffdd, 22),
    (0x3fffde, 22),
    (0xfffff0, 24),
    (0x1fffdf, 21),
    (0x3fffdf, 22),
    (0x7fffeb, 23),
    (0x7fffec, 23),
    (0x1fffe0, 21),
    (0x1fffe1, 21),
    (0x3fffe0, 22),
    (0x1fffe2, 21),
    (0x7fffed, 23),
    (0x3fffe1, 22),
    (0x7fffee, 23),
    (0x7fffef, 23),
    (0xfffea, 20),
    (0x3fffe2, 22),
    (0x3fffe3, 22),
    (0x3fffe4, 22),
    (0x7ffff0, 23),
    (0x3fffe5, 22),
    (0x3fffe6, 22),
    (0x7ffff1, 23),
    (0x3ffffe0, 26),
    (0x3ffffe1, 26),
    (0xfffeb, 20),
    (0x7fff1, 19),
    (0x3fffe7, 22),
    (0x7ffff2, 23),
    (0x3fffe8, 22),
    (0x1ffffec, 25),
    (0x3ffffe2, 26),
    (0x3ffffe3, 26),
    (0x3ffffe4, 26),
    (0x7ffffde, 27),
    (0x7ffffdf, 27),
    (0x3ffffe5, 26),
    (0xfffff1, 24),
    (0x1ffffed, 25),
    (0x7fff2, 19),
    (0x1fffe3, 21),
    (0x3ffffe6, 26),
    (0x7ffffe0, 27),
    (0x7ffffe1, 27),
    (0x3ffffe7, 26),
    (0x7ffffe2, 27),
    (0xfffff2, 24),
    (0x1fffe4, 21),
    (0x1fffe5, 21),
    (0x3ffffe8, 26),
    (0x3ffffe9, 26),
    (0xffffffd, 28),
    (0x7ffffe3, 27),
    (0x7ffffe4, 27),
    (0x7ffffe5, 27),
    (0xfffec, 20),
    (0xfffff3, 24),
    (0xfffed, 20),
    (0x1fffe6, 21),
    (0x3fffe9, 22),
    (0x1fffe7, 21),
    (0x1fffe8, 21),
    (0x7ffff3, 23),
    (0x3fffea, 22),
    (0x3fffeb, 22),
    (0x1ffffee, 25),
    (0x1ffffef, 25),
    (0xfffff4, 24),
    (0xfffff5, 24),
    (0x3ffffea, 26),
    (0x7ffff4, 23),
    (0x3ffffeb, 26),
    (0x7ffffe6, 27),
    (0x3ffffec, 26),
    (0x3ffffed, 26),
    (0x7ffffe7, 27),
    (0x7ffffe8, 27),
    (0x7ffffe9, 27),
    (0x7ffffea, 27),
    (0x7ffffeb, 27),
    (0xffffffe, 28),
    (0x7ffffec, 27),
    (0x7ffffed, 27),
    (0x7ffffee, 27),
    (0x7ffffef, 27),
    (0x7fffff0, 27),
    (0x3ffffee, 26),
];

/// The longest code: EOS's, and three octets'.
const CODE_BITS_MAX: usize = 30;

/// EOS (symbol 256): thirty ones.
const EOS: u32 = (1 << CODE_BITS_MAX) - 1;

/// The canonical code's decoding table (see the module documentation).
struct Decoding {
    /// By code length: the first code of that length.
    first: [u32; CODE_BITS_MAX + 1],
    /// By code length: how many octets have a code of that length.
    count: [u32; CODE_BITS_MAX + 1],
    /// By code length: where its octets start in `octets`.
    start: [u16; CODE_BITS_MAX + 1],
    /// The octets, by code length, then by code.
    octets: [u8; 256],
}

const DECODING: Decoding = decoding();

/// Builds [`DECODING`] from [`CODES`]: within one length, octets in increasing order have
/// increasing codes (`the_code_is_canonical` checks it against every code).
const fn decoding() -> Decoding {
    let mut table = Decoding {
        first: [0; CODE_BITS_MAX + 1],
        count: [0; CODE_BITS_MAX + 1],
        start: [0; CODE_BITS_MAX + 1],
        octets: [0; 256],
    };
    let mut placed = 0;
    let mut bits = 1;
    while bits <= CODE_BITS_MAX {
        table.start[bits] = placed as u16;
        let mut octet = 0;
        while octet < 256 {
            let (code, len) = CODES[octet];
            if len as usize == bits {
                if table.count[bits] == 0 {
                    table.first[bits] = code;
                }
                table.count[bits] += 1;
                table.octets[placed] = octet as u8;
                placed += 1;
            }
            octet += 1;
        }
        bits += 1;
    }
    table
}

/// Why a Huffman-coded string is invalid (RFC 7541 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HuffmanError {
    /// The EOS symbol inside the string.
    Eos,
    /// Padding longer than 7 bits, or not the high bits of EOS (not all ones).
    Padding,
}

/// Appends the octets `coded` stands for to `out`.
pub(super) fn decode(coded: &[u8], out: &mut Vec<u8>) -> Result<(), HuffmanError> {
    let table = &DECODING;
    // The bits of the code being read, and how many.
    let (mut code, mut bits) = (0u32, 0usize);
    for &byte in coded {
        for shift in (0..8).rev() {
            code = (code << 1) | u32::from((byte >> shift) & 1);
            bits += 1;
            let offset = code.wrapping_sub(table.first[bits]);
            if offset < table.count[bits] {
                out.push(table.octets[usize::from(table.start[bits]) + offset as usize]);
                (code, bits) = (0, 0);
            } else if bits == CODE_BITS_MAX {
                // Every 30-bit pattern that is no octet's code is EOS.
                debug_assert_eq!(code, EOS);
                return Err(HuffmanError::Eos);
            }
        }
    }
    // What is left is padding: at most 7 bits, all ones (§5.2).
    if bits > 7 || code != (1 << bits) - 1 {
        return Err(HuffmanError::Padding);
    }
    Ok(())
}

/// The length in octets of `bytes` Huffman-coded.
pub(super) fn encoded_len(bytes: &[u8]) -> usize {
    let bits: usize = bytes
        .iter()
        .map(|&b| usize::from(CODES[usize::from(b)].1))
        .sum();
    bits.div_ceil(8)
}

/// Appends `bytes` Huffman-coded.
pub(crate) fn encode(bytes: &[u8], out: &mut BytesMut) {
    // Bits not yet written, in the low `pending` bits of `acc` (at most 7 + 30 < 64).
    let mut acc: u64 = 0;
    let mut pending: u32 = 0;
    for &b in bytes {
        let (code, bits) = CODES[usize::from(b)];
        acc = (acc << bits) | u64::from(code);
        pending += u32::from(bits);
        while pending >= 8 {
            pending -= 8;
            out.put_u8((acc >> pending) as u8);
        }
        acc &= (1 << pending) - 1;
    }
    if pending > 0 {
        let pad = 8 - pending;
        out.put_u8(((acc << pad) | ((1 << pad) - 1)) as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coded(text: &str) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode(text.as_bytes(), &mut out);
        assert_eq!(out.len(), encoded_len(text.as_bytes()), "{text}");
        out.to_vec()
    }

    /// RFC 7541 C.4.1, C.4.2, C.6.1.
    #[test]
    fn appendix_c_strings() {
        assert_eq!(
            coded("www.example.com"),
            [0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff]
        );
        assert_eq!(coded("no-cache"), [0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf]);
        assert_eq!(coded("302"), [0x64, 0x02]);
        assert_eq!(coded("private"), [0xae, 0xc3, 0x77, 0x1a, 0x4b]);
        assert_eq!(coded(""), Vec::<u8>::new());
    }

    fn decoded(coded: &[u8]) -> Result<Vec<u8>, HuffmanError> {
        let mut out = Vec::new();
        decode(coded, &mut out).map(|()| out)
    }

    /// The table's premise: within one length, codes follow the octets' order with no gap.
    #[test]
    fn the_code_is_canonical() {
        for (octet, &(code, bits)) in CODES.iter().enumerate() {
            let bits = usize::from(bits);
            let rank = CODES[..octet]
                .iter()
                .filter(|c| usize::from(c.1) == bits)
                .count();
            assert_eq!(code, DECODING.first[bits] + rank as u32, "octet {octet}");
            let at = usize::from(DECODING.start[bits]) + rank;
            assert_eq!(usize::from(DECODING.octets[at]), octet);
        }
        let longest = CODES.iter().filter(|c| usize::from(c.1) == CODE_BITS_MAX);
        let last = longest.map(|c| c.0).max();
        assert_eq!(last, Some(EOS - 1), "EOS is the one 30-bit pattern left");
    }

    #[test]
    fn appendix_c_strings_decode() {
        let coded = [
            0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
        ];
        assert_eq!(decoded(&coded), Ok(b"www.example.com".to_vec()));
        assert_eq!(decoded(&[0x64, 0x02]), Ok(b"302".to_vec()));
        assert_eq!(decoded(&[]), Ok(Vec::new()));
    }

    #[test]
    fn bad_padding_and_eos_are_errors() {
        // '0' is 00000 (5 bits): three bits of padding must be ones.
        assert_eq!(decoded(&[0x07]), Ok(b"0".to_vec()));
        assert_eq!(decoded(&[0x06]), Err(HuffmanError::Padding));
        // A whole octet of ones is 8 bits of padding: '&' is 11111000, a whole octet.
        assert_eq!(decoded(&[0xf8]), Ok(b"&".to_vec()));
        assert_eq!(decoded(&[0xf8, 0xff]), Err(HuffmanError::Padding));
        assert_eq!(decoded(&[0x07, 0xff]), Err(HuffmanError::Padding));
        assert_eq!(decoded(&[0xff, 0xff, 0xff, 0xff]), Err(HuffmanError::Eos));
    }

    proptest::proptest! {
        /// Whatever the octets, decoding their code gives them back.
        #[test]
        fn decoding_inverts_encoding(
            octets in proptest::collection::vec(proptest::num::u8::ANY, 0..200)
        ) {
            let mut coded = BytesMut::new();
            encode(&octets, &mut coded);
            proptest::prop_assert_eq!(decoded(&coded), Ok(octets));
        }
    }
}
