//! The unicast RIB (URIB): a mirror of the kernel's unicast routes plus the prefixes connected to
//! each interface, and the longest-match selection an RPF lookup makes in it.
//!
//! Selection (RFC 7761 §4.5 leaves it to the unicast routing system): the longest prefix that has a
//! usable candidate wins; at that prefix a connected prefix beats every route, then the lowest
//! administrative distance, then the lowest metric. Among a route's equal-cost nexthops the highest
//! neighbour address wins, then the lowest interface index (Cisco's default choice among equal-cost
//! RPF paths, which makes the answer independent of the order the kernel listed them). A nexthop or
//! connected prefix on an interface that is down is not usable.
//!
//! IPv6 link-local prefixes (fe80::/64) are connected on every interface, so a link-local address
//! resolves to the lowest interface index: callers that know the interface say so (see
//! [`crate::MrouteTarget::Neighbor`]).

use std::collections::{BTreeMap, BTreeSet};

use hato_core::{Afi, IfIndex, PrefixTable};

use crate::lookup::{PathChoice, RouteOrigin, Via};
use crate::route::{Nexthop, Route, UnicastEvent};

/// What a [`UnicastEvent`] changed, for deciding which answers to recompute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Touched<A: Afi> {
    /// Nothing (a replay of known state).
    Nothing,
    /// The routes of one prefix.
    Route(A::Prefix),
    /// The connected prefix on some interface: also moves static mroute neighbours inside it.
    Connected(A::Prefix),
    /// An interface's state: anything may have changed.
    Link,
}

/// Everything stored under one prefix.
#[derive(Debug, Clone)]
struct Entry<A: Afi> {
    /// Interfaces this prefix is connected to, with the local addresses that make it so.
    connected: BTreeMap<IfIndex, BTreeSet<A::Addr>>,
    /// Routes by metric (the rest of their [`crate::RouteKey`]).
    routes: BTreeMap<u32, Route<A>>,
}

impl<A: Afi> Default for Entry<A> {
    fn default() -> Self {
        Entry { connected: BTreeMap::new(), routes: BTreeMap::new() }
    }
}

impl<A: Afi> Entry<A> {
    fn is_empty(&self) -> bool {
        self.connected.is_empty() && self.routes.is_empty()
    }
}

/// The mirrored unicast RIB of one address family.
#[derive(Debug, Clone)]
pub struct UnicastRib<A: Afi> {
    table: PrefixTable<A, Entry<A>>,
    down: BTreeSet<IfIndex>,
}

impl<A: Afi> Default for UnicastRib<A> {
    fn default() -> Self {
        UnicastRib { table: PrefixTable::new(), down: BTreeSet::new() }
    }
}

