//! The packet dissector: from an IPv4 or IPv6 datagram to the multicast control message it carries
//! (IGMP, DVMRP and mtrace inside IGMP, MLD inside ICMPv6, PIM over either family), or to "not a
//! control packet". `hatoctl decode` and the golden-capture tests are built on it; the daemon's
//! receive path uses the per-protocol codecs directly.

use std::fmt;
use std::net::IpAddr;

use hato_core::{V4, V6};
use serde::Serialize;

use crate::checksum::ChecksumContext;
use crate::igmp::IgmpRepr;
use crate::ip::{Ipv4Header, Ipv6Header, PROTO_ICMPV6, PROTO_IGMP, PROTO_PIM};
use crate::mld::MldRepr;
use crate::pim::PimMessage;
use crate::{dvmrp, mtrace, Error};

/// ICMPv6 types that are MLD messages (RFC 2710 §3, RFC 3810 §5).
const MLD_TYPES: [u8; 4] = [130, 131, 132, 143];

/// A decoded multicast control message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "protocol", content = "message", rename_all = "kebab-case")]
pub enum ControlMessage {
    Igmp(IgmpRepr),
    Dvmrp(dvmrp::Repr),
    Mtrace(mtrace::Repr),
    Mld(MldRepr),
    Pim4(PimMessage<V4>),
    Pim6(PimMessage<V6>),
}

impl ControlMessage {
    /// A stable name for the message type, used as a counter label (e.g. `pim-join-prune`,
    /// `igmp-v3-report`).
    pub fn kind(&self) -> String {
        match self {
            ControlMessage::Igmp(m) => igmp_kind(m).to_string(),
            ControlMessage::Mld(m) => mld_kind(m).to_string(),
            ControlMessage::Dvmrp(m) => format!("dvmrp-{}", dvmrp_kind(&m.message)),
            ControlMessage::Mtrace(m) => match m.kind {
                mtrace::Kind::Query => "mtrace-query".to_string(),
                mtrace::Kind::Response => "mtrace-response".to_string(),
            },
            ControlMessage::Pim4(m) => format!("pim-{}", pim_kind(m)),
            ControlMessage::Pim6(m) => format!("pim6-{}", pim_kind(m)),
        }
    }
}

fn igmp_kind(m: &IgmpRepr) -> &'static str {
    match m {
        IgmpRepr::QueryV1 { .. } => "igmp-v1-query",
        IgmpRepr::QueryV2 { .. } => "igmp-v2-query",
        IgmpRepr::QueryV3(_) => "igmp-v3-query",
        IgmpRepr::ReportV1 { .. } => "igmp-v1-report",
        IgmpRepr::ReportV2 { .. } => "igmp-v2-report",
        IgmpRepr::Leave { .. } => "igmp-leave",
        IgmpRepr::ReportV3(_) => "igmp-v3-report",
        IgmpRepr::Unknown { .. } => "igmp-unknown",
    }
}

fn mld_kind(m: &MldRepr) -> &'static str {
    match m {
        MldRepr::QueryV1 { .. } => "mld-v1-query",
        MldRepr::QueryV2(_) => "mld-v2-query",
        MldRepr::ReportV1 { .. } => "mld-v1-report",
        MldRepr::Done { .. } => "mld-done",
        MldRepr::ReportV2(_) => "mld-v2-report",
        MldRepr::Unknown { .. } => "mld-unknown",
    }
}

fn dvmrp_kind(m: &dvmrp::Message) -> &'static str {
    match m {
        dvmrp::Message::Probe(_) => "probe",
        dvmrp::Message::Report(_) => "report",
        dvmrp::Message::AskNeighbors => "ask-neighbors",
        dvmrp::Message::Neighbors(_) => "neighbors",
        dvmrp::Message::AskNeighbors2 => "ask-neighbors2",
        dvmrp::Message::Neighbors2(_) => "neighbors2",
        dvmrp::Message::Prune(_) => "prune",
        dvmrp::Message::Graft(_) => "graft",
        dvmrp::Message::GraftAck(_) => "graft-ack",
        dvmrp::Message::Unknown { .. } => "unknown",
    }
}

