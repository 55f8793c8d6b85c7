//! Router behaviour over an in-memory forwarding plane.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use hato_config::{load, Config, ConfigDiff};
use hato_control::{Request, Response};
use hato_core::{
    Afi, ForwardingPlane, IfIndex, Instant, MfcCounters, MfcEntry, MfcOifs, SgKey, Upcall, Vif, VifId, V4, V6,
};
use proptest::prelude::*;

use crate::mroute::{Intent, IntentOrigin, MrouteTable, RECONCILE_CHUNK};
use crate::vifs::{VifBinding, VifTable};
use crate::{Event, Input, LinkInfo, Output, ProtocolPacket, RouteChange, RouteNexthop, Router, SocketKind};

/// A plane that stores what it is told and counts the operations.
#[derive(Debug, Default)]
struct FakePlane<A: Afi> {
    vifs: BTreeMap<VifId, Vif>,
    mfc: BTreeMap<SgKey<A>, MfcEntry<A>>,
    set_calls: BTreeMap<SgKey<A>, usize>,
    operations: usize,
    fail_set: bool,
}

impl<A: Afi> FakePlane<A> {
    /// What every installed entry counted.
    const COUNTERS: MfcCounters = MfcCounters { packets: 7, bytes: 700, wrong_if: 0 };
}

