//! Goal (issue: an idle keep-alive connection costs at most 2 KiB): the future that serves a
//! connection, which the runtime keeps for the connection's whole life, stays small. Its size
//! is most of an idle connection's cost (the task that holds it, rounded up to 128 bytes).
//! Method: the size of `run_connection`'s future for a TCP stream, the auto-detecting
//! connection and the hello app, and the size of the HTTP/1 channel (the connection's other
//! allocation of its own), each against a literal bound. The rest of an idle connection (the
//! alarm's sleep and drain wake-up, the runtime's registration) is measured with `bench/run`
//! (KiB per idle connection).

use twine_apps::Hello;
use twine_driver::{run_connection, Clock, RunOptions};
use twine_engine::{AutoConnection, Channel, Config};

/// Bytes: 304 now. It was 664 with the wait as a `select!` over futures, the flush timed by a
/// `timeout` (which holds a sleep) and the app and observer held by reference, 504 with the
/// bytes an undecided connection holds back kept inline, 480 with the rarely read settings in
/// the future rather than beside the alarm, and 432 with the wait's and the flush's values in
/// their futures (rather than in the driver), the alarm's deadline beside its sleep, the upload
/// buffer's handle inline, and the clock and the drain signal in the future (rather than
/// beside the alarm). tokio rounds a task up to 128 bytes: `twine serve`'s connection task
/// went from 768 to 640 bytes with the settings' step and to 512 with the last.
const FUTURE_BYTES_MAX: usize = 304;

#[tokio::test]
async fn a_connections_future_is_small() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("an address");
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let clock = Clock::start();
    let channel = AutoConnection::new(Config::new(), clock.now());
    let serving = run_connection(
        stream,
        channel,
        Hello::new(),
        clock,
        (),
        RunOptions::default(),
    );
    let bytes = std::mem::size_of_val(&serving);
    assert!(bytes <= FUTURE_BYTES_MAX, "{bytes} bytes");
}

/// Bytes: 344 now, a 352-byte heap block (368 before the heads' memo moved to the heap with
/// the first response, and back off it while idle). (A timer table of the six server timers,
/// rather than all nine, saved 24 more but cost 80 instructions a request: with nine slots
/// every timer's index is in range, with six the checks stay in the loop that syncs the
/// timers.)
const CHANNEL_BYTES_MAX: usize = 344;

/// An HTTP/1 connection's channel, on the heap for the connection's whole life, stays small.
#[test]
fn a_channel_is_small() {
    let bytes = std::mem::size_of::<Channel>();
    assert!(bytes <= CHANNEL_BYTES_MAX, "{bytes} bytes");
}
