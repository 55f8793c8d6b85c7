//! Multi-router scenarios over simulated planes: full routers (IGMP / MLD, PIM-SM / SSM, RPF)
//! wired by links and LANs on one virtual clock. Each scenario checks what receivers got and what
//! the routers installed, and runs twice with one seed to check that the trace is the same.
//!
//! Addresses follow the network's plan: segment n (in creation order, from 1) is 198.18.n.0/24
//! and fd00:0:0:n::/64, and a node's host part is its number (creation order, from 1).

use std::net::IpAddr;

use hato_core::{Duration, Instant};
use hato_netsim::{Net, NodeId, SegmentId};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn secs(s: u64) -> Instant {
    Instant::from_secs(s)
}

/// The address family a scenario runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

impl Family {
    /// An any-source group (an RP serves it).
    fn asm_group(self) -> IpAddr {
        match self {
            Family::V4 => ip("239.1.2.3"),
            Family::V6 => ip("ff0e::1:2:3"),
        }
    }

    /// A group in the default SSM range.
    fn ssm_group(self) -> IpAddr {
        match self {
            Family::V4 => ip("232.1.2.3"),
            Family::V6 => ip("ff3e::1:2:3"),
        }
    }

    fn addr(self, net: &Net, node: NodeId, segment: SegmentId) -> IpAddr {
        match self {
            Family::V4 => net.addr4(node, segment),
            Family::V6 => net.addr6(node, segment),
        }
    }

    fn pim(self, kind: &str) -> String {
        match self {
            Family::V4 => format!("pim-{kind}"),
            Family::V6 => format!("pim6-{kind}"),
        }
    }
}

/// A router configuration: PIM and IGMP / MLD on every interface (the defaults), `extra` in the
/// `[pim]` section, and `rp` as the static RP of its family's ASM range (239.0.0.0/8 or
/// ff0e::/16).
fn config(rp: Option<IpAddr>, extra: &str) -> String {
    let mut text = String::from("[pim]\n");
    text.push_str(extra);
    if let Some(rp) = rp {
        let range = if rp.is_ipv4() { "239.0.0.0/8" } else { "ff0e::/16" };
        text.push_str(&format!("\n[[pim.static-rp]]\naddress = \"{rp}\"\ngroups = [\"{range}\"]\n"));
    }
    text
}

fn assert_mfc(net: &Net, node: NodeId, source: IpAddr, group: IpAddr, iif: &str, oifs: &[&str]) {
    let entry = net.mfc(node, Some(source), group);
    let found =
        entry.as_ref().map(|e| (e.iif.as_str(), e.oifs.iter().map(String::as_str).collect::<Vec<_>>()));
    assert_eq!(
        found,
        Some((iif, oifs.to_vec())),
        "({source}, {group}) at {}\n{}",
        net.name(node),
        net.mfc_dump(node)
    );
}

/// Runs `scenario` twice with `seed` and once with another seed: the same seed must give the
/// same trace, another seed a different one (Generation IDs, jitter and host delays differ).
fn deterministic(seed: u64, scenario: impl Fn(u64) -> Net) {
    let first = scenario(seed);
    let again = scenario(seed);
    assert_eq!(first.trace_hash(), again.trace_hash(), "same seed, same trace ({} lines)", first.trace_len());
    assert_eq!(first.trace_len(), again.trace_len());
    let other = scenario(seed ^ 0x5eed);
    assert_ne!(first.trace_hash(), other.trace_hash(), "the seed reaches the routers and hosts");
    assert_eq!(first.undecodable(), 0, "every control message decodes");
}

/// The triangle: the source's first hop r1, the RP r2, the last hop r3 with a direct link to r1.
///
/// ```text
///   src ── r1 ───── r2 (RP on r2r3)
///           \       /
///            \     /
///             r3 ── rcv
/// ```
struct Triangle {
    net: Net,
    r1: NodeId,
    r2: NodeId,
    r3: NodeId,
    src: NodeId,
    rcv: NodeId,
    src_lan: SegmentId,
    rcv_lan: SegmentId,
}

