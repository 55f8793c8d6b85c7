//! Engine tests: watches, the prefix index behind them, damping on a virtual clock and the periodic
//! re-check.

use hato_core::{Duration, IfIndex, Instant, V4};

use super::lookup::{a4, address, feed, p4, route, seed_topology};
use crate::{
    Backoff, MrouteTarget, RouteKey, RouteProtocol, RpfChanged, RpfConfig, RpfEngine, RpfLookupMode,
    StaticMroute, UnicastEvent,
};

const SOURCE: &str = "198.18.1.1";
const RP: &str = "198.18.9.9";

#[test]
fn watches_fire_only_when_their_answer_changes() {
    let mut e = seed_topology(RpfLookupMode::MribThenUrib);
    feed(&mut e, route("198.18.9.0/24", &[(1, "198.18.12.1")], 20, RouteProtocol::Ospf));
    let before = e.watch("source", a4(SOURCE));
    e.watch("rp", a4(RP));
    let mut out = Vec::new();

    // A better path for the source's prefix: only the source's watch fires.
    e.handle(Instant::ZERO, route("198.18.1.0/24", &[(2, "198.18.21.1")], 10, RouteProtocol::Ospf), &mut out);
    assert_eq!(out.len(), 1);
    let RpfChanged { key, addr, old, new } = out.remove(0);
    assert_eq!((key, addr, old), ("source", a4(SOURCE), before));
    assert_eq!(new.interface(), Some(IfIndex(2)));
    assert_eq!(e.watched(a4(SOURCE)), Some(&new));

    // Replaying the same route changes nothing.
    e.handle(Instant::ZERO, route("198.18.1.0/24", &[(2, "198.18.21.1")], 10, RouteProtocol::Ospf), &mut out);
    // A worse route covering both addresses does not change either answer.
    e.handle(Instant::ZERO, route("198.18.0.0/16", &[(3, "198.18.2.1")], 20, RouteProtocol::Ospf), &mut out);
    // An unrelated prefix.
    e.handle(
        Instant::ZERO,
        route("198.18.200.0/24", &[(3, "198.18.2.1")], 20, RouteProtocol::Ospf),
        &mut out,
    );
    assert!(out.is_empty(), "{out:?}");

    // Deleting the better route: back to the old answer.
    e.handle(
        Instant::ZERO,
        UnicastEvent::RouteDelete { key: RouteKey { prefix: p4("198.18.1.0/24"), metric: 10 } },
        &mut out,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].new, before);
}

#[test]
fn every_key_on_an_address_is_told_and_unwatched_keys_are_not() {
    let mut e = seed_topology(RpfLookupMode::MribThenUrib);
    e.watch("pim", a4(SOURCE));
    e.watch("msdp", a4(SOURCE));
    e.watch("pim", a4(RP));
    let mut out = Vec::new();
    e.add_static_mroute(
        Instant::ZERO,
        StaticMroute::new(p4("198.18.0.0/16"), MrouteTarget::Interface(IfIndex(2))),
        &mut out,
    );
    let mut told: Vec<_> = out.drain(..).map(|c| (c.key, c.addr)).collect();
    told.sort();
    assert_eq!(told, vec![("msdp", a4(SOURCE)), ("pim", a4(SOURCE)), ("pim", a4(RP))]);

    assert!(e.unwatch(&"msdp", a4(SOURCE)));
    assert!(!e.unwatch(&"msdp", a4(SOURCE)));
    e.remove_static_mroute(Instant::ZERO, p4("198.18.0.0/16"), MrouteTarget::Interface(IfIndex(2)), &mut out);
    let told: Vec<_> = out.drain(..).map(|c| c.key).collect();
    assert_eq!(told, vec!["pim", "pim"]);

    e.unwatch_all(&"pim");
    assert_eq!(e.watches().count(), 0);
    e.add_static_mroute(
        Instant::ZERO,
        StaticMroute::new(p4("198.18.0.0/16"), MrouteTarget::Interface(IfIndex(2))),
        &mut out,
    );
    assert!(out.is_empty());
}

