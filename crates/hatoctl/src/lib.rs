//! The library half of `hatoctl`: talking to hatod over its control socket, shared by the binary
//! and by tests that drive a daemon.

pub mod control;
