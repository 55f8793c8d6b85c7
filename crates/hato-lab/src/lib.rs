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
//! - [`matrix`]: interop scenario results appended to `$HATO_INTEROP_MATRIX` and printed as a table.
//! - [`poll`]: waits on the kernel MFC, FRR's JSON and any JSON command, returning the last
//!   observation on timeout.
//!
//! Everything runs only inside namespaces the lab creates, with addresses from 198.18.0.0/15 and
//! fd00::/8. Root is required.

pub mod demo;
pub mod error;
pub mod exec;
mod flow;
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
