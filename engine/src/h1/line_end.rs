//! Finding the LF that ends a head line.
//!
//! A request line and its fields are mostly a few dozen bytes, and each is looked for once per
//! line: a call into memchr's vector search costs about a hundred instructions to set up for a
//! line found in twenty bytes (callgrind: a third of a small request's parse). So the first
//! [`WORD_SCAN_BYTES`] are searched a word (eight bytes) at a time in the caller, and only a
//! longer line goes on to memchr, whose vector loop wins on long runs (a long target, a cookie).
//!
//! Invariant: [`find_lf`] answers exactly as `memchr(b'\n', ..)` does, for every input (a
//! property test holds them together).

use memchr::memchr;

/// How far the word-at-a-time search looks before handing the rest to memchr.
const WORD_SCAN_BYTES: usize = 64;

/// The offset of the first LF in `bytes`, if any.
#[inline]
pub(crate) fn find_lf(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let near = &bytes[..bytes.len().min(WORD_SCAN_BYTES)];
    let mut words = near.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        // Zero where a byte is LF; the lowest flagged byte of `found` is the first zero (a
        // borrow can only flag bytes above a real zero, never below one).
        let xored = u64::from_le_bytes(word) ^ (ONES * u64::from(b'\n'));
        let found = xored.wrapping_sub(ONES) & !xored & HIGHS;
        if found != 0 {
            // Little-endian: the lowest set bit is in the first matching byte.
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    if let Some(i) = words.remainder().iter().position(|&b| b == b'\n') {
        return Some(at + i);
    }
    let rest = near.len();
    memchr(b'\n', &bytes[rest..]).map(|i| rest + i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_first_lf_is_found_at_every_offset() {
        for len in 0..=WORD_SCAN_BYTES + 20 {
            assert_eq!(find_lf(&vec![b'a'; len]), None, "none in {len} bytes");
            for at in 0..len {
                let mut bytes = vec![b'a'; len];
                bytes[at] = b'\n';
                assert_eq!(find_lf(&bytes), Some(at), "{len} bytes, LF at {at}");
                // A later LF, and bytes that borrow in the word test (0x0b is LF + 1, 0x00
                // and 0x8a are each one bit away), change nothing.
                bytes[len - 1] = b'\n';
                if at + 1 < len - 1 {
                    bytes[at + 1] = 0x0b;
                }
                if at > 0 {
                    bytes[at - 1] = 0x8a;
                }
                assert_eq!(find_lf(&bytes), Some(at), "{len} bytes, LF at {at}, noise");
            }
        }
    }

    proptest! {
        /// The word search answers as memchr does: bytes near LF's value, long lines and
        /// LFs near the hand-over to memchr included.
        #[test]
        fn find_lf_agrees_with_memchr(
            bytes in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(0x0b_u8), Just(0x00_u8), Just(0x8a_u8), any::<u8>()],
                0..200,
            ),
            prefix in 0_usize..100,
        ) {
            let mut input = vec![b'x'; prefix];
            input.extend_from_slice(&bytes);
            prop_assert_eq!(find_lf(&input), memchr(b'\n', &input));
        }
    }
}
