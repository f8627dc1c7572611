//! Head rewriting, compared with literal field lists.

use std::net::SocketAddr;

use bytes::Bytes;

use super::{forward_request, forward_response, ProxyConfig};
use crate::message::{BodyLength, Headers, Method, RequestHead, ResponseHead, Version};
use crate::ConnectionInfo;

fn from(peer: &str) -> ConnectionInfo {
    ConnectionInfo {
        peer: peer.parse::<SocketAddr>().unwrap(),
        local: "10.0.0.1:8080".parse().unwrap(),
        secure: false,
    }
}

fn head(
    target: &'static str,
    version: Version,
    fields: &[(&'static str, &'static str)],
) -> RequestHead {
    let mut headers = Headers::new();
    for &(name, value) in fields {
        headers.append(name, value);
    }
    RequestHead {
        method: Method::new("POST"),
        target: Bytes::from_static(target.as_bytes()),
        version,
        headers,
        body: BodyLength::Chunked,
        expect_continue: false,
    }
}

fn fields(headers: &Headers) -> Vec<String> {
    headers.iter().map(|h| format!("{h:?}")).collect()
}

#[test]
fn hop_by_hop_fields_and_framing_do_not_cross_and_forwarding_fields_are_added() {
    // The request of Twisted's proxy bug (notes/twisted.md §4): everything hop-by-hop went
    // through, and a decoded body was still labelled chunked.
    let request = head(
        "/x?q=1",
        Version::Http11,
        &[
            ("Host", "example.com:8080"),
            ("Transfer-Encoding", "chunked"),
            ("Connection", "keep-alive, Foo"),
            ("Foo", "bar"),
            ("X-M", "2"),
            ("TE", "trailers"),
            ("Upgrade", "h2c"),
            ("Keep-Alive", "300"),
            ("Proxy-Connection", "keep-alive"),
            ("Trailer", "X-T"),
            ("X-Forwarded-For", "192.0.2.1"),
            ("X-Forwarded-Proto", "https"),
        ],
    );
    let config = ProxyConfig::new("upstream:9000");
    let out = forward_request(&request, &from("203.0.113.7:5555"), &config).unwrap();
    assert_eq!(out.target, "/x?q=1");
    assert_eq!(out.version, Version::Http11);
    assert_eq!(out.body, BodyLength::Chunked);
    assert_eq!(
        fields(&out.headers),
        [
            "Host: example.com:8080",
            "X-M: 2",
            "Via: 1.1 twine",
            "Forwarded: for=203.0.113.7;host=\"example.com:8080\";proto=http",
            "X-Forwarded-For: 192.0.2.1, 203.0.113.7",
            "X-Forwarded-Proto: http",
        ]
    );
}

#[test]
fn host_is_rewritten_on_request_and_added_for_http_1_0() {
    let config = ProxyConfig::new("127.0.0.1:1234").with_rewrite_host(true);
    let request = head(
        "/",
        Version::Http11,
        &[("Host", "front"), ("Content-Length", "3")],
    );
    let out = forward_request(&request, &from("[2001:db8::1]:80"), &config).unwrap();
    assert_eq!(
        fields(&out.headers),
        [
            "Host: 127.0.0.1:1234",
            "Via: 1.1 twine",
            "Forwarded: for=\"[2001:db8::1]\";host=\"front\";proto=http",
            "X-Forwarded-For: 2001:db8::1",
            "X-Forwarded-Proto: http",
        ]
    );
    let old = head("/", Version::Http10, &[]);
    let out = forward_request(&old, &from("192.0.2.9:1"), &ProxyConfig::new("up")).unwrap();
    assert_eq!(fields(&out.headers)[..2], ["Host: up", "Via: 1.0 twine"]);
}

#[test]
fn targets_go_under_the_prefix_and_absolute_form_becomes_origin_form() {
    // Twisted's ReverseProxyResource case 50: /index → /path, /index/page1 → /path/page1.
    let config = ProxyConfig::new("up").with_path_prefix("/path/");
    let cases = [
        ("/", Some("/path/")),
        ("/page1", Some("/path/page1")),
        ("/?foo=bar", Some("/path/?foo=bar")),
        ("http://example.com", Some("/path/")),
        ("http://example.com:1234/foo/bar", Some("/path/foo/bar")),
        ("http://example.com?x", Some("/path/?x")),
        ("*", Some("*")),
        ("HTTPS://example.com/x", Some("/path/x")),
        // Not forwarded: authority-form, other schemes, a scheme inside a relative target,
        // userinfo, and dot segments that would leave the prefix.
        ("example.com:443", None),
        ("ftp://example.com/x", None),
        ("foo?u=http://x/admin", None),
        ("http://user@example.com/", None),
        ("/../admin", None),
        ("/a/%2E%2e/admin", None),
        ("/a/./b?x=/../", None),
    ];
    for (target, expected) in cases {
        let request = head(target, Version::Http11, &[("Host", "h")]);
        let out = forward_request(&request, &from("192.0.2.9:1"), &config);
        assert_eq!(
            out.map(|o| String::from_utf8(o.target.to_vec()).unwrap())
                .as_deref(),
            expected,
            "{target}"
        );
    }
}

#[test]
fn response_hop_by_hop_fields_are_dropped_and_the_length_kept_only_as_framing() {
    let mut upstream = ResponseHead::new(404).with_header("Server", "origin");
    upstream.reason = Some(Bytes::from_static(b"Nope"));
    for (name, value) in [
        ("Connection", "keep-alive, X-Hop"),
        ("Keep-Alive", "timeout=5"),
        ("X-Hop", "1"),
        ("Content-Length", "4"),
        ("Foo", "bar"),
        ("Foo", "baz"),
    ] {
        upstream.headers.append(name, value);
    }
    let config = ProxyConfig::new("up");
    let out = forward_response(&upstream, BodyLength::Known(4), Version::Http11, &config);
    assert_eq!(out.status, 404);
    assert_eq!(out.reason.as_deref(), Some(&b"Nope"[..]));
    assert_eq!(
        fields(&out.headers),
        [
            "Server: origin",
            "Content-Length: 4",
            "Foo: bar",
            "Foo: baz",
            "Via: 1.1 twine"
        ]
    );
    let chunked = forward_response(&upstream, BodyLength::Chunked, Version::Http10, &config);
    assert!(!chunked.headers.contains("content-length"));
    assert_eq!(chunked.headers.get("via").unwrap(), "1.0 twine");
}

#[test]
fn an_absolute_form_target_names_the_host_upstream() {
    // RFC 9112 §3.2.2: the target's authority wins over the client's Host field.
    let request = head(
        "http://good.example/a?b",
        Version::Http11,
        &[("Host", "evil.example")],
    );
    let out = forward_request(&request, &from("192.0.2.9:1"), &ProxyConfig::new("up")).unwrap();
    assert_eq!(out.target, "/a?b");
    assert_eq!(
        fields(&out.headers)[..3],
        [
            "Host: good.example",
            "Via: 1.1 twine",
            "Forwarded: for=192.0.2.9;host=\"good.example\";proto=http",
        ]
    );
    // Without a prefix a dot segment is the origin's business.
    let dots = head("/a/../b", Version::Http11, &[("Host", "h")]);
    let out = forward_request(&dots, &from("192.0.2.9:1"), &ProxyConfig::new("up")).unwrap();
    assert_eq!(out.target, "/a/../b");
}
