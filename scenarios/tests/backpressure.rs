//! Backpressure scenarios, each asserted byte for byte against its snapshot in
//! `snapshots/backpressure/`.

mod catalogue;

scenarios!("backpressure":
    slow_window_stream,
    echo_upload_slow_reader,
    held_body_runs_no_body_timer,
    echo_send_buffer_under_credit,
    never_reading_pipeliner,
    read_after_pause_recovers,
);