fn triangle(seed: u64, family: Family) -> Triangle {
    let mut net = Net::new(seed);
    let r1 = net.add_router("r1", "");
    let r2 = net.add_router("r2", "");
    let r3 = net.add_router("r3", "");
    let src = net.add_host("src");
    let rcv = net.add_host("rcv");
    let src_lan = net.connect("src", &[src, r1]);
    net.connect("r1r2", &[r1, r2]);
    let r2r3 = net.connect("r2r3", &[r2, r3]);
    net.connect("r1r3", &[r1, r3]);
    let rcv_lan = net.connect("rcv", &[r3, rcv]);
    // The RP's address is on the r2-r3 link, so that r3's RPF towards it is r2 while its RPF
    // towards the source is r1: the shared and the source tree differ.
    let rp = family.addr(&net, r2, r2r3);
    for router in [r1, r2, r3] {
        net.apply_config(router, &config(Some(rp), ""));
    }
    Triangle { net, r1, r2, r3, src, rcv, src_lan, rcv_lan }
}

/// RFC 7761 §4.2 / §4.4 / §4.5: the receiver's DR joins the shared tree; the source's DR
/// registers; the RP forwards the decapsulated packets down the shared tree, joins towards the
/// source and sends Register-Stop once native packets arrive; the last hop switches to the source
/// tree at the first packet and prunes the source off the shared tree.
fn shared_tree_then_spt(seed: u64, family: Family) -> Net {
    let Triangle { mut net, r1, r2, r3, src, rcv, src_lan, .. } = triangle(seed, family);
    let group = family.asm_group();
    let source = family.addr(&net, src, src_lan);
    net.run_until(secs(10));
    net.join(rcv, group);
    net.run_until(secs(15));
    // The last hop's (*,G) points at the RP.
    let star = net.mroute(r3, None, group).expect("(*,G) at r3");
    assert_eq!(star.incoming.as_deref(), Some("r2r3"), "{star:?}");
    assert!(net.mroute(r2, None, group).is_some_and(|e| e.outgoing.iter().any(|o| o.interface == "r2r3")));

    let stream = net.start_stream(src, group, Duration::from_millis(100), 300);
    net.run_until(secs(20));
    // The first packets crossed the RP inside Registers, then the RP stopped them.
    assert!(net.sent_count(r1, &family.pim("register")) >= 1, "r1 registered");
    assert!(net.sent_count(r2, &family.pim("register-stop")) >= 1, "the RP sent Register-Stop");
    let registers = net.sent_count(r1, &family.pim("register"));
    net.run_until(secs(50));
    assert_eq!(net.sent_count(r1, &family.pim("register")), registers, "no data Registers after the stop");
    assert_eq!(net.sent(stream), 300);

    // The source tree r1 → r3 carries the flow; the RP is pruned off it.
    assert_mfc(&net, r1, source, group, "src", &["r1r3"]);
    assert_mfc(&net, r3, source, group, "r1r3", &["rcv"]);
    let at_rp = net.mfc(r2, Some(source), group);
    assert!(at_rp.as_ref().map_or(true, |e| e.oifs.is_empty()), "the RP still forwards: {at_rp:?}");
    let flags = net.mroute(r3, Some(source), group).map(|e| e.flags).unwrap_or_default();
    assert!(flags.contains('R'), "SPT bit at the last hop: {flags}");

    let got = net.reception(rcv, source, group);
    assert_eq!(got.duplicates, 0, "{got:?}");
    assert!(got.unique() >= 298, "lost {} of 300 at the switch to the source tree", 300 - got.unique());
    assert!(got.got(0), "the first packet arrives through the Register path");

    // §4.4.1: before the Register-Stop's suppression ends, the DR probes with a Null-Register
    // and the RP, still on the source tree, stops it again; no data goes into Registers.
    let stops = net.sent_count(r2, &family.pim("register-stop"));
    net.run_until(secs(130));
    assert!(net.sent_count(r1, &family.pim("null-register")) >= 1, "r1 probed");
    assert!(net.sent_count(r2, &family.pim("register-stop")) > stops, "the RP answered the probe");
    assert_eq!(net.sent_count(r1, &family.pim("register")), registers);
    net
}

#[test]
fn shared_tree_register_stop_and_spt_switchover_ipv4() {
    deterministic(1, |seed| shared_tree_then_spt(seed, Family::V4));
}

