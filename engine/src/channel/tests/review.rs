//! Adversarial review: the first tests each pin a bug the review found (now fixed) and say, in
//! their doc comments, what must happen and why (DESIGN.md §2 or the RFC). Tests marked
//! *regression* probe an idea that turned out fine and are kept so it stays fine.
//!
//! Method: the `Harness` drives one channel with virtual time, never reading past the receive
//! window, and the assertions look only at what a peer or an app can observe: the wire, the
//! events, producer states, shutdown and close.

use super::harness::{bare, count, Harness};
use crate::{
    AppCommand, CloseReason, Config, Event, Input, Instant, Limits, Output, ProducerKind,
    ProducerState, RequestId, ResponseHead, Timer, TimerChange, TransportState, UsageError,
};

const R0: RequestId = RequestId::from_sequence(0);
const R1: RequestId = RequestId::from_sequence(1);

fn depth(n: usize) -> Config {
    let mut limits = Limits::default();
    limits.pipeline_depth_max = n;
    Config { limits, ..bare() }
}

fn head(h: &mut Harness, id: RequestId, head: ResponseHead) {
    h.app(AppCommand::SendHead { request: id, head }).unwrap();
}

fn body(h: &mut Harness, id: RequestId, data: &'static str) {
    h.app(AppCommand::SendBody {
        request: id,
        data: data.into(),
    })
    .unwrap();
}

fn finish(h: &mut Harness, id: RequestId) {
    h.app(AppCommand::Finish { request: id }).unwrap();
}

fn answer(h: &mut Harness, id: RequestId, text: &'static str) {
    let response = ResponseHead::new(200).with_header("Content-Length", text.len().to_string());
    head(h, id, response);
    body(h, id, text);
    finish(h, id);
}

fn consume(h: &mut Harness, id: RequestId, bytes: u64) {
    h.app(AppCommand::Consume { request: id, bytes }).unwrap();
}

fn lost(h: &Harness, id: RequestId) -> bool {
    h.events()
        .iter()
        .any(|e| matches!(e, Event::Lost { id: i } if *i == id))
}

// ------------------------------------------------------------------------------------------
// Found in review, fixed
// ------------------------------------------------------------------------------------------

/// The app reads part of a body, then answers and finishes before the rest has arrived. The
/// response promised persistence (no `Connection: close`), so the rest of the body is read and
/// dropped and the connection goes on (DESIGN.md §2 Persistence; RFC 9112 §9.6). Found in
/// review: the channel used to close without saying so.
#[test]
fn a_response_finished_before_its_body_ends_keeps_the_connection() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234");
    consume(&mut h, R0, 5);
    assert_eq!(h.body(R0), b"01234");
    answer(&mut h, R0, "ok");
    let wire = h.take_wire();
    assert!(!wire.contains("Connection: close"), "{wire:?}");
    assert!(
        !h.shut_down() && h.closed().is_none(),
        "the connection goes on"
    );
    h.send("56789GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.request_ids(), [R0, R1]);
    assert_eq!(h.body(R0), b"01234", "the rest was dropped, not delivered");
}

/// The whole request is buffered but the app has not granted credit: the channel waits on the
/// app, not the peer, so the body idle timer does not run and no 408 blames the client
/// (DESIGN.md §2 Timeouts). Found in review: a 408 came after 60 s.
#[test]
fn no_body_timer_while_the_app_holds_a_buffered_body() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789");
    h.advance_secs(61);
    let wire = h.take_wire();
    assert!(
        !wire.contains("408"),
        "408 for a complete request: {wire:?}"
    );
    assert!(!lost(&h, R0), "the request was lost while the app held it");
    consume(&mut h, R0, 10);
    assert_eq!(h.body(R0), b"0123456789");
}

/// `Expect: 100-continue` and no credit yet: the client waits for our 100 (RFC 9110 §10.1.1), so
/// the body idle timer does not run against it. Found in review: a 408 came after 60 s.
#[test]
fn no_body_timer_while_the_client_waits_for_100_continue() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
    h.advance_secs(61);
    let wire = h.take_wire();
    assert!(
        !wire.contains("408"),
        "408 before the 100 was sent: {wire:?}"
    );
    assert!(!lost(&h, R0));
}

