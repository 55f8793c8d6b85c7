//! KernelPlane with its writer thread against the real kernel, IPv4 and IPv6, in namespaces this
//! test creates (sender — router — receiver): deferred installs are all visible to the next read
//! and forward traffic, changes apply in call order, the kernel's refusals come back through
//! `take_failures` (a later change of the key supersedes a failure), and dropping the plane
//! applies what is queued and releases the table. Needs root; skipped with a message otherwise.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use hato_core::{ForwardingPlane, IfIndex, MfcChange, MfcEntry, MfcOifs, SgKey, Vif, VifId, VifKind, V4, V6};
use hato_kernel::{sys, KernelPlane, MrtFamily, Op, PlaneConfig};
use socket2::{Domain, Protocol, Socket, Type};
use support::lab::{in_ns, is_root, Lab};

const DEADLINE: Duration = Duration::from_secs(5);
const PORT: u16 = 5003;
/// Entries installed in one go: several of the writer's batches.
const BULK: u32 = 5_000;

trait TestFamily: MrtFamily {
    const SOURCE: &'static str;
    const RECEIVER_ADDR: &'static str;
    /// A unicast address used as a group: the kernel refuses to create such an entry.
    const NOT_A_GROUP: &'static str;

    fn addr(s: &str) -> Self::Addr {
        s.parse().ok().expect("address")
    }
    /// The `i`th group of the bulk install.
    fn bulk_group(i: u32) -> Self::Addr;
    fn domain() -> Domain;
    fn sender(ifindex: u32) -> Socket;
    fn join(sock: &Socket, group: Self::Addr, ifindex: u32);
}

impl TestFamily for V4 {
    const SOURCE: &'static str = "198.18.1.2";
    const RECEIVER_ADDR: &'static str = "198.18.2.2";
    const NOT_A_GROUP: &'static str = "198.18.9.9";

    fn bulk_group(i: u32) -> std::net::Ipv4Addr {
        let [_, _, c, d] = i.to_be_bytes();
        std::net::Ipv4Addr::new(239, 100, c, d)
    }
    fn domain() -> Domain {
        Domain::IPV4
    }
    fn sender(_ifindex: u32) -> Socket {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        s.set_multicast_ttl_v4(8).unwrap();
        s.set_multicast_if_v4(&Self::addr(Self::SOURCE)).unwrap();
        s
    }
    fn join(sock: &Socket, group: std::net::Ipv4Addr, _ifindex: u32) {
        sock.join_multicast_v4(&group, &Self::addr(Self::RECEIVER_ADDR)).unwrap();
    }
}

impl TestFamily for V6 {
    const SOURCE: &'static str = "fd00:1::2";
    const RECEIVER_ADDR: &'static str = "fd00:2::2";
    const NOT_A_GROUP: &'static str = "fd00:9::9";

    fn bulk_group(i: u32) -> std::net::Ipv6Addr {
        std::net::Ipv6Addr::new(0xff3e, 0, 0, 0, 0, 0x100, (i >> 16) as u16, i as u16)
    }
    fn domain() -> Domain {
        Domain::IPV6
    }
    fn sender(ifindex: u32) -> Socket {
        let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        s.set_multicast_hops_v6(8).unwrap();
        s.set_multicast_if_v6(ifindex).unwrap();
        s
    }
    fn join(sock: &Socket, group: std::net::Ipv6Addr, ifindex: u32) {
        sock.join_multicast_v6(&group, ifindex).unwrap();
    }
}

fn entry<A: TestFamily>(key: SgKey<A>, iif: u16, oif: u16) -> MfcEntry<A> {
    MfcEntry { key, iif: VifId(iif), oifs: MfcOifs::from([(VifId(oif), 1)]) }
}

