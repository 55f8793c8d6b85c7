//! What the router feeds a [`crate::PimRouter`] ([`Input`]) and what it gets back ([`Output`]):
//! PIM messages to send, mroute intents for the router's mroute table, decapsulated Register
//! payloads, RPF watch requests and log events.

use std::collections::BTreeSet;
use std::fmt;

use hato_core::{Afi, IfIndex, SgKey};
use hato_wire::pim::PimMessage;
use serde::Serialize;

use crate::config::{InterfaceConfig, SptPolicy};
use crate::fsm::assert::AssertState;
use crate::fsm::downstream::{DownstreamState, RptDownstreamState};
use crate::fsm::register::RegisterState;
use crate::fsm::upstream::{RptUpstreamState, UpstreamState};

/// An RPF answer for one target (a source or an RP), as the router derives it from hato-rib.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct RpfUpdate<A: Afi> {
    /// The looked-up address.
    pub target: A::Addr,
    /// RPF interface; `None`: unreachable.
    pub interface: Option<IfIndex>,
    /// RPF neighbour (next hop); the target itself when it is on the link.
    pub neighbor: Option<A::Addr>,
    /// Whether the target is on the RPF interface's link (`DirectlyConnected`, RFC 7761 §4.1.6).
    pub connected: bool,
    /// Route metric, for Assert (§4.6.1).
    pub metric: u32,
    /// Metric preference (administrative distance), for Assert (§4.6.1).
    pub preference: u32,
}

/// The bytes an (S,G) forwarding entry has forwarded since it was installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct ByteCount<A: Afi> {
    pub source: A::Addr,
    pub group: A::Addr,
    pub bytes: u64,
}

/// The sources a local membership asks for on one interface (IGMPv3 / MLDv2 filter mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""), rename_all = "kebab-case")]
pub enum SourceFilter<A: Afi> {
    /// INCLUDE(sources); an empty set means no member.
    Include(BTreeSet<A::Addr>),
    /// EXCLUDE(sources): every source but these; an empty set is a plain (*,G) member.
    Exclude(BTreeSet<A::Addr>),
}

/// A local membership on one interface, translated by the router from IGMP / MLD. It replaces
/// the previous one for the same interface and group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct LocalMembership<A: Afi> {
    pub ifindex: IfIndex,
    pub group: A::Addr,
    pub filter: SourceFilter<A>,
}

/// Everything that can happen to a PIM router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<A: Afi> {
    /// PIM is enabled on an interface that is up (again), or its configuration changed.
    InterfaceUp { ifindex: IfIndex, primary: A::Addr, secondary: Vec<A::Addr>, config: InterfaceConfig },
    /// The interface went down or PIM was disabled on it.
    InterfaceDown { ifindex: IfIndex },
    /// The interface's addresses changed.
    InterfaceAddresses { ifindex: IfIndex, primary: A::Addr, secondary: Vec<A::Addr> },
    /// A decoded PIM message received on `ifindex` from `source` to `destination`.
    Received { ifindex: IfIndex, source: A::Addr, destination: A::Addr, message: PimMessage<A> },
    /// Kernel upcall: a packet with no forwarding entry arrived on `iif`.
    NoCache { iif: IfIndex, source: A::Addr, group: A::Addr },
    /// Kernel upcall: a packet arrived on `iif`, which is not the entry's incoming interface
    /// (MRT_ASSERT on). Arriving on an outgoing interface, it starts an Assert (RFC 7761 §4.6).
    WrongVif { iif: IfIndex, source: A::Addr, group: A::Addr },
    /// Kernel upcall: a whole packet sent to the register VIF, to be Register-encapsulated.
    WholePacket { source: A::Addr, group: A::Addr, packet: Vec<u8> },
    /// The (S,G) forwarding entry forwarded packets (arriving on its incoming interface) since the
    /// last report: the router derives this from counter dumps.
    TrafficSeen { source: A::Addr, group: A::Addr },
    /// Cumulative byte counters of (S,G) forwarding entries, from one counter dump (RTNL_FAMILY_IPMR
    /// / IP6MR). Only entries under a rate-threshold SPT policy are looked at; the router may
    /// send every entry of the dump or just those.
    ByteCounts(Vec<ByteCount<A>>),
    /// SPT switch policies per group range (replacing the previous ones); other groups follow
    /// [`crate::PimConfig::spt_policy`].
    SptPolicies(Vec<(A::Prefix, SptPolicy)>),
    /// An RPF answer (after a watch request, or because routing changed).
    Rpf(RpfUpdate<A>),
    /// Local membership changed.
    Membership(LocalMembership<A>),
    /// Static RP for a group range; `None` removes the mapping.
    StaticRp { range: A::Prefix, rp: Option<A::Addr> },
    /// The SSM ranges (replacing the previous ones).
    SsmRanges(Vec<A::Prefix>),
    /// The daemon stops: say goodbye on every interface.
    Shutdown,
}

