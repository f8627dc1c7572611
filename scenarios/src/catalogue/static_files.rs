//! The static app on the simulated network: the same app code as `twine serve --app static`,
//! over a fixed in-memory tree (`MemoryFileSystem`: no disk, no clock, so a run is a function of
//! its seed). web2's `checkPreconditions` and `writeFile`: validators, 304 by entity tag and by
//! date, single byte ranges (206, 416, `If-Range`), HEAD, directories served by their
//! `index.html`, and a range of a large file under a slow reader, paused and resumed.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use twine_apps::{MemoryFileSystem, StaticFiles};
use twine_driver::App;
use twine_engine::ProducerState;
use twine_sim::pattern::producer;
use twine_sim::{ClientScript, Scenario};

use super::expect::{all, bodies, clean_eof, in_order, received_in_order, statuses};
use super::{quick_config, slow_reader, Entry};

const FAMILY: &str = "static_files";

/// When every file of the tree was last modified: 1699990000 s after the epoch, 10 000 s before
/// the simulation's `Date` origin.
const MODIFIED_SECS: u64 = 1_699_990_000;

/// `MODIFIED_SECS` as the `Last-Modified` header says it.
const MODIFIED: &str = "Tue, 14 Nov 2023 19:26:40 GMT";

/// The page at `/` and `/index.html` (64 bytes).
const INDEX: &[u8] = b"<!doctype html><title>twine</title><p>served from memory</p>\n\n\n\n";

/// `/notes.txt`: 26 letters, 10 digits.
const NOTES: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// The strong entity tag of a file of `len` bytes modified at `MODIFIED_SECS`: its length
/// and modification time in nanoseconds, in hex (the static app's rule).
fn etag(len: usize) -> String {
    format!(
        "\"{len:x}-{:x}\"",
        u128::from(MODIFIED_SECS) * 1_000_000_000
    )
}

/// `/large.bin`: 256 KiB of a repeating pattern.
fn large() -> &'static Bytes {
    static LARGE: OnceLock<Bytes> = OnceLock::new();
    LARGE.get_or_init(|| (0..256 * 1024).map(|i: u32| (i % 251) as u8).collect())
}

fn tree() -> MemoryFileSystem {
    let modified = SystemTime::UNIX_EPOCH + Duration::from_secs(MODIFIED_SECS);
    MemoryFileSystem::new()
        .with_file("index.html", INDEX, modified)
        .with_file("notes.txt", NOTES, modified)
        .with_file("large.bin", large().clone(), modified)
        .with_file("docs/index.html", &b"docs\n"[..], modified)
}

/// A scenario serving the tree.
fn files(name: &str) -> Scenario {
    let app: twine_sim::AppFactory =
        std::rc::Rc::new(|| -> Box<dyn App> { Box::new(StaticFiles::with_file_system(tree())) });
    Scenario::new(name, quick_config(), app)
}

