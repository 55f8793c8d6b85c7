//! Typed rtnetlink events: what the daemon learns about links, addresses and unicast routes, decoded
//! from `RTM_{NEW,DEL}{LINK,ADDR,ROUTE}` messages (rtnetlink(7); `include/uapi/linux/rtnetlink.h`,
//! `if_addr.h`, `if_link.h`).
//!
//! The conversions here are pure functions of one message, so they are tested without a kernel.

use std::fmt;
use std::net::IpAddr;

use hato_core::{AddressFamily, IfIndex};
use ipnet::IpNet;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteNextHop};
use netlink_packet_route::AddressFamily as NlFamily;
use serde::Serialize;

/// One thing the watcher reports, in the order the kernel reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum NetlinkEvent {
    Link(LinkEvent),
    Addr(AddrEvent),
    Route(RouteEvent),
    /// Notifications were lost (the socket overran): forget every link, address and route learned so
    /// far. A complete dump follows, ended by [`NetlinkEvent::Synced`].
    Resync,
    /// The dump that started the watcher, or that followed a [`NetlinkEvent::Resync`], is complete:
    /// everything not reported since then does not exist.
    Synced,
}

impl fmt::Display for NetlinkEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetlinkEvent::Link(e) => e.fmt(f),
            NetlinkEvent::Addr(e) => e.fmt(f),
            NetlinkEvent::Route(e) => e.fmt(f),
            NetlinkEvent::Resync => f.write_str("resync"),
            NetlinkEvent::Synced => f.write_str("synced"),
        }
    }
}

/// Interface flags (`IFF_*` from `include/uapi/linux/if.h`) as the kernel reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct LinkFlags(pub u32);

impl LinkFlags {
    pub const UP: u32 = 1 << 0;
    pub const LOOPBACK: u32 = 1 << 3;
    pub const POINTOPOINT: u32 = 1 << 4;
    pub const RUNNING: u32 = 1 << 6;
    pub const MULTICAST: u32 = 1 << 12;
    pub const LOWER_UP: u32 = 1 << 16;

    fn has(self, bit: u32) -> bool {
        self.0 & bit != 0
    }

    /// Administratively up (`IFF_UP`).
    pub fn is_admin_up(self) -> bool {
        self.has(Self::UP)
    }

    /// Operationally up: administratively up and `IFF_RUNNING` (carrier present, RFC 2863 "up").
    pub fn is_oper_up(self) -> bool {
        self.has(Self::UP) && self.has(Self::RUNNING)
    }

    /// Multicast capable (`IFF_MULTICAST`).
    pub fn is_multicast(self) -> bool {
        self.has(Self::MULTICAST)
    }

    pub fn is_loopback(self) -> bool {
        self.has(Self::LOOPBACK)
    }

    pub fn is_point_to_point(self) -> bool {
        self.has(Self::POINTOPOINT)
    }
}

/// A network interface as last reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub ifindex: IfIndex,
    pub name: String,
    pub flags: LinkFlags,
    pub mtu: u32,
}

/// What happened to a link, judged against what the watcher knew before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkChange {
    /// First seen (created, or reported by a dump).
    New,
    /// Became operationally up.
    Up,
    /// Stopped being operationally up.
    Down,
    /// Name, MTU or other flags changed; operational state did not.
    Changed,
    /// Removed (or moved to another namespace). Its ifindex may later be reused.
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkEvent {
    pub change: LinkChange,
    pub link: Link,
}

impl fmt::Display for LinkEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.link;
        write!(
            f,
            "link {:?} {} {} flags {:#x}{}{} mtu {}",
            self.change,
            l.ifindex,
            l.name,
            l.flags.0,
            if l.flags.is_oper_up() { " oper-up" } else { "" },
            if l.flags.is_multicast() { " multicast" } else { "" },
            l.mtu
        )
    }
}

/// Address and route scope (`RT_SCOPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Universe,
    Site,
    Link,
    Host,
    Nowhere,
    Other(u8),
}

impl From<u8> for Scope {
    fn from(raw: u8) -> Self {
        match raw {
            0 => Scope::Universe,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            other => Scope::Other(other),
        }
    }
}

/// Whether an address or route appeared (or was updated) or went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Added, updated in place (e.g. an IPv6 address finishing DAD), or reported by a dump.
    New,
    Deleted,
}

/// Interface address flags (`IFA_F_*` from `include/uapi/linux/if_addr.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AddrFlags(pub u32);

impl AddrFlags {
    pub const SECONDARY: u32 = 0x01;
    pub const DADFAILED: u32 = 0x08;
    pub const DEPRECATED: u32 = 0x20;
    pub const TENTATIVE: u32 = 0x40;

