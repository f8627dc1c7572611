//! Goal: the `Date` header names the second of `now`, on every response: the value is cached for
//! one second (so it is formatted once per second), and never served stale after the second
//! changes. Method: a fixed origin (RFC 9110's example date, `784111777` s, so the expected
//! values are literal), keep-alive requests answered at chosen virtual times, and the exact
//! response bytes.

use super::harness::Harness;
use crate::{AppCommand, Config, Duration, RequestId, ResponseHead};

/// Sends one request and answers it with an empty 204; returns the response bytes.
fn exchange(h: &mut Harness, id: u64) -> String {
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let request = RequestId::from_sequence(id);
    let head = ResponseHead::new(204);
    h.app(AppCommand::SendHead { request, head }).unwrap();
    h.app(AppCommand::Finish { request }).unwrap();
    h.take_wire()
}

fn with_date(date: &str) -> String {
    format!("HTTP/1.1 204 No Content\r\nDate: {date}\r\n\r\n")
}

#[test]
fn the_date_follows_the_clock_second_by_second() {
    let config = Config {
        server_name: None,
        ..Config::new().with_date_origin(784_111_777)
    };
    let mut h = Harness::new(config);
    assert_eq!(
        exchange(&mut h, 0),
        with_date("Sun, 06 Nov 1994 08:49:37 GMT")
    );
    // Later in the same second: the same value.
    h.advance(Duration::from_millis(999));
    assert_eq!(
        exchange(&mut h, 1),
        with_date("Sun, 06 Nov 1994 08:49:37 GMT")
    );
    // The next second: a new value, not the cached one.
    h.advance(Duration::from_millis(1));
    assert_eq!(
        exchange(&mut h, 2),
        with_date("Sun, 06 Nov 1994 08:49:38 GMT")
    );
    h.advance_secs(10);
    assert_eq!(
        exchange(&mut h, 3),
        with_date("Sun, 06 Nov 1994 08:49:48 GMT")
    );
}

/// An origin with milliseconds: the second changes when origin plus `now` crosses it, not when
/// `now` does.
#[test]
fn the_date_second_counts_the_origin_milliseconds() {
    let config = Config {
        server_name: None,
        ..Config::new().with_date_origin_millis(784_111_777_600)
    };
    let mut h = Harness::new(config);
    assert_eq!(
        exchange(&mut h, 0),
        with_date("Sun, 06 Nov 1994 08:49:37 GMT")
    );
    h.advance(Duration::from_millis(400));
    assert_eq!(
        exchange(&mut h, 1),
        with_date("Sun, 06 Nov 1994 08:49:38 GMT")
    );
}
