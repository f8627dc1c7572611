//! Pipelining scenarios, each asserted byte for byte against its snapshot in
//! `snapshots/pipelining/`.

mod catalogue;

scenarios!("pipelining":
    one_segment,
    byte_by_byte,
    over_eager_read_limit,
    depth_three_out_of_order,
    cve_2023_46137_same_segment,
    cve_2024_41671_body_ends_at_next,
    error_after_slow_response,
    depth_two_queued_producer_bounded,
    nothing_read_behind_the_last_response,
);