/// Why an interface is in an outgoing list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OifReason {
    /// A downstream router joined (joins(*,G) / joins(S,G)).
    Joined,
    /// A local member (pim_include).
    LocalMember,
    /// Inherited from the shared tree ((*,G) state, in inherited_olist).
    SharedTree,
}

impl fmt::Display for OifReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OifReason::Joined => "joined",
            OifReason::LocalMember => "local",
            OifReason::SharedTree => "rpt",
        })
    }
}

/// The forwarding PIM wants for one (S,G) or (*,G): the router merges it into the MFC (and never
/// installs the incoming interface as an outgoing one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct MrouteIntent<A: Afi> {
    pub key: SgKey<A>,
    /// Incoming interface; `None` when there is none (the RP's (*,G): traffic arrives in Registers).
    pub iif: Option<IfIndex>,
    pub oifs: crate::OifList,
    /// Also forward to the register VIF (the DR encapsulates to the RP).
    pub register: bool,
    /// (S,G): traffic is taken from the shortest-path tree (SPT bit set or source connected).
    pub spt: bool,
}

impl<A: Afi> fmt::Display for MrouteIntent<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} iif ", self.key)?;
        match self.iif {
            Some(i) => write!(f, "{i}")?,
            None => f.write_str("none")?,
        }
        f.write_str(" oif")?;
        if self.oifs.is_empty() && !self.register {
            f.write_str(" none")?;
        }
        for (i, reason) in &self.oifs {
            write!(f, " {i}({reason})")?;
        }
        if self.register {
            f.write_str(" register")?;
        }
        if self.spt {
            f.write_str(" [spt]")?;
        }
        Ok(())
    }
}

/// The state of one of PIM's per-entry machines, as a state-change event carries it (typed, so
/// that an event nobody prints costs no formatting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MachineState {
    /// Downstream (*,G) or (S,G) per interface (§4.5.1, §4.5.2).
    Downstream(DownstreamState),
    /// Downstream (S,G,rpt) per interface (§4.5.3).
    RptDownstream(RptDownstreamState),
    /// Upstream (*,G) or (S,G) (§4.5.4, §4.5.5).
    Upstream(UpstreamState),
    /// Upstream (S,G,rpt) (§4.5.7).
    RptUpstream(RptUpstreamState),
    /// Register (§4.4.1).
    Register(RegisterState),
    /// Assert per interface (§4.6.1, §4.6.2).
    Assert(AssertState),
}

impl MachineState {
    /// The machine's name in log lines.
    pub fn machine(&self) -> &'static str {
        match self {
            MachineState::Downstream(_) => "downstream",
            MachineState::RptDownstream(_) => "downstream rpt",
            MachineState::Upstream(_) => "upstream",
            MachineState::RptUpstream(_) => "upstream rpt",
            MachineState::Register(_) => "register",
            MachineState::Assert(_) => "assert",
        }
    }
}

