//! Querier election and startup (RFC 3376 §6.6.2, §8.6-8.7; RFC 3810 §7.6.2), QRV / QQI adoption
//! (RFC 3376 §4.1.6-7), input validation (RFC 3376 §4, §9.1; RFC 3810 §5), limits, configuration
//! changes and the `show` view, for IGMP and MLD alike.

mod lab;

use hato_core::Instant;
use hato_gmp::{
    DropReason, GmpMessage, GmpRouter, InterfaceConfig, LogEvent, QuerierState, Received, Version,
};
use hato_wire::gmp::{QueryV3, RecordType::*};
use lab::{query, secs, Lab, Numbered, IF};

both_families!(
    startup_queries_then_query_interval,
    general_query_announces_robustness_and_interval,
    lower_address_wins_election,
    higher_address_does_not_win_election,
    querier_returns_after_other_querier_present_interval,
    other_querier_present_timer_restarts_on_each_query,
    non_querier_adopts_qrv_and_qqi,
    zero_qrv_and_qqi_mean_configured_values,
    querier_losing_election_stops_retransmissions,
    unspecified_source_query_ignored_for_election,
    own_query_ignored,
    version_mismatch_warning_is_rate_limited,
    ttl_other_than_one_is_dropped,
    v3_report_without_router_alert_is_dropped,
    router_alert_check_can_be_disabled,
    non_multicast_and_link_local_groups_are_dropped,
    group_limit_is_counted,
    source_limit_is_counted,
    disabled_interface_counts_and_withdraws,
    version_change_restarts_startup,
    address_change_can_win_election,
    show_text_and_json,
    ssm_ranges_ignore_non_source_specific_requests,
);

fn startup_queries_then_query_interval<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    // RFC 3376 §8.6, §8.7: Startup Query Count (2) queries, Startup Query Interval (31.25 s) apart.
    assert_eq!(lab.view().general_query_timer_ms, Some(31_250));
    assert_eq!(lab.advance(lab::millis(31_250)).queries, ["general"]);
    assert_eq!(lab.view().general_query_timer_ms, Some(125_000));
    assert!(lab.advance(secs(124)).queries.is_empty());
    assert_eq!(lab.advance(secs(1)).queries, ["general"]);
}

fn general_query_announces_robustness_and_interval<A: Numbered>() {
    let config = InterfaceConfig { robustness: 9, query_interval: secs(60), ..Default::default() };
    let mut lab = Lab::<A>::with_config(config);
    let fx = lab.advance(secs(15));
    let [(dst, GmpMessage::QueryV3(q))] = &fx.sent[..] else { panic!("one v3 query: {:?}", fx.sent) };
    assert_eq!(*dst, A::ALL_SYSTEMS);
    // RFC 3376 §4.1.6: a robustness above 7 is sent as zero; §4.1.7: QQIC 60.
    assert_eq!(q.robustness, 0);
    assert_eq!(q.query_interval(), secs(60));
    assert_eq!(q.max_resp(), secs(10));
    assert!(q.is_general() && !q.suppress_router_side && q.sources.is_empty());
}

// RFC 3376 §6.6.2: a query from a lower address makes this router a non-querier.
fn lower_address_wins_election<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let fx = lab.query_from(1, query::<A>(None, &[], false));
    assert!(fx.logs.contains(&LogEvent::QuerierChanged {
        ifindex: IF,
        state: QuerierState::NonQuerier,
        querier: A::node(1)
    }));
    let view = lab.view();
    assert_eq!(view.querier_state, QuerierState::NonQuerier);
    assert_eq!(view.querier, A::node(1));
    assert_eq!(view.general_query_timer_ms, None);
    // Other Querier Present Interval: 2 × 125 + 10 / 2 = 255 s.
    assert_eq!(view.other_querier_present_timer_ms, Some(255_000));
    assert!(lab.advance(secs(200)).queries.is_empty());
}

fn higher_address_does_not_win_election<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let fx = lab.query_from(9, query::<A>(None, &[], false));
    assert!(fx.logs.is_empty(), "{:?}", fx.logs);
    assert_eq!(lab.view().querier_state, QuerierState::Querier);
    assert_eq!(lab.view().querier, A::node(5));
    assert_eq!(lab.advance(lab::millis(31_250)).queries, ["general"]);
}

