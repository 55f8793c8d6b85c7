//! The address-family trait: everything that differs between IPv4 and IPv6 multicast routing,
//! gathered in one place so that protocol code is written once, generic over `A: Afi`.
//!
//! Well-known groups come from RFC 2236 / RFC 3376 (IGMP), RFC 2710 / RFC 3810 (MLD), RFC 7761 §4.9
//! (ALL-PIM-ROUTERS) and RFC 4607 §1 (the SSM ranges). Address family numbers in PIM encoded
//! addresses are IANA's (1 = IPv4, 2 = IPv6), RFC 7761 §4.9.1.

use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{Ipv4Net, Ipv6Net};
use serde::Serialize;

/// Which family a value belongs to, for code that must branch at run time (e.g. a packet decoder).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressFamily {
    Ipv4,
    Ipv6,
}

/// An IP address family: IPv4 ([`V4`]) or IPv6 ([`V6`]).
///
/// The implementors are zero-sized markers; all the family's facts are associated items.
pub trait Afi:
    Copy + Clone + Debug + Default + PartialEq + Eq + PartialOrd + Ord + Hash + Send + Sync + 'static
{
    /// The address type (`Ipv4Addr` or `Ipv6Addr`).
    type Addr: Copy
        + Debug
        + Display
        + Eq
        + Ord
        + Hash
        + Send
        + Sync
        + FromStr
        + Serialize
        + Into<IpAddr>
        + 'static;
    /// The prefix type (`Ipv4Net` or `Ipv6Net`).
    type Prefix: Copy
        + Debug
        + Display
        + Eq
        + Ord
        + Hash
        + Send
        + Sync
        + FromStr
        + Serialize
        + prefix_trie::Prefix
        + 'static;

    /// The address as an integer in network byte order (`u32`, `u128`): it orders as the address
    /// does and compares in one instruction, where the addresses' own `Ord` compares octet slices.
    /// Big ordered indexes key on it.
    type Key: Copy + Debug + Eq + Ord + Hash + Send + Sync + 'static;

    /// The run-time tag of this family.
    const FAMILY: AddressFamily;
    /// Length of an address in octets.
    const ADDR_LEN: usize;
    /// Length of an address in bits (the longest prefix).
    const MAX_PREFIX_LEN: u8;
    /// The IANA address family number used in PIM encoded addresses (RFC 7761 §4.9.1).
    const IANA_AF: u8;
    /// The unspecified address (`0.0.0.0`, `::`).
    const UNSPECIFIED: Self::Addr;
    /// ALL-PIM-ROUTERS: 224.0.0.13 / ff02::d (RFC 7761 §4.9).
    const ALL_PIM_ROUTERS: Self::Addr;
    /// All systems / all nodes on the link: 224.0.0.1 / ff02::1 (general queries go here).
    const ALL_SYSTEMS: Self::Addr;
    /// All routers on the link: 224.0.0.2 / ff02::2 (IGMPv2 Leave and MLDv1 Done go here).
    const ALL_ROUTERS: Self::Addr;
    /// Destination of IGMPv3 / MLDv2 reports: 224.0.0.22 / ff02::16.
    const ALL_V3_ROUTERS: Self::Addr;
    /// The whole multicast range: 224.0.0.0/4 / ff00::/8.
    const MULTICAST_RANGE: Self::Prefix;
    /// The default SSM range: 232.0.0.0/8 / ff3x::/32 (RFC 4607 §1); for IPv6 the scope nibble is
    /// left open by matching `ff30::/12`.
    const DEFAULT_SSM_RANGE: Self::Prefix;

    /// The address as a [`Self::Key`].
    fn key(addr: Self::Addr) -> Self::Key;
    /// The address of a [`Self::Key`].
    fn from_key(key: Self::Key) -> Self::Addr;
    /// Parses an address from exactly [`Self::ADDR_LEN`] octets.
    fn addr_from_octets(octets: &[u8]) -> Option<Self::Addr>;
    /// Writes an address into the first [`Self::ADDR_LEN`] octets of `out`; returns `false` if `out`
    /// is too short.
    fn write_addr(addr: Self::Addr, out: &mut [u8]) -> bool;
    /// Narrows a generic `IpAddr` to this family.
    fn from_ip(ip: IpAddr) -> Option<Self::Addr>;
    /// Builds a prefix; `None` if `len` is longer than the address.
    fn prefix(addr: Self::Addr, len: u8) -> Option<Self::Prefix>;
    /// The network address and length of a prefix.
    fn prefix_parts(prefix: &Self::Prefix) -> (Self::Addr, u8);
    /// Whether the prefix contains the address.
    fn prefix_contains(prefix: &Self::Prefix, addr: Self::Addr) -> bool;
    /// Whether the address is a multicast group address.
    fn is_multicast(addr: Self::Addr) -> bool;
    /// Whether the group is link-local scope (never routed: 224.0.0.0/24, ff02::/16 and ff01::/16).
    fn is_link_local_group(group: Self::Addr) -> bool;
    /// Whether a unicast address is link-local (IPv6 fe80::/10; IPv4 169.254/16).
    fn is_link_local_unicast(addr: Self::Addr) -> bool;
}

