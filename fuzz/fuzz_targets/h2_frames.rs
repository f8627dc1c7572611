//! HTTP/2 frames cut off the fuzzer's bytes: split invariance and write-read round trips
//! (`twine_engine::fuzzing::h2_frames`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| twine_engine::fuzzing::h2_frames(data));
