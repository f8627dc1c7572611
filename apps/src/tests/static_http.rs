//! The HTTP rules of the static app, over the memory tree so that every modification time is
//! pinned: validators on every 200, `304` by `If-None-Match` and `If-Modified-Since` (and which
//! wins), `412` by `If-Match` and `If-Unmodified-Since`, each form of `Range`, `416`, `If-Range`
//! matching or not, `HEAD`, and the requests whose `Range` is ignored. Each test drives the
//! app with hand-made events through the harness of `static_files.rs`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;

/// `Tue, 14 Nov 2023 22:13:20 GMT`, plus some nanoseconds that the date drops.
fn modified() -> SystemTime {
    UNIX_EPOCH + Duration::new(1_700_000_000, 250)
}

const LAST_MODIFIED: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
const EARLIER: &str = "Tue, 14 Nov 2023 22:13:19 GMT";
const LATER: &str = "Tue, 14 Nov 2023 22:13:21 GMT";
/// Length 10, the modification time in nanoseconds, both in hex.
const ETAG: &str = "\"a-17979cfe362a00fa\"";
const TEN: &[u8] = b"0123456789";

fn app() -> StaticFiles<MemoryFileSystem> {
    let files = MemoryFileSystem::new()
        .with_file("ten.txt", TEN, modified())
        .with_file("empty.txt", "", modified())
        .with_file("big.bin", pattern(3 * CHUNK_BYTES), modified())
        .with_file("docs/index.html", "<p>docs</p>", modified())
        .with_file("bare/x.txt", "x", modified());
    StaticFiles::with_file_system(files)
}

fn get(app: &mut StaticFiles<MemoryFileSystem>, target: &str, fields: &[(&str, &str)]) -> Response {
    request(app, "GET", target, fields)
}

fn request(
    app: &mut StaticFiles<MemoryFileSystem>,
    method: &str,
    target: &str,
    fields: &[(&str, &str)],
) -> Response {
    let mut headers = Headers::new();
    for &(name, value) in fields {
        headers.append(name.to_owned(), value.to_owned());
    }
    fetch_with(app, method, target, headers)
}

fn assert_not_modified(response: &Response) {
    assert_eq!(response.status, 304);
    assert_eq!(response.header("ETag"), ETAG);
    assert_eq!(response.header("Last-Modified"), LAST_MODIFIED);
    for absent in ["Content-Length", "Content-Type", "Content-Range"] {
        assert!(
            response.headers.get(absent).is_none(),
            "a 304 with {absent}"
        );
    }
    assert!(response.body.is_empty() && !response.producer && response.finished);
}

fn assert_whole(response: &Response) {
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Length"), "10");
    assert!(response.headers.get("Content-Range").is_none());
    assert_eq!(response.body, TEN);
}

fn assert_partial(response: &Response, content_range: &str, body: &[u8]) {
    assert_eq!(response.status, 206, "{content_range}");
    assert_eq!(response.header("Content-Range"), content_range);
    assert_eq!(response.header("Content-Length"), body.len().to_string());
    assert_eq!(response.header("ETag"), ETAG);
    assert_eq!(response.body, body, "{content_range}");
}

#[test]
fn a_200_carries_its_validators() {
    let response = get(&mut app(), "/ten.txt", &[]);
    assert_whole(&response);
    assert_eq!(response.header("Content-Type"), "text/plain; charset=utf-8");
    assert_eq!(response.header("ETag"), ETAG);
    assert_eq!(response.header("Last-Modified"), LAST_MODIFIED);
    assert_eq!(response.header("Accept-Ranges"), "bytes");
}

#[test]
fn if_none_match_gives_304_on_a_weak_match() {
    let mut app = app();
    for value in [
        ETAG.to_owned(),
        format!("W/{ETAG}"),
        format!("\"other\", {ETAG}"),
        "*".to_owned(),
    ] {
        assert_not_modified(&get(&mut app, "/ten.txt", &[("If-None-Match", &value)]));
        let head = request(&mut app, "HEAD", "/ten.txt", &[("If-None-Match", &value)]);
        assert_not_modified(&head);
    }
    for value in ["\"other\"", "W/\"a-0\"", "not a tag", ""] {
        assert_whole(&get(&mut app, "/ten.txt", &[("If-None-Match", value)]));
    }
}

#[test]
fn if_modified_since_gives_304_unless_modified_after() {
    let mut app = app();
    let rfc_850 = "Tuesday, 14-Nov-23 22:13:20 GMT";
    let asctime = "Tue Nov 14 22:13:20 2023";
    for date in [LAST_MODIFIED, LATER, rfc_850, asctime] {
        assert_not_modified(&get(&mut app, "/ten.txt", &[("If-Modified-Since", date)]));
    }
    for date in [EARLIER, "yesterday", ""] {
        assert_whole(&get(&mut app, "/ten.txt", &[("If-Modified-Since", date)]));
    }
}