/// IPv4: IGMP, PIM over IPv4.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct V4;

/// IPv6: MLD, PIM over IPv6.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct V6;

const fn v4net(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    match Ipv4Net::new(Ipv4Addr::new(a, b, c, d), len) {
        Ok(net) => net,
        Err(_) => panic!("invalid constant prefix"),
    }
}

const fn v6net(first: u16, len: u8) -> Ipv6Net {
    match Ipv6Net::new(Ipv6Addr::new(first, 0, 0, 0, 0, 0, 0, 0), len) {
        Ok(net) => net,
        Err(_) => panic!("invalid constant prefix"),
    }
}

impl Afi for V4 {
    type Key = u32;
    type Addr = Ipv4Addr;
    type Prefix = Ipv4Net;

    const FAMILY: AddressFamily = AddressFamily::Ipv4;
    const ADDR_LEN: usize = 4;
    const MAX_PREFIX_LEN: u8 = 32;
    const IANA_AF: u8 = 1;
    const UNSPECIFIED: Ipv4Addr = Ipv4Addr::UNSPECIFIED;
    const ALL_PIM_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 13);
    const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);
    const ALL_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 2);
    const ALL_V3_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 22);
    const MULTICAST_RANGE: Ipv4Net = v4net(224, 0, 0, 0, 4);
    const DEFAULT_SSM_RANGE: Ipv4Net = v4net(232, 0, 0, 0, 8);

    fn key(addr: Ipv4Addr) -> u32 {
        addr.to_bits()
    }

    fn from_key(key: u32) -> Ipv4Addr {
        Ipv4Addr::from_bits(key)
    }

    fn addr_from_octets(octets: &[u8]) -> Option<Ipv4Addr> {
        let octets: [u8; 4] = octets.try_into().ok()?;
        Some(Ipv4Addr::from(octets))
    }

    fn write_addr(addr: Ipv4Addr, out: &mut [u8]) -> bool {
        match out.get_mut(..4) {
            Some(dst) => {
                dst.copy_from_slice(&addr.octets());
                true
            }
            None => false,
        }
    }

    fn from_ip(ip: IpAddr) -> Option<Ipv4Addr> {
        match ip {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        }
    }

    fn prefix(addr: Ipv4Addr, len: u8) -> Option<Ipv4Net> {
        Ipv4Net::new(addr, len).ok().map(|n| n.trunc())
    }

    fn prefix_parts(prefix: &Ipv4Net) -> (Ipv4Addr, u8) {
        (prefix.network(), prefix.prefix_len())
    }

    fn prefix_contains(prefix: &Ipv4Net, addr: Ipv4Addr) -> bool {
        prefix.contains(&addr)
    }

    fn is_multicast(addr: Ipv4Addr) -> bool {
        addr.is_multicast()
    }

    fn is_link_local_group(group: Ipv4Addr) -> bool {
        let [a, b, c, _] = group.octets();
        (a, b, c) == (224, 0, 0)
    }

    fn is_link_local_unicast(addr: Ipv4Addr) -> bool {
        addr.is_link_local()
    }
}

impl Afi for V6 {
    type Key = u128;
    type Addr = Ipv6Addr;
    type Prefix = Ipv6Net;