/// With depth 2, a head that starts in the same read as the end of the previous one gets a
/// deadline of its own (`Timeouts::header_read`: from its first byte). Found in review: it
/// inherited the previous head's deadline.
#[test]
fn each_pipelined_head_gets_its_own_deadline() {
    let mut h = Harness::new(depth(2));
    h.advance_secs(59);
    h.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\n");
    assert_eq!(h.request_ids(), [R0]);
    h.advance_secs(2);
    assert_eq!(
        h.protocol_errors(),
        [],
        "the head of /2 started 2 s ago, not 60 s ago"
    );
    h.send("Host: h\r\n\r\n");
    assert_eq!(h.request_ids(), [R0, R1]);
}

/// The CRLF old clients send after a POST body (RFC 9112 §2.2) does not start a request: the
/// connection is idle, closed silently by the 15 s keep-alive timer, never with an unsolicited
/// 408. Found in review: the 60 s head deadline ran and a 408 went out.
#[test]
fn a_stray_crlf_after_a_body_leaves_the_connection_idle() {
    let mut h = Harness::dummy(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab\r\n");
    assert!(h.take_wire().starts_with("HTTP/1.1 200 OK\r\n"));
    h.advance_secs(61);
    let wire = h.take_wire();
    assert!(
        !wire.contains("408"),
        "unsolicited 408 on an idle connection: {wire:?}"
    );
    assert_eq!(h.protocol_errors(), []);
    let fired: Vec<Timer> = h
        .log
        .iter()
        .filter_map(|o| match o {
            Output::Timer {
                timer,
                change: TimerChange::Fired,
            } => Some(*timer),
            _ => None,
        })
        .collect();
    assert_eq!(
        fired[0],
        Timer::IdleKeepAlive,
        "15 s idle, not the 60 s head deadline"
    );
}

/// With depth 2, request 1's response is finished but queued behind request 0's when the
/// connection is lost: it never reached the wire, so the app is told `Lost` for it too. Found
/// in review: only request 0 was reported.
#[test]
fn a_finished_but_queued_response_lost_with_the_connection_is_reported() {
    let mut h = Harness::new(depth(2));
    h.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.request_ids(), [R0, R1]);
    answer(&mut h, R1, "two");
    assert_eq!(h.take_wire(), "", "queued behind request 0");
    let now = h.now;
    h.input(Input::ConnectionLost { now });
    assert!(lost(&h, R0));
    assert!(
        lost(&h, R1),
        "request 1's response never left the queue, but the app was not told"
    );
}

/// Request 0's response turns out to be the last (close-delimited HTTP/1.0) after request 1 was
/// answered: request 1's response can never be sent, so the app is told `Lost`. Found in
/// review: it was dropped silently.
#[test]
fn a_response_dropped_behind_a_close_delimited_one_is_reported() {
    let mut h = Harness::new(depth(2));
    h.send(
        "GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n\
         GET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    );
    assert_eq!(h.request_ids(), [R0, R1]);
    answer(&mut h, R1, "two");
    head(&mut h, R0, ResponseHead::new(200));
    body(&mut h, R0, "one");
    finish(&mut h, R0);
    let wire = h.take_wire();
    assert!(
        wire.contains("two") || lost(&h, R1),
        "response 1 neither sent nor reported lost: {wire:?}"
    );
}

/// With depth 2, aborting queued request 1 lets request 0's response finish (a response in
/// progress is never corrupted), then the connection closes. Found in review: the abort closed
/// the connection at once and truncated request 0.
#[test]
fn aborting_a_queued_request_lets_the_one_in_front_finish() {
    let mut h = Harness::new(depth(2));
    h.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    head(
        &mut h,
        R0,
        ResponseHead::new(200).with_header("Content-Length", "5"),
    );
    body(&mut h, R0, "hel");
    h.app(AppCommand::Abort { request: R1 }).unwrap();
    assert!(!lost(&h, R0), "request 0 did nothing wrong");
    body(&mut h, R0, "lo");
    finish(&mut h, R0);
    assert!(h.take_wire().ends_with("\r\n\r\nhello"));
}

/// RFC 9110 §8.6: no Content-Length on a 204 (or a 1xx): the head is refused with
/// `UsageError::FramingHeader`. Found in review: it was written as is.
#[test]
fn a_204_with_a_content_length_is_refused() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    let result = h.app(AppCommand::SendHead {
        request: R0,
        head: ResponseHead::new(204).with_header("Content-Length", "5"),
    });
    let wire = h.take_wire();
    assert!(
        result.is_err() || !wire.contains("Content-Length"),
        "{wire:?}"
    );
}