#[derive(Debug)]
struct FakeError(&'static str);

impl fmt::Display for FakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for FakeError {}

impl<A: Afi> ForwardingPlane<A> for FakePlane<A> {
    type Error = FakeError;

    fn add_vif(&mut self, vif: &Vif) -> Result<(), FakeError> {
        self.operations += 1;
        if self.vifs.insert(vif.id, *vif).is_some() {
            return Err(FakeError("VIF exists"));
        }
        Ok(())
    }

    fn del_vif(&mut self, id: VifId) -> Result<(), FakeError> {
        self.operations += 1;
        self.vifs.remove(&id).map(|_| ()).ok_or(FakeError("no such VIF"))
    }

    fn set_mfc(&mut self, entry: &MfcEntry<A>) -> Result<(), FakeError> {
        self.operations += 1;
        if self.fail_set {
            return Err(FakeError("refused"));
        }
        assert!(self.vifs.contains_key(&entry.iif), "iif {} has no VIF", entry.iif);
        assert!(!entry.oifs.contains_key(&entry.iif), "iif listed as oif: {entry}");
        *self.set_calls.entry(entry.key).or_default() += 1;
        self.mfc.insert(entry.key, entry.clone());
        Ok(())
    }

    fn del_mfc(&mut self, key: SgKey<A>) -> Result<(), FakeError> {
        self.operations += 1;
        self.mfc.remove(&key).map(|_| ()).ok_or(FakeError("no such entry"))
    }

    fn flush(&mut self) -> Result<(), FakeError> {
        self.vifs.clear();
        self.mfc.clear();
        Ok(())
    }

    fn counters(&mut self) -> Result<BTreeMap<SgKey<A>, MfcCounters>, FakeError> {
        Ok(self.mfc.keys().map(|key| (*key, Self::COUNTERS)).collect())
    }

    fn entry_counters(&mut self, key: SgKey<A>) -> Result<Option<MfcCounters>, FakeError> {
        Ok(self.mfc.contains_key(&key).then_some(Self::COUNTERS))
    }
}

type TestRouter = Router<FakePlane<V4>, FakePlane<V6>>;

const FLOWS: &str = r#"
[global]
auto-interfaces = false

[[interface]]
name = "eth0"
[[interface]]
name = "eth1"
[[interface]]
name = "eth2"

[[static-flow]]
source = "198.18.0.2"
group = "239.1.1.1"
input = "eth0"
outputs = ["eth1", "eth2"]

[[static-flow]]
source = "fd00::2"
group = "ff3e::1"
input = "eth0"
outputs = ["eth1"]
"#;

fn link(ifindex: u32, name: &str) -> LinkInfo {
    LinkInfo {
        ifindex: IfIndex(ifindex),
        name: name.into(),
        up: true,
        multicast: true,
        loopback: false,
        mtu: 1500,
    }
}

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn router(config: &str) -> TestRouter {
    let config = load("hato.toml", config).unwrap();
    Router::new(t(0), config, Some(FakePlane::default()), Some(FakePlane::default()))
}

/// Feeds the links eth0.. (ifindex 2..) and `lo`.
fn with_links(router: &mut TestRouter, names: &[&str]) -> Vec<Output> {
    let mut out = Vec::new();
    let mut lo = link(1, "lo");
    lo.loopback = true;
    router.handle(t(1), Input::Link(lo), &mut out);
    for (i, name) in names.iter().enumerate() {
        router.handle(t(1), Input::Link(link(i as u32 + 2, name)), &mut out);
    }
    router.handle(t(1), Input::Synced, &mut out);
    out
}

fn plane4(router: &mut TestRouter) -> &mut FakePlane<V4> {
    router.plane4_mut().unwrap()
}

fn sg4(s: &str, g: &str) -> SgKey<V4> {
    SgKey::sg(s.parse().unwrap(), g.parse().unwrap())
}

#[test]
fn static_flow_installs_once_the_interfaces_exist() {
    let mut r = router(FLOWS);
    let mut out = Vec::new();
    r.handle(t(1), Input::Link(link(2, "eth0")), &mut out);
    // Installed at once, forwarding nowhere until its outputs exist.
    assert!(plane4(&mut r).mfc[&sg4("198.18.0.2", "239.1.1.1")].oifs.is_empty());
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Log(Event::FlowWaiting { interface, .. }) if interface == "eth1")));
    with_links(&mut r, &["eth0", "eth1", "eth2"]);
    let plane = plane4(&mut r);
    // lo is not configured: no VIF. eth0..eth2 get VIFs 0..2.
    assert_eq!(plane.vifs.keys().copied().collect::<Vec<_>>(), vec![VifId(0), VifId(1), VifId(2)]);
    let entry = &plane.mfc[&sg4("198.18.0.2", "239.1.1.1")];
    assert_eq!(entry.iif, VifId(0));
    assert_eq!(entry.oifs, MfcOifs::from([(VifId(1), 1), (VifId(2), 1)]));
    let v6 = r.plane6_mut().unwrap();
    assert_eq!(v6.mfc.len(), 1);
    assert_ne!(r.poll_at(), Some(t(1)), "nothing left to reconcile");
    match r.query(t(5000), &Request::ShowMroute { source: None, group: Some("239.1.1.1".parse().unwrap()) }) {
        Response::Mroute(view) => {
            assert_eq!(view.entries.len(), 1);
            let entry = &view.entries[0];
            assert_eq!(entry.flags, "ST");
            assert_eq!(entry.incoming.as_deref(), Some("eth0"));
            assert_eq!(
                entry.outgoing.iter().map(|o| o.interface.as_str()).collect::<Vec<_>>(),
                vec!["eth1", "eth2"]
            );
            assert_eq!(entry.outgoing[0].reasons, vec!["static-flow"]);
            assert_eq!(entry.uptime_secs, 4);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn gmp_groups_are_joined_per_vif_and_left_on_removal() {
    let mut r = router(FLOWS);
    let out = with_links(&mut r, &["eth0", "eth1"]);
    let joins: Vec<(SocketKind, IpAddr, IfIndex)> = out
        .iter()
        .filter_map(|o| match o {
            Output::Join { socket: socket @ (SocketKind::Igmp | SocketKind::Mld), group, ifindex } => {
                Some((*socket, *group, *ifindex))
            }
            _ => None,
        })
        .collect();
    // IGMPv3 / MLDv2 reports go to ALL-V3-ROUTERS, IGMPv2 leaves and MLDv1 dones to ALL-ROUTERS.
    assert_eq!(joins.len(), 8);
    assert!(joins.contains(&(SocketKind::Igmp, "224.0.0.22".parse().unwrap(), IfIndex(2))));
    assert!(joins.contains(&(SocketKind::Igmp, "224.0.0.2".parse().unwrap(), IfIndex(2))));
    assert!(joins.contains(&(SocketKind::Mld, "ff02::16".parse().unwrap(), IfIndex(3))));
    let mut out = Vec::new();
    let reload =
        load("hato.toml", &FLOWS.replace("name = \"eth1\"", "name = \"eth1\"\nenabled = false")).unwrap();
    let diff = ConfigDiff::between(r.config(), &reload);
    r.apply_config(t(2), &reload, &diff, &mut out);
    assert!(out.contains(&Output::Leave {
        socket: SocketKind::Igmp,
        group: "224.0.0.22".parse().unwrap(),
        ifindex: IfIndex(3)
    }));
    // The flow stays, without its disabled output.
    let entry = &plane4(&mut r).mfc[&sg4("198.18.0.2", "239.1.1.1")];
    assert!(entry.oifs.is_empty());
}

#[test]
fn reload_leaves_unchanged_flows_and_interfaces_alone() {
    let mut r = router(FLOWS);
    with_links(&mut r, &["eth0", "eth1", "eth2"]);
    let first = sg4("198.18.0.2", "239.1.1.1");
    let vif_ops_before = plane4(&mut r).vifs.len();
    plane4(&mut r).set_calls.clear();
    let text = format!(
        "{FLOWS}\n[[static-flow]]\nsource = \"198.18.0.3\"\ngroup = \"239.1.1.2\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n"
    )
    .replace("[global]", "[pim]\nhello-period = 40\n[global]");
    let new = load("hato.toml", &text).unwrap();
    let diff = ConfigDiff::between(r.config(), &new);
    let operations_before = plane4(&mut r).operations;
    let mut out = Vec::new();
    for round in 0..10 {
        let (from, to) =
            if round % 2 == 0 { (r.config().clone(), new.clone()) } else { (new.clone(), new.clone()) };
        let diff = if round == 0 { diff.clone() } else { ConfigDiff::between(&from, &to) };
        r.apply_config(t(10 + round), &to, &diff, &mut out);
    }
    let plane = plane4(&mut r);
    assert_eq!(plane.set_calls.get(&first), None, "the untouched flow was rewritten");
    assert_eq!(plane.set_calls[&sg4("198.18.0.3", "239.1.1.2")], 1);
    assert_eq!(plane.operations - operations_before, 1, "only the new flow's install");
    assert_eq!(plane.vifs.len(), vif_ops_before);
    assert!(out.iter().any(|o| matches!(o, Output::Log(Event::ConfigApplied { changes }) if changes.iter().any(|c| c.contains("static flow 198.18.0.3,239.1.1.2 added")))));
    // Removing it again removes only it.
    let old = load("hato.toml", FLOWS).unwrap();
    let diff = ConfigDiff::between(r.config(), &old);
    r.apply_config(t(30), &old, &diff, &mut out);
    let plane = plane4(&mut r);
    assert_eq!(plane.mfc.keys().copied().collect::<Vec<_>>(), vec![first]);
    assert_eq!(plane.set_calls.get(&first), None);
}

#[test]
fn any_source_flow_learns_sources_on_its_input_only() {
    let text = "[[static-flow]]\ngroup = \"239.2.2.2\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n";
    let mut r = router(text);
    with_links(&mut r, &["eth0", "eth1"]);
    assert!(plane4(&mut r).mfc.is_empty());
    let mut out = Vec::new();
    let g = "239.2.2.2".parse().unwrap();
    let upcall =
        |vif, s: &str| Upcall::<V4>::NoCache { vif: VifId(vif), source: s.parse().unwrap(), group: g };
    r.handle(t(2), Input::Upcall4(upcall(1, "198.18.1.9")), &mut out);
    assert!(plane4(&mut r).mfc.is_empty(), "learned from the wrong interface");
    assert!(out.iter().any(|o| matches!(o, Output::Log(Event::Unwanted { .. }))));
    r.handle(t(2), Input::Upcall4(upcall(0, "198.18.0.9")), &mut out);
    let entry = &plane4(&mut r).mfc[&sg4("198.18.0.9", "239.2.2.2")];
    assert_eq!((entry.iif, entry.oifs.keys().copied().collect::<Vec<_>>()), (VifId(0), vec![VifId(1)]));
    match r.query(t(3), &Request::ShowCounters) {
        Response::Counters(view) => assert_eq!(view.upcalls["ipv4-nocache"], 2),
        other => panic!("{other:?}"),
    }
    // Dropping the flow removes the learned entry.
    let empty = Config { global: r.config().global.clone(), ..Config::default() };
    let diff = ConfigDiff::between(r.config(), &empty);
    r.apply_config(t(4), &empty, &diff, &mut out);
    assert!(plane4(&mut r).mfc.is_empty());
}

#[test]
fn learned_sources_of_an_any_source_flow_expire_when_idle() {
    let text = "[[static-flow]]\ngroup = \"239.2.2.2\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n";
    let mut r = router(text);
    with_links(&mut r, &["eth0", "eth1"]);
    let mut out = Vec::new();
    let g = "239.2.2.2".parse().unwrap();
    for s in ["198.18.0.9", "198.18.0.10"] {
        let upcall = Upcall::<V4>::NoCache { vif: VifId(0), source: s.parse().unwrap(), group: g };
        r.handle(t(2), Input::Upcall4(upcall), &mut out);
    }
    let (busy, quiet) = (sg4("198.18.0.9", "239.2.2.2"), sg4("198.18.0.10", "239.2.2.2"));
    let dump = |busy_packets: u64| {
        let counters = |packets| MfcCounters { packets, bytes: packets * 100, wrong_if: 0 };
        BTreeMap::from([(busy, counters(busy_packets)), (quiet, counters(3))])
    };
    // Both sent their first packets; from then on only `busy` does, dumps every second.
    let second = |n: u64| t(10_000 + n * 1000);
    r.handle(second(0), Input::Counters4(dump(1)), &mut out);
    let mut n = 0;
    while n < 209 {
        n += 1;
        r.handle(second(n), Input::Counters4(dump(1 + n)), &mut out);
    }
    assert!(plane4(&mut r).mfc.contains_key(&quiet), "withdrawn before the idle timeout");
    out.clear();
    r.handle(second(210), Input::Counters4(dump(211)), &mut out);
    assert!(!plane4(&mut r).mfc.contains_key(&quiet), "idle source kept");
    assert!(plane4(&mut r).mfc.contains_key(&busy), "busy source withdrawn");
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Log(Event::FlowSourceIdle { flow }) if flow.contains("198.18.0.10"))));
    // Its next packet learns it again.
    let upcall = Upcall::<V4>::NoCache { vif: VifId(0), source: "198.18.0.10".parse().unwrap(), group: g };
    r.handle(second(211), Input::Upcall4(upcall), &mut out);
    assert!(plane4(&mut r).mfc.contains_key(&quiet));
}

