//! Proptest strategies for arbitrary PIM messages of either family, for round-trip tests here and
//! in the protocol crates.

use std::net::IpAddr;

use hato_core::Afi;
use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

/// Any address of family `A`.
pub(crate) fn addr<A: Afi>() -> impl Strategy<Value = A::Addr> {
    any::<[u8; 16]>().prop_map(|octets| {
        A::addr_from_octets(octets.get(..A::ADDR_LEN).unwrap_or_default()).unwrap_or(A::UNSPECIFIED)
    })
}

pub(crate) fn encoded_group<A: Afi>() -> impl Strategy<Value = EncodedGroup<A>> {
    (any::<bool>(), 0u8..0x40, any::<bool>(), 0..=A::MAX_PREFIX_LEN, addr::<A>()).prop_map(
        |(bidir, reserved, admin_scope, mask_len, group)| EncodedGroup {
            bidir,
            reserved,
            admin_scope,
            mask_len,
            group,
        },
    )
}

pub(crate) fn encoded_source<A: Afi>() -> impl Strategy<Value = EncodedSource<A>> {
    (0u8..0x20, any::<bool>(), any::<bool>(), any::<bool>(), 0..=A::MAX_PREFIX_LEN, addr::<A>()).prop_map(
        |(reserved, sparse, wildcard, rpt, mask_len, source)| EncodedSource {
            reserved,
            sparse,
            wildcard,
            rpt,
            mask_len,
            source,
        },
    )
}

pub(crate) fn ip_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<std::net::Ipv4Addr>().prop_map(IpAddr::V4),
        any::<std::net::Ipv6Addr>().prop_map(IpAddr::V6)
    ]
}

pub(crate) fn hello_option() -> impl Strategy<Value = HelloOption> {
    prop_oneof![
        any::<u16>().prop_map(HelloOption::Holdtime),
        (any::<bool>(), 0u16..0x8000, any::<u16>()).prop_map(|(t, propagation_delay, override_interval)| {
            HelloOption::LanPruneDelay { join_suppression_disabled: t, propagation_delay, override_interval }
        }),
        any::<u32>().prop_map(HelloOption::DrPriority),
        any::<u32>().prop_map(HelloOption::GenerationId),
        (any::<u8>(), any::<u8>(), any::<u16>()).prop_map(|(version, interval, reserved)| {
            HelloOption::StateRefreshCapable { version, interval, reserved }
        }),
        vec(ip_addr(), 0..4).prop_map(HelloOption::AddressList),
        (any::<u16>(), vec(any::<u8>(), 0..12))
            .prop_filter("known option type", |(t, _)| !matches!(t, 1 | 2 | 19 | 20 | 21 | 24))
            .prop_map(|(option_type, value)| HelloOption::Unknown { option_type, value }),
    ]
}

pub(crate) fn hello() -> impl Strategy<Value = Hello> {
    vec(hello_option(), 0..6).prop_map(|options| Hello { options })
}

pub(crate) fn join_prune_group<A: Afi>() -> impl Strategy<Value = JoinPruneGroup<A>> {
    (encoded_group::<A>(), vec(encoded_source::<A>(), 0..4), vec(encoded_source::<A>(), 0..4))
        .prop_map(|(group, joins, prunes)| JoinPruneGroup { group, joins, prunes })
}

pub(crate) fn join_prune<A: Afi>() -> impl Strategy<Value = JoinPrune<A>> {
    (addr::<A>(), any::<u16>(), vec(join_prune_group::<A>(), 0..4))
        .prop_map(|(upstream_neighbor, holdtime, groups)| JoinPrune { upstream_neighbor, holdtime, groups })
}

pub(crate) fn bootstrap<A: Afi>() -> impl Strategy<Value = Bootstrap<A>> {
    let rp = (addr::<A>(), any::<u16>(), any::<u8>()).prop_map(|(address, holdtime, priority)| BootstrapRp {
        address,
        holdtime,
        priority,
    });
    let range = (encoded_group::<A>(), any::<u8>(), vec(rp, 0..3))
        .prop_map(|(group, rp_count, rps)| BootstrapGroupRange { group, rp_count, rps });
    (any::<bool>(), any::<u16>(), 0..=A::MAX_PREFIX_LEN, any::<u8>(), addr::<A>(), vec(range, 0..3)).prop_map(
        |(no_forward, fragment_tag, hash_mask_len, bsr_priority, bsr_address, group_ranges)| Bootstrap {
            no_forward,
            fragment_tag,
            hash_mask_len,
            bsr_priority,
            bsr_address,
            group_ranges,
        },
    )
}

