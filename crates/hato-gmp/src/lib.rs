//! IGMP and MLD, router side: the multicast router part of IGMPv3 (RFC 3376 §6, §7) and MLDv2
//! (RFC 3810 §7, §8), with IGMPv1 / IGMPv2 / MLDv1 compatibility, written once over `A: Afi`.
//!
//! The core is sans-IO and deterministic: a [`GmpRouter`] (or one [`GmpInterface`]) takes
//! received messages ([`GmpRouter::handle_packet`]) and the passing of time
//! ([`GmpRouter::on_timeout`] at [`GmpRouter::poll_at`]) and appends [`Output`]s: queries to send,
//! membership deltas ([`Filter`], what PIM's `local_receiver_include` / `local_receiver_exclude`
//! are read from) and log events. A router does not randomise anything (the Max Resp jitter is a
//! host's), so there is no seed.
//!
//! [`GmpFamily`] bridges the two codecs (`IgmpRepr`, `MldRepr`) and a family-neutral
//! [`GmpMessage`]; [`Version`] counts in IGMP numbers (MLDv1 is `V2`, MLDv2 is `V3`).

mod config;
mod family;
mod group;
mod interface;
mod output;
mod querier;
mod router;
mod show;

pub use config::{ConfigError, InterfaceConfig, Timers};
pub use family::{GmpFamily, GmpMessage, Version};
pub use interface::{GmpInterface, Received};
pub use output::{DropReason, Filter, FilterMode, LogEvent, Output, QuerierState};
pub use router::GmpRouter;
pub use show::{GroupView, InterfaceView, RouterView, SourceView};