#[test]
fn shared_tree_register_stop_and_spt_switchover_ipv6() {
    deterministic(2, |seed| shared_tree_then_spt(seed, Family::V6));
}

/// RFC 3376 §6.4 / RFC 7761 §4.5.7: the receiver leaves; the last hop forwards while its last
/// member queries run, then stops and prunes, and the first hop stops sending the flow anywhere.
fn prune_on_leave(seed: u64, family: Family) -> Net {
    let Triangle { mut net, r1, r3, src, rcv, src_lan, rcv_lan, .. } = triangle(seed, family);
    let group = family.asm_group();
    let source = family.addr(&net, src, src_lan);
    net.run_until(secs(10));
    net.join(rcv, group);
    net.run_until(secs(12));
    let stream = net.start_stream(src, group, Duration::from_millis(100), 600);
    net.run_until(secs(30));
    assert_mfc(&net, r3, source, group, "r1r3", &["rcv"]);
    net.leave(rcv, group);
    // Last Member Query Count (2) × Last Member Query Interval (1 s).
    net.run_until(secs(31) + Duration::from_millis(500));
    assert_mfc(&net, r3, source, group, "r1r3", &["rcv"]);
    net.run_until(secs(33));
    assert_mfc(&net, r3, source, group, "r1r3", &[]);
    let on_rcv_lan = net.data_frames(rcv_lan, source, group);
    assert!((190..=212).contains(&on_rcv_lan), "{on_rcv_lan} packets on the receiver's LAN");
    net.run_until(secs(35));
    assert_mfc(&net, r1, source, group, "src", &[]);
    let on_r1r3 = net.data_frames(net.segment("r1r3"), source, group);
    net.run_until(secs(75));
    assert_eq!(net.sent(stream), 600);
    assert_eq!(net.data_frames(rcv_lan, source, group), on_rcv_lan, "the last hop forwards after the leave");
    assert_eq!(
        net.data_frames(net.segment("r1r3"), source, group),
        on_r1r3,
        "the first hop forwards after the prune"
    );
    let got = net.reception(rcv, source, group);
    assert_eq!(got.duplicates, 0);
    net
}

#[test]
fn prune_on_leave_stops_the_flow_ipv4() {
    deterministic(3, |seed| prune_on_leave(seed, Family::V4));
}

#[test]
fn prune_on_leave_stops_the_flow_ipv6() {
    deterministic(4, |seed| prune_on_leave(seed, Family::V6));
}

/// A chain `src ── r1 ── r2 ── r3 ── rcv` with a second source on the source LAN.
struct Chain {
    net: Net,
    routers: [NodeId; 3],
    src: NodeId,
    other: NodeId,
    rcv: NodeId,
    src_lan: SegmentId,
}

fn chain(seed: u64) -> Chain {
    let mut net = Net::new(seed);
    let r1 = net.add_router("r1", &config(None, ""));
    let r2 = net.add_router("r2", &config(None, ""));
    let r3 = net.add_router("r3", &config(None, ""));
    let src = net.add_host("src");
    let other = net.add_host("other");
    let rcv = net.add_host("rcv");
    let src_lan = net.connect("src", &[src, other, r1]);
    net.connect("r1r2", &[r1, r2]);
    net.connect("r2r3", &[r2, r3]);
    net.connect("rcv", &[r3, rcv]);
    Chain { net, routers: [r1, r2, r3], src, other, rcv, src_lan }
}

