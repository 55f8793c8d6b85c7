//! The bridge between the two protocols' message shapes and one family-neutral message, so that
//! the router-side state machine is written once for IGMP (IPv4) and MLD (IPv6).
//!
//! IGMPv2 and MLDv1 have the same shapes (query with a linear maximum response time, report,
//! leave / done), as have IGMPv3 and MLDv2 (RFC 3810 §1: "MLDv2 is a translation of IGMPv3").
//! [`Version`] therefore counts in IGMP numbers: MLDv1 is [`Version::V2`], MLDv2 is
//! [`Version::V3`]; IGMPv1 ([`Version::V1`]) has no MLD counterpart.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hato_core::{Afi, V4, V6};
use hato_wire::gmp::{QueryV3, ReportV3};
use hato_wire::igmp::{self, IgmpRepr};
use hato_wire::mld::{self, MldRepr};
use serde::Serialize;

/// A protocol generation, in IGMP numbers: MLDv1 is `V2`, MLDv2 is `V3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    /// IGMPv1 (RFC 1112).
    V1,
    /// IGMPv2 (RFC 2236) / MLDv1 (RFC 2710).
    V2,
    /// IGMPv3 (RFC 3376) / MLDv2 (RFC 3810).
    V3,
}

/// A router-side IGMP / MLD message in family-neutral form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound = "", rename_all = "kebab-case", tag = "type")]
pub enum GmpMessage<A: Afi> {
    /// IGMPv1 query (RFC 1112 Appendix I): no maximum response time.
    QueryV1 { group: A::Addr },
    /// IGMPv2 query (RFC 2236 §2.2) / MLDv1 query (RFC 2710 §3.4).
    QueryV2 { max_resp: Duration, group: A::Addr },
    /// IGMPv3 query (RFC 3376 §4.1) / MLDv2 query (RFC 3810 §5.1).
    QueryV3(QueryV3<A>),
    /// IGMPv1 report (RFC 1112 Appendix I).
    ReportV1 { group: A::Addr },
    /// IGMPv2 report (RFC 2236 §2) / MLDv1 report (RFC 2710 §3).
    ReportV2 { group: A::Addr },
    /// IGMPv2 Leave Group (RFC 2236 §2) / MLDv1 Done (RFC 2710 §3).
    Leave { group: A::Addr },
    /// IGMPv3 report (RFC 3376 §4.2) / MLDv2 report (RFC 3810 §5.2).
    ReportV3(ReportV3<A>),
}

impl<A: Afi> GmpMessage<A> {
    /// The generation the message belongs to.
    pub fn version(&self) -> Version {
        match self {
            GmpMessage::QueryV1 { .. } | GmpMessage::ReportV1 { .. } => Version::V1,
            GmpMessage::QueryV2 { .. } | GmpMessage::ReportV2 { .. } | GmpMessage::Leave { .. } => {
                Version::V2
            }
            GmpMessage::QueryV3(_) | GmpMessage::ReportV3(_) => Version::V3,
        }
    }

    /// Whether the message is a query.
    pub fn is_query(&self) -> bool {
        matches!(self, GmpMessage::QueryV1 { .. } | GmpMessage::QueryV2 { .. } | GmpMessage::QueryV3(_))
    }
}

impl<A: GmpFamily> fmt::Display for GmpMessage<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = A::version_name(self.version());
        match self {
            GmpMessage::QueryV1 { group } => write!(f, "{name} query {group}"),
            GmpMessage::QueryV2 { max_resp, group } => write!(f, "{name} query {group} mrt {max_resp:?}"),
            GmpMessage::QueryV3(query) => write!(f, "{name} query {query}"),
            GmpMessage::ReportV1 { group } | GmpMessage::ReportV2 { group } => {
                write!(f, "{name} report {group}")
            }
            GmpMessage::Leave { group } => write!(f, "{name} {} {group}", A::LEAVE_NAME),
            GmpMessage::ReportV3(report) => write!(f, "{name} report {report}"),
        }
    }
}

/// What differs between IGMP and MLD for the router side: the codec type, the versions that exist,
/// the packet checks of RFC 3376 §4 / RFC 3810 §5, and the encoding of maximum response times.
pub trait GmpFamily: Afi {
    /// The family's message codec (`IgmpRepr` or `MldRepr`).
    type Repr: fmt::Debug + Clone;
    /// "IGMP" or "MLD".
    const PROTOCOL: &'static str;
    /// What a v2 leave is called: "leave" (IGMPv2) or "done" (MLDv1).
    const LEAVE_NAME: &'static str;
    /// The versions the protocol has, oldest first.
    const VERSIONS: &'static [Version];
    /// Whether messages must come from a link-local source (RFC 3810 §5: MLD does, IGMP does not).
    const LINK_LOCAL_SOURCE_REQUIRED: bool;
    /// The most sources one query carries so that it fits the minimum link MTU with its IP
    /// header and Router Alert (576 octets for IPv4, 1280 for IPv6).
    const MAX_QUERY_SOURCES: usize;

