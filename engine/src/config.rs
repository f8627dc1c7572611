//! Configuration: every limit and timeout of a channel, with its default and the precedent the
//! default comes from.
//!
//! Twisted's numbers are the defaults (`notes/twisted.md` section 1.1); where twine deliberately
//! differs the comment says so. Relationships between limits are `const` asserts.

use crate::io::Timer;
use crate::time::Duration;

/// Size limits. Names end in their unit and qualifier (TigerBeetle).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest request line, without its line ending. Twisted `LineReceiver.MAX_LENGTH` 16384
    /// (it closes silently; twine answers 414).
    pub request_line_bytes_max: usize,
    /// Longest request head: the lengths of the request line and every header line, without
    /// line endings, summed (Twisted `totalHeadersSize` 16384, which counts the same way). 431.
    pub head_bytes_max: usize,
    /// Most header fields in one head. Twisted `maxHeaders` 500 (the 501st is refused). 431.
    pub header_count_max: usize,
    /// Longest chunk-size line, extensions included, without its line ending. Twisted
    /// `maxChunkSizeLineLength` 1024. 400.
    pub chunk_line_bytes_max: usize,
    /// Most trailer bytes after the last chunk, line endings included. Twisted
    /// `_maxTrailerHeadersSize` 65536. 400.
    pub trailer_bytes_max: usize,
    /// Largest request body. Twisted has no bound (`None`); over it: 413.
    pub body_bytes_max: Option<u64>,
    /// Received bytes buffered while a request is handled (pipelined requests, unconsumed body).
    /// At the bound reading pauses. Twisted `_optimisticEagerReadSize` 16384 (#8692).
    pub recv_buffer_bytes_max: usize,
    /// Bytes the channel emits while the transport is blocked before it refuses more body data
    /// (`SendError::Blocked`); it also bounds each queued pipelined response. Twisted's transport
    /// `bufferSize` is 65536.
    pub send_buffer_bytes_max: usize,
    /// Requests dispatched at once on one connection. Twisted (since 16.3, #8320) handles one
    /// at a time: 1. web2's `maxPipeline` was 4.
    pub pipeline_depth_max: usize,
    /// Bytes a lingering close reads and discards before it gives up and closes. web2 had no
    /// bound (only its 20 s timer); 4 MiB keeps the 1 MB upload of its `testLingeringClose` safe.
    pub linger_bytes_max: u64,
}

impl Limits {
    /// Twisted's defaults (see each field).
    pub const DEFAULT: Limits = Limits {
        request_line_bytes_max: 16_384,
        head_bytes_max: 16_384,
        header_count_max: 500,
        chunk_line_bytes_max: 1_024,
        trailer_bytes_max: 65_536,
        body_bytes_max: None,
        recv_buffer_bytes_max: 16_384,
        send_buffer_bytes_max: 65_536,
        pipeline_depth_max: 1,
        linger_bytes_max: 4 << 20,
    };
}

