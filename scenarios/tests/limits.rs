//! Size limit scenarios, each asserted byte for byte against its snapshot in
//! `snapshots/limits/`.

mod catalogue;

scenarios!("limits":
    request_line_too_long,
    request_line_at_limit,
    request_line_one_over,
    head_too_large,
    head_bytes_boundary,
    too_many_headers,
    headers_at_limit,
    head_at_both_bounds,
    content_length_over_limit,
    content_length_at_limit,
);
