//! hato's Linux kernel boundary: the multicast forwarding plane ([`KernelPlane`], programming the
//! kernel's multicast forwarding cache through `MRT_*` / `MRT6_*` socket options, with upcalls
//! and counters), built on [`sys`], the only module with `unsafe` code.

mod family;
mod mroute_dump;
mod plane;
pub mod sys;

pub use family::MrtFamily;
pub use plane::{Error, KernelPlane, Op, PlaneConfig, Received};