/// A 2xx to CONNECT would start a tunnel (RFC 9110 §9.3.6), which twine does not do: refused
/// with `UsageError::Unsupported`, never framed chunked (Twisted #9076). Found in review.
#[test]
fn a_2xx_to_connect_is_refused() {
    let mut h = Harness::new(bare());
    h.send("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n");
    assert_eq!(h.request_ids(), [R0]);
    let result = h.app(AppCommand::SendHead {
        request: R0,
        head: ResponseHead::new(200),
    });
    let wire = h.take_wire();
    assert!(
        result.is_err() || !wire.contains("Transfer-Encoding"),
        "{wire:?}"
    );
}

/// `Expect: 100-continue`: after the lazy 100 went out, an app's own 100 is not sent again (a
/// one-time signal, RFC 9110 §15.2.1). Found in review: two went out.
#[test]
fn only_one_100_continue() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
    consume(&mut h, R0, 3);
    h.app(AppCommand::SendInformational {
        request: R0,
        head: ResponseHead::new(100),
    })
    .unwrap();
    let wire = h.take_wire();
    assert_eq!(count(&wire, "100 Continue"), 1, "{wire:?}");
}

// ------------------------------------------------------------------------------------------
// Regression tests: ideas probed that turned out fine
// ------------------------------------------------------------------------------------------

/// Regression. Bad commands between good ones change nothing: the wire is the same as without
/// them (error.rs: "Nothing was written").
#[test]
fn misuse_between_good_commands_changes_nothing() {
    let run = |misuse: bool| {
        let mut h = Harness::new(depth(2));
        h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
        let bad = |h: &mut Harness| {
            if !misuse {
                return;
            }
            for command in [
                AppCommand::SendBody {
                    request: R0,
                    data: "x".into(),
                },
                AppCommand::Finish { request: R0 },
                AppCommand::SendHead {
                    request: R0,
                    head: ResponseHead::new(200).with_header("A", "b\nc"),
                },
                AppCommand::SendHead {
                    request: R0,
                    head: ResponseHead::new(99),
                },
                AppCommand::SendInformational {
                    request: R0,
                    head: ResponseHead::new(200),
                },
                AppCommand::SendHead {
                    request: RequestId::from_sequence(9),
                    head: ResponseHead::new(200),
                },
            ] {
                assert!(h.app(command).is_err());
            }
        };
        bad(&mut h);
        consume(&mut h, R0, 4);
        bad(&mut h);
        h.send("abcd");
        head(
            &mut h,
            R0,
            ResponseHead::new(200).with_header("Content-Length", "2"),
        );
        if misuse {
            let long = AppCommand::SendBody {
                request: R0,
                data: "xyz".into(),
            };
            assert_eq!(h.app(long), Err(UsageError::BodyTooLong));
            assert_eq!(
                h.app(AppCommand::Finish { request: R0 }),
                Err(UsageError::BodyTooShort)
            );
        }
        body(&mut h, R0, "ok");
        finish(&mut h, R0);
        (h.take_wire(), h.log.clone())
    };
    assert_eq!(run(true), run(false));
}

