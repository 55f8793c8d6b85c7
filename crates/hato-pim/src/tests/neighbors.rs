//! Hello, neighbours and DR election (RFC 7761 §4.3).

use hato_core::{Duration, Instant, SgKey};
use hato_wire::pim::{HelloOption, PimMessage};

use super::harness::*;
use crate::{DropReason, Input, InterfaceConfig, NeighborDownReason, Output, PimConfig, PimEvent};

fn hellos(out: &[Output<hato_core::V4>]) -> Vec<(hato_core::IfIndex, hato_wire::pim::Hello)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { ifindex, message: PimMessage::Hello(h), .. } => Some((*ifindex, h.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn first_hello_within_triggered_delay_then_periodic() {
    let mut h = Harness::bare(PimConfig::default());
    h.iface(IF1, InterfaceConfig::default());
    let first = h.r.poll_at().unwrap();
    assert!(first <= Instant::from_secs(5), "first Hello at {first}");
    h.at(5.0);
    let sent = hellos(&h.take());
    assert_eq!(sent.len(), 1);
    let hello = &sent[0].1;
    assert_eq!(hello.holdtime(), Some(105));
    assert_eq!(hello.dr_priority(), Some(1));
    assert_eq!(hello.lan_prune_delay(), Some((false, 500, 2500)));
    let genid = hello.generation_id().unwrap();
    assert_eq!(h.r.interfaces(h.now)[0].generation_id, genid);
    // Periodic: exactly one more by first + 30 s.
    h.at((first.since_origin() + Duration::from_secs(30)).as_secs_f64());
    assert_eq!(hellos(&h.take()).len(), 1);
}

#[test]
fn generation_id_is_new_at_every_interface_up_and_seeded() {
    let mut h = Harness::bare(PimConfig::default());
    h.iface(IF1, InterfaceConfig::default());
    let g1 = h.r.interfaces(h.now)[0].generation_id;
    h.input(Input::InterfaceDown { ifindex: IF1 });
    h.iface(IF1, InterfaceConfig::default());
    let g2 = h.r.interfaces(h.now)[0].generation_id;
    assert_ne!(g1, g2);
    let mut again = Harness::bare(PimConfig::default());
    again.iface(IF1, InterfaceConfig::default());
    assert_eq!(again.r.interfaces(again.now)[0].generation_id, g1, "same seed, same GenID");
}

#[test]
fn new_neighbor_gets_a_hello_at_once_and_expires_after_holdtime() {
    let mut h = Harness::bare(PimConfig::default());
    h.iface(IF1, InterfaceConfig::default());
    h.at(10.0).take();
    h.hello(IF1, n1());
    let out = h.take();
    assert!(out.contains(&Output::Event(PimEvent::NeighborUp { ifindex: IF1, address: n1() })));
    assert_eq!(hellos(&out).len(), 1, "triggered Hello to the new neighbour");
    assert_eq!(h.r.neighbors(h.now).len(), 1);
    h.at(10.0 + 104.9);
    assert_eq!(h.r.neighbors(h.now).len(), 1);
    h.at(10.0 + 105.0);
    assert!(h.r.neighbors(h.now).is_empty());
    assert!(h.take().contains(&Output::Event(PimEvent::NeighborDown {
        ifindex: IF1,
        address: n1(),
        reason: NeighborDownReason::Expired
    })));
}

#[test]
fn goodbye_removes_the_neighbor() {
    let mut h = Harness::standard();
    h.hello_with(IF1, n1(), vec![HelloOption::Holdtime(0)]);
    assert!(h.r.neighbors(h.now).iter().all(|n| n.address != n1()));
    assert!(h.take().iter().any(|o| matches!(
        o,
        Output::Event(PimEvent::NeighborDown { reason: NeighborDownReason::Goodbye, .. })
    )));
}

#[test]
fn holdtime_forever_never_expires() {
    let mut h = Harness::bare(PimConfig::default());
    h.iface(IF1, InterfaceConfig::default());
    h.hello_with(IF1, n1(), vec![HelloOption::Holdtime(0xffff)]);
    h.at(100_000.0);
    assert_eq!(h.r.neighbors(h.now).len(), 1);
}

#[test]
fn interface_down_and_shutdown_say_goodbye() {
    let mut h = Harness::standard();
    h.input(Input::Shutdown);
    let sent = hellos(&h.take());
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|(_, hello)| hello.holdtime() == Some(0)));
    h.input(Input::InterfaceDown { ifindex: IF1 });
    let out = h.take();
    assert_eq!(
        hellos(&out).iter().map(|(i, h)| (*i, h.holdtime())).collect::<Vec<_>>(),
        vec![(IF1, Some(0))]
    );
    assert!(h.r.neighbors(h.now).iter().all(|n| n.ifindex != IF1));
}

