//! Deterministic simulation for hato. [`SimPlane`] is a [`hato_core::ForwardingPlane`] held in
//! memory that behaves as one table of the Linux kernel's multicast forwarding cache: the same
//! VIF rules and errors, lookup order, TTL thresholds, counters, unresolved queue and upcalls, on
//! a virtual clock. Packets are injected as [`SimPacket`]s; the copies the plane sends and the
//! upcalls it raises are returned or queued for the router to read.
//!
//! The conformance suite in `tests/plane_conformance.rs` runs the same scenarios against
//! `SimPlane` and against the real kernel (through `hato_kernel::KernelPlane` in namespaces).

mod packet;
mod plane;

pub use packet::{SimPacket, IPPROTO_UDP};
pub use plane::{
    errno, Arrival, Fate, Injection, LoggedCall, PlaneCall, SimConfig, SimError, SimPlane, Transmitted,
    ASSERT_INTERVAL, UNRESOLVED_LIFETIME, UNRESOLVED_QUEUE_LEN,
};
