//! Topology descriptions: nodes (hosts and routers), the segments that join them, their addresses and
//! the static unicast routes that let every node reach every subnet. Pure data; [`crate::Lab`] turns a
//! [`Topology`] into namespaces, veth pairs and bridges.
//!
//! Addressing plan (all from the benchmarking ranges reserved for labs): segment `i` is
//! `198.18.i.0/24` and `fd00:18:0:i::/64`; node number `n` on it has host part `n`; router `n` also has
//! the loopback `198.19.255.n/32` and `fd00:19::n/128`. Groups used by tests come from 239/8, 232/8,
//! ff3e::/16 and ff0e::/16.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use crate::error::{Error, Result};

/// Whether a node forwards packets between its segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Role {
    /// An end system: one default route through a router on its first segment.
    Host,
    /// A router: forwarding on, routes to every subnet and loopback.
    Router,
}

/// A node: one network namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub name: String,
    /// The host part of every address of the node (1..=254).
    pub id: u8,
    pub role: Role,
}

/// One node's attachment to a segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub node: String,
    /// The interface name inside the node's namespace.
    pub iface: String,
}

/// A link-layer segment: a veth pair between two nodes, or a bridge in its own switch namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub name: String,
    /// The third octet of the IPv4 subnet and the fourth group of the IPv6 prefix.
    pub index: u8,
    pub members: Vec<Attachment>,
    /// The routing cost of crossing this segment.
    pub cost: u32,
    /// True when the members meet on a bridge rather than a point-to-point veth pair.
    pub switched: bool,
}

/// A destination prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// A static unicast route for one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    pub dest: Prefix,
    pub via: IpAddr,
    pub dev: String,
    pub metric: u32,
}

/// A set of nodes and segments with a deterministic addressing plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Topology {
    pub nodes: Vec<Node>,
    pub segments: Vec<Segment>,
}

impl Topology {
    /// An empty topology; add nodes with [`Topology::host`] / [`Topology::router`].
    pub fn new() -> Self {
        Self::default()
    }

    /// `sender - r1 - ... - rN - receiver`: `routers` routers in a line.
    pub fn chain(routers: usize) -> Result<Self> {
        if !(1..=200).contains(&routers) {
            return Err(Error::Invalid(format!("a chain needs 1..=200 routers, not {routers}")));
        }
        let mut t = Self::new();
        t.host("sender")?;
        let names: Vec<String> = (1..=routers).map(|i| format!("r{i}")).collect();
        for name in &names {
            t.router(name)?;
        }
        t.host("receiver")?;
        let mut previous = "sender".to_string();
        for name in names.iter().chain(std::iter::once(&"receiver".to_string())) {
            t.link(&previous, name, 1)?;
            previous.clone_from(name);
        }
        Ok(t)
    }

    /// A source LAN (`sender`, `r1`), a shared LAN on a bridge (`r1`, `r2`, `r3`) and a receiver LAN on a
    /// bridge (`r2`, `r3`, `receiver`): DR election, Assert and the choice of last-hop router.
    pub fn shared_lan() -> Result<Self> {
        let mut t = Self::new();
        t.host("sender")?;
        for name in ["r1", "r2", "r3"] {
            t.router(name)?;
        }
        t.host("receiver")?;
        t.link("sender", "r1", 1)?;
        t.lan("shared", &["r1", "r2", "r3"], 1)?;
        t.lan("rcvlan", &["r2", "r3", "receiver"], 1)?;
        Ok(t)
    }

    /// `sender - r1`, then two paths `r1 - r2 - r4` (cost 1 per link) and `r1 - r3 - r4` (cost 10 per
    /// link), then `r4 - receiver`. Routers also get the worse path as a route with a higher metric.
    pub fn diamond() -> Result<Self> {
        let mut t = Self::new();
        t.host("sender")?;
        for name in ["r1", "r2", "r3", "r4"] {
            t.router(name)?;
        }
        t.host("receiver")?;
        t.link("sender", "r1", 1)?;
        t.link("r1", "r2", 1)?;
        t.link("r2", "r4", 1)?;
        t.link("r1", "r3", 10)?;
        t.link("r3", "r4", 10)?;
        t.link("r4", "receiver", 1)?;
        Ok(t)
    }