    /// IPv6 duplicate address detection has not finished (or failed): the address cannot be used as
    /// a source yet (RFC 4862 §5.4).
    pub fn is_tentative(self) -> bool {
        self.0 & (Self::TENTATIVE | Self::DADFAILED) != 0
    }

    pub fn is_deprecated(self) -> bool {
        self.0 & Self::DEPRECATED != 0
    }
}

/// An interface address added, updated or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddrEvent {
    pub change: Change,
    pub family: AddressFamily,
    pub ifindex: IfIndex,
    /// The local address with its prefix length, e.g. `198.18.0.1/24` (`trunc()` gives the subnet).
    pub prefix: IpNet,
    /// The remote end of a point-to-point address, when it differs from the local address.
    pub peer: Option<IpAddr>,
    pub scope: Scope,
    pub flags: AddrFlags,
}

impl fmt::Display for AddrEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "addr {:?} {} {} scope {:?}", self.change, self.ifindex, self.prefix, self.scope)?;
        if let Some(peer) = self.peer {
            write!(f, " peer {peer}")?;
        }
        if self.flags.is_tentative() {
            f.write_str(" tentative")?;
        }
        Ok(())
    }
}

/// Route type (`RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    Unicast,
    Local,
    Broadcast,
    Anycast,
    Multicast,
    Blackhole,
    Unreachable,
    Prohibit,
    Throw,
    Other(u8),
}

impl From<u8> for RouteKind {
    fn from(raw: u8) -> Self {
        match raw {
            1 => RouteKind::Unicast,
            2 => RouteKind::Local,
            3 => RouteKind::Broadcast,
            4 => RouteKind::Anycast,
            5 => RouteKind::Multicast,
            6 => RouteKind::Blackhole,
            7 => RouteKind::Unreachable,
            8 => RouteKind::Prohibit,
            9 => RouteKind::Throw,
            other => RouteKind::Other(other),
        }
    }
}

/// One path of a route: a gateway, an outgoing interface, or both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextHop {
    pub gateway: Option<IpAddr>,
    pub oif: Option<IfIndex>,
    /// ECMP weight (`rtnh_hops + 1`); 1 for a single-path route.
    pub weight: u16,
}

/// A unicast route added, replaced or removed, in any table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteEvent {
    pub change: Change,
    pub family: AddressFamily,
    /// Routing table id (254 = main, 255 = local).
    pub table: u32,
    pub destination: IpNet,
    pub kind: RouteKind,
    /// Who installed it (`RTPROT_*`: 2 kernel, 3 boot, 4 static, 186 BGP, 188 OSPF ...).
    pub protocol: u8,
    pub scope: Scope,
    /// The route's metric (`RTA_PRIORITY`); lower is preferred.
    pub priority: Option<u32>,
    /// Preferred source address (`RTA_PREFSRC`).
    pub preferred_source: Option<IpAddr>,
    /// Every path: one for an ordinary route, several for ECMP (`RTA_MULTIPATH`), none for e.g. a
    /// blackhole.
    pub nexthops: Vec<NextHop>,
}

impl RouteEvent {
    /// The first path's gateway.
    pub fn gateway(&self) -> Option<IpAddr> {
        self.nexthops.first().and_then(|nh| nh.gateway)
    }

    /// The first path's outgoing interface.
    pub fn oif(&self) -> Option<IfIndex> {
        self.nexthops.first().and_then(|nh| nh.oif)
    }
}

impl fmt::Display for RouteEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "route {:?} {} table {} {:?} proto {}",
            self.change, self.destination, self.table, self.kind, self.protocol
        )?;
        for nh in &self.nexthops {
            if let Some(gw) = nh.gateway {
                write!(f, " via {gw}")?;
            }
            if let Some(oif) = nh.oif {
                write!(f, " dev {oif}")?;
            }
        }
        if let Some(metric) = self.priority {
            write!(f, " metric {metric}")?;
        }
        Ok(())
    }
}

fn family_of(family: NlFamily) -> Option<AddressFamily> {
    match family {
        NlFamily::Inet => Some(AddressFamily::Ipv4),
        NlFamily::Inet6 => Some(AddressFamily::Ipv6),
        _ => None,
    }
}

