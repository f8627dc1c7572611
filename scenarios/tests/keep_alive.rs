//! Keep-alive and persistence scenarios, each asserted byte for byte against its snapshot in
//! `snapshots/keep_alive/`.

mod catalogue;

scenarios!("keep_alive":
    http11_persistent,
    http10_keep_alive,
    http10_closes_by_default,
    connection_token_list,
    http10_keep_alive_and_close,
    tokens_in_any_case,
    idle_timeout,
);
