//! `hello`: every request gets `200` with the 12-byte body `hello world\n` and its
//! `Content-Length`, the work reference servers do in benchmarks, so comparisons are fair.
//! A request body is not read (an early reply: the connection closes after the response).

use bytes::Bytes;
use twine_engine::{AppCommand, Event, Headers, Instant, ResponseHead};

use crate::App;

/// The body, one static buffer for every response.
const BODY: &[u8; 12] = b"hello world\n";

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
        // Sized for its two fields: one allocation, no growth.
        let headers = Headers::with_capacity(2)
            .with("Content-Type", "text/plain")
            .with("Content-Length", "12");
        let head = ResponseHead {
            headers,
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
