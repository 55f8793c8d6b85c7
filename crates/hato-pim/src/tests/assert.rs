//! Assert scenarios on one router, one per cell of the (S,G) (RFC 7761 §4.6.1) and (*,G)
//! (§4.6.2) machines, driven through messages, upcalls and timers on the virtual clock.
//!
//! The fixture: N2 joined (S,G) (or (*,G)) on if2, where N3 is a second upstream router that
//! may forward too. Our route metrics: source and RP via N1 on if1 with preference 1, metric 10.
//! A competing Assert with preference 0 beats us, one with preference 5 loses.

use std::net::Ipv4Addr;

use hato_core::{Duration, IfIndex, SgKey, V4};
use hato_wire::pim::{Assert, EncodedGroup, PimMessage, MAX_METRIC_PREFERENCE};

use super::harness::*;
use crate::{Input, RpfUpdate};

/// Another router on if2, the competing forwarder.
fn n3_addr() -> Ipv4Addr {
    n3()
}
/// A third router on if2.
fn n5() -> Ipv4Addr {
    a("198.18.2.5")
}

fn key(sg: bool) -> SgKey<V4> {
    if sg {
        SgKey::sg(src(), grp())
    } else {
        SgKey::star_g(grp())
    }
}

fn assert_msg(sg: bool, preference: u32, metric: u32) -> PimMessage<V4> {
    PimMessage::Assert(Assert {
        group: EncodedGroup::host(grp()),
        source: src(),
        rpt: !sg,
        metric_preference: preference,
        metric,
    })
}

fn cancel_msg() -> PimMessage<V4> {
    PimMessage::Assert(Assert {
        group: EncodedGroup::host(grp()),
        source: src(),
        rpt: true,
        metric_preference: MAX_METRIC_PREFERENCE,
        metric: u32::MAX,
    })
}

/// The standard router with N3 on if2 and N2's Join for the entry; for (S,G) the source's first
/// packet on if1 has set the SPT bit.
fn fixture(sg: bool) -> Harness {
    let mut h = Harness::standard();
    h.hello(IF2, n3_addr());
    if sg {
        h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![sg_entry()], vec![])]);
        h.input(Input::NoCache { iif: IF1, source: src(), group: grp() });
        assert!(h.up(key(true)).unwrap().spt_bit, "SPT bit set by the first packet");
    } else {
        h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    }
    assert!(forwards(&h, sg), "if2 is an outgoing interface");
    h.take();
    h
}

fn sg_entry() -> hato_wire::pim::EncodedSource<V4> {
    sg(src())
}

/// The Assert state on if2 ("NoInfo" when there is none).
fn state(h: &Harness, sg: bool, ifindex: IfIndex) -> String {
    h.r.asserts(h.now)
        .into_iter()
        .find(|v| v.key == key(sg) && v.ifindex == ifindex)
        .map_or("NoInfo".to_string(), |v| format!("{:?}", v.state))
}

fn winner(h: &Harness, sg: bool) -> Option<Ipv4Addr> {
    h.r.asserts(h.now).into_iter().find(|v| v.key == key(sg) && v.ifindex == IF2).map(|v| v.winner)
}

fn expires_in(h: &Harness, sg: bool) -> Option<Duration> {
    h.r.asserts(h.now).into_iter().find(|v| v.key == key(sg) && v.ifindex == IF2).and_then(|v| v.expires_in)
}

/// Whether the entry's mroute intent forwards onto if2.
fn forwards(h: &Harness, sg: bool) -> bool {
    h.mroute(key(sg)).is_some_and(|m| m.oifs.contains_key(&IF2))
}

/// The Asserts sent so far (taking all outputs).
fn sent_asserts(h: &mut Harness) -> Vec<(IfIndex, Assert<V4>)> {
    h.take()
        .into_iter()
        .filter_map(|o| match o {
            crate::Output::Send { ifindex, message: PimMessage::Assert(a), .. } => Some((ifindex, a)),
            _ => None,
        })
        .collect()
}

/// Data from the source arrives on if2, an outgoing interface: the kernel's WRONGVIF upcall.
fn data_on_if2(h: &mut Harness) {
    h.input(Input::WrongVif { iif: IF2, source: src(), group: grp() });
}

/// A loser on if2 whose only outgoing interface it was leaves the SPT and cannot assert; an
/// inferior Assert from the winner (better than infinite) keeps it a loser.
#[test]
fn sg_loser_off_the_spt_stays_loser_on_inferior_assert() {
    let mut h = loser_fixture(true);
    assert!(!h.up(key(true)).unwrap().spt_bit);
    h.receive(IF2, n3_addr(), assert_msg(true, 5, 10));
    assert_eq!(state(&h, true, IF2), "Loser");
}

