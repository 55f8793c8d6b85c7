//! Behaviour tests on a virtual clock: a small scenario harness for one router, scenarios for
//! neighbours, Join/Prune, Register, Assert and SPT policies, in-process simulations (three
//! routers in a chain; two or three forwarders asserting on a LAN) exchanging encoded messages,
//! and a property test over random input.

mod assert;
mod assert_sim;
mod harness;
mod join_prune;
mod neighbors;
mod properties;
mod register;
mod sim;
mod spt_policy;
