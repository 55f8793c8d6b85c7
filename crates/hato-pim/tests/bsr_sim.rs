//! Four routers on a line pass Bootstrap messages hop by hop through the real codec: election
//! among several candidates, convergence on one RP-Set, BSR failure and takeover, RP failure and
//! failover, and fragmented Bootstrap messages across the line.

mod common;

use common::{addr, addr_of, Line};
use hato_core::{Afi, Duration, Instant, V4, V6};
use hato_pim::bsr::{BsrConfig, BsrId, BsrState, CandidateBsrConfig, CandidateRpConfig, Input};
use hato_pim::rp::{hash_value, RpChange, RpSet};
use hato_wire::pim::PimMessage;

fn p4(s: &str) -> <V4 as Afi>::Prefix {
    s.parse().unwrap()
}

fn config(i: usize, bsr_priority: Option<u8>, rp: Option<(u8, &str)>) -> BsrConfig<V4> {
    BsrConfig {
        candidate_bsr: bsr_priority.map(|p| CandidateBsrConfig::new(addr(i), p)),
        candidate_rp: rp
            .map(|(priority, groups)| CandidateRpConfig::new(addr(i), priority, vec![p4(groups)])),
        seed: i as u64 + 1,
        ..BsrConfig::default()
    }
}

/// R0: C-BSR priority 10. R1: C-RP for 239/8. R2: C-BSR 20 and C-RP for 239/8. R3: C-BSR 20.
fn line() -> Line<V4> {
    Line::new(vec![
        config(0, Some(10), None),
        config(1, None, Some((5, "239.0.0.0/8"))),
        config(2, Some(20), Some((5, "239.0.0.0/8"))),
        config(3, Some(20), None),
    ])
}

fn all_agree(line: &Line<V4>, bsr: BsrId<V4>, rps: &[usize]) -> bool {
    let ranges: Vec<_> = rps.iter().map(|i| addr(*i)).collect();
    line.alive().all(|r| {
        r.bsr.elected() == Some(bsr)
            && r.rp_set.bsr == Some(bsr.address)
            && r.rp_set
                .range(&p4("239.0.0.0/8"))
                .is_some_and(|g| g.rps.iter().map(|e| e.address).collect::<Vec<_>>() == ranges)
    })
}

fn one_rp_set(line: &Line<V4>) -> RpSet<V4> {
    let sets: Vec<&RpSet<V4>> = line.alive().map(|r| &r.rp_set).collect();
    assert!(sets.windows(2).all(|w| w[0] == w[1]), "routers disagree: {sets:?}");
    sets[0].clone()
}

#[test]
fn elects_highest_priority_then_address_and_converges() {
    let mut line = line();
    let r3 = BsrId { priority: 20, address: addr(3) };
    let t = line.run_until_true(Instant::from_secs(60), |l| all_agree(l, r3, &[1, 2])).expect("converged");
    // Candidates wait BS_Rand_Override (5-23 s) before claiming.
    assert!(t >= Instant::from_secs(5), "{t}");
    assert_eq!(line.routers[3].bsr.state(), BsrState::ElectedBsr);
    for i in [0, 2] {
        assert_eq!(line.routers[i].bsr.state(), BsrState::CandidateBsr);
    }
    assert_eq!(line.routers[1].bsr.state(), BsrState::AcceptPreferred);
    let set = one_rp_set(&line);
    assert_eq!(set.hash_mask_len, 30);
    // Every router maps a group to the same RP.
    let g = "239.1.2.3".parse().unwrap();
    let rps: Vec<_> = line.alive().map(|r| r.mapping.rp_for(g)).collect();
    assert!(rps.iter().all(|rp| rp.is_some() && *rp == rps[0]), "{rps:?}");
    // Steady state: the BSR keeps sending every Bootstrap-Period; the others only forward.
    line.run_until(Instant::from_secs(600));
    assert!(all_agree(&line, r3, &[1, 2]));
    let originated_late = line
        .log
        .iter()
        .filter(|(t, from, _, m)| {
            *t > Instant::from_secs(300)
                && matches!(m, PimMessage::Bootstrap(b) if b.bsr_address == addr(*from))
        })
        .count();
    // R3 has one interface: one message per period, about 5 in 300 s (plus triggered ones).
    assert!((4..=8).contains(&originated_late), "{originated_late}");
}

#[test]
fn bsr_failure_is_taken_over_within_bootstrap_timeout() {
    let mut line = line();
    let r3 = BsrId { priority: 20, address: addr(3) };
    line.run_until_true(Instant::from_secs(60), |l| all_agree(l, r3, &[1, 2])).expect("converged");
    line.run_until(Instant::from_secs(200));
    let failed_at = line.now;
    line.fail(3);
    let r2 = BsrId { priority: 20, address: addr(2) };
    // Bootstrap-Timeout (130 s) after the last message, then BS_Rand_Override (at most 23 s).
    let deadline = failed_at + Duration::from_secs(130 + 23);
    let t = line.run_until_true(deadline, |l| all_agree(l, r2, &[1, 2])).expect("taken over");
    assert!(t > failed_at + Duration::from_secs(60), "too early: {t}");
    assert_eq!(line.routers[2].bsr.state(), BsrState::ElectedBsr);
    assert_eq!(line.routers[0].bsr.state(), BsrState::CandidateBsr);
}