fn winner_fixture(sg: bool) -> Harness {
    let mut h = fixture(sg);
    data_on_if2(&mut h);
    assert_eq!(state(&h, sg, IF2), "Winner");
    h.take();
    h
}

fn loser_fixture(sg: bool) -> Harness {
    let mut h = fixture(sg);
    h.receive(IF2, n3_addr(), assert_msg(sg, 0, 10));
    assert_eq!(state(&h, sg, IF2), "Loser");
    assert_eq!(winner(&h, sg), Some(n3_addr()));
    h.take();
    h
}

// ---- NoInfo ----

fn no_info_x_data_arrives(sg: bool) {
    let mut h = fixture(sg);
    data_on_if2(&mut h);
    assert_eq!(state(&h, sg, IF2), "Winner");
    let sent = sent_asserts(&mut h);
    assert_eq!(sent.len(), 1);
    let (ifindex, a) = &sent[0];
    assert_eq!((*ifindex, a.rpt, a.metric_preference, a.metric, a.source), (IF2, !sg, 1, 10, src()));
    // Assert_Time - Assert_Override_Interval.
    assert_eq!(expires_in(&h, sg), Some(Duration::from_secs(177)));
    assert_eq!(winner(&h, sg), Some(me(IF2)));
    assert!(forwards(&h, sg));
}

fn no_info_x_inferior_assert(sg: bool) {
    let mut h = fixture(sg);
    // An RPT Assert is inferior to our (S,G) metric; for (*,G) a worse preference.
    let msg = if sg { assert_msg(false, 0, 0) } else { assert_msg(false, 5, 10) };
    h.receive(IF2, n3_addr(), msg);
    assert_eq!(state(&h, sg, IF2), "Winner");
    assert_eq!(sent_asserts(&mut h).len(), 1);
}

fn no_info_x_acceptable_assert(sg: bool) {
    let mut h = fixture(sg);
    h.receive(IF2, n3_addr(), assert_msg(sg, 0, 10));
    assert_eq!(state(&h, sg, IF2), "Loser");
    assert_eq!(expires_in(&h, sg), Some(Duration::from_secs(180)));
    assert!(sent_asserts(&mut h).is_empty());
    assert!(!forwards(&h, sg), "lost_assert removes if2 at once");
}

fn no_info_x_unrelated_assert_is_ignored(sg: bool) {
    let mut h = Harness::standard();
    h.hello(IF2, n3_addr());
    h.take();
    // No state for the entry: neither CouldAssert nor AssertTrackingDesired.
    h.receive(IF2, n3_addr(), assert_msg(sg, 0, 10));
    h.receive(IF2, n3_addr(), assert_msg(sg, 5, 10));
    assert_eq!(state(&h, sg, IF2), "NoInfo");
    assert!(sent_asserts(&mut h).is_empty());
}

// ---- I am Assert Winner ----

fn winner_x_timer_expires(sg: bool) {
    let mut h = winner_fixture(sg);
    h.at(176.9);
    assert!(sent_asserts(&mut h).is_empty());
    h.at(177.0);
    let sent = sent_asserts(&mut h);
    assert_eq!(sent.len(), 1, "re-assert before the losers' timers run out");
    assert_eq!(state(&h, sg, IF2), "Winner");
    assert_eq!(expires_in(&h, sg), Some(Duration::from_secs(177)));
}

fn winner_x_inferior_assert(sg: bool) {
    let mut h = winner_fixture(sg);
    h.at(10.0);
    h.receive(IF2, n3_addr(), assert_msg(sg, 5, 10));
    assert_eq!(sent_asserts(&mut h).len(), 1);
    assert_eq!(state(&h, sg, IF2), "Winner");
    assert_eq!(expires_in(&h, sg), Some(Duration::from_secs(177)));
}

fn winner_x_preferred_assert(sg: bool) {
    let mut h = winner_fixture(sg);
    h.receive(IF2, n3_addr(), assert_msg(sg, 0, 10));
    assert_eq!(state(&h, sg, IF2), "Loser");
    assert_eq!(winner(&h, sg), Some(n3_addr()));
    assert!(sent_asserts(&mut h).is_empty());
    assert!(!forwards(&h, sg));
}

