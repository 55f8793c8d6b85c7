//! What goes into the router and what comes out of it: family-neutral link, address and route
//! events (the shell translates netlink), upcalls, counter dumps and protocol packets in; packets,
//! group memberships and log events out.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use hato_core::{AddressFamily, IfIndex, MfcCounters, SgKey, Upcall, VifId, V4, V6};
use serde::Serialize;

/// A network interface as the system reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkInfo {
    pub ifindex: IfIndex,
    pub name: String,
    /// Operationally up.
    pub up: bool,
    pub multicast: bool,
    pub loopback: bool,
    pub mtu: u32,
}

/// One path of a unicast route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RouteNexthop {
    pub ifindex: IfIndex,
    pub gateway: Option<IpAddr>,
}

/// A unicast route of the main table added, replaced or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteChange {
    pub added: bool,
    pub destination: IpAddr,
    pub prefix_len: u8,
    pub nexthops: Vec<RouteNexthop>,
    pub metric: u32,
    /// `RTPROT_*` of the route.
    pub protocol: u8,
}

/// The sockets protocol traffic uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SocketKind {
    /// IGMP (IPv4).
    Igmp,
    /// MLD (ICMPv6).
    Mld,
    /// PIM over IPv4.
    Pim4,
    /// PIM over IPv6.
    Pim6,
}

impl SocketKind {
    /// The counter label prefix of the protocol.
    pub fn label(self) -> &'static str {
        match self {
            SocketKind::Igmp => "igmp",
            SocketKind::Mld => "mld",
            SocketKind::Pim4 => "pim",
            SocketKind::Pim6 => "pim6",
        }
    }
}

/// A protocol packet received on one of the protocol sockets (or, for IGMP, the routing socket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtocolPacket {
    pub socket: SocketKind,
    /// The arrival interface; `None` where the socket does not say (IGMP on the routing socket).
    pub ifindex: Option<IfIndex>,
    pub source: IpAddr,
    pub destination: IpAddr,
    /// The IPv4 TTL / IPv6 hop limit, when the socket reports it.
    pub hop_limit: Option<u8>,
    /// Whether the packet carried a Router Alert option; `None` when the socket cannot tell.
    pub router_alert: Option<bool>,
    /// The protocol message (the IP payload).
    pub payload: Vec<u8>,
}

/// Something that happened to the router's world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A link appeared or changed.
    Link(LinkInfo),
    /// A link went away.
    LinkRemoved(IfIndex),
    /// An address was added to (`added`) or removed from an interface.
    Address {
        ifindex: IfIndex,
        addr: IpAddr,
        prefix_len: u8,
        added: bool,
    },
    Route(RouteChange),
    /// Link, address and route notifications were lost: a complete report follows, ended by
    /// [`Input::Synced`]; what it does not mention is gone.
    Resync,
    Synced,
    Upcall4(Upcall<V4>),
    Upcall6(Upcall<V6>),
    /// Counters of every installed IPv4 entry.
    Counters4(BTreeMap<SgKey<V4>, MfcCounters>),
    /// Counters of every installed IPv6 entry.
    Counters6(BTreeMap<SgKey<V6>, MfcCounters>),
    Packet(ProtocolPacket),
}

/// How much an [`Event`] matters to an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warn,
    Info,
    Debug,
}

/// A log event; the shell renders it with its severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    InterfaceAdded {
        name: String,
        ifindex: IfIndex,
    },
    InterfaceRemoved {
        name: String,
        ifindex: IfIndex,
    },
    VifAdded {
        family: AddressFamily,
        vif: VifId,
        name: String,
    },
    VifRemoved {
        family: AddressFamily,
        vif: VifId,
        name: String,
    },
    /// Every VIF number of the table is in use.
    VifsExhausted {
        family: AddressFamily,
        name: String,
    },
    /// The forwarding plane refused an operation.
    PlaneFailed {
        family: AddressFamily,
        operation: String,
        error: String,
    },
    MfcInstalled {
        entry: String,
    },
    MfcRemoved {
        key: String,
    },
    /// A static flow names an interface that does not exist or has no VIF.
    FlowWaiting {
        flow: String,
        interface: String,
    },
    /// A source learned for an any-source static flow sent nothing for the idle timeout; its (S,G)
    /// entry is withdrawn until the source sends again.
    FlowSourceIdle {
        flow: String,
    },
    /// A static mroute names an interface that does not exist.
    MrouteWaiting {
        mroute: String,
        interface: String,
    },
    RpfChanged {
        address: IpAddr,
        answer: String,
    },
    /// A data packet without forwarding state (nobody wants it yet).
    Unwanted {
        upcall: String,
    },
    ConfigApplied {
        changes: Vec<String>,
    },
    /// A configuration change that takes effect only at restart.
    NeedsRestart {
        setting: String,
    },
    Resynced,
    /// An event of a protocol instance (IGMP, MLD, PIM, BSR), rendered by the protocol.
    Protocol {
        protocol: String,
        severity: Severity,
        message: String,
    },
}

