//! The RP-Set (RFC 7761 §4.7, RFC 5059 §3): group ranges, each with its candidate RPs, as the
//! elected BSR announces it.

use std::fmt;

use hato_core::Afi;
use serde::Serialize;

/// One RP of a group range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct RpSetEntry<A: Afi> {
    pub address: A::Addr,
    /// Lower is preferred (RFC 7761 §4.7.1).
    pub priority: u8,
    /// Seconds the entry stays valid after it was last announced.
    pub holdtime: u16,
}

/// A group range with its RPs, ordered by address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct RpSetRange<A: Afi> {
    pub range: A::Prefix,
    pub rps: Vec<RpSetEntry<A>>,
}

/// The RP-Set learned from (or, at the elected BSR, built for) the Bootstrap messages of one BSR.
/// Ranges are ordered by prefix and unique; each range's RPs are ordered by address and unique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct RpSet<A: Afi> {
    /// The BSR that announced the set.
    pub bsr: Option<A::Addr>,
    /// The hash mask length the BSR announced (RFC 5059 §4.1).
    pub hash_mask_len: u8,
    pub ranges: Vec<RpSetRange<A>>,
    /// The RP-Sets of administratively scoped zones (RFC 5059 §3.x), each from its zone's BSR;
    /// they take precedence over this set for the groups of their zone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scoped: Vec<ScopedRpSet<A>>,
}

/// The RP-Set of one admin scope zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct ScopedRpSet<A: Afi> {
    /// The zone's group range.
    pub zone: A::Prefix,
    pub rp_set: RpSet<A>,
}

impl<A: Afi> Default for RpSet<A> {
    fn default() -> Self {
        RpSet {
            bsr: None,
            hash_mask_len: super::hash::default_hash_mask_len::<A>(),
            ranges: Vec::new(),
            scoped: Vec::new(),
        }
    }
}

impl<A: Afi> RpSet<A> {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty() && self.scoped.iter().all(|s| s.rp_set.is_empty())
    }

    /// The set that speaks for `group`: the RP-Set of the innermost admin scope zone containing
    /// `group` that has RPs for it (RFC 5059 §3.x), else this (global) set.
    pub fn for_group(&self, group: A::Addr) -> &RpSet<A> {
        self.scoped
            .iter()
            .filter(|s| A::prefix_contains(&s.zone, group) && s.rp_set.covering(group).next().is_some())
            .max_by_key(|s| A::prefix_parts(&s.zone).1)
            .map_or(self, |s| &s.rp_set)
    }

    /// Number of (range, RP) entries.
    pub fn entry_count(&self) -> usize {
        self.ranges.iter().map(|r| r.rps.len()).sum()
    }

    /// The RPs of exactly `range`.
    pub fn range(&self, range: &A::Prefix) -> Option<&RpSetRange<A>> {
        self.ranges.iter().find(|r| &r.range == range)
    }

    /// Every (range, RP) whose range contains `group`.
    pub fn covering(&self, group: A::Addr) -> impl Iterator<Item = (A::Prefix, &RpSetEntry<A>)> + '_ {
        self.ranges
            .iter()
            .filter(move |r| A::prefix_contains(&r.range, group))
            .flat_map(|r| r.rps.iter().map(move |rp| (r.range, rp)))
    }

    /// Sets the RPs of `range` (ordered and deduplicated by address); an empty list keeps the
    /// range, announced without RPs.
    pub fn set_range(&mut self, range: A::Prefix, mut rps: Vec<RpSetEntry<A>>) {
        rps.sort_by_key(|e| e.address);
        rps.dedup_by_key(|e| e.address);
        match self.ranges.binary_search_by(|r| r.range.cmp(&range)) {
            Ok(i) => {
                if let Some(r) = self.ranges.get_mut(i) {
                    r.rps = rps;
                }
            }
            Err(i) => self.ranges.insert(i, RpSetRange { range, rps }),
        }
    }

    /// Adds or replaces the entry of `rp.address` in `range`, keeping the orders.
    pub fn insert(&mut self, range: A::Prefix, rp: RpSetEntry<A>) {
        let slot = match self.ranges.binary_search_by(|r| r.range.cmp(&range)) {
            Ok(i) => i,
            Err(i) => {
                self.ranges.insert(i, RpSetRange { range, rps: Vec::new() });
                i
            }
        };
        if let Some(r) = self.ranges.get_mut(slot) {
            match r.rps.binary_search_by(|e| e.address.cmp(&rp.address)) {
                Ok(j) => {
                    if let Some(e) = r.rps.get_mut(j) {
                        *e = rp;
                    }
                }
                Err(j) => r.rps.insert(j, rp),
            }
        }
    }
}

impl<A: Afi> fmt::Display for RpSet<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bsr {
            Some(bsr) => write!(f, "bsr {bsr} hash-mask {}", self.hash_mask_len)?,
            None => write!(f, "no bsr hash-mask {}", self.hash_mask_len)?,
        }
        for r in &self.ranges {
            write!(f, "; {}", r.range)?;
            for rp in &r.rps {
                write!(f, " {} priority {} holdtime {}s", rp.address, rp.priority, rp.holdtime)?;
            }
        }
        for s in &self.scoped {
            write!(f, "; zone {} [{}]", s.zone, s.rp_set)?;
        }
        Ok(())
    }
}
