//! Multicast traceroute (draft-ietf-idmr-traceroute-ipm-07 §3, "Packet Formats"), as mrouted's
//! `mtrace` and mrouted 4.x send it: IGMP type 0x1f for the query and for a request travelling
//! hop by hop towards the source, 0x1e for the response sent to the response address.
//!
//! ```text
//! | type  | hops  |   checksum    |
//! | multicast group address       |
//! | source address                |
//! | destination address           |
//! | response address              |
//! | resp ttl | query id (24 bits) |
//! | response blocks, 32 octets each, one per hop so far ...
//! ```
//!
//! The checksum covers the whole message. A query carries no block; each router appends one
//! (arrival time, interfaces, previous hop, packet counts, routing protocol,
//! forwarding TTL, the S bit and source mask, forwarding code).
//!
//! mrouted builds the `resp ttl | query id` word in host byte order: from a little-endian host the
//! TTL arrives in the last octet and the query id's octets reversed. This codec reads the draft's
//! layout (as tshark does), so such a message decodes losslessly but with those two fields mixed.

use std::fmt;
use std::net::Ipv4Addr;

use hato_core::V4;
use serde::Serialize;

use crate::checksum::checksum;
use crate::cursor::{encode_to_vec, Reader, Writer};
use crate::{igmp, Error, Result};

/// The IGMP type of a traceroute response.
pub const IGMP_TYPE_MTRACE_RESPONSE: u8 = 0x1e;
/// The IGMP type of a traceroute query or request.
pub const IGMP_TYPE_MTRACE_QUERY: u8 = 0x1f;
/// Octets of the header.
pub const HEADER_LEN: usize = 24;
/// Octets of one response block.
pub const BLOCK_LEN: usize = 32;
/// The largest query id (24 bits).
pub const MAX_QUERY_ID: u32 = 0x00ff_ffff;
/// The largest source mask length (6 bits).
pub const MAX_SOURCE_MASK_LEN: u8 = 0x3f;

const MBZ_BIT: u8 = 0x80;
const S_BIT: u8 = 0x40;

/// Whether the message goes towards the source or back to the querier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Type 0x1f: a query (no block yet) or a request (blocks appended on the way).
    Query,
    /// Type 0x1e: the response, sent to the response address.
    Response,
}

/// A multicast traceroute message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repr {
    pub kind: Kind,
    /// The maximum number of hops to trace (the "# hops" field).
    pub hops: u8,
    pub group: Ipv4Addr,
    pub source: Ipv4Addr,
    /// The receiver whose path is traced.
    pub destination: Ipv4Addr,
    /// Where the response goes (unicast, or a multicast group such as 224.0.1.32).
    pub response_address: Ipv4Addr,
    /// The TTL of a multicast response.
    pub response_ttl: u8,
    /// 24 bits identifying the query.
    pub query_id: u32,
    /// One block per hop, nearest the destination first.
    pub blocks: Vec<ResponseBlock>,
}

/// What one router on the path reports (§3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseBlock {
    /// NTP-style time of arrival: 16 bits of seconds, 16 bits of fraction.
    pub query_arrival: u32,
    pub incoming_interface: Ipv4Addr,
    pub outgoing_interface: Ipv4Addr,
    /// The router the traffic comes from on the incoming interface.
    pub previous_hop: Ipv4Addr,
    pub input_packets: u32,
    pub output_packets: u32,
    /// Packets forwarded for the (source, group) pair, or for the source network when `s_flag`.
    pub total_packets: u32,
    pub routing_protocol: RoutingProtocol,
    /// The TTL a packet needs to be forwarded on the outgoing interface.
    pub forwarding_ttl: u8,
    /// The must-be-zero bit, kept for a lossless re-encoding.
    pub mbz: bool,
    /// Set when `total_packets` counts the source network (`source_mask_len`) rather than the host.
    pub s_flag: bool,
    /// Six bits: the mask length of the route used for the source.
    pub source_mask_len: u8,
    pub forwarding_code: ForwardingCode,
}

