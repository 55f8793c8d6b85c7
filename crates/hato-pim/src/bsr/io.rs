//! What the BSR machinery takes in and hands back, and its configuration.

use std::fmt;

use hato_core::{Afi, Duration, IfIndex};
use hato_wire::pim::{Bootstrap, CandidateRpAdvertisement, PimMessage};
use serde::Serialize;

use super::election::{BsrId, BsrState};
use crate::rp::{default_hash_mask_len, RpSet};

/// Bootstrap-Period (RFC 5059 §5; seed 002 table 15-11): 60 s.
pub const BOOTSTRAP_PERIOD: Duration = Duration::from_secs(60);
/// C-RP-Adv-Period (RFC 5059 §5; seed 002 table 15-11): 60 s.
pub const C_RP_ADV_PERIOD: Duration = Duration::from_secs(60);

/// This router as a candidate BSR (RFC 5059 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct CandidateBsrConfig<A: Afi> {
    pub address: A::Addr,
    /// Higher is preferred.
    pub priority: u8,
    /// The hash mask length announced when elected (30 / 126 by default).
    pub hash_mask_len: u8,
}

impl<A: Afi> CandidateBsrConfig<A> {
    /// A candidate with the default hash mask length.
    pub fn new(address: A::Addr, priority: u8) -> Self {
        CandidateBsrConfig { address, priority, hash_mask_len: default_hash_mask_len::<A>() }
    }

    pub fn id(&self) -> BsrId<A> {
        BsrId { priority: self.priority, address: self.address }
    }
}

/// This router as a candidate RP (RFC 5059 §3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct CandidateRpConfig<A: Afi> {
    pub address: A::Addr,
    /// Lower is preferred; 192 is RFC 5059's default.
    pub priority: u8,
    /// Group ranges offered; empty = the whole multicast range (RFC 7761 §4.9.10).
    pub groups: Vec<A::Prefix>,
    /// C-RP-Adv-Period.
    pub adv_period: Duration,
    /// RP-Holdtime in seconds; `None` = 2.5 × C-RP-Adv-Period.
    pub holdtime: Option<u16>,
}

impl<A: Afi> CandidateRpConfig<A> {
    /// A candidate RP for `groups` with the default period and holdtime.
    pub fn new(address: A::Addr, priority: u8, groups: Vec<A::Prefix>) -> Self {
        CandidateRpConfig { address, priority, groups, adv_period: C_RP_ADV_PERIOD, holdtime: None }
    }

    /// RP-Holdtime: as set, or 2.5 × C-RP-Adv-Period (seed 002 table 15-11: 150 s).
    pub fn effective_holdtime(&self) -> u16 {
        self.holdtime.unwrap_or_else(|| {
            let secs = self.adv_period.as_secs().saturating_mul(5) / 2;
            u16::try_from(secs).unwrap_or(u16::MAX)
        })
    }
}

/// An administratively scoped zone this router takes part in (RFC 5059 §3.x), with its
/// candidacy as the zone's BSR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct ScopeZoneConfig<A: Afi> {
    /// The zone's group range.
    pub range: A::Prefix,
    pub candidate_bsr: Option<CandidateBsrConfig<A>>,
}

/// The configuration of the BSR machinery of one family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct BsrConfig<A: Afi> {
    /// Bootstrap-Period.
    pub bootstrap_period: Duration,
    /// Bootstrap-Timeout; `None` = 2 × Bootstrap-Period + 10 s.
    pub bootstrap_timeout: Option<Duration>,
    pub candidate_bsr: Option<CandidateBsrConfig<A>>,
    pub candidate_rp: Option<CandidateRpConfig<A>>,
    /// Admin scope zones configured here (more are learned from Bootstrap messages).
    pub scope_zones: Vec<ScopeZoneConfig<A>>,
    /// Largest Bootstrap message to send (the PIM message, without the IP header).
    pub max_message_len: usize,
    /// Seed of the generator of jitter and fragment tags.
    pub seed: u64,
}

impl<A: Afi> Default for BsrConfig<A> {
    fn default() -> Self {
        BsrConfig {
            bootstrap_period: BOOTSTRAP_PERIOD,
            bootstrap_timeout: None,
            candidate_bsr: None,
            candidate_rp: None,
            scope_zones: Vec::new(),
            // An Ethernet MTU less the IP header (20 or 40 octets).
            max_message_len: 1500 - if A::ADDR_LEN == 4 { 20 } else { 40 },
            seed: 0,
        }
    }
}

impl<A: Afi> BsrConfig<A> {
    /// Bootstrap-Timeout: as set, or 2 × Bootstrap-Period + 10 s (130 s).
    pub fn effective_bootstrap_timeout(&self) -> Duration {
        self.bootstrap_timeout.unwrap_or_else(|| self.bootstrap_period * 2 + Duration::from_secs(10))
    }
}

/// The RPF neighbour towards an address (the BSR): the interface and the neighbour on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct RpfNeighbor<A: Afi> {
    pub ifindex: IfIndex,
    pub neighbor: A::Addr,
}

