//! Half-close scenarios, each asserted byte for byte against its snapshot in
//! `snapshots/half_close/`.

mod catalogue;

scenarios!("half_close":
    fin_after_request,
    fin_after_a_quiet_spell,
    http2_fin_after_request,
    http2_fin_while_the_window_is_shut,
    http2_fin_mid_body,
    fin_after_two_pipelined,
    fin_mid_head,
    fin_mid_body_echo,
    fin_mid_body_unanswered,
    fault_fin_offsets,
);
