//! HTTPS on the real server: certificates made at run time (`rcgen`), curl with `--cacert`
//! over HTTP/2 (ALPN `h2`) and HTTP/1.1, a Rust client (`rustls`), the app told the connection
//! is secure, one-line errors for bad certificate files, and the handshake's own timeout.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::curl::{curl_any, have_curl};
use common::{run_twine, Server};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use twine_engine::h2::frame::{ErrorCode, Frame, FrameDecoder, StreamId, MAX_FRAME_SIZE_LIMIT};

/// A self-signed certificate for `localhost` and its key, as PEM files in a scratch directory
/// removed on drop.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    fn new(name: &str) -> Certs {
        let dir = std::env::temp_dir().join(format!("twine-tls-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch directory");
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("a certificate");
        fs::write(dir.join("cert.pem"), made.cert.pem()).expect("write cert");
        fs::write(dir.join("key.pem"), made.signing_key.serialize_pem()).expect("write key");
        Certs { dir }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).to_str().expect("UTF-8 path").to_owned()
    }

    fn server(&self, extra: &[&str]) -> Server {
        let (cert, key) = (self.path("cert.pem"), self.path("key.pem"));
        let mut args = vec!["--app", "api", "--tls-cert", &cert, "--tls-key", &key];
        args.extend_from_slice(extra);
        Server::start(&args)
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// curl `https://localhost:PORT/whoami` trusting only our certificate; returns the body and
/// the HTTP version curl used.
fn curl_whoami(certs: &Certs, server: &Server, version_flag: &str) -> (String, String) {
    let port = server.addr.port();
    let resolve = format!("localhost:{port}:127.0.0.1");
    let url = format!("https://localhost:{port}/whoami");
    let cacert = certs.path("cert.pem");
    let output = curl_any(&[
        version_flag,
        "--cacert",
        &cacert,
        "--resolve",
        &resolve,
        "--write-out",
        "%{http_version}",
        &url,
    ]);
    assert!(
        output.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let (body, version) = text.rsplit_once('\n').expect("body, then the version");
    (body.to_owned(), version.to_owned())
}

#[test]
fn curl_speaks_http2_by_alpn_and_http11_when_asked() {
    if !have_curl() {
        return;
    }
    let certs = Certs::new("curl");
    let server = certs.server(&[]);
    assert_eq!(
        server.first_line,
        format!("listening on https://{}\n", server.addr)
    );
    let (body, version) = curl_whoami(&certs, &server, "--http2");
    assert_eq!(version, "2");
    assert!(body.contains("\nsecure true"), "{body:?}");
    let (body, version) = curl_whoami(&certs, &server, "--http1.1");
    assert_eq!(version, "1.1");
    assert!(body.contains("\nsecure true"), "{body:?}");
}

/// A rustls client offering only `protocol` by ALPN.
fn rustls_client(certs: &Certs, protocol: &[u8]) -> rustls::ClientConnection {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(certs.path("cert.pem")).expect("cert file") {
        roots.add(cert.expect("a certificate")).expect("a root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![protocol.to_vec()];
    let name = ServerName::try_from("localhost").expect("a name");
    rustls::ClientConnection::new(Arc::new(config), name).expect("a client")
}

#[test]
fn a_rust_client_gets_http11_over_tls_and_the_app_sees_a_secure_connection() {
    let certs = Certs::new("rustls");
    let server = certs.server(&[]);
    let mut tcp = TcpStream::connect(server.addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut client = rustls_client(&certs, b"http/1.1");
    let mut tls = rustls::Stream::new(&mut client, &mut tcp);
    tls.write_all(b"GET /whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut response = Vec::new();
    // The server closes after the response; a close without close_notify is an error here.
    let _ = tls.read_to_end(&mut response);
    assert_eq!(client.alpn_protocol(), Some(&b"http/1.1"[..]));
    let text = String::from_utf8(response).expect("UTF-8");
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    let local = tcp.local_addr().expect("local address");
    assert!(
        text.ends_with(&format!(
            "\r\n\r\npeer {local}\nlocal {}\nsecure true\n",
            server.addr
        )),
        "{text}"
    );
}

/// A client that chose `h2` by ALPN speaks HTTP/2 from its first byte: opening with anything
/// but the preface is GOAWAY(PROTOCOL_ERROR) after our SETTINGS (RFC 9113 §3.4; h2spec
/// http2/3.5/2 over TLS), not an HTTP/1.1 `400` it would read as a frame.
#[test]
fn a_bad_preface_after_alpn_h2_is_an_http2_protocol_error() {
    let certs = Certs::new("alpn-h2");
    let server = certs.server(&[]);
    let mut tcp = TcpStream::connect(server.addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut client = rustls_client(&certs, b"h2");
    let mut tls = rustls::Stream::new(&mut client, &mut tcp);
    tls.write_all(b"INVALID CONNECTION PREFACE\r\n\r\n")
        .expect("write");
    let mut received = Vec::new();
    let _ = tls.read_to_end(&mut received);
    assert_eq!(client.alpn_protocol(), Some(&b"h2"[..]));
    let mut buf = BytesMut::from(&received[..]);
    let decoder = FrameDecoder::new(MAX_FRAME_SIZE_LIMIT);
    let frames: Vec<Frame> =
        std::iter::from_fn(|| decoder.decode(&mut buf).ok().flatten()).collect();
    assert!(
        matches!(frames.first(), Some(Frame::Settings { ack: false, .. })),
        "{frames:?}"
    );
    assert_eq!(
        frames.last(),
        Some(&Frame::GoAway {
            last_stream: StreamId::new(0),
            code: ErrorCode::ProtocolError,
            debug: Bytes::new(),
        }),
        "{frames:?}"
    );
}

#[test]
fn a_client_that_never_finishes_its_handshake_is_dropped_at_the_timeout() {
    let certs = Certs::new("handshake");
    let server = certs.server(&["--tls-handshake-timeout", "300ms"]);
    let mut tcp = TcpStream::connect(server.addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let started = Instant::now();
    let mut sink = [0u8; 64];
    let read = tcp.read(&mut sink);
    assert!(matches!(read, Ok(0)) || read.is_err(), "{read:?}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[test]
fn plain_http_to_a_tls_port_is_closed_without_an_answer() {
    let certs = Certs::new("plain");
    let server = certs.server(&[]);
    let mut tcp = TcpStream::connect(server.addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/"), "{answer:?}");
}

fn serve_error(args: &[&str]) -> String {
    let mut full = vec!["serve", "--listen", "127.0.0.1:0"];
    full.extend_from_slice(args);
    let output = run_twine(&full, Duration::from_secs(20));
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        output.stdout.is_empty(),
        "nothing listens, nothing is printed"
    );
    let stderr = String::from_utf8(output.stderr).expect("UTF-8");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    stderr
}

#[test]
fn bad_certificates_and_keys_are_one_line_errors() {
    let certs = Certs::new("bad");
    let other = Certs::new("other");
    let (cert, key) = (certs.path("cert.pem"), certs.path("key.pem"));
    let garbage = certs.path("garbage.pem");
    fs::write(&garbage, "not a certificate\n").expect("write");
    let missing = certs.path("missing.pem");

    let stderr = serve_error(&["--tls-cert", &missing, "--tls-key", &key]);
    assert!(
        stderr.starts_with(&format!("error: cannot read {missing}: ")),
        "{stderr}"
    );
    assert_eq!(
        serve_error(&["--tls-cert", &garbage, "--tls-key", &key]),
        format!("error: no certificate in {garbage}\n")
    );
    let stderr = serve_error(&["--tls-cert", &cert, "--tls-key", &garbage]);
    assert!(
        stderr.starts_with(&format!(
            "error: cannot read a private key from {garbage}: "
        )),
        "{stderr}"
    );
    let other_key = other.path("key.pem");
    let stderr = serve_error(&["--tls-cert", &cert, "--tls-key", &other_key]);
    assert!(
        stderr.starts_with(&format!(
            "error: the TLS certificate {cert} and key do not go together: "
        )),
        "{stderr}"
    );
    let stderr = serve_error(&["--tls-cert", &cert]);
    assert!(stderr.contains("--tls-key"), "{stderr}");
}
