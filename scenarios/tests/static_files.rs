//! The static app over an in-memory tree (validators, 304s, ranges, HEAD, refusals, a range
//! under a slow reader), each asserted byte for byte against its snapshot in
//! `snapshots/static_files/`.

mod catalogue;

scenarios!("static_files":
    validators_on_a_whole_file,
    directory_serves_its_index,
    absolute_form_targets_by_their_path,
    range_forms,
    range_edges,
    unsatisfiable_range_gets_416,
    not_modified_by_etag,
    not_modified_by_date,
    if_range_decides_between_part_and_whole,
    head_is_get_without_a_body,
    refusals,
    range_of_a_large_file_under_a_slow_reader,
);
