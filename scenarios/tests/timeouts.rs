//! Timeout scenarios (every named timer fires somewhere), each asserted byte for byte against
//! its snapshot in `snapshots/timeouts/`.

mod catalogue;

scenarios!("timeouts":
    header_read_silent,
    header_read_partial_head_408,
    header_read_not_reset_by_dribble,
    body_read_408,
    http2_body_read_goaway,
    body_read_truncates_started_response,
    idle_keep_alive_between_requests,
    send_stall_aborts,
    linger_without_client_fin,
    abort_unflushed_close,
);
