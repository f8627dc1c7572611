//! Expect: 100-continue scenarios, each asserted byte for byte against its snapshot in
//! `snapshots/expect_continue/`.

mod catalogue;

scenarios!("expect_continue":
    lazy_100,
    expectation_in_any_case,
    app_100_after_the_lazy_one_dropped,
    app_100_before_its_credit_is_the_only_one,
    http10_no_100,
    no_body_no_100,
    app_refuses_without_reading,
    early_413_lingers,
    pipelined_after_first,
    chunked_upload,
);