/// RFC 4607 / RFC 4604 / RFC 7761 §4.8: a source-specific join builds the source tree hop by
/// hop with no RP, no Register and no (*,G); another source of the group is not forwarded.
fn ssm_source_tree(seed: u64, family: Family) -> Net {
    let Chain { mut net, routers: [r1, r2, r3], src, other, rcv, src_lan } = chain(seed);
    let group = family.ssm_group();
    let source = family.addr(&net, src, src_lan);
    let unwanted = family.addr(&net, other, src_lan);
    net.run_until(secs(10));
    net.join_source(rcv, group, source);
    net.run_until(secs(12));
    net.start_stream(src, group, Duration::from_millis(100), 200);
    net.start_stream(other, group, Duration::from_millis(100), 200);
    net.run_until(secs(40));

    assert_mfc(&net, r1, source, group, "src", &["r1r2"]);
    assert_mfc(&net, r2, source, group, "r1r2", &["r2r3"]);
    assert_mfc(&net, r3, source, group, "r2r3", &["rcv"]);
    // The unwanted source ends in a negative-cache entry at its first hop.
    assert_mfc(&net, r1, unwanted, group, "src", &[]);
    for router in [r1, r2, r3] {
        assert!(net.mroute(router, None, group).is_none(), "(*,G) in an SSM range at {}", net.name(router));
        assert_eq!(net.sent_count(router, &family.pim("register")), 0);
    }
    let got = net.reception(rcv, source, group);
    assert_eq!((got.unique(), got.duplicates), (200, 0), "{got:?}");
    assert_eq!(net.reception(rcv, unwanted, group).packets, 0);
    net
}

#[test]
fn ssm_builds_only_the_source_tree_ipv4() {
    deterministic(5, |seed| ssm_source_tree(seed, Family::V4));
}

#[test]
fn ssm_builds_only_the_source_tree_ipv6() {
    deterministic(6, |seed| ssm_source_tree(seed, Family::V6));
}

/// The diamond: two paths from the source's first hop r1 to the receiver's last hop r4.
///
/// ```text
///             ┌── r2 ──┐
///   src ── r1          r4 ── rcv
///             └── r3 ──┘
/// ```
struct Diamond {
    net: Net,
    r1: NodeId,
    r2: NodeId,
    r3: NodeId,
    r4: NodeId,
    src: NodeId,
    rcv: NodeId,
    src_lan: SegmentId,
}

/// A diamond whose routers all run `router_config(rp via r2, rp via r3)`.
fn diamond(seed: u64, family: Family, router_config: impl Fn(IpAddr, IpAddr) -> String) -> Diamond {
    let mut net = Net::new(seed);
    let r1 = net.add_router("r1", "");
    let r2 = net.add_router("r2", "");
    let r3 = net.add_router("r3", "");
    let r4 = net.add_router("r4", "");
    let src = net.add_host("src");
    let rcv = net.add_host("rcv");
    let src_lan = net.connect("src", &[src, r1]);
    net.connect("r1r2", &[r1, r2]);
    net.connect("r1r3", &[r1, r3]);
    let r2r4 = net.connect("r2r4", &[r2, r4]);
    let r3r4 = net.connect("r3r4", &[r3, r4]);
    net.connect("rcv", &[r4, rcv]);
    let (rp2, rp3) = (family.addr(&net, r2, r2r4), family.addr(&net, r3, r3r4));
    for router in [r1, r2, r3, r4] {
        net.apply_config(router, &router_config(rp2, rp3));
    }
    Diamond { net, r1, r2, r3, r4, src, rcv, src_lan }
}

/// RFC 7761 §4.5.7 (RPF'(S,G) changes): a unicast route change at the last hop moves its (S,G)
/// to the other upstream; the old branch is pruned back to the first hop.
fn rpf_change(seed: u64, family: Family) -> Net {
    let Diamond { mut net, r1, r2, r3, r4, src, rcv, src_lan } =
        diamond(seed, family, |_, _| config(None, ""));
    let group = family.ssm_group();
    let source = family.addr(&net, src, src_lan);
    net.run_until(secs(10));
    net.join_source(rcv, group, source);
    net.run_until(secs(12));
    net.start_stream(src, group, Duration::from_millis(100), 500);
    net.run_until(secs(30));
    assert_mfc(&net, r4, source, group, "r2r4", &["rcv"]);
    assert_mfc(&net, r1, source, group, "src", &["r1r2"]);

    net.set_route(r4, src_lan, r3);
    net.run_until(secs(40));
    assert_mfc(&net, r4, source, group, "r3r4", &["rcv"]);
    assert_mfc(&net, r3, source, group, "r1r3", &["r3r4"]);
    assert_mfc(&net, r1, source, group, "src", &["r1r3"]);
    let old_branch = net.mfc(r2, Some(source), group);
    assert!(old_branch.as_ref().map_or(true, |e| e.oifs.is_empty()), "r2 still forwards: {old_branch:?}");
    net.run_until(secs(65));
    let got = net.reception(rcv, source, group);
    assert_eq!(got.duplicates, 0, "{got:?}");
    assert!(got.unique() >= 498, "lost {} of 500 when the path moved", 500 - got.unique());
    net
}

