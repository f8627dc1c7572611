//! Adversarial review: each test names a suspected bug and says, in its doc comment, what should
//! happen and why (DESIGN.md §2 or the RFC). Tests marked *regression* probe an idea that turned
//! out fine and are kept so it stays fine.
//!
//! Method: the `Harness` drives one channel with virtual time, never reading past the receive
//! window, and the assertions look only at what a peer or an app can observe: the wire, the
//! events, producer states, shutdown and close.

use super::harness::{bare, count, Harness};
use crate::{
    AppCommand, CloseReason, Config, Event, Input, Instant, Limits, Output, ProducerKind,
    ProducerState, RequestId, ResponseHead, TransportState, UsageError,
};

const R0: RequestId = RequestId(0);
const R1: RequestId = RequestId(1);

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
// Suspected bugs
// ------------------------------------------------------------------------------------------

/// The app reads part of a body (credit granted, so not an early reply), then answers and
/// finishes before the rest of the body has arrived. The response goes out *without*
/// `Connection: close` (nothing marked it the last one), yet the channel then closes: the
/// finished exchange leaves the queue, `receive_body` no longer finds it and closes the
/// receive side, and the connection lingers shut.
///
/// DESIGN.md §2 (Persistence): "The last response on a connection carries `Connection:
/// close`", and RFC 9112 §9.6: a server that closes after a response SHOULD say so in it.
/// A client that believes the connection persistent sends its next request into a lingering
/// close. Either the body must be read to its end (discarded) and the connection kept, or the
/// response must say `Connection: close`.
#[test]
fn finishing_before_the_body_ends_closes_without_connection_close() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n01234");
    consume(&mut h, R0, 5);
    assert_eq!(h.body(R0), b"01234");
    answer(&mut h, R0, "ok");
    let wire = h.take_wire();
    let closing = h.shut_down() || h.closed().is_some();
    if closing {
        assert!(
            wire.contains("\r\nConnection: close\r\n"),
            "the channel closes after a response that did not say so: {wire:?}"
        );
    } else {
        // The other correct outcome: the rest of the body is read and the connection goes on.
        h.send("56789GET /2 HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(h.request_ids(), [R0, R1]);
    }
}

/// The whole request (head and all ten body bytes) is on our side, buffered, but the app has
/// not granted credit yet (a slow auth check, say). The body idle timer runs anyway, because
/// it is armed whenever the receive side is in `Body` with an open window, and after 60 s the
/// client that sent everything at once gets `408 Request Timeout` and the request is lost.
///
/// DESIGN.md §2 (Timeouts): the body read timer is "body read idle" — silence *from the peer*
/// while a body is received (`Timer::BodyRead`: "Silence while a request body is received").
/// Here the peer is not silent, it is done: the channel waits on the app, not on the peer, so
/// no read timer should run (as while the window is 0), and a 408 blames the wrong side.
#[test]
fn body_read_timer_fires_although_the_whole_body_is_buffered() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789");
    h.advance_secs(61);
    let wire = h.take_wire();
    assert!(!wire.contains("408"), "408 for a complete request: {wire:?}");
    assert!(!lost(&h, R0), "the request was lost while the app held it");
    consume(&mut h, R0, 10);
    assert_eq!(h.body(R0), b"0123456789");
}

