//! Properties: however a response stream is cut into reads, and however the app grants
//! credit, the client reports the same events.

use proptest::prelude::*;

use super::{Client, Seen};

/// Response streams of every framing, each answering a GET (then the server's FIN).
const RESPONSES: [&[u8]; 6] = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
      5\r\nhello\r\n6;e=1\r\n world\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n\r\nclose-delimited body",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
];

fn run(response: &[u8], cuts: &[usize], credits: &[u64]) -> Vec<Seen> {
    let mut client = Client::new();
    let head = super::request("GET", "/", crate::BodyLength::Known(0));
    client
        .command(crate::AppCommand::SendRequest { head })
        .unwrap();
    let request = crate::RequestId::from_sequence(0);
    client
        .command(crate::AppCommand::Finish { request })
        .unwrap();
    let mut credits = credits.iter().copied();
    let mut at = 0;
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (response.len() + 1)).collect();
    cuts.sort_unstable();
    for cut in cuts.into_iter().chain([response.len()]) {
        client.receive(&response[at..cut]);
        at = cut;
        let bytes = credits.next().unwrap_or(u64::MAX);
        // Credit for a finished exchange is refused, which is fine here.
        let _ = client.command(crate::AppCommand::Consume { request, bytes });
    }
    client.eof();
    let _ = client.command(crate::AppCommand::Consume {
        request,
        bytes: u64::MAX,
    });
    client.seen
}

proptest! {
    #[test]
    fn any_split_and_any_credit_give_the_same_events(
        which in 0..RESPONSES.len(),
        cuts in proptest::collection::vec(0usize..200, 0..12),
        credits in proptest::collection::vec(0u64..8, 0..12),
    ) {
        let response = RESPONSES[which];
        prop_assert_eq!(run(response, &cuts, &credits), run(response, &[], &[]));
    }
}
