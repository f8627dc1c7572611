//! What a request's path asks of the api app: the routes of the module's table, parsed once
//! into a [`Route`], so the app matches on values rather than on bytes.

use std::time::Duration;

use bytes::Bytes;
use twine_engine::{Header, Headers, ResponseHead};

/// The longest `/accept-after/<ms>` wait: an hour (longer is 404).
pub(super) const DEFER_MILLIS_MAX: u64 = 3_600_000;

/// The largest `/respond/<n>` body: 1 MiB (larger is 404), built whole in memory.
pub(super) const RESPOND_BYTES_MAX: usize = 1 << 20;

/// One route of the table in the module doc of `api`.
#[derive(Debug)]
pub(super) enum Route {
    /// `/handover/<n>`.
    Handover(u64),
    /// `/status/<n>`, 200 to 599.
    Status(u16),
    /// `/fixed/<n>[/<r>]`: the head to answer with.
    Fixed(ResponseHead),
    /// `/accept`, `/continue-first` or `/continue-again`.
    Accept { own_continue: OwnContinue },
    /// `/early-answer`: answered at its first body bytes, the rest of the body unread.
    EarlyAnswer,
    /// `/accept-after/<ms>`: as `/accept`, once `ms` milliseconds (at most
    /// [`DEFER_MILLIS_MAX`]) have passed.
    AcceptAfter(Duration),
    /// `/whoami`.
    WhoAmI,
    /// `/hints`: a 103 first.
    Hints,
    /// `/processing`: a 102 first.
    Processing,
    /// `/parts`.
    Parts,
    /// `/respond`.
    Respond,
    /// `/respond/<n>`: `n` bytes (at most [`RESPOND_BYTES_MAX`]) in one `Respond`.
    RespondBytes(usize),
    /// `/close`, `/abort`, `/close-mid-body`, `/abort-mid-body`, `/close-after`,
    /// `/close-after-body`.
    End { after: EndAfter },
    /// `/empty-writes`.
    EmptyWrites,
    /// `/own-fields`.
    OwnFields,
    /// `/request`.
    Request,
    /// `/mirror`.
    Mirror,
    /// `/cookie`.
    Cookie,
    /// `/misuse/write-while-paused`: the one misuse whose state the app keeps.
    WriteWhilePaused,
    /// The other `/misuse/...` routes.
    Misuse(Misuse),
    /// Anything else: 404.
    NotFound,
}

/// Whether `/accept` sends a `100` of the app's own, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OwnContinue {
    /// None: the channel's lazy one only.
    No,
    /// Before the first credit: the client is told to go on at once, and the channel sends
    /// no second one.
    First,
    /// After the first credit, so after the lazy one: the channel drops it.
    Again,
}

/// Where a `Close` or an `Abort` comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EndAfter {
    /// Before any head.
    Nothing { abort: bool },
    /// After 10 of 20 declared body bytes.
    HalfABody { abort: bool },
    /// After 19 of 20 declared body bytes (a `Close`): a cut by the smallest amount.
    AllButOneByte,
    /// After a complete response (a `Close`).
    AResponse,
    /// After every byte its `Content-Length` declares, but before `Finish` (a `Close`).
    AWholeBody,
}

/// The `/misuse/...` routes the app answers at once: commands the channel must refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Misuse {
    SecondProducer,
    BodyAfterFinish,
    LateHints,
    InformationalStatuses,
    Framing,
    BodyLengths,
    Heads,
}

