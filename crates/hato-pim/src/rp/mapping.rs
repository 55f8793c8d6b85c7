//! The group-to-RP mapping: static RPs, the BSR-learned RP-Set and embedded-RP, their
//! precedence, and the change events the PIM core acts on.

use std::collections::BTreeMap;
use std::fmt;

use hato_core::Afi;
use serde::Serialize;

use super::embedded::{embedded_rp, EmbeddedRpError};
use super::hash::default_hash_mask_len;
use super::select::{select, Candidate, DecisionRule, RpAlgorithm, RpDecision, RpSource};
use super::set::RpSet;

/// Which source wins where both static RPs and the BSR's RP-Set cover a group. Embedded-RP
/// always wins for its groups (RFC 3956 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RpPrecedence {
    /// Static RPs first; the RP-Set only for groups no static range covers.
    #[default]
    StaticOverBsr,
    /// The RP-Set first; static RPs only for groups the RP-Set does not cover.
    BsrOverStatic,
}

/// How RPs are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RpMappingConfig {
    pub algorithm: RpAlgorithm,
    pub precedence: RpPrecedence,
    /// The hash mask length for static RPs; `None` = 30 (IPv4) or 126 (IPv6). RP-Set entries use
    /// the mask length their BSR announced.
    pub static_hash_mask_len: Option<u8>,
    /// Whether to derive RPs from embedded-RP groups (RFC 3956).
    pub embedded_rp: bool,
}

impl Default for RpMappingConfig {
    fn default() -> Self {
        RpMappingConfig {
            algorithm: RpAlgorithm::Rfc4601,
            precedence: RpPrecedence::StaticOverBsr,
            static_hash_mask_len: None,
            embedded_rp: true,
        }
    }
}

/// Why a group has no RP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
pub enum NoRp {
    /// Not a multicast group address, or a link-local one.
    NotRoutable,
    /// An embedded-RP group (R flag set) that breaks RFC 3956 §2-§3.
    InvalidEmbeddedRp(EmbeddedRpError),
    /// No static range and no RP-Set range contains the group.
    NoCandidate,
}

impl fmt::Display for NoRp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoRp::NotRoutable => f.write_str("no rp: not a routable group"),
            NoRp::InvalidEmbeddedRp(e) => write!(f, "no rp: invalid embedded-rp group ({e})"),
            NoRp::NoCandidate => f.write_str("no rp: no static or bsr range covers the group"),
        }
    }
}

/// The RP of a group the core follows changed: move its (*,G) state (join towards `new`, prune
/// towards `old`, re-register).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct RpChange<A: Afi> {
    pub group: A::Addr,
    pub old: Option<A::Addr>,
    pub new: Option<A::Addr>,
}

impl<A: Afi> fmt::Display for RpChange<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |a: Option<A::Addr>| a.map_or_else(|| "none".to_string(), |a| a.to_string());
        write!(f, "rp of {} changed: {} -> {}", self.group, show(self.old), show(self.new))
    }
}

/// A statically configured RP for a group range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct StaticRp<A: Afi> {
    pub address: A::Addr,
    pub range: A::Prefix,
    /// Lower is preferred.
    pub priority: u8,
}

/// Static RPs, the BSR RP-Set and embedded-RP for one family, with the groups the PIM core
/// follows (so that a change of mapping yields [`RpChange`]s for exactly those groups).
#[derive(Debug, Clone)]
pub struct RpMapping<A: Afi> {
    config: RpMappingConfig,
    statics: Vec<StaticRp<A>>,
    rp_set: RpSet<A>,
    /// Followed groups and the RP each had at the last recomputation.
    watched: BTreeMap<A::Addr, Option<A::Addr>>,
}

impl<A: Afi> Default for RpMapping<A> {
    fn default() -> Self {
        Self::new(RpMappingConfig::default())
    }
}

impl<A: Afi> RpMapping<A> {
    pub fn new(config: RpMappingConfig) -> Self {
        RpMapping { config, statics: Vec::new(), rp_set: RpSet::new(), watched: BTreeMap::new() }
    }

    pub fn config(&self) -> &RpMappingConfig {
        &self.config
    }

    pub fn static_rps(&self) -> &[StaticRp<A>] {
        &self.statics
    }

    pub fn rp_set(&self) -> &RpSet<A> {
        &self.rp_set
    }

