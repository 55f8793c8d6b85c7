//! Proptest strategies for arbitrary configurations (values in and out of range), for this
//! crate's properties and for other crates' tests.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use crate::model::*;

pub(crate) fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|bits| IpAddr::V4(Ipv4Addr::from(bits))),
        any::<u128>().prop_map(|bits| IpAddr::V6(Ipv6Addr::from(bits))),
    ]
}

pub(crate) fn net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u32>(), 0u8..=32)
            .prop_map(|(bits, len)| IpNet::new(IpAddr::V4(bits.into()), len).unwrap().trunc()),
        (any::<u128>(), 0u8..=128)
            .prop_map(|(bits, len)| IpNet::new(IpAddr::V6(bits.into()), len).unwrap().trunc()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,10}"
}

fn boundary() -> impl Strategy<Value = Boundary> {
    prop_oneof![net().prop_map(Boundary::Range), name().prop_map(Boundary::Named)]
}

fn family() -> impl Strategy<Value = Family> {
    prop_oneof![Just(Family::Ipv4), Just(Family::Ipv6)]
}

fn global() -> impl Strategy<Value = Global> {
    (
        option::of(any::<u32>().prop_map(Ipv4Addr::from)),
        prop_oneof![
            Just(LogLevel::Error),
            Just(LogLevel::Warn),
            Just(LogLevel::Info),
            Just(LogLevel::Debug),
            Just(LogLevel::Trace)
        ],
        any::<(bool, bool, bool)>(),
        "/[a-z/]{0,12}",
        option::of("[a-z_][a-z0-9_-]{0,8}"),
    )
        .prop_map(|(router_id, log_level, (ipv4, ipv6, auto_interfaces), runtime_dir, user)| Global {
            router_id,
            log_level,
            ipv4,
            ipv6,
            runtime_dir,
            user,
            auto_interfaces,
        })
}

fn rpf() -> impl Strategy<Value = Rpf> {
    (
        prop_oneof![
            Just(RpfLookupMode::UribOnly),
            Just(RpfLookupMode::MribOnly),
            Just(RpfLookupMode::MribThenUrib),
            Just(RpfLookupMode::LowerDistance),
            Just(RpfLookupMode::LongerPrefix)
        ],
        0u32..5000,
        any::<bool>(),
        0u32..700000,
        0u32..700000,
    )
        .prop_map(|(lookup_mode, interval, enabled, initial_ms, max_ms)| Rpf {
            lookup_mode,
            interval,
            backoff: RpfBackoff { enabled, initial_ms, max_ms },
        })
}

fn gmp_overrides() -> impl Strategy<Value = GmpOverrides> {
    (
        option::of(any::<bool>()),
        option::of(0u32..5),
        option::of(0u32..4),
        option::of(0u32..40000),
        option::of(0u32..4000000),
        option::of(0u32..9),
        option::of(0u32..4000000),
        option::of(0u32..9),
        option::of(any::<u32>()),
        option::of(any::<u32>()),
    )
        .prop_map(|t| GmpOverrides {
            enabled: t.0,
            igmp_version: t.1,
            mld_version: t.2,
            query_interval: t.3,
            query_response_interval_ms: t.4,
            robustness: t.5,
            last_member_query_interval_ms: t.6,
            last_member_query_count: t.7,
            max_groups: t.8,
            max_sources: t.9,
        })
}

pub(crate) fn gmp() -> impl Strategy<Value = GmpSettings> {
    gmp_overrides().prop_map(|overrides| GmpSettings::default().with_overrides(&overrides))
}

fn pim_overrides() -> impl Strategy<Value = PimOverrides> {
    (
        option::of(any::<bool>()),
        option::of(0u32..4000),
        option::of(option::of(0u32..70000).prop_filter("set", Option::is_some)),
        option::of(any::<u32>()),
        option::of(0u32..40000),
        option::of(0u32..70000),
        option::of(0u32..4000),
        option::of(option::of(0u32..70000).prop_filter("set", Option::is_some)),
        option::of(option::of(0u32..400).prop_filter("set", Option::is_some)),
        option::of(any::<bool>()),
        option::of(0u32..20_000_000),
    )
        .prop_map(|t| PimOverrides {
            enabled: t.0,
            hello_period: t.1,
            hello_holdtime: t.2,
            dr_priority: t.3,
            propagation_delay_ms: t.4,
            override_interval_ms: t.5,
            join_prune_period: t.6,
            join_prune_holdtime: t.7,
            deletion_delay: t.8,
            accept_bootstrap: t.9,
            max_states: t.10,
        })
}

fn spt_switch() -> impl Strategy<Value = SptSwitch> {
    prop_oneof![Just(SptSwitch::Immediate), Just(SptSwitch::Threshold), Just(SptSwitch::Never)]
}

