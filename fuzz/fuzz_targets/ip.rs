#![no_main]
//! Fuzz target `ip`: the oracle of `hato_fuzz_oracle::Target::Ip` on every input.

use hato_fuzz_oracle::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| Target::Ip.check(data));
