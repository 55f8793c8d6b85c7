//! From a captured frame to its network-layer packet, and from an IP destination to its multicast MAC.
//!
//! Link types (tcpdump.org `LINKTYPE_*`): Ethernet II with any number of 802.1Q / 802.1ad / QinQ tags
//! (IEEE 802.1Q §9), Linux cooked captures SLL and SLL2, raw IP (101, 228, 229, and the `DLT_RAW` values
//! 12 and 14 that some systems write), and BSD / OpenBSD loopback (0, 108). Multicast MAC mapping:
//! RFC 1112 §6.4 (IPv4) and RFC 2464 §7 (IPv6).

use std::net::IpAddr;

use crate::{Error, LinkType};

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
/// 802.1Q customer tag, 802.1ad service tag, and the pre-standard QinQ tag.
const ETHERTYPE_VLAN_TAGS: [u16; 3] = [0x8100, 0x88a8, 0x9100];

const ETHERNET_HEADER_LEN: usize = 14;
const VLAN_TAG_LEN: usize = 4;
const SLL_HEADER_LEN: usize = 16;
const SLL2_HEADER_LEN: usize = 20;
const LOOPBACK_HEADER_LEN: usize = 4;

/// `AF_INET` on every system.
const AF_INET: u32 = 2;
/// `AF_INET6` on Linux, NetBSD/OpenBSD, FreeBSD, and macOS.
const AF_INET6_VALUES: [u32; 4] = [10, 24, 28, 30];

/// The network-layer content of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network<'a> {
    /// An IPv4 packet, trimmed to its Total Length when the frame holds all of it (dropping Ethernet
    /// padding); otherwise everything after the link header.
    Ipv4(&'a [u8]),
    /// An IPv6 packet, trimmed to 40 + Payload Length when the frame holds all of it.
    Ipv6(&'a [u8]),
    /// Something other than IP. `ethertype` is the frame's type field; values below 0x0600 are 802.3
    /// lengths.
    Other { ethertype: u16 },
}

/// The network-layer packet inside a frame of the given link type.
pub fn network_layer(link_type: LinkType, frame: &[u8]) -> Result<Network<'_>, Error> {
    let too_short = Error::FrameTooShort { link_type };
    match link_type {
        LinkType::ETHERNET => {
            let ethertype = be_u16(frame, 12).ok_or(too_short)?;
            let payload = frame.get(ETHERNET_HEADER_LEN..).ok_or(too_short)?;
            by_ethertype(link_type, ethertype, payload)
        }
        // SLL: packet type, ARPHRD type, address length, 8 address bytes, protocol.
        LinkType::LINUX_SLL => {
            let protocol = be_u16(frame, 14).ok_or(too_short)?;
            let payload = frame.get(SLL_HEADER_LEN..).ok_or(too_short)?;
            by_ethertype(link_type, protocol, payload)
        }
        // SLL2: protocol, reserved, interface index, ARPHRD type, packet type, address length, address.
        LinkType::LINUX_SLL2 => {
            let protocol = be_u16(frame, 0).ok_or(too_short)?;
            let payload = frame.get(SLL2_HEADER_LEN..).ok_or(too_short)?;
            by_ethertype(link_type, protocol, payload)
        }
        LinkType::RAW | LinkType::RAW_DLT12 | LinkType::RAW_DLT14 => {
            let version = frame.first().ok_or(too_short)? >> 4;
            match version {
                4 => Ok(Network::Ipv4(trim_ipv4(frame))),
                6 => Ok(Network::Ipv6(trim_ipv6(frame))),
                _ => Err(Error::UnknownNetworkProtocol { value: u32::from(version) }),
            }
        }
        LinkType::IPV4 => Ok(Network::Ipv4(trim_ipv4(frame))),
        LinkType::IPV6 => Ok(Network::Ipv6(trim_ipv6(frame))),
        LinkType::NULL | LinkType::LOOP => {
            let bytes: [u8; 4] =
                frame.get(..LOOPBACK_HEADER_LEN).and_then(|b| b.try_into().ok()).ok_or(too_short)?;
            let payload = frame.get(LOOPBACK_HEADER_LEN..).ok_or(too_short)?;
            // NULL is in the capturing host's byte order, LOOP in network order: accept either.
            let family = u32::from_be_bytes(bytes);
            let candidates = [family, family.swap_bytes()];
            if candidates.contains(&AF_INET) {
                Ok(Network::Ipv4(trim_ipv4(payload)))
            } else if candidates.iter().any(|value| AF_INET6_VALUES.contains(value)) {
                Ok(Network::Ipv6(trim_ipv6(payload)))
            } else {
                Err(Error::UnknownNetworkProtocol { value: family })
            }
        }
        _ => Err(Error::UnsupportedLinkType { link_type }),
    }
}