#[test]
fn a_route_change_recomputes_only_the_watches_it_covers() {
    let mut e: RpfEngine<V4, (u8, u8)> = RpfEngine::new(
        RpfConfig { mode: RpfLookupMode::MribThenUrib, interval: None, backoff: None },
        Instant::ZERO,
    );
    // 1,024 watched sources over four /24s.
    for c in 0..4u8 {
        for d in 0..=255u8 {
            e.watch((c, d), std::net::Ipv4Addr::new(198, 18, 100 + c, d));
        }
    }
    let mut out = Vec::new();
    let before = e.stats().answers_recomputed;
    e.handle(
        Instant::ZERO,
        route("198.18.101.0/24", &[(2, "198.18.21.1")], 20, RouteProtocol::Ospf),
        &mut out,
    );
    assert_eq!(e.stats().answers_recomputed - before, 256);
    assert_eq!(out.len(), 256);
    // A /25 inside it: half of that.
    e.handle(
        Instant::ZERO,
        route("198.18.101.128/25", &[(2, "198.18.21.1")], 20, RouteProtocol::Ospf),
        &mut out,
    );
    assert_eq!(e.stats().answers_recomputed - before, 256 + 128);
    // An interface state change touches everything.
    e.handle(Instant::ZERO, UnicastEvent::LinkState { ifindex: IfIndex(9), up: false }, &mut out);
    assert_eq!(e.stats().answers_recomputed - before, 256 + 128 + 1024);
}

#[test]
fn connected_change_moves_static_mroutes_resolved_through_it() {
    let mut e = seed_topology(RpfLookupMode::MribThenUrib);
    e.add_static_mroute(
        Instant::ZERO,
        StaticMroute::new(
            p4("198.18.1.0/24"),
            MrouteTarget::Neighbor { addr: a4("198.18.21.1"), interface: None },
        ),
        &mut Vec::new(),
    );
    e.watch("source", a4(SOURCE));
    assert_eq!(e.watched(a4(SOURCE)).unwrap().interface(), Some(IfIndex(2)));
    let mut out = Vec::new();
    // The neighbour's subnet disappears: the mroute goes inactive and unicast answers.
    e.handle(
        Instant::ZERO,
        UnicastEvent::AddressDelete { ifindex: IfIndex(2), addr: a4("198.18.21.2"), prefix_len: 24 },
        &mut out,
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].new.interface(), Some(IfIndex(1)));
    // It reappears on another interface.
    e.handle(Instant::ZERO, address(5, "198.18.21.2", 24), &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].new.interface(), Some(IfIndex(5)));
}

#[test]
fn mode_change_notifies_through_the_backoff() {
    let config =
        RpfConfig { mode: RpfLookupMode::MribThenUrib, interval: None, backoff: Some(Backoff::default()) };
    let mut e: RpfEngine<V4, u8> = RpfEngine::new(config, Instant::ZERO);
    e.handle(Instant::ZERO, address(2, "198.18.21.2", 24), &mut Vec::new());
    e.add_static_mroute(
        Instant::ZERO,
        StaticMroute::new(
            p4("198.18.1.0/24"),
            MrouteTarget::Neighbor { addr: a4("198.18.21.1"), interface: None },
        ),
        &mut Vec::new(),
    );
    e.watch(1, a4(SOURCE));
    let mut out = Vec::new();
    e.on_timeout(Instant::from_secs(1), &mut out);
    assert!(out.is_empty());
    e.set_config(Instant::from_secs(10), RpfConfig { mode: RpfLookupMode::UribOnly, ..config }, &mut out);
    assert!(out.is_empty(), "damped");
    assert_eq!(e.poll_at(), Some(Instant::from_millis(10_500)));
    e.on_timeout(Instant::from_millis(10_500), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].new.route, None);
}

