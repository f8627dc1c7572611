//! Resets at every phase, server side and client side, each asserted byte for byte against its
//! snapshot in `snapshots/resets/`.

mod catalogue;

scenarios!("resets":
    server_reset_inside_head,
    server_reset_inside_body,
    server_reset_while_streaming,
    client_drops_before_sending,
    client_reset_mid_body,
    client_reset_while_streaming,
    client_reset_after_head,
);
