//! Protocol sockets against the real kernel: two namespaces joined by a veth pair; PIM (IPv4 and
//! IPv6), IGMP and MLD packets sent from one and received by the other with the arriving interface,
//! addresses, TTL / hop limit 1 and the Router Alert where the kernel shows it.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use common::{have_root, wait_readable, Netns};
use hato_core::{Afi, IfIndex, V4, V6};
use hato_kernel::socket::{ProtocolSocket, Received};
use hato_wire::checksum::{checksum, finish, ipv6_pseudo_header, sum};

/// Two namespaces, `tx` (`ha`, 198.18.9.1, fd00:9::1) and `rx` (`hb`, 198.18.9.2, fd00:9::2).
struct Lab {
    tx: Netns,
    rx: Netns,
    tx_if: IfIndex,
    rx_if: IfIndex,
    tx_link_local: Ipv6Addr,
}

fn lab() -> Lab {
    let tx = Netns::new("tx");
    let rx = Netns::new("rx");
    tx.ip(&format!("link add ha type veth peer name hb netns {}", rx.name));
    tx.ip("addr add 198.18.9.1/24 dev ha");
    rx.ip("addr add 198.18.9.2/24 dev hb");
    tx.ip("addr add fd00:9::1/64 dev ha nodad");
    rx.ip("addr add fd00:9::2/64 dev hb nodad");
    tx.ip("link set ha up");
    rx.ip("link set hb up");
    let (tx_if, rx_if) = (tx.ifindex("ha"), rx.ifindex("hb"));
    let tx_link_local = tx.link_local("ha");
    Lab { tx, rx, tx_if, rx_if, tx_link_local }
}

/// Receives until a packet whose payload satisfies `want` arrives (other traffic, such as the
/// kernel's own MLD and IGMP reports, is skipped); returns it with its payload and the first octet
/// of every payload skipped.
fn receive<A: Afi>(
    socket: &ProtocolSocket<A>,
    what: &str,
    want: impl Fn(&[u8]) -> bool,
) -> (Received<A>, Vec<u8>, Vec<Option<u8>>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = vec![0u8; 2048];
    let mut skipped = Vec::new();
    loop {
        assert!(Instant::now() < deadline, "timed out waiting for {what}; skipped {skipped:?}");
        wait_readable(socket, deadline);
        while let Some(got) = socket.recv(&mut buf).expect("recv") {
            let payload = buf[got.payload.clone()].to_vec();
            if want(&payload) {
                return (got, payload, skipped);
            }
            skipped.push(payload.first().copied());
            assert!(skipped.len() < 1000, "too much unrelated traffic");
        }
    }
}

fn pim_hello() -> Vec<u8> {
    // PIMv2 Hello (RFC 7761 §4.9.2) with a Holdtime option of 105 s.
    vec![0x20, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x69]
}

#[test]
fn pim_over_ipv4_and_ipv6() {
    if !have_root() {
        return;
    }
    let lab = lab();
    let (rx4, rx6) = lab.rx.enter(|| {
        let rx4 = ProtocolSocket::<V4>::pim().expect("pim4");
        let rx6 = ProtocolSocket::<V6>::pim().expect("pim6");
        (rx4, rx6)
    });
    rx4.join_protocol_groups(lab.rx_if).unwrap();
    rx6.join_protocol_groups(lab.rx_if).unwrap();
    let (tx4, tx6) =
        lab.tx.enter(|| (ProtocolSocket::<V4>::pim().unwrap(), ProtocolSocket::<V6>::pim().unwrap()));

    let mut hello = pim_hello();
    let c = checksum(&hello);
    hello[2..4].copy_from_slice(&c.to_be_bytes());
    tx4.send(&hello, V4::ALL_PIM_ROUTERS, Some(lab.tx_if), None).unwrap();
    let (got, payload, _) = receive(&rx4, "PIM hello over IPv4", |p| p == hello.as_slice());
    assert_eq!(got.ifindex, lab.rx_if);
    assert_eq!(got.source, Ipv4Addr::new(198, 18, 9, 1));
    assert_eq!(got.destination, V4::ALL_PIM_ROUTERS);
    assert_eq!(got.hop_limit, Some(1));
    assert_eq!(got.router_alert, Some(false));
    assert_eq!(payload, hello);

    let mut hello6 = pim_hello();
    let acc = ipv6_pseudo_header(&lab.tx_link_local, &V6::ALL_PIM_ROUTERS, hello6.len() as u32, 103);
    let c = finish(sum(acc, &hello6));
    hello6[2..4].copy_from_slice(&c.to_be_bytes());
    tx6.send(&hello6, V6::ALL_PIM_ROUTERS, Some(lab.tx_if), Some(lab.tx_link_local)).unwrap();
    let (got, _, _) = receive(&rx6, "PIM hello over IPv6", |p| p == hello6.as_slice());
    assert_eq!(got.ifindex, lab.rx_if);
    assert_eq!(got.source, lab.tx_link_local);
    assert_eq!(got.destination, V6::ALL_PIM_ROUTERS);
    assert_eq!(got.hop_limit, Some(1));

    // After leaving ALL-PIM-ROUTERS nothing more arrives.
    rx4.leave_protocol_groups(lab.rx_if).unwrap();
    tx4.send(&hello, V4::ALL_PIM_ROUTERS, Some(lab.tx_if), None).unwrap();
    let mut buf = [0u8; 256];
    let quiet_until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < quiet_until {
        wait_readable(&rx4, quiet_until);
        assert_eq!(rx4.recv(&mut buf).unwrap(), None, "received after leaving the group");
    }
}

