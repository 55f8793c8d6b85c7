//! The hato namespace lab: the harness every end-to-end and interop test uses.
//!
//! - [`topology`]: nodes, segments, the addressing plan and static routes (chain, shared LAN, diamond,
//!   Assert LAN).
//! - [`Lab`]: builds a topology from network namespaces, veth pairs and bridges, starts processes and
//!   routers in it, and tears everything down in `Drop`, even while a test panics.
//! - [`router`]: [`RouterKind`] (FRR, troglobit pimd, smcroute; hatod later) started from a
//!   protocol-neutral [`RouterConfig`].
//! - [`traffic`]: the sender and the ASM/SSM receiver behind `hato-lab send|recv`, with loss,
//!   duplicate and reordering counts; [`Lab::send`] / [`Lab::start_receiver`] run them in nodes.
//! - [`capture`]: opt-in `dumpcap` captures of every segment and the tshark check of the packets
//!   hatod sent.
//! - [`matrix`]: interop scenario results appended to `$HATO_INTEROP_MATRIX` and printed as a table.
//! - [`harness`]: helpers for test bodies: a chain of routers of any kind, `hatoctl --json` and
//!   waits on hatod, traffic on threads inside nodes, the capture assertion.
//! - [`poll`]: waits on the kernel MFC, FRR's JSON and any JSON command, returning the last
//!   observation on timeout.
//!
//! Everything runs only inside namespaces the lab creates, with addresses from 198.18.0.0/15 and
//! fd00::/8. Root is required.

pub mod capture;
pub mod demo;
pub mod error;
pub mod exec;
mod flow;
pub mod harness;
pub mod lab;
pub mod matrix;
pub mod poll;
pub mod router;
pub mod topology;
pub mod traffic;

pub use error::{Error, Result};
pub use flow::ReceiverHandle;
pub use lab::{cleanup_prefix, Lab, LabOptions};
pub use router::{RouterConfig, RouterHandle, RouterKind};
pub use topology::Topology;
