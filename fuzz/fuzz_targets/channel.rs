//! A whole `Channel` driven by a byte-coded script of peer, clock and app inputs: invariants
//! and the output contract hold after every step (`twine_engine::fuzzing::channel`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| twine_engine::fuzzing::channel(data));
