//! The client role reading the fuzzer's bytes as a server's answer: split and credit
//! invariance, credit respected, one ending (`twine_engine::fuzzing::client_response`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| twine_engine::fuzzing::client_response(data));
