//! Goal: a decoded header list becomes the `RequestHead` an HTTP/1.1 app knows, and each
//! malformation of RFC 9113 §8.1.1-8.3 is refused with its reason. Method: literal lists.

use bytes::Bytes;

use crate::h2::request::{request_head, Malformed};
use crate::message::{BodyLength, Version};

fn list(fields: &[(&'static str, &'static str)]) -> Vec<(Bytes, Bytes)> {
    fields
        .iter()
        .map(|(n, v)| {
            (
                Bytes::from_static(n.as_bytes()),
                Bytes::from_static(v.as_bytes()),
            )
        })
        .collect()
}

const GET: [(&str, &str); 4] = [
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/a?b"),
    (":authority", "example.com"),
];

#[test]
fn a_get_becomes_a_request_head() {
    let mut fields = GET.to_vec();
    fields.push(("accept", "*/*"));
    let head = request_head(list(&fields), true).unwrap();
    assert_eq!(head.method.as_bytes(), b"GET");
    assert_eq!(&head.target[..], b"/a?b");
    assert_eq!(head.version, Version::Http2);
    assert_eq!(head.body, BodyLength::Known(0));
    let fields: Vec<(&[u8], &[u8])> = head
        .headers
        .iter()
        .map(|f| (&f.name[..], &f.value[..]))
        .collect();
    assert_eq!(
        fields,
        [(&b"accept"[..], &b"*/*"[..]), (b"host", b"example.com")]
    );
}

#[test]
fn cookie_crumbs_become_one_field_where_the_first_stood() {
    let fields_of = |extra: &[(&'static str, &'static str)]| {
        let mut fields = GET.to_vec();
        fields.extend_from_slice(extra);
        let head = request_head(list(&fields), true).unwrap();
        let pairs: Vec<(Bytes, Bytes)> = head
            .headers
            .iter()
            .map(|f| (f.name.clone(), f.value.clone()))
            .collect();
        pairs
    };
    let crumbs = [
        ("cookie", "a=1"),
        ("accept", "*/*"),
        ("cookie", "b=2"),
        ("cookie", "c=3"),
    ];
    assert_eq!(
        fields_of(&crumbs),
        list(&[
            ("cookie", "a=1; b=2; c=3"),
            ("accept", "*/*"),
            ("host", "example.com")
        ])
    );
    // One cookie field is left as it is.
    assert_eq!(
        fields_of(&[("cookie", "a=1; b=2")]),
        list(&[("cookie", "a=1; b=2"), ("host", "example.com")])
    );
}

#[test]
fn the_body_length_comes_from_content_length_or_is_unknown() {
    let mut fields = GET.to_vec();
    fields.push(("content-length", "5"));
    assert_eq!(
        request_head(list(&fields), false).unwrap().body,
        BodyLength::Known(5)
    );
    assert_eq!(
        request_head(list(&GET), false).unwrap().body,
        BodyLength::Chunked
    );
    let mut expect = GET.to_vec();
    expect.push(("expect", "100-continue"));
    assert!(request_head(list(&expect), false).unwrap().expect_continue);
}

#[test]
fn connect_needs_only_method_and_authority() {
    let connect = [(":method", "CONNECT"), (":authority", "example.com:443")];
    let head = request_head(list(&connect), false).unwrap();
    assert_eq!(&head.target[..], b"example.com:443");
    let with_path = [
        (":method", "CONNECT"),
        (":authority", "a:1"),
        (":path", "/"),
    ];
    assert_eq!(
        request_head(list(&with_path), false),
        Err(Malformed::BadPseudo)
    );
}

#[test]
fn malformed_lists_are_refused_with_their_reason() {
    use Malformed::*;
    let cases: Vec<(Vec<(&str, &str)>, Malformed)> = vec![
        (
            vec![
                (":method", "GET"),
                ("a", "1"),
                (":path", "/"),
                (":scheme", "h"),
            ],
            PseudoAfterRegular,
        ),
        (
            vec![
                (":method", "GET"),
                (":method", "GET"),
                (":path", "/"),
                (":scheme", "h"),
            ],
            BadPseudo,
        ),
        (
            vec![
                (":method", "GET"),
                (":status", "200"),
                (":path", "/"),
                (":scheme", "h"),
            ],
            BadPseudo,
        ),
        (vec![(":method", "GET"), (":scheme", "h")], MissingPseudo),
        (vec![(":method", "GET"), (":path", "/")], MissingPseudo),
        (
            vec![(":method", "GET"), (":scheme", "h"), (":path", "")],
            MissingPseudo,
        ),
        (
            vec![
                (":method", "GET"),
                (":scheme", "h"),
                (":path", "/"),
                ("Upper", "1"),
            ],
            BadName,
        ),
        (
            vec![
                (":method", "GET"),
                (":scheme", "h"),
                (":path", "/"),
                ("a b", "1"),
            ],
            BadName,
        ),
        (
            vec![
                (":method", "GET"),
                (":scheme", "h"),
                (":path", "/"),
                ("a", " 1"),
            ],
            BadValue,
        ),
        (
            vec![
                (":method", "GET"),
                (":scheme", "h"),
                (":path", "/"),
                ("a", "1\r\n"),
            ],
            BadValue,
        ),
        (
            vec![
                (":method", "GET"),
                (":scheme", "h"),
                (":path", "/"),
                ("connection", "close"),
            ],
            ConnectionSpecific,
        ),
        (
            vec![
                (":method", "GET"),
                (":scheme", "h"),
                (":path", "/"),
                ("transfer-encoding", "chunked"),
            ],
            ConnectionSpecific,
        ),
        (
            vec![
                (":method", "GET"),
                (":scheme", "h"),
                (":path", "/"),
                ("te", "gzip"),
            ],
            ConnectionSpecific,
        ),
        (
            vec![
                (":method", "GET"),
                (":scheme", "h"),
                (":path", "/"),
                ("content-length", "x"),
            ],
            BadContentLength,
        ),
        (
            vec![
                (":method", "GET"),
                (":scheme", "h"),
                (":path", "/"),
                ("content-length", "1"),
                ("content-length", "2"),
            ],
            BadContentLength,
        ),
    ];
    for (fields, reason) in cases {
        assert_eq!(
            request_head(list(&fields), false),
            Err(reason),
            "{fields:?}"
        );
    }
    // TE: trailers is the one TE allowed.
    let mut trailers = GET.to_vec();
    trailers.push(("te", "trailers"));
    assert!(request_head(list(&trailers), false).is_ok());
}

#[test]
fn hosts_are_checked_and_agree() {
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut fields = GET.to_vec();
        fields.extend_from_slice(extra);
        request_head(list(&fields), true).map(|head| head.headers.get("host").cloned())
    };
    let example = Some(Bytes::from_static(b"example.com"));
    assert_eq!(with(&[]), Ok(example.clone()));
    assert_eq!(
        with(&[("host", "EXAMPLE.com")]).map(|h| h.is_some()),
        Ok(true)
    );
    assert_eq!(with(&[("host", "other.example")]), Err(Malformed::BadHost));
    assert_eq!(
        with(&[("host", "example.com"), ("host", "example.com")]),
        Err(Malformed::BadHost)
    );
    let userinfo = [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "u@h"),
    ];
    assert_eq!(request_head(list(&userinfo), true), Err(Malformed::BadHost));
    let host_only = [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        ("host", "a b"),
    ];
    assert_eq!(
        request_head(list(&host_only), true),
        Err(Malformed::BadHost)
    );
    let valid_host_only = [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/"),
        ("host", "h:80"),
    ];
    assert!(request_head(list(&valid_host_only), true).is_ok());
}
