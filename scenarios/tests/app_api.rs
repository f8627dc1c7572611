//! App API scenarios (one request-side command of the seeds each), each asserted byte for byte
//! against its snapshot in `snapshots/app_api/`.

mod catalogue;

scenarios!("app_api":
    whoami,
    respond_whole,
    accept_data_paces_the_upload,
    early_hints,
    processing,
    early_hints_dropped_for_http10,
    body_parts_one_chunk,
    close_before_head,
    close_during_upload,
    close_mid_body,
    close_after_loses_pipelined,
    close_waits_for_the_response_before_it,
    reset_loses_the_queued_response,
    abort_before_head,
    abort_discards_unwritten_output,
    producer_handover,
    pull_producer_slow_reader,
    misuse_second_producer,
    misuse_body_after_finish,
    misuse_late_hints,
    misuse_informational_statuses,
    misuse_framing_header,
    misuse_body_lengths,
    misuse_heads,
    fields_mirrored,
    static_field_heads_told_apart,
    http10_keep_alive_close_delimited,
    own_fields,
    empty_writes_send_nothing,
    misuse_write_while_paused,
    request_as_the_app_sees_it,
    reason_phrases,
);
