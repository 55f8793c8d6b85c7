//! IGMP messages, versions 1 to 3: RFC 1112 Appendix I (v1), RFC 2236 §2 (v2), RFC 3376 §4 (v3).
//!
//! A Membership Query's version follows from its length and Max Resp Code (RFC 3376 §7.1): 8
//! octets with a zero code is IGMPv1, 8 octets otherwise IGMPv2, 12 octets or more IGMPv3; other
//! lengths are rejected. The checksum covers the whole IGMP message (the IP payload). DVMRP (0x13)
//! and multicast traceroute (0x1e, 0x1f) share the IP protocol number but are decoded elsewhere:
//! this codec keeps them, and any other type, as [`IgmpRepr::Unknown`].

use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use hato_core::V4;
use serde::Serialize;

use crate::checksum;
use crate::cursor::{encode_to_vec, Reader, Writer};
use crate::gmp::{self, QueryV3, ReportV3};
use crate::{Error, Result};

/// Membership Query (all versions).
pub const TYPE_QUERY: u8 = 0x11;
/// IGMPv1 Membership Report.
pub const TYPE_REPORT_V1: u8 = 0x12;
/// IGMPv2 Membership Report.
pub const TYPE_REPORT_V2: u8 = 0x16;
/// IGMPv2 Leave Group.
pub const TYPE_LEAVE: u8 = 0x17;
/// IGMPv3 Membership Report.
pub const TYPE_REPORT_V3: u8 = 0x22;

/// An IGMP message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum IgmpRepr {
    /// IGMPv1 query: 8 octets, Max Resp Code 0 (RFC 1112 Appendix I). The group is normally zero.
    QueryV1 { group: Ipv4Addr },
    /// IGMPv2 query: 8 octets, non-zero Max Resp Time in tenths of a second (RFC 2236 §2.2).
    QueryV2 { max_resp_code: u8, group: Ipv4Addr },
    /// IGMPv3 query: 12 octets or more (RFC 3376 §4.1); `max_resp_code` fits 8 bits.
    QueryV3(QueryV3<V4>),
    /// IGMPv1 Membership Report (RFC 1112 Appendix I).
    ReportV1 { group: Ipv4Addr },
    /// IGMPv2 Membership Report (RFC 2236 §2).
    ReportV2 { group: Ipv4Addr },
    /// IGMPv2 Leave Group (RFC 2236 §2).
    Leave { group: Ipv4Addr },
    /// IGMPv3 Membership Report (RFC 3376 §4.2).
    ReportV3(ReportV3<V4>),
    /// Any other type (DVMRP, mtrace, ...): the second octet and the octets after the checksum.
    Unknown { kind: u8, code: u8, body: Vec<u8> },
}

