//! DVMRP messages, carried in IGMP type 0x13 (draft-ietf-idmr-dvmrp-v3-11 §4), as mrouted
//! 4.x sends them (its `dvmrp.h` documents the same layouts).
//!
//! Every message starts with the common header:
//!
//! ```text
//!  0       8       16              32
//! | 0x13  | code  |   checksum    |
//! | rsvd  | caps  | minor | major |
//! ```
//!
//! The code is the DVMRP message type: Probe, Report, Ask-Neighbors and Neighbors (mrouted's
//! mapper), Ask-Neighbors2 and Neighbors2 (what `mrinfo` uses), Prune, Graft and Graft-Ack. Other
//! codes are kept raw. The checksum covers the whole message. mrouted fills the capability flags
//! in every message it sends, not only in probes, and announces version 3.255.
//!
//! Route reports pack routes by netmask: three mask octets (the leading 255 is implied), then
//! (source, metric) pairs carrying only the significant octets of the source; the high bit of the
//! metric closes the mask group. The default route travels as `0.0.0.0` under mask `255.0.0.0`.

use std::fmt;
use std::net::Ipv4Addr;

use hato_core::{Afi, V4};
use serde::Serialize;

use crate::checksum::checksum;
use crate::cursor::{encode_to_vec, Reader, Writer};
use crate::{igmp, Error, Result};

/// The IGMP type of every DVMRP message.
pub const IGMP_TYPE_DVMRP: u8 = 0x13;
/// Octets of the common header.
pub const HEADER_LEN: usize = 8;
/// ALL-DVMRP-ROUTERS, the destination of probes and reports.
pub const ALL_DVMRP_ROUTERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 4);
/// The metric meaning "unreachable" (the draft's infinity); poison reverse adds it to the real metric.
pub const INFINITY: u8 = 32;
/// The largest metric a report can carry (seven bits).
pub const MAX_METRIC: u8 = 0x7f;
/// The most route data mrouted puts in one report: a 576-octet datagram less the largest IP
/// header and the DVMRP header.
pub const MAX_REPORT_DATA_LEN: usize = 576 - 60 - HEADER_LEN;
/// The version mrouted 4.x announces (major, minor).
pub const MROUTED_VERSION: (u8, u8) = (3, 0xff);

const LAST_IN_GROUP: u8 = 0x80;

/// DVMRP message codes (the IGMP code field).
pub mod code {
    pub const PROBE: u8 = 1;
    pub const REPORT: u8 = 2;
    pub const ASK_NEIGHBORS: u8 = 3;
    pub const NEIGHBORS: u8 = 4;
    pub const ASK_NEIGHBORS2: u8 = 5;
    pub const NEIGHBORS2: u8 = 6;
    pub const PRUNE: u8 = 7;
    pub const GRAFT: u8 = 8;
    pub const GRAFT_ACK: u8 = 9;
}

/// The capability flags of the header, as in the draft's Probe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Capabilities(pub u8);

impl Capabilities {
    /// The sender has at most one neighbor (a leaf router).
    pub const LEAF: u8 = 0x01;
    /// The sender understands prunes.
    pub const PRUNE: u8 = 0x02;
    /// The sender sends generation ids in probes.
    pub const GENID: u8 = 0x04;
    /// The sender answers multicast traceroute.
    pub const MTRACE: u8 = 0x08;
    /// The sender answers SNMP for DVMRP.
    pub const SNMP: u8 = 0x10;
    /// The sender accepts the netmask in prunes.
    pub const NETMASK: u8 = 0x20;

    /// What mrouted 4.x announces: prune, generation id and mtrace.
    pub const MROUTED: Capabilities = Capabilities(Self::PRUNE | Self::GENID | Self::MTRACE);

    pub fn has(self, flag: u8) -> bool {
        self.0 & flag == flag
    }
}

/// A DVMRP message: the common header and the body its code selects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repr {
    /// The first octet of the reserved field, kept for a lossless re-encoding (zero in practice).
    pub reserved: u8,
    pub capabilities: Capabilities,
    pub minor_version: u8,
    pub major_version: u8,
    pub message: Message,
}

/// The body of a DVMRP message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Message {
    /// Neighbor discovery.
    Probe(Probe),
    /// Routes.
    Report(Report),
    /// The mapper's request for a Neighbors reply; no body.
    AskNeighbors,
    /// The old mapper reply: per interface, the neighbors seen there.
    Neighbors(Vec<NeighborsEntry>),
    /// `mrinfo`'s request for a Neighbors2 reply; no body.
    AskNeighbors2,
    /// The reply to Ask-Neighbors2: per interface, flags and neighbors.
    Neighbors2(Vec<NeighborsEntry>),
    /// Prune.
    Prune(Prune),
    /// Graft.
    Graft(Graft),
    /// Graft-Ack: echoes the graft it acknowledges.
    GraftAck(Graft),
    /// A code this codec does not know, with its body.
    Unknown { code: u8, body: Vec<u8> },
}

/// Probe: the sender's generation id and the neighbors it has heard on the interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub generation_id: u32,
    pub neighbors: Vec<Ipv4Addr>,
}

