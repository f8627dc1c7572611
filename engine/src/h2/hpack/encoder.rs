//! Our HPACK encoder (RFC 7541): the static table, a dynamic table kept exactly as the peer's
//! decoder keeps it, and the choice of representation for each field.
//!
//! The choice, per field (h2's and nghttp2's, in short):
//! - a field in a table, name and value: its index (§6.1), one octet for the common ones;
//! - otherwise a literal, its name by index when a table has it (§6.2): added to the dynamic
//!   table (incremental indexing) unless its value is one that changes from message to
//!   message (`content-length`, `etag`, `location`, `age`, `last-modified`, `:path`, ...),
//!   which would only push useful entries out; never indexed at all for credentials
//!   (`authorization`, `proxy-authorization`, `set-cookie`, `cookie`), so no intermediary
//!   re-encodes them into a table either (§7.1.3);
//! - each string Huffman-coded when that is not longer (§5.2).
//!
//! Invariants: the dynamic table's size (§4.1: name, value and 32 octets per entry) never
//! passes its maximum; an entry larger than the maximum empties the table and is not added
//! (§4.4), as the decoder does, so both stay in step.

use bytes::{BufMut, Bytes, BytesMut};

use super::huffman;
use super::table::DynamicTable;

/// The static table, RFC 7541 Appendix A; index 1 is the first entry.
pub(super) const STATIC: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// Which fields go into the dynamic table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Indexing {
    /// As the module documentation says.
    Selective,
    /// Every field that is not in a table already (RFC 7541 Appendix C's examples).
    #[cfg(test)]
    All,
}

/// How a field is written when it is not wholly in a table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Literal {
    /// `01`, 6-bit name index: added to the dynamic table.
    Indexed,
    /// `0000`, 4-bit name index: not added.
    NotIndexed,
    /// `0001`, 4-bit name index: not added, here or by any intermediary.
    NeverIndexed,
}

/// The encoder's half of a connection's HPACK context.
#[derive(Debug)]
pub(super) struct Encoder {
    dynamic: DynamicTable,
    indexing: Indexing,
    /// Never Huffman-code (RFC 7541 C.3 and C.5 show the plain forms).
    #[cfg(test)]
    plain: bool,
}

impl Encoder {
    pub(super) fn new(max_size: usize, indexing: Indexing) -> Encoder {
        Encoder {
            dynamic: DynamicTable::new(max_size),
            indexing,
            #[cfg(test)]
            plain: false,
        }
    }

    /// Strings always as they are, never Huffman-coded.
    #[cfg(test)]
    pub(super) fn plain(mut self) -> Encoder {
        self.plain = true;
        self
    }

    /// The dynamic table's new maximum (the caller signals it to the peer): entries are
    /// evicted, oldest first, until the table fits.
    pub(super) fn set_max_size(&mut self, max_size: usize) {
        self.dynamic.set_max_size(max_size);
    }

    /// Appends the representation of one field.
    pub(super) fn encode_field(&mut self, name: &[u8], value: &[u8], out: &mut BytesMut) {
        let (name_index, full) = self.find(name, value);
        if let Some(index) = full {
            encode_integer(index, 7, 0x80, out);
            return;
        }
        let literal = self.literal_kind(name);
        let (prefix_bits, pattern) = match literal {
            Literal::Indexed => (6, 0x40),
            Literal::NotIndexed => (4, 0x00),
            Literal::NeverIndexed => (4, 0x10),
        };
        match name_index {
            Some(index) => encode_integer(index, prefix_bits, pattern, out),
            None => {
                out.put_u8(pattern);
                self.encode_string(name, out);
            }
        }
        self.encode_string(value, out);
        if literal == Literal::Indexed {
            let (name, value) = (Bytes::copy_from_slice(name), Bytes::copy_from_slice(value));
            self.dynamic.insert(name, value);
        }
    }

    /// The lowest index whose name matches, and the index of an entry matching both.
    fn find(&self, name: &[u8], value: &[u8]) -> (Option<usize>, Option<usize>) {
        let mut name_index = None;
        for (i, (n, v)) in STATIC.iter().enumerate() {
            if *n == name {
                if *v == value {
                    return (Some(i + 1), Some(i + 1));
                }
                name_index.get_or_insert(i + 1);
            }
        }
        for (i, (n, v)) in self.dynamic.iter().enumerate() {
            if n[..] == *name {
                let index = STATIC.len() + 1 + i;
                if v[..] == *value {
                    return (Some(index), Some(index));
                }
                name_index.get_or_insert(index);
            }
        }
        (name_index, None)
    }

    fn literal_kind(&self, name: &[u8]) -> Literal {
        match name {
            _ if self.indexes_all() => Literal::Indexed,
            b"authorization" | b"proxy-authorization" | b"set-cookie" | b"cookie" => {
                Literal::NeverIndexed
            }
            b":path" | b"age" | b"content-length" | b"content-range" | b"etag" | b"expires"
            | b"if-modified-since" | b"if-none-match" | b"last-modified" | b"location" => {
                Literal::NotIndexed
            }
            _ => Literal::Indexed,
        }
    }

    fn indexes_all(&self) -> bool {
        match self.indexing {
            Indexing::Selective => false,
            #[cfg(test)]
            Indexing::All => true,
        }
    }

