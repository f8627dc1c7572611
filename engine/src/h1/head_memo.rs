//! What a connection's response heads repeat, worked out once rather than per response
//! (DESIGN.md §8):
//!
//! - the end of a head: our `Date` and `Server` fields and the blank line, formatted once a
//!   second (the `Date` value's) and copied whole when the app set neither field;
//! - the app's field list when it is a `static` one ([`Headers::from_static`]): checked and
//!   written once, then its facts reused and its bytes copied;
//! - the last whole head written from that list with that end (status line, fields, the
//!   channel's framing and `Connection` fields, the end): copied whole while the status, the
//!   added fields and the second stay the same (a keep-alive connection's usual case).
//!
//! Invariant: a memo answers exactly what working it out again would. A static list cannot
//! change: a `&'static` slice is immutable for the rest of the program, and so is what its
//! fields' `Bytes` hold (a `Bytes` never changes the bytes it shows; a buffer a `Bytes` still
//! shares is never handed back for writing). So where a static list is, and its length, stand
//! for what it holds.
//!
//! Empty until the first response (then the memo, its end and a static list's bytes are
//! allocated once each), given back while the connection is idle ([`HeadMemo::release`]).

use bytes::BytesMut;

use super::head_writer::{
    check_fields, check_framing_for_status, check_status_line, write_app_fields,
    write_response_head, AddedHeaders, AppHead, ConnectionHeader,
};
use crate::date::{format_date, unix_second, DATE_LEN};
use crate::error::UsageError;
use crate::message::{Headers, ResponseHead, StaticList};
use crate::time::Instant;

/// A connection's memo of its response heads. See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct HeadMemo(Option<Box<Memo>>);

#[derive(Debug)]
struct Memo {
    /// The second of the `Date` in `end` ([`NO_DATE`] without one).
    second: u64,
    /// `Date: <value>\r\n` when there is a date, `Server: <name>\r\n` when there is a name,
    /// then `\r\n`; empty until formatted.
    end: Vec<u8>,
    /// The static field list checked last.
    fields: Option<StaticFields>,
    /// The last whole head written from `fields` and `end`; gone when either changes.
    head: Option<WholeHead>,
}

/// A whole response head, and what it was written for.
#[derive(Debug)]
struct WholeHead {
    key: HeadKey,
    bytes: Vec<u8>,
}

/// What a head written from the static list and the end depends on besides them: its status
/// (its reason phrase the standard one) and the fields the channel adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct HeadKey {
    list: StaticList,
    status: u16,
    content_length: Option<u64>,
    chunked: bool,
    connection: ConnectionHeader,
}

/// A static field list, checked and written.
#[derive(Debug)]
struct StaticFields {
    list: StaticList,
    /// What its fields say, whatever the status.
    app: AppHead,
    /// Its fields as [`write_app_fields`] writes them.
    written: BytesMut,
}

/// The key of an end without `Date`: no second a date can stand for is this large.
const NO_DATE: u64 = u64::MAX;

/// Where the value starts in `Date: <value>`.
const DATE_AT: usize = b"Date: ".len();

/// A connection's response-head end for now ([`HeadMemo::get`]): what the tests compare
/// the heads the memo writes with.
#[cfg(test)]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ending<'a> {
    /// The `Date` value, if a wall-clock origin is configured.
    pub(crate) date: Option<&'a [u8]>,
    /// Our `Date` and `Server` fields and the blank line.
    pub(crate) end: &'a [u8],
    /// The app's fields as written, when they are the static list checked last.
    pub(crate) app_fields: Option<&'a [u8]>,
}

impl HeadMemo {
    /// Checks a final or informational head before anything of it is written, as
    /// [`super::head_writer::check_response_head`] does; a static field list only the first
    /// time it comes (and again after the connection was idle).
    pub(crate) fn check(&mut self, head: &ResponseHead) -> Result<AppHead, UsageError> {
        check_status_line(head)?;
        let app = match head.headers.static_list() {
            None => check_fields(&head.headers)?,
            Some(list) => self.check_static(list, &head.headers)?,
        };
        check_framing_for_status(app, head.status)
    }