#[test]
fn rpf_change_moves_the_source_tree_ipv4() {
    deterministic(7, |seed| rpf_change(seed, Family::V4));
}

#[test]
fn rpf_change_moves_the_source_tree_ipv6() {
    deterministic(8, |seed| rpf_change(seed, Family::V6));
}

/// RFC 7761 §4.7 / §4.4.1 (a group's RP changes): the static RP is reconfigured on every
/// router; the last hop's (*,G) follows it, the first hop registers with the new RP, which joins
/// the source tree and stops the Registers, and the old RP's branch is pruned. The last hop stays
/// on the shared tree (`spt-switch = "never"` there), so the flow crosses whichever RP serves.
fn rp_change(seed: u64, family: Family) -> Net {
    let Diamond { mut net, r1, r2, r3, r4, src, rcv, src_lan } =
        diamond(seed, family, |rp2, _| config(Some(rp2), ""));
    let rp2 = family.addr(&net, r2, net.segment("r2r4"));
    let rp3 = family.addr(&net, r3, net.segment("r3r4"));
    let shared_tree_only = "spt-switch = \"never\"\n";
    net.apply_config(r4, &config(Some(rp2), shared_tree_only));
    let group = family.asm_group();
    let source = family.addr(&net, src, src_lan);
    net.run_until(secs(10));
    net.join(rcv, group);
    net.run_until(secs(12));
    net.start_stream(src, group, Duration::from_millis(100), 800);
    net.run_until(secs(40));
    let star = net.mroute(r4, None, group).expect("(*,G) at r4");
    assert_eq!(star.incoming.as_deref(), Some("r2r4"));
    assert_mfc(&net, r4, source, group, "r2r4", &["rcv"]);
    assert_mfc(&net, r2, source, group, "r1r2", &["r2r4"]);
    assert_mfc(&net, r1, source, group, "src", &["r1r2"]);
    let registers = net.sent_count(r1, &family.pim("register"));

    for router in [r1, r2, r3] {
        net.apply_config(router, &config(Some(rp3), ""));
    }
    net.apply_config(r4, &config(Some(rp3), shared_tree_only));
    net.run_until(secs(55));
    let star = net.mroute(r4, None, group).expect("(*,G) at r4");
    assert_eq!(star.incoming.as_deref(), Some("r3r4"), "{star:?}");
    let at_new_rp = net.mroute(r3, None, group).expect("(*,G) at the new RP");
    assert!(at_new_rp.outgoing.iter().any(|o| o.interface == "r3r4"), "{at_new_rp:?}");
    let at_old_rp = net.mroute(r2, None, group);
    assert!(at_old_rp.as_ref().map_or(true, |e| e.outgoing.is_empty()), "{at_old_rp:?}");
    assert!(net.sent_count(r1, &family.pim("register")) > registers, "r1 registered with the new RP");
    assert!(net.sent_count(r3, &family.pim("register-stop")) >= 1, "the new RP stopped the Registers");
    assert_mfc(&net, r4, source, group, "r3r4", &["rcv"]);
    assert_mfc(&net, r3, source, group, "r1r3", &["r3r4"]);
    assert_mfc(&net, r1, source, group, "src", &["r1r3"]);
    let old_branch = net.mfc(r2, Some(source), group);
    assert!(old_branch.as_ref().map_or(true, |e| e.oifs.is_empty()), "r2 still forwards: {old_branch:?}");
    net.run_until(secs(95));
    let got = net.reception(rcv, source, group);
    assert_eq!(got.duplicates, 0, "{got:?}");
    // From 10 s after the change on, nothing is lost.
    assert_eq!(got.unique_in(380..800), 420, "{got:?}");
    assert!(got.unique() >= 790, "lost {} of 800 when the RP moved", 800 - got.unique());
    net
}

#[test]
fn rp_change_moves_the_shared_tree_ipv4() {
    deterministic(9, |seed| rp_change(seed, Family::V4));
}

