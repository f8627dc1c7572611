//! Graceful drains (as on SIGTERM), each asserted byte for byte against its snapshot in `snapshots/drain/`.

mod catalogue;

scenarios!("drain":
    idle_connections_close_at_once,
    download_in_flight_finishes,
    newcomer_refused,
    http2_stream_in_flight_finishes,
    http2_stream_after_goaway_ignored,
    http2_upload_after_goaway_ignored,
);