/// Route report: mask groups in the order they were sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub groups: Vec<RouteGroup>,
}

/// Routes sharing one netmask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteGroup {
    /// The netmask; its first octet is always 255 on the wire.
    pub mask: Ipv4Addr,
    /// At least one route; only the first [`RouteGroup::width`] octets of each source are sent.
    pub routes: Vec<ReportedRoute>,
}

/// A (source, metric) pair of a report, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReportedRoute {
    pub source: Ipv4Addr,
    /// Seven bits: the metric, plus [`INFINITY`] when poison-reversed.
    pub metric: u8,
}

/// A route with its prefix, as the protocol sees it (the input of [`Report::pack`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Route {
    pub prefix: <V4 as Afi>::Prefix,
    /// Seven bits: the metric, plus [`INFINITY`] when poison-reversed.
    pub metric: u8,
}

/// One interface of a Neighbors or Neighbors2 reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NeighborsEntry {
    /// The replying router's address on the interface.
    pub local: Ipv4Addr,
    pub metric: u8,
    /// The TTL threshold of the interface.
    pub threshold: u8,
    /// Interface flags (`neighbor_flags::*`); always zero in a Neighbors reply, which has none.
    pub flags: u8,
    /// mrouted lists a lone `0.0.0.0` for an interface without neighbors.
    pub neighbors: Vec<Ipv4Addr>,
}

/// The flags of a Neighbors2 entry (mrouted's `DVMRP_NF_*`).
pub mod neighbor_flags {
    pub const TUNNEL: u8 = 0x01;
    pub const SOURCE_ROUTE: u8 = 0x02;
    pub const PIM: u8 = 0x04;
    pub const DOWN: u8 = 0x10;
    pub const DISABLED: u8 = 0x20;
    pub const QUERIER: u8 = 0x40;
    pub const LEAF: u8 = 0x80;
}

/// Prune: stop sending `(source, group)` traffic for `lifetime` seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prune {
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
    pub lifetime: u32,
    /// The source network mask, sent only by routers announcing [`Capabilities::NETMASK`].
    pub source_mask: Option<Ipv4Addr>,
}

/// Graft and Graft-Ack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Graft {
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
    /// The source network mask, when the sender appends one.
    pub source_mask: Option<Ipv4Addr>,
}

impl Repr {
    /// A message with the header mrouted 4.x sends.
    pub fn new(capabilities: Capabilities, message: Message) -> Self {
        Repr {
            reserved: 0,
            capabilities,
            minor_version: MROUTED_VERSION.1,
            major_version: MROUTED_VERSION.0,
            message,
        }
    }

    /// Decodes a whole IGMP message of type 0x13, verifying its checksum.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        if r.u8()? != IGMP_TYPE_DVMRP {
            return Err(Error::Malformed);
        }
        let code = r.u8()?;
        r.skip(2)?;
        let reserved = r.u8()?;
        let capabilities = Capabilities(r.u8()?);
        let minor_version = r.u8()?;
        let major_version = r.u8()?;
        if checksum(bytes) != 0 {
            return Err(Error::BadChecksum);
        }
        let message = Message::parse(code, &mut r)?;
        if !r.is_empty() {
            return Err(Error::BadLength);
        }
        Ok(Repr { reserved, capabilities, minor_version, major_version, message })
    }

    /// The DVMRP code of the message.
    pub fn code(&self) -> u8 {
        self.message.code()
    }

    /// Octets [`Repr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.message.body_len()
    }

    /// Encodes the message into `buf`, filling the checksum; returns the octets written.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u8(IGMP_TYPE_DVMRP)?;
        w.u8(self.code())?;
        w.u16(0)?;
        w.u8(self.reserved)?;
        w.u8(self.capabilities.0)?;
        w.u8(self.minor_version)?;
        w.u8(self.major_version)?;
        self.message.emit(&mut w)?;
        igmp::finish_message(&mut w)
    }

    /// The encoded message.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        encode_to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

impl Message {
    fn parse(code: u8, r: &mut Reader<'_>) -> Result<Self> {
        Ok(match code {
            code::PROBE => {
                let generation_id = r.u32()?;
                Message::Probe(Probe { generation_id, neighbors: parse_addrs(r)? })
            }
            code::REPORT => Message::Report(Report::parse(r)?),
            code::ASK_NEIGHBORS => Message::AskNeighbors,
            code::NEIGHBORS => Message::Neighbors(parse_neighbors(r, false)?),
            code::ASK_NEIGHBORS2 => Message::AskNeighbors2,
            code::NEIGHBORS2 => Message::Neighbors2(parse_neighbors(r, true)?),
            code::PRUNE => {
                let source = r.addr::<V4>()?;
                let group = r.addr::<V4>()?;
                let lifetime = r.u32()?;
                Message::Prune(Prune { source, group, lifetime, source_mask: parse_mask(r)? })
            }
            code::GRAFT => Message::Graft(Graft::parse(r)?),
            code::GRAFT_ACK => Message::GraftAck(Graft::parse(r)?),
            code => Message::Unknown { code, body: r.take_rest().to_vec() },
        })
    }

