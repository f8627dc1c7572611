//! `hello`: every request gets `200` with the 12-byte body `hello world\n` and its
//! `Content-Length`, the work reference servers do in benchmarks, so comparisons are fair.
//! A request body is not read (an early reply: the connection closes after the response).

use bytes::Bytes;
use twine_engine::{AppCommand, Event, Header, Headers, Instant, ResponseHead};

use twine_driver::App;

/// The body, one static buffer for every response.
const BODY: &[u8; 12] = b"hello world\n";

/// The fields, one static list for every response: nothing allocated or freed per request.
static FIELDS: [Header; 2] = [
    Header::from_static("Content-Type", "text/plain"),
    Header::from_static("Content-Length", "12"),
];

/// The hello app for one connection. It keeps no state.
#[derive(Debug, Default)]
pub struct Hello;

impl Hello {
    /// A new hello app.
    pub fn new() -> Hello {
        Hello
    }
}

impl App for Hello {
    fn on_event(&mut self, _now: Instant, event: Event, commands: &mut Vec<AppCommand>) {
        let Event::Request { id: request, .. } = event else {
            return;
        };
        let head = ResponseHead {
            headers: Headers::from_static(&FIELDS),
            ..ResponseHead::new(200)
        };
        let body = Bytes::from_static(BODY);
        commands.push(AppCommand::Respond {
            request,
            head,
            body,
        });
    }
}
