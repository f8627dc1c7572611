//! Reverse proxy scenarios (the proxy on the server host, an origin behind it), each asserted
//! byte for byte against its snapshot in `snapshots/proxy/`.

mod catalogue;

scenarios!("proxy":
    get_through,
    hop_by_hop_stripped,
    chunked_upload_reframed,
    keep_alive_reuses_one_upstream,
    origin_restart_loses_forwarded_request,
    pipelined_one_at_a_time,
    origin_closes_at_once_502,
    silent_origin_504,
    garbage_origin_502,
    truncated_body_is_cut,
    truncated_close_delimited_is_reset,
    close_delimited_reframed,
    informational_stream,
    early_answer_before_the_body,
    slow_origin,
    client_leaves_mid_upload,
    client_leaves_mid_download,
    slow_client_pauses_the_origin,
    slow_origin_withholds_upload_credit,
    two_clients_share_the_pool,
    forwarding_fields_appended,
    host_rewritten,
    unsafe_targets_refused,
    origin_sends_both_lengths,
    origin_204_with_a_length,
    post_not_replayed,
    origin_closing_answers_not_reused,
    bodiless_answers_keep_the_connection,
    origin_sends_two_lengths,
    origin_answers_twice,
    early_answer_not_reused,
);
