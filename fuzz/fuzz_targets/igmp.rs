#![no_main]
//! Fuzz target `igmp`: the oracle of `hato_fuzz_oracle::Target::Igmp` on every input.

use hato_fuzz_oracle::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| Target::Igmp.check(data));
