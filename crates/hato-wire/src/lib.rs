//! hato's wire codecs: IPv4/IPv6 headers with Router Alert, IGMPv1-3, MLDv1-2, PIMv2 (every message
//! type), DVMRPv3, multicast traceroute, and the kernel's multicast upcall messages.
//!
//! Every message has a `Repr` (a plain typed value) with `parse`, `buffer_len` and `emit`; decoders
//! verify checksums and lengths and never panic on any input; encoders fill checksums. All reads and
//! writes go through [`cursor::Reader`] / [`cursor::Writer`], which turn overruns into errors.

pub mod checksum;
pub mod cursor;
pub mod dvmrp;
mod error;
pub mod gmp;
pub mod igmp;
pub mod ip;
pub mod mld;
pub mod mtrace;
pub mod packet;
pub mod pim;
pub mod upcall;

#[cfg(test)]
mod testutil;
#[cfg(test)]
mod tshark_conformance;

pub use error::{Error, Result};
