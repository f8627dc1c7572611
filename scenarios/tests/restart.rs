//! Server restarts, each asserted byte for byte against its snapshot in `snapshots/restart/`.

mod catalogue;

scenarios!("restart":
    mid_request,
    served_after_restart,
    mid_download,
    idle_keep_alive_connections,
    stale_keep_alive_request,
);