    fn check_static(&mut self, list: StaticList, headers: &Headers) -> Result<AppHead, UsageError> {
        let memo = self.memo();
        if let Some(fields) = memo.fields.as_ref().filter(|f| f.list == list) {
            return Ok(fields.app);
        }
        let app = check_fields(headers)?;
        let mut written = BytesMut::new();
        write_app_fields(&mut written, headers);
        memo.fields = Some(StaticFields { list, app, written });
        memo.head = None;
        Ok(app)
    }

    /// Writes a checked final head into `out` as [`write_response_head`] would with `added`
    /// completed from the memo: the `Date` value, our end when `uses_end` (the app set neither
    /// `Date` nor `Server`), the static list's fields as written. `origin_unix_millis` (the
    /// wall clock at `Instant::ZERO`) and `added.server` are the connection's configuration.
    /// A head from the static list checked last, with the standard reason and our end, is
    /// kept whole and copied while nothing it depends on changes.
    pub(crate) fn write_head(
        &mut self,
        out: &mut BytesMut,
        head: &ResponseHead,
        added: AddedHeaders<'_>,
        uses_end: bool,
        origin_unix_millis: Option<u64>,
        now: Instant,
    ) {
        let second = origin_unix_millis.map_or(NO_DATE, |origin| unix_second(origin, now));
        let memo = self.memo();
        memo.format_end(second, added.server);
        let Memo {
            end,
            fields,
            head: whole,
            ..
        } = memo;
        let list = head.headers.static_list();
        let app_fields = (fields.as_ref())
            .filter(|fields| Some(fields.list) == list)
            .map(|fields| &fields.written[..]);
        let key = list
            .filter(|_| uses_end && app_fields.is_some() && head.reason.is_none())
            .map(|list| HeadKey {
                list,
                status: head.status,
                content_length: added.content_length,
                chunked: added.chunked,
                connection: added.connection,
            });
        if let (Some(key), Some(kept)) = (key, whole.as_ref()) {
            if kept.key == key {
                out.extend_from_slice(&kept.bytes);
                return;
            }
        }
        let added = AddedHeaders {
            date: (second != NO_DATE).then(|| &end[DATE_AT..DATE_AT + DATE_LEN]),
            end: uses_end.then_some(&end[..]),
            app_fields,
            ..added
        };
        let start = out.len();
        write_response_head(out, head, added);
        if let Some(key) = key {
            let bytes = out[start..].to_vec();
            *whole = Some(WholeHead { key, bytes });
        }
    }

    /// The `Date` value for `now` (with a wall-clock origin, milliseconds since the Unix epoch
    /// at `Instant::ZERO`), for the heads the channel writes itself (its error responses);
    /// `server` as [`HeadMemo::write_head`] has it. Both are the same on every call: they are
    /// a connection's configuration.
    pub(crate) fn date(
        &mut self,
        origin_unix_millis: Option<u64>,
        now: Instant,
        server: Option<&str>,
    ) -> Option<&[u8]> {
        let second = origin_unix_millis.map_or(NO_DATE, |origin| unix_second(origin, now));
        let memo = self.memo();
        memo.format_end(second, server);
        (second != NO_DATE).then(|| &memo.end[DATE_AT..DATE_AT + DATE_LEN])
    }

    /// The end for `now` and `headers` as written, if they are the static list checked last.
    #[cfg(test)]
    pub(crate) fn get(
        &mut self,
        origin_unix_millis: Option<u64>,
        now: Instant,
        server: Option<&str>,
        headers: &Headers,
    ) -> Ending<'_> {
        let second = origin_unix_millis.map_or(NO_DATE, |origin| unix_second(origin, now));
        let memo = self.memo();
        memo.format_end(second, server);
        let list = headers.static_list();
        let app_fields = (memo.fields.as_ref())
            .filter(|fields| Some(fields.list) == list)
            .map(|fields| &fields.written[..]);
        Ending {
            date: (second != NO_DATE).then(|| &memo.end[DATE_AT..DATE_AT + DATE_LEN]),
            end: &memo.end,
            app_fields,
        }
    }

    /// Gives the memory back; the next head works everything out again.
    pub(crate) fn release(&mut self) {
        self.0 = None;
    }

    fn memo(&mut self) -> &mut Memo {
        self.0.get_or_insert_with(|| {
            Box::new(Memo {
                second: NO_DATE,
                end: Vec::new(),
                fields: None,
                head: None,
            })
        })
    }
}

