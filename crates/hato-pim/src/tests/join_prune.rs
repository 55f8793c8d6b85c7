//! Join/Prune scenarios on one router: downstream (§4.5.1-§4.5.3) and upstream (§4.5.4-§4.5.7)
//! machines driven through messages and timers.

use std::collections::BTreeSet;

use hato_core::{Duration, SgKey};

use super::harness::*;
use crate::{
    DropReason, Input, InterfaceConfig, LocalMembership, OifReason, Output, PimConfig, PimEvent, SourceFilter,
};

fn star_key() -> SgKey<hato_core::V4> {
    SgKey::star_g(grp())
}

fn sg_key() -> SgKey<hato_core::V4> {
    SgKey::sg(src(), grp())
}

#[test]
fn star_g_join_creates_state_intent_and_upstream_join() {
    let mut h = Harness::standard();
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    assert_eq!(h.down(IF2, star_key(), false), "Join");
    let view = h.r.join_states(h.now).into_iter().find(|j| j.ifindex == IF2).unwrap();
    assert_eq!(view.expires_in, Some(Duration::from_secs(210)));
    let m = h.mroute(star_key()).unwrap();
    assert_eq!(m.iif, Some(IF1));
    assert_eq!(m.oifs.into_iter().collect::<Vec<_>>(), vec![(IF2, OifReason::Joined)]);
    let sent = h.sent_jp();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, IF1);
    assert_eq!(sent[0].1.upstream_neighbor, n1());
    assert_eq!(sent[0].1.holdtime, 210);
    assert!(has(&sent[0].1, grp(), star(rp()), true));
    assert_eq!(h.up(star_key()).unwrap().state, "Joined");
}

#[test]
fn downstream_expiry_timer() {
    let mut h = Harness::standard();
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    h.at(100.0);
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]); // ET = max(ET, 210)
    h.at(309.0);
    h.hello(IF2, n2());
    assert_eq!(h.down(IF2, star_key(), false), "Join");
    h.at(310.0);
    assert_eq!(h.down(IF2, star_key(), false), "NoInfo");
    assert!(h.mroute(star_key()).is_none());
    assert!(h.sent_jp().iter().any(|(_, jp)| has(jp, grp(), star(rp()), false)), "Prune(*,G) upstream");
}

/// The Expiry Timer of a state pruned and joined again: the first state's deadline (210 s)
/// passes without effect on the second (ET 100 + 210 s), which expires at its own.
#[test]
fn expiry_timer_of_a_state_joined_again_after_a_prune() {
    let mut h = Harness::standard();
    let (src, group) = (src(), grp());
    h.jp(IF2, n2(), me(IF2), vec![set(group, vec![sg(src)], vec![])]);
    h.at(10.0);
    h.jp(IF2, n2(), me(IF2), vec![set(group, vec![], vec![sg(src)])]);
    h.at(10.0);
    assert_eq!(h.down(IF2, sg_key(), false), "NoInfo");
    h.at(100.0);
    h.jp(IF2, n2(), me(IF2), vec![set(group, vec![sg(src)], vec![])]);
    h.at(300.0);
    h.hello(IF2, n2());
    assert_eq!(h.down(IF2, sg_key(), false), "Join", "the first state's deadline is gone");
    let view = h.r.join_states(h.now).into_iter().find(|j| j.ifindex == IF2).unwrap();
    assert_eq!(view.expires_in, Some(Duration::from_secs(10)));
    h.at(310.0);
    assert_eq!(h.down(IF2, sg_key(), false), "NoInfo");
}

#[test]
fn state_change_events_can_be_switched_off() {
    let state_changes = |h: &mut Harness| {
        h.take().iter().filter(|o| matches!(o, Output::Event(PimEvent::StateChanged { .. }))).count()
    };
    let mut h = Harness::standard();
    h.take();
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![sg(src())], vec![])]);
    assert_eq!(state_changes(&mut h), 2, "downstream NoInfo -> Join, upstream NotJoined -> Joined");

    let mut quiet = Harness::standard();
    quiet.r.set_state_events(false);
    quiet.take();
    quiet.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![sg(src())], vec![])]);
    assert_eq!(state_changes(&mut quiet), 0);
    assert_eq!(quiet.down(IF2, sg_key(), false), "Join", "the same state without its events");
}

