//! [`SimPacket`]: a multicast data packet as the simulated forwarding plane sees it: addresses,
//! TTL / hop limit and the octets after the IP header, from which the whole packet (RFC 791 §3.1
//! or RFC 8200 §3 header, no options) is built when the plane hands it up.

use std::fmt;
use std::net::IpAddr;

use hato_core::Afi;
use hato_wire::checksum;
use hato_wire::ip::{Ipv4Header, Ipv6Header};
use serde::Serialize;

/// IANA protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// Length of a UDP header (RFC 768).
const UDP_HEADER_LEN: usize = 8;

/// A multicast data packet travelling through a simulated forwarding plane.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(bound(serialize = ""))]
pub struct SimPacket<A: Afi> {
    pub source: A::Addr,
    pub group: A::Addr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The upper-layer protocol ([`IPPROTO_UDP`] for the usual data traffic).
    pub protocol: u8,
    /// The octets after the IP header (for UDP: the UDP header and the data).
    pub payload: Vec<u8>,
}

impl<A: Afi> SimPacket<A> {
    /// A UDP datagram carrying `data` from `source` to `group`, both ports `port`, with its
    /// checksum filled in (RFC 768, RFC 8200 §8.1).
    pub fn udp(source: A::Addr, group: A::Addr, ttl: u8, port: u16, data: &[u8]) -> Self {
        let udp_len = UDP_HEADER_LEN.saturating_add(data.len());
        let mut payload = Vec::with_capacity(udp_len);
        payload.extend_from_slice(&port.to_be_bytes());
        payload.extend_from_slice(&port.to_be_bytes());
        // A datagram longer than the length field allows cannot be sent; its field saturates.
        payload.extend_from_slice(&u16::try_from(udp_len).unwrap_or(u16::MAX).to_be_bytes());
        payload.extend_from_slice(&[0, 0]);
        payload.extend_from_slice(data);
        let sum = pseudo_header_sum::<A>(source, group, udp_len, IPPROTO_UDP);
        let sum = match checksum::finish(checksum::sum(sum, &payload)) {
            0 => 0xffff,
            nonzero => nonzero,
        };
        if let Some(field) = payload.get_mut(6..8) {
            field.copy_from_slice(&sum.to_be_bytes());
        }
        SimPacket { source, group, ttl, protocol: IPPROTO_UDP, payload }
    }

    /// Length of the IP header `to_bytes` writes: 20 octets for IPv4, 40 for IPv6.
    pub fn header_len() -> usize {
        if A::ADDR_LEN == 4 {
            20
        } else {
            40
        }
    }

    /// Length of the whole IP packet: what the kernel counts in an entry's byte counter.
    pub fn ip_len(&self) -> usize {
        Self::header_len().saturating_add(self.payload.len())
    }

    /// The same packet one hop further: TTL / hop limit decremented, as a router forwards it.
    pub fn forwarded(&self) -> Self {
        SimPacket { ttl: self.ttl.saturating_sub(1), ..self.clone() }
    }

    /// The whole packet from its IP header on; `BadLength` when it would exceed 65535 octets.
    pub fn to_bytes(&self) -> hato_wire::Result<Vec<u8>> {
        let mut buf = vec![0; self.ip_len()];
        let header_len = match (self.source.into(), self.group.into()) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                Ipv4Header::new(src, dst, self.protocol, self.ttl).emit(&mut buf, self.payload.len())?
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                Ipv6Header::new(src, dst, self.protocol, self.ttl).emit(&mut buf, self.payload.len())?
            }
            _ => return Err(hato_wire::Error::BadAddressFamily),
        };
        let tail = buf.get_mut(header_len..).ok_or(hato_wire::Error::BufferTooSmall)?;
        if tail.len() != self.payload.len() {
            return Err(hato_wire::Error::BufferTooSmall);
        }
        tail.copy_from_slice(&self.payload);
        Ok(buf)
    }
}

impl<A: Afi> fmt::Display for SimPacket<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} > {} ttl {} proto {} length {}",
            self.source,
            self.group,
            self.ttl,
            self.protocol,
            self.ip_len()
        )
    }
}