#[test]
fn rp_change_moves_the_shared_tree_ipv6() {
    deterministic(10, |seed| rp_change(seed, Family::V6));
}

/// RFC 7761 §4.3.2 / §4.1.6 (DR election; only the DR acts for local members): a router with a
/// higher DR priority comes up on the receivers' LAN; it learns the membership from its queries,
/// joins and forwards, while the old DR stops forwarding onto the LAN.
///
/// ```text
///   src ── r1 (RP) ── r2 ──┐
///            └─────── r3 ──┴── lan ── rcv      (r3: DR priority 10, link down at first)
/// ```
fn dr_change(seed: u64, family: Family) -> Net {
    let mut net = Net::new(seed);
    let r1 = net.add_router("r1", "");
    let r2 = net.add_router("r2", "");
    let r3 = net.add_router("r3", "");
    let src = net.add_host("src");
    let rcv = net.add_host("rcv");
    let src_lan = net.connect("src", &[src, r1]);
    net.connect("r1r2", &[r1, r2]);
    net.connect("r1r3", &[r1, r3]);
    let lan = net.connect("lan", &[r2, r3, rcv]);
    let rp = family.addr(&net, r1, src_lan);
    net.apply_config(r1, &config(Some(rp), ""));
    net.apply_config(r2, &config(Some(rp), ""));
    // The new DR asks with a 1 s Max Resp Time, so that the member answers within a second.
    let higher_priority = "[[interface]]\nname = \"lan\"\n[interface.pim]\ndr-priority = 10\n";
    let quick_answers = "[gmp]\nquery-response-interval-ms = 1000\n";
    net.apply_config(r3, &format!("{}{higher_priority}{quick_answers}", config(Some(rp), "")));
    net.set_link(r3, lan, false);
    let group = family.asm_group();
    let source = family.addr(&net, src, src_lan);
    net.run_until(secs(10));
    net.join(rcv, group);
    net.run_until(secs(12));
    net.start_stream(src, group, Duration::from_millis(100), 700);
    net.run_until(secs(30));
    assert_mfc(&net, r2, source, group, "r1r2", &["lan"]);
    assert!(net.mfc(r3, Some(source), group).is_none(), "{}", net.mfc_dump(r3));

    net.set_link(r3, lan, true);
    net.run_until(secs(45));
    assert_mfc(&net, r3, source, group, "r1r3", &["lan"]);
    let old_dr = net.mfc(r2, Some(source), group);
    assert!(old_dr.as_ref().map_or(true, |e| e.oifs.is_empty()), "the old DR forwards: {old_dr:?}");
    assert_mfc(&net, r1, source, group, "src", &["r1r3"]);
    net.run_until(secs(85));
    let got = net.reception(rcv, source, group);
    // From 10 s after the new DR came up on, every packet arrives once.
    assert_eq!(got.unique_in(280..700), 420, "{got:?}");
    // Before that: the old DR stops when it hears the new DR's Hello, the new DR joins once a
    // query answer tells it about the member (within the 1 s asked for); the two may both
    // forward a packet before one stops.
    let lost = 700 - got.unique();
    assert!(lost <= 10, "{lost} packets lost at the DR change");
    assert!(got.duplicates <= 2, "{} duplicates at the DR change", got.duplicates);
    net
}

#[test]
fn dr_change_moves_forwarding_to_the_new_dr_ipv4() {
    deterministic(11, |seed| dr_change(seed, Family::V4));
}

#[test]
fn dr_change_moves_forwarding_to_the_new_dr_ipv6() {
    deterministic(12, |seed| dr_change(seed, Family::V6));
}

/// Join latency on the virtual clock: with 5 ms links and a source sending every millisecond, the
/// first packet reaches a new SSM receiver after its report and the joins climbed three links
/// (15 ms) and the data crossed four (20 ms): hato adds no delay of its own to a triggered join.
fn join_latency(seed: u64, family: Family) -> Net {
    let Chain { mut net, src, rcv, src_lan, .. } = chain(seed);
    net.set_link_delay(Duration::from_millis(5));
    let group = family.ssm_group();
    let source = family.addr(&net, src, src_lan);
    net.run_until(secs(19));
    net.start_stream(src, group, Duration::from_millis(1), 2_000);
    net.run_until(secs(20));
    net.join_source(rcv, group, source);
    net.run_until(secs(21));
    let first = net.reception(rcv, source, group).first.expect("the flow arrives");
    let latency = first.saturating_since(secs(20));
    assert!(
        (Duration::from_millis(30)..=Duration::from_millis(32)).contains(&latency),
        "join to first packet: {latency:?}"
    );
    net
}