// RFC 3376 §6.6.2: when the Other Querier Present timer expires the router becomes querier
// again and sends a general query.
fn querier_returns_after_other_querier_present_interval<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.query_from(1, query::<A>(None, &[], false));
    assert!(lab.advance(secs(254)).queries.is_empty());
    let fx = lab.advance(secs(1));
    assert_eq!(fx.queries, ["general"]);
    assert_eq!(lab.view().querier_state, QuerierState::Querier);
    assert_eq!(lab.view().querier, A::node(5));
    assert_eq!(lab.view().general_query_timer_ms, Some(125_000));
}

fn other_querier_present_timer_restarts_on_each_query<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.query_from(2, query::<A>(None, &[], false));
    for _ in 0..4 {
        lab.advance(secs(125));
        lab.query_from(2, query::<A>(None, &[], false));
    }
    assert_eq!(lab.view().querier_state, QuerierState::NonQuerier);
    // An even lower router takes over as the known querier.
    lab.query_from(1, query::<A>(None, &[], false));
    assert_eq!(lab.view().querier, A::node(1));
}

// RFC 3376 §4.1.6, §4.1.7: non-queriers adopt the querier's QRV and QQI.
fn non_querier_adopts_qrv_and_qqi<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let q = QueryV3 { robustness: 3, qqic: 60, ..query::<A>(None, &[], false) };
    lab.query_from(1, q);
    let view = lab.view();
    assert_eq!((view.robustness, view.query_interval_ms), (3, 60_000));
    // Other Querier Present Interval: 3 × 60 + 5 = 185 s; GMI 3 × 60 + 10 = 190 s.
    assert_eq!(view.other_querier_present_timer_ms, Some(185_000));
    lab.record(ModeIsInclude, 1, &[1]);
    assert_eq!(lab.source_timer(1, 1), Some(secs(190)));
    // Back as querier, the configured values apply again.
    lab.advance(secs(185));
    let view = lab.view();
    assert_eq!((view.robustness, view.query_interval_ms), (2, 125_000));
}

fn zero_qrv_and_qqi_mean_configured_values<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let q = QueryV3 { robustness: 0, qqic: 0, ..query::<A>(None, &[], false) };
    lab.query_from(1, q);
    let view = lab.view();
    assert_eq!((view.robustness, view.query_interval_ms), (2, 125_000));
}

fn querier_losing_election_stops_retransmissions<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.include(1, &[1]);
    assert_eq!(lab.record(BlockOldSources, 1, &[1]).queries, ["Q(G1,{1})"]);
    lab.query_from(1, query::<A>(None, &[], false));
    assert!(lab.advance(secs(1)).queries.is_empty());
}

// IGMP proxies query from 0.0.0.0: such queries elect nobody (MLD drops :: as not link-local).
fn unspecified_source_query_ignored_for_election<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let rx = Received { ifindex: IF, src: A::UNSPECIFIED, dst: A::ALL_SYSTEMS, ttl: 1, router_alert: true };
    let fx = lab.rx_with(rx, GmpMessage::QueryV3(query::<A>(None, &[], false)));
    assert_eq!(lab.view().querier_state, QuerierState::Querier);
    let expected = if A::LINK_LOCAL_SOURCE_REQUIRED {
        DropReason::SourceNotLinkLocal
    } else {
        DropReason::QuerierUnspecified
    };
    assert_eq!(fx.dropped(), [expected]);
    assert_eq!(lab.view().drops.get(&expected), Some(&1));
}

fn own_query_ignored<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.include(1, &[1]);
    let fx = lab.query_from(5, query::<A>(Some(1), &[1], false));
    assert_eq!(fx.dropped(), [DropReason::OwnQuery]);
    assert_eq!(lab.source_timer(1, 1), Some(secs(260)));
}

// RFC 3376 §7.3.1: warn about queries of another version, rate-limited.
fn version_mismatch_warning_is_rate_limited<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let v2 = || GmpMessage::QueryV2 { max_resp: secs(10), group: A::UNSPECIFIED };
    let warned = |fx: &lab::Effects<A>| {
        fx.logs
            .iter()
            .filter(|l| matches!(l, LogEvent::QueryVersionMismatch { version: Version::V2, .. }))
            .count()
    };
    assert_eq!(warned(&lab.rx(9, v2())), 1);
    assert_eq!(warned(&lab.rx(9, v2())), 0);
    lab.advance(secs(125));
    assert_eq!(warned(&lab.rx(9, v2())), 1);
    // An older querier with a lower address still wins the election.
    lab.rx(1, v2());
    assert_eq!(lab.view().querier_state, QuerierState::NonQuerier);
}