#[test]
fn big_changes_are_installed_in_chunks() {
    let mut text = String::from("[global]\nipv6 = false\n");
    for i in 0..2500u32 {
        text.push_str(&format!(
            "[[static-flow]]\nsource = \"198.18.{}.{}\"\ngroup = \"239.9.9.9\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n",
            i / 250,
            i % 250 + 1
        ));
    }
    let config = load("hato.toml", &text).unwrap();
    let mut r: TestRouter = Router::new(t(0), config, Some(FakePlane::default()), None);
    let mut out = Vec::new();
    r.handle(t(1), Input::Link(link(2, "eth0")), &mut out);
    r.handle(t(1), Input::Link(link(3, "eth1")), &mut out);
    assert_eq!(plane4(&mut r).mfc.len(), RECONCILE_CHUNK);
    assert_eq!(r.poll_at(), Some(t(1)));
    r.on_timeout(t(2), &mut out);
    assert_eq!(plane4(&mut r).mfc.len(), 2 * RECONCILE_CHUNK);
    r.on_timeout(t(3), &mut out);
    assert_eq!(plane4(&mut r).mfc.len(), 2500);
    assert_ne!(r.poll_at(), Some(t(3)));
}

#[test]
fn vifs_are_stable_reused_and_limited() {
    let mut r = router("");
    let names: Vec<String> = (0..40).map(|i| format!("veth{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let out = with_links(&mut r, &refs);
    assert_eq!(plane4(&mut r).vifs.len(), usize::from(crate::MAX_INTERFACE_VIFS));
    assert_eq!(out.iter().filter(|o| matches!(o, Output::Log(Event::VifsExhausted { .. }))).count(), 2 * 9);
    // veth3 (ifindex 5) leaves: its VIF 3 goes; veth31 (the first without a VIF) takes it.
    let mut out = Vec::new();
    r.handle(t(5), Input::LinkRemoved(IfIndex(5)), &mut out);
    let plane = plane4(&mut r);
    assert_eq!(plane.vifs[&VifId(3)].kind, hato_core::VifKind::Interface(IfIndex(33)));
    assert_eq!(plane.vifs[&VifId(4)].kind, hato_core::VifKind::Interface(IfIndex(6)));
}

#[test]
fn rpf_answers_from_routes_and_static_mroutes() {
    let text = "[[mroute]]\nsource = \"198.18.7.0/24\"\ninterface = \"eth1\"\n";
    let mut r = router(text);
    with_links(&mut r, &["eth0", "eth1"]);
    let mut out = Vec::new();
    let address = |ifindex, addr: &str, prefix_len| Input::Address {
        ifindex: IfIndex(ifindex),
        addr: addr.parse().unwrap(),
        prefix_len,
        added: true,
    };
    r.handle(t(2), address(2, "198.18.0.1", 24), &mut out);
    r.handle(t(2), address(3, "198.18.1.1", 24), &mut out);
    let route = RouteChange {
        added: true,
        destination: "198.18.0.0".parse().unwrap(),
        prefix_len: 16,
        nexthops: vec![RouteNexthop { ifindex: IfIndex(2), gateway: Some("198.18.0.2".parse().unwrap()) }],
        metric: 20,
        protocol: 4,
    };
    r.handle(t(3), Input::Route(route), &mut out);
    let rpf = |r: &TestRouter, a: &str| match r.query(t(4), &Request::ShowRpf { address: a.parse().unwrap() })
    {
        Response::Rpf(view) => view,
        other => panic!("{other:?}"),
    };
    let via_route = rpf(&r, "198.18.9.9");
    assert_eq!(via_route.interface.as_deref(), Some("eth0"));
    assert_eq!(via_route.neighbor, Some("198.18.0.2".parse().unwrap()));
    assert!(!via_route.static_mroute);
    let mroute = rpf(&r, "198.18.7.7");
    assert_eq!((mroute.interface.as_deref(), mroute.origin.as_deref()), (Some("eth1"), Some("Mroute")));
    assert!(mroute.static_mroute, "{mroute:?}");
    assert!(rpf(&r, "203.0.113.1").explanation.contains("unreachable"));
    // A reload without the mroute falls back to the route.
    let empty = Config::default();
    let diff = ConfigDiff::between(r.config(), &empty);
    r.apply_config(t(5), &empty, &diff, &mut out);
    assert_eq!(rpf(&r, "198.18.7.7").interface.as_deref(), Some("eth0"));
}

#[test]
fn packets_are_counted_by_kind_and_decode_failure() {
    let mut r = router("");
    let mut out = Vec::new();
    // An IGMPv2 general query and the same with a bad checksum.
    let query = vec![0x11, 0x64, 0xee, 0x9b, 0, 0, 0, 0];
    let mut bad = query.clone();
    bad[2] ^= 0xff;
    for payload in [query, bad] {
        let packet = ProtocolPacket {
            socket: SocketKind::Igmp,
            ifindex: None,
            source: "198.18.0.2".parse().unwrap(),
            destination: "224.0.0.1".parse().unwrap(),
            hop_limit: Some(1),
            router_alert: Some(true),
            payload,
        };
        r.handle(t(1), Input::Packet(packet), &mut out);
    }
    let view = r.counters().view();
    assert_eq!(view.received.get("igmp-v2-query"), Some(&1), "{view:?}");
    assert_eq!(view.decode_failures.get("igmp-bad-checksum"), Some(&1), "{view:?}");
}

#[test]
fn plane_failures_are_retried_after_a_counter_dump() {
    let mut r = router(FLOWS);
    plane4(&mut r).fail_set = true;
    let out = with_links(&mut r, &["eth0", "eth1", "eth2"]);
    assert!(out.iter().any(|o| matches!(o, Output::Log(Event::PlaneFailed { .. }))));
    assert!(plane4(&mut r).mfc.is_empty());
    plane4(&mut r).fail_set = false;
    let mut out = Vec::new();
    let dump = plane4(&mut r).counters().unwrap();
    r.handle(t(9), Input::Counters4(dump), &mut out);
    assert_eq!(plane4(&mut r).mfc.len(), 1);
    let dump = plane4(&mut r).counters().unwrap();
    r.handle(t(10), Input::Counters4(dump), &mut out);
    match r.query(t(10), &Request::ShowMroute { source: Some("198.18.0.2".parse().unwrap()), group: None }) {
        Response::Mroute(view) => assert_eq!((view.entries.len(), view.entries[0].packets), (1, 7)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn resync_forgets_interfaces_not_reported_again() {
    let mut r = router(FLOWS);
    with_links(&mut r, &["eth0", "eth1", "eth2"]);
    let mut out = Vec::new();
    r.handle(t(2), Input::Resync, &mut out);
    r.handle(t(2), Input::Link(link(2, "eth0")), &mut out);
    r.handle(t(2), Input::Link(link(3, "eth1")), &mut out);
    r.handle(t(2), Input::Synced, &mut out);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Log(Event::InterfaceRemoved { name, .. }) if name == "eth2")));
    let plane = plane4(&mut r);
    assert_eq!(plane.vifs.len(), 2);
    assert_eq!(
        plane.mfc[&sg4("198.18.0.2", "239.1.1.1")].oifs.keys().copied().collect::<Vec<_>>(),
        vec![VifId(1)]
    );
}

#[test]
fn shutdown_withdraws_everything() {
    let mut r = router(FLOWS);
    with_links(&mut r, &["eth0", "eth1", "eth2"]);
    let mut out = Vec::new();
    r.shutdown(t(3), &mut out);
    let plane = plane4(&mut r);
    assert!(plane.mfc.is_empty() && plane.vifs.is_empty());
    let plane = r.plane6_mut().unwrap();
    assert!(plane.mfc.is_empty() && plane.vifs.is_empty());
}

fn intent_strategy() -> impl Strategy<Value = Option<(Option<u32>, Vec<u32>)>> {
    proptest::option::of((proptest::option::of(0u32..6), proptest::collection::vec(0u32..6, 0..5)))
}

proptest! {
    /// Whatever sequence of intents and VIF changes, reconciling to the end leaves the plane
    /// holding exactly the desired entries, none with its incoming VIF among the outgoing ones.
    #[test]
    fn reconcile_converges_to_desired(
        steps in proptest::collection::vec((0u8..4, intent_strategy(), proptest::collection::btree_set(0u32..6, 0..6)), 1..30)
    ) {
        let mut table: MrouteTable<V4> = MrouteTable::default();
        let mut plane: FakePlane<V4> = FakePlane::default();
        let mut vifs = VifTable::default();
        let mut events = Vec::new();
        for (group, intent, bound) in steps {
            let key = SgKey::sg("198.18.0.1".parse().unwrap(), std::net::Ipv4Addr::new(239, 0, 0, group));
            let intent = intent.map(|(iif, oifs)| Intent {
                iif: iif.map(IfIndex),
                oifs: oifs.into_iter().map(IfIndex).collect(),
                register: false,
            });
            table.set_intent(Instant::ZERO, key, IntentOrigin::StaticFlow, intent);
            // Rebind VIFs: interface i gets VIF i when in `bound`.
            let mut next = VifTable::default();
            for i in &bound {
                next.bind(IfIndex(*i), VifBinding { vif: VifId(*i as u16), ttl_threshold: 1 });
                plane.vifs.insert(VifId(*i as u16), Vif { id: VifId(*i as u16), kind: hato_core::VifKind::Interface(IfIndex(*i)), ttl_threshold: 1 });
            }
            for (ifindex, binding) in vifs.iter() {
                if !bound.contains(&ifindex.0) {
                    plane.vifs.remove(&binding.vif);
                }
            }
            vifs = next;
            table.vifs_changed();
            let budget = 3;
            let mut rounds = 0;
            while table.has_pending() && rounds < 100 {
                table.reconcile(&mut plane, &vifs, budget, &mut events);
                rounds += 1;
            }
            prop_assert!(!table.has_pending());
        }
        let desired: BTreeMap<SgKey<V4>, MfcEntry<V4>> = table
            .iter()
            .filter_map(|(key, entry)| entry.desired(key, &vifs).map(|e| (key, e)))
            .collect();
        prop_assert_eq!(plane.mfc, desired);
    }
}

const PIM: &str = r#"
[global]
auto-interfaces = false

[[interface]]
name = "eth0"
[[interface]]
name = "eth1"
"#;

/// eth0 (198.18.0.1/24, ifindex 2) towards the sources, eth1 (198.18.1.1/24, ifindex 3) towards
/// the listeners, both running IGMP and PIM.
fn pim_router() -> (TestRouter, Vec<Output>) {
    addressed_router(PIM)
}

/// A router on `config` with eth0 (198.18.0.1/24, ifindex 2) and eth1 (198.18.1.1/24, ifindex 3).
fn addressed_router(config: &str) -> (TestRouter, Vec<Output>) {
    let mut r = router(config);
    let mut out = with_links(&mut r, &["eth0", "eth1"]);
    for (ifindex, addr) in [(2, "198.18.0.1"), (3, "198.18.1.1")] {
        let input = Input::Address {
            ifindex: IfIndex(ifindex),
            addr: addr.parse().unwrap(),
            prefix_len: 24,
            added: true,
        };
        r.handle(t(1), input, &mut out);
    }
    (r, out)
}

/// An IGMPv3 report with one record, received on eth1.
fn igmp_report(record_type: hato_wire::gmp::RecordType, group: &str, sources: &[&str]) -> Input {
    use hato_gmp::{GmpFamily, GmpMessage};
    let record = hato_wire::gmp::GroupRecord {
        record_type,
        group: group.parse().unwrap(),
        sources: sources.iter().map(|s| s.parse().unwrap()).collect(),
        aux_data: Vec::new(),
    };
    let message = GmpMessage::<V4>::ReportV3(hato_wire::gmp::ReportV3 { records: vec![record] });
    let (src, dst) = ("198.18.1.9".parse().unwrap(), V4::ALL_V3_ROUTERS);
    Input::Packet(ProtocolPacket {
        socket: SocketKind::Igmp,
        ifindex: Some(IfIndex(3)),
        source: IpAddr::V4(src),
        destination: IpAddr::V4(dst),
        hop_limit: Some(1),
        router_alert: Some(true),
        payload: V4::to_bytes(&message, src, dst).unwrap(),
    })
}

#[test]
fn pim_runs_with_the_register_vif_and_all_pim_routers_joined() {
    let (mut r, out) = pim_router();
    for ifindex in [2, 3] {
        let join = Output::Join {
            socket: SocketKind::Pim4,
            group: "224.0.0.13".parse().unwrap(),
            ifindex: IfIndex(ifindex),
        };
        assert!(out.contains(&join), "{out:?}");
    }
    let register = plane4(&mut r).vifs.get(&crate::REGISTER_VIF).copied();
    assert_eq!(register.map(|v| v.kind), Some(hato_core::VifKind::Register));
    match r.query(t(2), &Request::ShowPimInterfaces) {
        Response::PimInterfaces(view) => {
            let names: Vec<&str> = view.interfaces.iter().map(|i| i.interface.as_str()).collect();
            assert_eq!(names, ["eth0", "eth1"]);
        }
        other => panic!("{other:?}"),
    }
}

// RFC 4607 / RFC 7761 §4.8: a source-specific member makes an (S,G) towards the source at once;
// the member's leave (RFC 3376 §6.4.2: TO_IN({}) then Last Member Query Time) removes it.
#[test]
fn ssm_member_installs_the_source_tree_until_it_leaves() {
    use hato_wire::gmp::RecordType::{ChangeToInclude, ModeIsInclude};
    let (mut r, _) = pim_router();
    let mut out = Vec::new();
    r.handle(t(10), igmp_report(ModeIsInclude, "232.1.1.1", &["198.18.0.2"]), &mut out);
    let key = sg4("198.18.0.2", "232.1.1.1");
    let entry = plane4(&mut r).mfc.get(&key).cloned().expect("(S,G) installed");
    assert_eq!((entry.iif, entry.oifs), (VifId(0), MfcOifs::from([(VifId(1), 1)])));
    match r.query(t(11), &Request::ShowMroute { source: None, group: Some("232.1.1.1".parse().unwrap()) }) {
        Response::Mroute(view) => {
            assert_eq!(view.entries.len(), 1);
            assert_eq!(view.entries[0].flags, "JRT");
            assert_eq!(view.entries[0].outgoing[0].reasons, ["pim-local"]);
        }
        other => panic!("{other:?}"),
    }
    r.handle(t(20), igmp_report(ChangeToInclude, "232.1.1.1", &[]), &mut out);
    let mut now = 20;
    while plane4(&mut r).mfc.contains_key(&key) && now < 10_000 {
        let next = r
            .poll_at()
            .map_or(now + 100, |at| u64::try_from(at.since_origin().as_millis()).unwrap_or(u64::MAX));
        now = next.max(now + 1);
        r.on_timeout(t(now), &mut out);
    }
    assert!(!plane4(&mut r).mfc.contains_key(&key), "still installed at {now} ms");
    // Last Member Query Count (2) × Interval (1 s), give or take a tick.
    assert!((1_900..=2_200).contains(&(now - 20)), "left after {} ms", now - 20);
}

// RFC 4604 §2.2.1: an EXCLUDE-mode record for an SSM group creates no membership.
#[test]
fn exclude_records_for_ssm_groups_are_ignored() {
    use hato_wire::gmp::RecordType::ModeIsExclude;
    let (mut r, _) = pim_router();
    let mut out = Vec::new();
    r.handle(t(10), igmp_report(ModeIsExclude, "232.1.1.2", &[]), &mut out);
    r.handle(t(10), igmp_report(ModeIsExclude, "239.1.1.2", &[]), &mut out);
    match r.query(t(11), &Request::ShowIgmpGroups) {
        Response::Groups(view) => {
            let groups: Vec<String> =
                view.interfaces.iter().flat_map(|i| i.groups.iter().map(|g| g.group.to_string())).collect();
            assert_eq!(groups, ["239.1.1.2"]);
        }
        other => panic!("{other:?}"),
    }
}

// A group is followed in the RP mapping while PIM holds state for it, and forgotten after it left.
#[test]
fn groups_are_no_longer_followed_once_pim_holds_nothing() {
    use hato_wire::gmp::RecordType::{ChangeToInclude, ModeIsExclude};
    let (mut r, mut out) = pim_router();
    let group: std::net::Ipv4Addr = "239.1.1.2".parse().unwrap();
    let followed = |r: &TestRouter| r.family4().unwrap().protocols.rp.is_watched(group);
    r.handle(t(10), igmp_report(ModeIsExclude, "239.1.1.2", &[]), &mut out);
    assert!(followed(&r), "a member's group is followed");
    r.handle(t(20_000), igmp_report(ChangeToInclude, "239.1.1.2", &[]), &mut out);
    // Counter dumps every second drive the sweep; the last-member queries end the membership.
    let mut now = 20_000;
    while now < 200_000 && followed(&r) {
        now += 1000;
        while r.poll_at().is_some_and(|at| at <= t(now)) {
            r.on_timeout(t(now), &mut out);
        }
        r.handle(t(now), Input::Counters4(BTreeMap::new()), &mut out);
        assert!(
            !followed(&r) || r.family4().unwrap().protocols.pim.holds_group(group) || now <= 20_000 + 63_000,
            "still followed at {now} ms with no PIM state"
        );
    }
    assert!(!followed(&r), "the group is still followed after it left");
    assert!(!r.family4().unwrap().protocols.pim.holds_group(group));
    // A new member follows it again.
    r.handle(t(now + 1000), igmp_report(ModeIsExclude, "239.1.1.2", &[]), &mut out);
    assert!(followed(&r));
}

// RFC 7761 §4.3.1: a Hello makes a neighbour; shutting down sends Hellos with holdtime 0.
#[test]
fn hello_makes_a_neighbor_and_shutdown_says_goodbye() {
    use hato_wire::pim::{Hello, HelloOption, PimMessage};
    let (mut r, _) = pim_router();
    let hello = PimMessage::<V4>::Hello(Hello {
        options: vec![HelloOption::Holdtime(105), HelloOption::GenerationId(7)],
    });
    let packet = ProtocolPacket {
        socket: SocketKind::Pim4,
        ifindex: Some(IfIndex(3)),
        source: "198.18.1.2".parse().unwrap(),
        destination: "224.0.0.13".parse().unwrap(),
        hop_limit: Some(1),
        router_alert: None,
        payload: hello.to_bytes(hato_wire::checksum::ChecksumContext::Plain).unwrap(),
    };
    let mut out = Vec::new();
    r.handle(t(10), Input::Packet(packet), &mut out);
    match r.query(t(11), &Request::ShowPimNeighbors) {
        Response::PimNeighbors(view) => {
            assert_eq!(view.neighbors.len(), 1);
            assert_eq!(view.neighbors[0].interface, "eth1");
            assert_eq!(view.neighbors[0].generation_id, Some(7));
        }
        other => panic!("{other:?}"),
    }
    let mut out = Vec::new();
    r.shutdown(t(12), &mut out);
    let goodbyes: Vec<IfIndex> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { socket: SocketKind::Pim4, ifindex, payload, .. } => {
                match PimMessage::<V4>::parse(payload, hato_wire::checksum::ChecksumContext::Plain) {
                    Ok(PimMessage::Hello(hello)) if hello.holdtime() == Some(0) => Some(*ifindex),
                    _ => None,
                }
            }
            _ => None,
        })
        .collect();
    assert_eq!(goodbyes, [IfIndex(2), IfIndex(3)]);
    assert!(plane4(&mut r).vifs.is_empty(), "VIFs left: {:?}", plane4(&mut r).vifs);
}