/// The payload after an Ethernet-style type field, looking through VLAN tags (each a 2-byte tag control
/// field and the next type).
fn by_ethertype(link_type: LinkType, mut ethertype: u16, mut payload: &[u8]) -> Result<Network<'_>, Error> {
    // Each pass consumes one 4-byte tag, so the loop ends within payload.len() / 4 passes.
    while ETHERTYPE_VLAN_TAGS.contains(&ethertype) {
        ethertype = be_u16(payload, 2).ok_or(Error::FrameTooShort { link_type })?;
        payload = payload.get(VLAN_TAG_LEN..).ok_or(Error::FrameTooShort { link_type })?;
    }
    Ok(match ethertype {
        ETHERTYPE_IPV4 => Network::Ipv4(trim_ipv4(payload)),
        ETHERTYPE_IPV6 => Network::Ipv6(trim_ipv6(payload)),
        _ => Network::Other { ethertype },
    })
}

/// Cuts link-layer padding after an IPv4 packet whose Total Length fits the bytes at hand.
fn trim_ipv4(packet: &[u8]) -> &[u8] {
    match be_u16(packet, 2) {
        Some(total) if usize::from(total) >= 20 => packet.get(..usize::from(total)).unwrap_or(packet),
        _ => packet,
    }
}

/// Cuts link-layer padding after an IPv6 packet whose Payload Length fits the bytes at hand. A zero
/// Payload Length (a jumbogram, RFC 2675) is left alone.
fn trim_ipv6(packet: &[u8]) -> &[u8] {
    match be_u16(packet, 4) {
        Some(payload) if payload != 0 => packet.get(..40 + usize::from(payload)).unwrap_or(packet),
        _ => packet,
    }
}

fn be_u16(data: &[u8], offset: usize) -> Option<u16> {
    let bytes = data.get(offset..offset.checked_add(2)?)?;
    Some(u16::from_be_bytes(bytes.try_into().ok()?))
}