    /// The DVMRP code of this message.
    pub fn code(&self) -> u8 {
        match self {
            Message::Probe(_) => code::PROBE,
            Message::Report(_) => code::REPORT,
            Message::AskNeighbors => code::ASK_NEIGHBORS,
            Message::Neighbors(_) => code::NEIGHBORS,
            Message::AskNeighbors2 => code::ASK_NEIGHBORS2,
            Message::Neighbors2(_) => code::NEIGHBORS2,
            Message::Prune(_) => code::PRUNE,
            Message::Graft(_) => code::GRAFT,
            Message::GraftAck(_) => code::GRAFT_ACK,
            Message::Unknown { code, .. } => *code,
        }
    }

    fn body_len(&self) -> usize {
        match self {
            Message::Probe(probe) => 4 + 4 * probe.neighbors.len(),
            Message::Report(report) => report.data_len(),
            Message::AskNeighbors | Message::AskNeighbors2 => 0,
            Message::Neighbors(entries) => entries.iter().map(|e| 7 + 4 * e.neighbors.len()).sum(),
            Message::Neighbors2(entries) => entries.iter().map(|e| 8 + 4 * e.neighbors.len()).sum(),
            Message::Prune(prune) => 12 + 4 * usize::from(prune.source_mask.is_some()),
            Message::Graft(graft) | Message::GraftAck(graft) => {
                8 + 4 * usize::from(graft.source_mask.is_some())
            }
            Message::Unknown { body, .. } => body.len(),
        }
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        match self {
            Message::Probe(probe) => {
                w.u32(probe.generation_id)?;
                for &neighbor in &probe.neighbors {
                    w.addr::<V4>(neighbor)?;
                }
            }
            Message::Report(report) => report.emit(w)?,
            Message::AskNeighbors | Message::AskNeighbors2 => {}
            Message::Neighbors(entries) => emit_neighbors(w, entries, false)?,
            Message::Neighbors2(entries) => emit_neighbors(w, entries, true)?,
            Message::Prune(prune) => {
                w.addr::<V4>(prune.source)?;
                w.addr::<V4>(prune.group)?;
                w.u32(prune.lifetime)?;
                if let Some(mask) = prune.source_mask {
                    w.addr::<V4>(mask)?;
                }
            }
            Message::Graft(graft) | Message::GraftAck(graft) => {
                w.addr::<V4>(graft.source)?;
                w.addr::<V4>(graft.group)?;
                if let Some(mask) = graft.source_mask {
                    w.addr::<V4>(mask)?;
                }
            }
            Message::Unknown { body, .. } => w.bytes(body)?,
        }
        Ok(())
    }
}

fn parse_addrs(r: &mut Reader<'_>) -> Result<Vec<Ipv4Addr>> {
    if r.remaining() % 4 != 0 {
        return Err(Error::BadLength);
    }
    let mut out = Vec::with_capacity(r.remaining() / 4);
    while !r.is_empty() {
        out.push(r.addr::<V4>()?);
    }
    Ok(out)
}

/// The optional trailing source mask of Prune and Graft: absent, or exactly four octets.
fn parse_mask(r: &mut Reader<'_>) -> Result<Option<Ipv4Addr>> {
    match r.remaining() {
        0 => Ok(None),
        4 => Ok(Some(r.addr::<V4>()?)),
        _ => Err(Error::BadLength),
    }
}

impl Graft {
    fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let source = r.addr::<V4>()?;
        let group = r.addr::<V4>()?;
        Ok(Graft { source, group, source_mask: parse_mask(r)? })
    }
}

fn parse_neighbors(r: &mut Reader<'_>, with_flags: bool) -> Result<Vec<NeighborsEntry>> {
    let mut entries = Vec::new();
    while !r.is_empty() {
        let local = r.addr::<V4>()?;
        let metric = r.u8()?;
        let threshold = r.u8()?;
        let flags = if with_flags { r.u8()? } else { 0 };
        let count = r.u8()?;
        let neighbors = (0..count).map(|_| r.addr::<V4>()).collect::<Result<Vec<_>>>()?;
        entries.push(NeighborsEntry { local, metric, threshold, flags, neighbors });
    }
    Ok(entries)
}

fn emit_neighbors(w: &mut Writer<'_>, entries: &[NeighborsEntry], with_flags: bool) -> Result<()> {
    for entry in entries {
        let count = u8::try_from(entry.neighbors.len()).map_err(|_| Error::Malformed)?;
        if !with_flags && entry.flags != 0 {
            return Err(Error::Malformed);
        }
        w.addr::<V4>(entry.local)?;
        w.u8(entry.metric)?;
        w.u8(entry.threshold)?;
        if with_flags {
            w.u8(entry.flags)?;
        }
        w.u8(count)?;
        for &neighbor in &entry.neighbors {
            w.addr::<V4>(neighbor)?;
        }
    }
    Ok(())
}