    const FAMILY: AddressFamily = AddressFamily::Ipv6;
    const ADDR_LEN: usize = 16;
    const MAX_PREFIX_LEN: u8 = 128;
    const IANA_AF: u8 = 2;
    const UNSPECIFIED: Ipv6Addr = Ipv6Addr::UNSPECIFIED;
    const ALL_PIM_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xd);
    const ALL_SYSTEMS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
    const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
    const ALL_V3_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);
    const MULTICAST_RANGE: Ipv6Net = v6net(0xff00, 8);
    const DEFAULT_SSM_RANGE: Ipv6Net = v6net(0xff30, 12);

    fn key(addr: Ipv6Addr) -> u128 {
        addr.to_bits()
    }

    fn from_key(key: u128) -> Ipv6Addr {
        Ipv6Addr::from_bits(key)
    }

    fn addr_from_octets(octets: &[u8]) -> Option<Ipv6Addr> {
        let octets: [u8; 16] = octets.try_into().ok()?;
        Some(Ipv6Addr::from(octets))
    }

    fn write_addr(addr: Ipv6Addr, out: &mut [u8]) -> bool {
        match out.get_mut(..16) {
            Some(dst) => {
                dst.copy_from_slice(&addr.octets());
                true
            }
            None => false,
        }
    }

    fn from_ip(ip: IpAddr) -> Option<Ipv6Addr> {
        match ip {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        }
    }

    fn prefix(addr: Ipv6Addr, len: u8) -> Option<Ipv6Net> {
        Ipv6Net::new(addr, len).ok().map(|n| n.trunc())
    }

    fn prefix_parts(prefix: &Ipv6Net) -> (Ipv6Addr, u8) {
        (prefix.network(), prefix.prefix_len())
    }

    fn prefix_contains(prefix: &Ipv6Net, addr: Ipv6Addr) -> bool {
        prefix.contains(&addr)
    }

    fn is_multicast(addr: Ipv6Addr) -> bool {
        addr.is_multicast()
    }

    fn is_link_local_group(group: Ipv6Addr) -> bool {
        group.is_multicast() && matches!(group.segments()[0] & 0x000f, 1 | 2)
    }

    fn is_link_local_unicast(addr: Ipv6Addr) -> bool {
        addr.segments()[0] & 0xffc0 == 0xfe80
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip<A: Afi>(addr: A::Addr) {
        let mut buf = vec![0u8; A::ADDR_LEN];
        assert!(A::write_addr(addr, &mut buf));
        assert_eq!(A::addr_from_octets(&buf), Some(addr));
        assert!(!A::write_addr(addr, &mut buf[..A::ADDR_LEN - 1]));
        assert_eq!(A::addr_from_octets(&buf[1..]), None);
    }

    #[test]
    fn octets_roundtrip_both_families() {
        roundtrip::<V4>("198.18.0.1".parse().unwrap());
        roundtrip::<V6>("fd00::1".parse().unwrap());
    }

    proptest::proptest! {
        /// Keys order as their addresses do and give them back.
        #[test]
        fn keys_order_as_addresses(a: u32, b: u32, c: u128, d: u128) {
            let (a, b) = (Ipv4Addr::from_bits(a), Ipv4Addr::from_bits(b));
            proptest::prop_assert_eq!(V4::key(a).cmp(&V4::key(b)), a.cmp(&b));
            proptest::prop_assert_eq!(V4::from_key(V4::key(a)), a);
            let (c, d) = (Ipv6Addr::from_bits(c), Ipv6Addr::from_bits(d));
            proptest::prop_assert_eq!(V6::key(c).cmp(&V6::key(d)), c.cmp(&d));
            proptest::prop_assert_eq!(V6::from_key(V6::key(c)), c);
        }
    }

    #[test]
    fn ssm_and_scope() {
        assert!(V4::prefix_contains(&V4::DEFAULT_SSM_RANGE, "232.1.1.1".parse().unwrap()));
        assert!(!V4::prefix_contains(&V4::DEFAULT_SSM_RANGE, "239.1.1.1".parse().unwrap()));
        assert!(V6::prefix_contains(&V6::DEFAULT_SSM_RANGE, "ff3e::1".parse().unwrap()));
        assert!(!V6::prefix_contains(&V6::DEFAULT_SSM_RANGE, "ff0e::1".parse().unwrap()));
        assert!(V4::is_link_local_group(V4::ALL_PIM_ROUTERS));
        assert!(!V4::is_link_local_group("239.0.0.1".parse().unwrap()));
        assert!(V6::is_link_local_group(V6::ALL_PIM_ROUTERS));
        assert!(!V6::is_link_local_group("ff0e::1".parse().unwrap()));
        assert!(V6::is_link_local_unicast("fe80::1".parse().unwrap()));
        assert!(!V6::is_link_local_unicast("fd00::1".parse().unwrap()));
    }

    #[test]
    fn prefix_is_truncated() {
        let p = V4::prefix("198.18.1.7".parse().unwrap(), 24).unwrap();
        assert_eq!(V4::prefix_parts(&p), ("198.18.1.0".parse().unwrap(), 24));
        assert_eq!(V4::prefix(V4::UNSPECIFIED, 33), None);
    }
}