fn ip_of(addr: &RouteAddress) -> Option<IpAddr> {
    match addr {
        RouteAddress::Inet(a) => Some(IpAddr::V4(*a)),
        RouteAddress::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

/// The link a `RTM_NEWLINK` / `RTM_DELLINK` describes; `None` for messages of other families (bridge
/// port notifications carry `AF_BRIDGE`) or without a name.
pub(crate) fn link_from(msg: &LinkMessage) -> Option<Link> {
    if msg.header.interface_family != NlFamily::Unspec {
        return None;
    }
    let mut name = None;
    let mut mtu = 0;
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Mtu(m) => mtu = *m,
            _ => {}
        }
    }
    Some(Link {
        ifindex: IfIndex(msg.header.index),
        name: name?,
        flags: LinkFlags(msg.header.flags.bits()),
        mtu,
    })
}

/// Decodes a `RTM_NEWADDR` / `RTM_DELADDR` of family `AF_INET` or `AF_INET6`.
pub(crate) fn addr_from(change: Change, msg: &AddressMessage) -> Option<AddrEvent> {
    let family = family_of(msg.header.family)?;
    let mut address = None;
    let mut local = None;
    let mut flags = u32::from(msg.header.flags.bits());
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Address(a) => address = Some(*a),
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Flags(f) => flags = f.bits(),
            _ => {}
        }
    }
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point links
    // and equal to IFA_LOCAL otherwise (IPv6 sends only IFA_ADDRESS unless there is a peer).
    let own = local.or(address)?;
    let peer = match (local, address) {
        (Some(l), Some(a)) if l != a => Some(a),
        _ => None,
    };
    Some(AddrEvent {
        change,
        family,
        ifindex: IfIndex(msg.header.index),
        prefix: IpNet::new(own, msg.header.prefix_len).ok()?,
        peer,
        scope: Scope::from(u8::from(msg.header.scope)),
        flags: AddrFlags(flags),
    })
}

fn nexthop_from(nh: &RouteNextHop) -> NextHop {
    let gateway = nh.attributes.iter().find_map(|a| match a {
        RouteAttribute::Gateway(g) => ip_of(g),
        _ => None,
    });
    NextHop {
        gateway,
        oif: (nh.interface_index != 0).then_some(IfIndex(nh.interface_index)),
        weight: u16::from(nh.hops) + 1,
    }
}