/// Octets of a source sent under `mask`: up to and including its last non-zero octet,
/// at least one.
pub fn source_width(mask: Ipv4Addr) -> usize {
    match mask.octets() {
        [_, _, _, d] if d != 0 => 4,
        [_, _, c, _] if c != 0 => 3,
        [_, b, _, _] if b != 0 => 2,
        _ => 1,
    }
}

impl RouteGroup {
    /// Octets of each source on the wire.
    pub fn width(&self) -> usize {
        source_width(self.mask)
    }

    fn data_len(&self) -> usize {
        3 + self.routes.len() * (self.width() + 1)
    }
}

impl ReportedRoute {
    /// The route's prefix under `mask`; `None` for a non-contiguous mask. Source `0.0.0.0` with mask
    /// `255.0.0.0` is the default route, as mrouted reads it.
    pub fn prefix(&self, mask: Ipv4Addr) -> Option<<V4 as Afi>::Prefix> {
        let bits = u32::from(mask);
        if bits.leading_ones() + bits.trailing_zeros() != 32 {
            return None;
        }
        let len = if self.source.is_unspecified() && bits == 0xff00_0000 {
            0
        } else {
            u8::try_from(bits.leading_ones()).ok()?
        };
        V4::prefix(self.source, len)
    }
}

impl Report {
    fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let mut groups = Vec::new();
        while !r.is_empty() {
            let [b, c, d] = r.array::<3>()?;
            let mask = Ipv4Addr::new(255, b, c, d);
            let width = source_width(mask);
            let mut routes = Vec::new();
            loop {
                let mut octets = [0u8; 4];
                let sent = octets.get_mut(..width).ok_or(Error::Malformed)?;
                sent.copy_from_slice(r.bytes(width)?);
                let metric = r.u8()?;
                routes.push(ReportedRoute { source: Ipv4Addr::from(octets), metric: metric & MAX_METRIC });
                if metric & LAST_IN_GROUP != 0 {
                    break;
                }
            }
            groups.push(RouteGroup { mask, routes });
        }
        Ok(Report { groups })
    }

    fn data_len(&self) -> usize {
        self.groups.iter().map(RouteGroup::data_len).sum()
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        for group in &self.groups {
            let [a, b, c, d] = group.mask.octets();
            if a != 255 || group.routes.is_empty() {
                return Err(Error::Malformed);
            }
            w.bytes(&[b, c, d])?;
            let width = group.width();
            for (i, route) in group.routes.iter().enumerate() {
                let octets = route.source.octets();
                let (sent, dropped) = octets.split_at(width.min(4));
                if route.metric > MAX_METRIC || dropped.iter().any(|&o| o != 0) {
                    return Err(Error::Malformed);
                }
                w.bytes(sent)?;
                let last = if i + 1 == group.routes.len() { LAST_IN_GROUP } else { 0 };
                w.u8(route.metric | last)?;
            }
        }
        Ok(())
    }

    /// The routes with their prefixes; `Malformed` if a mask is not contiguous.
    pub fn routes(&self) -> Result<Vec<Route>> {
        self.groups
            .iter()
            .flat_map(|group| group.routes.iter().map(move |route| (group.mask, route)))
            .map(|(mask, route)| {
                let prefix = route.prefix(mask).ok_or(Error::Malformed)?;
                Ok(Route { prefix, metric: route.metric })
            })
            .collect()
    }

    /// Packs routes, in the given order, into reports of at most `max_data_len` octets of route
    /// data each ([`MAX_REPORT_DATA_LEN`] for mrouted's limit), the way mrouted does: a new mask
    /// group whenever the prefix length changes, a mask group split across reports repeats its
    /// mask. `Malformed` for a metric above [`MAX_METRIC`], a prefix of 1 to 7 bits (the implied
    /// leading 255 cannot carry it) or a limit too small for one route.
    pub fn pack(routes: &[Route], max_data_len: usize) -> Result<Vec<Report>> {
        let mut reports = Vec::new();
        let mut current = Report::default();
        let mut len = 0usize;
        let mut current_prefix_len = None;
        for route in routes {
            if route.metric > MAX_METRIC {
                return Err(Error::Malformed);
            }
            let (network, prefix_len) = V4::prefix_parts(&route.prefix);
            let mask = match prefix_len {
                // The default route travels as 0.0.0.0 under 255.0.0.0.
                0 => Ipv4Addr::new(255, 0, 0, 0),
                8..=32 => Ipv4Addr::from(u32::MAX << (32 - u32::from(prefix_len))),
                // The implied leading 255 leaves no way to send these.
                _ => return Err(Error::Malformed),
            };
            let width = source_width(mask);
            if width + 4 > max_data_len {
                return Err(Error::Malformed);
            }
            let wire_route = ReportedRoute { source: network, metric: route.metric };
            let same_group = len != 0 && current_prefix_len == Some(prefix_len);
            match current.groups.last_mut() {
                Some(group) if same_group && len + width < max_data_len => {
                    group.routes.push(wire_route);
                    len += width + 1;
                }
                _ => {
                    if len + width + 4 > max_data_len {
                        reports.push(std::mem::take(&mut current));
                        len = 0;
                    }
                    current.groups.push(RouteGroup { mask, routes: vec![wire_route] });
                    len += width + 4;
                }
            }
            current_prefix_len = Some(prefix_len);
        }
        if len != 0 {
            reports.push(current);
        }
        Ok(reports)
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DVMRP v{}.{} ", self.major_version, self.minor_version)?;
        match &self.message {
            Message::Probe(probe) => {
                write!(f, "probe genid {:#010x}", probe.generation_id)?;
                write_addrs(f, " nbrs", &probe.neighbors)?;
            }
            Message::Report(report) => {
                write!(f, "report")?;
                for group in &report.groups {
                    for route in &group.routes {
                        match route.prefix(group.mask) {
                            Some(prefix) => write!(f, " {prefix}:{}", route.metric)?,
                            None => write!(f, " {}/{}:{}", route.source, group.mask, route.metric)?,
                        }
                    }
                }
            }
            Message::AskNeighbors => write!(f, "ask-neighbors")?,
            Message::AskNeighbors2 => write!(f, "ask-neighbors2")?,
            Message::Neighbors(entries) | Message::Neighbors2(entries) => {
                let name = if self.code() == code::NEIGHBORS { "neighbors" } else { "neighbors2" };
                write!(f, "{name}")?;
                for entry in entries {
                    write!(
                        f,
                        " {} [{}/{}/{:#04x}]",
                        entry.local, entry.metric, entry.threshold, entry.flags
                    )?;
                    write_addrs(f, "", &entry.neighbors)?;
                }
            }
            Message::Prune(prune) => {
                write!(f, "prune ({}, {}) lifetime {}s", prune.source, prune.group, prune.lifetime)?;
                if let Some(mask) = prune.source_mask {
                    write!(f, " mask {mask}")?;
                }
            }
            Message::Graft(graft) | Message::GraftAck(graft) => {
                let name = if self.code() == code::GRAFT { "graft" } else { "graft-ack" };
                write!(f, "{name} ({}, {})", graft.source, graft.group)?;
                if let Some(mask) = graft.source_mask {
                    write!(f, " mask {mask}")?;
                }
            }
            Message::Unknown { code, body } => write!(f, "code {code} ({} octets)", body.len())?,
        }
        Ok(())
    }
}

