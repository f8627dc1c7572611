//! The no-parse ceiling: a tokio server that answers a fixed `hello world\n` response for
//! every `\r\n\r\n` it reads, with one write per read. It parses nothing, so no real server
//! can do less work per request; the benchmark reports twine against it. Prints `listening on
//! http://IP:PORT` first, as `twine serve` does.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The bytes `twine serve --app hello` sends, `Date` fixed: 129 bytes.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\
Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nServer: fixed\r\n\r\nhello world\n";

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(serve(stream));
    }
}

/// Answers each request end seen. `matched` carries how much of `\r\n\r\n` the previous read
/// ended with, so a terminator split across reads still counts once.
async fn serve(mut stream: TcpStream) {
    let mut input = vec![0u8; 16 * 1024];
    let mut output = Vec::with_capacity(16 * RESPONSE.len());
    let mut matched = 0;
    loop {
        let n = match stream.read(&mut input).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        for &byte in &input[..n] {
            matched = match (matched, byte) {
                (0 | 2, b'\r') => matched + 1,
                (1 | 3, b'\n') => matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if matched == 4 {
                output.extend_from_slice(RESPONSE);
                matched = 0;
            }
        }
        if !output.is_empty() {
            if stream.write_all(&output).await.is_err() {
                return;
            }
            output.clear();
        }
    }
}