impl IgmpRepr {
    /// Parses an IGMP message (the whole IP payload) and verifies its checksum.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let kind = reader.u8()?;
        let code = reader.u8()?;
        reader.skip(2)?;
        // RFC 3376 §4.1.10 and RFC 2236 §2: a message may be longer than its fields; the extra
        // octets are part of the checksum but otherwise ignored.
        let repr = match kind {
            TYPE_QUERY => match (bytes.len(), code) {
                (8, 0) => IgmpRepr::QueryV1 { group: reader.addr::<V4>()? },
                (8, max_resp_code) => IgmpRepr::QueryV2 { max_resp_code, group: reader.addr::<V4>()? },
                (12.., max_resp_code) => {
                    let group = reader.addr::<V4>()?;
                    IgmpRepr::QueryV3(QueryV3::parse_tail(&mut reader, u16::from(max_resp_code), group)?)
                }
                (..8, _) => return Err(Error::Truncated),
                _ => return Err(Error::BadLength),
            },
            TYPE_REPORT_V1 => IgmpRepr::ReportV1 { group: reader.addr::<V4>()? },
            TYPE_REPORT_V2 => IgmpRepr::ReportV2 { group: reader.addr::<V4>()? },
            TYPE_LEAVE => IgmpRepr::Leave { group: reader.addr::<V4>()? },
            TYPE_REPORT_V3 => IgmpRepr::ReportV3(ReportV3::parse_body(&mut reader)?),
            kind => IgmpRepr::Unknown { kind, code, body: reader.take_rest().to_vec() },
        };
        if checksum::checksum(bytes) != 0 {
            return Err(Error::BadChecksum);
        }
        Ok(repr)
    }

    /// The IGMP type octet.
    pub fn kind(&self) -> u8 {
        match self {
            IgmpRepr::QueryV1 { .. } | IgmpRepr::QueryV2 { .. } | IgmpRepr::QueryV3(_) => TYPE_QUERY,
            IgmpRepr::ReportV1 { .. } => TYPE_REPORT_V1,
            IgmpRepr::ReportV2 { .. } => TYPE_REPORT_V2,
            IgmpRepr::Leave { .. } => TYPE_LEAVE,
            IgmpRepr::ReportV3(_) => TYPE_REPORT_V3,
            IgmpRepr::Unknown { kind, .. } => *kind,
        }
    }

    /// The encoded length in octets.
    pub fn buffer_len(&self) -> usize {
        match self {
            IgmpRepr::QueryV3(query) => 8 + query.tail_len(),
            IgmpRepr::ReportV3(report) => 4 + report.body_len(),
            IgmpRepr::Unknown { body, .. } => 4 + body.len(),
            _ => 8,
        }
    }

    /// Writes the message and its checksum; returns its length. `Malformed` for a value the
    /// encoding cannot carry (a v2 query with code 0, a v3 query code above 255, a type that has
    /// its own variant in `Unknown`, ...).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut writer = Writer::new(buf);
        writer.u8(self.kind())?;
        match self {
            IgmpRepr::QueryV1 { group }
            | IgmpRepr::ReportV1 { group }
            | IgmpRepr::ReportV2 { group }
            | IgmpRepr::Leave { group } => {
                writer.u8(0)?;
                writer.u16(0)?;
                writer.addr::<V4>(*group)?;
            }
            IgmpRepr::QueryV2 { max_resp_code, group } => {
                if *max_resp_code == 0 {
                    return Err(Error::Malformed);
                }
                writer.u8(*max_resp_code)?;
                writer.u16(0)?;
                writer.addr::<V4>(*group)?;
            }
            IgmpRepr::QueryV3(query) => {
                writer.u8(u8::try_from(query.max_resp_code).map_err(|_| Error::Malformed)?)?;
                writer.u16(0)?;
                writer.addr::<V4>(query.group)?;
                query.emit_tail(&mut writer)?;
            }
            IgmpRepr::ReportV3(report) => {
                writer.u8(0)?;
                writer.u16(0)?;
                report.emit_body(&mut writer)?;
            }
            IgmpRepr::Unknown { kind, code, body } => {
                if matches!(*kind, TYPE_QUERY | TYPE_REPORT_V1 | TYPE_REPORT_V2 | TYPE_LEAVE | TYPE_REPORT_V3)
                {
                    return Err(Error::Malformed);
                }
                writer.u8(*code)?;
                writer.u16(0)?;
                writer.bytes(body)?;
            }
        }
        finish_message(&mut writer)
    }

    /// The encoded message.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        encode_to_vec(self.buffer_len(), |buf| self.emit(buf))
    }
}

impl fmt::Display for IgmpRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IgmpRepr::QueryV1 { group } => write!(f, "IGMPv1 query {group}"),
            IgmpRepr::QueryV2 { max_resp_code, group } => {
                write!(f, "IGMPv2 query {group} mrt {:?}", max_resp_time(*max_resp_code))
            }
            IgmpRepr::QueryV3(query) => write!(f, "IGMPv3 query {query}"),
            IgmpRepr::ReportV1 { group } => write!(f, "IGMPv1 report {group}"),
            IgmpRepr::ReportV2 { group } => write!(f, "IGMPv2 report {group}"),
            IgmpRepr::Leave { group } => write!(f, "IGMPv2 leave {group}"),
            IgmpRepr::ReportV3(report) => write!(f, "IGMPv3 report {report}"),
            IgmpRepr::Unknown { kind, code, body } => {
                write!(f, "IGMP type {kind:#04x} code {code} length {}", 4 + body.len())
            }
        }
    }
}

/// Fills in the checksum of the IGMP message `writer` holds (DVMRP and mtrace included), computed
/// over the whole message (RFC 2236 §2.3, RFC 3376 §4.1.2); returns the message length.
pub(crate) fn finish_message(writer: &mut Writer<'_>) -> Result<usize> {
    let sum = checksum::checksum(writer.written());
    writer.patch_u16(2, sum)?;
    Ok(writer.position())
}

/// The time a Max Resp Code allows (tenths of a second; floating point above 127, RFC 3376
/// §4.1.1). For IGMPv2 queries the same 8-bit field is linear, and every code below 128 reads the
/// same either way; RFC 2236 codes above 127 are read as IGMPv3 would.
pub fn max_resp_time(code: u8) -> Duration {
    Duration::from_millis(100 * u64::from(gmp::decode_float8(code)))
}

