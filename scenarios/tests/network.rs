//! Network-level fault scenarios (hold, partition, jitter), each asserted byte for byte against
//! its snapshot in `snapshots/network/`.

mod catalogue;

scenarios!("network":
    held_link_delays_but_completes,
    partition_mid_head_ends_by_header_read,
    partition_mid_response_ends_by_send_stall,
    partition_repaired_while_idle,
    jitter_keeps_byte_order,
);