#[test]
fn prune_with_one_neighbor_takes_effect_at_once() {
    let mut h = Harness::standard();
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    h.take();
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![], vec![star(rp())])]);
    assert_eq!(h.down(IF2, star_key(), false), "PrunePending");
    h.at(0.0);
    assert_eq!(h.down(IF2, star_key(), false), "NoInfo");
    let sent = h.sent_jp();
    assert!(sent.iter().any(|(i, jp)| *i == IF1 && has(jp, grp(), star(rp()), false)));
    assert!(sent.iter().all(|(i, _)| *i != IF2), "no PruneEcho with a single neighbour");
}

#[test]
fn prune_on_a_lan_waits_for_override_and_echoes() {
    let mut h = Harness::standard();
    h.hello(IF2, n3());
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    h.take();
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![], vec![star(rp())])]);
    h.at(2.9);
    assert_eq!(h.down(IF2, star_key(), false), "PrunePending", "J/P_Override_Interval = 0.5 + 2.5 s");
    h.at(3.0);
    assert_eq!(h.down(IF2, star_key(), false), "NoInfo");
    let sent = h.sent_jp();
    let echo = sent.iter().find(|(i, _)| *i == IF2).expect("PruneEcho");
    assert_eq!(echo.1.upstream_neighbor, me(IF2));
    assert!(has(&echo.1, grp(), star(rp()), false));
}

#[test]
fn join_overrides_a_pending_prune() {
    let mut h = Harness::standard();
    h.hello(IF2, n3());
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![], vec![star(rp())])]);
    h.at(1.0);
    h.jp(IF2, n3(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    assert_eq!(h.down(IF2, star_key(), false), "Join");
    h.take();
    h.at(5.0);
    assert_eq!(h.down(IF2, star_key(), false), "Join");
    assert!(h.sent_jp().iter().all(|(_, jp)| !has(jp, grp(), star(rp()), false)));
}

#[test]
fn star_g_join_refused_in_ssm_without_rp_and_with_wrong_rp() {
    let mut h = Harness::standard();
    let ssm = a("232.1.1.1");
    h.jp(IF2, n2(), me(IF2), vec![set(ssm, vec![star(rp())], vec![])]);
    assert_eq!(h.r.counter(DropReason::StarGJoinInSsmRange), 1);
    h.jp(IF2, n2(), me(IF2), vec![set(a("238.1.1.1"), vec![star(rp())], vec![])]);
    assert_eq!(h.r.counter(DropReason::NoRp), 1);
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(a("198.18.0.99"))], vec![])]);
    assert_eq!(h.r.counter(DropReason::RpMismatch), 1);
    assert!(h.r.join_states(h.now).is_empty());
    // (S,G) joins are fine in SSM ranges.
    h.jp(IF2, n2(), me(IF2), vec![set(ssm, vec![sg(src())], vec![])]);
    assert_eq!(h.down(IF2, SgKey::sg(src(), ssm), false), "Join");
    assert!(h.sent_jp().iter().any(|(i, jp)| *i == IF1 && has(jp, ssm, sg(src()), true)));
}

#[test]
fn sg_join_and_prune() {
    let mut h = Harness::standard();
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![sg(src())], vec![])]);
    assert_eq!(h.down(IF2, sg_key(), false), "Join");
    let m = h.mroute(sg_key()).unwrap();
    assert_eq!((m.iif, m.spt), (Some(IF1), true));
    assert!(h.sent_jp().iter().any(|(_, jp)| has(jp, grp(), sg(src()), true)));
    assert_eq!(h.up(sg_key()).unwrap().state, "Joined");
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![], vec![sg(src())])]);
    h.at(0.0);
    assert_eq!(h.down(IF2, sg_key(), false), "NoInfo");
    assert!(h.sent_jp().iter().any(|(_, jp)| has(jp, grp(), sg(src()), false)));
    assert!(h.up(sg_key()).is_none(), "entry removed");
}

