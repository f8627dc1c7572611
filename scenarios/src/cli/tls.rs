//! HTTPS for `twine serve` and `twine proxy`: `--tls-cert` and `--tls-key` (PEM files), with
//! `rustls` on the `ring` provider (it builds from crates alone, with no system library), and
//! ALPN offering `h2` then `http/1.1`.
//!
//! It owns what a connection is before the engine sees it: an accepted TCP stream, and after
//! the handshake (bounded by `--tls-handshake-timeout`) the stream the driver reads and
//! writes, plain or TLS ([`Transport`]).
//!
//! A client that negotiated `h2` is held to HTTP/2 from its first byte (a bad preface is
//! GOAWAY(PROTOCOL_ERROR), not an HTTP/1.1 `400`); otherwise the engine chooses by the
//! client's first bytes (`AutoConnection`): the HTTP/2 preface, or a request line.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use clap::Args;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tracing::debug;

use super::Failure;

/// The TLS flags.
#[derive(Debug, Args)]
pub(crate) struct TlsArgs {
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key [default:
    /// none: plain HTTP]
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1) [default: none]
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// How long a client may take to finish the TLS handshake before it is dropped.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    tls_handshake_timeout: Duration,
}

/// The server's TLS side: the acceptor and the handshake bound.
#[derive(Clone)]
pub(crate) struct Tls {
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl TlsArgs {
    /// The TLS side the flags ask for, `None` for plain HTTP. A file that cannot be read, holds
    /// no certificate or key, or a key that does not match the certificate is a one-line error.
    pub(crate) fn load(&self) -> Result<Option<Tls>, Failure> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let chain = load_chain(cert)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
            Failure::usage(format!(
                "cannot read a private key from {}: {e}",
                key.display()
            ))
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Failure::usage(format!("cannot set up TLS: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| {
                Failure::usage(format!(
                    "the TLS certificate {} and key do not go together: {e}",
                    cert.display()
                ))
            })?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Some(Tls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            handshake_timeout: self.tls_handshake_timeout,
        }))
    }
}

fn load_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, Failure> {
    let unreadable =
        |e: &dyn std::fmt::Display| Failure::usage(format!("cannot read {}: {e}", path.display()));
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(&e))?;
    if chain.is_empty() {
        return Err(Failure::usage(format!(
            "no certificate in {}",
            path.display()
        )));
    }
    Ok(chain)
}

/// A connection as accepted: TCP, with the handshake still to do if the server speaks TLS.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) tcp: TcpStream,
    pub(crate) tls: Option<Tls>,
}

impl Incoming {
    /// The stream to serve: the TCP stream itself, or the TLS stream once the handshake is
    /// done. `None` if the handshake failed or took longer than its bound.
    pub(crate) async fn establish(self) -> Option<Transport> {
        let Some(tls) = self.tls else {
            return Some(Transport::Plain(self.tcp));
        };
        let peer = self.tcp.peer_addr().ok();
        // Boxed: the handshake's state (a whole rustls connection) lives on the heap only
        // while it runs, instead of in every connection's task for its whole life, TLS or not.
        let handshake = Box::pin(tokio::time::timeout(
            tls.handshake_timeout,
            tls.acceptor.accept(self.tcp),
        ));
        match handshake.await {
            Ok(Ok(stream)) => Some(Transport::Tls(Box::new(stream))),
            Ok(Err(error)) => {
                debug!(?peer, "TLS handshake failed: {error}");
                None
            }
            Err(_) => {
                debug!(?peer, "TLS handshake timed out");
                None
            }
        }
    }
}

/// The stream a connection is served on.
#[derive(Debug)]
pub(crate) enum Transport {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Transport {
    /// Whether the client chose HTTP/2 in the TLS handshake (ALPN `h2`).
    pub(crate) fn negotiated_http2(&self) -> bool {
        match self {
            Transport::Plain(_) => false,
            Transport::Tls(tls) => tls.get_ref().1.alpn_protocol() == Some(&b"h2"[..]),
        }
    }

    /// The TCP stream underneath.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Plain(tcp) => tcp,
            Transport::Tls(tls) => tls.get_ref().0,
        }
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Transport::Plain(tcp) => tcp.is_write_vectored(),
            Transport::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Transport::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}