// RFC 3376 §4, RFC 3810 §5: TTL / hop limit 1.
fn ttl_other_than_one_is_dropped<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let rx = Received { ifindex: IF, src: A::node(100), dst: A::ALL_V3_ROUTERS, ttl: 2, router_alert: true };
    let fx = lab.rx_with(rx, lab::report::<A>(ModeIsExclude, 1, &[]));
    assert_eq!(fx.dropped(), [DropReason::BadTtl]);
    assert_eq!(lab.state(1), "none");
}

// RFC 3376 §9.1 (IGMPv3 only), RFC 2710 §3 and RFC 3810 §5 (every MLD message).
fn v3_report_without_router_alert_is_dropped<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let rx = Received { ifindex: IF, src: A::node(100), dst: A::ALL_V3_ROUTERS, ttl: 1, router_alert: false };
    let fx = lab.rx_with(rx, lab::report::<A>(ModeIsExclude, 1, &[]));
    assert_eq!(fx.dropped(), [DropReason::MissingRouterAlert]);
    let fx = lab.rx_with(rx, GmpMessage::ReportV2 { group: A::group(1) });
    if A::LINK_LOCAL_SOURCE_REQUIRED {
        assert_eq!(fx.dropped(), [DropReason::MissingRouterAlert]);
        assert_eq!(lab.state(1), "none");
    } else {
        assert!(fx.dropped().is_empty());
        assert_eq!(lab.state(1), "EX {} {}");
    }
}

fn router_alert_check_can_be_disabled<A: Numbered>() {
    let mut lab =
        Lab::<A>::with_config(InterfaceConfig { require_router_alert: false, ..Default::default() });
    let rx = Received { ifindex: IF, src: A::node(100), dst: A::ALL_V3_ROUTERS, ttl: 1, router_alert: false };
    lab.rx_with(rx, lab::report::<A>(ModeIsExclude, 1, &[]));
    assert_eq!(lab.state(1), "EX {} {}");
}

fn non_multicast_and_link_local_groups_are_dropped<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let fx = lab.rx(100, GmpMessage::ReportV2 { group: A::source(1) });
    assert_eq!(fx.dropped(), [DropReason::NotMulticast]);
    let fx = lab.rx(100, GmpMessage::ReportV2 { group: A::ALL_PIM_ROUTERS });
    assert_eq!(fx.dropped(), [DropReason::LinkLocalGroup]);
    assert!(lab.view().groups.is_empty());
}

fn group_limit_is_counted<A: Numbered>() {
    let mut lab = Lab::<A>::with_config(InterfaceConfig { max_groups: Some(1), ..Default::default() });
    lab.record(ModeIsExclude, 1, &[]);
    let fx = lab.record(ModeIsExclude, 2, &[]);
    assert_eq!(fx.dropped(), [DropReason::GroupLimit]);
    assert_eq!(lab.state(2), "none");
    // Existing groups still change.
    lab.record(ModeIsInclude, 1, &[1]);
    assert_eq!(lab.state(1), "EX {1} {}");
    // Reports that would not create a group are not limited.
    assert!(lab.record(BlockOldSources, 2, &[1]).dropped().is_empty());
    lab.rx(100, GmpMessage::ReportV2 { group: A::group(3) });
    assert_eq!(lab.view().drops.get(&DropReason::GroupLimit), Some(&2));
}

fn source_limit_is_counted<A: Numbered>() {
    let mut lab = Lab::<A>::with_config(InterfaceConfig { max_sources: Some(2), ..Default::default() });
    lab.record(ModeIsInclude, 1, &[1]);
    let fx = lab.record(ModeIsInclude, 2, &[1, 2, 3]);
    assert_eq!(fx.dropped(), [DropReason::SourceLimit, DropReason::SourceLimit]);
    assert_eq!(lab.state(2), "IN {1}");
    // Freed records can be reused.
    lab.advance(secs(260));
    lab.record(ModeIsInclude, 2, &[2, 3]);
    assert_eq!(lab.state(2), "IN {2,3}");
    assert_eq!(lab.view().drops.get(&DropReason::SourceLimit), Some(&2));
}