/// One request (its head's extra fields in `fields`) on one connection that closes.
fn one(name: &str, target: &str, fields: &str) -> Scenario {
    let mut s = files(name);
    let request = format!("GET {target} HTTP/1.1\r\nHost: h\r\n{fields}Connection: close\r\n\r\n");
    s.clients.push(ClientScript::new().send(request));
    s
}

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "validators_on_a_whole_file",
        about: "a 200 carries `ETag` (strong), `Last-Modified`, `Accept-Ranges: bytes` and a content type by extension",
        seed: 1,
        build: |_| one("static_files/validators_on_a_whole_file", "/notes.txt", ""),
        expect: |o| {
            let etag = format!("ETag: {}\r\n", etag(NOTES.len()));
            let modified = format!("Last-Modified: {MODIFIED}\r\n");
            all([
                statuses(o, 0, &[200]),
                bodies(o, 0, &[Some(NOTES)]),
                received_in_order(o, 0, &[b"Content-Type: text/plain; charset=utf-8\r\n", b"Accept-Ranges: bytes\r\n", etag.as_bytes(), modified.as_bytes()]),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "directory_serves_its_index",
        about: "`/` and `/docs/` are answered with their `index.html`, typed `text/html`",
        seed: 1,
        build: |_| {
            let mut s = files("static_files/directory_serves_its_index");
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /docs/ HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200]), bodies(o, 0, &[Some(INDEX), Some(b"docs\n")]), received_in_order(o, 0, &[b"Content-Type: text/html; charset=utf-8\r\n"]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "absolute_form_targets_by_their_path",
        about: "absolute-form targets (RFC 9112 §3.2.2) are served by their path: `http://h?page=1` names `/` (a query right after the authority), `http://h/docs/?x` names `/docs/`",
        seed: 1,
        build: |_| {
            let mut s = files("static_files/absolute_form_targets_by_their_path");
            s.clients.push(ClientScript::new().send("GET http://h?page=1 HTTP/1.1\r\nHost: h\r\n\r\nGET http://h/docs/?x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200]), bodies(o, 0, &[Some(INDEX), Some(b"docs\n")]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "range_forms",
        about: "`bytes=a-b`, `bytes=a-` and `bytes=-n` each get a 206 with its `Content-Range` and only those bytes, on one keep-alive connection",
        seed: 1,
        build: |_| {
            let mut s = files("static_files/range_forms");
            s.clients.push(ClientScript::new().send(
                "GET /notes.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=10-19\r\n\r\n\
                 GET /notes.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=30-\r\n\r\n\
                 GET /notes.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=-3\r\nConnection: close\r\n\r\n",
            ));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[206, 206, 206]),
                bodies(o, 0, &[Some(b"klmnopqrst"), Some(b"456789"), Some(b"789")]),
                received_in_order(o, 0, &[b"Content-Range: bytes 10-19/36\r\n", b"Content-Range: bytes 30-35/36\r\n", b"Content-Range: bytes 33-35/36\r\n"]),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "range_edges",
        about: "ranges at the file's edges are satisfiable (RFC 9110 §14.1.2): its last byte alone (`bytes=35-`), its first (`bytes=0-0`), a last position past the end (`bytes=34-99`, cut to 34-35) and a suffix longer than the file (`bytes=-99`, the whole 36 bytes): each a 206 with its `Content-Range`",
        seed: 1,
        build: |_| {
            let mut s = files("static_files/range_edges");
            s.clients.push(ClientScript::new().send(
                "GET /notes.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=35-\r\n\r\n\
                 GET /notes.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-0\r\n\r\n\
                 GET /notes.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=34-99\r\n\r\n\
                 GET /notes.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=-99\r\nConnection: close\r\n\r\n",
            ));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[206, 206, 206, 206]),
                bodies(o, 0, &[Some(b"9"), Some(b"a"), Some(b"89"), Some(NOTES)]),
                received_in_order(o, 0, &[b"Content-Range: bytes 35-35/36\r\n", b"Content-Range: bytes 0-0/36\r\n", b"Content-Range: bytes 34-35/36\r\n", b"Content-Range: bytes 0-35/36\r\n"]),
                clean_eof(o, 0),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "unsatisfiable_range_gets_416",
        about: "a range starting past the end gets 416 with `Content-Range: bytes */36`, and the connection lives on",
        seed: 1,
        build: |_| {
            let mut s = files("static_files/unsatisfiable_range_gets_416");
            s.clients.push(ClientScript::new().send(
                "GET /notes.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=36-\r\n\r\n\
                 GET /notes.txt HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            ));
            s
        },
        expect: |o| all([statuses(o, 0, &[416, 200]), bodies(o, 0, &[Some(b"range not satisfiable\n"), Some(NOTES)]), received_in_order(o, 0, &[b"Content-Range: bytes */36\r\n"]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "not_modified_by_etag",
        about: "`If-None-Match` with the file's tag (weakly compared: `W/` matches too) gets a 304 with the validators and no body",
        seed: 1,
        build: |_| {
            let tag = etag(NOTES.len());
            let mut s = files("static_files/not_modified_by_etag");
            s.clients.push(ClientScript::new().send(format!(
                "GET /notes.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"nope\", {tag}\r\n\r\n\
                 GET /notes.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: W/{tag}\r\nConnection: close\r\n\r\n"
            )));
            s
        },
        expect: |o| {
            let etag = format!("ETag: {}\r\n", etag(NOTES.len()));
            all([statuses(o, 0, &[304, 304]), bodies(o, 0, &[Some(b""), Some(b"")]), received_in_order(o, 0, &[etag.as_bytes(), etag.as_bytes()]), clean_eof(o, 0)])
        },
    },
    Entry {
        family: FAMILY,
        name: "not_modified_by_date",
        about: "`If-Modified-Since` at or after `Last-Modified` gets a 304; before it, the file; `If-None-Match` wins over it",
        seed: 1,
        build: |_| {
            let mut s = files("static_files/not_modified_by_date");
            s.clients.push(ClientScript::new().send(format!(
                "GET /notes.txt HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: {MODIFIED}\r\n\r\n\
                 GET /notes.txt HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: Tue, 14 Nov 2023 19:26:39 GMT\r\n\r\n\
                 GET /notes.txt HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"other\"\r\nIf-Modified-Since: {MODIFIED}\r\nConnection: close\r\n\r\n"
            )));
            s
        },
        expect: |o| all([statuses(o, 0, &[304, 200, 200]), bodies(o, 0, &[Some(b""), Some(NOTES), Some(NOTES)]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "if_range_decides_between_part_and_whole",
        about: "`If-Range` with the current tag gets the 206; with a stale tag, the whole file (a resumed download never mixes two versions)",
        seed: 1,
        build: |_| {
            let tag = etag(NOTES.len());
            let mut s = files("static_files/if_range_decides_between_part_and_whole");
            s.clients.push(ClientScript::new().send(format!(
                "GET /notes.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=26-\r\nIf-Range: {tag}\r\n\r\n\
                 GET /notes.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=26-\r\nIf-Range: \"stale\"\r\nConnection: close\r\n\r\n"
            )));
            s
        },
        expect: |o| all([statuses(o, 0, &[206, 200]), bodies(o, 0, &[Some(b"0123456789"), Some(NOTES)]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "head_is_get_without_a_body",
        about: "HEAD gets the headers a GET gets (length, type, validators) and no body; a range is ignored for it",
        seed: 1,
        build: |_| {
            let mut s = files("static_files/head_is_get_without_a_body");
            s.clients.push(ClientScript::new().send(
                "HEAD /notes.txt HTTP/1.1\r\nHost: h\r\nRange: bytes=0-1\r\n\r\n\
                 GET /notes.txt HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            ));
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200]), bodies(o, 0, &[Some(b""), Some(NOTES)]), received_in_order(o, 0, &[b"Content-Length: 36\r\n", b"Accept-Ranges: bytes\r\n", b"Content-Length: 36\r\n"]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "refusals",
        about: "a missing file gets 404, a `..` segment 404 (never a path above the root), a POST 405; each a complete answer on a connection that lives on",
        seed: 1,
        build: |_| {
            let mut s = files("static_files/refusals");
            s.clients.push(ClientScript::new().send(
                "GET /missing.txt HTTP/1.1\r\nHost: h\r\n\r\n\
                 GET /docs/../../notes.txt HTTP/1.1\r\nHost: h\r\n\r\n\
                 POST /notes.txt HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            ));
            s
        },
        expect: |o| all([statuses(o, 0, &[404, 404, 405]), clean_eof(o, 0)]),
    },
    Entry {
        family: FAMILY,
        name: "range_of_a_large_file_under_a_slow_reader",
        about: "100 000 bytes from the middle of a 256 KiB file to a reader with a 4 KiB window: the producer pauses and resumes, exactly those bytes arrive",
        seed: 1,
        build: |_| {
            let mut s = one("static_files/range_of_a_large_file_under_a_slow_reader", "/large.bin", "Range: bytes=100000-199999\r\n");
            s.faults = slow_reader(4096, 2048);
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[206]),
                bodies(o, 0, &[Some(&large()[100_000..200_000])]),
                received_in_order(o, 0, &[b"Content-Range: bytes 100000-199999/262144\r\n"]),
                in_order(o, &[producer(0, ProducerState::Producing), producer(0, ProducerState::Paused), producer(0, ProducerState::Producing), producer(0, ProducerState::Stopped)]),
                clean_eof(o, 0),
            ])
        },
    },
];