/// The routing protocol a hop used to reach the source (§3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoutingProtocol {
    Dvmrp,
    Mospf,
    Pim,
    Cbt,
    PimSpecialTable,
    PimStatic,
    DvmrpStatic,
    PimMbgp,
    CbtSpecialTable,
    CbtStatic,
    PimAssert,
    Unknown(u8),
}

impl From<u8> for RoutingProtocol {
    fn from(value: u8) -> Self {
        match value {
            1 => RoutingProtocol::Dvmrp,
            2 => RoutingProtocol::Mospf,
            3 => RoutingProtocol::Pim,
            4 => RoutingProtocol::Cbt,
            5 => RoutingProtocol::PimSpecialTable,
            6 => RoutingProtocol::PimStatic,
            7 => RoutingProtocol::DvmrpStatic,
            8 => RoutingProtocol::PimMbgp,
            9 => RoutingProtocol::CbtSpecialTable,
            10 => RoutingProtocol::CbtStatic,
            11 => RoutingProtocol::PimAssert,
            other => RoutingProtocol::Unknown(other),
        }
    }
}

impl From<RoutingProtocol> for u8 {
    fn from(value: RoutingProtocol) -> Self {
        match value {
            RoutingProtocol::Dvmrp => 1,
            RoutingProtocol::Mospf => 2,
            RoutingProtocol::Pim => 3,
            RoutingProtocol::Cbt => 4,
            RoutingProtocol::PimSpecialTable => 5,
            RoutingProtocol::PimStatic => 6,
            RoutingProtocol::DvmrpStatic => 7,
            RoutingProtocol::PimMbgp => 8,
            RoutingProtocol::CbtSpecialTable => 9,
            RoutingProtocol::CbtStatic => 10,
            RoutingProtocol::PimAssert => 11,
            RoutingProtocol::Unknown(other) => other,
        }
    }
}

impl RoutingProtocol {
    fn name(self) -> &'static str {
        match self {
            RoutingProtocol::Dvmrp => "dvmrp",
            RoutingProtocol::Mospf => "mospf",
            RoutingProtocol::Pim => "pim",
            RoutingProtocol::Cbt => "cbt",
            RoutingProtocol::PimSpecialTable => "pim-special",
            RoutingProtocol::PimStatic => "pim-static",
            RoutingProtocol::DvmrpStatic => "dvmrp-static",
            RoutingProtocol::PimMbgp => "pim-mbgp",
            RoutingProtocol::CbtSpecialTable => "cbt-special",
            RoutingProtocol::CbtStatic => "cbt-static",
            RoutingProtocol::PimAssert => "pim-assert",
            RoutingProtocol::Unknown(_) => "unknown",
        }
    }
}

/// Why a hop did or did not forward (§3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardingCode {
    NoError,
    WrongInterface,
    PruneSent,
    PruneReceived,
    Scoped,
    NoRoute,
    WrongLastHop,
    NotForwarding,
    ReachedRp,
    RpfInterface,
    NoMulticast,
    InfoHidden,
    NoSpace,
    OldRouter,
    AdminProhibited,
    Unknown(u8),
}

impl From<u8> for ForwardingCode {
    fn from(value: u8) -> Self {
        match value {
            0x00 => ForwardingCode::NoError,
            0x01 => ForwardingCode::WrongInterface,
            0x02 => ForwardingCode::PruneSent,
            0x03 => ForwardingCode::PruneReceived,
            0x04 => ForwardingCode::Scoped,
            0x05 => ForwardingCode::NoRoute,
            0x06 => ForwardingCode::WrongLastHop,
            0x07 => ForwardingCode::NotForwarding,
            0x08 => ForwardingCode::ReachedRp,
            0x09 => ForwardingCode::RpfInterface,
            0x0a => ForwardingCode::NoMulticast,
            0x0b => ForwardingCode::InfoHidden,
            0x81 => ForwardingCode::NoSpace,
            0x82 => ForwardingCode::OldRouter,
            0x83 => ForwardingCode::AdminProhibited,
            other => ForwardingCode::Unknown(other),
        }
    }
}