/// Drives `engine` on a virtual clock: runs every deadline up to `until`.
fn advance(engine: &mut RpfEngine<V4, u8>, until: Instant, out: &mut Vec<RpfChanged<V4, u8>>) {
    for _ in 0..10_000 {
        match engine.poll_at() {
            Some(at) if at <= until => engine.on_timeout(at, out),
            _ => return,
        }
    }
    panic!("deadlines did not settle");
}

/// 100 flaps of the best route to the source, one every 10 ms. Returns the engine's counters and
/// the notifications.
fn flap_storm(backoff: Option<Backoff>) -> (crate::RpfStats, Vec<RpfChanged<V4, u8>>, RpfEngine<V4, u8>) {
    let config = RpfConfig { mode: RpfLookupMode::MribThenUrib, interval: None, backoff };
    let mut e: RpfEngine<V4, u8> = RpfEngine::new(config, Instant::ZERO);
    let mut out = Vec::new();
    for event in [address(1, "198.18.12.2", 24), address(2, "198.18.21.2", 24)] {
        e.handle(Instant::ZERO, event, &mut out);
    }
    e.handle(Instant::ZERO, route("198.18.1.0/24", &[(1, "198.18.12.1")], 20, RouteProtocol::Ospf), &mut out);
    advance(&mut e, Instant::from_secs(60), &mut out);
    e.watch(1, a4(SOURCE));
    out.clear();
    let start = e.stats();
    let better = route("198.18.1.0/24", &[(2, "198.18.21.1")], 10, RouteProtocol::Ospf);
    let withdraw = UnicastEvent::RouteDelete { key: RouteKey { prefix: p4("198.18.1.0/24"), metric: 10 } };
    let mut now = Instant::from_secs(100);
    for flap in 0..100 {
        advance(&mut e, now, &mut out);
        let event = if flap % 2 == 0 { better.clone() } else { withdraw.clone() };
        e.handle(now, event, &mut out);
        now += Duration::from_millis(10);
    }
    advance(&mut e, now + Duration::from_secs(60), &mut out);
    let end = e.stats();
    let stats = crate::RpfStats {
        changes: end.changes - start.changes,
        recomputations: end.recomputations - start.recomputations,
        periodic_checks: end.periodic_checks - start.periodic_checks,
        answers_recomputed: end.answers_recomputed - start.answers_recomputed,
        changes_notified: end.changes_notified - start.changes_notified,
    };
    (stats, out, e)
}

#[test]
fn a_burst_of_100_flaps_is_damped_to_two_recomputations() {
    let (stats, out, e) = flap_storm(Some(Backoff::default()));
    // The first flap schedules one 500 ms later (the storm doubles the delay to 1 s meanwhile);
    // flaps right after it schedule the second 2 s later, past the end of the 1 s burst.
    assert_eq!(stats.changes, 100, "{stats:?}");
    assert_eq!(stats.recomputations, 2, "{stats:?}");
    assert!(out.len() <= 2, "{out:?}");
    // The burst ended with the better route withdrawn: the watch ends on the original answer.
    assert_eq!(e.watched(a4(SOURCE)).unwrap().interface(), Some(IfIndex(1)));
    assert_eq!(e.backoff_delay(), Duration::from_secs(2));
    assert_eq!(e.poll_at(), None);

    let (undamped, out, _) = flap_storm(None);
    assert_eq!(undamped.recomputations, 100);
    assert_eq!(out.len(), 100);
}

