//! [`KernelHarness`]: the scenarios on the real kernel. `KernelPlane` owns the multicast routing
//! table of a router namespace between a sender and a receiver namespace (hato-kernel's test lab:
//! veth pairs, 198.18.0.0/15 and fd00::/8, unique names, deleted on drop). Needs root.

#[path = "../../../hato-kernel/tests/support/lab.rs"]
mod lab;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hato_core::{AddressFamily, IfIndex, Upcall};
use hato_kernel::{sys, Error, KernelPlane, PlaneConfig, Received};
use socket2::{Domain, Protocol, Socket, Type};

pub use lab::is_root;
use lab::{in_ns, Lab};

use super::{Family, Modes, PlaneHarness, FIRST_PORT, PAYLOAD, UNHEARD_PORT};

/// How long to wait for an upcall or a datagram.
const DEADLINE: Duration = Duration::from_secs(5);
/// How often to look again while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(2);

struct Listener {
    port: u16,
    socket: Socket,
    received: u64,
}

pub struct KernelHarness<A: Family> {
    // Field order is drop order: sockets and the plane close before the lab deletes namespaces.
    plane: KernelPlane<A>,
    sender: Socket,
    listeners: BTreeMap<A::Addr, Listener>,
    upstream: IfIndex,
    downstream: IfIndex,
    started: Instant,
    lab: Lab,
}

impl<A: Family> std::fmt::Debug for KernelHarness<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelHarness").field("lab", &self.lab).finish_non_exhaustive()
    }
}

fn domain<A: Family>() -> Domain {
    match A::FAMILY {
        AddressFamily::Ipv4 => Domain::IPV4,
        AddressFamily::Ipv6 => Domain::IPV6,
    }
}

impl<A: Family> KernelHarness<A> {
    /// Builds the lab and opens the router's table in `modes`.
    pub fn new(modes: Modes) -> Self {
        let lab = Lab::chain();
        let config = PlaneConfig {
            assert: modes.assert,
            pim: modes.pim,
            wrong_vif_whole: modes.wrong_vif_whole,
            ..PlaneConfig::default()
        };
        let (plane, upstream, downstream) = in_ns(&lab.router, move || {
            let plane = KernelPlane::<A>::open(config).expect("open plane");
            let index = |name: &str| IfIndex(sys::if_nametoindex(name).expect("router link"));
            (plane, index("r0"), index("r1"))
        });
        let sender = in_ns(&lab.sender, || {
            let socket = Socket::new(domain::<A>(), Type::DGRAM, Some(Protocol::UDP)).expect("sender");
            match A::FAMILY {
                AddressFamily::Ipv4 => {
                    let source = A::SOURCE.parse().expect("IPv4 source");
                    socket.set_multicast_if_v4(&source).expect("multicast interface");
                }
                AddressFamily::Ipv6 => {
                    socket
                        .set_multicast_if_v6(sys::if_nametoindex("s0").expect("s0"))
                        .expect("multicast interface");
                }
            }
            socket
        });
        let started = Instant::now();
        KernelHarness { plane, sender, listeners: BTreeMap::new(), upstream, downstream, started, lab }
    }

    fn deadline() -> Instant {
        Instant::now() + DEADLINE
    }
}

impl<A: Family> PlaneHarness<A> for KernelHarness<A> {
    type Plane = KernelPlane<A>;

    fn name(&self) -> &'static str {
        "kernel"
    }

    fn plane(&mut self) -> &mut KernelPlane<A> {
        &mut self.plane
    }

    fn upstream(&self) -> IfIndex {
        self.upstream
    }

    fn downstream(&self) -> IfIndex {
        self.downstream
    }

    fn errno(error: &Error) -> Option<i32> {
        error.source.raw_os_error()
    }

    fn listen(&mut self, group: A::Addr) {
        if self.listeners.contains_key(&group) {
            return;
        }
        let port = FIRST_PORT + u16::try_from(self.listeners.len()).expect("few groups");
        let socket = in_ns(&self.lab.receiver, move || {
            let socket = Socket::new(domain::<A>(), Type::DGRAM, Some(Protocol::UDP)).expect("receiver");
            let any: IpAddr = A::UNSPECIFIED.into();
            socket.bind(&SocketAddr::new(any, port).into()).expect("bind");
            match group.into() {
                IpAddr::V4(g) => {
                    socket.join_multicast_v4(&g, &"198.18.2.2".parse().expect("address")).expect("join")
                }
                IpAddr::V6(g) => {
                    socket.join_multicast_v6(&g, sys::if_nametoindex("c0").expect("c0")).expect("join")
                }
            }
            socket.set_nonblocking(true).expect("nonblocking");
            socket
        });
        self.listeners.insert(group, Listener { port, socket, received: 0 });
    }

    fn send(&mut self, group: A::Addr, ttl: u8) {
        let port = self.listeners.get(&group).map_or(UNHEARD_PORT, |l| l.port);
        match A::FAMILY {
            AddressFamily::Ipv4 => self.sender.set_multicast_ttl_v4(u32::from(ttl)),
            AddressFamily::Ipv6 => self.sender.set_multicast_hops_v6(u32::from(ttl)),
        }
        .expect("set TTL");
        let dest = SocketAddr::new(group.into(), port);
        self.sender.send_to(PAYLOAD, &dest.into()).expect("send");
    }

    fn received(&mut self, group: A::Addr, at_least: u64) -> u64 {
        let Some(listener) = self.listeners.get_mut(&group) else { return 0 };
        let deadline = Self::deadline();
        let mut buf = [std::mem::MaybeUninit::new(0u8); 256];
        loop {
            while listener.socket.recv(&mut buf).is_ok() {
                listener.received += 1;
            }
            if listener.received >= at_least || Instant::now() >= deadline {
                return listener.received;
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    fn next_upcall(&mut self) -> Option<Upcall<A>> {
        let deadline = Self::deadline();
        while Instant::now() < deadline {
            match self.plane.recv().expect("recv") {
                Some(Received::Upcall(upcall)) => return Some(upcall),
                // IGMP packets and unknown messages are not this suite's business.
                Some(Received::Packet(_) | Received::Unrecognised(_)) => {}
                None => std::thread::sleep(POLL_INTERVAL),
            }
        }
        None
    }

    fn drain_upcalls(&mut self) {
        while self.plane.recv().expect("recv").is_some() {}
    }

    fn try_upcall(&mut self) -> Option<Upcall<A>> {
        loop {
            match self.plane.recv().expect("recv")? {
                Received::Upcall(upcall) => return Some(upcall),
                Received::Packet(_) | Received::Unrecognised(_) => {}
            }
        }
    }

    fn elapse(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn clock(&self) -> Duration {
        self.started.elapsed()
    }
}