impl From<ForwardingCode> for u8 {
    fn from(value: ForwardingCode) -> Self {
        match value {
            ForwardingCode::NoError => 0x00,
            ForwardingCode::WrongInterface => 0x01,
            ForwardingCode::PruneSent => 0x02,
            ForwardingCode::PruneReceived => 0x03,
            ForwardingCode::Scoped => 0x04,
            ForwardingCode::NoRoute => 0x05,
            ForwardingCode::WrongLastHop => 0x06,
            ForwardingCode::NotForwarding => 0x07,
            ForwardingCode::ReachedRp => 0x08,
            ForwardingCode::RpfInterface => 0x09,
            ForwardingCode::NoMulticast => 0x0a,
            ForwardingCode::InfoHidden => 0x0b,
            ForwardingCode::NoSpace => 0x81,
            ForwardingCode::OldRouter => 0x82,
            ForwardingCode::AdminProhibited => 0x83,
            ForwardingCode::Unknown(other) => other,
        }
    }
}

impl ForwardingCode {
    /// Codes with the high bit set end the trace (§3: fatal errors).
    pub fn is_fatal(self) -> bool {
        u8::from(self) & 0x80 != 0
    }

    fn name(self) -> &'static str {
        match self {
            ForwardingCode::NoError => "no-error",
            ForwardingCode::WrongInterface => "wrong-if",
            ForwardingCode::PruneSent => "prune-sent",
            ForwardingCode::PruneReceived => "prune-rcvd",
            ForwardingCode::Scoped => "scoped",
            ForwardingCode::NoRoute => "no-route",
            ForwardingCode::WrongLastHop => "wrong-last-hop",
            ForwardingCode::NotForwarding => "not-forwarding",
            ForwardingCode::ReachedRp => "reached-rp",
            ForwardingCode::RpfInterface => "rpf-if",
            ForwardingCode::NoMulticast => "no-multicast",
            ForwardingCode::InfoHidden => "info-hidden",
            ForwardingCode::NoSpace => "no-space",
            ForwardingCode::OldRouter => "old-router",
            ForwardingCode::AdminProhibited => "admin-prohib",
            ForwardingCode::Unknown(_) => "unknown",
        }
    }
}

impl Repr {
    /// Decodes a whole IGMP message of type 0x1e or 0x1f, verifying its checksum.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let kind = match r.u8()? {
            IGMP_TYPE_MTRACE_QUERY => Kind::Query,
            IGMP_TYPE_MTRACE_RESPONSE => Kind::Response,
            _ => return Err(Error::Malformed),
        };
        let hops = r.u8()?;
        r.skip(2)?;
        let group = r.addr::<V4>()?;
        let source = r.addr::<V4>()?;
        let destination = r.addr::<V4>()?;
        let response_address = r.addr::<V4>()?;
        let response_ttl = r.u8()?;
        let [a, b, c] = r.array::<3>()?;
        let query_id = u32::from_be_bytes([0, a, b, c]);
        if r.remaining() % BLOCK_LEN != 0 {
            return Err(Error::BadLength);
        }
        if checksum(bytes) != 0 {
            return Err(Error::BadChecksum);
        }
        let mut blocks = Vec::with_capacity(r.remaining() / BLOCK_LEN);
        while !r.is_empty() {
            blocks.push(ResponseBlock::parse(&mut r)?);
        }
        Ok(Repr { kind, hops, group, source, destination, response_address, response_ttl, query_id, blocks })
    }

    /// Octets [`Repr::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + BLOCK_LEN * self.blocks.len()
    }

    /// Encodes the message into `buf`, filling the checksum; returns the octets written.
    /// `Malformed` if the query id or a source mask length does not fit its field.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        if self.query_id > MAX_QUERY_ID {
            return Err(Error::Malformed);
        }
        let mut w = Writer::new(buf);
        w.u8(match self.kind {
            Kind::Query => IGMP_TYPE_MTRACE_QUERY,
            Kind::Response => IGMP_TYPE_MTRACE_RESPONSE,
        })?;
        w.u8(self.hops)?;
        w.u16(0)?;
        w.addr::<V4>(self.group)?;
        w.addr::<V4>(self.source)?;
        w.addr::<V4>(self.destination)?;
        w.addr::<V4>(self.response_address)?;
        w.u32(u32::from(self.response_ttl) << 24 | self.query_id)?;
        for block in &self.blocks {
            block.emit(&mut w)?;
        }
        igmp::finish_message(&mut w)
    }

    /// The encoded message.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        encode_to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