impl Limits {
    /// The most received bytes a connection buffers: `recv_buffer_bytes_max`, or more when a
    /// legal head or chunk-size line needs it (limits count lines without their endings, so a
    /// head within `head_bytes_max` can be longer on the wire).
    pub(crate) fn recv_buffer_bound(&self) -> usize {
        let head_raw_bytes_max = self.head_bytes_max + 2 * (self.header_count_max + 3);
        let chunk_line_raw_bytes_max = self.chunk_line_bytes_max + 2;
        self.recv_buffer_bytes_max
            .max(head_raw_bytes_max)
            .max(chunk_line_raw_bytes_max)
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

// A whole head must fit in the receive buffer, or a legal head could never be parsed.
const _: () = assert!(Limits::DEFAULT.head_bytes_max <= Limits::DEFAULT.recv_buffer_bytes_max);
const _: () = assert!(Limits::DEFAULT.request_line_bytes_max <= Limits::DEFAULT.head_bytes_max);
const _: () = assert!(Limits::DEFAULT.pipeline_depth_max >= 1);

/// HTTP/2's settings and defences (DESIGN.md §6), each a named limit; Twisted's values (its
/// `h2` 4.4.1 server SETTINGS, `_maxBufferedControlFrameBytes`, its reset bucket) where it has
/// them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct H2Limits {
    /// Our `SETTINGS_HEADER_TABLE_SIZE`: the HPACK table the peer may make us keep. 4096.
    pub header_table_size: u32,
    /// Our `SETTINGS_MAX_CONCURRENT_STREAMS`; a stream past it is refused with
    /// RST_STREAM(REFUSED_STREAM). 100.
    pub max_concurrent_streams: u32,
    /// Our `SETTINGS_INITIAL_WINDOW_SIZE`: request body bytes a stream may send before the app
    /// takes some. 65 535.
    pub initial_window_size: u32,
    /// Request body bytes all streams together may send before the apps take some: the
    /// connection's window, opened past the protocol's 65 535 by a WINDOW_UPDATE right after
    /// our SETTINGS, so one stream whose app does not read cannot hold back uploads on the
    /// others. Twisted keeps 65 535. 1 MiB.
    pub connection_window_size: u32,
    /// Our `SETTINGS_MAX_FRAME_SIZE`; a longer frame is a FRAME_SIZE_ERROR. 16 384.
    pub max_frame_size: u32,
    /// Our `SETTINGS_MAX_HEADER_LIST_SIZE` (names, values and 32 bytes per field); a longer
    /// request is answered 431. 65 536.
    pub max_header_list_size: u32,
    /// CONTINUATION frames one header block may take; past it the connection ends with
    /// ENHANCE_YOUR_CALM (CVE-2024-27316). Twisted has no bound. 32.
    pub continuation_frames_max: usize,
    /// Control-frame bytes (SETTINGS and PING acknowledgements, resets, window updates)
    /// queued while the peer does not read; past it the connection is aborted (CVE-2019-9512,
    /// -9515). Twisted `_maxBufferedControlFrameBytes` 17 408.
    pub control_bytes_max: usize,
    /// Empty DATA frames (no data, no END_STREAM) taken in a row before the connection ends
    /// with ENHANCE_YOUR_CALM (CVE-2019-9518: each costs work and changes nothing). 100.
    pub empty_frames_max: u32,
    /// Peer RST_STREAMs taken at once before the connection ends with ENHANCE_YOUR_CALM
    /// (CVE-2023-44487, Rapid Reset). Twisted 26.10: 1000.
    pub resets_burst: u32,
    /// Peer RST_STREAMs forgiven per second. Twisted 26.10: 33.
    pub resets_per_second: u32,
}

impl H2Limits {
    /// The defaults (see each field).
    pub const DEFAULT: H2Limits = H2Limits {
        header_table_size: 4096,
        max_concurrent_streams: 100,
        initial_window_size: 65_535,
        connection_window_size: 1 << 20,
        max_frame_size: 16_384,
        max_header_list_size: 65_536,
        continuation_frames_max: 32,
        control_bytes_max: 17_408,
        empty_frames_max: 100,
        resets_burst: 1000,
        resets_per_second: 33,
    };
}

impl Default for H2Limits {
    fn default() -> H2Limits {
        H2Limits::DEFAULT
    }
}

/// The named timers' durations.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Total time to receive a request head, from its first byte (or from the end of the previous
    /// response). Not reset by dribbled bytes: resetting on every byte is what slowloris exploits.
    /// Twisted's idle `timeOut` is 60 s (`HTTPFactory`).
    pub header_read: Duration,
    /// Longest silence while a request body is being received. Twisted `timeOut` 60 s.
    pub body_read: Duration,
    /// Longest idle time between requests on a persistent connection. web2
    /// `betweenRequestsTimeOut` 15 s.
    pub idle_keep_alive: Duration,
    /// Longest time the transport may stay blocked (the client stopped reading) while the
    /// channel has output. Twisted disables its timeout while a request is handled; twine does
    /// not trust a client that never reads: 60 s, Twisted's idle timeout.
    pub send_stall: Duration,
    /// How long a lingering close waits for the peer's FIN. web2 20 s.
    pub linger: Duration,
    /// How long a graceful close may wait for its output to flush before it aborts. Twisted
    /// `abortTimeout` 15 s.
    pub abort: Duration,
}

