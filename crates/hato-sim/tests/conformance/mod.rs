//! The forwarding-plane conformance suite: scenarios written once against [`PlaneHarness`], run
//! against the real kernel ([`kernel::KernelHarness`]: `KernelPlane` in namespaces) and against
//! [`sim::SimHarness`] (`SimPlane` on a virtual clock). Both harnesses model one router between a
//! sender (upstream interface) and a receiver (downstream interface).

pub mod kernel;
pub mod scenarios;
pub mod sim;

use std::collections::BTreeMap;
use std::time::Duration;

use hato_core::{ForwardingPlane, IfIndex, MfcCounters, SgKey, Upcall, V4, V6};
use hato_kernel::MrtFamily;

/// The data every test packet carries.
pub const PAYLOAD: &[u8] = b"hato plane conformance payload";
/// The port of traffic to a group nobody listens to.
pub const UNHEARD_PORT: u16 = 4999;
/// Ports of listened groups start here, one per group.
pub const FIRST_PORT: u16 = 5001;

/// How the table under test raises upcalls: `MRT_ASSERT`, `MRT_PIM` and its WRVIFWHOLE mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Modes {
    pub assert: bool,
    pub pim: bool,
    pub wrong_vif_whole: bool,
}

impl Modes {
    /// What a PIM router asks for, and what most scenarios run with.
    pub const PIM: Modes = Modes { assert: true, pim: true, wrong_vif_whole: false };
}

/// The family-specific facts of the scenarios.
pub trait Family: MrtFamily {
    /// The sender's address (the source of every packet).
    const SOURCE: &'static str;
    /// IP + UDP header length: the kernel counts whole IP packets.
    const HEADERS: u64;
    /// Whether packets from an interface without a VIF reach the forwarding cache (IPv6, where
    /// only the global `mc_forwarding` switch is checked) or are not routed at all (IPv4, which
    /// checks `mc_forwarding` of the arrival interface, set by its VIF).
    const ROUTES_FROM_NON_VIF: bool;
    /// Offset of the TTL / hop limit field in the IP header.
    const TTL_OFFSET: usize;
    /// Whether the per-VIF thresholds of an entry apply (IPv4) or every outgoing MIF has
    /// threshold 1 (IPv6: `mf6cctl` carries a set of MIFs, no thresholds).
    const THRESHOLDS_APPLY: bool;

    fn source() -> Self::Addr {
        Self::SOURCE.parse().ok().expect("source address")
    }

    /// The `n`th test group: 239.1.2.n or ff3e::1:2:n.
    fn group(n: u8) -> Self::Addr;
}

impl Family for V4 {
    const SOURCE: &'static str = "198.18.1.2";
    const HEADERS: u64 = 28;
    const TTL_OFFSET: usize = 8;
    const ROUTES_FROM_NON_VIF: bool = false;
    const THRESHOLDS_APPLY: bool = true;

    fn group(n: u8) -> std::net::Ipv4Addr {
        std::net::Ipv4Addr::new(239, 1, 2, n)
    }
}

impl Family for V6 {
    const SOURCE: &'static str = "fd00:1::2";
    const HEADERS: u64 = 48;
    const TTL_OFFSET: usize = 7;
    const ROUTES_FROM_NON_VIF: bool = true;
    const THRESHOLDS_APPLY: bool = false;

    fn group(n: u8) -> std::net::Ipv6Addr {
        std::net::Ipv6Addr::new(0xff3e, 0, 0, 0, 0, 1, 2, u16::from(n))
    }
}

/// A forwarding plane with a sender on its upstream interface and a receiver on its downstream
/// interface.
pub trait PlaneHarness<A: Family> {
    type Plane: ForwardingPlane<A>;

    /// What the harness is, for failure messages.
    fn name(&self) -> &'static str;
    fn plane(&mut self) -> &mut Self::Plane;
    /// The router's interface towards the sender.
    fn upstream(&self) -> IfIndex;
    /// The router's interface towards the receiver.
    fn downstream(&self) -> IfIndex;
    /// The errno of a failed plane call, when the plane reports one.
    fn errno(error: &<Self::Plane as ForwardingPlane<A>>::Error) -> Option<i32>;
    /// The receiver starts listening to `group`; traffic sent to it from now on is counted.
    fn listen(&mut self, group: A::Addr);
    /// The sender sends one datagram of [`PAYLOAD`] to `group` with TTL / hop limit `ttl`.
    fn send(&mut self, group: A::Addr, ttl: u8);
    /// The datagrams of `group` the receiver got so far, waiting (up to a deadline) until there
    /// are at least `at_least`.
    fn received(&mut self, group: A::Addr, at_least: u64) -> u64;
    /// The next upcall, waiting up to a deadline; `None` when none came.
    fn next_upcall(&mut self) -> Option<Upcall<A>>;
    /// Discards upcalls already raised.
    fn drain_upcalls(&mut self);
    /// The next upcall already raised, without waiting.
    fn try_upcall(&mut self) -> Option<Upcall<A>>;
    /// Lets `duration` pass (paces traffic; never used to wait for an outcome).
    fn elapse(&mut self, duration: Duration);
    /// Time since the harness started.
    fn clock(&self) -> Duration;

    /// Reads upcalls until one matches `pred`; panics at the deadline.
    fn wait_upcall(&mut self, what: &str, pred: impl Fn(&Upcall<A>) -> bool) -> Upcall<A> {
        let mut others = Vec::new();
        while let Some(upcall) = self.next_upcall() {
            if pred(&upcall) {
                return upcall;
            }
            others.push(upcall);
        }
        panic!("{}: timed out waiting for {what}; other upcalls: {others:?}", self.name());
    }

    /// The counters of every entry.
    fn counters(&mut self) -> BTreeMap<SgKey<A>, MfcCounters> {
        let name = self.name();
        self.plane().counters().unwrap_or_else(|e| panic!("{name}: counters: {e}"))
    }
}