impl fmt::Display for MachineState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MachineState::Downstream(s) => write!(f, "{s:?}"),
            MachineState::RptDownstream(s) => write!(f, "{s:?}"),
            MachineState::Upstream(s) => write!(f, "{s:?}"),
            MachineState::RptUpstream(s) => write!(f, "{s:?}"),
            MachineState::Register(s) => write!(f, "{s:?}"),
            MachineState::Assert(s) => write!(f, "{s:?}"),
        }
    }
}

/// A log event: state changes and dropped input, one variant per kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""), rename_all = "kebab-case")]
pub enum PimEvent<A: Afi> {
    NeighborUp {
        ifindex: IfIndex,
        address: A::Addr,
    },
    NeighborDown {
        ifindex: IfIndex,
        address: A::Addr,
        reason: NeighborDownReason,
    },
    NeighborRestarted {
        ifindex: IfIndex,
        address: A::Addr,
        generation_id: u32,
    },
    DrChanged {
        ifindex: IfIndex,
        dr: A::Addr,
    },
    /// A per-entry state machine changed state (`ifindex` for the per-interface machines).
    StateChanged {
        key: SgKey<A>,
        ifindex: Option<IfIndex>,
        from: MachineState,
        to: MachineState,
    },
    Dropped {
        reason: DropReason,
        ifindex: Option<IfIndex>,
        source: Option<A::Addr>,
    },
}

/// Why a neighbour went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NeighborDownReason {
    Expired,
    Goodbye,
    InterfaceDown,
}

/// Why input was ignored (each has a counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// A message on an interface where PIM is not up.
    InterfaceNotUp,
    /// A Join/Prune from a router that never sent a Hello (§4.5).
    UnknownNeighbor,
    /// A (*,G) Join for a group in an SSM range (§4.8).
    StarGJoinInSsmRange,
    /// A (*,G) Join for a group with no RP.
    NoRp,
    /// A (*,G) Join naming another RP than RP(G) (§4.5.1).
    RpMismatch,
    /// A group that is not a routable multicast group.
    BadGroup,
    /// A Register to a router that is not the RP for its group (§4.4.2).
    RegisterNotRp,
    /// A malformed Register (inner packet unreadable).
    BadRegister,
    /// A whole packet upcall for an (S,G) that is not registering.
    NotRegistering,
    /// Nothing to send a message toward (no RPF route to the RP).
    NoRoute,
    /// The interface's maximum message size cannot hold one Join/Prune entry.
    MessageSizeTooSmall,
    /// A state limit was hit (per interface, per neighbour or global).
    LimitInterface,
    LimitNeighbor,
    LimitGlobal,
    /// An Assert with the RPT bit clear and no source (§4.9.6).
    BadAssert,
    /// A message type this core does not handle (Bootstrap, PIM-DM, …).
    Unhandled,
}

/// What a [`crate::PimRouter`] asks of the outside world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output<A: Afi> {
    /// Send a PIM message on `ifindex` to `dst` (ALL-PIM-ROUTERS, or unicast for Register and
    /// Register-Stop).
    Send {
        ifindex: IfIndex,
        dst: A::Addr,
        message: PimMessage<A>,
    },
    /// Install or replace the intent for `intent.key`.
    MrouteSet(MrouteIntent<A>),
    /// Forget the intent for this key.
    MrouteRemove(SgKey<A>),
    /// The RP decapsulated a Register: forward `packet` (from its IP header on) on `oifs`.
    ForwardDecapsulated {
        key: SgKey<A>,
        packet: Vec<u8>,
        oifs: Vec<IfIndex>,
    },
    /// Start feeding [`Input::Rpf`] updates for this address.
    WatchRpf(A::Addr),
    /// Stop feeding RPF updates for this address.
    UnwatchRpf(A::Addr),
    Event(PimEvent<A>),
}
