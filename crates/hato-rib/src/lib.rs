//! The RPF engine: where should multicast traffic from an address come from?
//!
//! - [`UnicastRib`]: a mirror of the kernel's unicast routes and connected prefixes, fed by
//!   [`UnicastEvent`]s that the daemon translates from netlink.
//! - [`Mrib`]: static mroutes ([`StaticMroute`]), whose answers callers show as "Mroute".
//! - [`rpf_lookup`]: combines both by an [`RpfLookupMode`] (FRR's `ip multicast rpf-lookup-mode`)
//!   into an [`RpfAnswer`] that carries PIM's RPF interface and neighbour (RFC 7761 §4.5), the Assert
//!   metric (RFC 7761 §4.6.1) and an explanation.
//! - [`RpfEngine`]: owns the tables, lets protocols watch addresses (sources, RPs, the BSR) and
//!   reports [`RpfChanged`] for the watches whose answer changed, damped by a [`Backoff`] and
//!   re-checked every [`RpfConfig::interval`].
//!
//! Sans-IO: no sockets, clocks or threads; time comes in as [`hato_core::Instant`] arguments and the
//! next deadline goes out through [`RpfEngine::poll_at`]. One code path serves IPv4 and IPv6.

mod damping;
mod engine;
mod lookup;
mod mrib;
mod route;
mod urib;

#[cfg(test)]
mod tests;

pub use damping::Backoff;
pub use engine::{RpfChanged, RpfConfig, RpfEngine, RpfStats};
pub use lookup::{
    rpf_lookup, RouteOrigin, RpfAnswer, RpfLookupMode, RpfRoute, RpfRule, RpfTable, UnknownLookupMode, Via,
};
pub use mrib::{Mrib, MrouteTarget, StaticMroute};
pub use route::{Nexthop, Route, RouteKey, RouteProtocol, UnicastEvent};
pub use urib::UnicastRib;
