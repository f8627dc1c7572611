//! Header fields: an ordered list of name/value pairs that keeps the original case.
//!
//! A list is either the program's own (fields fixed at compile time: [`Headers::from_static`],
//! nothing to allocate, copy or free per message) or owned; the first change to a static list
//! copies it.

use std::borrow::Cow;

use bytes::Bytes;

/// One header field.
#[derive(Clone, PartialEq, Eq)]
pub struct Header {
    /// The name, in its original case.
    pub name: Bytes,
    /// The value, without leading or trailing whitespace.
    pub value: Bytes,
}

impl std::fmt::Debug for Header {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            String::from_utf8_lossy(&self.name),
            String::from_utf8_lossy(&self.value)
        )
    }
}

impl Header {
    /// A field from static text: no allocation, usable in a `static` list for
    /// [`Headers::from_static`]. What it holds is checked when it is written, as any field is.
    pub const fn from_static(name: &'static str, value: &'static str) -> Header {
        Header {
            name: Bytes::from_static(name.as_bytes()),
            value: Bytes::from_static(value.as_bytes()),
        }
    }
}

/// Where a static field list is and how long: what it holds, for the rest of the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StaticList {
    at: usize,
    len: usize,
}

/// Header fields in order. Lookups compare names ASCII-case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    fields: Cow<'static, [Header]>,
}

impl Headers {
    /// No fields.
    pub const fn new() -> Headers {
        Headers {
            fields: Cow::Borrowed(&[]),
        }
    }

    /// Room for `n` fields.
    pub fn with_capacity(n: usize) -> Headers {
        Headers {
            fields: Cow::Owned(Vec::with_capacity(n)),
        }
    }

    /// The fields of a `static` list, borrowed: making, cloning and dropping these headers
    /// allocates and frees nothing (an app that answers every request with the same fields
    /// pays nothing for them). The first change copies them.
    ///
    /// ```
    /// use twine_engine::{Header, Headers};
    ///
    /// static PLAIN_TEXT: [Header; 1] = [Header::from_static("Content-Type", "text/plain")];
    /// let mut headers = Headers::from_static(&PLAIN_TEXT);
    /// headers.append("Cache-Control", "no-store");
    /// assert_eq!(headers.len(), 2);
    /// assert_eq!(PLAIN_TEXT.len(), 1);
    /// ```
    pub const fn from_static(fields: &'static [Header]) -> Headers {
        Headers {
            fields: Cow::Borrowed(fields),
        }
    }

    /// Which static list these headers are, if they are one unchanged
    /// ([`Headers::from_static`]): where it is and how long. A `&'static` list can never
    /// change, so this stands for what it holds (a connection checks and writes it once).
    pub(crate) fn static_list(&self) -> Option<StaticList> {
        match &self.fields {
            Cow::Borrowed(fields) => Some(StaticList {
                at: fields.as_ptr() as usize,
                len: fields.len(),
            }),
            Cow::Owned(_) => None,
        }
    }

    /// Appends a field.
    pub fn append(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) {
        self.fields.to_mut().push(Header {
            name: name.into(),
            value: value.into(),
        });
    }

    /// Replaces the value of the field at `index` (in order), keeping its name and place.
    pub(crate) fn set_value_at(&mut self, index: usize, value: Bytes) {
        self.fields.to_mut()[index].value = value;
    }

    /// With a field appended (builder style).
    pub fn with(mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Headers {
        self.append(name, value);
        self
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.fields
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|h| &h.value)
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Bytes> + 'a {
        self.fields
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|h| &h.value)
    }

    /// Whether a field `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Removes every field `name`.
    pub fn remove(&mut self, name: &str) {
        let named = |h: &Header| h.name.eq_ignore_ascii_case(name.as_bytes());
        if self.fields.iter().any(named) {
            self.fields.to_mut().retain(|h| !named(h));
        }
    }

    /// Whether the comma-separated token list in the `name` fields contains `token`
    /// (ASCII-case-insensitive, RFC 9110 §5.6.1). `Connection: keep-alive, close` contains
    /// `close`; Twisted's split on spaces did not see `close,TE`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name).any(|value| {
            value
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    }

    /// The fields in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.fields.iter()
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// The fields of a list, owned, in its order.
impl From<Vec<Header>> for Headers {
    fn from(fields: Vec<Header>) -> Headers {
        Headers {
            fields: Cow::Owned(fields),
        }
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter()
    }
}