impl Timeouts {
    /// Twisted's and web2's defaults (see each field).
    pub const DEFAULT: Timeouts = Timeouts {
        header_read: Duration::from_secs(60),
        body_read: Duration::from_secs(60),
        idle_keep_alive: Duration::from_secs(15),
        send_stall: Duration::from_secs(60),
        linger: Duration::from_secs(20),
        abort: Duration::from_secs(15),
    };

    /// How long a server channel's timer runs once armed; `None` for the client role's
    /// timers, which the client's own configuration times.
    pub fn of(&self, timer: Timer) -> Option<Duration> {
        match timer {
            Timer::HeaderRead => Some(self.header_read),
            Timer::BodyRead => Some(self.body_read),
            Timer::IdleKeepAlive => Some(self.idle_keep_alive),
            Timer::SendStall => Some(self.send_stall),
            Timer::Linger => Some(self.linger),
            Timer::Abort => Some(self.abort),
            Timer::ResponseHead | Timer::ResponseBodyIdle | Timer::ExpectContinue => None,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts::DEFAULT
    }
}

/// Everything a [`Channel`](crate::Channel) is configured with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Size limits.
    pub limits: Limits,
    /// Timer durations.
    pub timeouts: Timeouts,
    /// HTTP/2's settings and defences.
    pub h2: H2Limits,
    /// The value of the `Server` header added to every response unless the app set one;
    /// `None` adds none.
    pub server_name: Option<&'static str>,
    /// Wall-clock time at the driver's epoch (`Instant::ZERO`), in milliseconds since the Unix
    /// epoch (milliseconds, so the second a `Date` names is right). The `Date` header is this
    /// plus `now`; `None` adds no `Date` header. The engine never reads a clock: the real server
    /// hands in the real time, the simulation a fixed epoch.
    pub date_origin_unix_millis: Option<u64>,
    /// Which timer changes are reported as [`Output::Timer`](crate::Output::Timer): every one
    /// (the default, what a trace shows) or fires only.
    pub timer_reports: TimerReports,
}

/// Which changes of its named timers a connection reports as
/// [`Output::Timer`](crate::Output::Timer). Its deadlines are the same either way:
/// [`Connection::poll_timeout`](crate::Connection::poll_timeout) reads the timer table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimerReports {
    /// Every arm, cancel and fire: the trace shows each.
    #[default]
    All,
    /// Fires only. A driver that sleeps until `poll_timeout` has no use for arms and cancels,
    /// and each is an output to queue and match: a keep-alive request cancels its head timer
    /// and arms the idle one, two of its five outputs.
    FiresOnly,
}

impl TimerReports {
    /// Whether an arm or a cancel is reported.
    pub(crate) fn arms_and_cancels(self) -> bool {
        self == TimerReports::All
    }
}

impl Config {
    /// The defaults: Twisted's limits, `Server: twine`, no `Date`.
    pub fn new() -> Config {
        Config {
            limits: Limits::DEFAULT,
            timeouts: Timeouts::DEFAULT,
            h2: H2Limits::DEFAULT,
            server_name: Some("twine"),
            date_origin_unix_millis: None,
            timer_reports: TimerReports::All,
        }
    }

    /// With these limits.
    pub fn with_limits(mut self, limits: Limits) -> Config {
        self.limits = limits;
        self
    }

    /// With these timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Config {
        self.timeouts = timeouts;
        self
    }

    /// Reporting these timer changes.
    pub fn with_timer_reports(mut self, reports: TimerReports) -> Config {
        self.timer_reports = reports;
        self
    }

    /// With a `Date` header computed from this origin, in whole seconds since the Unix epoch
    /// (see `date_origin_unix_millis`).
    pub fn with_date_origin(self, unix_secs: u64) -> Config {
        self.with_date_origin_millis(unix_secs.saturating_mul(1000))
    }

    /// With a `Date` header computed from this origin, in milliseconds since the Unix epoch.
    pub fn with_date_origin_millis(mut self, unix_millis: u64) -> Config {
        self.date_origin_unix_millis = Some(unix_millis);
        self
    }
}