/// The Ethernet destination for an IP multicast group: 01:00:5e plus the low 23 bits of an IPv4 group
/// (RFC 1112 §6.4), 33:33 plus the low 32 bits of an IPv6 group (RFC 2464 §7). `None` for unicast.
pub fn multicast_mac(destination: IpAddr) -> Option<[u8; 6]> {
    match destination {
        IpAddr::V4(group) if group.is_multicast() => {
            let [_, b1, b2, b3] = group.octets();
            Some([0x01, 0x00, 0x5e, b1 & 0x7f, b2, b3])
        }
        IpAddr::V6(group) if group.is_multicast() => {
            let [.., b12, b13, b14, b15] = group.octets();
            Some([0x33, 0x33, b12, b13, b14, b15])
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;

    /// A 20-byte IPv4 header with Total Length 24, four payload bytes and two bytes of padding.
    fn ipv4_padded() -> Vec<u8> {
        let mut packet = vec![0x45, 0, 0, 24, 0, 0, 0, 0, 1, 2, 0, 0, 198, 18, 0, 1, 239, 1, 2, 3];
        packet.extend_from_slice(&[0x11, 0x64, 0xee, 0x9b, 0, 0]);
        packet
    }

    fn ipv6_packet() -> Vec<u8> {
        let mut packet = vec![0x60, 0, 0, 0, 0, 2, 58, 1];
        packet.extend_from_slice(&[0; 32]);
        packet.extend_from_slice(&[130, 0]);
        packet
    }

    #[test]
    fn ethernet_with_and_without_vlan_tags() {
        let ipv4 = ipv4_padded();
        let mut frame = vec![0x01, 0x00, 0x5e, 1, 2, 3, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        frame.extend_from_slice(&ipv4);
        assert_eq!(network_layer(LinkType::ETHERNET, &frame), Ok(Network::Ipv4(&ipv4[..24])));

        // 802.1ad service tag, then 802.1Q customer tag, then IPv6.
        let ipv6 = ipv6_packet();
        let mut tagged = vec![0x33, 0x33, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00];
        tagged.extend_from_slice(&[0x00, 0x14, 0x86, 0xdd]);
        tagged.extend_from_slice(&ipv6);
        assert_eq!(network_layer(LinkType::ETHERNET, &tagged), Ok(Network::Ipv6(&ipv6[..])));

        let arp = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1];
        assert_eq!(network_layer(LinkType::ETHERNET, &arp), Ok(Network::Other { ethertype: 0x0806 }));

        let short = Error::FrameTooShort { link_type: LinkType::ETHERNET };
        assert_eq!(network_layer(LinkType::ETHERNET, &frame[..13]), Err(short));
        assert_eq!(network_layer(LinkType::ETHERNET, &tagged[..17]), Err(short));
    }

    #[test]
    fn linux_cooked_captures() {
        let ipv4 = ipv4_padded();
        let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&ipv4);
        assert_eq!(network_layer(LinkType::LINUX_SLL, &sll), Ok(Network::Ipv4(&ipv4[..24])));

        let ipv6 = ipv6_packet();
        let mut sll2 = vec![0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
        sll2.extend_from_slice(&ipv6);
        assert_eq!(network_layer(LinkType::LINUX_SLL2, &sll2), Ok(Network::Ipv6(&ipv6[..])));
        let short = Error::FrameTooShort { link_type: LinkType::LINUX_SLL2 };
        assert_eq!(network_layer(LinkType::LINUX_SLL2, &sll2[..19]), Err(short));
    }

    #[test]
    fn raw_ip_and_loopback() {
        let ipv4 = ipv4_padded();
        let ipv6 = ipv6_packet();
        for link_type in [LinkType::RAW, LinkType::RAW_DLT12, LinkType::RAW_DLT14] {
            assert_eq!(network_layer(link_type, &ipv4), Ok(Network::Ipv4(&ipv4[..24])));
            assert_eq!(network_layer(link_type, &ipv6), Ok(Network::Ipv6(&ipv6[..])));
            assert_eq!(network_layer(link_type, &[0x50]), Err(Error::UnknownNetworkProtocol { value: 5 }));
            assert_eq!(network_layer(link_type, &[]), Err(Error::FrameTooShort { link_type }));
        }
        assert_eq!(network_layer(LinkType::IPV4, &ipv4), Ok(Network::Ipv4(&ipv4[..24])));
        assert_eq!(network_layer(LinkType::IPV6, &ipv6), Ok(Network::Ipv6(&ipv6[..])));

        for (link_type, family) in [
            (LinkType::NULL, 2u32.to_le_bytes()),
            (LinkType::NULL, 2u32.to_be_bytes()),
            (LinkType::LOOP, 2u32.to_be_bytes()),
        ] {
            let frame = [&family[..], &ipv4].concat();
            assert_eq!(network_layer(link_type, &frame), Ok(Network::Ipv4(&ipv4[..24])));
        }
        for family in [10u32, 24, 28, 30] {
            let frame = [&family.to_le_bytes()[..], &ipv6].concat();
            assert_eq!(network_layer(LinkType::NULL, &frame), Ok(Network::Ipv6(&ipv6[..])));
        }
        let frame = [&7u32.to_be_bytes()[..], &ipv4].concat();
        assert_eq!(network_layer(LinkType::NULL, &frame), Err(Error::UnknownNetworkProtocol { value: 7 }));
        let unknown = LinkType(147);
        assert_eq!(network_layer(unknown, &ipv4), Err(Error::UnsupportedLinkType { link_type: unknown }));
    }

    #[test]
    fn lengths_that_do_not_fit_are_left_for_the_ip_decoder() {
        let mut truncated = ipv4_padded();
        truncated[3] = 200;
        assert_eq!(network_layer(LinkType::IPV4, &truncated), Ok(Network::Ipv4(&truncated[..])));
        truncated[3] = 8; // shorter than a header
        assert_eq!(network_layer(LinkType::IPV4, &truncated), Ok(Network::Ipv4(&truncated[..])));
        let mut jumbo = ipv6_packet();
        jumbo[5] = 0;
        assert_eq!(network_layer(LinkType::IPV6, &jumbo), Ok(Network::Ipv6(&jumbo[..])));
    }

    #[test]
    fn multicast_macs() {
        let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
        assert_eq!(multicast_mac(v4(239, 129, 2, 3)), Some([0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]));
        assert_eq!(multicast_mac(v4(224, 0, 0, 13)), Some([0x01, 0x00, 0x5e, 0x00, 0x00, 0x0d]));
        assert_eq!(multicast_mac(v4(232, 255, 254, 253)), Some([0x01, 0x00, 0x5e, 0x7f, 0xfe, 0xfd]));
        assert_eq!(multicast_mac(v4(198, 18, 0, 1)), None);
        let group: Ipv6Addr = "ff3e::8000:1234".parse().unwrap();
        assert_eq!(multicast_mac(IpAddr::V6(group)), Some([0x33, 0x33, 0x80, 0x00, 0x12, 0x34]));
        let all_pim_routers: Ipv6Addr = "ff02::d".parse().unwrap();
        assert_eq!(multicast_mac(IpAddr::V6(all_pim_routers)), Some([0x33, 0x33, 0, 0, 0, 0x0d]));
        assert_eq!(multicast_mac(IpAddr::V6("fd00::1".parse().unwrap())), None);
    }

    proptest! {
        #[test]
        fn arbitrary_frames_never_panic(
            link_type in prop::sample::select(vec![0u16, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147]),
            frame in proptest::collection::vec(any::<u8>(), 0..128),
        ) {
            match network_layer(LinkType(link_type), &frame) {
                Ok(Network::Ipv4(packet) | Network::Ipv6(packet)) => {
                    // The packet borrows from the frame.
                    let frame_range = frame.as_ptr_range();
                    let packet_range = packet.as_ptr_range();
                    prop_assert!(frame_range.start <= packet_range.start);
                    prop_assert!(packet_range.end <= frame_range.end);
                }
                Ok(Network::Other { .. }) | Err(_) => {}
            }
        }
    }
}
