//! KernelPlane against the real kernel, IPv4 and IPv6, in namespaces this test creates:
//! sender — router — receiver. Forwarding through an installed (S,G) entry, its end on deletion,
//! NOCACHE for unknown traffic (whose queued packets follow once the entry is installed), WRONGVIF for traffic on the non-RPF VIF, counters from the
//! netlink dump, flush. Needs root; skipped with a message otherwise.

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use hato_core::{ForwardingPlane, IfIndex, MfcEntry, MfcOifs, SgKey, Upcall, Vif, VifId, VifKind, V4, V6};
use hato_kernel::{sys, KernelPlane, MrtFamily, PlaneConfig, Received};
use socket2::{Domain, Protocol, Socket, Type};
use support::lab::{in_ns, is_root, Lab};

const DEADLINE: Duration = Duration::from_secs(5);
const PORT: u16 = 5001;
const PAYLOAD: &[u8] = b"hato multicast test payload";

/// The family-specific half of the test.
trait TestFamily: MrtFamily {
    const SOURCE: &'static str;
    const RECEIVER_ADDR: &'static str;
    const GROUP: &'static str;
    const UNKNOWN_GROUP: &'static str;
    /// IP + UDP header length: the kernel counts whole IP packets.
    const HEADERS: u64;

    fn addr(s: &str) -> Self::Addr {
        s.parse().ok().expect("address")
    }
    fn domain() -> Domain;
    fn sender(ifindex: u32) -> Socket;
    fn join(sock: &Socket, group: Self::Addr, ifindex: u32);
}

impl TestFamily for V4 {
    const SOURCE: &'static str = "198.18.1.2";
    const RECEIVER_ADDR: &'static str = "198.18.2.2";
    const GROUP: &'static str = "239.1.2.3";
    const UNKNOWN_GROUP: &'static str = "239.9.9.9";
    const HEADERS: u64 = 28;

    fn domain() -> Domain {
        Domain::IPV4
    }
    fn sender(_ifindex: u32) -> Socket {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        s.set_multicast_ttl_v4(8).unwrap();
        s.set_multicast_if_v4(&Self::addr(Self::SOURCE)).unwrap();
        s
    }
    fn join(sock: &Socket, group: Ipv4Addr, _ifindex: u32) {
        sock.join_multicast_v4(&group, &Self::addr(Self::RECEIVER_ADDR)).unwrap();
    }
}

impl TestFamily for V6 {
    const SOURCE: &'static str = "fd00:1::2";
    const RECEIVER_ADDR: &'static str = "fd00:2::2";
    const GROUP: &'static str = "ff3e::1:2:3";
    const UNKNOWN_GROUP: &'static str = "ff3e::9:9:9";
    const HEADERS: u64 = 48;

    fn domain() -> Domain {
        Domain::IPV6
    }
    fn sender(ifindex: u32) -> Socket {
        let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        s.set_multicast_hops_v6(8).unwrap();
        s.set_multicast_if_v6(ifindex).unwrap();
        s
    }
    fn join(sock: &Socket, group: Ipv6Addr, ifindex: u32) {
        sock.join_multicast_v6(&group, ifindex).unwrap();
    }
}

/// Datagrams waiting on `sock`, without blocking.
fn drain(sock: &Socket) -> u64 {
    let mut buf = [std::mem::MaybeUninit::new(0u8); 256];
    let mut n = 0;
    while sock.recv(&mut buf).is_ok() {
        n += 1;
    }
    n
}

/// Polls `cond` until it holds or the deadline passes.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("timed out waiting for {what}");
}

struct Rig<A: TestFamily> {
    plane: KernelPlane<A>,
    sender: Socket,
    receiver: Socket,
    dest: SocketAddr,
    unknown_dest: SocketAddr,
    sent: u64,
    other_messages: Vec<Received<A>>,
}

impl<A: TestFamily> Rig<A> {
    fn send(&mut self, dest: SocketAddr) {
        self.sender.send_to(PAYLOAD, &dest.into()).unwrap();
    }

    fn send_group(&mut self) {
        self.send(self.dest);
        self.sent += 1;
    }

    /// Datagrams waiting at the receiver, without blocking.
    fn drain_receiver(&self) -> u64 {
        drain(&self.receiver)
    }

    /// Waits for an upcall matching `pred`, keeping other messages aside; sends a packet to
    /// `resend` every 200 ms meanwhile.
    fn wait_upcall(
        &mut self,
        what: &str,
        resend: SocketAddr,
        pred: impl Fn(&Upcall<A>) -> bool,
    ) -> Upcall<A> {
        let deadline = Instant::now() + DEADLINE;
        let mut next_send = Instant::now();
        while Instant::now() < deadline {
            if Instant::now() >= next_send {
                self.send(resend);
                next_send += Duration::from_millis(200);
            }
            match self.plane.recv().unwrap() {
                Some(Received::Upcall(up)) if pred(&up) => return up,
                Some(other) => self.other_messages.push(other),
                None => std::thread::sleep(Duration::from_millis(2)),
            }
        }
        panic!("timed out waiting for {what}; got {:?}", self.other_messages);
    }
}

