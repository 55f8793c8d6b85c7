//! MLD messages, versions 1 and 2: RFC 2710 §3 (MLDv1) and RFC 3810 §5 (MLDv2), carried in ICMPv6.
//!
//! A Multicast Listener Query's version follows from its length (RFC 3810 §8.1): 24 octets is
//! MLDv1, 28 octets or more MLDv2; other lengths are rejected. The ICMPv6 checksum includes the
//! IPv6 pseudo-header (RFC 8200 §8.1, next header 58), so `parse` and `emit` take the packet's
//! source and destination. Other ICMPv6 types are kept as [`MldRepr::Unknown`].

use std::fmt;
use std::net::Ipv6Addr;
use std::time::Duration;

use hato_core::V6;
use serde::Serialize;

use crate::checksum::{self, ChecksumContext};
use crate::cursor::{encode_to_vec, Reader, Writer};
use crate::gmp::{self, QueryV3, ReportV3};
use crate::ip::PROTO_ICMPV6;
use crate::{Error, Result};

/// Multicast Listener Query (both versions).
pub const TYPE_QUERY: u8 = 130;
/// MLDv1 Multicast Listener Report.
pub const TYPE_REPORT_V1: u8 = 131;
/// MLDv1 Multicast Listener Done.
pub const TYPE_DONE: u8 = 132;
/// MLDv2 Multicast Listener Report.
pub const TYPE_REPORT_V2: u8 = 143;

/// An MLD message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum MldRepr {
    /// MLDv1 query: 24 octets; Maximum Response Delay in milliseconds (RFC 2710 §3.4).
    QueryV1 { max_resp_delay: u16, group: Ipv6Addr },
    /// MLDv2 query: 28 octets or more (RFC 3810 §5.1); `max_resp_code` is the 16-bit code.
    QueryV2(QueryV3<V6>),
    /// MLDv1 Report (RFC 2710 §3).
    ReportV1 { group: Ipv6Addr },
    /// MLDv1 Done (RFC 2710 §3).
    Done { group: Ipv6Addr },
    /// MLDv2 Report (RFC 3810 §5.2).
    ReportV2(ReportV3<V6>),
    /// Any other ICMPv6 message: its code and the octets after the checksum.
    Unknown { kind: u8, code: u8, body: Vec<u8> },
}

impl MldRepr {
    /// Parses an ICMPv6 message sent from `src` to `dst` and verifies its checksum.
    pub fn parse(bytes: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let kind = reader.u8()?;
        let code = reader.u8()?;
        reader.skip(2)?;
        // RFC 3810 §5.1.12 / RFC 2710 §3.7: extra octets count in the checksum, otherwise ignored.
        let repr = match kind {
            TYPE_QUERY => match bytes.len() {
                24 => {
                    let max_resp_delay = reader.u16()?;
                    reader.skip(2)?;
                    MldRepr::QueryV1 { max_resp_delay, group: reader.addr::<V6>()? }
                }
                28.. => {
                    let max_resp_code = reader.u16()?;
                    reader.skip(2)?;
                    let group = reader.addr::<V6>()?;
                    MldRepr::QueryV2(QueryV3::parse_tail(&mut reader, max_resp_code, group)?)
                }
                ..24 => return Err(Error::Truncated),
                _ => return Err(Error::BadLength),
            },
            TYPE_REPORT_V1 | TYPE_DONE => {
                reader.skip(4)?;
                let group = reader.addr::<V6>()?;
                if kind == TYPE_DONE {
                    MldRepr::Done { group }
                } else {
                    MldRepr::ReportV1 { group }
                }
            }
            TYPE_REPORT_V2 => MldRepr::ReportV2(ReportV3::parse_body(&mut reader)?),
            kind => MldRepr::Unknown { kind, code, body: reader.take_rest().to_vec() },
        };
        if message_checksum(bytes, src, dst) != 0 {
            return Err(Error::BadChecksum);
        }
        Ok(repr)
    }

