//! Chunked request body scenarios, each asserted byte for byte against its snapshot in
//! `snapshots/chunked/`.

mod catalogue;

scenarios!("chunked":
    extensions_and_trailers,
    coding_name_in_any_case,
    size_with_leading_zeros,
    split_every_byte,
    split_random,
    bad_hex,
    hex_prefix,
    negative_size,
    size_line_too_long,
    size_line_at_the_limit,
    size_line_at_the_limit_past_a_smaller_buffer,
    size_line_at_the_limit_past_small_buffers,
    extension_bad_byte,
    missing_crlf_after_data,
    trailers_too_large,
    body_over_limit,
    bad_size_after_response_started,
    size_overflow,
    empty_size,
    trailers_malformed,
    trailer_bare_cr,
    extension_forms_accepted,
    extension_blanks_run_on,
    extension_blanks_after_values,
    extensions_malformed,
    trailers_at_the_limit,
    trailer_lines_at_the_limit,
    trailer_lines_add_up,
    body_at_the_limit,
);
