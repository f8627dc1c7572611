//! curl for the real-server tests: a bounded runner (its own `--max-time` and ours on the
//! process), a check that it is installed (tests skip with a note when it is not), and the
//! files and bodies the tests hand it.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::Server;

/// Whether curl runs; prints a note when it does not.
pub(crate) fn have_curl() -> bool {
    have_tool("curl")
}

/// Whether `tool --version` runs; prints a note when it does not (the test then skips).
pub(crate) fn have_tool(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("note: {tool} is not on PATH; skipping this test");
    }
    ok
}

/// Runs curl with a 20 s overall bound (its own `--max-time`, and ours on the process),
/// whatever its exit status.
pub(crate) fn curl_any(args: &[&str]) -> Output {
    let mut full = vec!["--silent", "--show-error", "--max-time", "20"];
    full.extend_from_slice(args);
    let mut child = Command::new("curl")
        .args(&full)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn curl");
    // Outputs can be large: collect them in threads while we wait with a bound.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_thread = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + Duration::from_secs(25);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("curl {full:?} did not finish within 25 s");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out_thread.join().unwrap(),
        stderr: err_thread.join().unwrap(),
    }
}

/// Like `curl_any`, and curl must succeed.
pub(crate) fn curl(args: &[&str]) -> Output {
    let output = curl_any(args);
    assert!(
        output.status.success(),
        "curl {args:?} failed: {:?}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A temporary file removed on drop.
pub(crate) struct TempFile(PathBuf);

impl TempFile {
    pub(crate) fn new(name: &str, contents: &[u8]) -> TempFile {
        let file = format!("twine-test-{}-{name}", std::process::id());
        let path = std::env::temp_dir().join(file);
        std::fs::write(&path, contents).expect("write temp file");
        TempFile(path)
    }

    pub(crate) fn arg(&self) -> String {
        format!("@{}", self.0.display())
    }

    /// The file's path, for tools other than curl.
    pub(crate) fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// 1 MB of varied bytes (all 256 values), so a corrupted echo cannot pass by accident.
pub(crate) fn megabyte() -> Vec<u8> {
    (0..1_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

pub(crate) fn url(server: &Server, path: &str) -> String {
    format!("http://{}{path}", server.addr)
}

/// curl POSTs 1 MB to an echo app behind `server` (direct or through the proxy): 200, and the
/// same bytes back.
pub(crate) fn post_a_megabyte_to_echo(server: &Server) {
    let data = megabyte();
    let file = TempFile::new("post", &data);
    let out = curl(&[
        "--data-binary",
        &file.arg(),
        "-H",
        "Content-Type: application/octet-stream",
        "-w",
        "%{stderr}%{http_code} %{size_download}",
        &url(server, "/"),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "200 1000000");
    assert_echoed(&out, &data);
}

/// curl uploads 1 MB chunked to an echo app behind `server`: 200 and the same bytes back.
/// Returns curl's verbose output for the caller's own checks.
pub(crate) fn chunked_upload_to_echo(server: &Server) -> String {
    let data = megabyte();
    let file = TempFile::new("chunked", &data);
    let out = curl(&[
        "-v",
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &file.arg(),
        &url(server, "/"),
    ]);
    let verbose = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        verbose.contains("> Transfer-Encoding: chunked"),
        "curl did not upload chunked:\n{verbose}"
    );
    assert!(
        verbose.contains("< HTTP/1.1 200 OK"),
        "status missing:\n{verbose}"
    );
    assert_echoed(&out, &data);
    verbose
}

/// curl uploads 1.5 MB with `Expect: 100-continue` (past curl's own 1 MiB threshold, and
/// given explicitly in case another curl has another) to an echo app behind `server`: 200 and
/// the same bytes back. Returns curl's verbose output for the caller's checks of the 100.
pub(crate) fn expect_continue_upload_to_echo(server: &Server) -> String {
    let data: Vec<u8> = megabyte().into_iter().cycle().take(1_500_000).collect();
    let file = TempFile::new("expect", &data);
    let out = curl(&[
        "-v",
        "-H",
        "Expect: 100-continue",
        "--expect100-timeout",
        "10",
        "--data-binary",
        &file.arg(),
        &url(server, "/"),
    ]);
    let verbose = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        verbose.contains("> Expect: 100-continue"),
        "curl sent no Expect:\n{verbose}"
    );
    assert!(verbose.contains("< HTTP/1.1 200 OK"), "{verbose}");
    assert_echoed(&out, &data);
    verbose
}

fn assert_echoed(out: &Output, data: &[u8]) {
    assert!(
        out.stdout == data,
        "echoed body differs ({} bytes)",
        out.stdout.len()
    );
}