fn pim() -> impl Strategy<Value = Pim> {
    let timers = (
        0u32..4000,
        0u32..4000,
        0u32..100,
        0u32..20000,
        option::of(0u32..70000),
        0u32..4000,
        option::of(0u32..70000),
        0u32..4000,
        0u32..4000,
        0u32..50000,
        0u32..20_000_000,
        0u32..20_000_000,
    );
    let lists = (
        vec(net(), 0..3),
        vec(
            (net(), spt_switch(), 0u32..1000).prop_map(|(groups, switch, threshold_kbps)| SptRule {
                groups,
                switch,
                threshold_kbps,
            }),
            0..3,
        ),
        vec(
            (ip(), vec(net(), 0..3), any::<u8>()).prop_map(|(address, groups, priority)| StaticRp {
                address,
                groups,
                priority,
            }),
            0..3,
        ),
        vec(
            (option::of(ip()), option::of(name()), option::of(family()), any::<u8>(), option::of(0u8..200))
                .prop_map(|(address, interface, family, priority, hash_mask_length)| CandidateBsr {
                    address,
                    interface,
                    family,
                    priority,
                    hash_mask_length,
                    scope_zone: None,
                }),
            0..3,
        ),
        vec(
            (option::of(ip()), option::of(name()), option::of(family()), any::<u8>(), vec(net(), 0..3))
                .prop_map(|(address, interface, family, priority, groups)| CandidateRp {
                    address,
                    interface,
                    family,
                    priority,
                    groups,
                }),
            0..3,
        ),
    );
    (
        pim_overrides(),
        timers,
        lists,
        prop_oneof![Just(PimMode::Sparse), Just(PimMode::Dense)],
        any::<bool>(),
        spt_switch(),
    )
        .prop_map(|(overrides, t, l, mode, rfc2362, spt_switch)| {
            let mut pim = Pim::default().with_overrides(&overrides);
            pim.assert_timeout = t.0;
            pim.register_suppression = t.1;
            pim.probe_time = t.2;
            pim.c_rp_adv_period = t.3;
            pim.rp_holdtime = t.4;
            pim.bootstrap_period = t.5;
            pim.bootstrap_timeout = t.6;
            pim.negative_cache_holdtime = t.7;
            pim.spt_check_interval = t.8;
            pim.data_timeout = t.9;
            pim.max_entries = t.10;
            pim.max_states_per_neighbor = t.11;
            pim.mode = mode;
            pim.rp_selection = if rfc2362 { RpSelection::Rfc2362 } else { RpSelection::Rfc4601 };
            pim.spt_switch = spt_switch;
            (pim.ssm_ranges, pim.spt, pim.static_rp, pim.candidate_bsr, pim.candidate_rp) = l;
            pim
        })
}

fn interface() -> impl Strategy<Value = Interface> {
    (
        option::of(name()),
        option::of(ip()),
        option::of(any::<bool>()),
        option::of(0u32..300),
        option::of(any::<u32>()),
        vec(boundary(), 0..3),
        vec(net(), 0..2),
        gmp_overrides(),
        pim_overrides(),
        0u32..40,
    )
        .prop_map(|t| Interface {
            name: t.0,
            address: t.1,
            enabled: t.2,
            ttl_threshold: t.3,
            rate_limit_kbps: t.4,
            boundaries: t.5,
            altnet: t.6,
            gmp: t.7,
            pim: t.8,
            dvmrp: DvmrpInterface { metric: t.9 },
        })
}

fn tunnel() -> impl Strategy<Value = Tunnel> {
    (ip(), ip(), 0u32..40, 0u32..300, any::<u32>(), vec(boundary(), 0..2)).prop_map(
        |(local, remote, metric, threshold, rate_limit_kbps, boundaries)| Tunnel {
            local,
            remote,
            metric,
            threshold,
            rate_limit_kbps,
            boundaries,
        },
    )
}

fn dvmrp() -> impl Strategy<Value = Dvmrp> {
    (
        any::<bool>(),
        0u32..100000,
        any::<bool>(),
        vec((name(), net()).prop_map(|(name, groups)| NamedBoundary { name, groups }), 0..3),
    )
        .prop_map(|(enabled, cache_lifetime, pruning, boundary)| Dvmrp {
            enabled,
            cache_lifetime,
            pruning,
            boundary,
        })
}

/// Any configuration, valid or not.
pub(crate) fn config() -> impl Strategy<Value = Config> {
    (global(), rpf(), gmp(), pim(), dvmrp(), vec(interface(), 0..4), vec(tunnel(), 0..3)).prop_map(
        |(global, rpf, gmp, pim, dvmrp, interface, tunnel)| Config {
            global,
            rpf,
            gmp,
            pim,
            dvmrp,
            interface,
            tunnel,
            mroute: Vec::new(),
            static_flow: Vec::new(),
        },
    )
}
