#![no_main]
//! Fuzz target `dissect`: the oracle of `hato_fuzz_oracle::Target::Dissect` on every input.

use hato_fuzz_oracle::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| Target::Dissect.check(data));