/// One input to [`super::Bsr::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input<A: Afi> {
    /// A Bootstrap message received on `ifindex` from `source`, sent to `destination`
    /// (ALL-PIM-ROUTERS, or one of this router's addresses for a unicast BSM).
    Bootstrap {
        ifindex: IfIndex,
        source: A::Addr,
        destination: A::Addr,
        message: Bootstrap<A>,
    },
    /// A Candidate-RP-Advertisement unicast to this router.
    CandidateRpAdvertisement {
        source: A::Addr,
        message: CandidateRpAdvertisement<A>,
    },
    /// PIM runs on `ifindex`; `accept_bootstrap` false drops every Bootstrap message arriving
    /// there (the `accept-bootstrap` filter of seed 002 §(7)(a)). Sent again to change the flag.
    InterfaceUp {
        ifindex: IfIndex,
        accept_bootstrap: bool,
    },
    InterfaceDown {
        ifindex: IfIndex,
    },
    /// A new PIM neighbour; `we_are_dr`: this router is the DR on the interface and so sends it
    /// the stored Bootstrap messages (RFC 5059 §3.3).
    NeighborUp {
        ifindex: IfIndex,
        neighbor: A::Addr,
        we_are_dr: bool,
    },
    /// A neighbour's Generation ID changed (it restarted): as for a new neighbour.
    NeighborGenIdChanged {
        ifindex: IfIndex,
        neighbor: A::Addr,
        we_are_dr: bool,
    },
    NeighborDown {
        ifindex: IfIndex,
        neighbor: A::Addr,
    },
    /// The RPF neighbour towards `target` (asked for by [`Output::WatchRpf`], or changed since).
    RpfNeighbor {
        target: A::Addr,
        rpf: Option<RpfNeighbor<A>>,
    },
    /// The group ranges `ifindex` is an admin scope zone boundary for: Bootstrap messages of
    /// zones overlapping them neither enter nor leave there (RFC 5059 §3.x).
    SetBoundaries {
        ifindex: IfIndex,
        ranges: Vec<A::Prefix>,
    },
    /// The configured admin scope zones and this router's candidacies in them.
    SetScopeZones(Vec<ScopeZoneConfig<A>>),
    /// Start, change or stop being a candidate BSR (of the global zone).
    SetCandidateBsr(Option<CandidateBsrConfig<A>>),
    /// Start, change or stop being a candidate RP.
    SetCandidateRp(Option<CandidateRpConfig<A>>),
}

/// Where to send a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""), rename_all = "kebab-case", tag = "to")]
pub enum Destination<A: Afi> {
    /// To ALL-PIM-ROUTERS on the interface, TTL 1.
    AllPimRouters { ifindex: IfIndex },
    /// Unicast to `address`; through `ifindex` when set (a neighbour), else routed.
    Unicast { ifindex: Option<IfIndex>, address: A::Addr },
}

impl<A: Afi> fmt::Display for Destination<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::AllPimRouters { ifindex } => write!(f, "{} on {ifindex}", A::ALL_PIM_ROUTERS),
            Destination::Unicast { ifindex: Some(ifindex), address } => write!(f, "{address} on {ifindex}"),
            Destination::Unicast { ifindex: None, address } => write!(f, "{address}"),
        }
    }
}

/// One effect of an input or timeout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""), rename_all = "kebab-case", tag = "type")]
pub enum Output<A: Afi> {
    /// Send a Bootstrap or C-RP-Advertisement message.
    Send { to: Destination<A>, message: PimMessage<A> },
    /// The RP-Set changed: hand it to [`crate::rp::RpMapping::set_rp_set`].
    RpSetChanged { rp_set: RpSet<A> },
    /// Answer (now and on every change) with [`Input::RpfNeighbor`] for this address; Bootstrap
    /// messages from that BSR wait for the answer.
    WatchRpf { target: A::Addr },
    /// Something worth logging.
    Log { event: BsrEvent<A> },
}

/// Why a Bootstrap or C-RP-Advertisement message was dropped; each is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// The interface does not run PIM.
    UnknownInterface,
    /// The interface's `accept-bootstrap` filter (seed 002 §(7)(a)).
    AcceptBootstrapFilter,
    /// RFC 5059 §3.3: the sender is not a PIM neighbour on the interface.
    NotNeighbor,
    /// RFC 5059 §3.3: a multicast BSM with the No-Forward bit set.
    NoForwardMulticast,
    /// RFC 5059 §3.3: not from the RPF neighbour towards the BSR.
    NotRpfNeighbor,
    /// No route towards the BSR.
    NoRpf,
    /// Our own Bootstrap message came back.
    OwnMessage,
    /// RFC 5059 §3.1: not preferred in the current state.
    NotPreferred,
    /// A C-RP-Advertisement while this router is not the (pending) BSR (RFC 5059 §3.2).
    NotBsr,
    /// The message's admin scope zone ends at the receiving interface (RFC 5059 §3.x).
    ScopeZoneBoundary,
    /// A new admin scope zone beyond [`super::MAX_SCOPE_ZONES`].
    ScopeZoneLimit,
}

/// A log event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""), rename_all = "kebab-case", tag = "event")]
pub enum BsrEvent<A: Afi> {
    StateChanged {
        from: BsrState,
        to: BsrState,
    },
    /// The stored (elected) BSR changed.
    BsrChanged {
        old: Option<BsrId<A>>,
        new: Option<BsrId<A>>,
    },
    BootstrapDropped {
        ifindex: IfIndex,
        source: A::Addr,
        reason: DropReason,
    },
    CandidateRpAdvDropped {
        source: A::Addr,
        reason: DropReason,
    },
    /// The elected BSR learned, changed or lost a candidate RP.
    CandidateRpUpdated {
        rp: A::Addr,
        holdtime: u16,
    },
    CandidateRpExpired {
        rp: A::Addr,
    },
    /// An RP-Set entry timed out (RP-Holdtime).
    RpSetEntryExpired {
        range: A::Prefix,
        rp: A::Addr,
    },
    /// A Bootstrap message waits for the RPF neighbour towards its BSR.
    WaitingForRpf {
        bsr: A::Addr,
    },
}