#[test]
fn igmp_report_carries_router_alert() {
    if !have_root() {
        return;
    }
    let lab = lab();
    let rx = lab.rx.enter(|| ProtocolSocket::<V4>::igmp().unwrap());
    rx.join_protocol_groups(lab.rx_if).unwrap();
    let tx = lab.tx.enter(|| ProtocolSocket::<V4>::igmp().unwrap());

    // IGMPv3 Report (RFC 3376 §4.2): one CHANGE_TO_EXCLUDE record for 239.1.2.3.
    let mut report = vec![0x22, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0, 239, 1, 2, 3];
    let c = checksum(&report);
    report[2..4].copy_from_slice(&c.to_be_bytes());
    tx.send(&report, V4::ALL_V3_ROUTERS, Some(lab.tx_if), Some(Ipv4Addr::new(198, 18, 9, 1))).unwrap();
    let (got, _, _) = receive(&rx, "IGMPv3 report", |p| p == report.as_slice());
    assert_eq!(got.ifindex, lab.rx_if);
    assert_eq!(got.source, Ipv4Addr::new(198, 18, 9, 1));
    assert_eq!(got.destination, V4::ALL_V3_ROUTERS);
    assert_eq!(got.hop_limit, Some(1));
    assert_eq!(got.router_alert, Some(true));
}

#[test]
fn mld_report_passes_the_filter_and_echo_does_not() {
    if !have_root() {
        return;
    }
    let lab = lab();
    let (rx, wire) = lab.rx.enter(|| (ProtocolSocket::<V6>::mld().unwrap(), packet_socket()));
    rx.join_protocol_groups(lab.rx_if).unwrap();
    let tx = lab.tx.enter(|| ProtocolSocket::<V6>::mld().unwrap());

    // An Echo Request first: the filter must drop it.
    let echo = [128u8, 0, 0, 0, 0x12, 0x34, 0, 1];
    tx.send(&echo, V6::ALL_V3_ROUTERS, Some(lab.tx_if), Some(lab.tx_link_local)).unwrap();
    // MLDv2 Report (RFC 3810 §5.2): one CHANGE_TO_EXCLUDE record for ff3e::1234. The kernel fills
    // the ICMPv6 checksum of raw ICMPv6 sockets.
    let mut report = vec![143u8, 0, 0, 0, 0, 0, 0, 1, 4, 0, 0, 0];
    report.extend_from_slice(&"ff3e::1234".parse::<Ipv6Addr>().unwrap().octets());
    tx.send(&report, V6::ALL_V3_ROUTERS, Some(lab.tx_if), Some(lab.tx_link_local)).unwrap();

    let (got, payload, skipped) = receive(&rx, "MLDv2 report", |p| p.get(4..) == report.get(4..));
    assert!(!skipped.contains(&Some(128)), "the echo request passed the filter");
    assert_eq!(payload[0], 143);
    assert_eq!(got.ifindex, lab.rx_if);
    assert_eq!(got.source, lab.tx_link_local);
    assert_eq!(got.destination, V6::ALL_V3_ROUTERS);
    assert_eq!(got.hop_limit, Some(1));
    assert_eq!(got.router_alert, Some(true), "the Hop-by-Hop Router Alert seen on receive");
    assert_ne!(payload[2..4], [0, 0], "the kernel filled the checksum");
    // On the wire: hop limit 1 and a Hop-by-Hop header whose Router Alert says MLD (RFC 2711).
    let frame = wire_frame(&wire, |ip| ip.get(48) == Some(&143) && ip.get(60..76) == report.get(12..28))
        .expect("the report on the wire");
    assert_eq!(frame[7], 1, "hop limit");
    assert_eq!(frame[6], 0, "next header is Hop-by-Hop");
    assert_eq!(frame[40..48], [58, 0, 5, 2, 0, 0, 1, 0]);
    // Nothing but MLD ever reached the socket.
    let mut buf = [0u8; 512];
    while let Some(other) = rx.recv(&mut buf).unwrap() {
        assert!(
            [130, 131, 132, 143].contains(&buf[other.payload.start]),
            "non-MLD type {}",
            buf[other.payload.start]
        );
    }
}

/// A non-blocking `AF_PACKET` socket seeing every frame of the namespace it is opened in.
fn packet_socket() -> socket2::Socket {
    const ETH_P_ALL: u16 = 0x0003;
    let protocol = socket2::Protocol::from(i32::from(ETH_P_ALL.to_be()));
    let socket = socket2::Socket::new(socket2::Domain::PACKET, socket2::Type::RAW, Some(protocol)).unwrap();
    socket.set_nonblocking(true).unwrap();
    socket
}

/// The IPv6 packet (Ethernet header stripped) of the first queued frame satisfying `want`.
fn wire_frame(socket: &socket2::Socket, want: impl Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut buf = [0u8; 2048];
    for _ in 0..1000 {
        let len = (&*socket).read(&mut buf).ok()?;
        let frame = &buf[..len];
        if frame.get(12..14) == Some(&[0x86, 0xdd]) && want(&frame[14..]) {
            return Some(frame[14..].to_vec());
        }
    }
    None
}
