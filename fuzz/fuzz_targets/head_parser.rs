//! The request head parser: split invariance, the two entry points agree, and a head we
//! accept is one httparse accepts, read the same way (`twine_engine::fuzzing::head_parser`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| twine_engine::fuzzing::head_parser(data));