fn pim_kind<A: hato_core::Afi>(m: &PimMessage<A>) -> &'static str {
    match m {
        PimMessage::Hello(_) => "hello",
        PimMessage::Register(_) => "register",
        PimMessage::RegisterStop(_) => "register-stop",
        PimMessage::JoinPrune(_) => "join-prune",
        PimMessage::Bootstrap(_) => "bootstrap",
        PimMessage::Assert(_) => "assert",
        PimMessage::Graft(_) => "graft",
        PimMessage::GraftAck(_) => "graft-ack",
        PimMessage::CandidateRpAdvertisement(_) => "c-rp-adv",
        PimMessage::StateRefresh(_) => "state-refresh",
        PimMessage::Unknown { .. } => "unknown",
    }
}

impl fmt::Display for ControlMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlMessage::Igmp(m) => m.fmt(f),
            ControlMessage::Dvmrp(m) => m.fmt(f),
            ControlMessage::Mtrace(m) => m.fmt(f),
            ControlMessage::Mld(m) => m.fmt(f),
            ControlMessage::Pim4(m) => m.fmt(f),
            ControlMessage::Pim6(m) => m.fmt(f),
        }
    }
}

/// A control message with the IP header facts that routers check (TTL / hop limit, Router Alert).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlPacket {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    pub router_alert: bool,
    #[serde(flatten)]
    pub message: ControlMessage,
}

impl fmt::Display for ControlPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} > {} ttl {}{}: {}",
            self.src,
            self.dst,
            self.ttl,
            if self.router_alert { " RA" } else { "" },
            self.message
        )
    }
}

/// The control protocol a packet claimed to carry, for counting decode failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlProtocol {
    Ipv4,
    Ipv6,
    Igmp,
    Mld,
    Pim,
    Pim6,
}

impl ControlProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlProtocol::Ipv4 => "ipv4",
            ControlProtocol::Ipv6 => "ipv6",
            ControlProtocol::Igmp => "igmp",
            ControlProtocol::Mld => "mld",
            ControlProtocol::Pim => "pim",
            ControlProtocol::Pim6 => "pim6",
        }
    }
}

/// A packet that should have been a control message but did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DissectError {
    /// The layer that failed: the IP header itself, or the protocol it announced.
    pub protocol: ControlProtocol,
    pub error: Error,
}

impl fmt::Display for DissectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.protocol.as_str(), self.error)
    }
}

impl std::error::Error for DissectError {}

fn failed(protocol: ControlProtocol) -> impl FnOnce(Error) -> DissectError {
    move |error| DissectError { protocol, error }
}

/// Dissects an IPv4 datagram. `Ok(None)`: not an IGMP or PIM packet (e.g. multicast data).
pub fn dissect_ipv4(bytes: &[u8]) -> Result<Option<ControlPacket>, DissectError> {
    let (header, payload) = Ipv4Header::parse(bytes).map_err(failed(ControlProtocol::Ipv4))?;
    let message = match header.protocol {
        PROTO_IGMP => {
            let kind = payload
                .first()
                .copied()
                .ok_or(DissectError { protocol: ControlProtocol::Igmp, error: Error::Truncated })?;
            let fail = failed(ControlProtocol::Igmp);
            match kind {
                dvmrp::IGMP_TYPE_DVMRP => ControlMessage::Dvmrp(dvmrp::Repr::parse(payload).map_err(fail)?),
                mtrace::IGMP_TYPE_MTRACE_QUERY | mtrace::IGMP_TYPE_MTRACE_RESPONSE => {
                    ControlMessage::Mtrace(mtrace::Repr::parse(payload).map_err(fail)?)
                }
                _ => ControlMessage::Igmp(IgmpRepr::parse(payload).map_err(fail)?),
            }
        }
        PROTO_PIM => ControlMessage::Pim4(
            PimMessage::parse(payload, ChecksumContext::Plain).map_err(failed(ControlProtocol::Pim))?,
        ),
        _ => return Ok(None),
    };
    Ok(Some(ControlPacket {
        src: header.src.into(),
        dst: header.dst.into(),
        ttl: header.ttl,
        router_alert: header.router_alert,
        message,
    }))
}

