//! The views of the protocol instances: IGMP / MLD groups, PIM neighbours, interfaces,
//! Join/Prune and upstream state, RP mapping and BSR, with their text renderings. Addresses are
//! family-neutral (`IpAddr`): one view holds both families.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::format_duration;

fn opt<T: fmt::Display>(value: &Option<T>) -> String {
    value.as_ref().map_or_else(|| "-".to_string(), ToString::to_string)
}

fn opt_secs(value: Option<u64>) -> String {
    value.map_or_else(|| "-".to_string(), format_duration)
}

/// `show igmp groups` / `show mld groups`: every interface running the protocol and its groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupsView {
    /// "IGMP" or "MLD".
    pub protocol: String,
    pub interfaces: Vec<GmpInterfaceView>,
}

/// One interface running IGMP or MLD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GmpInterfaceView {
    pub interface: String,
    pub address: IpAddr,
    /// The version queried with ("IGMPv3", "MLDv2").
    pub version: String,
    pub querier: IpAddr,
    /// Whether this router is the querier.
    pub is_querier: bool,
    /// Milliseconds left on the Other Querier Present timer while another router queries
    /// (RFC 3376 §6.6.2, RFC 3810 §7.6.2).
    #[serde(default)]
    pub other_querier_expires_ms: Option<u64>,
    pub groups: Vec<GmpGroupView>,
}

/// One group on one interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GmpGroupView {
    pub group: IpAddr,
    /// "include" or "exclude" (RFC 3376 §6.2.1).
    pub mode: String,
    /// The compatibility mode ("IGMPv2", "MLDv2", ...).
    pub compatibility: String,
    /// Milliseconds left on the group timer.
    pub expires_ms: Option<u64>,
    pub sources: Vec<GmpSourceView>,
}

/// One source record of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GmpSourceView {
    pub source: IpAddr,
    /// Whether its traffic is wanted (RFC 3376 §6.3).
    pub forwarded: bool,
    pub expires_ms: Option<u64>,
}

impl fmt::Display for GroupsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16} {:<40} {:<8} {:<8} {:>9}  Sources",
            "Interface", "Group", "Mode", "Version", "Expires"
        )?;
        for interface in &self.interfaces {
            for group in &interface.groups {
                let sources: Vec<String> = group
                    .sources
                    .iter()
                    .map(|s| if s.forwarded { s.source.to_string() } else { format!("!{}", s.source) })
                    .collect();
                writeln!(
                    f,
                    "{:<16} {:<40} {:<8} {:<8} {:>9}  {}",
                    interface.interface,
                    group.group,
                    group.mode,
                    group.compatibility,
                    opt_secs(group.expires_ms.map(|ms| ms.div_ceil(1000))),
                    sources.join(" ")
                )?;
            }
        }
        for interface in &self.interfaces {
            let role = if interface.is_querier { "querier" } else { "non-querier" };
            write!(
                f,
                "{} {} on {}: {} {}, querier {}",
                self.protocol,
                interface.version,
                interface.interface,
                interface.address,
                role,
                interface.querier
            )?;
            match interface.other_querier_expires_ms {
                Some(ms) => writeln!(f, " (present for {}.{} s)", ms / 1000, ms % 1000 / 100)?,
                None => writeln!(f)?,
            }
        }
        Ok(())
    }
}

/// `show pim neighbors`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimNeighborsView {
    pub neighbors: Vec<PimNeighborView>,
}

/// One PIM neighbour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimNeighborView {
    pub interface: String,
    pub address: IpAddr,
    pub secondary: Vec<IpAddr>,
    pub uptime_secs: u64,
    pub expires_secs: Option<u64>,
    pub dr_priority: Option<u32>,
    pub generation_id: Option<u32>,
}

impl fmt::Display for PimNeighborsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16} {:<40} {:>9} {:>9} {:>8}  GenID",
            "Interface", "Neighbor", "Uptime", "Expires", "DR prio"
        )?;
        for n in &self.neighbors {
            writeln!(
                f,
                "{:<16} {:<40} {:>9} {:>9} {:>8}  {}",
                n.interface,
                n.address,
                format_duration(n.uptime_secs),
                opt_secs(n.expires_secs),
                opt(&n.dr_priority),
                n.generation_id.map_or_else(|| "-".to_string(), |g| format!("0x{g:08x}"))
            )?;
        }
        Ok(())
    }
}