fn write_addrs(f: &mut fmt::Formatter<'_>, label: &str, addrs: &[Ipv4Addr]) -> fmt::Result {
    write!(f, "{label} [")?;
    for (i, addr) in addrs.iter().enumerate() {
        if i != 0 {
            f.write_str(", ")?;
        }
        write!(f, "{addr}")?;
    }
    f.write_str("]")
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    pub fn addr() -> impl Strategy<Value = Ipv4Addr> {
        any::<u32>().prop_map(Ipv4Addr::from)
    }

    fn route_group() -> impl Strategy<Value = RouteGroup> {
        (any::<[u8; 3]>(), vec((any::<u32>(), 0..=MAX_METRIC), 1..5)).prop_map(|([b, c, d], routes)| {
            let mask = Ipv4Addr::new(255, b, c, d);
            let kept = u32::MAX << (8 * (4 - source_width(mask)));
            let routes = routes
                .into_iter()
                .map(|(source, metric)| ReportedRoute { source: Ipv4Addr::from(source & kept), metric })
                .collect();
            RouteGroup { mask, routes }
        })
    }

    fn neighbors_entry(with_flags: bool) -> impl Strategy<Value = NeighborsEntry> {
        (addr(), any::<u8>(), any::<u8>(), any::<u8>(), vec(addr(), 0..4)).prop_map(
            move |(local, metric, threshold, flags, neighbors)| NeighborsEntry {
                local,
                metric,
                threshold,
                flags: if with_flags { flags } else { 0 },
                neighbors,
            },
        )
    }

    fn graft() -> impl Strategy<Value = Graft> {
        (addr(), addr(), proptest::option::of(addr())).prop_map(|(source, group, source_mask)| Graft {
            source,
            group,
            source_mask,
        })
    }

    pub fn message() -> impl Strategy<Value = Message> {
        prop_oneof![
            (any::<u32>(), vec(addr(), 0..5)).prop_map(|(generation_id, neighbors)| {
                Message::Probe(Probe { generation_id, neighbors })
            }),
            vec(route_group(), 0..4).prop_map(|groups| Message::Report(Report { groups })),
            Just(Message::AskNeighbors),
            vec(neighbors_entry(false), 0..3).prop_map(Message::Neighbors),
            Just(Message::AskNeighbors2),
            vec(neighbors_entry(true), 0..3).prop_map(Message::Neighbors2),
            (addr(), addr(), any::<u32>(), proptest::option::of(addr())).prop_map(
                |(source, group, lifetime, source_mask)| {
                    Message::Prune(Prune { source, group, lifetime, source_mask })
                }
            ),
            graft().prop_map(Message::Graft),
            graft().prop_map(Message::GraftAck),
            (any::<u8>().prop_filter("unknown code", |c| !(1..=9).contains(c)), vec(any::<u8>(), 0..32))
                .prop_map(|(code, body)| Message::Unknown { code, body }),
        ]
    }

    pub fn repr() -> impl Strategy<Value = Repr> {
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), message()).prop_map(
            |(reserved, capabilities, minor_version, major_version, message)| Repr {
                reserved,
                capabilities: Capabilities(capabilities),
                minor_version,
                major_version,
                message,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::testutil::{
        assert_checksum_flips_detected, assert_truncations_fail, hex, mrouted_frame as frame,
        mrouted_messages,
    };

    fn captured_dvmrp() -> Vec<Vec<u8>> {
        mrouted_messages(&[IGMP_TYPE_DVMRP])
    }

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    fn mrouted(capabilities: u8, message: Message) -> Repr {
        Repr::new(Capabilities(capabilities), message)
    }

    fn check_golden(bytes: &[u8], repr: &Repr) {
        assert_eq!(&Repr::parse(bytes).unwrap(), repr);
        assert_eq!(repr.to_bytes().unwrap(), bytes);
        assert_eq!(repr.buffer_len(), bytes.len());
    }

    #[test]
    fn golden_probes() {
        check_golden(
            &frame(2),
            &mrouted(0x0e, Message::Probe(Probe { generation_id: 0x4a02_0000, neighbors: vec![] })),
        );
        check_golden(
            &frame(28),
            &mrouted(
                0x0e,
                Message::Probe(Probe {
                    generation_id: 0x4a02_0000,
                    neighbors: vec![ip("198.18.2.2"), ip("198.18.2.1")],
                }),
            ),
        );
        let leaf = Repr::parse(&frame(35)).unwrap();
        assert!(leaf.capabilities.has(Capabilities::LEAF));
        assert!(leaf.capabilities.has(Capabilities::MROUTED.0));
        assert_eq!(leaf.to_string(), "DVMRP v3.255 probe genid 0x20010000 nbrs [198.18.2.1, 198.18.2.3]");
    }

    #[test]
    fn golden_reports() {
        let route = |source: &str, metric| ReportedRoute { source: ip(source), metric };
        check_golden(
            &frame(31),
            &mrouted(
                0x0e,
                Message::Report(Report {
                    groups: vec![RouteGroup {
                        mask: ip("255.255.255.0"),
                        routes: vec![route("198.18.3.0", 1)],
                    }],
                }),
            ),
        );
        // Two routes in one mask group, the second poison-reversed (2 + 32).
        let report = mrouted(
            0x0e,
            Message::Report(Report {
                groups: vec![RouteGroup {
                    mask: ip("255.255.255.0"),
                    routes: vec![route("198.18.1.0", 1), route("198.18.3.0", INFINITY + 2)],
                }],
            }),
        );
        check_golden(&frame(50), &report);
        assert_eq!(report.to_string(), "DVMRP v3.255 report 198.18.1.0/24:1 198.18.3.0/24:34");
    }

    #[test]
    fn golden_prune_graft_and_ack() {
        let (source, group) = (ip("198.18.1.0"), ip("239.1.1.1"));
        check_golden(
            &frame(46),
            &mrouted(0x0f, Message::Prune(Prune { source, group, lifetime: 0x2402, source_mask: None })),
        );
        let graft = Graft { source, group, source_mask: None };
        check_golden(&frame(53), &mrouted(0x0f, Message::Graft(graft.clone())));
        let ack = mrouted(0x0e, Message::GraftAck(graft));
        check_golden(&frame(54), &ack);
        assert_eq!(ack.to_string(), "DVMRP v3.255 graft-ack (198.18.1.0, 239.1.1.1)");
    }

    #[test]
    fn golden_mrinfo_exchange() {
        check_golden(&frame(58), &mrouted(0x0e, Message::AskNeighbors2));
        let entry = |local: &str, flags, neighbors: &[&str]| NeighborsEntry {
            local: ip(local),
            metric: 1,
            threshold: 1,
            flags,
            neighbors: neighbors.iter().map(|n| ip(n)).collect(),
        };
        let reply = mrouted(
            0x0e,
            Message::Neighbors2(vec![
                entry("198.18.2.2", 0, &["198.18.2.1", "198.18.2.3"]),
                entry("198.18.3.1", neighbor_flags::QUERIER | neighbor_flags::LEAF, &["0.0.0.0"]),
            ]),
        );
        check_golden(&frame(59), &reply);
        assert_eq!(
            reply.to_string(),
            "DVMRP v3.255 neighbors2 198.18.2.2 [1/1/0x00] [198.18.2.1, 198.18.2.3] \
             198.18.3.1 [1/1/0xc0] [0.0.0.0]"
        );
    }

    #[test]
    fn every_captured_message_reencodes_byte_for_byte() {
        let messages = captured_dvmrp();
        assert_eq!(messages.len(), 21);
        let mut codes = std::collections::BTreeSet::new();
        for bytes in messages {
            let repr = Repr::parse(&bytes).unwrap();
            assert!(!matches!(repr.message, Message::Unknown { .. }), "{repr}");
            codes.insert(repr.code());
            assert_eq!(repr.to_bytes().unwrap(), bytes, "{repr}");
        }
        assert_eq!(codes.into_iter().collect::<Vec<_>>(), [1, 2, 5, 6, 7, 8, 9]);
    }

    #[test]
    fn every_truncation_is_an_error() {
        assert_truncations_fail(&captured_dvmrp(), Repr::parse);
    }

    #[test]
    fn bad_checksums_are_detected() {
        assert_checksum_flips_detected(&captured_dvmrp(), Repr::parse);
    }

    #[test]
    fn short_output_buffers_are_refused() {
        for bytes in captured_dvmrp() {
            let repr = Repr::parse(&bytes).unwrap();
            let mut buf = vec![0; bytes.len() - 1];
            assert_eq!(repr.emit(&mut buf), Err(Error::BufferTooSmall));
        }
    }

    #[test]
    fn old_neighbors_reply_has_no_flags() {
        let repr = mrouted(
            0x0e,
            Message::Neighbors(vec![NeighborsEntry {
                local: ip("198.18.2.1"),
                metric: 1,
                threshold: 1,
                flags: 0,
                neighbors: vec![ip("198.18.2.2")],
            }]),
        );
        let bytes = repr.to_bytes().unwrap();
        // Local address, metric, threshold, count, neighbor: no flags octet.
        assert_eq!(&bytes[HEADER_LEN..], &hex("c6120201010101c6120202"));
        assert_eq!(Repr::parse(&bytes).unwrap(), repr);
        let ask = mrouted(0x0e, Message::AskNeighbors).to_bytes().unwrap();
        assert_eq!(ask.len(), HEADER_LEN);
        assert_eq!(ask[1], code::ASK_NEIGHBORS);
    }

    #[test]
    fn prune_with_netmask() {
        let repr = mrouted(
            0x2e,
            Message::Prune(Prune {
                source: ip("198.18.1.0"),
                group: ip("239.1.1.1"),
                lifetime: 7200,
                source_mask: Some(ip("255.255.255.0")),
            }),
        );
        let bytes = repr.to_bytes().unwrap();
        assert_eq!(bytes.len(), 24);
        assert_eq!(Repr::parse(&bytes).unwrap(), repr);
        // A trailing fragment of a mask is neither absent nor present.
        let mut odd = bytes[..22].to_vec();
        odd[2..4].fill(0);
        let sum = checksum(&odd);
        odd[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(Repr::parse(&odd), Err(Error::BadLength));
    }

    #[test]
    fn unknown_codes_are_kept() {
        let repr = mrouted(0x0e, Message::Unknown { code: 10, body: vec![1, 2, 3] });
        let bytes = repr.to_bytes().unwrap();
        assert_eq!(Repr::parse(&bytes).unwrap(), repr);
    }

    fn route(prefix: &str, metric: u8) -> Route {
        Route { prefix: prefix.parse().unwrap(), metric }
    }

    #[test]
    fn pack_matches_mrouted() {
        let routes = [route("198.18.1.0/24", 1), route("198.18.3.0/24", 34)];
        let reports = Report::pack(&routes, MAX_REPORT_DATA_LEN).unwrap();
        assert_eq!(reports.len(), 1);
        let message = Repr::parse(&frame(50)).unwrap().message;
        assert_eq!(message, Message::Report(reports[0].clone()));
        assert_eq!(reports[0].routes().unwrap(), routes);
    }

    #[test]
    fn pack_groups_by_prefix_length_and_carries_the_default_route() {
        let routes = [
            route("198.18.0.0/15", 3),
            route("10.0.0.0/8", 2),
            route("0.0.0.0/0", 5),
            route("198.18.4.128/25", 1),
            route("198.18.4.0/25", 1),
        ];
        let reports = Report::pack(&routes, MAX_REPORT_DATA_LEN).unwrap();
        assert_eq!(reports.len(), 1);
        let masks: Vec<_> = reports[0].groups.iter().map(|g| g.mask.to_string()).collect();
        // The /8 and the default route share a wire mask but not a group, as in mrouted.
        assert_eq!(masks, ["255.254.0.0", "255.0.0.0", "255.0.0.0", "255.255.255.128"]);
        assert_eq!(reports[0].routes().unwrap(), routes);
        let bytes = mrouted(0x0e, Message::Report(reports[0].clone())).to_bytes().unwrap();
        assert_eq!(
            &bytes[HEADER_LEN..],
            &hex(concat!("fe0000c61283", "0000000a82", "0000000085", "ffff80c612048001c612040081"))
        );
    }

    #[test]
    fn pack_splits_at_the_limit_and_repeats_the_mask() {
        let routes: Vec<Route> =
            (0..200u32).map(|i| route(&format!("198.18.{}.0/24", i), 1 + (i % 40) as u8)).collect();
        let reports = Report::pack(&routes, MAX_REPORT_DATA_LEN).unwrap();
        // 3 mask octets + 126 routes of 4 octets fill 507 of 508 octets.
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0].groups[0].routes.len(), 126);
        assert_eq!(reports[1].groups[0].mask, ip("255.255.255.0"));
        let mut unpacked = Vec::new();
        for report in &reports {
            let bytes = mrouted(0x0e, Message::Report(report.clone())).to_bytes().unwrap();
            assert!(bytes.len() - HEADER_LEN <= MAX_REPORT_DATA_LEN);
            unpacked.extend(report.routes().unwrap());
        }
        assert_eq!(unpacked, routes);
    }

    #[test]
    fn pack_refuses_what_cannot_be_sent() {
        assert_eq!(Report::pack(&[route("224.0.0.0/4", 1)], 508), Err(Error::Malformed));
        assert_eq!(Report::pack(&[route("198.18.0.0/24", 128)], 508), Err(Error::Malformed));
        assert_eq!(Report::pack(&[route("198.18.0.0/24", 1)], 6), Err(Error::Malformed));
        assert_eq!(Report::pack(&[], 508), Ok(vec![]));
    }

    #[test]
    fn emit_refuses_unsendable_reports() {
        let group = |mask: &str, source: &str, metric| RouteGroup {
            mask: ip(mask),
            routes: vec![ReportedRoute { source: ip(source), metric }],
        };
        for bad in [
            group("254.0.0.0", "10.0.0.0", 1),
            group("255.255.0.0", "10.1.2.0", 1),
            group("255.255.0.0", "10.1.0.0", 200),
            RouteGroup { mask: ip("255.255.0.0"), routes: vec![] },
        ] {
            let repr = mrouted(0x0e, Message::Report(Report { groups: vec![bad] }));
            assert_eq!(repr.to_bytes(), Err(Error::Malformed));
        }
    }

    #[test]
    fn non_contiguous_masks_decode_but_have_no_prefix() {
        let report = Report {
            groups: vec![RouteGroup {
                mask: ip("255.0.255.0"),
                routes: vec![ReportedRoute { source: ip("10.0.1.0"), metric: 1 }],
            }],
        };
        let bytes = mrouted(0x0e, Message::Report(report.clone())).to_bytes().unwrap();
        assert_eq!(Repr::parse(&bytes).unwrap().message, Message::Report(report.clone()));
        assert_eq!(report.routes(), Err(Error::Malformed));
    }

    proptest! {
        #[test]
        fn emit_then_parse_round_trips(repr in strategies::repr()) {
            let bytes = repr.to_bytes().unwrap();
            prop_assert_eq!(bytes.len(), repr.buffer_len());
            prop_assert_eq!(Repr::parse(&bytes).unwrap(), repr);
        }

        #[test]
        fn pack_respects_the_limit_and_keeps_every_route(
            routes in proptest::collection::vec(
                (prop_oneof![Just(0u8), 8u8..=32], any::<u32>(), 0..=MAX_METRIC),
                0..200,
            ),
            max_data_len in 1usize..600,
        ) {
            // 0.0.0.0/8 reads back as the default route: the one ambiguity of the encoding.
            let routes: Vec<Route> = routes
                .into_iter()
                .map(|(len, addr, metric)| Route {
                    prefix: V4::prefix(Ipv4Addr::from(addr), len).unwrap(),
                    metric,
                })
                .filter(|r| !(r.prefix.prefix_len() == 8 && r.prefix.network().octets()[0] == 0))
                .collect();
            match Report::pack(&routes, max_data_len) {
                Ok(reports) => {
                    let mut unpacked = Vec::new();
                    for report in &reports {
                        prop_assert!(report.data_len() <= max_data_len);
                        let bytes = Repr::new(Capabilities::MROUTED, Message::Report(report.clone()))
                            .to_bytes()
                            .unwrap();
                        let Message::Report(parsed) = Repr::parse(&bytes).unwrap().message else {
                            panic!("not a report");
                        };
                        unpacked.extend(parsed.routes().unwrap());
                    }
                    prop_assert_eq!(unpacked, routes);
                }
                // Only a limit too small for one of the routes is refused.
                Err(e) => {
                    prop_assert_eq!(e, Error::Malformed);
                    let widest = routes.iter().map(|r| source_width(r.prefix.netmask())).max();
                    prop_assert!(widest.is_some_and(|w| w + 4 > max_data_len));
                }
            }
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Repr::parse(&bytes);
        }

        /// With a valid type and checksum every body reaches its decoder; whatever it accepts
        /// re-encodes to the same octets.
        #[test]
        fn accepted_bodies_reencode_exactly(
            code in 0u8..12,
            body in proptest::collection::vec(any::<u8>(), 0..48),
        ) {
            let mut bytes = vec![IGMP_TYPE_DVMRP, code, 0, 0, 0, 0x0e, 0xff, 3];
            bytes.extend(body);
            let sum = checksum(&bytes);
            bytes[2..4].copy_from_slice(&sum.to_be_bytes());
            if let Ok(repr) = Repr::parse(&bytes) {
                prop_assert_eq!(repr.to_bytes().unwrap(), bytes);
            }
        }
    }
}