impl Route {
    /// The route `path` names.
    pub(super) fn of(path: &[u8]) -> Route {
        if let Some(total) = number_after(path, b"/handover/") {
            return Route::Handover(total);
        }
        if let Some(status) = number_after::<u16>(path, b"/status/") {
            if (200..=599).contains(&status) {
                return Route::Status(status);
            }
        }
        if let Some(head) = path.strip_prefix(b"/fixed/").and_then(fixed_head) {
            return Route::Fixed(head);
        }
        if let Some(len) = number_after(path, b"/respond/") {
            if len <= RESPOND_BYTES_MAX {
                return Route::RespondBytes(len);
            }
        }
        if let Some(millis) = number_after(path, b"/accept-after/") {
            if millis <= DEFER_MILLIS_MAX {
                return Route::AcceptAfter(Duration::from_millis(millis));
            }
        }
        match path {
            b"/accept" => Route::Accept {
                own_continue: OwnContinue::No,
            },
            b"/continue-first" => Route::Accept {
                own_continue: OwnContinue::First,
            },
            b"/continue-again" => Route::Accept {
                own_continue: OwnContinue::Again,
            },
            b"/early-answer" => Route::EarlyAnswer,
            b"/whoami" => Route::WhoAmI,
            b"/hints" => Route::Hints,
            b"/processing" => Route::Processing,
            b"/parts" => Route::Parts,
            b"/respond" => Route::Respond,
            b"/close" => Route::End {
                after: EndAfter::Nothing { abort: false },
            },
            b"/abort" => Route::End {
                after: EndAfter::Nothing { abort: true },
            },
            b"/close-mid-body" => Route::End {
                after: EndAfter::HalfABody { abort: false },
            },
            b"/abort-mid-body" => Route::End {
                after: EndAfter::HalfABody { abort: true },
            },
            b"/close-one-short" => Route::End {
                after: EndAfter::AllButOneByte,
            },
            b"/close-after" => Route::End {
                after: EndAfter::AResponse,
            },
            b"/close-after-body" => Route::End {
                after: EndAfter::AWholeBody,
            },
            b"/empty-writes" => Route::EmptyWrites,
            b"/own-fields" => Route::OwnFields,
            b"/request" => Route::Request,
            b"/mirror" => Route::Mirror,
            b"/cookie" => Route::Cookie,
            b"/misuse/second-producer" => Route::Misuse(Misuse::SecondProducer),
            b"/misuse/body-after-finish" => Route::Misuse(Misuse::BodyAfterFinish),
            b"/misuse/late-hints" => Route::Misuse(Misuse::LateHints),
            b"/misuse/informational-statuses" => Route::Misuse(Misuse::InformationalStatuses),
            b"/misuse/framing" => Route::Misuse(Misuse::Framing),
            b"/misuse/body-lengths" => Route::Misuse(Misuse::BodyLengths),
            b"/misuse/heads" => Route::Misuse(Misuse::Heads),
            b"/misuse/write-while-paused" => Route::WriteWhilePaused,
            _ => Route::NotFound,
        }
    }
}

/// The `/fixed/` fields: one static list for every such response, as `--app hello`'s, so
/// the channel checks it once and keeps the head it wrote for the next.
static FIXED_FIELDS: [Header; 2] = [
    Header::from_static("Content-Type", "text/plain"),
    Header::from_static("Content-Length", "3"),
];

/// The head `/fixed/<status>[/<reason>]` asks for (a status from 200 to 599 that may carry a
/// body: not 204 or 304), with the static field list.
fn fixed_head(rest: &[u8]) -> Option<ResponseHead> {
    let (status, reason) = match rest.iter().position(|&b| b == b'/') {
        Some(slash) => (&rest[..slash], Some(&rest[slash + 1..])),
        None => (rest, None),
    };
    let status: u16 = std::str::from_utf8(status).ok()?.parse().ok()?;
    if !(200..=599).contains(&status) || status == 204 || status == 304 {
        return None;
    }
    let mut head = ResponseHead::new(status);
    head.headers = Headers::from_static(&FIXED_FIELDS);
    head.reason = reason.map(Bytes::copy_from_slice);
    Some(head)
}

/// The number after `prefix` in `path` (`/status/204`), if that is all there is.
fn number_after<T: std::str::FromStr>(path: &[u8], prefix: &[u8]) -> Option<T> {
    let digits = path.strip_prefix(prefix)?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_routes_stop_at_their_bounds() {
        assert!(matches!(Route::of(b"/respond/0"), Route::RespondBytes(0)));
        assert!(matches!(
            Route::of(b"/respond/1048576"),
            Route::RespondBytes(1_048_576)
        ));
        assert!(matches!(Route::of(b"/respond/1048577"), Route::NotFound));
        assert!(matches!(Route::of(b"/respond/x"), Route::NotFound));
        assert!(matches!(Route::of(b"/respond"), Route::Respond));
        assert!(matches!(Route::of(b"/early-answer"), Route::EarlyAnswer));
        assert!(matches!(
            Route::of(b"/accept-after/3600000"),
            Route::AcceptAfter(d) if d == Duration::from_secs(3600)
        ));
        assert!(matches!(
            Route::of(b"/accept-after/3600001"),
            Route::NotFound
        ));
    }
}