/// `show pim interfaces`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimInterfacesView {
    pub interfaces: Vec<PimInterfaceView>,
}

/// One interface running PIM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimInterfaceView {
    pub interface: String,
    pub address: IpAddr,
    pub dr: IpAddr,
    pub is_dr: bool,
    pub dr_priority: u32,
    pub neighbors: usize,
    pub generation_id: u32,
    pub hello_in_secs: Option<u64>,
    pub join_prune_states: usize,
}

impl fmt::Display for PimInterfacesView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16} {:<40} {:<40} {:>4} {:>6}  GenID",
            "Interface", "Address", "DR", "Nbrs", "States"
        )?;
        for i in &self.interfaces {
            let dr = if i.is_dr { format!("{} (me)", i.dr) } else { i.dr.to_string() };
            writeln!(
                f,
                "{:<16} {:<40} {:<40} {:>4} {:>6}  0x{:08x}",
                i.interface, i.address, dr, i.neighbors, i.join_prune_states, i.generation_id
            )?;
        }
        Ok(())
    }
}

/// `show pim join`: downstream Join/Prune states.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimJoinView {
    pub states: Vec<PimJoinStateView>,
}

/// One downstream state (RFC 7761 §4.5.1-§4.5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimJoinStateView {
    pub interface: String,
    /// `None` for (*,G).
    pub source: Option<IpAddr>,
    pub group: IpAddr,
    /// "(*,G)", "(S,G)" or "(S,G,rpt)".
    pub kind: String,
    /// The state's name in the RFC table ("Join", "PrunePending", ...).
    pub state: String,
    pub expires_secs: Option<u64>,
}

impl fmt::Display for PimJoinView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16} {:<10} {:<40} {:<40} {:<13} {:>9}",
            "Interface", "Kind", "Source", "Group", "State", "Expires"
        )?;
        for s in &self.states {
            let source = s.source.map_or_else(|| "*".to_string(), |a| a.to_string());
            writeln!(
                f,
                "{:<16} {:<10} {:<40} {:<40} {:<13} {:>9}",
                s.interface,
                s.kind,
                source,
                s.group,
                s.state,
                opt_secs(s.expires_secs)
            )?;
        }
        Ok(())
    }
}

/// `show pim upstream`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimUpstreamView {
    pub entries: Vec<PimUpstreamEntryView>,
}

/// Upstream state of one (*,G) or (S,G) (RFC 7761 §4.5.4-§4.5.7, §4.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimUpstreamEntryView {
    /// `None` for (*,G).
    pub source: Option<IpAddr>,
    pub group: IpAddr,
    /// "Joined" or "NotJoined".
    pub state: String,
    pub rpt_state: Option<String>,
    pub rpf_interface: Option<String>,
    pub rpf_neighbor: Option<IpAddr>,
    /// The SPT bit.
    pub spt: bool,
    /// The register state at a DR ("Join", "Prune", ...).
    pub register: Option<String>,
    pub join_timer_secs: Option<u64>,
    pub keepalive_secs: Option<u64>,
}

impl fmt::Display for PimUpstreamView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<40} {:<40} {:<10} {:<16} {:<40} {:<4} {:<9} {:>9}",
            "Source", "Group", "State", "RPF interface", "RPF neighbor", "SPT", "Register", "Keepalive"
        )?;
        for e in &self.entries {
            let source = e.source.map_or_else(|| "*".to_string(), |a| a.to_string());
            writeln!(
                f,
                "{:<40} {:<40} {:<10} {:<16} {:<40} {:<4} {:<9} {:>9}",
                source,
                e.group,
                e.state,
                opt(&e.rpf_interface),
                opt(&e.rpf_neighbor),
                if e.spt { "yes" } else { "no" },
                opt(&e.register),
                opt_secs(e.keepalive_secs)
            )?;
        }
        Ok(())
    }
}

/// `show pim assert`: Assert state per interface (RFC 7761 §4.6), only where it is not NoInfo.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimAssertView {
    pub states: Vec<PimAssertStateView>,
}

