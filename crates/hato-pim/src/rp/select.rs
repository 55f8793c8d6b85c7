//! RP selection among the candidate RPs of a group (RFC 7761 §4.7.1), by either algorithm of
//! the configuration guide's table 15-10:
//!
//! | rule | `rfc4601` | `rfc2362` |
//! |---|---|---|
//! | longest group-range match | 1 | - |
//! | lowest priority value | 2 | 1 |
//! | highest hash value (RFC 7761 §4.7.2) | 3 | 2 |
//! | highest RP address | 4 | 3 |
//!
//! `rfc4601` is RFC 7761 §4.7.1 (also RFC 4601): the longest match first. `rfc2362` considers
//! every range containing the group at once, as RFC 2362 §3.7 did.

use std::fmt;

use hato_core::Afi;
use serde::Serialize;

use super::hash::hash_value;

/// Which RP-selection algorithm to run (seed 002 table 15-10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RpAlgorithm {
    /// Longest group-range match, then priority, hash, address (RFC 7761 §4.7.1).
    #[default]
    Rfc4601,
    /// Priority, hash, address over every covering range (RFC 2362 §3.7).
    Rfc2362,
}

impl fmt::Display for RpAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RpAlgorithm::Rfc4601 => "rfc4601",
            RpAlgorithm::Rfc2362 => "rfc2362",
        })
    }
}

/// Where a group-to-RP mapping came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RpSource {
    Static,
    Bsr,
    /// RFC 3956: derived from the group address.
    Embedded,
}

impl fmt::Display for RpSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RpSource::Static => "static",
            RpSource::Bsr => "bsr",
            RpSource::Embedded => "embedded-rp",
        })
    }
}

/// The rule that left a single RP standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionRule {
    /// There was one candidate to begin with.
    OnlyCandidate,
    LongestMatch,
    LowestPriority,
    HighestHash,
    HighestAddress,
    /// RFC 3956: the group names its RP.
    EmbeddedRp,
}

impl fmt::Display for DecisionRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecisionRule::OnlyCandidate => "only-candidate",
            DecisionRule::LongestMatch => "longest-match",
            DecisionRule::LowestPriority => "lowest-priority",
            DecisionRule::HighestHash => "highest-hash",
            DecisionRule::HighestAddress => "highest-address",
            DecisionRule::EmbeddedRp => "embedded-rp",
        })
    }
}

/// One candidate RP for a group: an RP of a range that contains the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<A: Afi> {
    pub rp: A::Addr,
    pub range: A::Prefix,
    pub priority: u8,
}

/// The chosen RP of a group and why: what `hatoctl show pim rp <group>` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct RpDecision<A: Afi> {
    pub group: A::Addr,
    pub rp: A::Addr,
    pub source: RpSource,
    /// The group range of the winning entry.
    pub range: A::Prefix,
    /// The winner's priority (none for embedded-RP).
    pub priority: Option<u8>,
    /// The winner's hash value, when the hash was computed (RFC 7761 §4.7.2).
    pub hash: Option<u32>,
    pub hash_mask_len: Option<u8>,
    pub rule: DecisionRule,
    pub algorithm: RpAlgorithm,
    /// How many candidates covered the group in the source that decided.
    pub candidates: usize,
}

impl<A: Afi> fmt::Display for RpDecision<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rp {} via {} range {}", self.group, self.rp, self.source, self.range)?;
        if let Some(priority) = self.priority {
            write!(f, " priority {priority}")?;
        }
        if let (Some(hash), Some(mask)) = (self.hash, self.hash_mask_len) {
            write!(f, " hash {hash} (mask {mask})")?;
        }
        write!(f, " decided by {} ({}, {} candidates)", self.rule, self.algorithm, self.candidates)
    }
}

/// The outcome of [`select`]: the winner and how it won.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection<A: Afi> {
    pub winner: Candidate<A>,
    pub hash: Option<u32>,
    pub rule: DecisionRule,
}

/// Keeps the candidates for which `key` is maximal; returns whether that eliminated any.
fn keep_max<A: Afi, K: Ord + Copy>(list: &mut Vec<Candidate<A>>, key: impl Fn(&Candidate<A>) -> K) -> bool {
    let Some(best) = list.iter().map(&key).max() else {
        return false;
    };
    let before = list.len();
    list.retain(|c| key(c) == best);
    list.len() < before
}

/// Chooses the RP of `group` among `candidates` (each an RP of a range containing the group) by
/// `algorithm`, with hash mask length `hash_mask_len`. `None` when there is no candidate.
pub fn select<A: Afi>(
    group: A::Addr,
    candidates: &[Candidate<A>],
    algorithm: RpAlgorithm,
    hash_mask_len: u8,
) -> Option<Selection<A>> {
    let mut list: Vec<Candidate<A>> = candidates.to_vec();
    if list.len() == 1 {
        return list.first().map(|&winner| Selection {
            winner,
            hash: None,
            rule: DecisionRule::OnlyCandidate,
        });
    }
    let mut rule = DecisionRule::OnlyCandidate;
    let mut decided = |eliminated: bool, list: &Vec<Candidate<A>>, this: DecisionRule| {
        if eliminated && list.len() == 1 && rule == DecisionRule::OnlyCandidate {
            rule = this;
        }
    };
    // RFC 7761 §4.7.1 step 1 (rfc4601 only): the longest matching group range.
    if algorithm == RpAlgorithm::Rfc4601 {
        let eliminated = keep_max(&mut list, |c| A::prefix_parts(&c.range).1);
        decided(eliminated, &list, DecisionRule::LongestMatch);
    }
    // Step 2: the lowest priority value.
    let eliminated = keep_max(&mut list, |c| std::cmp::Reverse(c.priority));
    decided(eliminated, &list, DecisionRule::LowestPriority);
    // The same RP listed for several covering ranges counts once (the longest range kept).
    list.sort_by(|a, b| a.rp.cmp(&b.rp).then(A::prefix_parts(&b.range).1.cmp(&A::prefix_parts(&a.range).1)));
    list.dedup_by(|later, earlier| later.rp == earlier.rp);
    // Step 3: the highest hash value (RFC 7761 §4.7.2).
    let hashed = list.len() > 1;
    let eliminated = keep_max(&mut list, |c| hash_value::<A>(group, hash_mask_len, c.rp));
    decided(eliminated, &list, DecisionRule::HighestHash);
    // Step 4: the highest address.
    let eliminated = keep_max(&mut list, |c| c.rp);
    decided(eliminated, &list, DecisionRule::HighestAddress);
    let winner = *list.first()?;
    let hash = hashed.then(|| hash_value::<A>(group, hash_mask_len, winner.rp));
    Some(Selection { winner, hash, rule })
}
