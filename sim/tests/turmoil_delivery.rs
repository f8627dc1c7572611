//! When the simulated network delivers what was sent: the behaviour the vendored turmoil's
//! patches (`vendor/turmoil/PATCHES.md`) must keep from the published crate. Each case
//! records, per read, the simulated millisecond and the bytes, and compares them with what
//! the published turmoil 0.7.2 gave (measured with the workspace's `[patch]` removed).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpListener, TcpStream};

/// Reads, in order: (simulated ms, bytes); the FIN as `<eof>`.
type Reads = Rc<RefCell<Vec<(u128, Vec<u8>)>>>;

/// A server that records every read until EOF, and a client that writes `writes` one
/// `write_all` each (one segment each), `gap` apart, then closes. Between `hold` and
/// `release` steps (if any) the link holds everything.
fn run(latency: (u64, u64), writes: &[&[u8]], gap: Duration, hold: Option<(u32, u32)>) -> Reads {
    let mut sim = turmoil::Builder::new()
        .rng_seed(7)
        .tick_duration(Duration::from_millis(1))
        .min_message_latency(Duration::from_millis(latency.0))
        .max_message_latency(Duration::from_millis(latency.1))
        .build();
    let reads: Reads = Rc::default();
    let recorded = Rc::clone(&reads);
    sim.host("server", move || {
        let recorded = Rc::clone(&recorded);
        async move {
            let listener = TcpListener::bind("0.0.0.0:80").await?;
            let (mut stream, _) = listener.accept().await?;
            let mut buf = [0u8; 64];
            loop {
                let n = stream.read(&mut buf).await?;
                let at = turmoil::sim_elapsed().unwrap_or_default().as_millis();
                let read = if n == 0 { EOF } else { &buf[..n] };
                recorded.borrow_mut().push((at, read.to_vec()));
                if n == 0 {
                    return Ok(());
                }
            }
        }
    });
    let writes: Vec<Vec<u8>> = writes.iter().map(|w| w.to_vec()).collect();
    sim.client("client", async move {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let mut stream = TcpStream::connect("server:80").await?;
        for write in writes {
            stream.write_all(&write).await?;
            if !gap.is_zero() {
                tokio::time::sleep(gap).await;
            }
        }
        Ok(())
    });
    let mut step = 0;
    loop {
        if let Some((from, to)) = hold {
            if step == from {
                sim.hold("client", "server");
            }
            if step == to {
                sim.release("client", "server");
            }
        }
        if sim.step().expect("the simulation runs") && reads_ended(&reads) {
            break;
        }
        step += 1;
        assert!(step < 10_000, "the run did not end");
    }
    reads
}

const EOF: &[u8] = b"<eof>";

fn reads_ended(reads: &Reads) -> bool {
    reads.borrow().last().is_some_and(|(_, read)| read == EOF)
}

fn shown(reads: &Reads) -> Vec<(u128, String)> {
    let reads = reads.borrow();
    reads
        .iter()
        .map(|(at, bytes)| (*at, String::from_utf8_lossy(bytes).into_owned()))
        .collect()
}

#[test]
fn zero_latency_segments_and_the_fin_arrive_together() {
    let reads = run((0, 0), &[b"one", b"two", b"three"], Duration::ZERO, None);
    let expected = [(3, "one"), (3, "two"), (3, "three"), (3, "<eof>")];
    assert_eq!(shown(&reads), expected.map(|(at, s)| (at, s.to_string())));
}

#[test]
fn held_segments_arrive_in_order_after_the_release() {
    let reads = run(
        (2, 2),
        &[b"a", b"b", b"c"],
        Duration::from_millis(1),
        Some((1, 20)),
    );
    let expected = [(22, "a"), (23, "b"), (24, "c"), (25, "<eof>")];
    assert_eq!(shown(&reads), expected.map(|(at, s)| (at, s.to_string())));
}

#[test]
fn jittered_segments_are_reordered_into_the_stream() {
    let words: Vec<String> = (0..40).map(|i| format!("{i:02},")).collect();
    let writes: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    let reads = run((1, 9), &writes, Duration::ZERO, None);
    let stream: String = shown(&reads).into_iter().map(|(_, bytes)| bytes).collect();
    assert_eq!(
        stream,
        words.concat() + "<eof>",
        "the stream keeps its order"
    );
    let times: Vec<u128> = reads.borrow().iter().map(|(at, _)| *at).collect();
    // Segments wait for the last one missing before them: reads come in bursts.
    let expected = [[4; 3], [6; 3]].concat().into_iter();
    let expected: Vec<u128> = expected.chain([7; 22]).chain([12; 13]).collect();
    assert_eq!(times, expected, "when each read came");
}