    /// The family-neutral form of a message; `None` for messages that are not router-side
    /// IGMP / MLD (DVMRP, mtrace, other ICMPv6 types).
    fn decode(repr: &Self::Repr) -> Option<GmpMessage<Self>>;
    /// The codec form of a message; `None` for a message the family lacks (IGMPv1 on MLD).
    fn encode(message: &GmpMessage<Self>) -> Option<Self::Repr>;
    /// The message's bytes (the IP payload, checksum filled) for a packet from `src` to `dst`;
    /// `Malformed` for a message the family lacks or the encoding cannot carry.
    fn to_bytes(message: &GmpMessage<Self>, src: Self::Addr, dst: Self::Addr) -> hato_wire::Result<Vec<u8>>;
    /// Parses the IP payload of a packet from `src` to `dst` into a family-neutral message;
    /// `Ok(None)` for a valid message that is not router-side IGMP / MLD.
    fn parse(bytes: &[u8], src: Self::Addr, dst: Self::Addr) -> hato_wire::Result<Option<GmpMessage<Self>>>;
    /// The version-3 Max Resp Code for a response time (RFC 3376 §4.1.1, RFC 3810 §5.1.3).
    fn max_resp_code(time: Duration) -> u16;
    /// Whether a message of `version` must carry Router Alert (RFC 3376 §9.1 lets IGMPv3 routers
    /// ignore v3 messages without it; RFC 2710 §3 and RFC 3810 §5 require it on every MLD message).
    fn router_alert_required(version: Version) -> bool;
    /// The protocol's own name for a version ("IGMPv2", "MLDv1").
    fn version_name(version: Version) -> &'static str;
}

impl GmpFamily for V4 {
    type Repr = IgmpRepr;
    const PROTOCOL: &'static str = "IGMP";
    const LEAVE_NAME: &'static str = "leave";
    const VERSIONS: &'static [Version] = &[Version::V1, Version::V2, Version::V3];
    const LINK_LOCAL_SOURCE_REQUIRED: bool = false;
    // 576 - 24 (IPv4 header with Router Alert) - 12 (query header) = 540 octets of sources.
    const MAX_QUERY_SOURCES: usize = 135;

    fn decode(repr: &IgmpRepr) -> Option<GmpMessage<V4>> {
        Some(match repr {
            IgmpRepr::QueryV1 { group } => GmpMessage::QueryV1 { group: *group },
            IgmpRepr::QueryV2 { max_resp_code, group } => {
                GmpMessage::QueryV2 { max_resp: igmp::max_resp_time(*max_resp_code), group: *group }
            }
            IgmpRepr::QueryV3(query) => GmpMessage::QueryV3(query.clone()),
            IgmpRepr::ReportV1 { group } => GmpMessage::ReportV1 { group: *group },
            IgmpRepr::ReportV2 { group } => GmpMessage::ReportV2 { group: *group },
            IgmpRepr::Leave { group } => GmpMessage::Leave { group: *group },
            IgmpRepr::ReportV3(report) => GmpMessage::ReportV3(report.clone()),
            IgmpRepr::Unknown { .. } => return None,
        })
    }

    fn encode(message: &GmpMessage<V4>) -> Option<IgmpRepr> {
        Some(match message {
            GmpMessage::QueryV1 { group } => IgmpRepr::QueryV1 { group: *group },
            GmpMessage::QueryV2 { max_resp, group } => {
                // A zero code would read as IGMPv1: the shortest v2 time is a tenth of a second.
                let max_resp_code = igmp::max_resp_code_for(*max_resp).max(1);
                IgmpRepr::QueryV2 { max_resp_code, group: *group }
            }
            GmpMessage::QueryV3(query) => IgmpRepr::QueryV3(query.clone()),
            GmpMessage::ReportV1 { group } => IgmpRepr::ReportV1 { group: *group },
            GmpMessage::ReportV2 { group } => IgmpRepr::ReportV2 { group: *group },
            GmpMessage::Leave { group } => IgmpRepr::Leave { group: *group },
            GmpMessage::ReportV3(report) => IgmpRepr::ReportV3(report.clone()),
        })
    }

    fn to_bytes(message: &GmpMessage<V4>, _src: Ipv4Addr, _dst: Ipv4Addr) -> hato_wire::Result<Vec<u8>> {
        Self::encode(message).ok_or(hato_wire::Error::Malformed)?.to_bytes()
    }

    fn parse(bytes: &[u8], _src: Ipv4Addr, _dst: Ipv4Addr) -> hato_wire::Result<Option<GmpMessage<V4>>> {
        IgmpRepr::parse(bytes).map(|repr| Self::decode(&repr))
    }