impl ResponseBlock {
    fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let query_arrival = r.u32()?;
        let incoming_interface = r.addr::<V4>()?;
        let outgoing_interface = r.addr::<V4>()?;
        let previous_hop = r.addr::<V4>()?;
        let input_packets = r.u32()?;
        let output_packets = r.u32()?;
        let total_packets = r.u32()?;
        let routing_protocol = RoutingProtocol::from(r.u8()?);
        let forwarding_ttl = r.u8()?;
        let mask_octet = r.u8()?;
        let forwarding_code = ForwardingCode::from(r.u8()?);
        Ok(ResponseBlock {
            query_arrival,
            incoming_interface,
            outgoing_interface,
            previous_hop,
            input_packets,
            output_packets,
            total_packets,
            routing_protocol,
            forwarding_ttl,
            mbz: mask_octet & MBZ_BIT != 0,
            s_flag: mask_octet & S_BIT != 0,
            source_mask_len: mask_octet & MAX_SOURCE_MASK_LEN,
            forwarding_code,
        })
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        if self.source_mask_len > MAX_SOURCE_MASK_LEN {
            return Err(Error::Malformed);
        }
        w.u32(self.query_arrival)?;
        w.addr::<V4>(self.incoming_interface)?;
        w.addr::<V4>(self.outgoing_interface)?;
        w.addr::<V4>(self.previous_hop)?;
        w.u32(self.input_packets)?;
        w.u32(self.output_packets)?;
        w.u32(self.total_packets)?;
        w.u8(self.routing_protocol.into())?;
        w.u8(self.forwarding_ttl)?;
        let mbz = if self.mbz { MBZ_BIT } else { 0 };
        let s = if self.s_flag { S_BIT } else { 0 };
        w.u8(mbz | s | self.source_mask_len)?;
        w.u8(self.forwarding_code.into())
    }
}