/// The Assert state of one (S,G) or (*,G) on one interface (RFC 7761 §4.6.1, §4.6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimAssertStateView {
    pub interface: String,
    /// `None` for (*,G).
    pub source: Option<IpAddr>,
    pub group: IpAddr,
    /// "winner" (this router forwards onto the interface) or "loser".
    pub state: String,
    /// The Assert winner: this router's address on the interface, or the winning neighbour.
    pub winner: IpAddr,
    /// The winner's metric: RPT bit, metric preference, route metric.
    pub winner_rpt: bool,
    pub winner_preference: u32,
    pub winner_metric: u32,
    pub expires_secs: Option<u64>,
}

impl fmt::Display for PimAssertView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16} {:<40} {:<40} {:<7} {:<40} {:<16} {:>9}",
            "Interface", "Source", "Group", "State", "Winner", "RPT/Pref/Metric", "Expires"
        )?;
        for s in &self.states {
            let source = s.source.map_or_else(|| "*".to_string(), |a| a.to_string());
            let metric = format!("{}/{}/{}", u8::from(s.winner_rpt), s.winner_preference, s.winner_metric);
            writeln!(
                f,
                "{:<16} {:<40} {:<40} {:<7} {:<40} {:<16} {:>9}",
                s.interface,
                source,
                s.group,
                s.state,
                s.winner,
                metric,
                opt_secs(s.expires_secs)
            )?;
        }
        Ok(())
    }
}

/// `show pim rp GROUP`: the RP of a group and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimRpView {
    pub group: IpAddr,
    pub rp: Option<IpAddr>,
    /// "static", "bsr" or "embedded".
    pub source: Option<String>,
    /// The group range of the winning entry.
    pub range: Option<String>,
    /// Whether the group is in an SSM range (no RP is used then).
    pub ssm: bool,
    /// The decision in one line, or why there is no RP.
    pub explanation: String,
}

impl fmt::Display for PimRpView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.explanation)?;
        if self.ssm {
            writeln!(f, "{} is in an SSM range: PIM uses no RP for it", self.group)?;
        }
        Ok(())
    }
}

/// `show pim rp-set`: static RPs and the BSR-learned RP-Set of both families.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimRpSetView {
    pub entries: Vec<PimRpSetEntryView>,
}

/// One RP for one group range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimRpSetEntryView {
    pub range: String,
    pub rp: IpAddr,
    /// Lower is preferred.
    pub priority: u8,
    /// "static" or "bsr".
    pub origin: String,
    /// Seconds until a BSR-learned entry expires.
    pub expires_secs: Option<u64>,
}

impl fmt::Display for PimRpSetView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<44} {:<40} {:>4} {:<7} {:>9}", "Group range", "RP", "Prio", "Origin", "Expires")?;
        for e in &self.entries {
            writeln!(
                f,
                "{:<44} {:<40} {:>4} {:<7} {:>9}",
                e.range,
                e.rp,
                e.priority,
                e.origin,
                opt_secs(e.expires_secs)
            )?;
        }
        Ok(())
    }
}

/// `show pim bsr`: the bootstrap router state of each family.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimBsrView {
    pub families: Vec<PimBsrFamilyView>,
}

/// The BSR state of one family (RFC 5059 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PimBsrFamilyView {
    /// "ipv4" or "ipv6".
    pub family: String,
    pub state: String,
    /// The elected BSR.
    pub elected: Option<IpAddr>,
    pub elected_priority: Option<u8>,
    /// This router's candidacy.
    pub candidate: Option<IpAddr>,
    /// Bootstrap messages accepted, and dropped by an `accept-bootstrap` filter or at an admin
    /// scope zone boundary.
    #[serde(default)]
    pub bootstrap_accepted: u64,
    #[serde(default)]
    pub bootstrap_filtered: u64,
    #[serde(default)]
    pub bootstrap_boundary_dropped: u64,
    /// The protocol's own rendering (timers, candidate RPs, counters, scope zones).
    pub details: String,
}

impl fmt::Display for PimBsrView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for family in &self.families {
            writeln!(f, "{}:", family.family)?;
            for line in family.details.lines() {
                writeln!(f, "  {line}")?;
            }
        }
        Ok(())
    }
}