#[test]
fn decapsulated_packets_lose_one_hop_and_keep_a_valid_header() {
    use crate::protocols::decrement_hop_limit;
    // An IPv4 header (TTL 16, checksum valid) and 4 octets of payload.
    let mut v4 = vec![0x45, 0, 0, 24, 0, 1, 0, 0, 16, 17, 0, 0, 198, 18, 0, 1, 239, 1, 1, 1, 1, 2, 3, 4];
    let sum = hato_wire::checksum::checksum(&v4[..20]);
    v4[10..12].copy_from_slice(&sum.to_be_bytes());
    let out = decrement_hop_limit(v4).unwrap();
    assert_eq!(out[8], 15);
    assert_eq!(hato_wire::checksum::checksum(&out[..20]), 0, "header checksum after the TTL change");
    let mut last_hop = out.clone();
    last_hop[8] = 1;
    assert_eq!(decrement_hop_limit(last_hop), None);
    let mut v6 = vec![0x60, 0, 0, 0, 0, 4, 17, 9];
    v6.extend([0; 32]);
    assert_eq!(decrement_hop_limit(v6).unwrap()[7], 8);
    assert_eq!(decrement_hop_limit(vec![0x60, 0, 0]), None);
    assert_eq!(decrement_hop_limit(Vec::new()), None);
}

