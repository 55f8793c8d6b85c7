//! What the state machines hand back: packets to send, membership deltas for the routing
//! protocols, and log events.

use std::collections::BTreeSet;
use std::fmt;

use hato_core::{Afi, IfIndex};
use serde::Serialize;

use crate::family::{GmpFamily, GmpMessage, Version};

/// One effect of an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound = "", rename_all = "kebab-case", tag = "type")]
pub enum Output<A: Afi> {
    /// Send `message` on `ifindex` to `dst` (TTL / hop limit 1, Router Alert); the caller encodes
    /// it with [`GmpFamily::encode`] and sends from the interface address.
    Send { ifindex: IfIndex, dst: A::Addr, message: GmpMessage<A> },
    /// The listeners' wish for `group` on `ifindex` changed; `filter` is the new wish in full.
    MembershipChanged { ifindex: IfIndex, group: A::Addr, filter: Filter<A> },
    /// Something worth logging happened.
    Log(LogEvent<A>),
}

/// Which sources of a group the listeners on one interface want, as RFC 3376 §6.3 derives it
/// from the router's state: in INCLUDE mode the sources to forward, in EXCLUDE mode the sources
/// not to forward (the Y set; every other source is forwarded).
///
/// PIM reads it directly (RFC 7761 §4.1.6): `local_receiver_include(*,G,I)` is `Exclude(_)`,
/// `local_receiver_include(S,G,I)` is `S` in `Include(_)`, and `local_receiver_exclude(S,G,I)`
/// is `S` in `Exclude(_)`. No listener at all is `Include({})`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound = "", rename_all = "kebab-case")]
pub enum Filter<A: Afi> {
    Include(BTreeSet<A::Addr>),
    Exclude(BTreeSet<A::Addr>),
}

impl<A: Afi> Filter<A> {
    /// No listener.
    pub fn none() -> Self {
        Filter::Include(BTreeSet::new())
    }

    /// Whether traffic from `source` is wanted.
    pub fn forwards(&self, source: A::Addr) -> bool {
        match self {
            Filter::Include(sources) => sources.contains(&source),
            Filter::Exclude(sources) => !sources.contains(&source),
        }
    }

    /// Whether no source at all is wanted.
    pub fn is_empty(&self) -> bool {
        matches!(self, Filter::Include(sources) if sources.is_empty())
    }
}

impl<A: Afi> fmt::Display for Filter<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mode, sources) = match self {
            Filter::Include(sources) => ("include", sources),
            Filter::Exclude(sources) => ("exclude", sources),
        };
        write!(f, "{mode} {{")?;
        for (i, source) in sources.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{source}")?;
        }
        f.write_str("}")
    }
}

/// Why a packet or record was not acted on; each is counted per interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// The interface does not run the protocol.
    InterfaceDisabled,
    /// TTL / hop limit not 1 (RFC 3376 §4, RFC 3810 §5).
    BadTtl,
    /// No Router Alert where one is required (RFC 3376 §9.1, RFC 3810 §5).
    MissingRouterAlert,
    /// MLD from a source that is not link-local (RFC 3810 §5).
    SourceNotLinkLocal,
    /// A version this interface does not serve (see `InterfaceConfig::possible_versions`).
    VersionNotPossible,
    /// A query that this router sent itself.
    OwnQuery,
    /// A query from the unspecified address (IGMP proxies send them): not used for election.
    QuerierUnspecified,
    /// A report or record for an address that is not a multicast group.
    NotMulticast,
    /// A record for a link-local scope group, which is never routed.
    LinkLocalGroup,
    /// A record of an unknown type (RFC 3376 §4.2.12: ignored).
    UnknownRecordType,
    /// A leave while the group is in IGMPv1 compatibility or the router is an IGMPv1 router
    /// (RFC 3376 §7.3.1, §7.3.2).
    LeaveInV1Mode,
    /// The group limit was reached.
    GroupLimit,
    /// The source limit was reached (one count per source left out).
    SourceLimit,
    /// A non-source-specific report or an EXCLUDE-mode record for a group in an SSM range
    /// (RFC 4604 §2.2.1).
    SsmNotSourceSpecific,
}

/// Querier election state (RFC 3376 §6.6.2, RFC 3810 §7.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum QuerierState {
    Querier,
    NonQuerier,
}

/// The router's filter mode for a group (RFC 3376 §6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FilterMode {
    Include,
    Exclude,
}

impl fmt::Display for FilterMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FilterMode::Include => "IN",
            FilterMode::Exclude => "EX",
        })
    }
}

/// Events worth a log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound = "", rename_all = "kebab-case", tag = "event")]
pub enum LogEvent<A: Afi> {
    /// The interface's querier state changed; `querier` is the elected querier's address.
    QuerierChanged { ifindex: IfIndex, state: QuerierState, querier: A::Addr },
    /// A group record was created.
    GroupCreated { ifindex: IfIndex, group: A::Addr },
    /// A group record was deleted.
    GroupDeleted { ifindex: IfIndex, group: A::Addr },
    /// A group switched filter mode.
    FilterModeChanged { ifindex: IfIndex, group: A::Addr, mode: FilterMode },
    /// A group's compatibility mode changed (RFC 3376 §7.3.2).
    CompatibilityChanged { ifindex: IfIndex, group: A::Addr, version: Version },
    /// A query of another version than the configured one was heard (RFC 3376 §7.3.1 asks for a
    /// rate-limited warning: at most one per Query Interval per interface).
    QueryVersionMismatch { ifindex: IfIndex, src: A::Addr, version: Version },
    /// A packet or record was dropped.
    Dropped { ifindex: IfIndex, src: A::Addr, reason: DropReason },
}

impl<A: GmpFamily> fmt::Display for LogEvent<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogEvent::QuerierChanged { ifindex, state, querier } => {
                write!(f, "{} {ifindex}: {state:?}, querier {querier}", A::PROTOCOL)
            }
            LogEvent::GroupCreated { ifindex, group } => {
                write!(f, "{} {ifindex}: group {group} created", A::PROTOCOL)
            }
            LogEvent::GroupDeleted { ifindex, group } => {
                write!(f, "{} {ifindex}: group {group} deleted", A::PROTOCOL)
            }
            LogEvent::FilterModeChanged { ifindex, group, mode } => {
                write!(f, "{} {ifindex}: group {group} now {mode}", A::PROTOCOL)
            }
            LogEvent::CompatibilityChanged { ifindex, group, version } => {
                write!(f, "{} {ifindex}: group {group} in {} mode", A::PROTOCOL, A::version_name(*version))
            }
            LogEvent::QueryVersionMismatch { ifindex, src, version } => write!(
                f,
                "{} {ifindex}: {} query from {src}: configure the lowest version on every router",
                A::PROTOCOL,
                A::version_name(*version)
            ),
            LogEvent::Dropped { ifindex, src, reason } => {
                write!(f, "{} {ifindex}: dropped from {src}: {reason:?}", A::PROTOCOL)
            }
        }
    }
}
