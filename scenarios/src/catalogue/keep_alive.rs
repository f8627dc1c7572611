//! Keep-alive and persistence: HTTP/1.1 by default, HTTP/1.0 only with `Connection:
//! keep-alive` (answered in kind, as web2), `Connection` as a comma-separated token list, and
//! the idle timer between requests.

use std::time::Duration;

use twine_sim::{Action, ClientScript, Seed};

use super::expect::{all, clean_eof, in_order, statuses};
use super::{echo, quick_config, Entry};
use twine_engine::Timer;
use twine_sim::pattern::{bytes_received, client, server, timer_fired, timer_set};
use twine_sim::{ClientEvent, ServerEvent};

const FAMILY: &str = "keep_alive";

pub(super) const ENTRIES: &[Entry] = &[
    Entry {
        family: FAMILY,
        name: "http11_persistent",
        about: "HTTP/1.1 keeps the connection open between requests; `Connection: close` ends it",
        seed: 1,
        build: |seed: Seed| {
            let mut s = echo("keep_alive/http11_persistent", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("GET /one HTTP/1.1\r\nHost: h\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(100)))
                    .send("POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc")
                    .then(Action::Sleep(Duration::from_millis(100)))
                    .send("GET /three HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
            );
            let _ = seed;
            s
        },
        expect: |o| all([statuses(o, 0, &[200, 200, 200]), clean_eof(o, 0), in_order(o, &[server(ServerEvent::ShutdownWrite), client(ClientEvent::Eof)])]),
    },
    Entry {
        family: FAMILY,
        name: "http10_keep_alive",
        about: "HTTP/1.0 with `Connection: keep-alive` is answered `Connection: keep-alive` and stays open",
        seed: 1,
        build: |_| {
            let mut s = echo("keep_alive/http10_keep_alive", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(50)))
                    .send("GET /b HTTP/1.0\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 200]),
                in_order(o, &[bytes_received(b"Connection: keep-alive\r\n"), bytes_received(b"Connection: close\r\n"), client(ClientEvent::Eof)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "http10_closes_by_default",
        about: "HTTP/1.0 without keep-alive gets one response with `Connection: close`; a pipelined second request is never read",
        seed: 1,
        build: |_| {
            let mut s = echo("keep_alive/http10_closes_by_default", quick_config());
            s.clients.push(ClientScript::new().send("GET / HTTP/1.0\r\n\r\nGET /never HTTP/1.0\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[200]), in_order(o, &[bytes_received(b"Connection: close\r\n"), client(ClientEvent::Eof)])]),
    },
    Entry {
        family: FAMILY,
        name: "connection_token_list",
        about: "`Connection: keep-alive, close` is a token list containing close (Twisted split on spaces only)",
        seed: 1,
        build: |_| {
            let mut s = echo("keep_alive/connection_token_list", quick_config());
            s.clients.push(
                ClientScript::new().send("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive,close\r\n\r\n"),
            );
            s
        },
        expect: |o| all([statuses(o, 0, &[200]), in_order(o, &[bytes_received(b"Connection: close\r\n"), client(ClientEvent::Eof)])]),
    },
    Entry {
        family: FAMILY,
        name: "http10_keep_alive_and_close",
        about: "HTTP/1.0 with `Connection: keep-alive, close`: the list holds close, which wins over keep-alive (RFC 9112 §9.3), so one response with `Connection: close`; a pipelined second request is never read",
        seed: 1,
        build: |_| {
            let mut s = echo("keep_alive/http10_keep_alive_and_close", quick_config());
            s.clients.push(ClientScript::new().send("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\nGET /never HTTP/1.0\r\n\r\n"));
            s
        },
        expect: |o| all([statuses(o, 0, &[200]), in_order(o, &[bytes_received(b"Connection: close\r\n"), client(ClientEvent::Eof)])]),
    },
    Entry {
        family: FAMILY,
        name: "tokens_in_any_case",
        about: "Connection tokens are case-insensitive (RFC 9110 §7.6.1): an HTTP/1.0 `Connection: Keep-Alive`, as ApacheBench and many HTTP/1.0 clients write it, keeps the connection open, and an HTTP/1.1 `Connection: CLOSE` after it ends it",
        seed: 1,
        build: |_| {
            let mut s = echo("keep_alive/tokens_in_any_case", quick_config());
            s.clients.push(
                ClientScript::new()
                    .send("GET /a HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
                    .then(Action::Sleep(Duration::from_millis(50)))
                    .send("GET /b HTTP/1.1\r\nHost: h\r\nConnection: CLOSE\r\n\r\n"),
            );
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200, 200]),
                in_order(o, &[bytes_received(b"Connection: keep-alive\r\n"), bytes_received(b"Connection: close\r\n"), client(ClientEvent::Eof)]),
            ])
        },
    },
    Entry {
        family: FAMILY,
        name: "idle_timeout",
        about: "an idle keep-alive connection is closed by the idle timer, without a response",
        seed: 1,
        build: |_| {
            let mut s = echo("keep_alive/idle_timeout", quick_config());
            s.clients.push(ClientScript::new().send("GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
            s
        },
        expect: |o| {
            all([
                statuses(o, 0, &[200]),
                in_order(o, &[timer_set(Timer::IdleKeepAlive), timer_fired(Timer::IdleKeepAlive), server(ServerEvent::ShutdownWrite), client(ClientEvent::Eof)]),
            ])
        },
    },
];
