//! The multicast RIB (MRIB): static mroutes, `ip mroute <source>/<len> {<rpf-neighbour>|<interface>}
//! [distance]`, which tell RPF where traffic from a source range is expected to arrive, overriding
//! (depending on the lookup mode) what unicast routing says. Callers show an answer that came from
//! here as "Mroute".
//!
//! An RPF neighbour given without an interface is resolved to one through the connected prefixes;
//! a static mroute whose neighbour is not on any connected prefix of an interface that is up, or
//! whose interface is down, is inactive, and the lookup falls back to shorter mroute prefixes. Among
//! the active mroutes of the longest matching prefix the lowest distance wins, then the lowest
//! target (interface targets before neighbours, then by address).

use std::collections::BTreeMap;
use std::fmt;

use hato_core::{Afi, IfIndex, PrefixTable};
use serde::Serialize;

use crate::lookup::{PathChoice, RouteOrigin, Via};
use crate::urib::UnicastRib;

/// Where a static mroute says traffic from its sources arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(bound(serialize = ""), rename_all = "kebab-case")]
pub enum MrouteTarget<A: Afi> {
    /// A point-to-point interface: the RPF interface is given, the neighbour is left to the caller.
    Interface(IfIndex),
    /// An RPF neighbour. Without `interface` it is resolved through the connected prefixes; give the
    /// interface for an IPv6 link-local neighbour.
    Neighbor { addr: A::Addr, interface: Option<IfIndex> },
}

impl<A: Afi> fmt::Display for MrouteTarget<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Interface(ifindex) => write!(f, "{ifindex}"),
            Self::Neighbor { addr, interface: None } => write!(f, "{addr}"),
            Self::Neighbor { addr, interface: Some(ifindex) } => write!(f, "{addr}%{ifindex}"),
        }
    }
}

/// One static mroute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(bound(serialize = ""))]
pub struct StaticMroute<A: Afi> {
    /// The source range.
    pub prefix: A::Prefix,
    pub target: MrouteTarget<A>,
    /// Administrative distance, compared with unicast routes in the `lower-distance` mode.
    pub distance: u8,
}

impl<A: Afi> StaticMroute<A> {
    /// FRR's default distance for `ip mroute` (a static route's).
    pub const DEFAULT_DISTANCE: u8 = 1;

    /// A static mroute with the default distance.
    pub fn new(prefix: A::Prefix, target: MrouteTarget<A>) -> Self {
        StaticMroute { prefix, target, distance: Self::DEFAULT_DISTANCE }
    }
}

impl<A: Afi> fmt::Display for StaticMroute<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mroute {} {} {}", self.prefix, self.target, self.distance)
    }
}

/// The static mroutes of one address family.
#[derive(Debug, Clone)]
pub struct Mrib<A: Afi> {
    /// Per prefix: each target with its distance.
    table: PrefixTable<A, BTreeMap<MrouteTarget<A>, u8>>,
}

impl<A: Afi> Default for Mrib<A> {
    fn default() -> Self {
        Mrib { table: PrefixTable::new() }
    }
}

impl<A: Afi> Mrib<A> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a static mroute or changes its distance; returns whether anything changed.
    pub(crate) fn add(&mut self, mroute: StaticMroute<A>) -> bool {
        match self.table.get_mut(&mroute.prefix) {
            Some(targets) => targets.insert(mroute.target, mroute.distance) != Some(mroute.distance),
            None => {
                self.table.insert(mroute.prefix, BTreeMap::from([(mroute.target, mroute.distance)]));
                true
            }
        }
    }

    /// Removes a static mroute; returns whether it existed.
    pub(crate) fn remove(&mut self, prefix: &A::Prefix, target: &MrouteTarget<A>) -> bool {
        let Some(targets) = self.table.get_mut(prefix) else { return false };
        let removed = targets.remove(target).is_some();
        if targets.is_empty() {
            self.table.remove(prefix);
        }
        removed
    }

    /// Every static mroute, in prefix order.
    pub fn iter(&self) -> impl Iterator<Item = StaticMroute<A>> + '_ {
        self.table.iter().flat_map(|(prefix, targets)| {
            targets.iter().map(move |(target, distance)| StaticMroute {
                prefix,
                target: *target,
                distance: *distance,
            })
        })
    }

    pub fn len(&self) -> usize {
        self.table.iter().map(|(_, targets)| targets.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Prefixes of static mroutes whose neighbour is resolved through `connected` (no interface
    /// given, neighbour inside it): their answers move when that connected prefix does.
    pub(crate) fn resolved_through(&self, connected: &A::Prefix) -> Vec<A::Prefix> {
        self.table
            .iter()
            .filter(|(_, targets)| {
                targets.keys().any(|target| match target {
                    MrouteTarget::Neighbor { addr, interface: None } => A::prefix_contains(connected, *addr),
                    MrouteTarget::Neighbor { interface: Some(_), .. } | MrouteTarget::Interface(_) => false,
                })
            })
            .map(|(prefix, _)| prefix)
            .collect()
    }

    /// The MRIB's path toward `addr` (see the module documentation for the rules).
    pub(crate) fn best_path(&self, addr: A::Addr, urib: &UnicastRib<A>) -> Option<PathChoice<A>> {
        let matches: Vec<_> = self.table.matches(addr).collect();
        matches.into_iter().rev().find_map(|(prefix, targets)| {
            targets
                .iter()
                .filter_map(|(target, distance)| resolve(target, urib, addr).map(|r| (*distance, r)))
                .min_by_key(|(distance, _)| *distance)
                .map(|(distance, (interface, neighbor, via))| PathChoice {
                    prefix,
                    interface,
                    neighbor,
                    via,
                    metric: 0,
                    distance,
                    origin: RouteOrigin::StaticMroute,
                })
        })
    }
}

/// The interface, neighbour and kind of path a target gives toward `addr`, if it is active.
fn resolve<A: Afi>(
    target: &MrouteTarget<A>,
    urib: &UnicastRib<A>,
    addr: A::Addr,
) -> Option<(IfIndex, A::Addr, Via)> {
    match *target {
        MrouteTarget::Interface(ifindex) => urib.is_up(ifindex).then_some((ifindex, addr, Via::Interface)),
        MrouteTarget::Neighbor { addr: neighbor, interface: Some(ifindex) } => {
            urib.is_up(ifindex).then_some((ifindex, neighbor, Via::Gateway))
        }
        MrouteTarget::Neighbor { addr: neighbor, interface: None } => {
            urib.connected_interface(neighbor).map(|(_, ifindex)| (ifindex, neighbor, Via::Gateway))
        }
    }
}
