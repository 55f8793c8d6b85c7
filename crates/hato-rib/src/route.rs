//! The unicast side's vocabulary: routes, nexthops, the protocols that installed them and the typed
//! events the daemon translates netlink messages (`RTM_NEWROUTE`, `RTM_DELROUTE`, `RTM_NEWADDR`,
//! `RTM_DELADDR`, `RTM_NEWLINK`) into.

use std::fmt;

use hato_core::{Afi, IfIndex};
use serde::Serialize;

/// The protocol that installed a route, as the kernel's `rtm_protocol` records it
/// (`include/uapi/linux/rtnetlink.h`, `/etc/iproute2/rt_protos`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteProtocol {
    /// `RTPROT_KERNEL` (2): made by the kernel, e.g. the prefix route of an address.
    Kernel,
    /// `RTPROT_BOOT` (3): added by `ip route` without a protocol.
    Boot,
    /// `RTPROT_STATIC` (4): an administrator's static route.
    Static,
    /// `RTPROT_RA` (9): IPv6 router advertisement.
    Ra,
    /// `RTPROT_ZEBRA` (11).
    Zebra,
    /// `RTPROT_BIRD` (12).
    Bird,
    /// `RTPROT_DHCP` (16).
    Dhcp,
    /// `RTPROT_BABEL` (42).
    Babel,
    /// `RTPROT_BGP` (186).
    Bgp,
    /// `RTPROT_ISIS` (187).
    Isis,
    /// `RTPROT_OSPF` (188).
    Ospf,
    /// `RTPROT_RIP` (189).
    Rip,
    /// `RTPROT_EIGRP` (192).
    Eigrp,
    /// Any other `rtm_protocol` value, kept as is.
    Other(u8),
}

impl RouteProtocol {
    /// Decodes a kernel `rtm_protocol` value.
    pub fn from_rtm(value: u8) -> Self {
        match value {
            2 => Self::Kernel,
            3 => Self::Boot,
            4 => Self::Static,
            9 => Self::Ra,
            11 => Self::Zebra,
            12 => Self::Bird,
            16 => Self::Dhcp,
            42 => Self::Babel,
            186 => Self::Bgp,
            187 => Self::Isis,
            188 => Self::Ospf,
            189 => Self::Rip,
            192 => Self::Eigrp,
            other => Self::Other(other),
        }
    }

    /// The kernel `rtm_protocol` value.
    pub fn to_rtm(self) -> u8 {
        match self {
            Self::Kernel => 2,
            Self::Boot => 3,
            Self::Static => 4,
            Self::Ra => 9,
            Self::Zebra => 11,
            Self::Bird => 12,
            Self::Dhcp => 16,
            Self::Babel => 42,
            Self::Bgp => 186,
            Self::Isis => 187,
            Self::Ospf => 188,
            Self::Rip => 189,
            Self::Eigrp => 192,
            Self::Other(value) => value,
        }
    }

    /// The administrative distance FRR's zebra gives routes of this protocol: kernel-made and
    /// administrator routes 0, static 1, eBGP 20, EIGRP 90, Babel 100, OSPF 110, IS-IS 115, RIP 120.
    /// The kernel does not record whether a BGP route is internal, so BGP counts as eBGP.
    pub fn default_distance(self) -> u8 {
        match self {
            Self::Kernel | Self::Boot | Self::Ra | Self::Dhcp | Self::Zebra | Self::Bird | Self::Other(_) => {
                0
            }
            Self::Static => 1,
            Self::Bgp => 20,
            Self::Eigrp => 90,
            Self::Babel => 100,
            Self::Ospf => 110,
            Self::Isis => 115,
            Self::Rip => 120,
        }
    }
}

impl fmt::Display for RouteProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Kernel => "kernel",
            Self::Boot => "boot",
            Self::Static => "static",
            Self::Ra => "ra",
            Self::Zebra => "zebra",
            Self::Bird => "bird",
            Self::Dhcp => "dhcp",
            Self::Babel => "babel",
            Self::Bgp => "bgp",
            Self::Isis => "isis",
            Self::Ospf => "ospf",
            Self::Rip => "rip",
            Self::Eigrp => "eigrp",
            Self::Other(value) => return write!(f, "proto-{value}"),
        };
        f.write_str(name)
    }
}

/// One path of a route: the outgoing interface and, unless the destination is on-link, the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(bound(serialize = ""))]
pub struct Nexthop<A: Afi> {
    pub ifindex: IfIndex,
    pub gateway: Option<A::Addr>,
}

impl<A: Afi> Nexthop<A> {
    /// A nexthop through `gateway` on `ifindex`.
    pub fn via(ifindex: IfIndex, gateway: A::Addr) -> Self {
        Nexthop { ifindex, gateway: Some(gateway) }
    }

    /// An on-link nexthop: destinations are reached directly on `ifindex`.
    pub fn on_link(ifindex: IfIndex) -> Self {
        Nexthop { ifindex, gateway: None }
    }
}

/// Identifies a route in the mirrored table as the kernel does: destination prefix and metric
/// (`RTA_PRIORITY`). Adding a route with the same key replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(bound(serialize = ""))]
pub struct RouteKey<A: Afi> {
    pub prefix: A::Prefix,
    pub metric: u32,
}

/// A unicast route of the mirrored FIB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct Route<A: Afi> {
    pub prefix: A::Prefix,
    /// Equal-cost paths; a route with none is kept but never answers a lookup.
    pub nexthops: Vec<Nexthop<A>>,
    /// The kernel metric (`RTA_PRIORITY`); also the metric PIM Assert advertises.
    pub metric: u32,
    pub protocol: RouteProtocol,
    /// Administrative distance; also PIM Assert's metric preference (RFC 7761 §4.6.1).
    pub distance: u8,
}

impl<A: Afi> Route<A> {
    /// A route with the protocol's default distance.
    pub fn new(prefix: A::Prefix, nexthops: Vec<Nexthop<A>>, metric: u32, protocol: RouteProtocol) -> Self {
        Route { prefix, nexthops, metric, protocol, distance: protocol.default_distance() }
    }

    /// The key that identifies this route in the table.
    pub fn key(&self) -> RouteKey<A> {
        RouteKey { prefix: self.prefix, metric: self.metric }
    }
}

/// A change to the unicast picture, as the daemon learns it from netlink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""), rename_all = "kebab-case", tag = "event")]
pub enum UnicastEvent<A: Afi> {
    /// A route was added or replaced (same [`RouteKey`]); `nexthops` is the full set.
    RouteAdd { route: Route<A> },
    /// A route was removed.
    RouteDelete { key: RouteKey<A> },
    /// An address was configured on an interface: its prefix becomes connected there.
    AddressAdd { ifindex: IfIndex, addr: A::Addr, prefix_len: u8 },
    /// An address was removed from an interface.
    AddressDelete { ifindex: IfIndex, addr: A::Addr, prefix_len: u8 },
    /// An interface went up or down. Nexthops and connected prefixes on a down interface answer no
    /// lookup: the kernel does not always announce the routes it drops with the link.
    LinkState { ifindex: IfIndex, up: bool },
}