    /// Replaces the configuration.
    pub fn set_config(&mut self, config: RpMappingConfig, out: &mut Vec<RpChange<A>>) {
        self.config = config;
        self.recompute(out);
    }

    /// Replaces the static RPs.
    pub fn set_static_rps(&mut self, statics: Vec<StaticRp<A>>, out: &mut Vec<RpChange<A>>) {
        self.statics = statics;
        self.recompute(out);
    }

    /// Installs the RP-Set the BSR machinery learned (its `RpSetChanged` output).
    pub fn set_rp_set(&mut self, rp_set: RpSet<A>, out: &mut Vec<RpChange<A>>) {
        self.rp_set = rp_set;
        self.recompute(out);
    }

    /// Starts following `group` (a (*,G) entry exists); returns its RP.
    pub fn watch(&mut self, group: A::Addr) -> Option<A::Addr> {
        let rp = self.rp_for(group);
        self.watched.insert(group, rp);
        rp
    }

    /// Stops following `group`.
    pub fn unwatch(&mut self, group: A::Addr) {
        self.watched.remove(&group);
    }

    /// Whether `group` is followed.
    pub fn is_watched(&self, group: A::Addr) -> bool {
        self.watched.contains_key(&group)
    }

    /// The RP of `group`, if any.
    pub fn rp_for(&self, group: A::Addr) -> Option<A::Addr> {
        self.decide(group).ok().map(|d| d.rp)
    }

    /// The RP of `group` with the reasons, or why there is none.
    pub fn decide(&self, group: A::Addr) -> Result<RpDecision<A>, NoRp> {
        if !A::is_multicast(group) || A::is_link_local_group(group) {
            return Err(NoRp::NotRoutable);
        }
        // RFC 3956 §3: an embedded-RP group's RP is the one it names, whatever else is configured.
        if self.config.embedded_rp {
            match embedded_rp::<A>(group) {
                Some(Ok(e)) => {
                    return Ok(RpDecision {
                        group,
                        rp: e.rp,
                        source: RpSource::Embedded,
                        range: e.range,
                        priority: None,
                        hash: None,
                        hash_mask_len: None,
                        rule: DecisionRule::EmbeddedRp,
                        algorithm: self.config.algorithm,
                        candidates: 1,
                    })
                }
                Some(Err(e)) => return Err(NoRp::InvalidEmbeddedRp(e)),
                None => {}
            }
        }
        let statics: Vec<Candidate<A>> = self
            .statics
            .iter()
            .filter(|s| A::prefix_contains(&s.range, group))
            .map(|s| Candidate { rp: s.address, range: s.range, priority: s.priority })
            .collect();
        // A scoped zone's RP-Set speaks for its groups (RFC 5059 §3.x).
        let rp_set = self.rp_set.for_group(group);
        let learned: Vec<Candidate<A>> = rp_set
            .covering(group)
            .map(|(range, e)| Candidate { rp: e.address, range, priority: e.priority })
            .collect();
        let static_mask = self.config.static_hash_mask_len.unwrap_or_else(default_hash_mask_len::<A>);
        let bsr = (RpSource::Bsr, learned, rp_set.hash_mask_len);
        let stat = (RpSource::Static, statics, static_mask);
        let (first, second) = match self.config.precedence {
            RpPrecedence::StaticOverBsr => (stat, bsr),
            RpPrecedence::BsrOverStatic => (bsr, stat),
        };
        let (source, candidates, mask) = if first.1.is_empty() { second } else { first };
        let chosen = select::<A>(group, &candidates, self.config.algorithm, mask).ok_or(NoRp::NoCandidate)?;
        Ok(RpDecision {
            group,
            rp: chosen.winner.rp,
            source,
            range: chosen.winner.range,
            priority: Some(chosen.winner.priority),
            hash: chosen.hash,
            hash_mask_len: chosen.hash.map(|_| mask),
            rule: chosen.rule,
            algorithm: self.config.algorithm,
            candidates: candidates.len(),
        })
    }

    /// Recomputes every followed group; reports those whose RP changed.
    fn recompute(&mut self, out: &mut Vec<RpChange<A>>) {
        let groups: Vec<A::Addr> = self.watched.keys().copied().collect();
        for group in groups {
            let new = self.rp_for(group);
            if let Some(old) = self.watched.insert(group, new) {
                if old != new {
                    out.push(RpChange { group, old, new });
                }
            }
        }
    }
}
