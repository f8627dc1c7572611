//! Framing and request smuggling scenarios, each asserted byte for byte against its snapshot
//! in `snapshots/framing/`.

mod catalogue;

scenarios!("framing":
    cl_and_te,
    cl_and_te_in_any_case,
    two_content_lengths,
    content_length_malformed,
    chunked_not_last,
    unknown_coding,
    te_on_http10,
    te_on_http10_answered_with_a_length,
    obs_fold,
    field_value_control_bytes,
    bare_lf,
    bare_cr,
    request_line_double_space,
    request_line_without_a_version,
    method_not_a_token,
    target_bytes_out_of_range,
    request_line_stray_spaces,
    http2_version,
    host_missing_or_doubled,
    host_invalid,
    host_forms_accepted,
    field_names_in_any_case,
    bodies_on_any_method,
    leading_empty_lines,
    leading_bare_lf,
    method_pri_is_http1,
    preface_cut_by_eof,
);
