//! The `/misuse/...` routes of the api app but `write-while-paused` (whose state the app
//! keeps): each sends commands the channel must refuse, then a correct response. A refused
//! command writes nothing, so the client sees only the correct one; the driver reports each
//! typed `UsageError` to its observer (the simulation's trace).

use bytes::Bytes;
use twine_engine::{AppCommand, ProducerKind, RequestId, ResponseHead};

use super::route::Misuse;
use super::{ok, respond, respond_whole, text_head};

/// The commands of `misuse`.
pub(super) fn answer(commands: &mut Vec<AppCommand>, request: RequestId, misuse: Misuse) {
    match misuse {
        Misuse::SecondProducer => {
            let head = text_head(200).with_header("Content-Length", "3");
            commands.push(AppCommand::SendHead { request, head });
            for kind in [ProducerKind::Push, ProducerKind::Pull] {
                commands.push(AppCommand::RegisterProducer { request, kind });
            }
            commands.push(AppCommand::UnregisterProducer { request });
            commands.push(AppCommand::SendBody {
                request,
                data: ok(),
            });
            commands.push(AppCommand::Finish { request });
        }
        Misuse::BodyAfterFinish => {
            respond(commands, request, 200, ok());
            let data = Bytes::from_static(b"late");
            commands.push(AppCommand::SendBody { request, data });
        }
        Misuse::LateHints => {
            let head = text_head(200).with_header("Content-Length", "3");
            commands.push(AppCommand::SendHead { request, head });
            let head = ResponseHead::new(103);
            commands.push(AppCommand::SendInformational { request, head });
            commands.push(AppCommand::SendBody {
                request,
                data: ok(),
            });
            commands.push(AppCommand::Finish { request });
        }
        Misuse::InformationalStatuses => {
            // A 101 would switch protocols; a 200 would be the final head in disguise.
            for status in [101, 200] {
                let head = ResponseHead::new(status);
                commands.push(AppCommand::SendInformational { request, head });
            }
            respond(commands, request, 200, ok());
        }
        Misuse::Framing => {
            let head = text_head(200).with_header("Transfer-Encoding", "chunked");
            commands.push(AppCommand::SendHead { request, head });
            respond(commands, request, 200, ok());
        }
        Misuse::BodyLengths => body_lengths(commands, request),
        Misuse::Heads => {
            for head in refused_heads() {
                commands.push(AppCommand::SendHead { request, head });
            }
            respond(commands, request, 200, ok());
        }
    }
}

/// `/misuse/body-lengths`: each body that does not match its length is refused and writes
/// nothing, whole (`Respond`) or written (`SendBody`).
fn body_lengths(commands: &mut Vec<AppCommand>, request: RequestId) {
    for length in ["10", "2"] {
        let head = text_head(200).with_header("Content-Length", length);
        respond_whole(commands, request, head, Some(ok()));
    }
    let head = text_head(200).with_header("Content-Length", "3");
    commands.push(AppCommand::SendHead { request, head });
    for data in [&b"too long\n"[..], b"o"] {
        let data = Bytes::from_static(data);
        commands.push(AppCommand::SendBody { request, data });
    }
    commands.push(AppCommand::Finish { request });
    let data = Bytes::from_static(b"k\n");
    commands.push(AppCommand::SendBody { request, data });
    commands.push(AppCommand::Finish { request });
}

/// The heads `/misuse/heads` sends, each of which the channel must refuse.
fn refused_heads() -> [ResponseHead; 7] {
    let split = "Set-Cookie: smuggled=1";
    let mut bad_reason = ResponseHead::new(200);
    bad_reason.reason = Some(Bytes::from(format!("OK\r\n{split}")));
    [
        text_head(1000),
        text_head(600),
        bad_reason,
        text_head(200).with_header("X-Note", format!("ok\r\n{split}")),
        ResponseHead::new(204).with_header("Content-Length", "0"),
        text_head(200)
            .with_header("Content-Length", "3")
            .with_header("Content-Length", "3"),
        text_head(200).with_header("Content-Length", ""),
    ]
}