fn winner_x_could_assert_false(sg: bool) {
    let mut h = winner_fixture(sg);
    let entry = if sg { sg_entry() } else { star(rp()) };
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![], vec![entry])]);
    // Prune-Pending lasts the J/P override interval (two neighbours on if2).
    h.at(3.0);
    assert_eq!(state(&h, sg, IF2), "NoInfo");
    let sent = sent_asserts(&mut h);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].1.is_cancel(), "AssertCancel: {}", sent[0].1);
}

// ---- I am Assert Loser ----

fn loser_x_preferred_assert(sg: bool) {
    let mut h = loser_fixture(sg);
    h.hello(IF2, n5());
    h.receive(IF2, n5(), assert_msg(sg, 0, 5));
    assert_eq!(winner(&h, sg), Some(n5()));
    assert_eq!(state(&h, sg, IF2), "Loser");
    // A worse Assert from a third router changes nothing.
    h.receive(IF2, a("198.18.2.6"), assert_msg(sg, 0, 7));
    assert_eq!(winner(&h, sg), Some(n5()));
}

fn loser_x_acceptable_from_winner(sg: bool) {
    let mut h = loser_fixture(sg);
    h.at(100.0);
    assert_eq!(expires_in(&h, sg), Some(Duration::from_secs(80)));
    h.receive(IF2, n3_addr(), assert_msg(sg, 0, 10));
    assert_eq!(expires_in(&h, sg), Some(Duration::from_secs(180)));
    assert_eq!(state(&h, sg, IF2), "Loser");
}

/// A downstream router on if3 keeps (S,G) joined upstream, so that the SPT bit stays set and the
/// loser on if2 could still assert: a loser whose only outgoing interface was if2 prunes itself
/// off the SPT, clears the SPT bit and has the infinite metric, which every Assert beats.
fn keep_spt_joined(h: &mut Harness) {
    let n6 = a("198.18.3.2");
    h.hello(IF3, n6);
    h.jp(IF3, n6, me(IF3), vec![set(grp(), vec![sg_entry()], vec![])]);
    h.input(Input::TrafficSeen { source: src(), group: grp() });
    assert!(h.up(key(true)).unwrap().spt_bit);
}

fn loser_x_inferior_from_winner(sg: bool, cancel: bool) {
    let mut h = loser_fixture(sg);
    if sg {
        keep_spt_joined(&mut h);
    }
    let msg = if cancel { cancel_msg() } else { assert_msg(sg, 5, 10) };
    h.receive(IF2, n3_addr(), msg);
    assert_eq!(state(&h, sg, IF2), "NoInfo");
    assert!(forwards(&h, sg), "if2 is back in the outgoing list");
}

fn loser_x_timer_expires(sg: bool) {
    let mut h = loser_fixture(sg);
    for t in [30.0, 60.0, 90.0, 120.0, 150.0] {
        h.at(t);
        h.hello(IF2, n2());
        h.hello(IF2, n3_addr());
    }
    h.at(179.9);
    assert_eq!(state(&h, sg, IF2), "Loser");
    h.at(180.0);
    assert_eq!(state(&h, sg, IF2), "NoInfo");
    assert!(forwards(&h, sg));
}

fn loser_x_winner_neighbor_expires(sg: bool) {
    let mut h = loser_fixture(sg);
    // N2 keeps saying Hello, N3 (the winner) falls silent: its 105 s holdtime runs out.
    for t in [30.0, 60.0, 90.0] {
        h.at(t);
        h.hello(IF2, n2());
    }
    h.at(104.9);
    assert_eq!(state(&h, sg, IF2), "Loser");
    h.at(105.0);
    assert_eq!(state(&h, sg, IF2), "NoInfo");
    assert!(forwards(&h, sg));
}

fn loser_x_tracking_desired_false(sg: bool) {
    let mut h = loser_fixture(sg);
    let entry = if sg { sg_entry() } else { star(rp()) };
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![], vec![entry])]);
    h.at(3.0);
    assert_eq!(state(&h, sg, IF2), "NoInfo");
    assert!(sent_asserts(&mut h).is_empty(), "a loser sends no AssertCancel");
}

fn loser_x_my_metric_better(sg: bool) {
    let mut h = loser_fixture(sg);
    if sg {
        keep_spt_joined(&mut h);
    }
    // The route to the source (RP) improves to preference 0, metric 1: now we beat N3.
    let target = if sg { src() } else { rp() };
    h.input(Input::Rpf(RpfUpdate {
        target,
        interface: Some(IF1),
        neighbor: Some(n1()),
        connected: false,
        metric: 1,
        preference: 0,
    }));
    assert_eq!(state(&h, sg, IF2), "NoInfo");
    assert!(forwards(&h, sg));
}