impl Memo {
    /// Formats the end for `second` unless it is formatted already; a whole head kept with
    /// the old end goes.
    fn format_end(&mut self, second: u64, server: Option<&str>) {
        if !self.end.is_empty() && self.second == second {
            return;
        }
        self.end.clear();
        if second != NO_DATE {
            self.end.extend_from_slice(b"Date: ");
            self.end.extend_from_slice(&format_date(second));
            self.end.extend_from_slice(b"\r\n");
        }
        if let Some(server) = server {
            self.end.extend_from_slice(b"Server: ");
            self.end.extend_from_slice(server.as_bytes());
            self.end.extend_from_slice(b"\r\n");
        }
        self.end.extend_from_slice(b"\r\n");
        self.second = second;
        self.head = None;
    }
}

#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};

    use super::*;
    use crate::h1::head_writer::{
        check_response_head, write_response_head, AddedHeaders, ConnectionHeader,
    };
    use crate::message::Header;
    use crate::time::Duration;

    static PLAIN: [Header; 3] = [
        Header::from_static("Content-Type", "text/plain"),
        Header::from_static("Connection", "close"),
        Header::from_static("Content-Length", "12"),
    ];

    static BAD: [Header; 1] = [Header::from_static("Foo", "a\r\nb")];

    /// A head written by the memo (`write_head`, as the channel writes it), and written field
    /// by field with a fresh memo's `Date`.
    fn both_ways(memo: &mut HeadMemo, head: &ResponseHead, origin: Option<u64>) -> [Bytes; 2] {
        let server = Some("twine");
        let added = AddedHeaders {
            content_length: None,
            chunked: false,
            connection: ConnectionHeader::Close,
            date: None,
            server,
            end: None,
            app_fields: None,
        };
        let mut memoised = BytesMut::new();
        memo.write_head(&mut memoised, head, added, true, origin, Instant::ZERO);
        let date = HeadMemo::default()
            .date(origin, Instant::ZERO, server)
            .map(<[u8]>::to_vec);
        let added = AddedHeaders {
            date: date.as_deref(),
            ..added
        };
        let mut field_by_field = BytesMut::new();
        write_response_head(&mut field_by_field, head, added);
        [memoised.freeze(), field_by_field.freeze()]
    }

    #[test]
    fn a_static_list_is_checked_once_and_written_as_its_fields() {
        let mut memo = HeadMemo::default();
        let head = ResponseHead {
            headers: Headers::from_static(&PLAIN),
            ..ResponseHead::new(200)
        };
        let checked = check_response_head(&head);
        assert_eq!(memo.check(&head), checked);
        assert!(checked.as_ref().is_ok_and(|app| app.wants_close));
        let [memoised, field_by_field] = both_ways(&mut memo, &head, Some(7_000));
        assert_eq!(memoised, field_by_field);
        assert_eq!(
            &memoised[..],
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\
              Connection: close\r\nDate: Thu, 01 Jan 1970 00:00:07 GMT\r\n\
              Server: twine\r\n\r\n"
        );
        // Known now: the same list again, the memo's facts and the whole head's bytes.
        assert!(memo
            .0
            .as_ref()
            .is_some_and(|m| m.fields.is_some() && m.head.is_some()));
        assert_eq!(memo.check(&head), checked);
        let [again, _] = both_ways(&mut memo, &head, Some(7_000));
        assert_eq!(again, memoised);
        // The status still counts: a Content-Length on a 204 is refused, list known or not.
        let no_content = ResponseHead {
            status: 204,
            ..head.clone()
        };
        assert_eq!(memo.check(&no_content), Err(UsageError::FramingHeader));
    }

    #[test]
    fn an_owned_or_changed_list_is_checked_every_time() {
        let mut memo = HeadMemo::default();
        let known = ResponseHead {
            headers: Headers::from_static(&PLAIN),
            ..ResponseHead::new(200)
        };
        assert!(memo.check(&known).is_ok());
        // The same fields, owned; then the static list with a field added (copied, owned).
        let mut owned = Headers::new();
        for field in &PLAIN {
            owned.append(field.name.clone(), field.value.clone());
        }
        let mut changed = Headers::from_static(&PLAIN);
        changed.append("Foo", "a\nb");
        for headers in [owned, changed] {
            assert_eq!(headers.static_list(), None);
            let head = ResponseHead {
                headers,
                ..ResponseHead::new(200)
            };
            assert_eq!(memo.check(&head), check_response_head(&head));
            let ending = memo.get(None, Instant::ZERO, None, &head.headers);
            assert_eq!(ending.app_fields, None);
        }
        // A bad static list is refused, and every time.
        let bad = ResponseHead {
            headers: Headers::from_static(&BAD),
            ..ResponseHead::new(200)
        };
        for _ in 0..2 {
            assert_eq!(memo.check(&bad), Err(UsageError::InvalidHeader));
        }
        // A prefix of a known list is another list.
        let prefix = Headers::from_static(&PLAIN[..1]);
        assert_ne!(
            prefix.static_list(),
            Headers::from_static(&PLAIN).static_list()
        );
        let ending = memo.get(None, Instant::ZERO, None, &prefix);
        assert_eq!(ending.app_fields, None);
    }

    #[test]
    fn the_formatted_end_is_the_fields_it_stands_for_and_follows_the_second() {
        // 1970-01-01T00:00:07Z, and the next second.
        let (origin, now) = (Some(7_000), Instant::ZERO);
        let next = Instant::ZERO + crate::time::Duration::from_millis(1_000);
        let head = ResponseHead::new(200).with_header("Yo", "One");
        let none = Headers::new();
        let mut end = HeadMemo::default();
        for (origin, server) in [
            (origin, Some("twine")),
            (None, Some("twine")),
            (origin, None),
            (None, None),
        ] {
            let mut fresh = HeadMemo::default();
            let ending = fresh.get(origin, now, server, &none);
            let added = AddedHeaders {
                content_length: Some(3),
                chunked: false,
                connection: ConnectionHeader::Omit,
                date: ending.date,
                server,
                end: None,
                app_fields: None,
            };
            let mut field_by_field = BytesMut::new();
            write_response_head(&mut field_by_field, &head, added);
            let mut formatted = BytesMut::new();
            let end = Some(ending.end);
            write_response_head(&mut formatted, &head, AddedHeaders { end, ..added });
            assert_eq!(formatted, field_by_field);
        }
        assert_eq!(end.get(None, now, None, &none).end, b"\r\n");
        let ending = end.get(origin, now, Some("s"), &none);
        assert_eq!(ending.date, Some(&b"Thu, 01 Jan 1970 00:00:07 GMT"[..]));
        assert_eq!(
            ending.end,
            b"Date: Thu, 01 Jan 1970 00:00:07 GMT\r\nServer: s\r\n\r\n"
        );
        assert_eq!(
            end.get(origin, next, Some("s"), &none).end,
            b"Date: Thu, 01 Jan 1970 00:00:08 GMT\r\nServer: s\r\n\r\n"
        );
        end.release();
        let ending = end.get(None, next, Some("s"), &none);
        assert_eq!((ending.date, ending.end), (None, &b"Server: s\r\n\r\n"[..]));
    }

    /// Names and values, valid and not, framing and persistence among them.
    const NAMES: [&str; 8] = [
        "Content-Type",
        "Content-Length",
        "connection",
        "Date",
        "Server",
        "Transfer-Encoding",
        "X-Custom",
        "Bad Name",
    ];
    const VALUES: [&str; 7] = [
        "text/plain",
        "12",
        "close",
        "keep-alive",
        "",
        "a\r\nb",
        "1x",
    ];

    proptest::proptest! {
        /// For any static list, and any status, the memo's check says what a fresh check
        /// says, the first time and every time after; and the fields it writes are the ones
        /// written field by field.
        #[test]
        fn the_memo_answers_as_working_it_out_again(
            fields in proptest::collection::vec((0..NAMES.len(), 0..VALUES.len()), 0..5),
            statuses in proptest::collection::vec(
                proptest::sample::select(&[200u16, 204, 304, 404, 103][..]),
                1..4,
            ),
        ) {
            let list: Vec<Header> = fields
                .iter()
                .map(|&(n, v)| Header::from_static(NAMES[n], VALUES[v]))
                .collect();
            // A list that lives as long as the program, as a `static` one does.
            let list: &'static [Header] = Vec::leak(list);
            let mut memo = HeadMemo::default();
            for status in statuses {
                let head = ResponseHead {
                    headers: Headers::from_static(list),
                    ..ResponseHead::new(status)
                };
                let checked = memo.check(&head);
                proptest::prop_assert_eq!(checked, check_response_head(&head));
                let ending = memo.get(None, Instant::ZERO, None, &head.headers);
                let mut written = BytesMut::new();
                write_app_fields(&mut written, &head.headers);
                if checked.is_ok() {
                    proptest::prop_assert_eq!(ending.app_fields, Some(&written[..]));
                } else {
                    // Only a list that passed is kept.
                    proptest::prop_assert!(
                        ending.app_fields.is_none() || status == 204 || status == 103
                    );
                }
            }
        }
    }

    static OTHER: [Header; 1] = [Header::from_static("Content-Type", "text/html")];

    proptest::proptest! {
        /// Whatever sequence of heads a connection writes, each is written exactly as
        /// field-by-field writing with the same end would write it, whether the memo copies a
        /// kept whole head or not: the status, the reason, the added fields, the list, the
        /// end's use and the second all count.
        #[test]
        fn a_kept_whole_head_is_the_head_written_afresh(
            // Each head: which list, status, a reason of its own, the added fields, whether
            // our end is used, the second. Few values each, so that heads often repeat all
            // but one thing.
            turns in proptest::collection::vec(
                (
                    proptest::bool::weighted(0.7),
                    proptest::sample::select(&[200u16, 404][..]),
                    proptest::bool::weighted(0.2),
                    proptest::sample::select(&[None, Some(2u64)][..]),
                    proptest::bool::weighted(0.2),
                    0u8..3,
                    proptest::bool::weighted(0.8),
                    0u64..2,
                ),
                1..16,
            ),
        ) {
            let mut memo = HeadMemo::default();
            for (plain, status, reason, content_length, chunked, connection, uses_end, second)
                in turns
            {
                let list: &'static [Header] = if plain { &PLAIN[..] } else { &OTHER[..] };
                let head = ResponseHead {
                    headers: Headers::from_static(list),
                    reason: reason.then(|| Bytes::from_static(b"Fine")),
                    ..ResponseHead::new(status)
                };
                proptest::prop_assert!(memo.check(&head).is_ok());
                let connection = [
                    ConnectionHeader::Omit,
                    ConnectionHeader::KeepAlive,
                    ConnectionHeader::Close,
                ][usize::from(connection)];
                let added = AddedHeaders {
                    content_length,
                    chunked,
                    connection,
                    date: None,
                    server: Some("twine"),
                    end: None,
                    app_fields: None,
                };
                let (origin, now) = (Some(7_000), Instant::ZERO + Duration::from_secs(second));
                let mut memoised = BytesMut::new();
                memo.write_head(&mut memoised, &head, added, uses_end, origin, now);
                // Afresh: a new memo's end and date, every field written one by one.
                let mut fresh = HeadMemo::default();
                let ending = fresh.get(origin, now, Some("twine"), &Headers::new());
                let afresh = AddedHeaders {
                    date: ending.date,
                    end: uses_end.then_some(ending.end),
                    ..added
                };
                let mut field_by_field = BytesMut::new();
                write_response_head(&mut field_by_field, &head, afresh);
                proptest::prop_assert_eq!(memoised, field_by_field);
            }
        }
    }
}
