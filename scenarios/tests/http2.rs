//! HTTP/2 scenarios (prior knowledge on the simulated network), each asserted byte for byte
//! against its snapshot in `snapshots/http2/`.

mod catalogue;

scenarios!("http2":
    request_as_the_app_sees_it,
    content_length_of_nineteen_digits,
    host_matching_authority,
    expect_continue,
    app_api_routes,
    get,
    post_echoed,
    streams_interleaved,
    window_never_granted,
    rapid_reset_flood,
    continuation_flood,
    large_header_block_in_continuations,
    header_block_past_the_list_bound,
    empty_data_at_the_bound,
    empty_data_flood,
    abort_resets_one_stream,
    malformed_request_resets_its_stream,
    window_as_backpressure,
    reset_mid_stream,
    hundred_streams_one_stalled,
    window_closed_before_producing,
    ping_flood_not_read,
    hpack_bomb,
    slow_headers_frame,
    window_shrunk_by_settings,
    window_opened_by_settings,
    upload_past_the_window,
    window_updates_batched,
    upload_echoed_to_a_slow_reader,
    client_goaway_after_its_request,
    streams_past_the_concurrency_limit,
    head_request,
);