impl Default for Config {
    fn default() -> Config {
        Config::new()
    }
}

/// The client role's timer durations ([`ClientConnection`](crate::ClientConnection)). Twisted's
/// `ProxyClient` has no timeout at all; these are what `twine proxy` ships with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientTimeouts {
    /// From the end of the request to the response head: past it, 504 (`--upstream-timeout`).
    pub response_head: Duration,
    /// Longest silence while a response body the app wants is received. The response is lost.
    pub response_body_idle: Duration,
    /// Longest time the transport may stay blocked while the request has output to send.
    pub send_stall: Duration,
    /// How long an idle keep-alive connection stays open for reuse. Below the usual 60-75 s of
    /// servers, so that we close first and rarely pick a connection the server is closing.
    pub idle_keep_alive: Duration,
    /// How long a request with `Expect: 100-continue` waits for the `100` before it sends its
    /// body anyway (curl's 1 s).
    pub expect_continue: Duration,
}

impl ClientTimeouts {
    /// The defaults (see each field).
    pub const DEFAULT: ClientTimeouts = ClientTimeouts {
        response_head: Duration::from_secs(60),
        response_body_idle: Duration::from_secs(60),
        send_stall: Duration::from_secs(60),
        idle_keep_alive: Duration::from_secs(15),
        expect_continue: Duration::from_secs(1),
    };

    /// How long a client role's timer runs once armed; `None` for a server channel's timers,
    /// which [`Timeouts`] times.
    pub fn of(&self, timer: Timer) -> Option<Duration> {
        match timer {
            Timer::ResponseHead => Some(self.response_head),
            Timer::ResponseBodyIdle => Some(self.response_body_idle),
            Timer::SendStall => Some(self.send_stall),
            Timer::IdleKeepAlive => Some(self.idle_keep_alive),
            Timer::ExpectContinue => Some(self.expect_continue),
            Timer::HeaderRead | Timer::BodyRead | Timer::Linger | Timer::Abort => None,
        }
    }
}

impl Default for ClientTimeouts {
    fn default() -> ClientTimeouts {
        ClientTimeouts::DEFAULT
    }
}

/// Everything a [`ClientConnection`](crate::ClientConnection) is configured with. The limits
/// that apply to a response are the server's (`head_bytes_max` also bounds the status line;
/// `body_bytes_max` bounds a response body with a declared length); the request-only ones
/// (`request_line_bytes_max`, `pipeline_depth_max`, `linger_bytes_max`) are not used.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Size limits.
    pub limits: Limits,
    /// Timer durations.
    pub timeouts: ClientTimeouts,
}

impl ClientConfig {
    /// The defaults.
    pub fn new() -> ClientConfig {
        ClientConfig::default()
    }

    /// With these limits.
    pub fn with_limits(mut self, limits: Limits) -> ClientConfig {
        self.limits = limits;
        self
    }

    /// With these timeouts.
    pub fn with_timeouts(mut self, timeouts: ClientTimeouts) -> ClientConfig {
        self.timeouts = timeouts;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each server timer reads its own field; the client role's timers have none here.
    #[test]
    fn timeouts_time_each_server_timer_by_its_own_field() {
        let timeouts = Timeouts {
            header_read: Duration::from_secs(1),
            body_read: Duration::from_secs(2),
            idle_keep_alive: Duration::from_secs(3),
            send_stall: Duration::from_secs(4),
            linger: Duration::from_secs(5),
            abort: Duration::from_secs(6),
        };
        let seconds: Vec<Option<u64>> = Timer::ALL
            .into_iter()
            .map(|timer| timeouts.of(timer).map(|d| d.as_secs()))
            .collect();
        let expected = [1, 2, 3, 4, 5, 6].map(Some).into_iter();
        let expected: Vec<Option<u64>> = expected.chain([None, None, None]).collect();
        assert_eq!(seconds, expected);
    }
}