fn disabled_interface_counts_and_withdraws<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.record(ModeIsExclude, 1, &[2]);
    lab.include(2, &[1]);
    let mut out = Vec::new();
    lab.router.disable_interface(IF, &mut out);
    let deltas: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            hato_gmp::Output::MembershipChanged { group, filter, .. } => {
                Some((A::number(*group), filter.is_empty()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(deltas, [(1, true), (2, true)]);
    assert_eq!(lab.router.poll_at(), None);
    let rx = Received { ifindex: IF, src: A::node(100), dst: A::ALL_V3_ROUTERS, ttl: 1, router_alert: true };
    let mut out = Vec::new();
    lab.router.handle_message(lab.now, &rx, lab::report::<A>(ModeIsExclude, 1, &[]), &mut out);
    assert_eq!(lab.router.disabled_drops(), 1);
}

fn version_change_restarts_startup<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.query_from(1, query::<A>(None, &[], false));
    let mut out = Vec::new();
    let config = InterfaceConfig { version: Version::V2, ..Default::default() };
    assert_eq!(lab.router.set_config(lab.now, IF, config, &mut out), Ok(true));
    let sends: Vec<_> = out.iter().filter(|o| matches!(o, hato_gmp::Output::Send { .. })).collect();
    assert_eq!(sends.len(), 1);
    assert_eq!(lab.view().querier_state, QuerierState::Querier);
    assert_eq!(lab.view().version, A::version_name(Version::V2));
    assert_eq!(lab.advance(lab::millis(31_250)).queries, ["v2 general"]);
    let bad = InterfaceConfig { robustness: 0, ..Default::default() };
    assert!(lab.router.set_config(lab.now, IF, bad, &mut out).is_err());
}

fn address_change_can_win_election<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.query_from(3, query::<A>(None, &[], false));
    let mut out = Vec::new();
    assert!(lab.router.set_address(lab.now, IF, A::node(2), &mut out));
    assert_eq!(lab.view().querier_state, QuerierState::Querier);
    assert_eq!(lab.view().querier, A::node(2));
}

fn show_text_and_json<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.exclude(1, &[1], &[2]);
    lab.advance(secs(10));
    let view = lab.router.show(lab.now);
    let text = view.to_string();
    let name = A::version_name(Version::V3);
    assert!(text.contains(&format!("{} {name}: querier", A::node(5))), "{text}");
    assert!(text.contains(&format!("{} EX group timer 250.0s compat {name} -", A::group(1))), "{text}");
    assert!(text.contains(&format!("{} 250.0s forward", A::source(1))), "{text}");
    assert!(text.contains(&format!("{} - block", A::source(2))), "{text}");
    let json = serde_json::to_value(&view).unwrap();
    let group = &json["interfaces"][0]["groups"][0];
    assert_eq!(group["filter_mode"], "exclude");
    assert_eq!(group["group_timer_ms"], 250_000);
    assert_eq!(group["sources"][1]["timer_ms"], serde_json::Value::Null);
    assert_eq!(json["interfaces"][0]["querier_state"], "querier");
    let possible = json["interfaces"][0]["possible_versions"].as_array().unwrap().len();
    assert_eq!(possible, A::VERSIONS.len());
}

#[test]
fn pim6stat_like_possible_versions() {
    let mut out = Vec::new();
    let mut mld = GmpRouter::<hato_core::V6>::new();
    let config = InterfaceConfig { version: Version::V2, ..Default::default() };
    mld.enable_interface(Instant::ZERO, IF, "fe80::5".parse().unwrap(), config, &mut out).unwrap();
    assert_eq!(mld.show(Instant::ZERO).interfaces[0].possible_versions, ["MLDv1"]);
    mld.enable_interface(Instant::ZERO, IF, "fe80::5".parse().unwrap(), InterfaceConfig::default(), &mut out)
        .unwrap();
    assert_eq!(mld.show(Instant::ZERO).interfaces[0].possible_versions, ["MLDv1", "MLDv2"]);
    let err = mld.enable_interface(
        Instant::ZERO,
        IF,
        "fe80::5".parse().unwrap(),
        InterfaceConfig { version: Version::V1, ..Default::default() },
        &mut out,
    );
    assert_eq!(err, Err(hato_gmp::ConfigError::VersionNotInFamily));
}

// RFC 3810 §5: MLD messages from a global source are dropped.
#[test]
fn mld_requires_link_local_source() {
    let mut lab = Lab::<hato_core::V6>::new();
    let rx = Received {
        ifindex: IF,
        src: "fd00::100".parse().unwrap(),
        dst: <hato_core::V6 as hato_core::Afi>::ALL_V3_ROUTERS,
        ttl: 1,
        router_alert: true,
    };
    let fx = lab.rx_with(rx, lab::report(ModeIsExclude, 1, &[]));
    assert_eq!(fx.dropped(), [DropReason::SourceNotLinkLocal]);
}

