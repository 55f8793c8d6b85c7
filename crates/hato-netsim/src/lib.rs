//! A deterministic network of full hato routers: each node is a [`hato_router::Router`] over two
//! [`hato_sim::SimPlane`]s (one per family) or a host, wired by simulated links and LANs, all on
//! one virtual clock. It runs the real IGMP / MLD (RFC 3376, RFC 3810), PIM-SM / PIM-SSM (RFC 7761,
//! RFC 4607) and RPF code; nothing touches a socket or the system clock.
//!
//! What the network does in place of the kernel and the daemon's shell (`hatod`):
//! - links and addresses reach every router as link, address and route events at start (segment
//!   `n` is 198.18.n.0/24 and fd00:0:0:n::/64; a node's host part is its number); unicast routes
//!   are shortest paths over the routers, each next hop a neighbour's address, and tests may
//!   override them;
//! - control messages (`Output::Send`) are delivered on the sending interface's segment after the
//!   link delay (PIM only to routers that joined ALL-PIM-ROUTERS there), unicast ones hop by hop
//!   along the network's routes;
//! - data packets enter each router's `SimPlane`, whose copies go out on the segments and whose
//!   upcalls go straight back to the router as inputs; a Register that reaches its RP is also
//!   decapsulated onto the register VIF (`pim_rcv`), and `Output::Forward` leaves whole, as from
//!   hatod's raw socket;
//! - every router's forwarding counters are dumped to it once a second, as hatod does;
//! - hosts send IGMPv3 / MLDv2 state-change reports (and one retransmission) when they join or
//!   leave, answer queries after a seeded random delay within their Max Resp Time, send numbered
//!   UDP streams and count what they receive (loss and duplicates).
//!
//! Events run in order of time, then of scheduling; routers' timers run before events due at the
//! same instant. Randomness (PIM Generation IDs and jitter, host response delays) comes from the
//! seed, so a seed fixes the whole run: [`Net::trace_hash`] summarises every delivery, upcall and
//! router log line, and two runs with one seed give the same hash.

mod host;
mod net;
mod rng;

pub use host::Reception;
pub use net::{DataPacket, MfcView, Net, NodeId, SegmentId, SimRouter, StreamId};
pub use rng::SplitMix64;
