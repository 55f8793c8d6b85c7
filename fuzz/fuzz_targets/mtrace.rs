#![no_main]
//! Fuzz target `mtrace`: the oracle of `hato_fuzz_oracle::Target::Mtrace` on every input.

use hato_fuzz_oracle::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| Target::Mtrace.check(data));
