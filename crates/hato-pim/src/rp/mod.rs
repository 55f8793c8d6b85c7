//! Group-to-RP mapping for PIM-SM: static RPs per group range, the RP-Set learned through the
//! bootstrap router mechanism (RFC 5059), embedded-RP (RFC 3956), and RP selection with the hash
//! function of RFC 7761 §4.7.2 under either algorithm of the configuration guide's table 15-10
//! (`rfc4601`, `rfc2362`).
//!
//! [`RpMapping::decide`] explains its answer ([`RpDecision`]: source, range, priority, hash,
//! deciding rule) for `hatoctl show pim rp <group>`; groups the PIM core follows yield an
//! [`RpChange`] whenever a configuration or RP-Set change moves their RP.

mod embedded;
mod hash;
mod mapping;
mod select;
mod set;

pub use embedded::{embedded_rp, EmbeddedRp, EmbeddedRpError};
pub use hash::{default_hash_mask_len, digest, hash_value, mask_group};
pub use mapping::{NoRp, RpChange, RpMapping, RpMappingConfig, RpPrecedence, StaticRp};
pub use select::{select, Candidate, DecisionRule, RpAlgorithm, RpDecision, RpSource, Selection};
pub use set::{RpSet, RpSetEntry, RpSetRange, ScopedRpSet};