impl<A: Afi> UnicastRib<A> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one event; says what it changed.
    pub(crate) fn apply(&mut self, event: UnicastEvent<A>) -> Touched<A> {
        match event {
            UnicastEvent::RouteAdd { route } => {
                let prefix = normalised::<A>(route.prefix);
                let route = Route { prefix, ..route };
                let Some(entry) = self.entry_mut(prefix) else { return Touched::Nothing };
                match entry.routes.insert(route.metric, route.clone()) {
                    Some(old) if old == route => Touched::Nothing,
                    _ => Touched::Route(prefix),
                }
            }
            UnicastEvent::RouteDelete { key } => {
                let prefix = normalised::<A>(key.prefix);
                let removed = self.table.get_mut(&prefix).and_then(|entry| entry.routes.remove(&key.metric));
                self.prune(prefix);
                match removed {
                    Some(_) => Touched::Route(prefix),
                    None => Touched::Nothing,
                }
            }
            UnicastEvent::AddressAdd { ifindex, addr, prefix_len } => {
                let Some(prefix) = A::prefix(addr, prefix_len) else { return Touched::Nothing };
                let Some(entry) = self.entry_mut(prefix) else { return Touched::Nothing };
                let added = entry.connected.entry(ifindex).or_default().insert(addr);
                if added {
                    Touched::Connected(prefix)
                } else {
                    Touched::Nothing
                }
            }
            UnicastEvent::AddressDelete { ifindex, addr, prefix_len } => {
                let Some(prefix) = A::prefix(addr, prefix_len) else { return Touched::Nothing };
                let mut removed = false;
                if let Some(entry) = self.table.get_mut(&prefix) {
                    if let Some(addrs) = entry.connected.get_mut(&ifindex) {
                        removed = addrs.remove(&addr);
                        if addrs.is_empty() {
                            entry.connected.remove(&ifindex);
                        }
                    }
                }
                self.prune(prefix);
                if removed {
                    Touched::Connected(prefix)
                } else {
                    Touched::Nothing
                }
            }
            UnicastEvent::LinkState { ifindex, up } => {
                let changed = if up { self.down.remove(&ifindex) } else { self.down.insert(ifindex) };
                if changed {
                    Touched::Link
                } else {
                    Touched::Nothing
                }
            }
        }
    }

    /// The entry of `prefix`, created empty if missing (always `Some`).
    fn entry_mut(&mut self, prefix: A::Prefix) -> Option<&mut Entry<A>> {
        if self.table.get(&prefix).is_none() {
            self.table.insert(prefix, Entry::default());
        }
        self.table.get_mut(&prefix)
    }

    fn prune(&mut self, prefix: A::Prefix) {
        if self.table.get(&prefix).is_some_and(Entry::is_empty) {
            self.table.remove(&prefix);
        }
    }

    /// Whether the interface is up (interfaces never reported down are).
    pub fn is_up(&self, ifindex: IfIndex) -> bool {
        !self.down.contains(&ifindex)
    }

    /// The route stored under exactly this prefix and metric.
    pub fn route(&self, prefix: &A::Prefix, metric: u32) -> Option<&Route<A>> {
        self.table.get(prefix).and_then(|entry| entry.routes.get(&metric))
    }

    /// Every route, in prefix order then metric order.
    pub fn routes(&self) -> impl Iterator<Item = &Route<A>> + '_ {
        self.table.iter().flat_map(|(_, entry)| entry.routes.values())
    }

    /// Every connected prefix with its interface and local address, in prefix order.
    pub fn connected(&self) -> impl Iterator<Item = (A::Prefix, IfIndex, A::Addr)> + '_ {
        self.table.iter().flat_map(|(prefix, entry)| {
            entry
                .connected
                .iter()
                .flat_map(move |(ifindex, addrs)| addrs.iter().map(move |a| (prefix, *ifindex, *a)))
        })
    }

    /// The interface through which `addr` is directly reachable: the longest connected prefix
    /// containing it on an interface that is up, the lowest interface index on a tie.
    pub fn connected_interface(&self, addr: A::Addr) -> Option<(A::Prefix, IfIndex)> {
        let matches: Vec<_> = self.table.matches(addr).collect();
        matches.into_iter().rev().find_map(|(prefix, entry)| {
            entry.connected.keys().find(|ifindex| self.is_up(**ifindex)).map(|ifindex| (prefix, *ifindex))
        })
    }

    /// The URIB's path toward `addr` (see the module documentation for the rules).
    pub(crate) fn best_path(&self, addr: A::Addr) -> Option<PathChoice<A>> {
        let matches: Vec<_> = self.table.matches(addr).collect();
        matches.into_iter().rev().find_map(|(prefix, entry)| self.best_at(prefix, entry, addr))
    }

    fn best_at(&self, prefix: A::Prefix, entry: &Entry<A>, addr: A::Addr) -> Option<PathChoice<A>> {
        if let Some(ifindex) = entry.connected.keys().find(|ifindex| self.is_up(**ifindex)) {
            return Some(PathChoice {
                prefix,
                interface: *ifindex,
                neighbor: addr,
                via: Via::OnLink,
                metric: 0,
                distance: 0,
                origin: RouteOrigin::Connected,
            });
        }
        entry
            .routes
            .values()
            .filter_map(|route| self.best_nexthop(route, addr).map(|nexthop| (route, nexthop)))
            .min_by_key(|(route, _)| (route.distance, route.metric))
            .map(|(route, nexthop)| PathChoice {
                prefix,
                interface: nexthop.ifindex,
                neighbor: nexthop.gateway.unwrap_or(addr),
                via: if nexthop.gateway.is_some() { Via::Gateway } else { Via::OnLink },
                metric: route.metric,
                distance: route.distance,
                origin: RouteOrigin::Unicast(route.protocol),
            })
    }

    /// The chosen nexthop of a route toward `addr`: highest neighbour address, then lowest ifindex,
    /// then on-link before a gateway that is the address itself.
    fn best_nexthop(&self, route: &Route<A>, addr: A::Addr) -> Option<Nexthop<A>> {
        route.nexthops.iter().copied().filter(|nexthop| self.is_up(nexthop.ifindex)).max_by(|a, b| {
            let neighbor = |n: &Nexthop<A>| n.gateway.unwrap_or(addr);
            neighbor(a).cmp(&neighbor(b)).then(b.ifindex.cmp(&a.ifindex)).then(b.gateway.cmp(&a.gateway))
        })
    }
}

fn normalised<A: Afi>(prefix: A::Prefix) -> A::Prefix {
    let (addr, len) = A::prefix_parts(&prefix);
    A::prefix(addr, len).unwrap_or(prefix)
}