    /// The ICMPv6 type octet.
    pub fn kind(&self) -> u8 {
        match self {
            MldRepr::QueryV1 { .. } | MldRepr::QueryV2(_) => TYPE_QUERY,
            MldRepr::ReportV1 { .. } => TYPE_REPORT_V1,
            MldRepr::Done { .. } => TYPE_DONE,
            MldRepr::ReportV2(_) => TYPE_REPORT_V2,
            MldRepr::Unknown { kind, .. } => *kind,
        }
    }

    /// The encoded length in octets.
    pub fn buffer_len(&self) -> usize {
        match self {
            MldRepr::QueryV1 { .. } | MldRepr::ReportV1 { .. } | MldRepr::Done { .. } => 24,
            MldRepr::QueryV2(query) => 24 + query.tail_len(),
            MldRepr::ReportV2(report) => 4 + report.body_len(),
            MldRepr::Unknown { body, .. } => 4 + body.len(),
        }
    }

    /// Writes the message with its checksum for a packet from `src` to `dst`; returns its length.
    /// `Malformed` for an `Unknown` of an MLD type.
    pub fn emit(&self, buf: &mut [u8], src: &Ipv6Addr, dst: &Ipv6Addr) -> Result<usize> {
        let mut writer = Writer::new(buf);
        writer.u8(self.kind())?;
        match self {
            MldRepr::QueryV1 { max_resp_delay, group } => {
                writer.u8(0)?;
                writer.u16(0)?;
                writer.u16(*max_resp_delay)?;
                writer.u16(0)?;
                writer.addr::<V6>(*group)?;
            }
            MldRepr::ReportV1 { group } | MldRepr::Done { group } => {
                writer.zeros(7)?;
                writer.addr::<V6>(*group)?;
            }
            MldRepr::QueryV2(query) => {
                writer.u8(0)?;
                writer.u16(0)?;
                writer.u16(query.max_resp_code)?;
                writer.u16(0)?;
                writer.addr::<V6>(query.group)?;
                query.emit_tail(&mut writer)?;
            }
            MldRepr::ReportV2(report) => {
                writer.u8(0)?;
                writer.u16(0)?;
                report.emit_body(&mut writer)?;
            }
            MldRepr::Unknown { kind, code, body } => {
                if matches!(*kind, TYPE_QUERY | TYPE_REPORT_V1 | TYPE_DONE | TYPE_REPORT_V2) {
                    return Err(Error::Malformed);
                }
                writer.u8(*code)?;
                writer.u16(0)?;
                writer.bytes(body)?;
            }
        }
        let sum = message_checksum(writer.written(), src, dst);
        writer.patch_u16(2, sum)?;
        Ok(writer.position())
    }

    /// The encoded message for a packet from `src` to `dst`.
    pub fn to_bytes(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> Result<Vec<u8>> {
        encode_to_vec(self.buffer_len(), |buf| self.emit(buf, src, dst))
    }
}

impl fmt::Display for MldRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MldRepr::QueryV1 { max_resp_delay, group } => {
                write!(f, "MLDv1 query {group} mrd {max_resp_delay}ms")
            }
            MldRepr::QueryV2(query) => write!(f, "MLDv2 query {query}"),
            MldRepr::ReportV1 { group } => write!(f, "MLDv1 report {group}"),
            MldRepr::Done { group } => write!(f, "MLDv1 done {group}"),
            MldRepr::ReportV2(report) => write!(f, "MLDv2 report {report}"),
            MldRepr::Unknown { kind, code, body } => {
                write!(f, "ICMP6 type {kind} code {code} length {}", 4 + body.len())
            }
        }
    }
}

/// The ICMPv6 checksum of `message` (its checksum field included) with the pseudo-header.
fn message_checksum(message: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr) -> u16 {
    let context = ChecksumContext::Ipv6 { src: *src, dst: *dst };
    checksum::finish(checksum::sum(context.initial(message.len(), PROTO_ICMPV6), message))
}

