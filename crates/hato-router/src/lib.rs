//! The router: hato's sans-IO orchestrator between the daemon's shell and the forwarding planes.
//!
//! [`Router`] owns
//! - the interface table, fed by link and address events, and which interfaces the configuration
//!   enables ([`interfaces`]);
//! - per address family ([`family`]): the VIF allocation (at most 32 per table, the register VIF
//!   included; a VIF keeps its number while its interface lives), an [`hato_rib::RpfEngine`] fed
//!   by route events and the configured static mroutes, and the [`mroute::MrouteTable`];
//! - the mroute table: intents per (S,G) / (*,G) from every source of forwarding state (today the
//!   configured static flows; the protocol instances plug in as more [`mroute::IntentOrigin`]s),
//!   merged into one desired MFC entry per key, never with the incoming interface as an outgoing
//!   one, and reconciled with what the plane holds in chunks of [`mroute::RECONCILE_CHUNK`]
//!   operations per call so that a large change never stalls the loop.
//!
//! Like every hato core it is driven from outside: [`Router::handle`] takes an [`Input`] (link,
//! address, route, upcall, counters, protocol packet), [`Router::on_timeout`] runs what is due,
//! [`Router::poll_at`] says when, and [`Router::query`] answers `hatoctl`. Effects leave as
//! [`Output`]s (packets to send, groups to join on the protocol sockets, log events); the plane is
//! programmed through [`hato_core::ForwardingPlane`], synchronously.
//!
//! Protocol instances (IGMP/MLD, PIM) are added per family in [`family::Family`]: received packets
//! reach it through `Family::receive`, their intents go to the mroute table with their own origin,
//! and `Router::query` gains their views.

mod counters;
pub mod family;
pub mod interfaces;
mod io;
pub mod mroute;
pub mod protocols;
mod router;
mod show;
mod vifs;

#[cfg(test)]
mod tests;

pub use counters::Counters;
pub use io::{
    Event, Input, LinkInfo, Output, ProtocolPacket, RouteChange, RouteNexthop, Severity, SocketKind,
};
pub use protocols::RpfWatcher;
pub use router::{describe_diff, Router};
pub use vifs::{MAX_INTERFACE_VIFS, REGISTER_VIF};
