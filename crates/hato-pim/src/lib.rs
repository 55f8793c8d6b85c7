//! PIM-SM and PIM-SSM, sans-IO: RFC 7761 (neighbours and DR election §4.3, Join/Prune §4.5,
//! Register §4.4, data-driven behaviour and the SPT switch §4.2, timers §4.11) with the SSM rules
//! of RFC 4607 and RFC 7761 §4.8, for IPv4 and IPv6 through one code path (`A: Afi`).
//!
//! A [`PimRouter`] is fed [`Input`]s with the current time ([`PimRouter::handle`]), has its timers
//! run ([`PimRouter::on_timeout`] at [`PimRouter::poll_at`]) and answers with [`Output`]s: PIM
//! messages to send, [`MrouteIntent`]s for the router's mroute table, decapsulated Register
//! payloads, RPF watch requests and log events. Randomness (Generation IDs, jitter) comes from the
//! seed given at construction, so runs are reproducible.
//!
//! The group-to-RP mapping ([`rp`]: static RPs, the BSR-learned RP set, embedded-RP (RFC 3956) and
//! the RFC 7761 §4.7.2 hash) and the bootstrap router mechanism ([`bsr`], RFC 5059) are separate
//! machines; the daemon's router feeds the RP mapping into the PIM router as RP ranges. Assert
//! (§4.6) lives in `assert.rs` and `fsm/assert.rs`. Not here yet: PIM-DM.

mod assert;
pub mod bsr;
mod config;
mod data;
pub mod fsm;
mod io;
mod join_prune;
mod macros;
mod neighbor;
mod pair_index;
mod rng;
mod router;
pub mod rp;
mod view;

#[cfg(test)]
mod tests;

pub use assert::{AssertMetric, AssertView};
pub use bsr::{Bsr, BsrConfig, CandidateBsrConfig, CandidateRpConfig};
pub use config::{AssertMetrics, InterfaceConfig, PimConfig, SptPolicy};
pub use io::{
    ByteCount, DropReason, Input, LocalMembership, MachineState, MrouteIntent, NeighborDownReason, OifReason,
    Output, PimEvent, RpfUpdate, SourceFilter,
};
pub use macros::OifList;
pub use router::{PimRouter, UpstreamNeighbor};
pub use rp::{RpDecision, RpMapping, RpMappingConfig, RpSet};
pub use view::{CounterView, EntryKind, InterfaceView, JoinStateView, NeighborView, UpstreamView};
