//! hato's Linux kernel boundary: the multicast forwarding plane ([`KernelPlane`], programming the
//! kernel's multicast forwarding cache through `MRT_*` / `MRT6_*` socket options, with upcalls and
//! counters), rtnetlink ([`netlink`]: links, addresses, routes) and the IGMP / MLD / PIM protocol
//! sockets ([`socket`]). [`sys`] is the only module with `unsafe` code.

mod family;
mod mroute_dump;
pub mod netlink;
mod plane;
pub mod socket;
pub mod sys;
mod writer;

pub use family::MrtFamily;
pub use plane::{Error, KernelPlane, MfcProbe, Op, PlaneConfig, Received};