#[test]
fn join_latency_is_the_path_delay_ipv4() {
    deterministic(13, |seed| join_latency(seed, Family::V4));
}

#[test]
fn join_latency_is_the_path_delay_ipv6() {
    deterministic(14, |seed| join_latency(seed, Family::V6));
}

/// RFC 7761 §4.6 (Assert): two upstream routers forward one source onto a LAN, each for its own
/// downstream router; each sees the other's packets on an outgoing interface (WRONGVIF), they
/// exchange Asserts, the winner (metrics tie: the higher address, r3) keeps forwarding and the
/// loser stops, and both downstream routers' receivers get each packet once.
///
/// ```text
///            ┌── r2 ──┐         ┌── r4 ── rcv4   (RPF: r2)
///   src ── r1          ├── lan ─┤
///            └── r3 ──┘         └── r5 ── rcv5   (RPF: r3)
/// ```
fn assert_on_a_lan(seed: u64, family: Family) -> Net {
    let mut net = Net::new(seed);
    let routers: Vec<NodeId> = ["r1", "r2", "r3", "r4", "r5"].iter().map(|n| net.add_router(n, "")).collect();
    let [r1, r2, r3, r4, r5] = routers[..] else { unreachable!() };
    let src = net.add_host("src");
    let rcv4 = net.add_host("rcv4");
    let rcv5 = net.add_host("rcv5");
    let src_lan = net.connect("src", &[src, r1]);
    net.connect("r1r2", &[r1, r2]);
    net.connect("r1r3", &[r1, r3]);
    let lan = net.connect("lan", &[r2, r3, r4, r5]);
    net.connect("rcv4", &[r4, rcv4]);
    net.connect("rcv5", &[r5, rcv5]);
    net.set_route(r4, src_lan, r2);
    net.set_route(r5, src_lan, r3);
    let group = family.ssm_group();
    let source = family.addr(&net, src, src_lan);
    net.run_until(secs(10));
    net.join_source(rcv4, group, source);
    net.join_source(rcv5, group, source);
    net.run_until(secs(12));
    let stream = net.start_stream(src, group, Duration::from_millis(100), 300);
    net.run_until(secs(20));

    assert!(net.sent_count(r2, &family.pim("assert")) >= 1, "r2 asserted");
    assert!(net.sent_count(r3, &family.pim("assert")) >= 1, "r3 asserted");
    assert_mfc(&net, r3, source, group, "r1r3", &["lan"]);
    let loser = net.mfc(r2, Some(source), group);
    assert!(loser.as_ref().map_or(true, |e| !e.oifs.contains(&"lan".to_string())), "r2 forwards: {loser:?}");
    // Between two packets (every 100 ms on the 100 ms), none is on its way.
    net.run_until(secs(20) + Duration::from_millis(50));
    let (on_lan, sent) = (net.data_frames(lan, source, group), net.sent(stream));
    net.run_until(secs(45));
    let copies = net.data_frames(lan, source, group) - on_lan;
    assert_eq!(copies, u64::from(net.sent(stream) - sent), "one copy per packet on the LAN");
    for receiver in [rcv4, rcv5] {
        let got = net.reception(receiver, source, group);
        assert_eq!(got.unique(), 300, "{} {got:?}", net.name(receiver));
        assert!(got.duplicates <= 1, "{} got {} duplicates", net.name(receiver), got.duplicates);
    }
    net
}

#[test]
fn assert_leaves_one_forwarder_on_a_lan_ipv4() {
    deterministic(15, |seed| assert_on_a_lan(seed, Family::V4));
}

#[test]
fn assert_leaves_one_forwarder_on_a_lan_ipv6() {
    deterministic(16, |seed| assert_on_a_lan(seed, Family::V6));
}