fn scenario<A: TestFamily>() {
    let lab = Lab::chain();
    let config = PlaneConfig { pim: true, ..PlaneConfig::default() };
    let (mut plane, r0, r1) = in_ns(&lab.router, move || {
        let plane = KernelPlane::<A>::open(config).expect("open plane");
        (plane, sys::if_nametoindex("r0").unwrap(), sys::if_nametoindex("r1").unwrap())
    });
    for (id, ifindex) in [(0, r0), (1, r1)] {
        let vif = Vif { id: VifId(id), kind: VifKind::Interface(IfIndex(ifindex)), ttl_threshold: 1 };
        plane.add_vif(&vif).unwrap();
    }
    plane.start_writer().unwrap();
    let source = A::addr(A::SOURCE);

    // A bulk install, partly deleted again, then read: every change applied, in order.
    let keys: Vec<SgKey<A>> = (0..BULK).map(|i| SgKey::sg(source, A::bulk_group(i))).collect();
    for key in &keys {
        plane.set_mfc(&entry(*key, 0, 1)).unwrap();
    }
    for key in keys.iter().step_by(2) {
        plane.del_mfc(*key).unwrap();
    }
    plane.submit();
    let read = plane.counters().unwrap();
    let expected: Vec<SgKey<A>> = keys.iter().skip(1).step_by(2).copied().collect();
    assert_eq!(read.keys().copied().collect::<Vec<_>>(), expected);
    assert!(plane.take_failures().is_empty());
    for key in &expected {
        plane.del_mfc(*key).unwrap();
    }
    assert!(plane.counters().unwrap().is_empty());

    // The kernel does not check the incoming VIF: an entry whose iif has no VIF is accepted.
    let no_vif = SgKey::sg(source, A::bulk_group(BULK));
    plane.set_mfc(&entry(no_vif, 7, 1)).unwrap();
    assert!(plane.entry_counters(no_vif).unwrap().is_some(), "installed although VIF 7 does not exist");
    plane.del_mfc(no_vif).unwrap();

    // A VIF number beyond the kernel's is refused in the call, before anything is queued.
    let refused = plane.set_mfc(&entry(no_vif, 40, 1)).unwrap_err();
    assert_eq!((refused.op, refused.source.kind()), (Op::SetMfc, std::io::ErrorKind::InvalidInput));

    // The kernel refuses an entry for a unicast group (EINVAL) and the removal of an entry it
    // does not have (ENOENT): both calls succeed, the failures come back later, in order.
    let unicast = SgKey::sg(source, A::addr(A::NOT_A_GROUP));
    let missing = SgKey::sg(source, A::bulk_group(BULK + 1));
    plane.set_mfc(&entry(unicast, 0, 1)).unwrap();
    plane.del_mfc(missing).unwrap();
    plane.submit();
    // Any read is a barrier: afterwards every failure is known.
    assert_eq!(plane.entry_counters(unicast).unwrap(), None);
    let failures = plane.take_failures();
    let summary: Vec<_> =
        failures.iter().map(|f| (f.key, f.change, f.error.op, f.error.source.raw_os_error())).collect();
    assert_eq!(
        summary,
        vec![
            (unicast, MfcChange::Set, Op::SetMfc, Some(libc::EINVAL)),
            (missing, MfcChange::Delete, Op::DelMfc, Some(libc::ENOENT)),
        ]
    );
    assert!(plane.take_failures().is_empty(), "each failure is reported once");

    // A failed change that a later change of the same key supersedes is not reported.
    plane.del_mfc(missing).unwrap();
    plane.set_mfc(&entry(missing, 0, 1)).unwrap();
    assert!(plane.entry_counters(missing).unwrap().is_some());
    assert!(plane.take_failures().is_empty());
    plane.del_mfc(missing).unwrap();

    // Installs through the writer forward traffic.
    let group = A::bulk_group(BULK + 2);
    let receiver = in_ns(&lab.receiver, move || {
        let s = Socket::new(A::domain(), Type::DGRAM, Some(Protocol::UDP)).unwrap();
        let any: IpAddr = A::UNSPECIFIED.into();
        s.bind(&SocketAddr::new(any, PORT).into()).unwrap();
        A::join(&s, group, sys::if_nametoindex("c0").unwrap());
        s.set_nonblocking(true).unwrap();
        s
    });
    let sender = in_ns(&lab.sender, || A::sender(sys::if_nametoindex("s0").unwrap()));
    plane.set_mfc(&entry(SgKey::sg(source, group), 0, 1)).unwrap();
    plane.submit();
    let dest: socket2::SockAddr = SocketAddr::new(group.into(), PORT).into();
    let deadline = Instant::now() + DEADLINE;
    let mut buf = [std::mem::MaybeUninit::new(0u8); 256];
    loop {
        sender.send_to(b"hato writer", &dest).unwrap();
        if receiver.recv(&mut buf).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "nothing forwarded through the writer's entry");
        std::thread::sleep(Duration::from_millis(5));
    }

    // Dropping the plane applies what is queued, joins the thread and closes both descriptors:
    // the table has no owner any more and can be opened again, empty.
    for key in &keys {
        plane.set_mfc(&entry(*key, 0, 1)).unwrap();
    }
    drop(plane);
    let mut reopened = in_ns(&lab.router, move || KernelPlane::<A>::open(config)).expect("reopen the table");
    assert!(reopened.counters().unwrap().is_empty());
    drop(reopened);
    drop(lab);
}

/// Both families in one test, one after the other: a process that a parallel test forks holds a
/// copy of every descriptor until it executes its program, so a table closed here could still be
/// owned for a moment when it is opened again.
#[test]
fn writer_thread_ipv4_then_ipv6() {
    if !is_root() {
        eprintln!("SKIPPED: namespace tests need root");
        return;
    }
    scenario::<V4>();
    scenario::<V6>();
}
