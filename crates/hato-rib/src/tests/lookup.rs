//! Unit tests of each lookup mode and tie rule, on the topology of seed 004's tutorial (R2's view):
//! `if1` (e0/0) on 198.18.12.0/24 toward R1 at .1, `if2` (e0/1) on 198.18.21.0/24 toward R1 at .1,
//! `if3` (e0/2) on 198.18.2.0/24 with the receiver; OSPF reaches the source LAN 198.18.1.0/24 via
//! 198.18.12.1 on `if1`.

use std::net::{Ipv4Addr, Ipv6Addr};

use hato_core::{IfIndex, Instant, V4, V6};

use crate::{
    MrouteTarget, Nexthop, Route, RouteKey, RouteOrigin, RouteProtocol, RpfAnswer, RpfConfig, RpfEngine,
    RpfLookupMode, RpfRule, RpfTable, StaticMroute, UnicastEvent, Via,
};

pub(crate) fn a4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

pub(crate) fn p4(s: &str) -> ipnet::Ipv4Net {
    s.parse().unwrap()
}

pub(crate) fn engine(mode: RpfLookupMode) -> RpfEngine<V4, &'static str> {
    RpfEngine::new(RpfConfig { mode, interval: None, backoff: None }, Instant::ZERO)
}

pub(crate) fn feed<K: Ord + Clone + std::fmt::Debug>(e: &mut RpfEngine<V4, K>, event: UnicastEvent<V4>) {
    e.handle(Instant::ZERO, event, &mut Vec::new());
}

pub(crate) fn address(ifindex: u32, addr: &str, prefix_len: u8) -> UnicastEvent<V4> {
    UnicastEvent::AddressAdd { ifindex: IfIndex(ifindex), addr: a4(addr), prefix_len }
}

pub(crate) fn route(
    prefix: &str,
    hops: &[(u32, &str)],
    metric: u32,
    protocol: RouteProtocol,
) -> UnicastEvent<V4> {
    let nexthops = hops.iter().map(|(i, gw)| Nexthop::via(IfIndex(*i), a4(gw))).collect();
    UnicastEvent::RouteAdd { route: Route::new(p4(prefix), nexthops, metric, protocol) }
}

/// R2 of the tutorial, in the given mode.
pub(crate) fn seed_topology(mode: RpfLookupMode) -> RpfEngine<V4, &'static str> {
    let mut e = engine(mode);
    feed(&mut e, address(1, "198.18.12.2", 24));
    feed(&mut e, address(2, "198.18.21.2", 24));
    feed(&mut e, address(3, "198.18.2.2", 24));
    feed(&mut e, route("198.18.1.0/24", &[(1, "198.18.12.1")], 20, RouteProtocol::Ospf));
    e
}

fn mroute(prefix: &str, neighbor: &str, distance: u8) -> StaticMroute<V4> {
    StaticMroute {
        prefix: p4(prefix),
        target: MrouteTarget::Neighbor { addr: a4(neighbor), interface: None },
        distance,
    }
}

fn add_mroute(e: &mut RpfEngine<V4, &'static str>, m: StaticMroute<V4>) {
    e.add_static_mroute(Instant::ZERO, m, &mut Vec::new());
}

const SOURCE: &str = "198.18.1.1";

fn answer(e: &RpfEngine<V4, &'static str>) -> RpfAnswer<V4> {
    e.lookup(a4(SOURCE))
}

#[test]
fn unicast_answer_follows_ospf() {
    let e = seed_topology(RpfLookupMode::MribThenUrib);
    let r = answer(&e).route.unwrap();
    assert_eq!((r.interface, r.neighbor, r.via), (IfIndex(1), a4("198.18.12.1"), Via::Gateway));
    assert_eq!((r.preference, r.metric), (110, 20));
    assert_eq!(
        (r.table, r.origin, r.rule),
        (RpfTable::Urib, RouteOrigin::Unicast(RouteProtocol::Ospf), RpfRule::UribFallback)
    );
    assert_eq!(r.prefix, p4("198.18.1.0/24"));
}

#[test]
fn static_mroute_overrides_unicast_and_says_mroute() {
    let mut e = seed_topology(RpfLookupMode::MribThenUrib);
    add_mroute(&mut e, mroute("198.18.1.0/24", "198.18.21.1", 1));
    let a = answer(&e);
    let r = a.route.unwrap();
    assert_eq!((r.interface, r.neighbor), (IfIndex(2), a4("198.18.21.1")));
    assert_eq!((r.table, r.origin, r.rule), (RpfTable::Mrib, RouteOrigin::StaticMroute, RpfRule::MribFirst));
    assert_eq!(
        a.to_string(),
        "198.18.1.1 via 198.18.21.1 on if2 [1/0] mrib 198.18.1.0/24 Mroute (mrib-then-urib: MRIB match)"
    );
}