/// Regression. A FIN in the middle of a body, before the app granted any credit, does not
/// lose the request while buffered body bytes remain for the app; once they are consumed the
/// request is lost and the connection closes (no hang).
#[test]
fn fin_mid_body_without_credit_waits_for_the_app_then_loses() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234");
    h.send_eof();
    assert!(!lost(&h, R0));
    consume(&mut h, R0, 100);
    assert_eq!(h.body(R0), b"01234");
    assert!(lost(&h, R0));
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
}

/// Regression. A FIN after a body that was complete on the wire but not yet consumed: the app
/// still gets the whole body and can answer.
#[test]
fn fin_after_a_complete_unconsumed_body_still_answers() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd");
    h.send_eof();
    consume(&mut h, R0, 4);
    assert_eq!(h.body(R0), b"abcd");
    answer(&mut h, R0, "ok");
    let wire = h.take_wire();
    assert!(wire.contains("Connection: close\r\n"), "{wire:?}");
    assert_eq!(h.closed(), Some(CloseReason::Graceful));
}

/// Regression. Huge and repeated credit saturates; time going backwards and a timeout before
/// any deadline are harmless.
#[test]
fn huge_credit_backwards_time_and_early_timeouts() {
    let mut h = Harness::new(bare());
    h.now = Instant::from_millis(10_000);
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
    consume(&mut h, R0, u64::MAX);
    consume(&mut h, R0, u64::MAX);
    consume(&mut h, R0, u64::MAX);
    assert_eq!(h.body(R0), b"abc");
    let deadline = h.channel.poll_timeout();
    h.input(Input::Timeout {
        now: Instant::from_millis(1),
    });
    h.input(Input::Timeout {
        now: Instant::from_millis(10_001),
    });
    assert_eq!(h.channel.poll_timeout(), deadline);
    h.now = Instant::from_millis(5);
    answer(&mut h, R0, "ok");
    assert!(h.take_wire().ends_with("ok"));
    assert_eq!(h.closed(), None);
    assert!(h.channel.poll_timeout().unwrap() >= Instant::from_millis(10_000));
}

/// Regression. HEAD keeps the app's Content-Length, drops the body, and the connection stays
/// in sync: the next request is parsed from the right byte.
#[test]
fn head_with_a_length_and_a_body_stays_in_sync() {
    let mut h = Harness::new(bare());
    h.send("HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    answer(&mut h, R0, "hello");
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    );
    assert_eq!(h.request_ids(), [R0, R1]);
    answer(&mut h, R1, "x");
    assert_eq!(
        h.take_wire(),
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"
    );
}

/// Regression. A producer: registered, then the response finishes (Stopped), then the app
/// unregisters: refused as finished, with nothing else reported.
#[test]
fn register_finish_unregister() {
    let mut h = Harness::new(bare());
    h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    head(&mut h, R0, ResponseHead::new(200));
    h.app(AppCommand::RegisterProducer {
        request: R0,
        kind: ProducerKind::Push,
    })
    .unwrap();
    finish(&mut h, R0);
    assert_eq!(
        h.app(AppCommand::UnregisterProducer { request: R0 }),
        Err(UsageError::AlreadyFinished)
    );
    assert_eq!(
        h.producer_states(R0),
        [ProducerState::Producing, ProducerState::Stopped]
    );
}