    fn encode_string(&self, bytes: &[u8], out: &mut BytesMut) {
        #[cfg(test)]
        let plain = self.plain;
        #[cfg(not(test))]
        let plain = false;
        let coded = huffman::encoded_len(bytes);
        if !plain && coded <= bytes.len() {
            encode_integer(coded, 7, 0x80, out);
            huffman::encode(bytes, out);
        } else {
            encode_integer(bytes.len(), 7, 0x00, out);
            out.put_slice(bytes);
        }
    }
}

/// An integer with an N-bit prefix (§5.1), the prefix's other bits `pattern`.
pub(crate) fn encode_integer(value: usize, prefix_bits: u8, pattern: u8, out: &mut BytesMut) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.put_u8(pattern | value as u8);
        return;
    }
    out.put_u8(pattern | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.put_u8((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.put_u8(rest as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::tests::{hex, APPENDIX_C3_BLOCKS, APPENDIX_C4_BLOCKS, APPENDIX_C_REQUESTS};

    fn block(encoder: &mut Encoder, fields: &[(&str, &str)]) -> Vec<u8> {
        let mut out = BytesMut::new();
        for (name, value) in fields {
            encoder.encode_field(name.as_bytes(), value.as_bytes(), &mut out);
        }
        out.to_vec()
    }

    const RESPONSES: [&[(&str, &str)]; 3] = [
        &[
            (":status", "302"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("location", "https://www.example.com"),
        ],
        &[
            (":status", "307"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("location", "https://www.example.com"),
        ],
        &[
            (":status", "200"),
            ("cache-control", "private"),
            ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
            ("location", "https://www.example.com"),
            ("content-encoding", "gzip"),
            (
                "set-cookie",
                "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
            ),
        ],
    ];

    /// RFC 7541 C.3 and C.4: three requests, plain then Huffman-coded, every new field indexed.
    #[test]
    fn appendix_c_requests() {
        let mut encoder = Encoder::new(4096, Indexing::All).plain();
        for (fields, expected) in APPENDIX_C_REQUESTS.iter().zip(APPENDIX_C3_BLOCKS) {
            assert_eq!(block(&mut encoder, fields), hex(expected));
        }
        let mut encoder = Encoder::new(4096, Indexing::All);
        for (fields, expected) in APPENDIX_C_REQUESTS.iter().zip(APPENDIX_C4_BLOCKS) {
            assert_eq!(block(&mut encoder, fields), hex(expected));
        }
        assert_eq!(encoder.dynamic.len_and_size().1, 164);
    }

    /// RFC 7541 C.5 and C.6: three responses in a 256-octet table, entries evicted as they go.
    #[test]
    fn appendix_c_responses_with_eviction() {
        let plain = [
            "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 \
             2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 \
             6c65 2e63 6f6d",
            "4803 3330 37c1 c0bf",
            "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d \
             54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 \
             5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e \
             3d31",
        ];
        let huffman = [
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 \
             2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            "4883 640e ffc1 c0bf",
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab \
             77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f \
             9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        ];
        let mut encoder = Encoder::new(256, Indexing::All).plain();
        for (fields, expected) in RESPONSES.iter().zip(plain) {
            assert_eq!(block(&mut encoder, fields), hex(expected));
        }
        let mut encoder = Encoder::new(256, Indexing::All);
        for (fields, expected) in RESPONSES.iter().zip(huffman) {
            assert_eq!(block(&mut encoder, fields), hex(expected));
        }
        assert_eq!(encoder.dynamic.len_and_size(), (3, 215));
    }

    /// What a server's responses cost after the first: the status, `content-type`, `server`
    /// and `date` by index; `content-length` by name, its value Huffman-coded, not indexed;
    /// credentials never indexed.
    #[test]
    fn selective_indexing_of_a_servers_responses() {
        let response = [
            (":status", "200"),
            ("content-type", "text/plain"),
            ("content-length", "12"),
            ("date", "Tue, 14 Nov 2023 22:13:20 GMT"),
            ("server", "twine"),
        ];
        let mut encoder = Encoder::new(4096, Indexing::Selective);
        let first = block(&mut encoder, &response);
        assert_eq!(first.len(), 45);
        assert_eq!(
            block(&mut encoder, &response),
            hex("88 c0 0f0d 8208 bf bf be")
        );
        assert_eq!(encoder.dynamic.len_and_size().0, 3);
        let cookie = block(&mut encoder, &[("set-cookie", "a=b")]);
        assert_eq!(cookie[0], 0x1f, "never indexed, name 55");
        assert_eq!(encoder.dynamic.len_and_size().0, 3);
    }

    #[test]
    fn an_entry_larger_than_the_table_empties_it() {
        let mut encoder = Encoder::new(100, Indexing::Selective);
        block(&mut encoder, &[("x-a", "1")]);
        assert_eq!(encoder.dynamic.len_and_size().0, 1);
        block(&mut encoder, &[("x-b", &"v".repeat(100))]);
        assert_eq!(encoder.dynamic.len_and_size(), (0, 0));
        encoder.set_max_size(0);
        block(&mut encoder, &[("x-c", "1")]);
        assert_eq!(encoder.dynamic.len_and_size(), (0, 0));
    }
}
