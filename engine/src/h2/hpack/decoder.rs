//! The HPACK decoder (RFC 7541 §3, §6): field representations read in order against the
//! static table and a dynamic table that spans a connection's blocks.
//!
//! Invariants: the dynamic table's size (names, values and 32 octets per entry) never
//! exceeds its maximum, which never exceeds what our `SETTINGS_HEADER_TABLE_SIZE` allowed;
//! a block may not end with a size update (§4.2; h2spec sends one after the fields); every
//! malformed block is an error, never a panic, and reads no byte past its end. What it
//! accepts is exactly what `loona-hpack`'s decoder accepted (the tests' and the fuzz target's
//! reference), so swapping it in changed no verdict: a size update between fields passes too.
//! Work is linear in the block's length: a Huffman string costs a few instructions a bit.

use bytes::Bytes;

use super::encoder::STATIC;
use super::huffman;
use super::table::DynamicTable;

/// Octets past an integer's prefix (§5.1): 7 bits each, so 4 reach 2^28 past the prefix,
/// beyond any size or index that can be valid here.
const INTEGER_OCTETS_MAX: u32 = 4;

/// The block is not valid HPACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Invalid;

/// One connection's decoding state.
#[derive(Debug)]
pub(super) struct Decoder {
    /// Its maximum is the size the peer's last update set (or the initial one).
    dynamic: DynamicTable,
    /// Our `SETTINGS_HEADER_TABLE_SIZE`: no update may exceed it.
    allowed: usize,
    /// Scratch for Huffman-decoded strings.
    scratch: Vec<u8>,
}

impl Decoder {
    /// A decoder whose table may hold `allowed` octets, and does from the start.
    pub(super) fn new(allowed: usize) -> Decoder {
        Decoder {
            dynamic: DynamicTable::new(allowed),
            allowed,
            scratch: Vec::new(),
        }
    }

    /// Decodes one whole block, handing each field to `field` in order.
    pub(super) fn decode(
        &mut self,
        block: &[u8],
        mut field: impl FnMut(&Bytes, &Bytes),
    ) -> Result<(), Invalid> {
        let mut rest = block;
        let mut last_was_size_update = false;
        while let Some(&first) = rest.first() {
            last_was_size_update = first & 0xe0 == 0x20;
            if first & 0x80 != 0 {
                // Indexed field (§6.1).
                let index = read_integer(&mut rest, 7)?;
                let (name, value) = self.entry(index)?;
                field(&name, &value);
            } else if last_was_size_update {
                // Dynamic table size update (§6.3).
                let size = read_integer(&mut rest, 5)?;
                if size > self.allowed {
                    return Err(Invalid);
                }
                self.dynamic.set_max_size(size);
            } else {
                // Literal (§6.2): with incremental indexing (01), never indexed (0001) or
                // without indexing (0000).
                let indexed = first & 0xc0 == 0x40;
                let prefix = if indexed { 6 } else { 4 };
                let name = match read_integer(&mut rest, prefix)? {
                    0 => self.read_string(&mut rest)?,
                    index => self.entry(index)?.0,
                };
                let value = self.read_string(&mut rest)?;
                field(&name, &value);
                if indexed {
                    self.dynamic.insert(name, value);
                }
            }
        }
        if last_was_size_update {
            return Err(Invalid);
        }
        Ok(())
    }

    /// The entry at `index` of the static table, then the dynamic one (§2.3.3).
    fn entry(&self, index: usize) -> Result<(Bytes, Bytes), Invalid> {
        match index {
            0 => Err(Invalid),
            1..=61 => {
                let (name, value) = STATIC[index - 1];
                Ok((Bytes::from_static(name), Bytes::from_static(value)))
            }
            _ => self.dynamic.get(index - 62).cloned().ok_or(Invalid),
        }
    }

    /// A string literal (§5.2), raw or Huffman-coded.
    fn read_string(&mut self, rest: &mut &[u8]) -> Result<Bytes, Invalid> {
        let huffman_coded = rest.first().is_some_and(|&b| b & 0x80 != 0);
        let len = read_integer(rest, 7)?;
        if len > rest.len() {
            return Err(Invalid);
        }
        let (octets, after) = rest.split_at(len);
        *rest = after;
        if !huffman_coded {
            return Ok(Bytes::copy_from_slice(octets));
        }
        self.scratch.clear();
        huffman::decode(octets, &mut self.scratch).map_err(|_| Invalid)?;
        Ok(Bytes::copy_from_slice(&self.scratch))
    }
}

/// An integer with a `prefix`-bit prefix (§5.1), consumed from `rest`.
fn read_integer(rest: &mut &[u8], prefix: u8) -> Result<usize, Invalid> {
    let (&first, mut tail) = rest.split_first().ok_or(Invalid)?;
    let max = (1usize << prefix) - 1;
    let mut value = usize::from(first) & max;
    if value == max {
        let mut shift = 0;
        loop {
            let (&octet, after) = tail.split_first().ok_or(Invalid)?;
            tail = after;
            if shift == 7 * INTEGER_OCTETS_MAX {
                return Err(Invalid);
            }
            value += usize::from(octet & 0x7f) << shift;
            shift += 7;
            if octet & 0x80 == 0 {
                break;
            }
        }
    }
    *rest = tail;
    Ok(value)
}
