#![no_main]
//! Fuzz target `pim_v4`: the oracle of `hato_fuzz_oracle::Target::PimV4` on every input.

use hato_fuzz_oracle::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| Target::PimV4.check(data));