#[test]
fn rp_failure_fails_over_within_rp_holdtime() {
    let mut line = line();
    let r3 = BsrId { priority: 20, address: addr(3) };
    line.run_until_true(Instant::from_secs(60), |l| all_agree(l, r3, &[1, 2])).expect("converged");
    line.run_until(Instant::from_secs(100));
    // A group that hashes to R1 while both RPs are up, followed by every router's mapping.
    let g = (0..=255u8)
        .map(|k| std::net::Ipv4Addr::new(239, 0, 0, k))
        .find(|g| hash_value::<V4>(*g, 30, addr(1)) > hash_value::<V4>(*g, 30, addr(2)))
        .expect("some group hashes to R1");
    for r in &mut line.routers {
        assert_eq!(r.mapping.watch(g), Some(addr(1)));
    }
    // R1 (a C-RP only) fails; the BSR drops it when its 150 s RP-Holdtime runs out.
    let failed_at = line.now;
    line.fail(1);
    // R0 is cut off from the BSR by R1's failure: only R2 and R3 keep receiving.
    line.fail(0);
    let deadline = failed_at + Duration::from_secs(150);
    let t = line.run_until_true(deadline, |l| all_agree(l, r3, &[2])).expect("failed over");
    assert!(t > failed_at + Duration::from_secs(150 - 61), "too early: {t}");
    for r in line.alive() {
        assert_eq!(r.mapping.rp_for(g), Some(addr(2)));
        assert_eq!(r.changes, vec![RpChange { group: g, old: Some(addr(1)), new: Some(addr(2)) }]);
    }
}

#[test]
fn fragmented_rp_set_crosses_the_line() {
    // The BSR at R0 with a small MTU; R1..R3 are candidate RPs for many ranges.
    let mut configs = vec![BsrConfig { max_message_len: 120, ..config(0, Some(1), None) }];
    for i in 1..4 {
        let groups: Vec<_> =
            (0..6).map(|k| V4::prefix(std::net::Ipv4Addr::new(239, k, 0, 0), 16).unwrap()).collect();
        configs.push(BsrConfig {
            candidate_rp: Some(CandidateRpConfig::new(addr(i), i as u8, groups)),
            ..config(i, None, None)
        });
    }
    let mut line = Line::new(configs);
    let r0 = BsrId { priority: 1, address: addr(0) };
    let complete =
        |l: &Line<V4>| l.alive().all(|r| r.bsr.elected() == Some(r0) && r.rp_set.entry_count() == 18);
    line.run_until_true(Instant::from_secs(60), complete).expect("reassembled");
    let set = one_rp_set(&line);
    assert_eq!(set.ranges.len(), 6);
    // The BSR's messages were fragments: several per origination, all within the MTU.
    let last_tag_fragments: Vec<_> = line
        .log
        .iter()
        .filter_map(|(_, from, _, m)| match m {
            PimMessage::Bootstrap(b) if *from == 0 => Some(b.clone()),
            _ => None,
        })
        .collect();
    let last = last_tag_fragments.last().unwrap().fragment_tag;
    let n = last_tag_fragments.iter().filter(|b| b.fragment_tag == last).count();
    assert!(n >= 3, "{n} fragments");
    for b in &last_tag_fragments {
        let len = PimMessage::Bootstrap(b.clone()).buffer_len();
        assert!(len <= 120, "{len}");
    }
}

#[test]
fn unicast_bootstrap_to_a_restarted_neighbor() {
    let mut line = line();
    let r3 = BsrId { priority: 20, address: addr(3) };
    line.run_until_true(Instant::from_secs(60), |l| all_agree(l, r3, &[1, 2])).expect("converged");
    // R0 restarts: its state is new; R1, the DR, sees the Generation ID change and unicasts the
    // stored Bootstrap message, which R0 accepts without waiting for the next period.
    let mut out = Vec::new();
    let fresh = hato_pim::Bsr::new(line.now, config(0, None, None), &mut out);
    line.routers[0].bsr = fresh;
    line.routers[0].rp_set = RpSet::new();
    line.input(0, Input::InterfaceUp { ifindex: common::EAST, accept_bootstrap: true });
    line.input(0, Input::NeighborUp { ifindex: common::EAST, neighbor: addr(1), we_are_dr: false });
    line.input(1, Input::NeighborGenIdChanged { ifindex: common::WEST, neighbor: addr(0), we_are_dr: true });
    assert_eq!(line.routers[0].bsr.elected(), Some(r3));
    assert_eq!(line.routers[0].bsr.state(), BsrState::AcceptPreferred);
    assert_eq!(line.routers[0].rp_set.entry_count(), 2);
}

#[test]
fn ipv6_line_elects_and_converges() {
    let cfg = |i: usize, bsr: Option<u8>, rp: Option<u8>| BsrConfig::<V6> {
        candidate_bsr: bsr.map(|p| CandidateBsrConfig::new(addr_of::<V6>(i), p)),
        candidate_rp: rp
            .map(|p| CandidateRpConfig::new(addr_of::<V6>(i), p, vec!["ff0e::/16".parse().unwrap()])),
        seed: i as u64,
        ..BsrConfig::default()
    };
    let mut line =
        Line::<V6>::new(vec![cfg(0, Some(3), None), cfg(1, None, Some(1)), cfg(2, Some(3), Some(1))]);
    let bsr = BsrId { priority: 3, address: addr_of::<V6>(2) };
    let done = |l: &Line<V6>| {
        l.alive().all(|r| {
            r.bsr.elected() == Some(bsr) && r.rp_set.entry_count() == 2 && r.rp_set.hash_mask_len == 126
        })
    };
    line.run_until_true(Instant::from_secs(60), done).expect("converged");
    let g = "ff0e::1234".parse().unwrap();
    let rps: Vec<_> = line.alive().map(|r| r.mapping.decide(g).unwrap()).collect();
    assert!(rps.iter().all(|d| d.rp == rps[0].rp && d.hash_mask_len == Some(126)), "{rps:?}");
}
