//! Register (§4.4) and data-driven behaviour (§4.2) on one router.

use std::collections::BTreeSet;

use hato_core::{Duration, SgKey};
use hato_wire::pim::{EncodedGroup, PimMessage, Register, RegisterStop};

use super::harness::*;
use crate::{DropReason, Input, LocalMembership, Output, PimConfig, SourceFilter};

fn key() -> SgKey<hato_core::V4> {
    SgKey::sg(local_src(), grp())
}

/// An IPv4 packet from `s` to `g` with 8 octets of payload.
fn packet(s: std::net::Ipv4Addr, g: std::net::Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0];
    p.extend_from_slice(&s.octets());
    p.extend_from_slice(&g.octets());
    p.extend_from_slice(&[0; 8]);
    p
}

fn registers(out: &[Output<hato_core::V4>]) -> Vec<Register> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { message: PimMessage::Register(r), dst, .. } if *dst == rp() => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn register_stops(out: &[Output<hato_core::V4>]) -> Vec<RegisterStop<hato_core::V4>> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { message: PimMessage::RegisterStop(r), .. } => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// A DR with a source on if3 that has sent its first packet.
fn registering() -> Harness {
    let mut h = Harness::standard();
    h.input(Input::NoCache { iif: IF3, source: local_src(), group: grp() });
    h
}

#[test]
fn dr_starts_registering_at_the_first_packet() {
    let mut h = registering();
    let up = h.up(key()).unwrap();
    assert_eq!(up.register, Some(crate::fsm::register::RegisterState::Join));
    assert_eq!(up.keepalive_in, Some(Duration::from_secs(210)));
    let m = h.mroute(key()).unwrap();
    assert!(m.register && m.spt);
    assert_eq!(m.iif, Some(IF3));
    h.take();
    h.input(Input::WholePacket { source: local_src(), group: grp(), packet: packet(local_src(), grp()) });
    let out = h.take();
    let regs = registers(&out);
    assert_eq!(regs.len(), 1);
    assert!(!regs[0].null_register);
    assert!(out.iter().any(|o| matches!(o, Output::Send { ifindex, .. } if *ifindex == IF1)));
}

#[test]
fn register_stop_suppresses_then_probes() {
    let mut h = registering();
    h.receive(
        IF1,
        rp(),
        PimMessage::RegisterStop(RegisterStop { group: EncodedGroup::host(grp()), source: local_src() }),
    );
    let up = h.up(key()).unwrap();
    assert_eq!(up.register, Some(crate::fsm::register::RegisterState::Prune));
    assert!(!h.mroute(key()).unwrap().register);
    let rst = up.register_stop_in.unwrap();
    assert!(rst >= Duration::from_secs(25) && rst <= Duration::from_secs(85), "RST {rst:?}");
    h.take();
    h.input(Input::WholePacket { source: local_src(), group: grp(), packet: packet(local_src(), grp()) });
    assert_eq!(h.r.counter(DropReason::NotRegistering), 1);
    let t = rst.as_secs_f64();
    h.at(t);
    let out = h.take();
    let regs = registers(&out);
    assert_eq!(regs.len(), 1);
    assert!(regs[0].null_register);
    assert_eq!(regs[0].inner_source_group::<hato_core::V4>(), Some((local_src(), grp())));
    assert_eq!(h.up(key()).unwrap().register, Some(crate::fsm::register::RegisterState::JoinPending));
    // No Register-Stop within Register_Probe_Time: back to Join.
    h.at(t + 5.0);
    assert_eq!(h.up(key()).unwrap().register, Some(crate::fsm::register::RegisterState::Join));
    assert!(h.mroute(key()).unwrap().register);
}

#[test]
fn register_stop_during_probe_suppresses_again() {
    let mut h = registering();
    let stop =
        PimMessage::RegisterStop(RegisterStop { group: EncodedGroup::host(grp()), source: local_src() });
    h.receive(IF1, rp(), stop.clone());
    let t = h.up(key()).unwrap().register_stop_in.unwrap().as_secs_f64();
    h.at(t);
    h.receive(IF1, rp(), stop);
    assert_eq!(h.up(key()).unwrap().register, Some(crate::fsm::register::RegisterState::Prune));
}