/// Whether `bytes` is a token (RFC 9110 §5.6.2): one or more tchars. Eight bytes are looked up
/// per test, not one: a field name is nearly always a token, so a branch per byte is spent.
pub fn is_token(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let all_words = words.all(|word| {
        word.iter()
            .fold(true, |all, &b| all & TCHAR[usize::from(b)])
    });
    let rest = words.remainder();
    !bytes.is_empty() && all_words && rest.iter().all(|&b| TCHAR[usize::from(b)])
}

/// Whether `b` is a `tchar` (one table load).
pub(crate) fn is_tchar_byte(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// `is_tchar` as a table: one load per byte on the per-request path.
static TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_tchar(b as u8);
        b += 1;
    }
    table
};

/// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|"
/// / "~" / DIGIT / ALPHA`.
const fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_'
        | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_ignore_case_and_keep_order() {
        let h = Headers::new()
            .with("X-A", "1")
            .with("x-a", "2")
            .with("Other", "3");
        assert_eq!(h.get("x-A").unwrap(), "1");
        assert_eq!(h.get_all("X-a").collect::<Vec<_>>(), ["1", "2"]);
        assert!(!h.contains("missing"));
    }

    #[test]
    fn token_lists_are_comma_separated() {
        let h = Headers::new()
            .with("Connection", "keep-alive,  Close ")
            .with("Connection", "TE");
        assert!(h.has_token("connection", "close"));
        assert!(h.has_token("connection", "te"));
        assert!(!h.has_token("connection", "upgrade"));
        // Twisted split on spaces and so missed `close` here (notes/twisted.md 1.6).
        assert!(Headers::new()
            .with("Connection", "close,TE")
            .has_token("connection", "close"));
    }

    #[test]
    fn tokens() {
        assert!(is_token(b"GET"));
        assert!(is_token(b"x-custom~1"));
        assert!(!is_token(b""));
        assert!(!is_token(b"GE T"));
        assert!(!is_token(b"GE\xc2\xa9"));
        assert!(!is_token(b"a:b"));
        // A flaw in a whole word of eight, and in the tail after one.
        assert!(is_token(b"Content-Length"));
        assert!(!is_token(b"Conte t-Length"));
        assert!(!is_token(b"Content-Len th"));
    }

    proptest::proptest! {
        /// The eight-at-a-time lookup says what the byte-by-byte definition says, for names
        /// of every length, mostly tokens with a stray byte here and there.
        #[test]
        fn the_word_lookup_agrees_with_the_definition(
            name in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => proptest::sample::select(b"aZ09-_~!".to_vec()),
                    1 => proptest::num::u8::ANY,
                ],
                0..40,
            )
        ) {
            let defined = !name.is_empty() && name.iter().all(|&b| is_tchar(b));
            proptest::prop_assert_eq!(is_token(&name), defined);
        }
    }

    static LIST: [Header; 3] = [
        Header::from_static("A", "1"),
        Header::from_static("b", "2"),
        Header::from_static("a", "3"),
    ];

    /// A change to headers: append a field or remove every field of a name.
    #[derive(Clone, Debug)]
    enum Change {
        Append(&'static str, &'static str),
        Remove(&'static str),
    }

    fn change() -> impl proptest::strategy::Strategy<Value = Change> {
        use proptest::prelude::*;
        let name = prop::sample::select(&["a", "B", "c"][..]);
        prop_oneof![
            (name.clone(), prop::sample::select(&["x", "y"][..]))
                .prop_map(|(n, v)| Change::Append(n, v)),
            name.prop_map(Change::Remove),
        ]
    }

    proptest::proptest! {
        /// Headers borrowed from a static list behave as an owned copy of it under any
        /// changes; the list itself never changes, and they stay the static list only while
        /// nothing changed them (a removal of a name they lack changes nothing).
        #[test]
        fn a_static_list_changes_as_an_owned_copy(
            changes in proptest::collection::vec(change(), 0..6),
        ) {
            let mut borrowed = Headers::from_static(&LIST);
            let mut owned = Headers::new();
            for field in &LIST {
                owned.append(field.name.clone(), field.value.clone());
            }
            let list = borrowed.static_list();
            let mut changed = false;
            for change in changes {
                match change {
                    Change::Append(name, value) => {
                        borrowed.append(name, value);
                        owned.append(name, value);
                        changed = true;
                    }
                    Change::Remove(name) => {
                        changed |= borrowed.contains(name);
                        borrowed.remove(name);
                        owned.remove(name);
                    }
                }
                proptest::prop_assert_eq!(&borrowed, &owned);
                proptest::prop_assert_eq!(borrowed.static_list(), list.filter(|_| !changed));
            }
            proptest::prop_assert_eq!(LIST[0].value.as_ref(), b"1");
            proptest::prop_assert_eq!(LIST.len(), 3);
        }
    }
}