fn scenario<A: TestFamily>() {
    let lab = Lab::chain();
    let config = PlaneConfig { assert: true, pim: true, ..PlaneConfig::default() };
    let (plane, r0, r1, _all_v3_routers) = in_ns(&lab.router, move || {
        let plane = KernelPlane::<A>::open(config).expect("open plane");
        let r1 = sys::if_nametoindex("r1").unwrap();
        // IGMPv3 reports reach the routing socket only once the host listens to 224.0.0.22.
        let listener = Socket::new(A::domain(), Type::DGRAM, Some(Protocol::UDP)).unwrap();
        if A::FAMILY == hato_core::AddressFamily::Ipv4 {
            listener
                .join_multicast_v4_n(
                    &Ipv4Addr::new(224, 0, 0, 22),
                    &socket2::InterfaceIndexOrAddress::Index(r1),
                )
                .unwrap();
        }
        (plane, sys::if_nametoindex("r0").unwrap(), r1, listener)
    });
    let sender = in_ns(&lab.sender, || A::sender(sys::if_nametoindex("s0").unwrap()));
    let listen = |group: &'static str, port: u16| {
        in_ns(&lab.receiver, move || {
            let s = Socket::new(A::domain(), Type::DGRAM, Some(Protocol::UDP)).unwrap();
            let any: IpAddr = A::UNSPECIFIED.into();
            s.bind(&SocketAddr::new(any, port).into()).unwrap();
            A::join(&s, A::addr(group), sys::if_nametoindex("c0").unwrap());
            s.set_nonblocking(true).unwrap();
            s
        })
    };
    let receiver = listen(A::GROUP, PORT);
    let late_receiver = listen(A::UNKNOWN_GROUP, PORT + 1);
    let (source, group) = (A::addr(A::SOURCE), A::addr(A::GROUP));
    let mut rig = Rig::<A> {
        plane,
        sender,
        receiver,
        dest: SocketAddr::new(group.into(), PORT),
        unknown_dest: SocketAddr::new(A::addr(A::UNKNOWN_GROUP).into(), PORT + 1),
        sent: 0,
        other_messages: Vec::new(),
    };
    let (vif0, vif1) = (VifId(0), VifId(1));
    rig.plane.add_vif(&Vif { id: vif0, kind: VifKind::Interface(IfIndex(r0)), ttl_threshold: 1 }).unwrap();
    rig.plane.add_vif(&Vif { id: vif1, kind: VifKind::Interface(IfIndex(r1)), ttl_threshold: 1 }).unwrap();

    // Unknown (S,G): NOCACHE on the arrival VIF.
    let unknown = A::addr(A::UNKNOWN_GROUP);
    let up = rig.wait_upcall("nocache", rig.unknown_dest, |u| {
        matches!(u, Upcall::NoCache { .. }) && u.key().group == unknown
    });
    assert_eq!(up, Upcall::NoCache { vif: vif0, source, group: unknown });
    // The kernel queued the packet: installing the entry now delivers it without a new send.
    let late_key = SgKey::sg(source, unknown);
    rig.plane.set_mfc(&MfcEntry { key: late_key, iif: vif0, oifs: MfcOifs::from([(vif1, 1)]) }).unwrap();
    wait_for("the queued packet", || drain(&late_receiver) > 0);
    rig.plane.del_mfc(late_key).unwrap();

    // Installed (S,G): forwarded to the receiver, counted.
    let key = SgKey::sg(source, group);
    let entry = MfcEntry::<A> { key, iif: vif0, oifs: MfcOifs::from([(vif1, 1)]) };
    rig.plane.set_mfc(&entry).unwrap();
    let mut received = 0;
    wait_for("first forwarded packet", || {
        rig.send_group();
        received += rig.drain_receiver();
        received > 0
    });
    for _ in 0..10 {
        rig.send_group();
    }
    wait_for("all packets at the receiver", || {
        received += rig.drain_receiver();
        received >= rig.sent
    });
    assert_eq!(received, rig.sent);
    let sent = rig.sent;
    let counters = rig.plane.counters().unwrap();
    let c = counters.get(&key).copied().unwrap_or_else(|| panic!("{key} missing from {counters:?}"));
    assert_eq!(c.packets, sent);
    assert_eq!(c.bytes, sent * (A::HEADERS + PAYLOAD.len() as u64));
    assert_eq!(c.wrong_if, 0);
    assert_eq!(rig.plane.entry_counters(key).unwrap(), Some(c), "one entry's lookup agrees with the dump");

    // Deleted: the next packet misses the cache (NOCACHE) and is not forwarded.
    rig.plane.del_mfc(key).unwrap();
    assert!(!rig.plane.counters().unwrap().contains_key(&key));
    assert_eq!(rig.plane.entry_counters(key).unwrap(), None);
    rig.wait_upcall("nocache after delete", rig.dest, |u| {
        matches!(u, Upcall::NoCache { .. }) && u.key() == key
    });
    assert_eq!(rig.drain_receiver(), 0, "forwarded after the entry was deleted");

    // RPF towards the receiver: the sender's traffic arrives on the wrong VIF.
    let reversed = MfcEntry::<A> { key, iif: vif1, oifs: MfcOifs::from([(vif0, 1)]) };
    rig.plane.set_mfc(&reversed).unwrap();
    let up = rig.wait_upcall("wrongvif", rig.dest, |u| matches!(u, Upcall::WrongVif { .. }));
    assert_eq!(up, Upcall::WrongVif { vif: vif0, source, group });
    wait_for("wrong_if counter", || rig.plane.counters().unwrap().get(&key).is_some_and(|c| c.wrong_if >= 1));

    // A big table is read entry by entry: the same counters, every entry.
    let extra: Vec<SgKey<A>> = (0..20_000u32)
        .map(|i| {
            let group = if A::ADDR_LEN == 4 {
                format!("239.200.{}.{}", i / 256, i % 256)
            } else {
                format!("ff3e::200:{i:x}")
            };
            SgKey::sg(source, A::addr(&group))
        })
        .collect();
    for extra_key in &extra {
        rig.plane
            .set_mfc(&MfcEntry { key: *extra_key, iif: vif0, oifs: MfcOifs::from([(vif1, 1)]) })
            .unwrap();
    }
    let all = rig.plane.counters().unwrap();
    assert_eq!(all.len(), extra.len() + 1);
    assert_eq!(all.get(&key).copied(), rig.plane.entry_counters(key).unwrap());
    assert!(all.get(&key).is_some_and(|c| c.wrong_if >= 1));
    for extra_key in &extra {
        rig.plane.del_mfc(*extra_key).unwrap();
    }
    assert_eq!(rig.plane.counters().unwrap().len(), 1);

    // The register VIF: packets forwarded to it come up whole, IP header first.
    let register = VifId(2);
    rig.plane.add_vif(&Vif { id: register, kind: VifKind::Register, ttl_threshold: 1 }).unwrap();
    let to_register = MfcEntry::<A> { key, iif: vif0, oifs: MfcOifs::from([(register, 1)]) };
    rig.plane.set_mfc(&to_register).unwrap();
    let up = rig.wait_upcall("wholepkt", rig.dest, |u| matches!(u, Upcall::WholePacket { .. }));
    assert_eq!((up.vif(), up.key()), (register, key));
    let packet = up.packet().unwrap();
    assert_eq!(packet.len() as u64, A::HEADERS + PAYLOAD.len() as u64);
    assert_eq!(packet.first().map(|b| b >> 4), Some(if A::ADDR_LEN == 4 { 4 } else { 6 }));
    assert!(packet.ends_with(PAYLOAD));

    // (*,G) entries are installed with the unspecified origin and dumped back as (*,G).
    let star = SgKey::star_g(group);
    rig.plane.set_mfc(&MfcEntry { key: star, iif: vif0, oifs: MfcOifs::from([(vif1, 1)]) }).unwrap();
    assert!(rig.plane.counters().unwrap().contains_key(&star));
    rig.plane.del_mfc(star).unwrap();
    assert!(!rig.plane.counters().unwrap().contains_key(&star));

    // Flush: no entries left.
    rig.plane.flush().unwrap();
    assert!(rig.plane.counters().unwrap().is_empty());
    assert!(rig
        .plane
        .add_vif(&Vif { id: vif0, kind: VifKind::Interface(IfIndex(r0)), ttl_threshold: 1 })
        .is_ok());

    if A::FAMILY == hato_core::AddressFamily::Ipv4 {
        // The receiver's join reached the router's routing socket as an IGMP packet.
        let is_igmp = |m: &Received<A>| matches!(m, Received::Packet(p) if p.get(9) == Some(&2));
        wait_for("an IGMP packet on the routing socket", || {
            if let Some(msg) = rig.plane.recv().unwrap() {
                rig.other_messages.push(msg);
            }
            rig.other_messages.iter().any(is_igmp)
        });
    }

    // One owner per table; closing the owner's socket flushes the table.
    rig.plane.set_mfc(&entry).unwrap();
    let second = in_ns(&lab.router, move || KernelPlane::<A>::open(config).map(|_| ()));
    let err = second.expect_err("a second owner of the table");
    assert_eq!(err.source.raw_os_error(), Some(libc::EADDRINUSE), "{err}");
    drop(rig);
    let mut reopened = in_ns(&lab.router, move || KernelPlane::<A>::open(config)).expect("reopen");
    assert!(reopened.counters().unwrap().is_empty());
    drop(reopened);
    drop(lab);
}

#[test]
fn ipv4_forwarding_upcalls_counters() {
    if !is_root() {
        eprintln!("SKIPPED: namespace tests need root");
        return;
    }
    scenario::<V4>();
}

#[test]
fn ipv6_forwarding_upcalls_counters() {
    if !is_root() {
        eprintln!("SKIPPED: namespace tests need root");
        return;
    }
    scenario::<V6>();
}