#[test]
fn wildcard_register_stop_stops_every_source() {
    let mut h = registering();
    h.receive(
        IF1,
        rp(),
        PimMessage::RegisterStop(RegisterStop {
            group: EncodedGroup::host(grp()),
            source: std::net::Ipv4Addr::UNSPECIFIED,
        }),
    );
    assert_eq!(h.up(key()).unwrap().register, Some(crate::fsm::register::RegisterState::Prune));
}

#[test]
fn keepalive_expiry_ends_registering() {
    let mut h = registering();
    h.at(209.0);
    assert!(h.up(key()).is_some());
    h.at(210.0);
    assert!(h.up(key()).is_none());
    assert!(h.mroute(key()).is_none());
}

#[test]
fn rp_change_updates_the_tunnel() {
    let mut h = registering();
    let new_rp = a("198.18.0.2");
    h.rpf(new_rp, IF1, n1(), false);
    h.input(Input::StaticRp { range: "239.1.0.0/16".parse().unwrap(), rp: Some(new_rp) });
    h.take();
    h.input(Input::WholePacket { source: local_src(), group: grp(), packet: packet(local_src(), grp()) });
    let out = h.take();
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Send { dst, message: PimMessage::Register(_), .. } if *dst == new_rp)));
}

#[test]
fn not_dr_does_not_register() {
    let mut h = Harness::standard();
    h.hello(IF3, a("198.18.3.2"));
    h.input(Input::NoCache { iif: IF3, source: local_src(), group: grp() });
    assert!(h.up(key()).map_or(true, |u| u.register.is_none()));
    assert!(!h.mroute(key()).is_some_and(|m| m.register));
}

/// The RP side: this router is the RP (198.18.0.1 is on its loopback-like if4).
fn rp_router() -> Harness {
    let mut h = Harness::bare(PimConfig::default());
    for i in [IF1, IF2] {
        h.iface(i, crate::InterfaceConfig::default());
    }
    h.input(Input::InterfaceUp {
        ifindex: hato_core::IfIndex(4),
        primary: rp(),
        secondary: vec![],
        config: crate::InterfaceConfig::default(),
    });
    h.input(Input::StaticRp { range: "239.0.0.0/8".parse().unwrap(), rp: Some(rp()) });
    h.rpf(src(), IF1, n1(), false);
    h.hello(IF1, n1());
    h.hello(IF2, n2());
    h.take();
    h
}

#[test]
fn rp_decapsulates_and_joins_the_spt() {
    let mut h = rp_router();
    h.jp(IF2, n2(), me(IF2), vec![set(grp(), vec![star(rp())], vec![])]);
    let star = h.mroute(SgKey::star_g(grp())).unwrap();
    assert_eq!(star.iif, None, "the RP's (*,G) has no upstream");
    assert!(h.sent_jp().is_empty(), "no Join(*,G) from the RP");
    h.receive(IF1, n1(), PimMessage::Register(Register::data(packet(src(), grp()))));
    let out = h.take();
    assert!(out.iter().any(|o| matches!(o, Output::ForwardDecapsulated { oifs, .. } if oifs == &vec![IF2])));
    assert!(register_stops(&out).is_empty());
    let joins: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { message: PimMessage::JoinPrune(jp), .. } => Some(jp.clone()),
            _ => None,
        })
        .collect();
    assert!(joins.iter().any(|jp| jp.upstream_neighbor == n1() && has(jp, grp(), sg(src()), true)));
    // Native traffic on the SPT sets the SPT bit; the next Register is answered with a stop.
    h.input(Input::TrafficSeen { source: src(), group: grp() });
    assert!(h.up(SgKey::sg(src(), grp())).unwrap().spt_bit);
    h.take();
    h.receive(IF1, n1(), PimMessage::Register(Register::data(packet(src(), grp()))));
    let out = h.take();
    assert_eq!(register_stops(&out).len(), 1);
    assert!(
        !out.iter().any(|o| matches!(o, Output::ForwardDecapsulated { .. })),
        "no duplicate once on the SPT"
    );
}