#[test]
fn sg_rpt_prune_with_star_join_in_one_message() {
    let mut h = Harness::standard();
    h.hello(IF2, n3());
    // (*,G) joined on if2 and if3's members... use two downstream routers on if2 and a local member on if3.
    h.input(Input::Membership(LocalMembership {
        ifindex: IF3,
        group: grp(),
        filter: SourceFilter::Exclude(BTreeSet::new()),
    }));
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![rpt(src())])]);
    assert_eq!(h.down(IF2, star_key(), false), "Join");
    assert_eq!(h.down(IF2, sg_key(), true), "PrunePending");
    h.at(3.0);
    assert_eq!(h.down(IF2, sg_key(), true), "Prune");
    assert_eq!(h.r.inherited_olist_sg_rpt(src(), grp()).keys().copied().collect::<Vec<_>>(), vec![IF3]);
    // The periodic message repeats both: Prune → PruneTmp → Prune.
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![rpt(src())])]);
    assert_eq!(h.down(IF2, sg_key(), true), "Prune");
    // A Join(*,G) alone ends the prune at End of Message.
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    assert_eq!(h.down(IF2, sg_key(), true), "NoInfo");
}

#[test]
fn sg_rpt_join_cancels_prune() {
    let mut h = Harness::standard();
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![rpt(src())])]);
    h.at(1.0);
    assert_eq!(h.down(IF2, sg_key(), true), "Prune");
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![rpt(src())], vec![])]);
    assert_eq!(h.down(IF2, sg_key(), true), "NoInfo");
}

#[test]
fn upstream_sg_rpt_prune_when_olist_empties() {
    let mut h = Harness::standard();
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    // Data from S on the shared tree creates (S,G) state (not a last hop: no switch).
    h.input(Input::NoCache { iif: IF1, source: src(), group: grp() });
    assert_eq!(h.up(sg_key()).unwrap().rpt_state.as_deref(), Some("NotPruned"));
    h.take();
    // The only downstream router prunes S off the shared tree: we prune upstream (§4.5.7).
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![rpt(src())])]);
    h.at(0.0);
    assert_eq!(h.up(sg_key()).unwrap().rpt_state.as_deref(), Some("Pruned"));
    let sent = h.sent_jp();
    assert!(sent.iter().any(|(i, jp)| *i == IF1 && has(jp, grp(), rpt(src()), false)));
    // The periodic Join(*,G) carries the Prune(S,G,rpt) (§4.5.6).
    h.at(61.0);
    let sent = h.sent_jp();
    assert!(sent.iter().any(|(_, jp)| has(jp, grp(), star(rp()), true) && has(jp, grp(), rpt(src()), false)));
}

#[test]
fn periodic_join_every_t_periodic() {
    let mut h = Harness::standard();
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    h.take();
    h.at(59.9);
    h.hello(IF1, n1());
    h.hello(IF2, n2());
    assert!(h.sent_jp().is_empty());
    h.at(60.0);
    assert_eq!(h.sent_jp().len(), 1);
}

#[test]
fn join_suppression_and_prune_override_on_the_upstream_lan() {
    let mut h = Harness::standard();
    h.hello(IF1, n4());
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    h.take();
    // Another router's Join(*,G) to our RPF' suppresses ours: JT ≥ 1.1 × 60 s.
    h.jp(IF1, n4(), n1(), vec![set(grp(), vec![star(rp())], vec![])]);
    let jt = h.up(star_key()).unwrap().join_timer_in.unwrap();
    assert!(jt >= Duration::from_secs(66) && jt <= Duration::from_secs(84), "JT {jt:?}");
    // Its Prune(*,G) must be overridden: JT ≤ t_override (2.5 s).
    h.jp(IF1, n4(), n1(), vec![set(grp(), vec![], vec![star(rp())])]);
    let jt = h.up(star_key()).unwrap().join_timer_in.unwrap();
    assert!(jt <= Duration::from_millis(2500), "JT {jt:?}");
    h.at(2.5);
    assert!(h.sent_jp().iter().any(|(_, jp)| has(jp, grp(), star(rp()), true)));
}

#[test]
fn rpf_change_sends_join_to_new_and_prune_to_old() {
    let mut h = Harness::standard();
    h.hello(IF1, n4());
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    h.take();
    h.rpf(rp(), IF1, n4(), false);
    let sent = h.sent_jp();
    assert!(sent.iter().any(|(_, jp)| jp.upstream_neighbor == n4() && has(jp, grp(), star(rp()), true)));
    assert!(sent.iter().any(|(_, jp)| jp.upstream_neighbor == n1() && has(jp, grp(), star(rp()), false)));
}

