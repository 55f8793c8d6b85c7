//! Administratively scoped zones (RFC 5059 §3.x) on a line of five routers, on the virtual clock:
//! one election per zone, a zone boundary that Bootstrap messages of the zone do not cross (and
//! are counted at), the global zone crossing it, and RP selection that prefers a zone's RP-Set for
//! its groups.
//!
//! `R0 - R1 - R2 | R3 - R4`: the boundary for 239.1.0.0/16 is R2's east interface. R0 is the
//! global zone's best candidate BSR and the best of the zone west of the boundary; R4 stands for
//! the zone east of it (the same range, another zone instance). R1 and R3 are candidate RPs for
//! 239.1.0.0/16, R0 for 239.0.0.0/8.

mod common;

use common::{addr, Line, EAST};
use hato_core::{Afi, Instant, V4};
use hato_pim::bsr::{
    scope_zone, BsrConfig, BsrId, BsrState, CandidateBsrConfig, CandidateRpConfig, Input, ScopeZoneConfig,
};
use hato_wire::pim::PimMessage;

fn p4(s: &str) -> <V4 as Afi>::Prefix {
    s.parse().unwrap()
}

fn zone() -> <V4 as Afi>::Prefix {
    p4("239.1.0.0/16")
}

fn config(i: usize, global_bsr: Option<u8>, zone_bsr: Option<u8>, rp: Option<&str>) -> BsrConfig<V4> {
    BsrConfig {
        candidate_bsr: global_bsr.map(|p| CandidateBsrConfig::new(addr(i), p)),
        candidate_rp: rp.map(|groups| CandidateRpConfig::new(addr(i), 10, vec![p4(groups)])),
        scope_zones: zone_bsr
            .map(|p| ScopeZoneConfig {
                range: zone(),
                candidate_bsr: Some(CandidateBsrConfig::new(addr(i), p)),
            })
            .into_iter()
            .collect(),
        seed: i as u64 + 7,
        ..BsrConfig::default()
    }
}

fn scoped_line() -> Line<V4> {
    let mut line = Line::new(vec![
        config(0, Some(10), Some(50), Some("239.0.0.0/8")),
        config(1, None, None, Some("239.1.0.0/16")),
        config(2, None, None, None),
        config(3, None, None, Some("239.1.0.0/16")),
        config(4, Some(5), Some(100), None),
    ]);
    line.input(2, Input::SetBoundaries { ifindex: EAST, ranges: vec![p4("239.1.0.0/16")] });
    line
}

fn zone_bsr(line: &Line<V4>, i: usize) -> Option<BsrId<V4>> {
    line.routers[i].bsr.zone(&zone()).and_then(|z| z.elected())
}

fn converged(line: &Line<V4>) -> bool {
    let global = BsrId { priority: 10, address: addr(0) };
    let west = BsrId { priority: 50, address: addr(0) };
    let east = BsrId { priority: 100, address: addr(4) };
    let g = "239.1.7.7".parse().unwrap();
    let other = "239.200.0.1".parse().unwrap();
    line.alive().all(|r| r.bsr.elected() == Some(global))
        && (0..3).all(|i| zone_bsr(line, i) == Some(west))
        && (3..5).all(|i| zone_bsr(line, i) == Some(east))
        && (0..3).all(|i| line.routers[i].mapping.rp_for(g) == Some(addr(1)))
        && (3..5).all(|i| line.routers[i].mapping.rp_for(g) == Some(addr(3)))
        && line.alive().all(|r| r.mapping.rp_for(other) == Some(addr(0)))
}

/// Each router's BSRs and RP-Set, for failure messages.
fn describe(line: &Line<V4>) -> String {
    let g = "239.1.7.7".parse().unwrap();
    line.routers
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "R{i}: global {:?} {:?}, zone {:?} {:?}, rp({g}) {:?}, set {}\n",
                r.bsr.state(),
                r.bsr.elected(),
                r.bsr.zone(&zone()).map(|z| z.state()),
                zone_bsr(line, i),
                r.mapping.rp_for(g),
                r.rp_set
            )
        })
        .collect()
}