#[test]
fn generation_id_change_triggers_hello_and_join_refresh() {
    let mut h = Harness::standard();
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    assert_eq!(h.sent_jp().len(), 1, "Join(*,G) upstream");
    h.at(10.0).take();
    h.hello_with(IF1, n1(), standard_hello(2));
    let out = h.take();
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Event(PimEvent::NeighborRestarted { generation_id: 2, .. }))));
    assert_eq!(hellos(&out).len(), 1, "triggered Hello on the restarted neighbour's link");
    // §4.5.4: JT decreased to t_override (at most 2.5 s): the Join is resent well before 60 s.
    let jt = h.up(SgKey::star_g(grp())).unwrap().join_timer_in.unwrap();
    assert!(jt <= Duration::from_millis(2500), "JT {jt:?}");
    h.at(12.6);
    let sent = h.sent_jp();
    assert!(sent.iter().any(|(i, jp)| *i == IF1 && has(jp, grp(), star(rp()), true)));
}

#[test]
fn dr_by_priority_then_address() {
    let mut h = Harness::bare(PimConfig::default());
    h.iface(IF2, InterfaceConfig::default());
    assert!(h.r.interfaces(h.now)[0].is_dr, "alone on the link");
    h.hello(IF2, n2()); // 198.18.2.2 > 198.18.2.1, same priority
    assert_eq!(h.r.interfaces(h.now)[0].dr, n2());
    let mut opts = standard_hello(1);
    opts[2] = HelloOption::DrPriority(0);
    h.hello_with(IF2, n2(), opts);
    assert!(h.r.interfaces(h.now)[0].is_dr, "we win on priority");
    assert!(h.take().iter().any(|o| matches!(o, Output::Event(PimEvent::DrChanged { .. }))));
}

#[test]
fn dr_by_address_when_a_neighbor_omits_priority() {
    let mut h = Harness::bare(PimConfig::default());
    h.iface(IF2, InterfaceConfig { dr_priority: 100, ..InterfaceConfig::default() });
    h.hello_with(IF2, n2(), vec![HelloOption::Holdtime(105)]);
    assert_eq!(h.r.interfaces(h.now)[0].dr, n2(), "priority ignored: highest address");
}

#[test]
fn join_prune_from_unknown_neighbor_is_dropped() {
    let mut h = Harness::standard();
    h.jp(IF2, n3(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    assert_eq!(h.r.counter(DropReason::UnknownNeighbor), 1);
    assert_eq!(h.down(IF2, SgKey::star_g(grp()), false), "NoInfo");
    assert!(h.sent_jp().is_empty());
}

#[test]
fn secondary_address_resolves_to_the_neighbor() {
    let mut h = Harness::standard();
    let secondary = a("198.18.1.200");
    let mut opts = standard_hello(1);
    opts.push(HelloOption::AddressList(vec![secondary.into()]));
    h.hello_with(IF1, n1(), opts);
    h.rpf(rp(), IF1, secondary, false);
    h.take();
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    let sent = h.sent_jp();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.upstream_neighbor, n1(), "NBR() maps the secondary address to the primary");
}

#[test]
fn our_hello_lists_secondary_addresses() {
    let mut h = Harness::bare(PimConfig::default());
    h.input(Input::InterfaceUp {
        ifindex: IF1,
        primary: me(IF1),
        secondary: vec![a("198.18.1.100")],
        config: InterfaceConfig::default(),
    });
    let hello = h.r.hello_for(IF1, false).unwrap();
    assert_eq!(hello.secondary_addresses::<hato_core::V4>().collect::<Vec<_>>(), vec![a("198.18.1.100")]);
}

#[test]
fn join_suppression_disabled_only_when_every_router_sets_t() {
    let mut h = Harness::bare(PimConfig::default());
    h.iface(IF1, InterfaceConfig { join_suppression_disabled: true, ..InterfaceConfig::default() });
    let t_opts = |t: bool| {
        vec![
            HelloOption::Holdtime(105),
            HelloOption::LanPruneDelay {
                join_suppression_disabled: t,
                propagation_delay: 1000,
                override_interval: 3000,
            },
        ]
    };
    h.hello_with(IF1, n1(), t_opts(true));
    assert!(!h.r.suppression_enabled(IF1));
    assert_eq!(h.r.jp_override_interval(IF1), Duration::from_millis(4000), "largest delays on the link");
    h.hello_with(IF1, n4(), t_opts(false));
    assert!(h.r.suppression_enabled(IF1));
    h.hello_with(IF1, n4(), vec![HelloOption::Holdtime(105)]);
    assert!(h.r.suppression_enabled(IF1), "LAN delay disabled: suppression on");
    assert_eq!(h.r.jp_override_interval(IF1), Duration::from_millis(3000), "defaults");
}

#[test]
fn reconfiguration_keeps_the_generation_id_address_change_renews_it() {
    let mut h = Harness::standard();
    let genid =
        |h: &Harness| h.r.interfaces(h.now).into_iter().find(|i| i.ifindex == IF2).unwrap().generation_id;
    let before = genid(&h);
    h.iface(IF2, InterfaceConfig { dr_priority: 10, ..InterfaceConfig::default() });
    assert_eq!(genid(&h), before);
    assert!(h.r.interfaces(h.now).into_iter().find(|i| i.ifindex == IF2).unwrap().is_dr, "priority 10 wins");
    let sent = hellos(&h.take());
    assert_eq!(sent.iter().filter(|(i, _)| *i == IF2).count(), 1, "Hello with the new priority at once");
    h.input(Input::InterfaceAddresses { ifindex: IF2, primary: a("198.18.2.9"), secondary: vec![] });
    assert_ne!(genid(&h), before);
}
