#![no_main]
//! Fuzz target `pim_v6`: the oracle of `hato_fuzz_oracle::Target::PimV6` on every input.

use hato_fuzz_oracle::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| Target::PimV6.check(data));
