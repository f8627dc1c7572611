//! Slow-peer scenarios (slowloris, slow body, slow read), each asserted byte for byte against its
//! snapshot in `snapshots/slow_peers/`.

mod catalogue;

scenarios!("slow_peers":
    slowloris_head_deadline,
    slow_body_survives,
    slow_body_silence_408,
    slow_body_echo_truncated,
    slow_read_steady,
    slow_read_stopped,
    bystander_served,
    slow_read_progress_not_stall,
);
