//! `twine serve --record DIR` and `twine replay --recording FILE` end to end (DESIGN.md §7): a
//! real connection's client bytes, their timing and its FIN are kept when it closes, and the
//! replay runs them through the simulation with the same app and flags, the same answers on
//! the same requests. Real sockets on 127.0.0.1, the real binary.

mod common;

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use common::{run_twine, Server};

/// A directory of its own under the system's temporary one, emptied first.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("twine-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Waits (bounded) for `path` to exist: a recording is written when its connection closes.
fn wait_for(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        thread::sleep(Duration::from_millis(10));
    }
    panic!("{} was never written", path.display());
}

#[test]
fn a_recorded_connection_replays_in_the_simulation() {
    let dir = fresh_dir("record");
    let dir_arg = dir.to_str().expect("a UTF-8 temporary path");
    let server = Server::start(&["--app", "echo", "--record", dir_arg]);
    let mut client = server.connect();
    client.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(client.read_response().status, 200);
    // A body cut in two, 40 ms apart, then the client's FIN.
    client.send("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab");
    thread::sleep(Duration::from_millis(40));
    client.send("cde");
    client.shutdown_write();
    let answer = client.read_response();
    assert_eq!((answer.status, &answer.body[..]), (200, &b"abcde"[..]));
    client.expect_eof();

    let path = dir.join(format!("conn-{}-0.twinerec", server.pid()));
    let text = wait_for(&path);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..7],
        [
            "# twine recording 1",
            "arg --listen",
            "arg 127.0.0.1:0",
            "arg --app",
            "arg echo",
            "arg --record",
            &format!("arg {dir_arg}")
        ]
    );
    assert!(lines[7].starts_with("peer 127.0.0.1:"), "{text}");
    let steps: Vec<&str> = lines[8..]
        .iter()
        .map(|line| line.split_once(' ').map_or(*line, |(_, rest)| rest))
        .map(|rest| rest.split_once(' ').map_or(rest, |(_, what)| what))
        .collect();
    // Reads may merge or split what the client sent; together they are its bytes, then EOF.
    let received: String = steps
        .iter()
        .filter_map(|s| s.strip_prefix("received \"")?.strip_suffix('"'))
        .collect();
    assert_eq!(
        received,
        "GET /a HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nPOST /b HTTP/1.1\\r\\nHost: x\\r\\n\
         Content-Length: 5\\r\\n\\r\\nabcde"
    );
    assert_eq!(steps.last(), Some(&"eof"), "{text}");

    let path_arg = path.to_str().expect("a UTF-8 path");
    let replay = run_twine(
        &["replay", "--recording", path_arg],
        Duration::from_secs(60),
    );
    let trace = String::from_utf8_lossy(&replay.stdout);
    assert!(replay.status.success(), "{trace}");
    assert!(
        trace.contains(&format!(
            "scenario = recording/conn-{}-0.twinerec",
            server.pid()
        )),
        "{trace}"
    );
    for line in [
        "event request req#0 GET /a HTTP/1.1",
        "event request req#1 POST /b HTTP/1.1",
        "event body end req#1",
        "c   shutdown write (FIN)",
        "s   read EOF",
        "s   close graceful",
    ] {
        assert!(
            trace.contains(line),
            "{line:?} missing from the replay:\n{trace}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_cannot_be_replayed_is_a_one_line_error() {
    let dir = fresh_dir("bad-recording");
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("bad.twinerec");
    std::fs::write(&path, "# twine recording 1\narg --app\narg nope\n").expect("written");
    let path_arg = path.to_str().expect("a UTF-8 path");
    let out = run_twine(
        &["replay", "--recording", path_arg],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        "error: unknown app 'nope': expected echo, hello, stream, api or static DIR"
    );
    let out = run_twine(
        &["replay", "--recording", "/nonexistent/x"],
        Duration::from_secs(30),
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