/// The delay an MLDv2 Maximum Response Code allows (milliseconds; floating point from 32768,
/// RFC 3810 §5.1.3).
pub fn max_resp_delay(code: u16) -> Duration {
    Duration::from_millis(u64::from(gmp::decode_float16(code)))
}

/// The smallest MLDv2 Maximum Response Code allowing at least `delay` (rounded up to a millisecond
/// and to the next representable code, saturating at 8387.584 s).
pub fn max_resp_code_for(delay: Duration) -> u16 {
    gmp::encode_float16(gmp::ceil_units(delay, Duration::from_millis(1)))
}

#[cfg(test)]
pub(crate) mod strategies {
    //! Proptest strategies for arbitrary MLD messages.

    use proptest::prelude::*;

    use super::*;
    use crate::gmp::strategies as gmp_strategies;

    pub(crate) fn ipv6() -> impl Strategy<Value = Ipv6Addr> + Clone {
        any::<[u8; 16]>().prop_map(Ipv6Addr::from)
    }

    pub(crate) fn mld() -> impl Strategy<Value = MldRepr> {
        let unknown_kind = any::<u8>().prop_filter("own variant", |kind| {
            !matches!(*kind, TYPE_QUERY | TYPE_REPORT_V1 | TYPE_DONE | TYPE_REPORT_V2)
        });
        prop_oneof![
            (any::<u16>(), ipv6())
                .prop_map(|(max_resp_delay, group)| MldRepr::QueryV1 { max_resp_delay, group }),
            gmp_strategies::query_v3::<V6>(any::<u16>(), ipv6()).prop_map(MldRepr::QueryV2),
            ipv6().prop_map(|group| MldRepr::ReportV1 { group }),
            ipv6().prop_map(|group| MldRepr::Done { group }),
            gmp_strategies::report_v3::<V6>(ipv6()).prop_map(MldRepr::ReportV2),
            (unknown_kind, any::<u8>(), prop::collection::vec(any::<u8>(), 0..32))
                .prop_map(|(kind, code, body)| MldRepr::Unknown { kind, code, body }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::gmp::{GroupRecord, RecordType};
    use crate::ip::{Ipv6Header, IPV6_ROUTER_ALERT_MLD};
    use crate::testutil::{group_record, hex, query_v3};

    fn addr(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn report(records: Vec<GroupRecord<V6>>) -> MldRepr {
        MldRepr::ReportV2(ReportV3 { records })
    }

    /// (IPv6 packet from a capture, the MLD message it carries).
    fn goldens() -> Vec<(&'static str, Vec<u8>, MldRepr)> {
        use RecordType::*;
        vec![
            // pim6sd-pimsm6.pcapng #5: general query, 10 s.
            (
                "pim6sd #5 general query",
                hex("6006b36400240001fe80000000000000006f47fffe67e790ff0200000000000000000000000000013a00050200000100820028302710000000000000000000000000000000000000027d0000"),
                MldRepr::QueryV2(query_v3("::", 10000, false, &[])),
            ),
            // frr-pimsm6-mld.pcap #8: group-specific query (Hop-by-Hop padded with two Pad1).
            (
                "frr #8 group query",
                hex("600f1f8700240001fe800000000000000000000000000003ff0e00000000000000000000000100013a000502000000008200577627100000ff0e0000000000000000000000010001027d0000"),
                MldRepr::QueryV2(query_v3("ff0e::1:1", 10000, false, &[])),
            ),
            // frr-pimsm6-mld.pcap #18: group-and-source-specific query.
            (
                "frr #18 group-and-source query",
                hex("600b201900340001fe800000000000000000000000000003ff3e00000000000000000000000100013a00050200000000820059f327100000ff3e0000000000000000000000010001027d0001fd000001000000000000000000000010"),
                MldRepr::QueryV2(query_v3("ff3e::1:1", 10000, false, &["fd00:1::10"])),
            ),
            // frr-pimsm6-mld.pcap #1: MODE_IS_EXCLUDE x5 from the router itself.
            (
                "frr #1 is-ex report",
                hex("6000000000740001fe800000000000000000000000000003ff0200000000000000000000000000163a000502000001008f006f7c0000000502000000ff02000000000000000000000000001602000000ff02000000000000000000000000000d02000000ff0200000000000000000001ff00000002000000ff0200000000000000000001ff00000302000000ff020000000000000000000000000002"),
                report(vec![
                    group_record(ModeIsExclude, "ff02::16", &[]),
                    group_record(ModeIsExclude, "ff02::d", &[]),
                    group_record(ModeIsExclude, "ff02::1:ff00:0", &[]),
                    group_record(ModeIsExclude, "ff02::1:ff00:3", &[]),
                    group_record(ModeIsExclude, "ff02::2", &[]),
                ]),
            ),
            // #2: CHANGE_TO_EXCLUDE (an ASM join).
            (
                "frr #2 to-ex report",
                hex("6000000000240001fe800000000000000000000000000010ff0200000000000000000000000000163a000502000001008f006fed0000000104000000ff0e0000000000000000000000010001"),
                report(vec![group_record(ChangeToExclude, "ff0e::1:1", &[])]),
            ),
            // #7: CHANGE_TO_INCLUDE with no sources (a leave).
            (
                "frr #7 to-in report",
                hex("6000000000240001fe800000000000000000000000000010ff0200000000000000000000000000163a000502000001008f0070ed0000000103000000ff0e0000000000000000000000010001"),
                report(vec![group_record(ChangeToInclude, "ff0e::1:1", &[])]),
            ),
            // #12: ALLOW_NEW_SOURCES (an SSM join).
            (
                "frr #12 allow report",
                hex("6000000000340001fe800000000000000000000000000010ff0200000000000000000000000000163a000502000001008f00719a0000000105000001ff3e0000000000000000000000010001fd000001000000000000000000000010"),
                report(vec![group_record(AllowNewSources, "ff3e::1:1", &["fd00:1::10"])]),
            ),
            // #15: MODE_IS_INCLUDE and MODE_IS_EXCLUDE.
            (
                "frr #15 is-in report",
                hex("6000000000480001fe800000000000000000000000000010ff0200000000000000000000000000163a000502000001008f0075700000000201000001ff3e0000000000000000000000010001fd00000100000000000000000000001002000000ff0200000000000000000001ff000010"),
                report(vec![
                    group_record(ModeIsInclude, "ff3e::1:1", &["fd00:1::10"]),
                    group_record(ModeIsExclude, "ff02::1:ff00:10", &[]),
                ]),
            ),
            // #17: BLOCK_OLD_SOURCES.
            (
                "frr #17 block report",
                hex("6000000000340001fe800000000000000000000000000010ff0200000000000000000000000000163a000502000001008f00709a0000000106000001ff3e0000000000000000000000010001fd000001000000000000000000000010"),
                report(vec![group_record(BlockOldSources, "ff3e::1:1", &["fd00:1::10"])]),
            ),
        ]
    }

    /// The IPv6 header of a golden packet and its MLD payload.
    fn split(packet: &[u8]) -> (Ipv6Header, Vec<u8>) {
        let (header, payload) = Ipv6Header::parse(packet).unwrap();
        assert_eq!(header.protocol, PROTO_ICMPV6);
        assert_eq!(header.router_alert, Some(IPV6_ROUTER_ALERT_MLD));
        (header, payload.to_vec())
    }

    #[test]
    fn goldens_parse_and_reencode() {
        for (name, packet, expected) in goldens() {
            let (header, message) = split(&packet);
            let (src, dst) = (header.src, header.dst);
            assert_eq!(MldRepr::parse(&message, &src, &dst).as_ref(), Ok(&expected), "{name}");
            assert_eq!(expected.buffer_len(), message.len(), "{name}");
            assert_eq!(expected.to_bytes(&src, &dst).unwrap(), message, "{name}");
            assert_eq!(header.to_bytes(&message).unwrap(), packet, "{name}");
            assert!(!expected.to_string().is_empty());
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        for (name, packet, _) in goldens() {
            let (header, message) = split(&packet);
            for len in 0..message.len() {
                assert!(
                    MldRepr::parse(&message[..len], &header.src, &header.dst).is_err(),
                    "{name} cut at {len}"
                );
            }
        }
    }

    #[test]
    fn bad_checksum_is_detected() {
        for (name, packet, _) in goldens() {
            let (header, mut message) = split(&packet);
            // The pseudo-header is part of the sum: another source fails.
            let other = addr("fe80::99");
            assert_eq!(MldRepr::parse(&message, &other, &header.dst), Err(Error::BadChecksum), "{name}");
            message[3] ^= 0x80;
            assert_eq!(MldRepr::parse(&message, &header.src, &header.dst), Err(Error::BadChecksum), "{name}");
        }
    }

    #[test]
    fn query_version_by_length() {
        let (src, dst) = (addr("fe80::1"), addr("ff02::1"));
        let v1 = MldRepr::QueryV1 { max_resp_delay: 10000, group: Ipv6Addr::UNSPECIFIED };
        let bytes = v1.to_bytes(&src, &dst).unwrap();
        assert_eq!(bytes.len(), 24);
        assert_eq!(MldRepr::parse(&bytes, &src, &dst), Ok(v1));
        // RFC 3810 §8.1: 25 to 27 octets is no query of any version.
        let mut odd = bytes.clone();
        odd.extend_from_slice(&[0, 0]);
        odd[2..4].fill(0);
        let sum = message_checksum(&odd, &src, &dst);
        odd[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(MldRepr::parse(&odd, &src, &dst), Err(Error::BadLength));
    }

    #[test]
    fn max_resp_code_helpers() {
        assert_eq!(max_resp_delay(10000), Duration::from_secs(10));
        assert_eq!(max_resp_code_for(Duration::from_secs(10)), 10000);
        assert_eq!(max_resp_code_for(Duration::from_micros(10_000_001)), 10001);
        // 100001 ms needs exponent 1 (16 ms steps): rounds up to 100016 ms.
        assert_eq!(
            max_resp_delay(max_resp_code_for(Duration::from_millis(100_001))),
            Duration::from_millis(100_016)
        );
        assert_eq!(max_resp_code_for(Duration::from_secs(100_000)), 0xffff);
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(repr in strategies::mld(), src in strategies::ipv6(), dst in strategies::ipv6()) {
            let bytes = repr.to_bytes(&src, &dst).unwrap();
            prop_assert_eq!(bytes.len(), repr.buffer_len());
            prop_assert_eq!(MldRepr::parse(&bytes, &src, &dst), Ok(repr));
        }

        #[test]
        fn short_buffer_is_an_error(repr in strategies::mld()) {
            let mut buf = vec![0; repr.buffer_len() - 1];
            let any = Ipv6Addr::UNSPECIFIED;
            prop_assert_eq!(repr.emit(&mut buf, &any, &any), Err(Error::BufferTooSmall));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..160)) {
            let any = Ipv6Addr::UNSPECIFIED;
            let _ = MldRepr::parse(&bytes, &any, &any);
        }

        #[test]
        fn arbitrary_bytes_with_valid_checksum_never_panic(
            kind in prop::sample::select(vec![130u8, 131, 132, 143, 128]),
            mut bytes in prop::collection::vec(any::<u8>(), 4..160),
        ) {
            let any = Ipv6Addr::UNSPECIFIED;
            bytes[0] = kind;
            bytes[2..4].fill(0);
            let sum = message_checksum(&bytes, &any, &any);
            bytes[2..4].copy_from_slice(&sum.to_be_bytes());
            if let Ok(repr) = MldRepr::parse(&bytes, &any, &any) {
                prop_assert_eq!(MldRepr::parse(&repr.to_bytes(&any, &any).unwrap(), &any, &any), Ok(repr));
            }
        }
    }
}