#[test]
fn urib_only_ignores_mroutes() {
    let mut e = seed_topology(RpfLookupMode::UribOnly);
    add_mroute(&mut e, mroute("198.18.1.0/24", "198.18.21.1", 1));
    let a = answer(&e);
    assert_eq!(a.interface(), Some(IfIndex(1)));
    assert_eq!(a.route.unwrap().rule, RpfRule::SingleTable);
    assert!(a.to_string().ends_with("(urib-only: only the urib is consulted)"), "{a}");
}

#[test]
fn mrib_only_ignores_unicast() {
    let mut e = seed_topology(RpfLookupMode::MribOnly);
    let a = answer(&e);
    assert_eq!(a.route, None);
    assert_eq!(a.to_string(), "198.18.1.1 unreachable (mrib-only: no usable route in the MRIB)");
    add_mroute(&mut e, mroute("198.18.0.0/16", "198.18.21.1", 1));
    assert_eq!(answer(&e).interface(), Some(IfIndex(2)));
    // Even directly connected sources need an mroute in this mode.
    assert_eq!(e.lookup(a4("198.18.12.1")).interface(), Some(IfIndex(2)));
}

#[test]
fn mrib_then_urib_uses_any_mrib_match_even_a_shorter_one() {
    let mut e = seed_topology(RpfLookupMode::MribThenUrib);
    add_mroute(&mut e, mroute("198.18.0.0/16", "198.18.21.1", 250));
    let r = answer(&e).route.unwrap();
    assert_eq!((r.interface, r.rule), (IfIndex(2), RpfRule::MribFirst));
}

#[test]
fn lower_distance_picks_lower_and_prefers_mrib_on_tie() {
    let mut e = seed_topology(RpfLookupMode::LowerDistance);
    add_mroute(&mut e, mroute("198.18.1.0/24", "198.18.21.1", 200));
    let a = answer(&e);
    let r = a.route.unwrap();
    assert_eq!((r.table, r.rule), (RpfTable::Urib, RpfRule::LowerDistance { other: 200 }));
    assert!(a.to_string().ends_with("(lower-distance: distance 110 < mrib 200)"), "{a}");
    add_mroute(&mut e, mroute("198.18.1.0/24", "198.18.21.1", 110));
    let r = answer(&e).route.unwrap();
    assert_eq!((r.table, r.rule), (RpfTable::Mrib, RpfRule::TieMribPreferred));
    add_mroute(&mut e, mroute("198.18.1.0/24", "198.18.21.1", 5));
    let r = answer(&e).route.unwrap();
    assert_eq!((r.table, r.rule), (RpfTable::Mrib, RpfRule::LowerDistance { other: 110 }));
    // Only one table matching.
    let r = e.lookup(a4("198.18.2.9")).route.unwrap();
    assert_eq!((r.table, r.rule, r.via), (RpfTable::Urib, RpfRule::OnlyMatch, Via::OnLink));
}

#[test]
fn longer_prefix_picks_longer_and_prefers_mrib_on_tie() {
    let mut e = seed_topology(RpfLookupMode::LongerPrefix);
    add_mroute(&mut e, mroute("198.18.0.0/16", "198.18.21.1", 1));
    let a = answer(&e);
    assert_eq!(a.route.unwrap().rule, RpfRule::LongerPrefix { other: 16 });
    assert_eq!(a.route.unwrap().table, RpfTable::Urib);
    assert!(a.to_string().ends_with("(longer-prefix: /24 longer than mrib /16)"), "{a}");
    add_mroute(&mut e, mroute("198.18.1.0/24", "198.18.21.1", 250));
    assert_eq!(answer(&e).route.unwrap().rule, RpfRule::TieMribPreferred);
    add_mroute(&mut e, mroute("198.18.1.0/25", "198.18.21.1", 250));
    let r = answer(&e).route.unwrap();
    assert_eq!(
        (r.table, r.rule, r.prefix),
        (RpfTable::Mrib, RpfRule::LongerPrefix { other: 24 }, p4("198.18.1.0/25"))
    );
}

#[test]
fn directly_connected_source_is_its_own_neighbour_with_zero_assert_metric() {
    let e = seed_topology(RpfLookupMode::MribThenUrib);
    let a = e.lookup(a4("198.18.2.7"));
    let r = a.route.unwrap();
    assert!(r.is_directly_connected());
    assert_eq!((r.interface, r.neighbor, r.preference, r.metric), (IfIndex(3), a4("198.18.2.7"), 0, 0));
    assert_eq!(r.origin, RouteOrigin::Connected);
    assert_eq!(
        a.to_string(),
        "198.18.2.7 directly connected on if3 [0/0] urib 198.18.2.0/24 connected (mrib-then-urib: no MRIB match, URIB used)"
    );
}