// RFC 5059 §3.1: a lone candidate BSR elects itself, puts its own candidate RP in the RP-Set and
// floods Bootstrap messages; the RP-Set reaches the RP mapping.
#[test]
fn candidate_bsr_and_rp_feed_the_rp_mapping() {
    use hato_wire::pim::PimMessage;
    let config = format!(
        "{PIM}\n[[pim.candidate-bsr]]\naddress = \"198.18.0.1\"\n\n[[pim.candidate-rp]]\naddress = \"198.18.0.1\"\ngroups = [\"239.0.0.0/8\"]\n"
    );
    let (mut r, _) = addressed_router(&config);
    let group: IpAddr = "239.1.1.1".parse().unwrap();
    let rp_of = |r: &TestRouter, now: u64| match r.query(t(now), &Request::ShowPimRp { group }) {
        Response::PimRp(view) => view,
        other => panic!("{other:?}"),
    };
    assert_eq!(rp_of(&r, 2).rp, None);
    let mut bootstraps = 0;
    let mut now = 1;
    while rp_of(&r, now).rp.is_none() && now < 300_000 {
        let next = r
            .poll_at()
            .map_or(now + 1000, |at| u64::try_from(at.since_origin().as_millis()).unwrap_or(u64::MAX));
        now = next.max(now + 1);
        let mut out = Vec::new();
        r.on_timeout(t(now), &mut out);
        bootstraps += out
            .iter()
            .filter(|o| matches!(o, Output::Send { socket: SocketKind::Pim4, payload, .. }
                if matches!(PimMessage::<V4>::parse(payload, hato_wire::checksum::ChecksumContext::Plain), Ok(PimMessage::Bootstrap(_)))))
            .count();
    }
    let view = rp_of(&r, now);
    assert_eq!(view.rp, Some("198.18.0.1".parse().unwrap()), "{view:?}");
    assert_eq!(view.source.as_deref(), Some("bsr"));
    assert!(bootstraps >= 2, "Bootstrap messages sent on both interfaces: {bootstraps}");
    match r.query(t(now), &Request::ShowPimBsr) {
        Response::PimBsr(view) => assert_eq!(view.families[0].elected, Some("198.18.0.1".parse().unwrap())),
        other => panic!("{other:?}"),
    }
    match r.query(t(now), &Request::ShowPimRpSet) {
        Response::PimRpSet(view) => {
            assert!(view.entries.iter().any(|e| e.origin == "bsr" && e.range == "239.0.0.0/8"), "{view:?}")
        }
        other => panic!("{other:?}"),
    }
}

