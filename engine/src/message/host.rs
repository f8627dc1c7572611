//! What a `Host` field (and an authority in a request target) may hold: `uri-host [ ":" port ]`
//! (RFC 9110 §7.2, RFC 3986 §3.2.2-3.2.3). RFC 9112 §3.2 has a server answer 400 to a `Host`
//! with an invalid value: a proxy would otherwise forward, and an app trust, a name no URI can
//! carry (a space, a quote, userinfo, a second host after `@`).
//!
//! The check is of syntax only: `uri-host` is an IP literal in brackets (IPv6 or `IPvFuture`,
//! whose characters are checked, not their grammar), or a `reg-name` of unreserved characters,
//! percent-escapes and sub-delimiters (which an IPv4 address also is). The empty name is valid
//! (RFC 9110 §7.2: an authority without a host).

/// `uri-host [ ":" port ]`. A `Host` is read on every request, and nearly every one is a name
/// or an IPv4 address, with or without a port: those take one pass, a table test a byte up
/// to the `:`, digits after it. An IP literal or a percent-escape takes the full check. (About
/// 140 instructions for `127.0.0.1:PORT`, 2% of a keep-alive request: nginx pays the same to
/// validate its `Host`; hyper does not check.)
#[inline]
pub(crate) fn is_valid_host(value: &[u8]) -> bool {
    let mut rest = value;
    while let [b, after @ ..] = rest {
        if !NAME_BYTES[usize::from(*b)] {
            break;
        }
        rest = after;
    }
    match rest {
        [] => true,
        [b':', port @ ..] => port.iter().all(u8::is_ascii_digit),
        [b'%' | b'[', ..] => is_valid_host_in_full(value),
        _ => false,
    }
}

/// [`is_valid_host`] for any value, IP literals and escapes included.
fn is_valid_host_in_full(value: &[u8]) -> bool {
    let (host, port) = match value.first() {
        Some(b'[') => match value.iter().position(|&b| b == b']') {
            Some(end) => {
                let literal = &value[1..end];
                let rest = &value[end + 1..];
                let valid = !literal.is_empty() && literal.iter().all(|&b| is_literal_byte(b));
                if !valid {
                    return false;
                }
                (&value[..0], rest)
            }
            None => return false,
        },
        _ => {
            let colon = value.iter().position(|&b| b == b':');
            let host = &value[..colon.unwrap_or(value.len())];
            (host, &value[host.len()..])
        }
    };
    is_reg_name(host) && is_port(port)
}

/// `*( unreserved / pct-encoded / sub-delims )`: a table test a byte (a `Host` is read on
/// every request), escapes checked apart.
fn is_reg_name(name: &[u8]) -> bool {
    let mut at = 0;
    while let Some(&b) = name.get(at) {
        if NAME_BYTES[usize::from(b)] {
            at += 1;
        } else if b == b'%' {
            let escape = name.get(at + 1..at + 3);
            if !escape.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                return false;
            }
            at += 3;
        } else {
            return false;
        }
    }
    true
}

/// The bytes a `reg-name` takes as they are: unreserved and sub-delimiters.
static NAME_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_unreserved(b as u8) || is_sub_delim(b as u8);
        b += 1;
    }
    table
};

/// Nothing, or `":" *DIGIT`.
fn is_port(rest: &[u8]) -> bool {
    match rest.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// What may stand between the brackets of an IP literal: an IPv6 address's hex digits, `:`
/// and `.`, or an `IPvFuture`'s `v`, hex, `.` and then unreserved, sub-delimiters and `:`.
fn is_literal_byte(b: u8) -> bool {
    is_unreserved(b) || is_sub_delim(b) || b == b':'
}

/// RFC 3986 §2.3.
const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 §2.2.
const fn is_sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

#[cfg(test)]
mod tests {
    use super::{is_valid_host, is_valid_host_in_full};
    use proptest::prelude::*;

    proptest! {
        /// The one-pass check and the full one agree on any bytes, and on host-like ones.
        #[test]
        fn the_fast_path_agrees_with_the_full_check(
            value in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..24),
                "[a-z0-9.:%\\[\\]@_~-]{0,24}".prop_map(String::into_bytes),
            ]
        ) {
            prop_assert_eq!(is_valid_host(&value), is_valid_host_in_full(&value));
        }
    }

    #[test]
    fn names_addresses_and_ports_are_hosts() {
        for host in [
            &b""[..],
            b"example.com",
            b"example.com:8080",
            b"example.com:",
            b"EXAMPLE.com",
            b"127.0.0.1",
            b"127.0.0.1:80",
            b"[::1]",
            b"[::1]:443",
            b"[2001:db8::7]",
            b"[v1.fe80::a+en1]",
            b"xn--nxasmq6b.example",
            b"a%2Fb",
            b"a_b-c~d",
            b"sub!$&'()*+,;=delims",
        ] {
            assert!(is_valid_host(host), "{:?}", String::from_utf8_lossy(host));
        }
    }

    #[test]
    fn what_no_uri_can_carry_is_not_a_host() {
        for host in [
            &b"a b"[..],
            b"a\"b",
            b"user@example.com",
            b"example.com@evil",
            b"example.com:80x",
            b"example.com:80:81",
            b"example.com/path",
            b"example.com?q",
            b"a#b",
            b"a%2",
            b"a%zz",
            b"[::1",
            b"[]",
            b"[::1]x",
            b"[::1]:8x",
            b"[::1 ]",
            b"a\\b",
            b"<a>",
            b"\x7f",
            b"caf\xc3\xa9",
        ] {
            assert!(!is_valid_host(host), "{:?}", String::from_utf8_lossy(host));
        }
    }
}
