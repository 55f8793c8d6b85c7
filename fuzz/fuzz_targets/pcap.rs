#![no_main]
//! Fuzz target `pcap`: the oracle of `hato_fuzz_oracle::Target::Pcap` on every input.

use hato_fuzz_oracle::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| Target::Pcap.check(data));
