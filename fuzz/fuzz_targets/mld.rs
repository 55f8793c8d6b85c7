#![no_main]
//! Fuzz target `mld`: the oracle of `hato_fuzz_oracle::Target::Mld` on every input.

use hato_fuzz_oracle::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| Target::Mld.check(data));
