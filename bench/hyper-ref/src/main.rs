//! hyper answering every request with `200` and the 12-byte body `hello world\n` (the work
//! `twine serve --app hello` does, with the same fields: `Content-Type`, `Content-Length`,
//! `Date` and a five-letter `Server`, so the responses are as long: 129 bytes), on
//! 127.0.0.1:0, one tokio task per connection; prints `listening on http://IP:PORT` first, as
//! `twine serve` does.
//!
//! HTTP/1.1 with `pipeline_flush` on by default; with `--h2`, HTTP/2 with prior knowledge
//! (h2c) instead, hyper's defaults otherwise, for `h2load`.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE, SERVER};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

const BODY: &[u8] = b"hello world\n";

async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
    let text = HeaderValue::from_static("text/plain");
    response.headers_mut().insert(CONTENT_TYPE, text);
    // twine sends `Server: twine` by default (as Twisted sends its own): the same bytes here.
    let server = HeaderValue::from_static("hyper");
    response.headers_mut().insert(SERVER, server);
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let h2 = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--h2") => true,
        Some(other) => {
            eprintln!("error: unknown argument {other:?} (the only one is --h2)");
            std::process::exit(2);
        }
    };
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let io = TokioIo::new(stream);
        tokio::spawn(async move {
            if h2 {
                let _ = http2::Builder::new(TokioExecutor::new())
                    .serve_connection(io, service_fn(hello))
                    .await;
            } else {
                let _ = http1::Builder::new()
                    .pipeline_flush(true)
                    .serve_connection(io, service_fn(hello))
                    .await;
            }
        });
    }
}
