//! Goal: the stream states follow RFC 9113 §5.1 for every state and frame: the diagram's
//! transitions, the frames each state ignores, and the error (code and scope) for each frame
//! a state forbids. Method: the full table of received frames, written out as literal
//! expectations, and the sends that are ours to get right.

use crate::h2::frame::{ErrorCode, FrameError, StreamId};
use crate::h2::stream::{ClosedBy, IllegalSend, Received, Sent, StreamState, Verdict};

const ID: StreamId = StreamId::new(1);

fn h(end_stream: bool) -> Received {
    Received::Headers { end_stream }
}

fn d(end_stream: bool) -> Received {
    Received::Data { end_stream }
}

#[test]
fn every_received_frame_in_every_state() {
    use ClosedBy::*;
    use ErrorCode::{ProtocolError, StreamClosed};
    use Received::{Priority, PushPromise, RstStream, WindowUpdate};
    use StreamState::*;
    use Verdict::{Accept, Ignore};
    let ok = |state, verdict| Ok((state, verdict));
    let conn = |code| Err(FrameError::Connection(code));
    let stream = |code| Err(FrameError::Stream(ID, code));
    type Row = (
        StreamState,
        Received,
        Result<(StreamState, Verdict), FrameError>,
    );
    let table: Vec<Row> = vec![
        (Idle, h(false), ok(Open, Accept)),
        (Idle, h(true), ok(HalfClosedRemote, Accept)),
        (Idle, d(false), conn(ProtocolError)),
        (Idle, RstStream, conn(ProtocolError)),
        (Idle, WindowUpdate, conn(ProtocolError)),
        (Idle, Priority, ok(Idle, Ignore)),
        (Idle, PushPromise, ok(ReservedRemote, Accept)),
        (ReservedLocal, h(false), conn(ProtocolError)),
        (ReservedLocal, d(true), conn(ProtocolError)),
        (ReservedLocal, RstStream, ok(Closed(RemoteReset), Accept)),
        (ReservedLocal, WindowUpdate, ok(ReservedLocal, Accept)),
        (ReservedLocal, Priority, ok(ReservedLocal, Ignore)),
        (ReservedRemote, h(false), ok(HalfClosedLocal, Accept)),
        (ReservedRemote, h(true), ok(Closed(EndStream), Accept)),
        (ReservedRemote, d(false), conn(ProtocolError)),
        (ReservedRemote, WindowUpdate, conn(ProtocolError)),
        (ReservedRemote, RstStream, ok(Closed(RemoteReset), Accept)),
        (Open, h(false), ok(Open, Accept)),
        (Open, d(false), ok(Open, Accept)),
        (Open, d(true), ok(HalfClosedRemote, Accept)),
        (Open, h(true), ok(HalfClosedRemote, Accept)),
        (Open, RstStream, ok(Closed(RemoteReset), Accept)),
        (Open, WindowUpdate, ok(Open, Accept)),
        (Open, Priority, ok(Open, Ignore)),
        (Open, PushPromise, conn(ProtocolError)),
        (HalfClosedLocal, d(false), ok(HalfClosedLocal, Accept)),
        (HalfClosedLocal, d(true), ok(Closed(EndStream), Accept)),
        (HalfClosedLocal, RstStream, ok(Closed(RemoteReset), Accept)),
        (HalfClosedRemote, d(false), stream(StreamClosed)),
        (HalfClosedRemote, h(true), stream(StreamClosed)),
        (HalfClosedRemote, WindowUpdate, ok(HalfClosedRemote, Accept)),
        (HalfClosedRemote, Priority, ok(HalfClosedRemote, Ignore)),
        (HalfClosedRemote, RstStream, ok(Closed(RemoteReset), Accept)),
        (Closed(LocalReset), d(false), ok(Closed(LocalReset), Ignore)),
        (Closed(LocalReset), h(true), ok(Closed(LocalReset), Ignore)),
        (
            Closed(LocalReset),
            RstStream,
            ok(Closed(LocalReset), Ignore),
        ),
        (Closed(RemoteReset), d(false), stream(StreamClosed)),
        (Closed(RemoteReset), WindowUpdate, stream(StreamClosed)),
        (
            Closed(RemoteReset),
            RstStream,
            ok(Closed(RemoteReset), Ignore),
        ),
        (
            Closed(RemoteReset),
            Priority,
            ok(Closed(RemoteReset), Ignore),
        ),
        (Closed(EndStream), d(false), conn(StreamClosed)),
        (Closed(EndStream), h(true), conn(StreamClosed)),
        (
            Closed(EndStream),
            WindowUpdate,
            ok(Closed(EndStream), Ignore),
        ),
        (Closed(EndStream), RstStream, ok(Closed(EndStream), Ignore)),
        (Closed(EndStream), PushPromise, conn(ProtocolError)),
    ];
    for (state, frame, expected) in table {
        assert_eq!(
            state.recv(ID, frame),
            expected,
            "{state:?} receiving {frame:?}"
        );
    }
}

#[test]
fn a_request_and_its_response_walk_the_diagram() {
    // The server's side of GET: HEADERS with END_STREAM in, HEADERS and DATA out.
    let (state, _) = StreamState::Idle.recv(ID, h(true)).unwrap();
    assert_eq!(state, StreamState::HalfClosedRemote);
    assert!(state.is_active());
    let state = state.send(Sent::Headers { end_stream: false }).unwrap();
    let state = state.send(Sent::Data { end_stream: true }).unwrap();
    assert_eq!(state, StreamState::Closed(ClosedBy::EndStream));
    assert!(!state.is_active());
    // A POST whose response ends first: the peer's data still comes.
    let (state, _) = StreamState::Idle.recv(ID, h(false)).unwrap();
    let state = state.send(Sent::Headers { end_stream: true }).unwrap();
    assert_eq!(state, StreamState::HalfClosedLocal);
    let (state, _) = state.recv(ID, d(true)).unwrap();
    assert_eq!(state, StreamState::Closed(ClosedBy::EndStream));
}

#[test]
fn sends_the_state_forbids_are_refused() {
    use StreamState::*;
    let refused = [
        (Idle, Sent::Data { end_stream: false }),
        (Idle, Sent::RstStream),
        (HalfClosedLocal, Sent::Data { end_stream: true }),
        (ReservedRemote, Sent::Headers { end_stream: false }),
        (Closed(ClosedBy::EndStream), Sent::RstStream),
        (
            Closed(ClosedBy::RemoteReset),
            Sent::Data { end_stream: false },
        ),
    ];
    for (state, sent) in refused {
        assert_eq!(state.send(sent), Err(IllegalSend { state, sent }));
    }
    assert_eq!(Open.send(Sent::RstStream), Ok(Closed(ClosedBy::LocalReset)));
    assert_eq!(
        ReservedLocal.send(Sent::Headers { end_stream: false }),
        Ok(HalfClosedRemote)
    );
}