/// A candidacy in an admin scope zone and a zone boundary on eth1 (its `boundaries`): the zone's
/// Bootstrap messages (first range with the Z bit) leave through eth0 only, the global zone's
/// through both, and the zone's RP serves its groups.
#[test]
fn scope_zone_candidacy_stops_at_the_interface_boundary() {
    use hato_pim::bsr::scope_zone;
    use hato_wire::pim::PimMessage;
    let config = r#"
[global]
auto-interfaces = false

[[interface]]
name = "eth0"
[[interface]]
name = "eth1"
boundaries = ["239.1.0.0/16"]

[[pim.candidate-bsr]]
address = "198.18.0.1"

[[pim.candidate-bsr]]
address = "198.18.0.1"
scope-zone = "239.1.0.0/16"

[[pim.candidate-rp]]
address = "198.18.0.1"
groups = ["239.1.0.0/16"]
"#;
    let (mut r, _) = addressed_router(config);
    // (interface, scoped?) of every Bootstrap message sent.
    let mut sent: Vec<(IfIndex, bool)> = Vec::new();
    let mut now = 1;
    while now < 60_000 {
        let next = r
            .poll_at()
            .map_or(now + 1000, |at| u64::try_from(at.since_origin().as_millis()).unwrap_or(u64::MAX));
        now = next.max(now + 1);
        let mut out = Vec::new();
        r.on_timeout(t(now), &mut out);
        for o in &out {
            if let Output::Send { socket: SocketKind::Pim4, ifindex, payload, .. } = o {
                if let Ok(PimMessage::Bootstrap(b)) =
                    PimMessage::<V4>::parse(payload, hato_wire::checksum::ChecksumContext::Plain)
                {
                    sent.push((*ifindex, scope_zone::<V4>(&b).is_some()));
                }
            }
        }
    }
    assert!(sent.contains(&(IfIndex(2), true)), "{sent:?}");
    assert!(!sent.contains(&(IfIndex(3), true)), "a scoped message crossed the boundary: {sent:?}");
    assert!(sent.contains(&(IfIndex(2), false)) && sent.contains(&(IfIndex(3), false)), "{sent:?}");
    match r.query(t(now), &Request::ShowPimRp { group: "239.1.2.3".parse().unwrap() }) {
        Response::PimRp(view) => {
            assert_eq!(view.rp, Some("198.18.0.1".parse().unwrap()), "{view:?}");
            assert_eq!(view.range.as_deref(), Some("239.1.0.0/16"), "{view:?}");
        }
        other => panic!("{other:?}"),
    }
    match r.query(t(now), &Request::ShowPimBsr) {
        Response::PimBsr(view) => {
            let details = &view.families[0].details;
            assert!(details.contains("Scope zone 239.1.0.0/16: State: elected-bsr"), "{details}");
        }
        other => panic!("{other:?}"),
    }
}

