//! The chunked body decoder: agrees with a reference decoder written from RFC 9112 §7.1, up
//! to documented differences, however the input is split into reads
//! (`twine_engine::fuzzing::chunked_decoder`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| twine_engine::fuzzing::chunked_decoder(data));
