//! hyper answering every request with `200` and the 12-byte body `hello world\n` (the work
//! `twine serve --app hello` does), on 127.0.0.1:0, one tokio task per connection and
//! `pipeline_flush` on; prints `listening on http://IP:PORT` first, as `twine serve` does.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const BODY: &[u8] = b"hello world\n";

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let service = service_fn(|_: Request<hyper::body::Incoming>| async {
                let mut response = Response::new(Full::new(Bytes::from_static(BODY)));
                let text = HeaderValue::from_static("text/plain");
                response.headers_mut().insert(CONTENT_TYPE, text);
                Ok::<_, Infallible>(response)
            });
            let _ = http1::Builder::new()
                .pipeline_flush(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
