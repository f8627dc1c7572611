//! HPACK blocks on one connection, our decoder against `loona-hpack`'s
//! (`twine_engine::fuzzing::hpack_decoder`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| twine_engine::fuzzing::hpack_decoder(data));