#[test]
fn local_member_joins_toward_the_rp_and_leave_prunes() {
    let mut h = Harness::standard();
    h.input(Input::Membership(LocalMembership {
        ifindex: IF3,
        group: grp(),
        filter: SourceFilter::Exclude(BTreeSet::new()),
    }));
    assert_eq!(h.mroute(star_key()).unwrap().oifs.get(&IF3), Some(&OifReason::LocalMember));
    assert!(h.sent_jp().iter().any(|(_, jp)| has(jp, grp(), star(rp()), true)));
    h.input(Input::Membership(LocalMembership {
        ifindex: IF3,
        group: grp(),
        filter: SourceFilter::Include(BTreeSet::new()),
    }));
    assert!(h.mroute(star_key()).is_none());
    assert!(h.sent_jp().iter().any(|(_, jp)| has(jp, grp(), star(rp()), false)));
}

#[test]
fn local_member_only_counts_where_we_are_dr() {
    let mut h = Harness::standard();
    // N2 (198.18.2.2) is DR on if2.
    h.input(Input::Membership(LocalMembership {
        ifindex: IF2,
        group: grp(),
        filter: SourceFilter::Exclude(BTreeSet::new()),
    }));
    assert!(h.mroute(star_key()).is_none());
    assert!(h.sent_jp().is_empty());
}

#[test]
fn ssm_include_membership_joins_the_source() {
    let mut h = Harness::standard();
    let g = a("232.1.1.1");
    h.input(Input::Membership(LocalMembership {
        ifindex: IF3,
        group: g,
        filter: SourceFilter::Include([src()].into_iter().collect()),
    }));
    let sent = h.sent_jp();
    assert!(sent.iter().any(|(_, jp)| has(jp, g, sg(src()), true)));
    assert!(sent.iter().all(|(_, jp)| jp.groups.iter().all(|s| s.joins.iter().all(|e| !e.wildcard))));
    assert_eq!(h.mroute(SgKey::sg(src(), g)).unwrap().oifs.get(&IF3), Some(&OifReason::LocalMember));
}

#[test]
fn many_groups_are_aggregated_and_split_to_the_mtu() {
    let mut h = Harness::bare(PimConfig::default());
    h.iface(IF1, InterfaceConfig { max_message_len: 200, ..InterfaceConfig::default() });
    h.iface(IF2, InterfaceConfig::default());
    h.input(Input::StaticRp { range: "239.0.0.0/8".parse().unwrap(), rp: Some(rp()) });
    h.rpf(rp(), IF1, n1(), false);
    h.hello(IF1, n1());
    h.hello(IF2, n2());
    h.take();
    let groups: Vec<_> = (0..40u8).map(|i| std::net::Ipv4Addr::new(239, 2, 0, i)).collect();
    h.jp(IF2, n2(), me(IF2), groups.iter().map(|g| set(*g, vec![star(rp())], vec![])).collect());
    let sent = h.sent_jp();
    assert!(sent.len() > 1);
    let ctx = hato_wire::checksum::ChecksumContext::Plain;
    for (_, jp) in &sent {
        let bytes = hato_wire::pim::PimMessage::JoinPrune(jp.clone()).to_bytes(ctx).unwrap();
        assert!(bytes.len() <= 200);
    }
    let joined: BTreeSet<_> =
        sent.iter().flat_map(|(_, jp)| jp.groups.iter().map(|s| s.group.group)).collect();
    assert_eq!(joined, groups.into_iter().collect());
}

#[test]
fn per_interface_and_per_neighbor_limits() {
    let mut h = Harness::bare(PimConfig { max_states_per_neighbor: 2, ..PimConfig::default() });
    h.iface(IF1, InterfaceConfig::default());
    h.iface(IF2, InterfaceConfig { max_states: 3, ..InterfaceConfig::default() });
    h.input(Input::StaticRp { range: "239.0.0.0/8".parse().unwrap(), rp: Some(rp()) });
    h.hello(IF2, n2());
    h.hello(IF2, n3());
    let g = |i: u8| std::net::Ipv4Addr::new(239, 3, 0, i);
    h.jp(IF2, n2(), me(IF2), (0..3).map(|i| set(g(i), vec![star(rp())], vec![])).collect());
    assert_eq!(h.r.counter(DropReason::LimitNeighbor), 1);
    h.jp(IF2, n3(), me(IF2), (3..5).map(|i| set(g(i), vec![star(rp())], vec![])).collect());
    assert_eq!(h.r.counter(DropReason::LimitInterface), 1);
    assert_eq!(h.r.join_states(h.now).len(), 3);
}