/// RFC 9110 §13.1.3: with `If-None-Match`, `If-Modified-Since` is not looked at.
#[test]
fn if_none_match_wins_over_if_modified_since() {
    let mut app = app();
    let stale_tag = [("If-None-Match", "\"other\""), ("If-Modified-Since", LATER)];
    assert_whole(&get(&mut app, "/ten.txt", &stale_tag));
    let current_tag = [("If-None-Match", ETAG), ("If-Modified-Since", EARLIER)];
    assert_not_modified(&get(&mut app, "/ten.txt", &current_tag));
}

#[test]
fn if_match_and_if_unmodified_since_give_412() {
    let mut app = app();
    let weak = format!("W/{ETAG}");
    for fields in [
        [("If-Match", "\"other\"")],
        [("If-Match", weak.as_str())],
        [("If-Unmodified-Since", EARLIER)],
    ] {
        assert_eq!(get(&mut app, "/ten.txt", &fields).status, 412, "{fields:?}");
    }
    for fields in [
        [("If-Match", ETAG)],
        [("If-Match", "*")],
        [("If-Unmodified-Since", LAST_MODIFIED)],
    ] {
        assert_whole(&get(&mut app, "/ten.txt", &fields));
    }
    // `If-Match` holding makes `If-Unmodified-Since` irrelevant (§13.2.2 step 2).
    let both = [("If-Match", ETAG), ("If-Unmodified-Since", EARLIER)];
    assert_whole(&get(&mut app, "/ten.txt", &both));
}

#[test]
fn each_range_form_gives_206() {
    let mut app = app();
    let cases: [(&str, &str, &[u8]); 6] = [
        ("bytes=2-5", "bytes 2-5/10", b"2345"),
        ("bytes=7-", "bytes 7-9/10", b"789"),
        ("bytes=-3", "bytes 7-9/10", b"789"),
        ("bytes=0-0", "bytes 0-0/10", b"0"),
        ("bytes=8-1000", "bytes 8-9/10", b"89"),
        ("bytes=-1000", "bytes 0-9/10", TEN),
    ];
    for (range, content_range, body) in cases {
        let response = get(&mut app, "/ten.txt", &[("Range", range)]);
        assert_partial(&response, content_range, body);
    }
}

/// Only the asked bytes are read, across chunk boundaries, starting at the offset.
#[test]
fn a_range_of_a_large_file_reads_only_its_bytes() {
    let mut app = app();
    let first = CHUNK_BYTES - 3;
    let last = 2 * CHUNK_BYTES + 5;
    let range = format!("bytes={first}-{last}");
    let response = get(&mut app, "/big.bin", &[("Range", &range)]);
    let expected = &pattern(3 * CHUNK_BYTES)[first..=last];
    assert_eq!(response.status, 206);
    let content_range = format!("bytes {first}-{last}/{}", 3 * CHUNK_BYTES);
    assert_eq!(response.header("Content-Range"), content_range);
    assert!(response.body == expected, "range body differs");
    assert!(response.chunks.iter().all(|&n| n <= CHUNK_BYTES));
    assert!(app.bodies.is_empty());
}

#[test]
fn a_range_past_the_end_gives_416() {
    let mut app = app();
    for range in [
        "bytes=10-",
        "bytes=10-20",
        "bytes=-0",
        "bytes=99999999999999999999-",
    ] {
        let response = get(&mut app, "/ten.txt", &[("Range", range)]);
        assert_eq!(response.status, 416, "{range}");
        assert_eq!(response.header("Content-Range"), "bytes */10");
        assert_eq!(
            response.header("Content-Length"),
            response.body.len().to_string()
        );
    }
}

#[test]
fn ignored_ranges_give_the_whole_file() {
    let mut app = app();
    for range in [
        "bytes=0-1,4-5",
        "bytes=5-2",
        "bytes=x",
        "items=0-1",
        "bytes 0-1",
    ] {
        assert_whole(&get(&mut app, "/ten.txt", &[("Range", range)]));
    }
    // An empty file: no `Content-Range` can describe a part of it.
    let empty = get(&mut app, "/empty.txt", &[("Range", "bytes=0-")]);
    assert_eq!(empty.status, 200);
    assert_eq!(empty.header("Content-Length"), "0");
}

