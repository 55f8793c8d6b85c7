//! Foundations shared by every hato crate: the address-family trait ([`Afi`]) through which IPv4 and
//! IPv6 share one code path, the keys routing state is stored under ([`SgKey`], [`IfIndex`],
//! [`VifId`]), virtual time ([`Instant`]), a deadline queue ([`TimerQueue`]) and a longest-match
//! prefix table ([`PrefixTable`]), and the southbound the router programs ([`ForwardingPlane`]).
//!
//! Nothing here reads a clock, opens a socket or draws a random number: protocol cores built on it
//! stay deterministic.

mod afi;
mod keys;
mod plane;
mod prefix;
mod time;
mod timer;
pub mod vec_map;

pub use afi::{AddressFamily, Afi, V4, V6};
pub use keys::{IfIndex, SgKey, VifId};
pub use plane::{
    ForwardingPlane, LateFailure, MfcChange, MfcCounters, MfcEntry, MfcOifs, Upcall, Vif, VifKind,
};
pub use prefix::PrefixTable;
pub use time::{Duration, Instant};
pub use timer::TimerQueue;