#[test]
fn global_limit() {
    let mut h = Harness::bare(PimConfig { max_entries: 2, ..PimConfig::default() });
    h.iface(IF2, InterfaceConfig::default());
    h.input(Input::StaticRp { range: "239.0.0.0/8".parse().unwrap(), rp: Some(rp()) });
    h.hello(IF2, n2());
    let g = |i: u8| std::net::Ipv4Addr::new(239, 3, 0, i);
    h.jp(IF2, n2(), me(IF2), (0..3).map(|i| set(g(i), vec![star(rp())], vec![])).collect());
    assert_eq!(h.r.counter(DropReason::LimitGlobal), 1);
    assert_eq!(h.r.join_states(h.now).len(), 2);
}

#[test]
fn ssm_range_change_withdraws_star_g() {
    let mut h = Harness::standard();
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    h.take();
    h.input(Input::SsmRanges(vec!["239.0.0.0/8".parse().unwrap()]));
    assert!(h.sent_jp().iter().any(|(_, jp)| has(jp, grp(), star(rp()), false)));
    assert!(h.mroute(star_key()).is_none());
}

/// 20,000 groups joined and refreshed stay cheap (a guard against quadratic paths).
#[test]
fn twenty_thousand_groups() {
    let mut h = Harness::standard();
    let started = std::time::Instant::now();
    for batch in 0..20u16 {
        let sets = (0..1000u16)
            .map(|i| {
                let n = batch * 1000 + i;
                set(std::net::Ipv4Addr::new(239, 5, (n >> 8) as u8, n as u8), vec![star(rp())], vec![])
            })
            .collect();
        h.jp(IF2, n2(), me(IF2), sets);
    }
    assert_eq!(h.r.join_states(h.now).len(), 20_000);
    let sent = h.sent_jp();
    let joined: usize = sent.iter().map(|(_, jp)| jp.groups.len()).sum();
    assert_eq!(joined, 20_000);
    h.at(61.0);
    let refreshed: usize = h.sent_jp().iter().map(|(_, jp)| jp.groups.len()).sum();
    assert_eq!(refreshed, 20_000, "periodic Joins for every group");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Messages FRR 8.4.4 sent (frr-pimsm-igmp.pcap in the shared test data), decoded by the real
/// codec and fed to the router: FRR's Hello (with IPv6 entries in its Address List) makes a
/// neighbour, and its Join(*,G) + Prune(S,G,rpt) to us drive the downstream machines.
#[test]
fn frr_messages_from_a_capture() {
    let ctx = hato_wire::checksum::ChecksumContext::Plain;
    let hello = unhex(concat!(
        "2000cbe60001000200690002000401f409c40013000400000001001400043e39c995001800240200fd00003000",
        "00000000000000000000010200fe800000000000000000000000000001"
    ));
    let join_prune =
        unhex("230083810100c6120302000100d201000020ef0101010001000101000720c612020201000520c612010a");
    let hello = hato_wire::pim::PimMessage::<hato_core::V4>::parse(&hello, ctx).unwrap();
    let join_prune = hato_wire::pim::PimMessage::<hato_core::V4>::parse(&join_prune, ctx).unwrap();
    let frr = a("198.18.3.3");
    let frr_rp = a("198.18.2.2");
    let mut h = Harness::bare(PimConfig::default());
    h.input(Input::InterfaceUp {
        ifindex: IF1,
        primary: a("198.18.3.2"),
        secondary: vec![],
        config: InterfaceConfig::default(),
    });
    h.input(Input::StaticRp { range: "239.0.0.0/8".parse().unwrap(), rp: Some(frr_rp) });
    h.receive(IF1, frr, hello);
    let nbr = h.r.neighbors(h.now).pop().unwrap();
    assert_eq!((nbr.address, nbr.holdtime, nbr.dr_priority), (frr, 105, Some(1)));
    assert_eq!(nbr.lan_prune_delay, Some((false, 500, 2500)));
    h.receive(IF1, frr, join_prune);
    let g = a("239.1.1.1");
    assert_eq!(h.down(IF1, SgKey::star_g(g), false), "Join");
    h.at(0.0);
    assert_eq!(h.down(IF1, SgKey::sg(a("198.18.1.10"), g), true), "Prune");
    assert!(h.r.counters().is_empty(), "nothing dropped: {:?}", h.r.counters());
}