impl fmt::Display for Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Query if self.blocks.is_empty() => "query",
            Kind::Query => "request",
            Kind::Response => "response",
        };
        write!(
            f,
            "mtrace {kind} {} -> {} group {} hops {} resp {} ttl {} qid {:#08x}",
            self.source,
            self.destination,
            self.group,
            self.hops,
            self.response_address,
            self.response_ttl,
            self.query_id
        )?;
        for block in &self.blocks {
            write!(
                f,
                " [{} -> {} prev {} {} ttl {} /{}{} {}]",
                block.incoming_interface,
                block.outgoing_interface,
                block.previous_hop,
                block.routing_protocol.name(),
                block.forwarding_ttl,
                block.source_mask_len,
                if block.s_flag { " S" } else { "" },
                block.forwarding_code.name()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use proptest::prelude::*;

    fn addr() -> impl Strategy<Value = Ipv4Addr> {
        any::<u32>().prop_map(Ipv4Addr::from)
    }

    pub fn block() -> impl Strategy<Value = ResponseBlock> {
        (
            (any::<u32>(), addr(), addr(), addr()),
            (any::<u32>(), any::<u32>(), any::<u32>()),
            (any::<u8>(), any::<u8>(), any::<bool>(), any::<bool>(), 0..=MAX_SOURCE_MASK_LEN, any::<u8>()),
        )
            .prop_map(
                |(
                    (query_arrival, incoming_interface, outgoing_interface, previous_hop),
                    (input_packets, output_packets, total_packets),
                    (protocol, forwarding_ttl, mbz, s_flag, source_mask_len, code),
                )| ResponseBlock {
                    query_arrival,
                    incoming_interface,
                    outgoing_interface,
                    previous_hop,
                    input_packets,
                    output_packets,
                    total_packets,
                    routing_protocol: RoutingProtocol::from(protocol),
                    forwarding_ttl,
                    mbz,
                    s_flag,
                    source_mask_len,
                    forwarding_code: ForwardingCode::from(code),
                },
            )
    }

    pub fn repr() -> impl Strategy<Value = Repr> {
        (
            prop_oneof![Just(Kind::Query), Just(Kind::Response)],
            any::<u8>(),
            (addr(), addr(), addr(), addr()),
            any::<u8>(),
            0..=MAX_QUERY_ID,
            proptest::collection::vec(block(), 0..4),
        )
            .prop_map(
                |(
                    kind,
                    hops,
                    (group, source, destination, response_address),
                    response_ttl,
                    query_id,
                    blocks,
                )| {
                    Repr {
                        kind,
                        hops,
                        group,
                        source,
                        destination,
                        response_address,
                        response_ttl,
                        query_id,
                        blocks,
                    }
                },
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::testutil::{
        assert_checksum_flips_detected, assert_truncations_fail, mrouted_frame as frame, mrouted_messages,
    };

    fn captured_mtrace() -> Vec<Vec<u8>> {
        mrouted_messages(&[IGMP_TYPE_MTRACE_QUERY, IGMP_TYPE_MTRACE_RESPONSE])
    }

    fn ip(text: &str) -> Ipv4Addr {
        text.parse().unwrap()
    }

    /// The block the last-hop router 198.18.2.2 adds in frames 62 and 63.
    fn last_hop_block() -> ResponseBlock {
        ResponseBlock {
            query_arrival: 0x3b69_25c6,
            incoming_interface: ip("198.18.2.2"),
            outgoing_interface: ip("198.18.3.1"),
            previous_hop: ip("198.18.2.1"),
            input_packets: 0x65,
            output_packets: 0x64,
            total_packets: 0x65,
            routing_protocol: RoutingProtocol::Dvmrp,
            forwarding_ttl: 1,
            mbz: false,
            s_flag: false,
            source_mask_len: 24,
            forwarding_code: ForwardingCode::NoError,
        }
    }

    fn request() -> Repr {
        Repr {
            kind: Kind::Query,
            hops: 32,
            group: ip("239.1.1.1"),
            source: ip("198.18.1.10"),
            destination: ip("198.18.3.10"),
            response_address: ip("198.18.3.10"),
            response_ttl: 0x63,
            query_id: 0x3141ff,
            blocks: vec![last_hop_block()],
        }
    }

    #[test]
    fn golden_request() {
        let bytes = frame(62);
        let repr = request();
        assert_eq!(Repr::parse(&bytes).unwrap(), repr);
        assert_eq!(repr.to_bytes().unwrap(), bytes);
        assert_eq!(
            repr.to_string(),
            "mtrace request 198.18.1.10 -> 198.18.3.10 group 239.1.1.1 hops 32 resp 198.18.3.10 \
             ttl 99 qid 0x3141ff [198.18.2.2 -> 198.18.3.1 prev 198.18.2.1 dvmrp ttl 1 /24 no-error]"
        );
    }

    #[test]
    fn golden_response() {
        let bytes = frame(63);
        let mut repr = request();
        repr.kind = Kind::Response;
        repr.blocks.push(ResponseBlock {
            query_arrival: 0x3b69_25c9,
            incoming_interface: ip("198.18.1.1"),
            outgoing_interface: ip("198.18.2.1"),
            previous_hop: ip("0.0.0.0"),
            input_packets: 0xdb,
            output_packets: 0x65,
            total_packets: 0xdb,
            routing_protocol: RoutingProtocol::Dvmrp,
            forwarding_ttl: 1,
            mbz: false,
            s_flag: false,
            source_mask_len: 24,
            forwarding_code: ForwardingCode::NoError,
        });
        assert_eq!(Repr::parse(&bytes).unwrap(), repr);
        assert_eq!(repr.to_bytes().unwrap(), bytes);
    }

    #[test]
    fn golden_pruned_path_and_multicast_response_address() {
        let request = Repr::parse(&frame(72)).unwrap();
        assert_eq!(request.response_address, ip("224.0.1.32"));
        // tshark reads these fields the same way (response TTL 147, query id 8199776).
        assert_eq!((request.response_ttl, request.query_id), (147, 8_199_776));
        assert_eq!(request.blocks[0].forwarding_code, ForwardingCode::PruneSent);
        let response = Repr::parse(&frame(74)).unwrap();
        assert_eq!(response.kind, Kind::Response);
        let codes: Vec<_> = response.blocks.iter().map(|b| b.forwarding_code).collect();
        assert_eq!(codes, [ForwardingCode::PruneSent, ForwardingCode::PruneReceived]);
        assert!(!codes[1].is_fatal());
        assert!(ForwardingCode::NoSpace.is_fatal());
    }

    #[test]
    fn every_captured_message_reencodes_byte_for_byte() {
        let messages = captured_mtrace();
        assert_eq!(messages.len(), 16);
        for bytes in messages {
            let repr = Repr::parse(&bytes).unwrap();
            assert_eq!(repr.to_bytes().unwrap(), bytes, "{repr}");
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        assert_truncations_fail(&captured_mtrace(), Repr::parse);
    }

    #[test]
    fn bad_checksums_are_detected() {
        assert_checksum_flips_detected(&captured_mtrace(), Repr::parse);
    }

    #[test]
    fn out_of_range_fields_are_refused() {
        let mut repr = request();
        repr.query_id = MAX_QUERY_ID + 1;
        assert_eq!(repr.to_bytes(), Err(Error::Malformed));
        let mut repr = request();
        repr.blocks[0].source_mask_len = 64;
        assert_eq!(repr.to_bytes(), Err(Error::Malformed));
        let mut buf = [0u8; HEADER_LEN + BLOCK_LEN - 1];
        assert_eq!(request().emit(&mut buf), Err(Error::BufferTooSmall));
    }

    #[test]
    fn other_igmp_types_are_refused() {
        let mut bytes = frame(62);
        bytes[0] = 0x13;
        assert_eq!(Repr::parse(&bytes), Err(Error::Malformed));
    }

    proptest! {
        #[test]
        fn emit_then_parse_round_trips(repr in strategies::repr()) {
            let bytes = repr.to_bytes().unwrap();
            prop_assert_eq!(bytes.len(), repr.buffer_len());
            prop_assert_eq!(Repr::parse(&bytes).unwrap(), repr);
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = Repr::parse(&bytes);
        }

        #[test]
        fn accepted_messages_reencode_exactly(
            kind in prop_oneof![Just(IGMP_TYPE_MTRACE_QUERY), Just(IGMP_TYPE_MTRACE_RESPONSE)],
            rest in proptest::collection::vec(any::<u8>(), 0..120),
        ) {
            let mut bytes = vec![kind, 0, 0, 0];
            bytes.extend(rest);
            let sum = checksum(&bytes);
            if let Some(field) = bytes.get_mut(2..4) {
                field.copy_from_slice(&sum.to_be_bytes());
            }
            if let Ok(repr) = Repr::parse(&bytes) {
                prop_assert_eq!(repr.to_bytes().unwrap(), bytes);
            }
        }
    }
}