/// `Expect: 100-continue`: the client waits for our `100 Continue`, which (lazily, as web2)
/// goes out only when the app grants credit. While the app has not decided, the body idle
/// timer runs against the client, and after 60 s it gets `408 Request Timeout` for waiting as
/// it was told to (RFC 9110 §10.1.1: the client waits for the 100 before sending the body).
///
/// DESIGN.md §2 (Expect, Timeouts): the 100 is lazy, and the body timer measures the peer's
/// silence while a body is received; before the 100 is sent no body is being received, the
/// channel is waiting on its own app. No 408 should be sent.
#[test]
fn body_read_timer_runs_while_the_client_waits_for_100_continue() {
    let mut h = Harness::new(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
    h.advance_secs(61);
    let wire = h.take_wire();
    assert!(!wire.contains("408"), "408 before the 100 was sent: {wire:?}");
    assert!(!lost(&h, R0));
}

/// With `pipeline_depth_max` 2, the head deadline armed for the first request (at accept) is
/// not restarted for the second one when the second head starts in the same read as the end
/// of the first: the receive side stays in `AwaitingHead` through the dispatch, so
/// `TimerTable::arm` keeps the old deadline. A request whose first byte arrived at 59 s gets
/// `408` at 60 s.
///
/// DESIGN.md §2 (Timeouts) and `Timeouts::header_read`: the head deadline is the "total time
/// to receive a request head, from its first byte (or from the end of the previous
/// response)". With depth 1 the timer is restarted (the receive side passes through `Done`);
/// depth 2 must not give a pipelined request a shorter deadline.
#[test]
fn head_deadline_is_carried_over_to_a_pipelined_request() {
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

/// RFC 9112 §2.2: a server SHOULD ignore an empty line before a request line (old clients
/// send a CRLF after a POST body), and twine tolerates one. But once the response is done, a
/// stray CRLF in the buffer counts as a started request: the head deadline (60 s) runs
/// instead of the keep-alive idle timer (15 s), and when it fires the idle client is sent an
/// unsolicited `408 Request Timeout`.
///
/// DESIGN.md §2 (Timeouts): "Timing out closes without a response on an idle connection, or
/// with 408 where a request was started"; the keep-alive idle timeout is 15 s. A CRLF that the
/// parser ignores does not start a request, so the connection should close silently at 15 s.
/// (An unsolicited 408 on an idle keep-alive connection is also the classic race where a
/// client reads it as the answer to the request it sends meanwhile.)
#[test]
fn a_stray_crlf_after_a_body_turns_idle_close_into_a_408() {
    let mut h = Harness::dummy(bare());
    h.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab\r\n");
    assert!(h.take_wire().starts_with("HTTP/1.1 200 OK\r\n"));
    h.advance_secs(16);
    let wire = h.take_wire();
    assert!(!wire.contains("408"), "unsolicited 408: {wire:?}");
    assert!(h.shut_down(), "the keep-alive idle timeout (15 s) applies");
    assert_eq!(h.protocol_errors(), []);
}

/// With depth 2, request 1's response is finished and queued behind request 0's. Then the
/// connection is lost: the app is told `Lost` for request 0 but not for request 1, whose
/// response never reached the wire (`lose_exchanges_from` skips settled exchanges). The same
/// silent drop happens when request 0's response turns out to be the last one (close-delimited
/// HTTP/1.0, or `Connection: close` from the app) after request 1 was answered.
///
/// `Event::Lost`: "The request is lost: the connection closed ... Its response can no longer be
/// sent". The response of request 1 was never sent, so the app (which may have performed a
/// non-idempotent action for it, and logs it as answered) must be told.
#[test]
fn a_finished_but_queued_response_is_dropped_without_lost() {
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

/// Same drop, through persistence: request 0 (HTTP/1.0 keep-alive) is answered without a
/// length, so its response is close-delimited and the last one; request 1 had already been
/// answered in full and is discarded without `Lost`. web2 avoided this by never pipelining
/// behind an HTTP/1.0 keep-alive request (`PERSIST_NO_PIPELINE`, notes/twisted.md §3).
#[test]
fn a_close_delimited_response_drops_a_finished_later_one_without_lost() {
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

/// With depth 2, the app aborts request 1 (queued, nothing of it on the wire) while request
/// 0's response is half written. `Abort` closes the whole connection at once, so request 0's
/// response is truncated and request 0 is lost, although nothing was wrong with it.
///
/// DESIGN.md §2: responses leave strictly in order and "a response already in progress is
/// never corrupted"; `SendState::Aborted` exists for exactly this ("once the bytes queued
/// before this point are written, the connection closes"). Aborting a queued response should
/// let the responses before it finish, then close. (Confidence lower: `AppCommand::Abort`'s
/// doc says "closed at once", written with the front exchange in mind.)
#[test]
fn aborting_a_queued_request_truncates_the_response_in_front() {
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

/// The app answers 204 with a `Content-Length: 5`; the channel writes it as is (the body is
/// dropped, as it must be). RFC 9110 §8.6: "A server MUST NOT send a Content-Length header
/// field in any response with a status code of 1xx (Informational) or 204 (No Content)".
/// DESIGN.md §2 (Response framing) says the channel owns framing and refuses heads that would
/// break it; this one should be refused (`UsageError`) or written without the field.
#[test]
fn a_204_is_sent_with_the_apps_content_length() {
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

/// A 2xx response to `CONNECT` without a length is framed chunked. RFC 9110 §9.3.6: "A server
/// MUST NOT send any Transfer-Encoding or Content-Length header fields in a 2xx (Successful)
/// response to CONNECT", and RFC 9112 §6.3 rule 2 makes the client treat the bytes after the
/// head as a tunnel, not as chunks. This is Twisted #9076 (notes/twisted.md §8), which twine
/// repeats. Either refuse the head or send it without framing and close.
#[test]
fn a_2xx_to_connect_is_framed_chunked() {
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

/// `Expect: 100-continue`: the app grants credit (the channel sends `100 Continue`), then also
/// sends a 100 itself with `SendInformational`: a second `100 Continue` goes out. In the other
/// order (`SendInformational` 100 first, then `Consume`) the channel sends only one, so the
/// channel means to send the 100 once; RFC 9110 §15.2.1 makes 100 a one-time signal that the
/// request "has not yet been rejected". Low severity (clients must skip any number of 1xx).
#[test]
fn a_second_100_continue_after_the_lazy_one() {
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
                    request: RequestId(9),
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
    assert_eq!(h.take_wire(), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
    assert_eq!(h.request_ids(), [R0, R1]);
    answer(&mut h, R1, "x");
    assert_eq!(h.take_wire(), "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
}

/// Regression. A producer: registered, then the response finishes (Stopped), then the app
/// unregisters: refused as unknown, with nothing else reported.
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
        Err(UsageError::UnknownRequest)
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