fn loser_x_receive_join(sg: bool) {
    let mut h = loser_fixture(sg);
    let entry = if sg { sg_entry() } else { star(rp()) };
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![entry], vec![])]);
    assert_eq!(state(&h, sg, IF2), "NoInfo");
    assert!(forwards(&h, sg));
}

/// Loser on the upstream interface: the winner becomes RPF', Joins go to it, and the state ends
/// when the RPF interface moves away.
fn loser_upstream_x_rpf_interface_changes(sg: bool) {
    let mut h = fixture(sg);
    h.hello(IF1, n4());
    h.at(10.0);
    h.take();
    // N4 wins an Assert against N1 on if1; we only track it.
    h.receive(IF1, n4(), assert_msg(sg, 0, 10));
    assert_eq!(state(&h, sg, IF1), "Loser");
    assert_eq!(h.up(key(sg)).unwrap().rpf_neighbor.map(|u| u.neighbor), Some(n4()), "RPF' = AssertWinner");
    // RPF' changed because of an Assert: the Join Timer drops to t_override (≤ 2.5 s), and the
    // Join goes to the winner, with no Prune to N1.
    h.at(12.5);
    let sent = h.sent_jp();
    assert!(sent.iter().any(|(i, jp)| *i == IF1 && jp.upstream_neighbor == n4()), "Join to N4: {sent:?}");
    assert!(sent.iter().all(|(_, jp)| jp.upstream_neighbor != n1()));
    // The route moves to if3: RPF_interface stops being if1.
    let target = if sg { src() } else { rp() };
    h.rpf(target, IF3, local_src(), false);
    assert_eq!(state(&h, sg, IF1), "NoInfo");
}

macro_rules! both {
    ($($name:ident $(($($arg:expr),*))?;)*) => {
        mod sg_machine {
            $( #[test] fn $name() { super::$name(true $($(, $arg)*)?) } )*
        }
        mod star_g_machine {
            $( #[test] fn $name() { super::$name(false $($(, $arg)*)?) } )*
        }
    };
}

both! {
    no_info_x_data_arrives;
    no_info_x_inferior_assert;
    no_info_x_acceptable_assert;
    no_info_x_unrelated_assert_is_ignored;
    winner_x_timer_expires;
    winner_x_inferior_assert;
    winner_x_preferred_assert;
    winner_x_could_assert_false;
    loser_x_preferred_assert;
    loser_x_acceptable_from_winner;
    loser_x_timer_expires;
    loser_x_winner_neighbor_expires;
    loser_x_tracking_desired_false;
    loser_x_my_metric_better;
    loser_x_receive_join;
    loser_upstream_x_rpf_interface_changes;
}

mod from_winner {
    #[test]
    fn sg_inferior() {
        super::loser_x_inferior_from_winner(true, false)
    }
    #[test]
    fn sg_cancel() {
        super::loser_x_inferior_from_winner(true, true)
    }
    #[test]
    fn star_g_inferior() {
        super::loser_x_inferior_from_winner(false, false)
    }
    #[test]
    fn star_g_cancel() {
        super::loser_x_inferior_from_winner(false, true)
    }
}

/// (S,G) Assert state takes precedence: data on if2 for a source with (S,G) Assert state does
/// not start a (*,G) Assert.
#[test]
fn sg_assert_state_suppresses_star_g_data_trigger() {
    let mut h = fixture(true);
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    data_on_if2(&mut h);
    assert_eq!(state(&h, true, IF2), "Winner");
    assert_eq!(state(&h, false, IF2), "NoInfo");
}

/// A directly connected source is asserted with preference 0 and metric 0 (seed 002).
#[test]
fn connected_source_asserts_with_zero_metrics() {
    let mut h = Harness::standard();
    h.hello(IF2, n3_addr());
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![sg(local_src())], vec![])]);
    h.input(Input::NoCache { iif: IF3, source: local_src(), group: grp() });
    h.take();
    h.input(Input::WrongVif { iif: IF2, source: local_src(), group: grp() });
    let sent = sent_asserts(&mut h);
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].1.metric_preference, sent[0].1.metric, sent[0].1.rpt), (0, 0, false));
}

