//! Partial reads and writes, each asserted byte for byte against its snapshot in
//! `snapshots/partial_io/`.

mod catalogue;

scenarios!("partial_io":
    keep_alive_byte_at_a_time,
    pipelined_byte_at_a_time,
    chunked_upload_byte_at_a_time,
    stream_100k_partial_writes,
    client_one_byte_segments,
    random_cuts_both_ways,
);