#[test]
fn rp_without_receivers_stops_the_register() {
    let mut h = rp_router();
    h.receive(IF1, n1(), PimMessage::Register(Register::data(packet(src(), grp()))));
    let out = h.take();
    let stops = register_stops(&out);
    assert_eq!(stops.len(), 1);
    assert_eq!((stops[0].source, stops[0].group.group), (src(), grp()));
    let kat = h.up(SgKey::sg(src(), grp())).unwrap().keepalive_in.unwrap();
    assert_eq!(kat, Duration::from_secs(185), "RP_Keepalive_Period");
}

#[test]
fn register_to_a_router_that_is_not_the_rp() {
    let mut h = Harness::standard();
    h.receive(IF1, n1(), PimMessage::Register(Register::data(packet(src(), grp()))));
    assert_eq!(h.r.counter(DropReason::RegisterNotRp), 1);
    assert_eq!(register_stops(&h.take()).len(), 1);
    h.receive(IF1, n1(), PimMessage::Register(Register::data(vec![0x45, 0, 0, 4])));
    assert_eq!(h.r.counter(DropReason::BadRegister), 1);
}

#[test]
fn last_hop_switches_to_the_spt_at_the_first_packet() {
    let mut h = Harness::standard();
    // The source's tree goes via N4 on if1... make it a different interface: via if2's N2.
    h.rpf(src(), IF2, n2(), false);
    h.input(Input::Membership(LocalMembership {
        ifindex: IF3,
        group: grp(),
        filter: SourceFilter::Exclude(BTreeSet::new()),
    }));
    h.take();
    // First packet down the shared tree (from the RP side, if1).
    h.input(Input::NoCache { iif: IF1, source: src(), group: grp() });
    let key = SgKey::sg(src(), grp());
    let m = h.mroute(key).unwrap();
    assert_eq!((m.iif, m.spt), (Some(IF1), false), "still forwarding from the shared tree");
    assert!(
        h.sent_jp().iter().any(|(i, jp)| *i == IF2 && has(jp, grp(), sg(src()), true)),
        "Join(S,G) toward S"
    );
    // A packet arrives on the SPT: wrong interface for the entry, SPT bit set, prune S off the RPT.
    h.input(Input::WrongVif { iif: IF2, source: src(), group: grp() });
    let up = h.up(key).unwrap();
    assert!(up.spt_bit);
    assert_eq!(up.rpt_state.as_deref(), Some("Pruned"));
    let m = h.mroute(key).unwrap();
    assert_eq!((m.iif, m.spt), (Some(IF2), true));
    assert!(h.sent_jp().iter().any(|(i, jp)| *i == IF1 && has(jp, grp(), rpt(src()), false)));
}

#[test]
fn spt_policy_never_stays_on_the_shared_tree() {
    let mut h = Harness::bare(PimConfig { spt_policy: crate::SptPolicy::Never, ..PimConfig::default() });
    for i in [IF1, IF2, IF3] {
        h.iface(i, crate::InterfaceConfig::default());
    }
    h.input(Input::StaticRp { range: "239.0.0.0/8".parse().unwrap(), rp: Some(rp()) });
    h.rpf(rp(), IF1, n1(), false);
    h.rpf(src(), IF2, n2(), false);
    h.hello(IF1, n1());
    h.hello(IF2, n2());
    h.input(Input::Membership(LocalMembership {
        ifindex: IF3,
        group: grp(),
        filter: SourceFilter::Exclude(BTreeSet::new()),
    }));
    h.take();
    h.input(Input::NoCache { iif: IF1, source: src(), group: grp() });
    assert!(h.sent_jp().iter().all(|(_, jp)| !has(jp, grp(), sg(src()), true)));
}

#[test]
fn negative_cache_entry_expires() {
    let mut h = Harness::standard();
    let g = a("239.9.9.9");
    h.input(Input::StaticRp { range: "239.9.0.0/16".parse().unwrap(), rp: None });
    h.input(Input::NoCache { iif: IF1, source: src(), group: g });
    let m = h.mroute(SgKey::sg(src(), g)).unwrap();
    assert!(m.oifs.is_empty() && !m.register);
    h.at(210.0);
    assert!(h.mroute(SgKey::sg(src(), g)).is_none());
}
