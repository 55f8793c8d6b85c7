//! The keys routing state is stored under: (S,G) / (*,G) keys, kernel interface indexes and the
//! multicast routing table's virtual interface numbers.

use std::fmt;

use serde::Serialize;

use crate::Afi;

/// A kernel interface index (`ifindex`), stable for the life of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct IfIndex(pub u32);

impl fmt::Display for IfIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "if{}", self.0)
    }
}

/// A virtual interface number in a kernel multicast routing table: a VIF (IPv4) or MIF (IPv6).
/// The kernel allows at most 32 per table (`MAXVIFS`, `MAXMIFS`), the register VIF included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct VifId(pub u16);

impl VifId {
    /// The kernel's limit on VIFs / MIFs per table.
    pub const MAX: u16 = 32;
}

impl fmt::Display for VifId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "vif{}", self.0)
    }
}

/// A multicast routing entry's key: (S,G) when `source` is set, (*,G) when it is `None`.
///
/// Ordering is by group first, then source with (*,G) before every (S,G) of the same group, so a
/// `BTreeMap<SgKey, _>` range over one group yields its (*,G) entry followed by its sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(bound(serialize = ""))]
pub struct SgKey<A: Afi> {
    pub source: Option<A::Addr>,
    pub group: A::Addr,
}

impl<A: Afi> SgKey<A> {
    /// An (S,G) key.
    pub fn sg(source: A::Addr, group: A::Addr) -> Self {
        SgKey { source: Some(source), group }
    }

    /// A (*,G) key.
    pub fn star_g(group: A::Addr) -> Self {
        SgKey { source: None, group }
    }

    /// Whether this is a (*,G) key.
    pub fn is_star(&self) -> bool {
        self.source.is_none()
    }
}

impl<A: Afi> PartialOrd for SgKey<A> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<A: Afi> Ord for SgKey<A> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.group, self.source).cmp(&(other.group, other.source))
    }
}

impl<A: Afi> fmt::Display for SgKey<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source {
            Some(s) => write!(f, "({}, {})", s, self.group),
            None => write!(f, "(*, {})", self.group),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{V4, V6};
    use std::collections::BTreeMap;

    #[test]
    fn star_sorts_before_sources_of_its_group() {
        let g1 = "239.1.1.1".parse().unwrap();
        let g2 = "239.1.1.2".parse().unwrap();
        let s = "198.18.0.1".parse().unwrap();
        let mut m = BTreeMap::new();
        m.insert(SgKey::<V4>::sg(s, g2), 3);
        m.insert(SgKey::<V4>::sg(s, g1), 2);
        m.insert(SgKey::<V4>::star_g(g2), 4);
        m.insert(SgKey::<V4>::star_g(g1), 1);
        assert_eq!(m.values().copied().collect::<Vec<_>>(), vec![1, 2, 4, 3]);
    }

    #[test]
    fn display() {
        let k = SgKey::<V6>::sg("fd00::1".parse().unwrap(), "ff3e::1".parse().unwrap());
        assert_eq!(k.to_string(), "(fd00::1, ff3e::1)");
        assert_eq!(SgKey::<V6>::star_g("ff0e::1".parse().unwrap()).to_string(), "(*, ff0e::1)");
    }
}
