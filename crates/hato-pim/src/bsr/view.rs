//! Views for `hatoctl show pim bsr` and `show pim rp-set`: serialisable, with a text rendering
//! shaped after pim6stat's RP-Set section (BSR address, RP, group prefix, priority, holdtime).

use std::fmt;

use hato_core::Afi;
use serde::Serialize;

use super::election::{BsrId, BsrState};

/// Message counters of the BSR machinery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BsrCounters {
    pub bootstrap_received: u64,
    pub bootstrap_accepted: u64,
    pub bootstrap_dropped: u64,
    pub bootstrap_forwarded: u64,
    pub bootstrap_sent: u64,
    pub crp_adv_received: u64,
    pub crp_adv_dropped: u64,
    pub crp_adv_sent: u64,
    /// Bootstrap messages dropped by an interface's `accept-bootstrap` filter.
    pub bootstrap_filtered: u64,
    /// Bootstrap messages dropped at an admin scope zone boundary.
    pub bootstrap_boundary_dropped: u64,
}

impl BsrCounters {
    /// Adds `other` to these counters.
    pub fn add(&mut self, other: &BsrCounters) {
        self.bootstrap_received += other.bootstrap_received;
        self.bootstrap_accepted += other.bootstrap_accepted;
        self.bootstrap_dropped += other.bootstrap_dropped;
        self.bootstrap_forwarded += other.bootstrap_forwarded;
        self.bootstrap_sent += other.bootstrap_sent;
        self.crp_adv_received += other.crp_adv_received;
        self.crp_adv_dropped += other.crp_adv_dropped;
        self.crp_adv_sent += other.crp_adv_sent;
        self.bootstrap_filtered += other.bootstrap_filtered;
        self.bootstrap_boundary_dropped += other.bootstrap_boundary_dropped;
    }
}

/// A candidate RP as the elected BSR holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct CandidateRpView<A: Afi> {
    pub rp: A::Addr,
    pub priority: u8,
    pub holdtime: u16,
    /// Seconds until it expires.
    pub expires_in: u64,
    pub groups: Vec<A::Prefix>,
}

/// `show pim bsr`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct BsrView<A: Afi> {
    /// The admin scope zone's range; `None` for the global zone.
    pub zone: Option<A::Prefix>,
    pub state: BsrState,
    /// This router's candidacy.
    pub candidate: Option<BsrId<A>>,
    /// The stored BSR (this router when elected).
    pub elected: Option<BsrId<A>>,
    pub hash_mask_len: u8,
    /// Seconds left on the Bootstrap Timer.
    pub bootstrap_timer: Option<u64>,
    /// The fragment tag of the current Bootstrap message.
    pub fragment_tag: Option<u16>,
    /// Candidate RPs (at the elected BSR).
    pub candidate_rps: Vec<CandidateRpView<A>>,
    pub counters: BsrCounters,
    /// The admin scope zones (in the global zone's view).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scope_zones: Vec<BsrView<A>>,
}

impl<A: Afi> fmt::Display for BsrView<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(zone) = self.zone {
            write!(f, "Scope zone {zone}: ")?;
        }
        write!(f, "State: {}", self.state)?;
        if let Some(c) = self.candidate {
            write!(f, "  Candidate: {c}")?;
        }
        writeln!(f)?;
        match self.elected {
            Some(e) => write!(f, "BSR: {e}  Hash mask: {}", self.hash_mask_len)?,
            None => f.write_str("BSR: none")?,
        }
        if let Some(t) = self.bootstrap_timer {
            write!(f, "  Bootstrap timer: {t}s")?;
        }
        if let Some(tag) = self.fragment_tag {
            write!(f, "  Fragment tag: 0x{tag:04x}")?;
        }
        writeln!(f)?;
        for c in &self.candidate_rps {
            write!(
                f,
                "C-RP {} priority {} holdtime {} expires {}s:",
                c.rp, c.priority, c.holdtime, c.expires_in
            )?;
            for g in &c.groups {
                write!(f, " {g}")?;
            }
            writeln!(f)?;
        }
        let c = &self.counters;
        writeln!(
            f,
            "Bootstrap rx {} accepted {} dropped {} (filtered {}, boundary {}) forwarded {} tx {}; \
             C-RP-Adv rx {} dropped {} tx {}",
            c.bootstrap_received,
            c.bootstrap_accepted,
            c.bootstrap_dropped,
            c.bootstrap_filtered,
            c.bootstrap_boundary_dropped,
            c.bootstrap_forwarded,
            c.bootstrap_sent,
            c.crp_adv_received,
            c.crp_adv_dropped,
            c.crp_adv_sent
        )?;
        for zone in &self.scope_zones {
            write!(f, "{zone}")?;
        }
        Ok(())
    }
}

/// One RP-Set entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct RpSetRow<A: Afi> {
    pub rp: A::Addr,
    pub group_prefix: A::Prefix,
    pub priority: u8,
    pub holdtime: u16,
    /// Seconds until the entry expires.
    pub expires_in: u64,
}

/// `show pim rp-set`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct RpSetView<A: Afi> {
    pub bsr: Option<BsrId<A>>,
    /// Seconds left on the Bootstrap Timer.
    pub bsr_timeout: Option<u64>,
    pub entries: Vec<RpSetRow<A>>,
}

impl<A: Afi> fmt::Display for RpSetView<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bsr {
            Some(b) => write!(f, "Current BSR address: {} Prio: {}", b.address, b.priority)?,
            None => f.write_str("Current BSR address: none")?,
        }
        if let Some(t) = self.bsr_timeout {
            write!(f, " Timeout: {t}")?;
        }
        writeln!(f)?;
        writeln!(f, "{:<40} {:>4} {:>5} {:>5}", "RP-address/Group prefix", "Prio", "Hold", "Age")?;
        let mut last_rp = None;
        for row in &self.entries {
            if last_rp != Some(row.rp) {
                writeln!(f, "{}", row.rp)?;
                last_rp = Some(row.rp);
            }
            writeln!(
                f,
                "     {:<35} {:>4} {:>5} {:>5}",
                row.group_prefix.to_string(),
                row.priority,
                row.holdtime,
                row.expires_in
            )?;
        }
        Ok(())
    }
}