/// Fixed metrics replace the route's (the vendor guide's 101 / 1024).
#[test]
fn fixed_assert_metrics() {
    let config =
        crate::PimConfig { assert_metrics: crate::AssertMetrics::VENDOR_DEFAULT, ..Default::default() };
    let mut h = Harness::bare(config);
    for i in [IF1, IF2, IF3] {
        h.iface(i, crate::InterfaceConfig::default());
    }
    h.input(Input::StaticRp { range: "239.0.0.0/8".parse().unwrap(), rp: Some(rp()) });
    h.rpf(rp(), IF1, n1(), false);
    h.rpf(src(), IF1, n1(), false);
    h.hello(IF1, n1());
    h.hello(IF2, n2());
    h.hello(IF2, n3_addr());
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![sg(src())], vec![])]);
    h.input(Input::NoCache { iif: IF1, source: src(), group: grp() });
    h.take();
    data_on_if2(&mut h);
    let sent = sent_asserts(&mut h);
    assert_eq!((sent[0].1.metric_preference, sent[0].1.metric), (101, 1024));
}

/// The IPv6 path: an MLD-era SSM group, an Assert won on data, lost to a better one, through the
/// codec with the IPv6 pseudo-header.
#[test]
fn ipv6_assert_won_then_lost() {
    use hato_core::{Instant, V6};
    use hato_wire::checksum::ChecksumContext;
    use std::net::Ipv6Addr;

    let addr = |s: &str| s.parse::<Ipv6Addr>().unwrap();
    let all_pim = addr("ff02::d");
    let (s, g) = (addr("fd00:9::10"), addr("ff3e::1:1"));
    let mut r = crate::PimRouter::<V6>::new(crate::PimConfig::default(), 5);
    let mut out = Vec::new();
    let now = Instant::from_secs(1);
    let if1 = IfIndex(1);
    let if2 = IfIndex(2);
    for (i, me) in [(if1, "fd00:1::1"), (if2, "fd00:2::1")] {
        let config = crate::InterfaceConfig::default();
        r.handle(
            now,
            Input::InterfaceUp { ifindex: i, primary: addr(me), secondary: vec![], config },
            &mut out,
        );
    }
    let update = RpfUpdate {
        target: s,
        interface: Some(if1),
        neighbor: Some(addr("fd00:1::2")),
        connected: false,
        metric: 10,
        preference: 1,
    };
    r.handle(now, Input::Rpf(update), &mut out);
    let hello = || PimMessage::Hello(hato_wire::pim::Hello { options: standard_hello(1) });
    for (i, n) in [(if1, "fd00:1::2"), (if2, "fd00:2::2"), (if2, "fd00:2::3")] {
        let input = Input::Received { ifindex: i, source: addr(n), destination: all_pim, message: hello() };
        r.handle(now, input, &mut out);
    }
    let join = hato_wire::pim::JoinPrune {
        upstream_neighbor: addr("fd00:2::1"),
        holdtime: 210,
        groups: vec![hato_wire::pim::JoinPruneGroup {
            group: EncodedGroup::host(g),
            joins: vec![hato_wire::pim::EncodedSource::sg(s)],
            prunes: vec![],
        }],
    };
    let input = Input::Received {
        ifindex: if2,
        source: addr("fd00:2::2"),
        destination: all_pim,
        message: PimMessage::JoinPrune(join),
    };
    r.handle(now, input, &mut out);
    r.handle(now, Input::NoCache { iif: if1, source: s, group: g }, &mut out);
    out.clear();
    r.handle(now, Input::WrongVif { iif: if2, source: s, group: g }, &mut out);
    let sent: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            crate::Output::Send { message: m @ PimMessage::Assert(_), .. } => Some(m.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    let ctx = ChecksumContext::Ipv6 { src: addr("fe80::1"), dst: all_pim };
    let bytes = sent[0].to_bytes(ctx).unwrap();
    assert_eq!(PimMessage::<V6>::parse(&bytes, ctx).unwrap(), sent[0]);
    let key = SgKey::sg(s, g);
    assert!(r.mroute(&key).unwrap().oifs.contains_key(&if2));
    let better = PimMessage::Assert(Assert {
        group: EncodedGroup::host(g),
        source: s,
        rpt: false,
        metric_preference: 0,
        metric: 1,
    });
    let input =
        Input::Received { ifindex: if2, source: addr("fd00:2::3"), destination: all_pim, message: better };
    r.handle(now, input, &mut out);
    let view = r.asserts(now);
    assert_eq!(view.len(), 1);
    assert_eq!(view[0].winner, addr("fd00:2::3"));
    assert!(!r.mroute(&key).is_some_and(|m| m.oifs.contains_key(&if2)));
}