#[test]
fn ecmp_picks_highest_neighbour_then_lowest_interface() {
    let mut e = seed_topology(RpfLookupMode::UribOnly);
    feed(
        &mut e,
        route(
            "198.18.1.0/24",
            &[(1, "198.18.12.1"), (2, "198.18.21.1"), (1, "198.18.12.9")],
            20,
            RouteProtocol::Ospf,
        ),
    );
    assert_eq!(answer(&e).neighbor(), Some(a4("198.18.21.1")));
    // The same neighbour through two interfaces: the lower interface index.
    feed(&mut e, route("198.18.1.0/24", &[(5, "198.18.12.1"), (4, "198.18.12.1")], 20, RouteProtocol::Ospf));
    assert_eq!(answer(&e).interface(), Some(IfIndex(4)));
}

#[test]
fn same_prefix_prefers_connected_then_distance_then_metric() {
    let mut e = seed_topology(RpfLookupMode::UribOnly);
    feed(&mut e, route("198.18.1.0/24", &[(2, "198.18.21.1")], 5, RouteProtocol::Rip));
    // OSPF (110) beats RIP (120) despite its higher metric.
    assert_eq!(answer(&e).interface(), Some(IfIndex(1)));
    feed(&mut e, route("198.18.1.0/24", &[(2, "198.18.21.1")], 30, RouteProtocol::Ospf));
    // Same distance: metric 20 beats 30.
    assert_eq!(answer(&e).route.unwrap().metric, 20);
    // A connected prefix beats every route of the same prefix.
    feed(&mut e, address(4, "198.18.1.2", 24));
    assert_eq!(answer(&e).route.unwrap().origin, RouteOrigin::Connected);
    assert_eq!(answer(&e).interface(), Some(IfIndex(4)));
}

#[test]
fn longest_prefix_beats_lower_distance_within_the_urib() {
    let mut e = seed_topology(RpfLookupMode::UribOnly);
    feed(&mut e, route("198.18.0.0/16", &[(2, "198.18.21.1")], 0, RouteProtocol::Static));
    assert_eq!(answer(&e).interface(), Some(IfIndex(1)));
}

#[test]
fn down_interfaces_fall_back_to_shorter_prefixes() {
    let mut e = seed_topology(RpfLookupMode::UribOnly);
    feed(&mut e, route("198.18.0.0/16", &[(2, "198.18.21.1")], 20, RouteProtocol::Ospf));
    feed(&mut e, UnicastEvent::LinkState { ifindex: IfIndex(1), up: false });
    let r = answer(&e).route.unwrap();
    assert_eq!((r.interface, r.prefix), (IfIndex(2), p4("198.18.0.0/16")));
    feed(&mut e, UnicastEvent::LinkState { ifindex: IfIndex(1), up: true });
    assert_eq!(answer(&e).interface(), Some(IfIndex(1)));
}

#[test]
fn unresolvable_mroute_neighbour_falls_back() {
    let mut e = seed_topology(RpfLookupMode::MribThenUrib);
    // 198.18.99.1 is on no connected prefix: the mroute is inactive.
    add_mroute(&mut e, mroute("198.18.1.0/24", "198.18.99.1", 1));
    assert_eq!(answer(&e).route.unwrap().table, RpfTable::Urib);
    // A shorter active mroute answers instead.
    add_mroute(&mut e, mroute("198.18.0.0/16", "198.18.21.1", 1));
    let r = answer(&e).route.unwrap();
    assert_eq!((r.table, r.prefix), (RpfTable::Mrib, p4("198.18.0.0/16")));
    // The neighbour becomes connected: the longer mroute answers.
    feed(&mut e, address(7, "198.18.99.2", 24));
    let r = answer(&e).route.unwrap();
    assert_eq!((r.interface, r.prefix), (IfIndex(7), p4("198.18.1.0/24")));
}

#[test]
fn mroutes_of_one_prefix_pick_lowest_distance_then_lowest_target() {
    let mut e = seed_topology(RpfLookupMode::MribOnly);
    add_mroute(&mut e, mroute("198.18.1.0/24", "198.18.21.1", 10));
    add_mroute(&mut e, mroute("198.18.1.0/24", "198.18.12.1", 20));
    assert_eq!(answer(&e).interface(), Some(IfIndex(2)));
    add_mroute(&mut e, mroute("198.18.1.0/24", "198.18.12.1", 10));
    assert_eq!(answer(&e).neighbor(), Some(a4("198.18.12.1")));
    let by_interface = StaticMroute {
        prefix: p4("198.18.1.0/24"),
        target: MrouteTarget::Interface(IfIndex(9)),
        distance: 10,
    };
    add_mroute(&mut e, by_interface);
    let r = answer(&e).route.unwrap();
    assert_eq!((r.interface, r.neighbor, r.via), (IfIndex(9), a4(SOURCE), Via::Interface));
    assert_eq!(e.mrib().len(), 3);
    assert!(e.remove_static_mroute(Instant::ZERO, by_interface.prefix, by_interface.target, &mut Vec::new()));
    assert!(!e.remove_static_mroute(
        Instant::ZERO,
        by_interface.prefix,
        by_interface.target,
        &mut Vec::new()
    ));
    assert_eq!(answer(&e).neighbor(), Some(a4("198.18.12.1")));
}