#[test]
fn one_election_per_zone_and_the_boundary_holds() {
    let mut line = scoped_line();
    let t = line
        .run_until_true(Instant::from_secs(90), converged)
        .unwrap_or_else(|| panic!("{}", describe(&line)));
    assert!(t >= Instant::from_secs(5), "{t}");
    assert_eq!(line.routers[0].bsr.zone(&zone()).unwrap().state(), BsrState::ElectedBsr);
    assert_eq!(line.routers[4].bsr.zone(&zone()).unwrap().state(), BsrState::ElectedBsr);
    // R4 is elected in its zone instance but is not the global BSR.
    assert_eq!(line.routers[4].bsr.state(), BsrState::CandidateBsr);

    // Keep running: the zones stay apart for several Bootstrap-Periods.
    line.run_until(Instant::from_secs(400));
    assert!(converged(&line));

    // Scoped Bootstrap messages carry the zone as their first range, Z bit set; R2 never sends
    // one east, R3 never sends one west that R2 accepts.
    let scoped: Vec<_> = line
        .log
        .iter()
        .filter_map(|(_, from, to, m)| match m {
            PimMessage::Bootstrap(b) => scope_zone::<V4>(b).map(|z| (*from, *to, z, b.bsr_address)),
            _ => None,
        })
        .collect();
    assert!(scoped.iter().all(|(_, _, z, _)| *z == zone()));
    assert!(scoped.iter().any(|(from, _, _, bsr)| *from == 0 && *bsr == addr(0)));
    assert!(scoped.iter().any(|(from, _, _, bsr)| *from == 4 && *bsr == addr(4)));
    let crossed_east = scoped.iter().filter(|(from, to, _, _)| {
        *from == 2 && matches!(to, hato_pim::bsr::Destination::AllPimRouters { ifindex } if *ifindex == EAST)
    });
    assert_eq!(crossed_east.count(), 0, "a scoped message left through the boundary");
    // R3 forwards R4's zone messages west; R2 drops each one at the boundary and counts it.
    let dropped = line.routers[2].bsr.boundary_drops_on(EAST);
    assert!(dropped >= 5, "boundary drops {dropped}");
    assert_eq!(line.routers[2].bsr.counters().bootstrap_boundary_dropped, dropped);
    // Global messages do cross the boundary.
    assert!(line.log.iter().any(|(_, from, to, m)| {
        *from == 2
            && matches!(to, hato_pim::bsr::Destination::AllPimRouters { ifindex } if *ifindex == EAST)
            && matches!(m, PimMessage::Bootstrap(b) if scope_zone::<V4>(b).is_none())
    }));
}

#[test]
fn the_zone_rp_set_is_preferred_for_its_groups() {
    let mut line = scoped_line();
    line.run_until_true(Instant::from_secs(90), converged).unwrap_or_else(|| panic!("{}", describe(&line)));
    // The C-RPs inside the zone advertise its range to the zone's BSR only: the global RP-Set
    // has 239.0.0.0/8 alone, the zone's has 239.1.0.0/16 with the RP on its side.
    for (i, rp) in [(0, 1), (2, 1), (3, 3), (4, 3)] {
        let set = &line.routers[i].rp_set;
        assert_eq!(set.ranges.len(), 1, "R{i}: {set}");
        assert_eq!(set.ranges[0].range, p4("239.0.0.0/8"));
        assert_eq!(set.scoped.len(), 1, "R{i}: {set}");
        let scoped = &set.scoped[0];
        assert_eq!(scoped.zone, zone());
        let rps: Vec<_> = scoped.rp_set.ranges.iter().flat_map(|r| r.rps.iter().map(|e| e.address)).collect();
        assert_eq!(rps, vec![addr(rp)], "R{i}: {set}");
        let decision = line.routers[i].mapping.decide("239.1.0.9".parse().unwrap()).unwrap();
        assert_eq!(decision.rp, addr(rp));
        assert_eq!(decision.range, zone());
    }
}

#[test]
fn a_zone_bsr_failure_is_taken_over_inside_the_zone_only() {
    let mut configs = vec![
        config(0, Some(10), Some(50), Some("239.0.0.0/8")),
        config(1, None, Some(40), Some("239.1.0.0/16")),
        config(2, None, None, None),
        config(3, None, None, Some("239.1.0.0/16")),
        config(4, Some(5), Some(100), None),
    ];
    configs[1].candidate_bsr = None;
    let mut line = Line::new(configs);
    line.input(2, Input::SetBoundaries { ifindex: EAST, ranges: vec![zone()] });
    line.run_until_true(Instant::from_secs(90), converged).unwrap_or_else(|| panic!("{}", describe(&line)));
    line.run_until(Instant::from_secs(120));
    // R0 fails: R1 takes the zone over (Bootstrap-Timeout, then BS_Rand_Override); the eastern
    // zone keeps R4.
    line.fail(0);
    let r1 = BsrId { priority: 40, address: addr(1) };
    let east = BsrId { priority: 100, address: addr(4) };
    let takeover = |l: &Line<V4>| {
        (1..3).all(|i| zone_bsr(l, i) == Some(r1)) && (3..5).all(|i| zone_bsr(l, i) == Some(east))
    };
    line.run_until_true(Instant::from_secs(120 + 130 + 23 + 5), takeover).expect("taken over in the zone");
    assert_eq!(line.routers[1].bsr.zone(&zone()).unwrap().state(), BsrState::ElectedBsr);
}