/// Decodes a `RTM_NEWROUTE` / `RTM_DELROUTE` of family `AF_INET` or `AF_INET6`; routing cache
/// clones (`RTM_F_CLONED`, IPv6 PMTU exceptions) are not routes and give `None`.
pub(crate) fn route_from(change: Change, msg: &RouteMessage) -> Option<RouteEvent> {
    let family = family_of(msg.header.address_family)?;
    if msg.header.flags.contains(RouteFlags::Cloned) {
        return None;
    }
    let mut table = u32::from(msg.header.table);
    let mut destination = None;
    let mut gateway = None;
    let mut oif = None;
    let mut priority = None;
    let mut preferred_source = None;
    let mut multipath = Vec::new();
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(d) => destination = ip_of(d),
            RouteAttribute::Gateway(g) => gateway = ip_of(g),
            RouteAttribute::Oif(i) => oif = Some(IfIndex(*i)),
            RouteAttribute::Priority(p) => priority = Some(*p),
            RouteAttribute::PrefSource(s) => preferred_source = ip_of(s),
            RouteAttribute::MultiPath(hops) => multipath = hops.iter().map(nexthop_from).collect(),
            _ => {}
        }
    }
    let unspecified = match family {
        AddressFamily::Ipv4 => IpAddr::from([0u8; 4]),
        AddressFamily::Ipv6 => IpAddr::from([0u8; 16]),
    };
    let destination =
        IpNet::new(destination.unwrap_or(unspecified), msg.header.destination_prefix_length).ok()?.trunc();
    let nexthops = if !multipath.is_empty() {
        multipath
    } else if gateway.is_some() || oif.is_some() {
        vec![NextHop { gateway, oif, weight: 1 }]
    } else {
        Vec::new()
    };
    Some(RouteEvent {
        change,
        family,
        table,
        destination,
        kind: RouteKind::from(u8::from(msg.header.kind)),
        protocol: u8::from(msg.header.protocol),
        scope: Scope::from(u8::from(msg.header.scope)),
        priority,
        preferred_source,
        nexthops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::address::AddressScope;
    use netlink_packet_route::link::LinkFlags as NlLinkFlags;
    use netlink_packet_route::route::{RouteProtocol, RouteScope, RouteType};

    #[test]
    fn link_flags_and_name() {
        let mut msg = LinkMessage::default();
        msg.header.index = 7;
        msg.header.flags = NlLinkFlags::Up | NlLinkFlags::Running | NlLinkFlags::Multicast;
        msg.attributes = vec![LinkAttribute::IfName("veth0".into()), LinkAttribute::Mtu(1500)];
        let link = link_from(&msg).unwrap();
        assert_eq!(link.ifindex, IfIndex(7));
        assert_eq!(link.name, "veth0");
        assert_eq!(link.mtu, 1500);
        assert!(link.flags.is_oper_up() && link.flags.is_multicast() && !link.flags.is_loopback());

        msg.header.flags = NlLinkFlags::Up | NlLinkFlags::Multicast;
        assert!(!link_from(&msg).unwrap().flags.is_oper_up());
        msg.header.interface_family = NlFamily::Bridge;
        assert_eq!(link_from(&msg), None);
    }

    #[test]
    fn ipv4_point_to_point_address() {
        let mut msg = AddressMessage::default();
        msg.header.family = NlFamily::Inet;
        msg.header.prefix_len = 32;
        msg.header.index = 3;
        msg.header.scope = AddressScope::Universe;
        msg.attributes = vec![
            AddressAttribute::Local("198.18.0.1".parse().unwrap()),
            AddressAttribute::Address("198.18.0.2".parse().unwrap()),
        ];
        let ev = addr_from(Change::New, &msg).unwrap();
        assert_eq!(ev.prefix, "198.18.0.1/32".parse::<IpNet>().unwrap());
        assert_eq!(ev.peer, Some("198.18.0.2".parse().unwrap()));
        assert_eq!(ev.family, AddressFamily::Ipv4);
        assert_eq!(ev.scope, Scope::Universe);
    }

    #[test]
    fn ipv6_tentative_link_local() {
        let mut msg = AddressMessage::default();
        msg.header.family = NlFamily::Inet6;
        msg.header.prefix_len = 64;
        msg.header.index = 4;
        msg.header.scope = AddressScope::Link;
        msg.attributes = vec![
            AddressAttribute::Address("fe80::1".parse().unwrap()),
            AddressAttribute::Flags(netlink_packet_route::address::AddressFlags::Tentative),
        ];
        let ev = addr_from(Change::Deleted, &msg).unwrap();
        assert_eq!(ev.peer, None);
        assert_eq!(ev.scope, Scope::Link);
        assert!(ev.flags.is_tentative());
        assert_eq!(ev.to_string(), "addr Deleted if4 fe80::1/64 scope Link tentative");
    }

    #[test]
    fn routes_single_multipath_and_default() {
        let mut msg = RouteMessage::default();
        msg.header.address_family = NlFamily::Inet;
        msg.header.destination_prefix_length = 24;
        msg.header.table = 254;
        msg.header.protocol = RouteProtocol::Static;
        msg.header.scope = RouteScope::Universe;
        msg.header.kind = RouteType::Unicast;
        msg.attributes = vec![
            RouteAttribute::Destination(RouteAddress::Inet("198.19.1.0".parse().unwrap())),
            RouteAttribute::Gateway(RouteAddress::Inet("198.18.0.2".parse().unwrap())),
            RouteAttribute::Oif(5),
            RouteAttribute::Priority(20),
            RouteAttribute::Table(1000),
        ];
        let ev = route_from(Change::New, &msg).unwrap();
        assert_eq!(ev.destination, "198.19.1.0/24".parse::<IpNet>().unwrap());
        assert_eq!(ev.table, 1000);
        assert_eq!(ev.gateway(), Some("198.18.0.2".parse().unwrap()));
        assert_eq!(ev.oif(), Some(IfIndex(5)));
        assert_eq!(ev.priority, Some(20));
        assert_eq!(ev.protocol, 4);
        assert_eq!(ev.kind, RouteKind::Unicast);

        let mut hop = RouteNextHop::default();
        hop.interface_index = 6;
        hop.hops = 1;
        hop.attributes = vec![RouteAttribute::Gateway(RouteAddress::Inet("198.18.1.2".parse().unwrap()))];
        msg.attributes = vec![RouteAttribute::MultiPath(vec![hop])];
        msg.header.destination_prefix_length = 0;
        let ev = route_from(Change::New, &msg).unwrap();
        assert_eq!(ev.destination, "0.0.0.0/0".parse::<IpNet>().unwrap());
        assert_eq!(
            ev.nexthops,
            vec![NextHop { gateway: Some("198.18.1.2".parse().unwrap()), oif: Some(IfIndex(6)), weight: 2 }]
        );

        msg.header.flags = RouteFlags::Cloned;
        assert_eq!(route_from(Change::New, &msg), None);
        msg.header.flags = RouteFlags::empty();
        msg.header.address_family = NlFamily::Other(128);
        assert_eq!(route_from(Change::New, &msg), None);
    }
}