/// The smallest Max Resp Code allowing at least `time` (rounded up to a tenth of a second and to
/// the next representable code, saturating at 3174.4 s).
pub fn max_resp_code_for(time: Duration) -> u8 {
    gmp::encode_float8(gmp::ceil_units(time, Duration::from_millis(100)))
}

#[cfg(test)]
pub(crate) mod strategies {
    //! Proptest strategies for arbitrary IGMP messages.

    use proptest::prelude::*;

    use super::*;
    use crate::gmp::strategies as gmp_strategies;

    pub(crate) fn ipv4() -> impl Strategy<Value = Ipv4Addr> + Clone {
        any::<[u8; 4]>().prop_map(Ipv4Addr::from)
    }

    pub(crate) fn igmp() -> impl Strategy<Value = IgmpRepr> {
        let unknown_kind = any::<u8>().prop_filter("own variant", |kind| {
            !matches!(*kind, TYPE_QUERY | TYPE_REPORT_V1 | TYPE_REPORT_V2 | TYPE_LEAVE | TYPE_REPORT_V3)
        });
        prop_oneof![
            ipv4().prop_map(|group| IgmpRepr::QueryV1 { group }),
            (1..=u8::MAX, ipv4())
                .prop_map(|(max_resp_code, group)| IgmpRepr::QueryV2 { max_resp_code, group }),
            gmp_strategies::query_v3::<V4>(0..=255u16, ipv4()).prop_map(IgmpRepr::QueryV3),
            ipv4().prop_map(|group| IgmpRepr::ReportV1 { group }),
            ipv4().prop_map(|group| IgmpRepr::ReportV2 { group }),
            ipv4().prop_map(|group| IgmpRepr::Leave { group }),
            gmp_strategies::report_v3::<V4>(ipv4()).prop_map(IgmpRepr::ReportV3),
            (unknown_kind, any::<u8>(), prop::collection::vec(any::<u8>(), 0..32))
                .prop_map(|(kind, code, body)| IgmpRepr::Unknown { kind, code, body }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::gmp::RecordType;
    use crate::ip::Ipv4Header;
    use crate::testutil::{assert_checksum_flips_detected, group_record, hex, query_v3};

    /// Parses an IPv4 packet from the captures in testdata/captures and returns its IGMP payload.
    fn igmp_payload(packet: &[u8]) -> Vec<u8> {
        let (header, payload) = Ipv4Header::parse(packet).unwrap();
        assert_eq!(header.protocol, crate::ip::PROTO_IGMP);
        payload.to_vec()
    }

    fn addr(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    /// (IPv4 packet from a capture, the IGMP message it carries).
    fn goldens() -> Vec<(&'static str, Vec<u8>, IgmpRepr)> {
        use RecordType::*;
        vec![
            // frr-pimsm-igmp.pcap #7: IGMPv3 general query from FRR (which sets S here too).
            (
                "frr #7 general query",
                hex("46c00024a08e40000102996ec6120403e0000001940400001164e41e000000000a7d0000"),
                IgmpRepr::QueryV3(query_v3("0.0.0.0", 100, true, &[])),
            ),
            // #16: group-specific query, 1 s.
            (
                "frr #16 group query",
                hex("46c0002405a6400001022456c6120403ef01010194040000110afc75ef010101027d0000"),
                IgmpRepr::QueryV3(query_v3("239.1.1.1", 10, false, &[])),
            ),
            // #15: FRR's group-and-source query listing 0.0.0.0 after an ASM leave.
            (
                "frr #15 group-and-source query",
                hex("46c0002805a5400001022453c6120403ef01010194040000110afc74ef010101027d000100000000"),
                IgmpRepr::QueryV3(query_v3("239.1.1.1", 10, false, &["0.0.0.0"])),
            ),
            // #44: group-and-source-specific query for an SSM channel.
            (
                "frr #44 group-and-source query",
                hex("46c00028ba93400001025c65c6121e02e801010194040000110a2958e8010101027d0001c612140a"),
                IgmpRepr::QueryV3(query_v3("232.1.1.1", 10, false, &["198.18.20.10"])),
            ),
            // #4: Linux host report, CHANGE_TO_EXCLUDE x2.
            (
                "frr #4 to-ex report",
                hex("46c000300000400001023addc6120302e000001694040000220015e40000000204000000e000001604000000e0000002"),
                IgmpRepr::ReportV3(ReportV3 {
                    records: vec![
                        group_record(ChangeToExclude, "224.0.0.22", &[]),
                        group_record(ChangeToExclude, "224.0.0.2", &[]),
                    ],
                }),
            ),
            // #12: MODE_IS_EXCLUDE x3 (answer to a general query).
            (
                "frr #12 is-ex report",
                hex("46c0003800004000010239d4c6120403e000001694040000220037d50000000302000000e000000d02000000e000001602000000e0000002"),
                IgmpRepr::ReportV3(ReportV3 {
                    records: vec![
                        group_record(ModeIsExclude, "224.0.0.13", &[]),
                        group_record(ModeIsExclude, "224.0.0.22", &[]),
                        group_record(ModeIsExclude, "224.0.0.2", &[]),
                    ],
                }),
            ),
            // #14: CHANGE_TO_INCLUDE with no sources (a leave).
            (
                "frr #14 to-in report",
                hex("46c0002800004000010239ddc612040ae0000016940400002200eafb0000000103000000ef010101"),
                IgmpRepr::ReportV3(ReportV3 { records: vec![group_record(ChangeToInclude, "239.1.1.1", &[])] }),
            ),
            // #37: ALLOW_NEW_SOURCES.
            (
                "frr #37 allow report",
                hex("46c0002c0000400001021fd9c6121e0ae000001694040000220015de0000000105000001e8010101c612140a"),
                IgmpRepr::ReportV3(ReportV3 {
                    records: vec![group_record(AllowNewSources, "232.1.1.1", &["198.18.20.10"])],
                }),
            ),
            // #41: MODE_IS_INCLUDE.
            (
                "frr #41 is-in report",
                hex("46c0002c0000400001021fd9c6121e0ae000001694040000220019de0000000101000001e8010101c612140a"),
                IgmpRepr::ReportV3(ReportV3 {
                    records: vec![group_record(ModeIsInclude, "232.1.1.1", &["198.18.20.10"])],
                }),
            ),
            // #43: BLOCK_OLD_SOURCES.
            (
                "frr #43 block report",
                hex("46c0002c0000400001021fd9c6121e0ae000001694040000220014de0000000106000001e8010101c612140a"),
                IgmpRepr::ReportV3(ReportV3 {
                    records: vec![group_record(BlockOldSources, "232.1.1.1", &["198.18.20.10"])],
                }),
            ),
            // pimdm-py-pimdm-igmpv2.pcap #11: IGMPv2 report.
            (
                "pim-dm #11 v2 report",
                hex("46c0002000004000010229f9c612040aef010101940400001600f9fcef010101"),
                IgmpRepr::ReportV2 { group: addr("239.1.1.1") },
            ),
            // #20: IGMPv2 leave.
            (
                "pim-dm #20 leave",
                hex("46c0002000004000010239f9c612040ae0000002940400001700f8fcef010101"),
                IgmpRepr::Leave { group: addr("239.1.1.1") },
            ),
            // #21: IGMPv2 group-specific query, no Router Alert.
            (
                "pim-dm #21 v2 query",
                hex("4500001cfbbd40000102c40ac6120403ef010101110afef2ef010101"),
                IgmpRepr::QueryV2 { max_resp_code: 10, group: addr("239.1.1.1") },
            ),
            // pimdd-pimdm-lan.pcapng #1: pimd-dense's IGMPv3 general query with QRV 0, QQIC 0.
            (
                "pimdd #1 general query",
                hex("46c0002463590000010218a5c6120202e0000001940400001164ee9b0000000000000000"),
                IgmpRepr::QueryV3(QueryV3 {
                    max_resp_code: 100,
                    group: Ipv4Addr::UNSPECIFIED,
                    suppress_router_side: false,
                    robustness: 0,
                    qqic: 0,
                    sources: Vec::new(),
                }),
            ),
        ]
    }

    #[test]
    fn goldens_parse_and_reencode() {
        for (name, packet, expected) in goldens() {
            let (header, payload) = Ipv4Header::parse(&packet).unwrap();
            let message = igmp_payload(&packet);
            assert_eq!(IgmpRepr::parse(&message).as_ref(), Ok(&expected), "{name}");
            assert_eq!(expected.buffer_len(), message.len(), "{name}");
            assert_eq!(expected.to_bytes().unwrap(), message, "{name}");
            assert_eq!(header.to_bytes(payload).unwrap(), packet, "{name}");
            assert!(!expected.to_string().is_empty());
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        for (name, packet, _) in goldens() {
            let message = igmp_payload(&packet);
            for len in 0..message.len() {
                match IgmpRepr::parse(&message[..len]) {
                    Err(_) => {}
                    // RFC 3376 §7.1 decides a query's version by its length: the first 8 octets of
                    // pimd-dense's v3 query, whose last 4 octets are zero, are a valid v2 query.
                    Ok(IgmpRepr::QueryV2 { .. }) if len == 8 && name.starts_with("pimdd") => {}
                    Ok(other) => panic!("{name} cut at {len} parsed as {other:?}"),
                }
            }
        }
    }

    #[test]
    fn bad_checksum_is_detected() {
        let messages: Vec<_> = goldens().iter().map(|(_, packet, _)| igmp_payload(packet)).collect();
        assert_checksum_flips_detected(&messages, IgmpRepr::parse);
    }

    #[test]
    fn query_version_by_length_and_code() {
        let v1 = hex("11000000e0000001");
        let mut v1 = v1;
        let sum = checksum::checksum(&v1);
        v1[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(IgmpRepr::parse(&v1), Ok(IgmpRepr::QueryV1 { group: addr("224.0.0.1") }));
        // RFC 3376 §7.1: 9 to 11 octets is no query of any version.
        let mut odd = hex("1164000000000000000000");
        let sum = checksum::checksum(&odd);
        odd[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(IgmpRepr::parse(&odd), Err(Error::BadLength));
        assert_eq!(
            IgmpRepr::QueryV2 { max_resp_code: 0, group: addr("0.0.0.0") }.to_bytes(),
            Err(Error::Malformed)
        );
    }

    #[test]
    fn other_types_are_kept() {
        // A DVMRP Probe header (type 0x13, code 1) with some body octets.
        let repr = IgmpRepr::Unknown { kind: 0x13, code: 1, body: vec![0, 0, 0xff, 3, 1, 2, 3, 4] };
        let bytes = repr.to_bytes().unwrap();
        assert_eq!(checksum::checksum(&bytes), 0);
        assert_eq!(IgmpRepr::parse(&bytes), Ok(repr));
        let own = IgmpRepr::Unknown { kind: TYPE_LEAVE, code: 0, body: vec![0; 4] };
        assert_eq!(own.to_bytes(), Err(Error::Malformed));
    }

    #[test]
    fn max_resp_code_helpers() {
        assert_eq!(max_resp_time(100), Duration::from_secs(10));
        assert_eq!(max_resp_code_for(Duration::from_secs(10)), 100);
        assert_eq!(max_resp_code_for(Duration::from_millis(10_001)), 101);
        // 250 tenths: 0x8f is 248, so the code rounds up to 0x90 (256).
        assert_eq!(max_resp_time(0x8f), Duration::from_millis(24_800));
        assert_eq!(max_resp_code_for(Duration::from_secs(25)), 0x90);
        assert_eq!(max_resp_time(0x90), Duration::from_millis(25_600));
        assert_eq!(max_resp_code_for(Duration::from_secs(100_000)), 0xff);
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(repr in strategies::igmp()) {
            let bytes = repr.to_bytes().unwrap();
            prop_assert_eq!(bytes.len(), repr.buffer_len());
            prop_assert_eq!(IgmpRepr::parse(&bytes), Ok(repr));
        }

        #[test]
        fn short_buffer_is_an_error(repr in strategies::igmp()) {
            let mut buf = vec![0; repr.buffer_len() - 1];
            prop_assert_eq!(repr.emit(&mut buf), Err(Error::BufferTooSmall));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
            let _ = IgmpRepr::parse(&bytes);
        }

        #[test]
        fn arbitrary_bytes_with_valid_checksum_never_panic(
            kind in prop::sample::select(vec![0x11u8, 0x12, 0x16, 0x17, 0x22, 0x13]),
            mut bytes in prop::collection::vec(any::<u8>(), 4..96),
        ) {
            bytes[0] = kind;
            bytes[2] = 0;
            bytes[3] = 0;
            let sum = checksum::checksum(&bytes);
            bytes[2..4].copy_from_slice(&sum.to_be_bytes());
            if let Ok(repr) = IgmpRepr::parse(&bytes) {
                prop_assert_eq!(IgmpRepr::parse(&repr.to_bytes().unwrap()), Ok(repr));
            }
        }
    }
}
