//! Properties over all inputs (proptest): for any request stream, valid or not, and any split of
//! it into reads, the channel writes the same bytes, raises the same events and closes the same
//! way; and no input makes it panic.
//!
//! Method: streams are built from a small grammar of good and bad requests (so the properties
//! reach deep states, not just the first parse error), cut at random points, and run through
//! two harnesses with the dummy app. Body chunks are compared as whole bodies, since chunk
//! boundaries follow the reads by design.

use proptest::prelude::*;

use super::harness::{bare, Harness};
use crate::{Config, Event, Limits, Output};

fn piece() -> impl Strategy<Value = Vec<u8>> {
    let body = proptest::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        Just(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n".to_vec()),
        Just(b"HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n".to_vec()),
        Just(b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n".to_vec()),
        Just(b"GET /close HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".to_vec()),
        body.clone().prop_map(|b| {
            let mut r = format!(
                "POST /cl HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
                b.len()
            )
            .into_bytes();
            r.extend(b);
            r
        }),
        proptest::collection::vec(body, 0..4).prop_map(|chunks| {
            let mut r =
                b"POST /te HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            for c in chunks.iter().filter(|c| !c.is_empty()) {
                r.extend(format!("{:X};ext=1\r\n", c.len()).into_bytes());
                r.extend(c);
                r.extend(b"\r\n");
            }
            r.extend(b"0\r\nTrailer: t\r\n\r\n");
            r
        }),
        Just(
            b"POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc"
                .to_vec()
        ),
        Just(b"\r\n".to_vec()),
        Just(b"GET  / HTTP/1.1\r\n\r\n".to_vec()),
        Just(
            b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec()
        ),
        Just(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec()),
        Just(b"GET / HTTP/2.0\r\n\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..20),
    ]
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(piece(), 1..8).prop_map(|pieces| pieces.concat())
}

/// What must not depend on how the input was cut.
#[derive(Debug, PartialEq, Eq)]
struct Observed {
    wire: Vec<u8>,
    events: Vec<String>,
    bodies: Vec<Vec<u8>>,
    close: Vec<String>,
}

fn run(config: Config, input: &[u8], cuts: &[usize]) -> Observed {
    let mut h = Harness::dummy(config);
    let mut start = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    for cut in cuts.into_iter().chain([input.len()]) {
        h.send(&input[start..cut.max(start)]);
        start = cut.max(start);
    }
    h.send_eof();
    let events = h
        .events()
        .into_iter()
        .filter(|e| !matches!(e, Event::Body { .. }))
        .map(|e| format!("{e:?}"))
        .collect();
    let bodies = h
        .request_ids()
        .into_iter()
        .map(|id| h.body(id).to_vec())
        .collect();
    let close = h
        .log
        .iter()
        .filter(|o| matches!(o, Output::ShutdownWrite | Output::Close(_)))
        .map(|o| format!("{o:?}"))
        .collect();
    Observed {
        wire: std::mem::take(&mut h.wire),
        events,
        bodies,
        close,
    }
}

fn configs() -> impl Strategy<Value = Config> {
    (1usize..4, prop_oneof![Just(16_384usize), Just(64), Just(7)]).prop_map(|(depth, buffer)| {
        let mut limits = Limits::default();
        limits.pipeline_depth_max = depth;
        limits.recv_buffer_bytes_max = buffer;
        Config { limits, ..bare() }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_split_gives_the_same_outputs(
        config in configs(),
        input in stream(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let whole = run(config.clone(), &input, &[]);
        let split = run(config.clone(), &input, &cuts);
        prop_assert_eq!(&whole, &split);
        let mut bytewise_cuts: Vec<usize> = (1..input.len()).collect();
        bytewise_cuts.truncate(400);
        let bytewise = run(config, &input, &bytewise_cuts);
        prop_assert_eq!(whole, bytewise);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        config in configs(),
        input in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        run(config, &input, &cuts);
    }
}
