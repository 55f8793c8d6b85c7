//! Behaviour tests on a virtual clock: a small scenario harness for one router, scenarios for
//! neighbours, Join/Prune and Register, an in-process simulation of three routers exchanging
//! encoded messages, and a property test over random input.

mod assert;
mod assert_sim;
mod harness;
mod join_prune;
mod neighbors;
mod properties;
mod register;
mod sim;
mod spt_policy;
