//! Goal: the eight-bytes-at-a-time check of field values (`all_field_bytes`) refuses every
//! control byte wherever it sits in a word, including words made only of control bytes or only
//! of DEL, and accepts every field byte (HTAB, visible ASCII, SP, obs-text). The word test may
//! over-report (then the bytes are looked at one by one); these cases pin that it never
//! under-reports. Method: values of exactly 8 and 16 bytes, so every byte is in a whole word;
//! each control byte alone in a word of ordinary bytes at every position, and repeated over a
//! whole word; each case through `assert_all_splits`.

use super::*;

/// Every byte a field value may not hold, except CR and LF (line ends, refused before the
/// value is looked at).
fn control_bytes() -> impl Iterator<Item = u8> {
    (0x00..0x20)
        .filter(|b| !matches!(b, b'\t' | b'\r' | b'\n'))
        .chain([0x7f])
}

fn with_value(value: &[u8]) -> Vec<u8> {
    get11(&[&[b"X: " as &[u8], value].concat()])
}

#[test]
fn a_control_byte_anywhere_in_a_word_is_refused() {
    for control in control_bytes() {
        for len in [8, 16] {
            for at in 0..len {
                let mut value = b"abcdefghijklmnop"[..len].to_vec();
                value[at] = control;
                assert_all_splits(&with_value(&value), Err(K::InvalidHeader));
            }
        }
    }
}

#[test]
fn a_word_of_control_bytes_only_is_refused() {
    for control in control_bytes() {
        assert_all_splits(&with_value(&[control; 8]), Err(K::InvalidHeader));
        let mut value = [control; 16];
        value[..8].copy_from_slice(b"ordinary");
        assert_all_splits(&with_value(&value), Err(K::InvalidHeader));
    }
}

#[test]
fn words_of_field_bytes_are_accepted() {
    for value in [
        &b"\x80\x81\xfe\xff\xa0\x9f\xc3\xa9"[..],
        b"a\tb\tc\td\t\x80\x7e ~!\"#$%&",
        b"~~~~~~~~",
        b"!\x80!\x80!\x80!\x80",
    ] {
        let expected = ExpectedHead::get11().header("X", value);
        assert_all_splits(&with_value(value), Ok(expected));
    }
}