    /// Two parallel upstream routers on one LAN, for Assert (RFC 7761 §4.6): `sender - r0`, then
    /// `r0 - ra` and `r0 - rb`, then a LAN on a bridge (`ra`, `rb`, `rd`, `receiver`) and
    /// `rd - receiver2` behind the downstream router `rd`. `rb` has the highest address on the LAN
    /// (the DR, which serves `receiver`), while `rd`'s route to the source points at `ra`: both
    /// upstream routers forward onto the LAN until an Assert elects one.
    pub fn assert_lan() -> Result<Self> {
        let mut t = Self::new();
        t.host("sender")?;
        // Creation order sets the addresses: rd (id 4) below rb (id 5), so that rb is the DR.
        for name in ["r0", "ra", "rd", "rb"] {
            t.router(name)?;
        }
        t.host("receiver")?;
        t.host("receiver2")?;
        t.link("sender", "r0", 1)?;
        t.link("r0", "ra", 1)?;
        t.link("r0", "rb", 1)?;
        t.lan("lan", &["ra", "rb", "rd", "receiver"], 1)?;
        t.link("rd", "receiver2", 1)?;
        Ok(t)
    }

    /// Adds a host.
    pub fn host(&mut self, name: &str) -> Result<&mut Self> {
        self.add_node(name, Role::Host)
    }

    /// Adds a router.
    pub fn router(&mut self, name: &str) -> Result<&mut Self> {
        self.add_node(name, Role::Router)
    }

    /// Joins two nodes with a point-to-point veth pair of the given cost.
    pub fn link(&mut self, a: &str, b: &str, cost: u32) -> Result<&mut Self> {
        let name = format!("{a}-{b}");
        self.add_segment(&name, &[a, b], cost, false)
    }

    /// Joins several nodes on a bridge in a dedicated switch namespace.
    pub fn lan(&mut self, name: &str, members: &[&str], cost: u32) -> Result<&mut Self> {
        self.add_segment(name, members, cost, true)
    }

    fn add_node(&mut self, name: &str, role: Role) -> Result<&mut Self> {
        let valid = !name.is_empty()
            && name.len() <= 12
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if !valid || self.node(name).is_some() {
            return Err(Error::Invalid(format!("bad or duplicate node name {name:?}")));
        }
        let id = u8::try_from(self.nodes.len() + 1)
            .ok()
            .filter(|id| *id < 255)
            .ok_or_else(|| Error::Invalid("at most 254 nodes".into()))?;
        self.nodes.push(Node { name: name.to_string(), id, role });
        Ok(self)
    }

    fn add_segment(&mut self, name: &str, members: &[&str], cost: u32, switched: bool) -> Result<&mut Self> {
        let index =
            u8::try_from(self.segments.len()).map_err(|_| Error::Invalid("at most 256 segments".into()))?;
        if members.len() < 2 || cost == 0 {
            return Err(Error::Invalid(format!("segment {name} needs two members and a cost > 0")));
        }
        let mut attachments = Vec::with_capacity(members.len());
        for member in members {
            if self.node(member).is_none() {
                return Err(Error::Invalid(format!("segment {name}: unknown node {member}")));
            }
            let used = self.interfaces_of(member).len();
            attachments.push(Attachment { node: member.to_string(), iface: format!("eth{used}") });
        }
        self.segments.push(Segment { name: name.to_string(), index, members: attachments, cost, switched });
        Ok(self)
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The routers, in order of creation.
    pub fn routers(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.role == Role::Router)
    }

