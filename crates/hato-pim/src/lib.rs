//! PIM-SM for hato, sans-IO: the group-to-RP mapping ([`rp`]: static RPs, the BSR-learned RP set,
//! embedded-RP and the RFC 7761 §4.7.2 hash) and the bootstrap router mechanism ([`bsr`],
//! RFC 5059). Time, randomness and packets are arguments; every state machine is deterministic.

pub mod bsr;
pub mod rp;

pub use bsr::{Bsr, BsrConfig, CandidateBsrConfig, CandidateRpConfig};
pub use rp::{RpDecision, RpMapping, RpMappingConfig, RpSet};