/// Dissects an IPv6 datagram. `Ok(None)`: not an MLD or PIM packet.
pub fn dissect_ipv6(bytes: &[u8]) -> Result<Option<ControlPacket>, DissectError> {
    let (header, payload) = Ipv6Header::parse(bytes).map_err(failed(ControlProtocol::Ipv6))?;
    let message = match header.protocol {
        PROTO_ICMPV6 => match payload.first() {
            Some(kind) if MLD_TYPES.contains(kind) => ControlMessage::Mld(
                MldRepr::parse(payload, &header.src, &header.dst).map_err(failed(ControlProtocol::Mld))?,
            ),
            _ => return Ok(None),
        },
        PROTO_PIM => ControlMessage::Pim6(
            PimMessage::parse(payload, ChecksumContext::Ipv6 { src: header.src, dst: header.dst })
                .map_err(failed(ControlProtocol::Pim6))?,
        ),
        _ => return Ok(None),
    };
    Ok(Some(ControlPacket {
        src: header.src.into(),
        dst: header.dst.into(),
        ttl: header.hop_limit,
        router_alert: header.router_alert.is_some(),
        message,
    }))
}

/// Dissects an IP datagram of either version, by its version nibble.
pub fn dissect_ip(bytes: &[u8]) -> Result<Option<ControlPacket>, DissectError> {
    match bytes.first().map(|b| b >> 4) {
        Some(4) => dissect_ipv4(bytes),
        Some(6) => dissect_ipv6(bytes),
        _ => Err(DissectError { protocol: ControlProtocol::Ipv4, error: Error::BadVersion }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn igmp_leave_in_ipv4_with_router_alert() {
        let leave = IgmpRepr::Leave { group: "239.1.2.3".parse().unwrap() };
        let payload = leave.to_bytes().unwrap();
        let mut header =
            Ipv4Header::new("198.18.0.1".parse().unwrap(), "224.0.0.2".parse().unwrap(), PROTO_IGMP, 1);
        header.router_alert = true;
        let packet = dissect_ip(&header.to_bytes(&payload).unwrap()).unwrap().unwrap();
        assert_eq!(packet.message, ControlMessage::Igmp(leave));
        assert!(packet.router_alert);
        assert_eq!(packet.ttl, 1);
        assert_eq!(packet.message.kind(), "igmp-leave");
        assert_eq!(packet.to_string(), format!("198.18.0.1 > 224.0.0.2 ttl 1 RA: {}", packet.message));
    }

    #[test]
    fn non_control_packets_are_none_and_bad_ones_errors() {
        let udp = Ipv4Header::new("198.18.0.1".parse().unwrap(), "239.1.1.1".parse().unwrap(), 17, 8);
        assert_eq!(dissect_ip(&udp.to_bytes(&[0; 8]).unwrap()), Ok(None));
        let igmp =
            Ipv4Header::new("198.18.0.1".parse().unwrap(), "224.0.0.1".parse().unwrap(), PROTO_IGMP, 1);
        let err = dissect_ip(&igmp.to_bytes(&[0x11, 0, 0, 0, 0, 0, 0, 0]).unwrap()).unwrap_err();
        assert_eq!(err, DissectError { protocol: ControlProtocol::Igmp, error: Error::BadChecksum });
        assert_eq!(dissect_ip(&[]).unwrap_err().error, Error::BadVersion);
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = dissect_ip(&bytes);
            let _ = dissect_ipv4(&bytes);
            let _ = dissect_ipv6(&bytes);
        }
    }
}