/// The ones'-complement sum of the pseudo-header of an upper-layer message: both addresses, the
/// protocol and the length (RFC 768 for IPv4, RFC 8200 §8.1 for IPv6; with the length below 2^16
/// both layouts sum to the same value).
fn pseudo_header_sum<A: Afi>(source: A::Addr, group: A::Addr, len: usize, protocol: u8) -> u32 {
    let octets = |addr: A::Addr| match addr.into() {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    let mut acc = checksum::sum(0, &octets(source));
    acc = checksum::sum(acc, &octets(group));
    acc = checksum::sum(acc, &u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
    checksum::sum(acc, &[0, 0, 0, protocol])
}

/// Proptest strategies for arbitrary packets, for this crate's tests.
#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use hato_core::{V4, V6};
    use proptest::prelude::*;

    /// An IPv4 packet from 198.18.0.0/15 to 239.0.0.0/8.
    pub(crate) fn packet_v4() -> impl Strategy<Value = SimPacket<V4>> {
        (any::<[u8; 3]>(), any::<u8>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..64)).prop_map(
            |([s, g1, g2], ttl, protocol, payload)| SimPacket {
                source: std::net::Ipv4Addr::new(198, 18, 0, s),
                group: std::net::Ipv4Addr::new(239, 0, g1, g2),
                ttl,
                protocol,
                payload,
            },
        )
    }

    /// An IPv6 packet from fd00::/8 to ff3e::/16.
    pub(crate) fn packet_v6() -> impl Strategy<Value = SimPacket<V6>> {
        (any::<(u16, u16)>(), any::<u8>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|((s, g), ttl, protocol, payload)| SimPacket {
                source: std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, s),
                group: std::net::Ipv6Addr::new(0xff3e, 0, 0, 0, 0, 0, 0, g),
                ttl,
                // Extension header numbers would be walked by the parser, not kept as protocol.
                protocol: if matches!(protocol, 0 | 43 | 44 | 51 | 60) { 17 } else { protocol },
                payload,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hato_core::{V4, V6};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ipv4_bytes_carry_the_packet(p in strategies::packet_v4()) {
            let bytes = p.to_bytes().unwrap();
            prop_assert_eq!(bytes.len(), p.ip_len());
            let (h, payload) = Ipv4Header::parse(&bytes).unwrap();
            prop_assert_eq!((h.src, h.dst, h.ttl, h.protocol), (p.source, p.group, p.ttl, p.protocol));
            prop_assert_eq!(payload, p.payload.as_slice());
        }

        #[test]
        fn ipv6_bytes_carry_the_packet(p in strategies::packet_v6()) {
            let bytes = p.to_bytes().unwrap();
            prop_assert_eq!(bytes.len(), p.ip_len());
            let (h, payload) = Ipv6Header::parse(&bytes).unwrap();
            prop_assert_eq!((h.src, h.dst, h.hop_limit, h.protocol), (p.source, p.group, p.ttl, p.protocol));
            prop_assert_eq!(payload, p.payload.as_slice());
        }
    }

    #[test]
    fn udp_ipv4_packet_parses_back() {
        let p =
            SimPacket::<V4>::udp("198.18.1.2".parse().unwrap(), "239.1.2.3".parse().unwrap(), 8, 5001, b"hi");
        assert_eq!(p.ip_len(), 20 + 8 + 2);
        let bytes = p.to_bytes().unwrap();
        let (header, payload) = Ipv4Header::parse(&bytes).unwrap();
        assert_eq!((header.ttl, header.protocol, header.dst), (8, IPPROTO_UDP, p.group));
        assert_eq!(payload, p.payload.as_slice());
        // The UDP checksum over the pseudo-header verifies to zero.
        let sum = pseudo_header_sum::<V4>(p.source, p.group, payload.len(), IPPROTO_UDP);
        assert_eq!(checksum::finish(checksum::sum(sum, payload)), 0);
        assert_eq!(p.forwarded().ttl, 7);
    }

    #[test]
    fn udp_ipv6_packet_parses_back() {
        let p =
            SimPacket::<V6>::udp("fd00:1::2".parse().unwrap(), "ff3e::1:2:3".parse().unwrap(), 1, 9, b"x");
        let bytes = p.to_bytes().unwrap();
        assert_eq!(bytes.len(), 40 + 8 + 1);
        let (header, payload) = Ipv6Header::parse(&bytes).unwrap();
        assert_eq!((header.hop_limit, header.protocol), (1, IPPROTO_UDP));
        let sum = pseudo_header_sum::<V6>(p.source, p.group, payload.len(), IPPROTO_UDP);
        assert_eq!(checksum::finish(checksum::sum(sum, payload)), 0);
        assert_eq!(p.to_string(), "fd00:1::2 > ff3e::1:2:3 ttl 1 proto 17 length 49");
    }

    #[test]
    fn oversized_packets_do_not_encode() {
        let mut p =
            SimPacket::<V4>::udp("198.18.1.2".parse().unwrap(), "239.1.2.3".parse().unwrap(), 8, 1, b"");
        p.payload = vec![0; 70_000];
        assert_eq!(p.to_bytes(), Err(hato_wire::Error::BadLength));
    }
}
