//! What the scale benchmarks (hato-pim's `scale`, hato-router's `install`) share: the workload's
//! shape and addressing plan (1,000 SSM groups × 100 sources joined from one neighbour on each of
//! 10 downstream interfaces, the sources reached through interface 1), and the measurements: heap
//! bytes live now, from a counting global allocator, and the calling thread's CPU time.

use std::alloc::System;
use std::net::Ipv4Addr;

use hato_core::IfIndex;
use stats_alloc::{StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

pub const GROUPS: u32 = 1_000;
pub const SOURCES: u32 = 100;
pub const DOWNSTREAM_INTERFACES: u32 = 10;
pub const UPSTREAM: IfIndex = IfIndex(1);
/// Virtual seconds of steady state measured.
pub const STEADY_SECS: u64 = 600;

fn octet(n: u32) -> u8 {
    u8::try_from(n).expect("fits an octet")
}

/// The router's address on `ifindex`.
pub fn my_addr(ifindex: IfIndex) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, octet(ifindex.0), 1)
}

/// The neighbour's address on `ifindex`.
pub fn neighbor(ifindex: IfIndex) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, octet(ifindex.0), 2)
}

pub fn source(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(198, 19, 0, octet(i + 1))
}

pub fn group(i: u32) -> Ipv4Addr {
    Ipv4Addr::new(232, 1, octet(i / 256), octet(i % 256))
}

/// The interface whose neighbour joins group `g`.
pub fn downstream_if(g: u32) -> IfIndex {
    IfIndex(2 + g % DOWNSTREAM_INTERFACES)
}

/// Heap bytes allocated and not yet freed.
pub fn live_bytes() -> isize {
    let s = GLOBAL.stats();
    let allocated = isize::try_from(s.bytes_allocated).unwrap_or(isize::MAX);
    let deallocated = isize::try_from(s.bytes_deallocated).unwrap_or(isize::MAX);
    allocated - deallocated + s.bytes_reallocated
}

/// CPU time of this thread (nanoseconds on CPU, from the scheduler's statistics).
pub fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// Runs `work`; returns the CPU nanoseconds of this thread and the wall time it took.
pub fn measure(work: impl FnOnce()) -> (u64, std::time::Duration) {
    let wall = std::time::Instant::now();
    let cpu = cpu_ns();
    work();
    (cpu_ns() - cpu, wall.elapsed())
}
