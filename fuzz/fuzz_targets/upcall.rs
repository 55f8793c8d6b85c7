#![no_main]
//! Fuzz target `upcall`: the oracle of `hato_fuzz_oracle::Target::Upcall` on every input.

use hato_fuzz_oracle::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| Target::Upcall.check(data));
