#![no_main]
//! Fuzz target `dvmrp`: the oracle of `hato_fuzz_oracle::Target::Dvmrp` on every input.

use hato_fuzz_oracle::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| Target::Dvmrp.check(data));