pub(crate) fn assert<A: Afi>() -> impl Strategy<Value = Assert<A>> {
    (encoded_group::<A>(), addr::<A>(), any::<bool>(), 0..=MAX_METRIC_PREFERENCE, any::<u32>()).prop_map(
        |(group, source, rpt, metric_preference, metric)| Assert {
            group,
            source,
            rpt,
            metric_preference,
            metric,
        },
    )
}

pub(crate) fn state_refresh<A: Afi>() -> impl Strategy<Value = StateRefresh<A>> {
    (
        (
            encoded_group::<A>(),
            addr::<A>(),
            addr::<A>(),
            any::<bool>(),
            0..=MAX_METRIC_PREFERENCE,
            any::<u32>(),
        ),
        (any::<u8>(), any::<u8>(), any::<[bool; 3]>(), 0u8..0x20, any::<u8>()),
    )
        .prop_map(
            |(
                (group, source, originator, rpt, metric_preference, metric),
                (mask_len, ttl, [p, n, o], reserved, interval),
            )| StateRefresh {
                group,
                source,
                originator,
                rpt,
                metric_preference,
                metric,
                mask_len,
                ttl,
                prune_indicator: p,
                prune_now: n,
                assert_override: o,
                reserved,
                interval,
            },
        )
}

/// An IP packet of family `A` (a header with a consistent length field, a payload, and perhaps
/// padding), as a Register carries.
pub(crate) fn inner_packet<A: Afi>() -> impl Strategy<Value = Vec<u8>> {
    (vec(any::<u8>(), 40), vec(any::<u8>(), 0..48), vec(any::<u8>(), 0..4)).prop_map(
        |(mut header, payload, padding)| {
            let payload_len = payload.len() as u16;
            match A::FAMILY {
                hato_core::AddressFamily::Ipv4 => {
                    header.truncate(20);
                    header[0] = 0x45;
                    header[2..4].copy_from_slice(&(20 + payload_len).to_be_bytes());
                }
                hato_core::AddressFamily::Ipv6 => {
                    header[0] = 0x60 | (header[0] & 0x0f);
                    header[4..6].copy_from_slice(&payload_len.to_be_bytes());
                }
            }
            header.extend(payload);
            header.extend(padding);
            header
        },
    )
}

/// Any PIM message of family `A`.
pub(crate) fn message<A: Afi>() -> impl Strategy<Value = PimMessage<A>> {
    prop_oneof![
        hello().prop_map(PimMessage::Hello),
        (any::<bool>(), any::<bool>(), 0u32..0x4000_0000, inner_packet::<A>()).prop_map(
            |(border, null_register, reserved, packet)| {
                PimMessage::Register(Register { border, null_register, reserved, packet })
            }
        ),
        (encoded_group::<A>(), addr::<A>())
            .prop_map(|(group, source)| PimMessage::RegisterStop(RegisterStop { group, source })),
        join_prune::<A>().prop_map(PimMessage::JoinPrune),
        bootstrap::<A>().prop_map(PimMessage::Bootstrap),
        assert::<A>().prop_map(PimMessage::Assert),
        join_prune::<A>().prop_map(PimMessage::Graft),
        join_prune::<A>().prop_map(PimMessage::GraftAck),
        (any::<u8>(), any::<u16>(), addr::<A>(), vec(encoded_group::<A>(), 0..4)).prop_map(
            |(priority, holdtime, rp_address, groups)| {
                PimMessage::CandidateRpAdvertisement(CandidateRpAdvertisement {
                    priority,
                    holdtime,
                    rp_address,
                    groups,
                })
            }
        ),
        state_refresh::<A>().prop_map(PimMessage::StateRefresh),
        (10u8..16, any::<u8>(), vec(any::<u8>(), 0..32))
            .prop_map(|(msg_type, flags, body)| PimMessage::Unknown { msg_type, flags, body }),
    ]
}