    fn max_resp_code(time: Duration) -> u16 {
        u16::from(igmp::max_resp_code_for(time))
    }

    fn router_alert_required(version: Version) -> bool {
        version == Version::V3
    }

    fn version_name(version: Version) -> &'static str {
        match version {
            Version::V1 => "IGMPv1",
            Version::V2 => "IGMPv2",
            Version::V3 => "IGMPv3",
        }
    }
}

impl GmpFamily for V6 {
    type Repr = MldRepr;
    const PROTOCOL: &'static str = "MLD";
    const LEAVE_NAME: &'static str = "done";
    const VERSIONS: &'static [Version] = &[Version::V2, Version::V3];
    const LINK_LOCAL_SOURCE_REQUIRED: bool = true;
    // 1280 - 48 (IPv6 header and Hop-by-Hop Router Alert) - 28 (query header) = 1204 octets.
    const MAX_QUERY_SOURCES: usize = 75;

    fn decode(repr: &MldRepr) -> Option<GmpMessage<V6>> {
        Some(match repr {
            MldRepr::QueryV1 { max_resp_delay, group } => GmpMessage::QueryV2 {
                max_resp: Duration::from_millis(u64::from(*max_resp_delay)),
                group: *group,
            },
            MldRepr::QueryV2(query) => GmpMessage::QueryV3(query.clone()),
            MldRepr::ReportV1 { group } => GmpMessage::ReportV2 { group: *group },
            MldRepr::Done { group } => GmpMessage::Leave { group: *group },
            MldRepr::ReportV2(report) => GmpMessage::ReportV3(report.clone()),
            MldRepr::Unknown { .. } => return None,
        })
    }

    fn encode(message: &GmpMessage<V6>) -> Option<MldRepr> {
        Some(match message {
            GmpMessage::QueryV1 { .. } | GmpMessage::ReportV1 { .. } => return None,
            GmpMessage::QueryV2 { max_resp, group } => MldRepr::QueryV1 {
                max_resp_delay: u16::try_from(max_resp.as_millis()).unwrap_or(u16::MAX),
                group: *group,
            },
            GmpMessage::QueryV3(query) => MldRepr::QueryV2(query.clone()),
            GmpMessage::ReportV2 { group } => MldRepr::ReportV1 { group: *group },
            GmpMessage::Leave { group } => MldRepr::Done { group: *group },
            GmpMessage::ReportV3(report) => MldRepr::ReportV2(report.clone()),
        })
    }

    fn to_bytes(message: &GmpMessage<V6>, src: Ipv6Addr, dst: Ipv6Addr) -> hato_wire::Result<Vec<u8>> {
        Self::encode(message).ok_or(hato_wire::Error::Malformed)?.to_bytes(&src, &dst)
    }