    /// `(segment, interface)` for every attachment of `node`.
    pub fn interfaces_of(&self, node: &str) -> Vec<(&Segment, &str)> {
        let mut found = Vec::new();
        for segment in &self.segments {
            for member in segment.members.iter().filter(|m| m.node == node) {
                found.push((segment, member.iface.as_str()));
            }
        }
        found
    }

    /// The interface of `node` on segment `segment`.
    pub fn iface(&self, node: &str, segment: &str) -> Option<&str> {
        let segment = self.segments.iter().find(|s| s.name == segment)?;
        segment.members.iter().find(|m| m.node == node).map(|m| m.iface.as_str())
    }

    /// The IPv4 address of `node` on `segment` (198.18.<segment>.<node>).
    pub fn v4(&self, node: &Node, segment: &Segment) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, segment.index, node.id)
    }

    /// The IPv6 address of `node` on `segment` (fd00:18:0:<segment>::<node>).
    pub fn v6(&self, node: &Node, segment: &Segment) -> Ipv6Addr {
        Ipv6Addr::new(0xfd00, 0x18, 0, u16::from(segment.index), 0, 0, 0, u16::from(node.id))
    }

    /// The IPv4 loopback address of a router.
    pub fn loopback_v4(&self, node: &Node) -> Ipv4Addr {
        Ipv4Addr::new(198, 19, 255, node.id)
    }

    /// The IPv6 loopback address of a router.
    pub fn loopback_v6(&self, node: &Node) -> Ipv6Addr {
        Ipv6Addr::new(0xfd00, 0x19, 0, 0, 0, 0, 0, u16::from(node.id))
    }

    /// The first address of `node` in the given family: its loopback for a router, otherwise the
    /// address on its first segment.
    pub fn primary_addr(&self, name: &str, v6: bool) -> Result<IpAddr> {
        let node = self.node(name).ok_or_else(|| Error::Invalid(format!("unknown node {name}")))?;
        if node.role == Role::Router {
            return Ok(if v6 { self.loopback_v6(node).into() } else { self.loopback_v4(node).into() });
        }
        let (segment, _) = self
            .interfaces_of(name)
            .into_iter()
            .next()
            .ok_or_else(|| Error::Invalid(format!("{name} has no interface")))?;
        Ok(if v6 { self.v6(node, segment).into() } else { self.v4(node, segment).into() })
    }

    /// The static routes of `name` in both families: a default route for hosts; for routers the best
    /// route to every remote subnet and loopback, plus loop-free alternates with their higher metric.
    pub fn routes(&self, name: &str) -> Result<Vec<Route>> {
        let node = self.node(name).ok_or_else(|| Error::Invalid(format!("unknown node {name}")))?;
        match node.role {
            Role::Host => self.host_routes(node),
            Role::Router => Ok(self.router_routes(node)),
        }
    }

    fn host_routes(&self, host: &Node) -> Result<Vec<Route>> {
        let Some((segment, iface)) = self.interfaces_of(&host.name).into_iter().next() else {
            return Ok(Vec::new());
        };
        let gateway = segment
            .members
            .iter()
            .filter_map(|m| self.node(&m.node))
            .filter(|n| n.role == Role::Router)
            .min_by_key(|n| n.id);
        let Some(gateway) = gateway else { return Ok(Vec::new()) };
        let v4 = Prefix { addr: Ipv4Addr::UNSPECIFIED.into(), len: 0 };
        let v6 = Prefix { addr: Ipv6Addr::UNSPECIFIED.into(), len: 0 };
        Ok(vec![
            Route { dest: v4, via: self.v4(gateway, segment).into(), dev: iface.into(), metric: 1 },
            Route { dest: v6, via: self.v6(gateway, segment).into(), dev: iface.into(), metric: 1 },
        ])
    }

    fn router_routes(&self, router: &Node) -> Vec<Route> {
        let distance = self.distances();
        let dist = |a: &str, b: &str| distance.get(&(a.to_string(), b.to_string())).copied();
        // Destinations: every segment (reached at any member router, or any member when it is the
        // neighbour itself) and every other router's loopback.
        let mut destinations: Vec<(Vec<Prefix>, Vec<&str>)> = Vec::new();
        for segment in &self.segments {
            if segment.members.iter().any(|m| m.node == router.name) {
                continue;
            }
            let v4 = Prefix { addr: Ipv4Addr::new(198, 18, segment.index, 0).into(), len: 24 };
            let v6 = Prefix {
                addr: Ipv6Addr::new(0xfd00, 0x18, 0, u16::from(segment.index), 0, 0, 0, 0).into(),
                len: 64,
            };
            let exits = segment
                .members
                .iter()
                .filter(|m| self.node(&m.node).is_some_and(|n| n.role == Role::Router))
                .map(|m| m.node.as_str())
                .collect();
            destinations.push((vec![v4, v6], exits));
        }
        for other in self.routers().filter(|r| r.name != router.name) {
            let v4 = Prefix { addr: self.loopback_v4(other).into(), len: 32 };
            let v6 = Prefix { addr: self.loopback_v6(other).into(), len: 128 };
            destinations.push((vec![v4, v6], vec![other.name.as_str()]));
        }

        let mut routes = Vec::new();
        for (prefixes, exits) in destinations {
            let to_dest = |from: &str| exits.iter().filter_map(|e| dist(from, e)).min();
            let Some(own) = to_dest(&router.name) else { continue };
            for (segment, iface) in self.interfaces_of(&router.name) {
                for neighbour in segment.members.iter().filter(|m| m.node != router.name) {
                    let Some(next) = self.node(&neighbour.node).filter(|n| n.role == Role::Router) else {
                        continue;
                    };
                    let Some(beyond) = to_dest(&next.name) else { continue };
                    let back = dist(&next.name, &router.name).unwrap_or(u32::MAX);
                    // Loop-free alternate condition (RFC 5286 §3.5): the neighbour's own path to the
                    // destination does not come back through this router.
                    if beyond >= back.saturating_add(own) {
                        continue;
                    }
                    let metric = segment.cost.saturating_add(beyond);
                    for prefix in &prefixes {
                        let via = match prefix.addr {
                            IpAddr::V4(_) => self.v4(next, segment).into(),
                            IpAddr::V6(_) => self.v6(next, segment).into(),
                        };
                        routes.push(Route { dest: *prefix, via, dev: iface.into(), metric });
                    }
                }
            }
        }
        routes.sort_by_key(|r| (r.dest, r.metric));
        // Keep one route per (destination, metric): the kernel refuses exact duplicates.
        routes.dedup_by(|a, b| a.dest == b.dest && a.metric == b.metric);
        routes
    }

    /// Shortest-path costs between all node pairs; only routers carry transit traffic.
    fn distances(&self) -> BTreeMap<(String, String), u32> {
        let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
        let count = names.len();
        let mut d = vec![vec![u32::MAX; count]; count];
        let index = |name: &str| names.iter().position(|n| *n == name);
        for (i, row) in d.iter_mut().enumerate() {
            if let Some(cell) = row.get_mut(i) {
                *cell = 0;
            }
        }
        for segment in &self.segments {
            for a in &segment.members {
                for b in &segment.members {
                    if let (Some(i), Some(j)) = (index(&a.node), index(&b.node)) {
                        if i != j {
                            if let Some(cell) = d.get_mut(i).and_then(|row| row.get_mut(j)) {
                                *cell = (*cell).min(segment.cost);
                            }
                        }
                    }
                }
            }
        }
        for (k, via) in self.nodes.iter().enumerate() {
            if via.role != Role::Router {
                continue;
            }
            for i in 0..count {
                for j in 0..count {
                    let through = d[i][k].saturating_add(d[k][j]);
                    if through < d[i][j] {
                        d[i][j] = through;
                    }
                }
            }
        }
        let mut out = BTreeMap::new();
        for (i, a) in names.iter().enumerate() {
            for (j, b) in names.iter().enumerate() {
                if d[i][j] != u32::MAX {
                    out.insert((a.to_string(), b.to_string()), d[i][j]);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route<'a>(routes: &'a [Route], dest: &str) -> Vec<&'a Route> {
        routes.iter().filter(|r| r.dest.to_string() == dest).collect()
    }

    #[test]
    fn chain_routes_reach_every_subnet() {
        let t = Topology::chain(3).unwrap();
        assert_eq!(t.segments.len(), 4);
        let r1 = t.routes("r1").unwrap();
        // r1 is on segments 0 and 1; segments 2 and 3 and loopbacks of r2, r3 are remote.
        let to_receiver_lan = route(&r1, "198.18.3.0/24");
        assert_eq!(to_receiver_lan.len(), 1);
        assert_eq!(to_receiver_lan[0].via.to_string(), "198.18.1.3");
        assert_eq!(to_receiver_lan[0].metric, 2, "two links to r3, which is on the segment");
        assert_eq!(route(&r1, "fd00:18:0:3::/64").len(), 1);
        assert_eq!(route(&r1, "198.19.255.4/32")[0].metric, 2);
        assert!(route(&r1, "198.18.0.0/24").is_empty(), "connected subnets get no route");
        let sender = t.routes("sender").unwrap();
        assert_eq!(sender[0].dest.to_string(), "0.0.0.0/0");
        assert_eq!(sender[0].via.to_string(), "198.18.0.2");
    }

    #[test]
    fn diamond_has_primary_and_worse_alternate() {
        let t = Topology::diamond().unwrap();
        let r1 = t.routes("r1").unwrap();
        let to_receiver = route(&r1, "198.18.5.0/24");
        assert_eq!(to_receiver.len(), 2, "{to_receiver:?}");
        assert_eq!((to_receiver[0].dev.as_str(), to_receiver[0].metric), ("eth1", 2));
        assert_eq!((to_receiver[1].dev.as_str(), to_receiver[1].metric), ("eth2", 20));
    }

    #[test]
    fn shared_lan_uses_bridges_and_interface_names() {
        let t = Topology::shared_lan().unwrap();
        assert_eq!(t.segments.iter().filter(|s| s.switched).count(), 2);
        assert_eq!(t.iface("r2", "rcvlan"), Some("eth1"));
        let receiver = t.routes("receiver").unwrap();
        assert_eq!(receiver[0].via.to_string(), "198.18.2.3", "lowest router id is the gateway");
    }

    #[test]
    fn assert_lan_has_two_forwarders_for_the_lan() {
        let t = Topology::assert_lan().unwrap();
        let to_source = |node: &str| route(&t.routes(node).unwrap(), "198.18.0.0/24").first().map(|r| r.via);
        assert_eq!(to_source("rd").unwrap().to_string(), "198.18.3.3", "rd's RPF neighbour is ra");
        assert_eq!(to_source("ra").unwrap().to_string(), "198.18.1.2");
        assert_eq!(to_source("rb").unwrap().to_string(), "198.18.2.2");
        let lan = t.segments.iter().find(|s| s.name == "lan").unwrap();
        let dr = lan.members.iter().filter_map(|m| t.node(&m.node)).filter(|n| n.role == Role::Router);
        assert_eq!(dr.max_by_key(|n| n.id).unwrap().name, "rb", "rb has the highest address on the LAN");
        assert_eq!(t.iface("ra", "lan"), Some("eth1"));
        assert_eq!(t.iface("rb", "lan"), Some("eth1"));
    }

    #[test]
    fn invalid_topologies_are_refused() {
        assert!(Topology::chain(0).is_err());
        let mut t = Topology::new();
        t.host("a").unwrap();
        assert!(t.host("a").is_err());
        assert!(t.host("Bad-Name").is_err());
        assert!(t.link("a", "missing", 1).is_err());
    }
}