#[test]
fn if_range_allows_the_range_only_on_a_strong_match() {
    let mut app = app();
    let weak = format!("W/{ETAG}");
    for if_range in [ETAG, LAST_MODIFIED] {
        let fields = [("Range", "bytes=2-5"), ("If-Range", if_range)];
        assert_partial(&get(&mut app, "/ten.txt", &fields), "bytes 2-5/10", b"2345");
    }
    for if_range in ["\"other\"", weak.as_str(), EARLIER, LATER, "garbage", "*"] {
        let fields = [("Range", "bytes=2-5"), ("If-Range", if_range)];
        assert_whole(&get(&mut app, "/ten.txt", &fields));
    }
    // Without `Range`, `If-Range` means nothing.
    assert_whole(&get(&mut app, "/ten.txt", &[("If-Range", "\"other\"")]));
}

/// `HEAD` has the headers of `GET` and no body; range handling is for `GET` only.
#[test]
fn head_is_get_without_the_body() {
    let mut app = app();
    let response = start(&mut app, 0, "HEAD", "/ten.txt");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Length"), "10");
    assert_eq!(response.header("ETag"), ETAG);
    assert_eq!(response.header("Accept-Ranges"), "bytes");
    assert!(response.body.is_empty() && response.finished && !response.producer);
    let ranged = request(&mut app, "HEAD", "/ten.txt", &[("Range", "bytes=2-5")]);
    assert_eq!(ranged.status, 200);
    assert_eq!(ranged.header("Content-Length"), "10");
    assert!(ranged.body.is_empty());
    assert!(app.bodies.is_empty());
}

#[test]
fn directories_serve_their_index_or_404() {
    let mut app = app();
    for target in ["/docs", "/docs/", "/docs/index.html"] {
        let response = get(&mut app, target, &[]);
        assert_eq!(response.body, b"<p>docs</p>", "{target}");
        assert_eq!(response.header("Content-Type"), "text/html; charset=utf-8");
    }
    for target in [
        "/bare/",
        "/",
        "/missing",
        "/ten.txt/x",
        "/../ten.txt",
        "/do",
    ] {
        assert_refused(&mut app, target, 404);
    }
}

/// Clones share the tree; a clone of the file system taken before a change keeps its tree.
#[test]
fn memory_trees_are_copied_on_write() {
    let before = MemoryFileSystem::new().with_file("a.txt", "a", modified());
    let mut after = before.clone();
    after.insert("a.txt", "changed", modified());
    let mut old = StaticFiles::with_file_system(before);
    let mut new = StaticFiles::with_file_system(after);
    assert_eq!(get(&mut old, "/a.txt", &[]).body, b"a");
    assert_eq!(get(&mut new, "/a.txt", &[]).body, b"changed");
}

#[test]
#[should_panic(expected = "must be relative and plain")]
fn memory_paths_must_be_plain() {
    let _ = MemoryFileSystem::new().with_file("../up.txt", "x", modified());
}

/// The driver runs the app over the memory tree as the simulation will: a 206 through a small
/// pipe (so the producer pauses and resumes), then a 304 on the same connection.
#[test]
fn the_driver_serves_the_memory_tree() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let received = runtime.block_on(async {
        let (mut client, server) = tokio::io::duplex(16 * 1024);
        let clock = twine_driver::Clock::start();
        let channel = twine_engine::AutoConnection::new(twine_engine::Config::new(), clock.now());
        let mut app = app();
        let (options, mut observer) = (twine_driver::RunOptions::default(), ());
        let serving =
            twine_driver::run_connection(server, channel, &mut app, clock, &mut observer, options);
        // `move`: the client hangs up once it has read to the end, which is what the server's
        // lingering close waits for.
        let talking = async move {
            let requests = "GET /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=100-150099\r\n\r\n\
                GET /ten.txt HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\nConnection: close\r\n\r\n";
            client.write_all(requests.as_bytes()).await.unwrap();
            let mut received = Vec::new();
            client.read_to_end(&mut received).await.unwrap();
            received
        };
        let both = async { tokio::join!(serving, talking).1 };
        tokio::time::timeout(Duration::from_secs(10), both)
            .await
            .expect("the connection ends")
    });
    let head_end = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&received[..head_end]);
    assert!(head.starts_with("HTTP/1.1 206 "), "{head}");
    assert!(
        head.contains("\r\nContent-Range: bytes 100-150099/196608\r\n"),
        "{head}"
    );
    let body = &received[head_end..head_end + 150_000];
    assert!(
        body == &pattern(3 * CHUNK_BYTES)[100..150_100],
        "range body differs"
    );
    let rest = String::from_utf8_lossy(&received[head_end + 150_000..]);
    assert!(rest.starts_with("HTTP/1.1 304 "), "{rest}");
    assert!(
        rest.ends_with("\r\n\r\n") && !rest.contains("Content-Length"),
        "{rest}"
    );
}
