//! Tests of the whole crate: lookup modes and tie rules, a brute-force reference, watches and damping.

mod engine;
mod lookup;
mod reference;
pub(crate) mod strategies;