/// Regression. Pull producers with depth 2: the queued one is pulled until its queue reaches
/// the bound, then paused; at the front it is pulled again; responses stay in order.
#[test]
fn pull_producers_with_depth_two() {
    let mut limits = Limits::default();
    limits.pipeline_depth_max = 2;
    limits.send_buffer_bytes_max = 64;
    let mut h = Harness::new(Config { limits, ..bare() });
    h.send("GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
    let pulls = |h: &Harness, id: RequestId| {
        h.events()
            .iter()
            .filter(|e| matches!(e, Event::Pull { id: i } if *i == id))
            .count()
    };
    for id in [R0, R1] {
        head(&mut h, id, ResponseHead::new(200));
        h.app(AppCommand::RegisterProducer {
            request: id,
            kind: ProducerKind::Pull,
        })
        .unwrap();
    }
    let mut sent = 0;
    while h.producer_states(R1).last() == Some(&ProducerState::Producing) {
        assert_eq!(pulls(&h, R1), sent + 1);
        body(&mut h, R1, "0123456789");
        sent += 1;
        assert!(sent < 20, "the queue bound never paused the producer");
    }
    assert_eq!(h.producer_states(R1).last(), Some(&ProducerState::Paused));
    finish(&mut h, R1);
    body(&mut h, R0, "first");
    finish(&mut h, R0);
    let wire = h.take_wire();
    let first = wire.find("first").unwrap();
    let second = wire.find("0123456789").unwrap();
    assert!(first < second, "{wire:?}");
    assert!(wire.ends_with("0\r\n\r\n"));
}

/// Regression. `body_bytes_max` with a chunked body whose size lines arrive split across
/// reads: refused with 413 once the sizes add up past the limit, whatever the split.
#[test]
fn chunked_body_limit_across_reads() {
    for bytewise in [false, true] {
        let mut limits = Limits::default();
        limits.body_bytes_max = Some(8);
        let mut h = Harness::dummy(Config { limits, ..bare() });
        let input = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
                     5\r\nabcde\r\n4\r\nfghi\r\n0\r\n\r\n";
        if bytewise {
            h.send_bytewise(input);
        } else {
            h.send(input);
        }
        let wire = h.take_wire();
        assert!(wire.starts_with("HTTP/1.1 413 "), "{wire:?}");
        assert_eq!(h.body(R0), b"abcde");
    }
}

/// Regression. Drain in each state: idle, mid-head, mid-body, while the app answers, while
/// lingering and while blocked; every run ends closed, and no panic.
#[test]
fn drain_in_every_state_ends_closed() {
    let scripts: [&dyn Fn(&mut Harness); 6] = [
        &|_| {},
        &|h| h.send("GET / HT"),
        &|h| {
            h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab");
            consume(h, R0, 4);
        },
        &|h| h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"),
        &|h| h.advance_secs(60),
        &|h| {
            h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
            head(h, R0, ResponseHead::new(200));
            h.transport(TransportState::Blocked);
        },
    ];
    for script in scripts {
        let mut h = Harness::new(bare());
        script(&mut h);
        h.app(AppCommand::Drain).unwrap();
        if h.closed().is_none() {
            h.send("cd");
            h.transport(TransportState::Writable);
            let head = ResponseHead::new(200).with_header("Content-Length", "0");
            let _ = h.app(AppCommand::SendHead { request: R0, head });
            let _ = h.app(AppCommand::Finish { request: R0 });
        }
        assert!(h.channel.is_closed(), "{:?}", h.log);
    }
}

/// Regression. Connection loss in each state: every request in flight is lost, every
/// producer stopped, no timer left.
#[test]
fn connection_lost_in_every_state() {
    let scripts: [&dyn Fn(&mut Harness); 4] = [
        &|h| h.send("GET / HT"),
        &|h| h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab"),
        &|h| {
            h.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
            head(h, R0, ResponseHead::new(200));
            h.app(AppCommand::RegisterProducer {
                request: R0,
                kind: ProducerKind::Push,
            })
            .unwrap();
        },
        &|h| h.advance_secs(60),
    ];
    for script in scripts {
        let mut h = Harness::new(bare());
        script(&mut h);
        let now = h.now;
        h.input(Input::ConnectionLost { now });
        assert!(h.channel.is_closed());
        assert_eq!(h.channel.poll_timeout(), None);
        for id in h.request_ids() {
            assert!(lost(&h, id));
            let states = h.producer_states(id);
            assert!(states.is_empty() || states.last() == Some(&ProducerState::Stopped));
        }
        let closes = h
            .log
            .iter()
            .filter(|o| matches!(o, Output::Close(_)))
            .count();
        assert_eq!(closes, 1);
    }
}