#[test]
fn periodic_recheck_runs_every_interval() {
    let config =
        RpfConfig { mode: RpfLookupMode::UribOnly, interval: Some(Duration::from_secs(10)), backoff: None };
    let mut e: RpfEngine<V4, u8> = RpfEngine::new(config, Instant::from_secs(5));
    assert_eq!(e.poll_at(), Some(Instant::from_secs(15)));
    e.watch(1, a4(SOURCE));
    e.watch(2, a4(RP));
    let mut out = Vec::new();
    e.on_timeout(Instant::from_secs(14), &mut out);
    assert_eq!(e.stats().periodic_checks, 0);
    e.on_timeout(Instant::from_secs(15), &mut out);
    assert_eq!(e.stats().periodic_checks, 1);
    assert_eq!(e.stats().answers_recomputed, 2);
    assert_eq!(e.poll_at(), Some(Instant::from_secs(25)));
    assert!(out.is_empty());
    e.set_config(Instant::from_secs(20), RpfConfig { interval: None, ..config }, &mut out);
    assert_eq!(e.poll_at(), None);
}

#[test]
fn link_down_moves_watches_to_the_backup_path() {
    let mut e = seed_topology(RpfLookupMode::MribThenUrib);
    feed(&mut e, route("198.18.1.0/24", &[(2, "198.18.21.1")], 30, RouteProtocol::Ospf));
    e.watch("source", a4(SOURCE));
    let mut out = Vec::new();
    e.handle(Instant::ZERO, UnicastEvent::LinkState { ifindex: IfIndex(1), up: false }, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].new.interface(), Some(IfIndex(2)));
    assert_eq!(out[0].new.route.unwrap().metric, 30);
    e.handle(Instant::ZERO, UnicastEvent::LinkState { ifindex: IfIndex(1), up: false }, &mut out);
    assert_eq!(out.len(), 1, "a repeated state is no change");
    e.handle(Instant::ZERO, UnicastEvent::LinkState { ifindex: IfIndex(1), up: true }, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].new.interface(), Some(IfIndex(1)));
}

#[test]
fn changes_serialise() {
    let mut e = seed_topology(RpfLookupMode::MribThenUrib);
    e.watch("source", a4(SOURCE));
    let mut out = Vec::new();
    e.handle(Instant::ZERO, UnicastEvent::LinkState { ifindex: IfIndex(1), up: false }, &mut out);
    let json = serde_json::to_value(&out[0]).unwrap();
    assert_eq!(json["key"], "source");
    assert_eq!(json["old"]["route"]["interface"], 1);
    assert_eq!(json["new"]["route"], serde_json::Value::Null);
    assert_eq!(serde_json::to_value(e.stats()).unwrap()["changes_notified"], 1);
}

#[test]
fn switching_damping_off_runs_the_pending_recomputation() {
    let config =
        RpfConfig { mode: RpfLookupMode::UribOnly, interval: None, backoff: Some(Backoff::default()) };
    let mut e: RpfEngine<V4, u8> = RpfEngine::new(config, Instant::ZERO);
    e.watch(1, a4(SOURCE));
    let mut out = Vec::new();
    e.handle(Instant::ZERO, address(1, "198.18.1.2", 24), &mut out);
    assert!(out.is_empty());
    assert_eq!(e.poll_at(), Some(Instant::from_millis(500)));
    e.set_config(Instant::from_millis(100), RpfConfig { backoff: None, ..config }, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(e.poll_at(), None);
}

#[test]
fn invalid_prefix_lengths_are_ignored() {
    let mut e = seed_topology(RpfLookupMode::UribOnly);
    e.watch("source", a4(SOURCE));
    let mut out = Vec::new();
    for prefix_len in [33, 200, u8::MAX] {
        let ifindex = IfIndex(7);
        e.handle(Instant::ZERO, UnicastEvent::AddressAdd { ifindex, addr: a4(SOURCE), prefix_len }, &mut out);
        e.handle(
            Instant::ZERO,
            UnicastEvent::AddressDelete { ifindex, addr: a4(SOURCE), prefix_len },
            &mut out,
        );
    }
    assert!(out.is_empty());
    assert_eq!(e.urib().connected().count(), 3);
}