/// Joins and first packets of 2,000 ASM groups: the work per group must not grow with the number
/// of groups (the RP of each group reaches PIM alone, without re-evaluating the others).
#[test]
fn two_thousand_groups_join_and_forward_in_linear_time() {
    use hato_gmp::{GmpFamily, GmpMessage};
    use hato_wire::gmp::{GroupRecord, RecordType, ReportV3};
    let config = format!("{PIM}\n[[pim.static-rp]]\naddress = \"198.18.0.1\"\ngroups = [\"239.0.0.0/8\"]\n");
    let (mut r, mut out) = addressed_router(&config);
    let group = |n: u32| std::net::Ipv4Addr::from(0xef02_0000 + n);
    let started = std::time::Instant::now();
    for chunk in 0..20u32 {
        let records = (0..100)
            .map(|i| GroupRecord {
                record_type: RecordType::ModeIsExclude,
                group: group(chunk * 100 + i),
                sources: Vec::new(),
                aux_data: Vec::new(),
            })
            .collect();
        let message = GmpMessage::<V4>::ReportV3(ReportV3 { records });
        let (src, dst) = ("198.18.1.9".parse().unwrap(), V4::ALL_V3_ROUTERS);
        let packet = ProtocolPacket {
            socket: SocketKind::Igmp,
            ifindex: Some(IfIndex(3)),
            source: IpAddr::V4(src),
            destination: IpAddr::V4(dst),
            hop_limit: Some(1),
            router_alert: Some(true),
            payload: V4::to_bytes(&message, src, dst).unwrap(),
        };
        r.handle(t(10), Input::Packet(packet), &mut out);
    }
    let source: std::net::Ipv4Addr = "198.18.0.2".parse().unwrap();
    for n in 0..2000 {
        let upcall = Upcall::NoCache { vif: VifId(0), source, group: group(n) };
        r.handle(t(20), Input::Upcall4(upcall), &mut out);
    }
    while r.poll_at() == Some(t(20)) {
        r.on_timeout(t(20), &mut out);
    }
    let elapsed = started.elapsed();
    let installed = plane4(&mut r).mfc.values().filter(|e| e.oifs.contains_key(&VifId(1))).count();
    assert_eq!(installed, 2000);
    assert!(elapsed < std::time::Duration::from_secs(10), "2,000 groups took {elapsed:?}");
}