    fn parse(bytes: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> hato_wire::Result<Option<GmpMessage<V6>>> {
        MldRepr::parse(bytes, &src, &dst).map(|repr| Self::decode(&repr))
    }

    fn max_resp_code(time: Duration) -> u16 {
        mld::max_resp_code_for(time)
    }

    fn router_alert_required(_version: Version) -> bool {
        true
    }

    fn version_name(version: Version) -> &'static str {
        match version {
            // MLD has no first generation: the name only appears if a caller builds one.
            Version::V1 => "MLD-none",
            Version::V2 => "MLDv1",
            Version::V3 => "MLDv2",
        }
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    //! Proptest strategies for family-neutral messages, reusable by other tests of this crate.

    use hato_wire::gmp::{GroupRecord, RecordType};
    use proptest::prelude::*;

    use super::*;

    /// Any address of the family.
    pub(crate) fn addr<A: Afi>() -> impl Strategy<Value = A::Addr> + Clone {
        prop::collection::vec(any::<u8>(), A::ADDR_LEN)
            .prop_map(|octets| A::addr_from_octets(&octets).expect("exact length"))
    }

    fn record<A: Afi>() -> impl Strategy<Value = GroupRecord<A>> {
        (1u8..=6, addr::<A>(), prop::collection::vec(addr::<A>(), 0..4)).prop_map(|(code, group, sources)| {
            GroupRecord { record_type: RecordType::from_code(code), group, sources, aux_data: Vec::new() }
        })
    }

    /// A message that `A` can carry; `v2_max_resp` bounds what the v2 codec can express exactly.
    pub(crate) fn message<A: GmpFamily>(
        with_v1: bool,
        v2_max_resp: impl Strategy<Value = Duration> + 'static,
        v3_max_resp_code: impl Strategy<Value = u16> + 'static,
    ) -> impl Strategy<Value = GmpMessage<A>> {
        let query_v3 = (
            v3_max_resp_code,
            addr::<A>(),
            any::<bool>(),
            0u8..8,
            any::<u8>(),
            prop::collection::vec(addr::<A>(), 0..4),
        )
            .prop_map(|(max_resp_code, group, suppress_router_side, robustness, qqic, sources)| {
                GmpMessage::QueryV3(QueryV3 {
                    max_resp_code,
                    group,
                    suppress_router_side,
                    robustness,
                    qqic,
                    sources,
                })
            });
        let common = prop_oneof![
            (v2_max_resp, addr::<A>()).prop_map(|(max_resp, group)| GmpMessage::QueryV2 { max_resp, group }),
            query_v3,
            addr::<A>().prop_map(|group| GmpMessage::ReportV2 { group }),
            addr::<A>().prop_map(|group| GmpMessage::Leave { group }),
            prop::collection::vec(record::<A>(), 0..4)
                .prop_map(|records| GmpMessage::ReportV3(ReportV3 { records })),
        ];
        let v1 = prop_oneof![
            addr::<A>().prop_map(|group| GmpMessage::QueryV1 { group }),
            addr::<A>().prop_map(|group| GmpMessage::ReportV1 { group }),
        ];
        if with_v1 {
            prop_oneof![3 => common, 1 => v1].boxed()
        } else {
            common.boxed()
        }
    }

    /// Any IGMP message the family bridge can carry.
    pub(crate) fn igmp_message() -> impl Strategy<Value = GmpMessage<V4>> {
        // IGMPv2 times are tenths of a second; codes 1..=127 are exact.
        message::<V4>(true, (1u64..=127).prop_map(|tenths| Duration::from_millis(tenths * 100)), 0u16..=255)
    }

    /// Any MLD message the family bridge can carry.
    pub(crate) fn mld_message() -> impl Strategy<Value = GmpMessage<V6>> {
        message::<V6>(false, any::<u16>().prop_map(|ms| Duration::from_millis(u64::from(ms))), any::<u16>())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn mld_has_no_first_generation() {
        let query = GmpMessage::<V6>::QueryV1 { group: Ipv6Addr::UNSPECIFIED };
        assert_eq!(V6::encode(&query), None);
        assert_eq!(V6::decode(&MldRepr::Unknown { kind: 1, code: 0, body: vec![] }), None);
        assert_eq!(V4::decode(&IgmpRepr::Unknown { kind: 0x13, code: 0, body: vec![] }), None);
    }

    #[test]
    fn igmpv2_query_never_encodes_as_v1() {
        let query = GmpMessage::<V4>::QueryV2 { max_resp: Duration::ZERO, group: Ipv4Addr::UNSPECIFIED };
        assert_eq!(
            V4::encode(&query),
            Some(IgmpRepr::QueryV2 { max_resp_code: 1, group: Ipv4Addr::UNSPECIFIED })
        );
    }

    #[test]
    fn names_follow_each_protocol() {
        let leave = GmpMessage::<V6>::Leave { group: "ff3e::1".parse().unwrap() };
        assert_eq!(leave.to_string(), "MLDv1 done ff3e::1");
        let report = GmpMessage::<V4>::ReportV2 { group: "239.1.1.1".parse().unwrap() };
        assert_eq!(report.to_string(), "IGMPv2 report 239.1.1.1");
        assert_eq!(V6::VERSIONS, &[Version::V2, Version::V3]);
    }

    /// The largest query fits the minimum MTU of its family.
    #[test]
    fn largest_query_fits_minimum_mtu() {
        let igmp = 24 + 12 + 4 * V4::MAX_QUERY_SOURCES;
        assert!(igmp <= 576, "{igmp}");
        let mld = 48 + 28 + 16 * V6::MAX_QUERY_SOURCES;
        assert!(mld <= 1280, "{mld}");
    }

    proptest! {
        #[test]
        fn igmp_bridge_round_trips(message in strategies::igmp_message()) {
            let repr = V4::encode(&message).expect("IGMP carries every generation");
            prop_assert_eq!(V4::decode(&repr), Some(message.clone()));
            // And through the bytes on the wire.
            let (src, dst) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(224, 0, 0, 22));
            let bytes = V4::to_bytes(&message, src, dst).expect("encodable");
            prop_assert_eq!(V4::parse(&bytes, src, dst), Ok(Some(message)));
        }

        #[test]
        fn mld_bridge_round_trips(message in strategies::mld_message()) {
            let repr = V6::encode(&message).expect("MLD carries v2 and v3 shapes");
            prop_assert_eq!(V6::decode(&repr), Some(message.clone()));
            let (src, dst) = ("fe80::1".parse().unwrap(), "ff02::16".parse().unwrap());
            let bytes = V6::to_bytes(&message, src, dst).expect("encodable");
            prop_assert_eq!(V6::parse(&bytes, src, dst), Ok(Some(message)));
        }
    }
}
