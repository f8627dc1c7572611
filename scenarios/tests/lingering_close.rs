//! Lingering close scenarios, each asserted byte for byte against its snapshot in
//! `snapshots/lingering_close/`.

mod catalogue;

scenarios!("lingering_close":
    upload_413_then_eof,
    early_reply_discards_upload,
    linger_timer_without_fin,
    linger_bytes_max,
    bad_head_then_pipelined_discarded,
    client_leaves_mid_upload,
);