mod drops;
mod dump;

#[test]
fn events_below_the_log_level_are_not_built() {
    let is_debug = |o: &Output| matches!(o, Output::Log(event) if event.severity() == crate::Severity::Debug);
    let mut verbose = router(FLOWS);
    let out = with_links(&mut verbose, &["eth0", "eth1", "eth2"]);
    assert!(out.iter().any(|o| matches!(o, Output::Log(Event::MfcInstalled { .. }))));

    let mut quiet = router(FLOWS);
    quiet.set_log_level(crate::Severity::Info);
    let out = with_links(&mut quiet, &["eth0", "eth1", "eth2"]);
    assert!(!out.iter().any(is_debug), "debug events built: {out:?}");
    assert!(out.iter().any(|o| matches!(o, Output::Log(Event::VifAdded { .. }))), "info events kept");
    assert_eq!(plane4(&mut quiet).mfc, plane4(&mut verbose).mfc, "the same entries installed");
}

#[test]
fn a_key_withdrawn_and_set_again_is_reconciled_once() {
    let mut table: MrouteTable<V4> = MrouteTable::default();
    let mut plane: FakePlane<V4> = FakePlane::default();
    let mut vifs = VifTable::default();
    for i in 0..2u16 {
        vifs.bind(IfIndex(u32::from(i)), VifBinding { vif: VifId(i), ttl_threshold: 1 });
        let kind = hato_core::VifKind::Interface(IfIndex(u32::from(i)));
        plane.vifs.insert(VifId(i), Vif { id: VifId(i), kind, ttl_threshold: 1 });
    }
    let key = sg4("198.18.0.1", "239.1.1.1");
    let intent =
        || Some(Intent { iif: Some(IfIndex(0)), oifs: [IfIndex(1)].into_iter().collect(), register: false });
    table.set_intent(t(0), key, IntentOrigin::StaticFlow, intent());
    table.set_intent(t(0), key, IntentOrigin::StaticFlow, None);
    assert!(!table.has_pending(), "nothing to do for a key never installed");
    table.set_intent(t(0), key, IntentOrigin::StaticFlow, intent());
    table.set_intent(t(0), key, IntentOrigin::Pim, intent());
    assert_eq!(table.pending(), 1);
    let stats = table.reconcile(&mut plane, &vifs, 10, &mut Vec::new());
    assert_eq!((stats.installed, plane.set_calls[&key]), (1, 1));
    assert!(!table.has_pending());
}
