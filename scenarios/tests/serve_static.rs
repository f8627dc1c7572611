//! `twine serve --app static DIR` over real sockets on 127.0.0.1: the conditional and range
//! requests of RFC 9110 as real clients use them. curl resumes a cut download with `-C -`
//! (a `Range` request, answered 206) and revalidates with `-z FILE` (`If-Modified-Since`) and
//! `--etag-compare` (`If-None-Match`), getting a 304; raw sockets pin the exact bytes of 206,
//! 416 and 304 and check that the connection stays usable after each. The disk reads of the
//! real server run on tokio's blocking pool, so every body here also tests that path.
//!
//! curl tests are skipped, with a note on stderr, when `curl` is not on PATH (CI installs it).
//! Every socket read is bounded by `common::IO_TIMEOUT`.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::curl::{curl, have_curl, megabyte, url};
use common::{Client, Server};

/// A scratch directory removed on drop: `served/` is the root, the rest is the client's.
struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "twine-static-{}-{name}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("served")).unwrap();
        Tree(dir)
    }

    /// Writes `served/<name>` and sets its modification time.
    fn serve(&self, name: &str, contents: &[u8], modified: SystemTime) -> PathBuf {
        let path = self.0.join("served").join(name);
        std::fs::write(&path, contents).unwrap();
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        path
    }

    fn root(&self) -> String {
        self.0.join("served").to_str().unwrap().to_owned()
    }

    /// A path for the client's own files, outside the root.
    fn local(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_owned()
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `Tue, 14 Nov 2023 22:13:20 GMT`.
fn a_day() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn start(tree: &Tree) -> Server {
    Server::start(&["--app", "static", &tree.root()])
}

/// curl's status code for a request, its body written to `out`.
fn curl_status(args: &[&str], out: &str, target: &str) -> String {
    let mut full = args.to_vec();
    full.extend_from_slice(&["-o", out, "-w", "%{http_code}", target]);
    String::from_utf8(curl(&full).stdout).unwrap()
}

fn read(path: impl AsRef<Path>) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// `curl -C -` continues a file cut at 300,000 bytes with `Range: bytes=300000-`; the server
/// answers 206 with the rest only, and the result is the source byte for byte.
#[test]
fn curl_resumes_a_partial_download() {
    if !have_curl() {
        return;
    }
    let tree = Tree::new("resume");
    let source = megabyte();
    tree.serve("big.bin", &source, a_day());
    let server = start(&tree);
    let partial = tree.local("big.part");
    std::fs::write(&partial, &source[..300_000]).unwrap();
    let status = curl_status(&["-C", "-"], &partial, &url(&server, "/big.bin"));
    assert_eq!(status, "206");
    assert!(
        read(&partial) == source,
        "the resumed file differs from the source"
    );
    // Complete already: curl asks for `bytes=1000000-`, the server says 416, and curl
    // takes that as "nothing left" without touching the file.
    let status = curl_status(&["-C", "-"], &partial, &url(&server, "/big.bin"));
    assert_eq!(status, "416");
    assert!(read(&partial) == source);
}

/// `curl -R` keeps the server's `Last-Modified` as the local file's time; `curl -z` sends it
/// back as `If-Modified-Since` and gets a 304 until the file changes on the server.
#[test]
fn curl_revalidates_by_date_and_gets_304() {
    if !have_curl() {
        return;
    }
    let tree = Tree::new("revalidate");
    let served = tree.serve("page.html", b"<p>one</p>\n", a_day());
    let server = start(&tree);
    let target = url(&server, "/page.html");
    let local = tree.local("page.html");
    assert_eq!(curl_status(&["-R"], &local, &target), "200");
    let fresh = tree.local("fresh.html");
    assert_eq!(curl_status(&["-z", &local], &fresh, &target), "304");
    assert!(!Path::new(&fresh).exists(), "a 304 has no body to write");
    std::fs::write(&served, b"<p>two</p>\n").unwrap();
    let later = a_day() + Duration::from_secs(60);
    File::options()
        .write(true)
        .open(&served)
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert_eq!(curl_status(&["-z", &local], &fresh, &target), "200");
    assert_eq!(read(&fresh), b"<p>two</p>\n");
}

/// `--etag-save` keeps the strong `ETag`; `--etag-compare` sends it as `If-None-Match`.
#[test]
fn curl_revalidates_by_etag_and_gets_304() {
    if !have_curl() {
        return;
    }
    let tree = Tree::new("etag");
    tree.serve("a.txt", b"alpha\n", a_day());
    let server = start(&tree);
    let target = url(&server, "/a.txt");
    let etag = tree.local("etag");
    let out = tree.local("a.txt");
    assert_eq!(curl_status(&["--etag-save", &etag], &out, &target), "200");
    let saved = String::from_utf8(read(&etag)).unwrap();
    assert!(saved.trim().starts_with("\"6-"), "{saved:?}");
    assert_eq!(
        curl_status(&["--etag-compare", &etag], &out, &target),
        "304"
    );
}

/// The bytes on the wire: one connection, a 206, a 416, a 304 and a HEAD, each framed so
/// that the next response is read right after it.
#[test]
fn ranges_and_304_on_the_wire() {
    let tree = Tree::new("wire");
    tree.serve("ten.txt", b"0123456789", a_day());
    let server = start(&tree);
    let mut c = server.connect();
    let ask = |c: &mut Client, method: &str, fields: &str| {
        c.send(format!(
            "{method} /ten.txt HTTP/1.1\r\nHost: a\r\n{fields}\r\n"
        ));
        c.read_response_to(method)
    };

    let r = ask(&mut c, "GET", "Range: bytes=2-5\r\n");
    assert_eq!(r.status, 206, "{}", r.head);
    assert_eq!(r.header("Content-Range"), Some("bytes 2-5/10"));
    assert_eq!(r.header("Content-Length"), Some("4"));
    assert_eq!(r.body, b"2345");
    let etag = r.header("ETag").expect("an ETag").to_owned();

    let r = ask(&mut c, "GET", "Range: bytes=-3\r\n");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (206, &b"789"[..]),
        "{}",
        r.head
    );

    let r = ask(&mut c, "GET", "Range: bytes=10-\r\n");
    assert_eq!(r.status, 416, "{}", r.head);
    assert_eq!(r.header("Content-Range"), Some("bytes */10"));

    let r = ask(&mut c, "GET", &format!("If-None-Match: {etag}\r\n"));
    assert_eq!(r.status, 304, "{}", r.head);
    assert_eq!(r.header("ETag"), Some(etag.as_str()));
    assert_eq!(
        r.header("Last-Modified"),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );
    assert_eq!(r.header("Content-Length"), None, "{}", r.head);
    assert_eq!(r.header("Transfer-Encoding"), None, "{}", r.head);

    let r = ask(&mut c, "HEAD", "");
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(r.header("Content-Length"), Some("10"));
    assert_eq!(r.header("Accept-Ranges"), Some("bytes"));

    // A stale If-Range sends the whole file.
    let r = ask(&mut c, "GET", "Range: bytes=2-5\r\nIf-Range: \"stale\"\r\n");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"0123456789"[..]),
        "{}",
        r.head
    );
}

/// Several connections read large files at once: every body arrives whole through the
/// blocking pool, none waits for another's reads.
#[test]
fn concurrent_downloads_arrive_whole() {
    let tree = Tree::new("concurrent");
    let source: Vec<u8> = megabyte().repeat(4);
    tree.serve("big.bin", &source, a_day());
    let server = start(&tree);
    let addr = server.addr;
    let readers: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = Client::connect(addr);
                let range = if i % 2 == 0 {
                    ""
                } else {
                    "Range: bytes=1000-\r\n"
                };
                c.send(format!("GET /big.bin HTTP/1.1\r\nHost: a\r\n{range}\r\n"));
                (i, c.read_response())
            })
        })
        .collect();
    for reader in readers {
        let (i, r) = reader.join().unwrap();
        let expected = if i % 2 == 0 {
            &source[..]
        } else {
            &source[1000..]
        };
        assert!(r.body == expected, "download {i}: {} differs", r.head);
    }
}
