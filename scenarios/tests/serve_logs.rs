//! The real server's logs: one access log line per request (to a file or standard output, CLF
//! or JSON, complete, aborted, lost and refused requests logged as such), and the diagnostics
//! on standard error (start, a client timed out with its address, drain, stop).

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{run_twine, twine_bin, Server};

/// A scratch file path, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("twine-{}-{name}", std::process::id()));
        let _ = fs::remove_file(&path);
        Scratch(path)
    }

    fn as_str(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temp path")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Sends the three kinds of request the log tells apart, one connection each, in order.
fn complete_aborted_refused(server: &Server) {
    let mut client = server.connect();
    client.send("GET /whoami HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    assert_eq!(client.read_response().status, 200);
    let mut client = server.connect();
    client.send("GET /abort-mid-body HTTP/1.1\r\nHost: h\r\n\r\n");
    // An abort is a reset: read until it comes.
    while matches!(client.try_fill(), Ok(n) if n > 0) {}
    let mut client = server.connect();
    client.send("GET /a\x01b HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(client.read_response().status, 400);
}

/// A CLF line with its time and duration replaced by `T` and `D`, the peer's port by `P`.
fn normalized_common(line: &str) -> String {
    let (peer, rest) = line.split_once(" - - [").expect("a CLF line");
    let (time, rest) = rest.split_once("] ").expect("a time");
    assert_eq!(time.len(), 26, "time {time:?}");
    assert!(time.ends_with(" +0000"), "time {time:?}");
    let fields: Vec<&str> = rest.rsplitn(3, ' ').collect();
    let [outcome, duration, head] = fields[..] else {
        panic!("fields of {rest:?}");
    };
    assert!(duration.ends_with("us"), "duration {duration:?}");
    duration
        .trim_end_matches("us")
        .parse::<u64>()
        .expect("microseconds");
    let ip = peer.rsplit_once(':').expect("ip:port").0;
    format!("{ip}:P - - [T] {head} D {outcome}")
}

#[test]
fn common_format_logs_each_request_with_its_outcome_to_a_file() {
    let log = Scratch::new("access.log");
    let mut server = Server::start(&["--app", "api", "--access-log", log.as_str()]);
    complete_aborted_refused(&server);
    server.terminate();
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());
    let text = fs::read_to_string(&log.0).expect("the log file");
    let lines: Vec<String> = text.lines().map(normalized_common).collect();
    assert_eq!(
        lines,
        [
            "127.0.0.1:P - - [T] \"GET /whoami HTTP/1.1\" 200 56 D complete",
            "127.0.0.1:P - - [T] \"GET /abort-mid-body HTTP/1.1\" 200 10 D aborted",
            "127.0.0.1:P - - [T] \"-\" 400 0 D refused",
        ]
    );
}

#[test]
fn json_format_is_one_object_per_line_on_standard_output() {
    let mut server = Server::start(&[
        "--app",
        "api",
        "--access-log",
        "-",
        "--access-log-format",
        "json",
        "--pipeline-depth-max",
        "2",
    ]);
    let mut client = server.connect();
    client
        .send("GET /close-after HTTP/1.1\r\nHost: h\r\n\r\nGET /x\"y HTTP/1.1\r\nHost: h\r\n\r\n");
    client.read_to_eof();
    let mut records = Vec::new();
    for _ in 0..2 {
        let line = server.next_stdout_line();
        let mut record: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        let object = record.as_object_mut().expect("an object");
        assert!(object.remove("time_unix_ms").expect("time").is_u64());
        assert!(object.remove("duration_us").expect("duration").is_u64());
        let peer = object.remove("peer").expect("peer");
        assert!(peer.as_str().expect("text").starts_with("127.0.0.1:"));
        records.push(record);
    }
    // The pipelined request behind the app's graceful close (dispatched: the depth is 2) is
    // lost, never answered; its
    // quote is escaped, so the line stays valid JSON.
    assert_eq!(
        records,
        [
            serde_json::json!({"request": "GET /close-after HTTP/1.1", "status": 200,
                "bytes": 4, "outcome": "complete"}),
            serde_json::json!({"request": "GET /x\\x22y HTTP/1.1", "status": null,
                "bytes": 0, "outcome": "lost"}),
        ]
    );
}

#[test]
fn diagnostics_name_a_client_timed_out() {
    let mut child = Command::new(twine_bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--header-read-timeout",
            "200ms",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn twine");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).expect("first line");
    let addr = common::parse_listening_line(&first).expect("listening line");
    let mut client = common::Client::connect(addr);
    client.send("GET /slow HTTP/1.1\r\n");
    let answer = client.read_to_eof();
    assert!(answer.starts_with(b"HTTP/1.1 408 "), "{answer:?}");
    let local = client.stream.local_addr().expect("local address");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let output = child.wait_with_output().expect("exit");
    let stderr = String::from_utf8(output.stderr).expect("UTF-8");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].ends_with(&format!("INFO listening on http://{addr}")),
        "{stderr}"
    );
    assert!(
        lines.iter().any(|l| l.ends_with(&format!(
            "INFO timing out client: header_read timer peer={local}"
        ))),
        "{stderr}"
    );
    // The connection may still be in its lingering close when the signal comes.
    assert!(
        lines.iter().any(|l| l.contains("INFO draining ")),
        "{stderr}"
    );
    assert!(
        lines.last().is_some_and(|l| l.ends_with("INFO stopped")),
        "{stderr}"
    );
}

#[test]
fn an_access_log_that_cannot_be_opened_is_a_one_line_error() {
    let output = run_twine(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--access-log",
            "/nonexistent/dir/access.log",
        ],
        Duration::from_secs(10),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "nothing served, nothing printed");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: cannot open the access log /nonexistent/dir/access.log: No such file or \
         directory (os error 2)\n"
    );
}