impl Event {
    pub fn severity(&self) -> Severity {
        match self {
            Event::Protocol { severity, .. } => *severity,
            Event::PlaneFailed { .. } | Event::VifsExhausted { .. } => Severity::Error,
            Event::FlowWaiting { .. } | Event::MrouteWaiting { .. } | Event::NeedsRestart { .. } => {
                Severity::Warn
            }
            Event::InterfaceAdded { .. }
            | Event::InterfaceRemoved { .. }
            | Event::VifAdded { .. }
            | Event::VifRemoved { .. }
            | Event::RpfChanged { .. }
            | Event::FlowSourceIdle { .. }
            | Event::ConfigApplied { .. }
            | Event::Resynced => Severity::Info,
            Event::MfcInstalled { .. } | Event::MfcRemoved { .. } | Event::Unwanted { .. } => Severity::Debug,
        }
    }
}

fn family_name(family: AddressFamily) -> &'static str {
    match family {
        AddressFamily::Ipv4 => "ipv4",
        AddressFamily::Ipv6 => "ipv6",
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::InterfaceAdded { name, ifindex } => write!(f, "interface {name} ({ifindex}) added"),
            Event::InterfaceRemoved { name, ifindex } => write!(f, "interface {name} ({ifindex}) removed"),
            Event::VifAdded { family, vif, name } => {
                write!(f, "{} {vif} added on {name}", family_name(*family))
            }
            Event::VifRemoved { family, vif, name } => {
                write!(f, "{} {vif} removed from {name}", family_name(*family))
            }
            Event::VifsExhausted { family, name } => {
                write!(f, "{}: no VIF number left for {name}", family_name(*family))
            }
            Event::PlaneFailed { family, operation, error } => {
                write!(f, "{} forwarding plane: {operation} failed: {error}", family_name(*family))
            }
            Event::MfcInstalled { entry } => write!(f, "installed {entry}"),
            Event::MfcRemoved { key } => write!(f, "removed {key}"),
            Event::FlowWaiting { flow, interface } => {
                write!(f, "static flow {flow} waits for interface {interface}")
            }
            Event::FlowSourceIdle { flow } => write!(f, "static flow {flow}: source idle, entry withdrawn"),
            Event::MrouteWaiting { mroute, interface } => {
                write!(f, "static mroute {mroute} waits for interface {interface}")
            }
            Event::RpfChanged { address, answer } => write!(f, "RPF for {address} changed: {answer}"),
            Event::Unwanted { upcall } => write!(f, "no forwarding state for {upcall}"),
            Event::ConfigApplied { changes } => write!(f, "configuration applied: {}", changes.join("; ")),
            Event::NeedsRestart { setting } => write!(f, "{setting} changes only at restart"),
            Event::Resynced => f.write_str("interfaces, addresses and routes resynchronised"),
            Event::Protocol { protocol, message, .. } => write!(f, "{protocol}: {message}"),
        }
    }
}

/// An effect the shell carries out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "output", rename_all = "kebab-case")]
pub enum Output {
    /// Send a protocol message out of `ifindex`.
    Send {
        socket: SocketKind,
        ifindex: IfIndex,
        source: Option<IpAddr>,
        destination: IpAddr,
        payload: Vec<u8>,
    },
    /// Join `group` on `ifindex` with the socket, so that its packets are received.
    Join {
        socket: SocketKind,
        group: IpAddr,
        ifindex: IfIndex,
    },
    Leave {
        socket: SocketKind,
        group: IpAddr,
        ifindex: IfIndex,
    },
    /// Send a data packet (from its IP header on, TTL / hop limit already decremented) out of
    /// each of `oifs`: the RP forwards what it decapsulated from a PIM Register (RFC 7761 §4.4.2).
    Forward {
        /// The (S,G), for logs.
        key: String,
        oifs: Vec<IfIndex>,
        packet: Vec<u8>,
    },
    Log(Event),
}
