//! An HTTP/2 connection reading the fuzzer's bytes as its client's frames: no panic,
//! well-formed output, ordered events (`twine_engine::fuzzing::h2_connection`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| twine_engine::fuzzing::h2_connection(data));