#[test]
fn route_delete_and_address_delete_restore_the_previous_answer() {
    let mut e = seed_topology(RpfLookupMode::UribOnly);
    feed(&mut e, UnicastEvent::RouteDelete { key: RouteKey { prefix: p4("198.18.1.77/24"), metric: 20 } });
    assert_eq!(answer(&e).route, None);
    assert_eq!(e.urib().routes().count(), 0);
    feed(&mut e, UnicastEvent::AddressDelete { ifindex: IfIndex(3), addr: a4("198.18.2.2"), prefix_len: 24 });
    assert_eq!(e.lookup(a4("198.18.2.7")).route, None);
    assert_eq!(e.urib().connected().count(), 2);
}

#[test]
fn ipv6_link_local_mroute_neighbour_with_interface() {
    let mut e: RpfEngine<V6, u32> = RpfEngine::new(
        RpfConfig { mode: RpfLookupMode::MribThenUrib, interval: None, backoff: None },
        Instant::ZERO,
    );
    let src: Ipv6Addr = "fd00:1::1".parse().unwrap();
    let ll: Ipv6Addr = "fe80::1".parse().unwrap();
    e.handle(
        Instant::ZERO,
        UnicastEvent::RouteAdd {
            route: Route::new(
                "fd00:1::/64".parse().unwrap(),
                vec![Nexthop::via(IfIndex(1), ll)],
                1024,
                RouteProtocol::Ra,
            ),
        },
        &mut Vec::new(),
    );
    assert_eq!(e.lookup(src).neighbor(), Some(ll));
    let target = MrouteTarget::Neighbor { addr: "fe80::2".parse().unwrap(), interface: Some(IfIndex(2)) };
    e.add_static_mroute(
        Instant::ZERO,
        StaticMroute::new("fd00:1::/48".parse().unwrap(), target),
        &mut Vec::new(),
    );
    let r = e.lookup(src).route.unwrap();
    assert_eq!((r.interface, r.neighbor, r.table), (IfIndex(2), "fe80::2".parse().unwrap(), RpfTable::Mrib));
    assert_eq!(e.mrib().iter().next().unwrap().to_string(), "mroute fd00:1::/48 fe80::2%if2 1");
}

#[test]
fn answers_serialise() {
    let mut e = seed_topology(RpfLookupMode::MribThenUrib);
    add_mroute(&mut e, mroute("198.18.1.0/24", "198.18.21.1", 1));
    let json = serde_json::to_string(&answer(&e)).unwrap();
    assert_eq!(
        json,
        r#"{"addr":"198.18.1.1","mode":"mrib-then-urib","route":{"interface":2,"neighbor":"198.18.21.1","via":"gateway","metric":0,"preference":1,"table":"mrib","prefix":"198.18.1.0/24","origin":"static-mroute","rule":"mrib-first"}}"#
    );
    let e = seed_topology(RpfLookupMode::LowerDistance);
    let json = serde_json::to_value(answer(&e)).unwrap();
    assert_eq!(json["route"]["origin"], serde_json::json!({"unicast": "ospf"}));
    assert_eq!(serde_json::to_value(e.lookup(a4("203.0.113.1"))).unwrap()["route"], serde_json::Value::Null);
    assert_eq!(serde_json::to_value(RpfConfig::default()).unwrap()["mode"], "mrib-then-urib");
}

#[test]
fn modes_parse_and_print() {
    for mode in RpfLookupMode::ALL {
        assert_eq!(mode.to_string().parse::<RpfLookupMode>(), Ok(mode));
        assert_eq!(serde_json::to_value(mode).unwrap(), mode.as_str());
    }
    assert!("mrib-first".parse::<RpfLookupMode>().is_err());
}

#[test]
fn route_protocols_round_trip_rtm_values() {
    for value in 0..=u8::MAX {
        assert_eq!(RouteProtocol::from_rtm(value).to_rtm(), value);
    }
    assert_eq!(RouteProtocol::from_rtm(188), RouteProtocol::Ospf);
    assert_eq!(RouteProtocol::from_rtm(77).to_string(), "proto-77");
    assert_eq!(RouteProtocol::Ospf.default_distance(), 110);
}