/// Interfaces are independent: each queries on its own schedule and keeps its own groups.
#[test]
fn router_keeps_interfaces_apart() {
    use hato_core::V4;
    let mut router = GmpRouter::<V4>::new();
    let mut out = Vec::new();
    let (if1, if2) = (hato_core::IfIndex(1), hato_core::IfIndex(2));
    router.enable_interface(Instant::ZERO, if1, V4::node(5), InterfaceConfig::default(), &mut out).unwrap();
    let fast = InterfaceConfig {
        query_interval: secs(20),
        startup_query_interval: Some(secs(3)),
        ..Default::default()
    };
    router.enable_interface(Instant::from_secs(1), if2, V4::node(6), fast, &mut out).unwrap();
    assert_eq!(router.poll_at(), Some(Instant::from_secs(4)));
    out.clear();
    router.on_timeout(Instant::from_secs(4), &mut out);
    assert!(matches!(&out[..], [hato_gmp::Output::Send { ifindex, .. }] if *ifindex == if2));
    let rx = Received { ifindex: if2, src: V4::node(100), dst: V4::group(1), ttl: 1, router_alert: false };
    out.clear();
    router.handle_message(Instant::from_secs(4), &rx, GmpMessage::ReportV2 { group: V4::group(1) }, &mut out);
    assert!(out
        .iter()
        .any(|o| matches!(o, hato_gmp::Output::MembershipChanged { ifindex, .. } if *ifindex == if2)));
    let view = router.show(Instant::from_secs(4));
    assert_eq!(view.interfaces.iter().map(|i| i.groups.len()).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(router.interface(if2).unwrap().memberships().count(), 1);
    assert_eq!(router.interface(if1).unwrap().memberships().count(), 0);
}

/// The prefix of length `len` holding group 1 of the lab.
fn range_of_group_1<A: Numbered>(len: u8) -> A::Prefix {
    A::prefix(A::group(1), len).expect("valid prefix length")
}

// RFC 4604 §2.2.1: in an SSM range, EXCLUDE-mode records and v1/v2 reports create no state;
// INCLUDE-mode records still do, and other groups are not affected.
fn ssm_ranges_ignore_non_source_specific_requests<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.router.set_ssm_ranges(vec![range_of_group_1::<A>(A::MAX_PREFIX_LEN)]);
    assert_eq!(lab.record(ModeIsExclude, 1, &[]).dropped(), [DropReason::SsmNotSourceSpecific]);
    assert_eq!(lab.record(ChangeToExclude, 1, &[2]).dropped(), [DropReason::SsmNotSourceSpecific]);
    assert_eq!(
        lab.rx(100, GmpMessage::ReportV2 { group: A::group(1) }).dropped(),
        [DropReason::SsmNotSourceSpecific]
    );
    assert_eq!(lab.state(1), "none");
    let fx = lab.record(ModeIsInclude, 1, &[1]);
    assert!(fx.dropped().is_empty());
    assert_eq!(lab.state(1), "IN {1}");
    // Outside the range an EXCLUDE record is a plain join.
    assert!(lab.record(ModeIsExclude, 2, &[]).dropped().is_empty());
    assert_eq!(lab.state(2), "EX {} {}");
    assert_eq!(lab.view().drops.get(&DropReason::SsmNotSourceSpecific), Some(&3));
    // Interfaces enabled later inherit the ranges.
    let mut out = Vec::new();
    lab.router
        .enable_interface(lab.now, hato_core::IfIndex(77), A::node(5), InterfaceConfig::default(), &mut out)
        .unwrap();
    let rx = Received {
        ifindex: hato_core::IfIndex(77),
        src: A::node(9),
        dst: A::ALL_V3_ROUTERS,
        ttl: 1,
        router_alert: true,
    };
    let mut out = Vec::new();
    lab.router.handle_message(lab.now, &rx, lab::report::<A>(ModeIsExclude, 1, &[]), &mut out);
    let counted = lab
        .router
        .interface(hato_core::IfIndex(77))
        .unwrap()
        .drops()
        .get(&DropReason::SsmNotSourceSpecific)
        .copied();
    assert_eq!(counted, Some(1));
}
