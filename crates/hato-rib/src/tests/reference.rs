//! A brute-force reference: flat lists scanned in full for every lookup, compared with the engine
//! on random inputs. Also checks that watches report exactly the answers that changed, which
//! exercises the prefix index of the watches.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use hato_core::{Afi, Duration, IfIndex, Instant, V4, V6};
use proptest::prelude::*;

use super::strategies::{op, ArbitraryAfi, Op};
use crate::{
    Backoff, MrouteTarget, RouteOrigin, RpfAnswer, RpfConfig, RpfEngine, RpfLookupMode, RpfRoute, RpfRule,
    RpfTable, StaticMroute, UnicastEvent, Via,
};

fn norm<A: Afi>(prefix: A::Prefix) -> A::Prefix {
    let (addr, len) = A::prefix_parts(&prefix);
    A::prefix(addr, len).unwrap_or(prefix)
}

fn len<A: Afi>(prefix: &A::Prefix) -> u8 {
    A::prefix_parts(prefix).1
}

/// A path found by the reference, before the mode.
#[derive(Debug, Clone, Copy)]
struct RefPath<A: Afi> {
    prefix: A::Prefix,
    interface: IfIndex,
    neighbor: A::Addr,
    via: Via,
    metric: u32,
    distance: u8,
    origin: RouteOrigin,
}

/// How the reference ranks URIB candidates: longest prefix, connected first, distance, metric,
/// then the connected interface index.
type UribRank = (Reverse<u8>, u8, u8, u32, u32);

#[derive(Debug)]
struct Model<A: Afi> {
    /// (prefix, metric) -> (nexthops, protocol, distance)
    routes: BTreeMap<(A::Prefix, u32), crate::Route<A>>,
    connected: BTreeSet<(IfIndex, A::Addr, u8)>,
    mroutes: BTreeMap<(A::Prefix, MrouteTarget<A>), u8>,
    down: BTreeSet<IfIndex>,
}

impl<A: Afi> Default for Model<A> {
    fn default() -> Self {
        Model {
            routes: BTreeMap::new(),
            connected: BTreeSet::new(),
            mroutes: BTreeMap::new(),
            down: BTreeSet::new(),
        }
    }
}

impl<A: Afi> Model<A> {
    fn apply(&mut self, op: &Op<A>) {
        match op {
            Op::Unicast(UnicastEvent::RouteAdd { route }) => {
                let prefix = norm::<A>(route.prefix);
                self.routes.insert((prefix, route.metric), crate::Route { prefix, ..route.clone() });
            }
            Op::Unicast(UnicastEvent::RouteDelete { key }) => {
                self.routes.remove(&(norm::<A>(key.prefix), key.metric));
            }
            Op::Unicast(UnicastEvent::AddressAdd { ifindex, addr, prefix_len }) => {
                self.connected.insert((*ifindex, *addr, *prefix_len));
            }
            Op::Unicast(UnicastEvent::AddressDelete { ifindex, addr, prefix_len }) => {
                self.connected.remove(&(*ifindex, *addr, *prefix_len));
            }
            Op::Unicast(UnicastEvent::LinkState { ifindex, up }) => {
                if *up {
                    self.down.remove(ifindex);
                } else {
                    self.down.insert(*ifindex);
                }
            }
            Op::AddMroute(m) => {
                self.mroutes.insert((norm::<A>(m.prefix), m.target), m.distance);
            }
            Op::RemoveMroute(prefix, target) => {
                self.mroutes.remove(&(norm::<A>(*prefix), *target));
            }
        }
    }

    fn up(&self, ifindex: IfIndex) -> bool {
        !self.down.contains(&ifindex)
    }

    /// Every connected (prefix, ifindex) containing `addr` on an up interface.
    fn connected_matches(&self, addr: A::Addr) -> Vec<(A::Prefix, IfIndex)> {
        self.connected
            .iter()
            .filter_map(|(ifindex, a, l)| A::prefix(*a, *l).map(|p| (p, *ifindex)))
            .filter(|(p, ifindex)| A::prefix_contains(p, addr) && self.up(*ifindex))
            .collect()
    }

    fn resolve_connected(&self, addr: A::Addr) -> Option<IfIndex> {
        self.connected_matches(addr)
            .into_iter()
            .min_by_key(|(p, ifindex)| (Reverse(len::<A>(p)), *ifindex))
            .map(|x| x.1)
    }

    fn urib(&self, addr: A::Addr) -> Option<RefPath<A>> {
        let mut candidates: Vec<(UribRank, RefPath<A>)> = Vec::new();
        for (prefix, ifindex) in self.connected_matches(addr) {
            let path = RefPath {
                prefix,
                interface: ifindex,
                neighbor: addr,
                via: Via::OnLink,
                metric: 0,
                distance: 0,
                origin: RouteOrigin::Connected,
            };
            candidates.push(((Reverse(len::<A>(&prefix)), 0, 0, 0, ifindex.0), path));
        }
        for route in self.routes.values().filter(|r| A::prefix_contains(&r.prefix, addr)) {
            let mut hops: Vec<_> = route.nexthops.iter().filter(|n| self.up(n.ifindex)).collect();
            hops.sort_by_key(|n| (Reverse(n.gateway.unwrap_or(addr)), n.ifindex, n.gateway.is_some()));
            let Some(hop) = hops.first() else { continue };
            let path = RefPath {
                prefix: route.prefix,
                interface: hop.ifindex,
                neighbor: hop.gateway.unwrap_or(addr),
                via: if hop.gateway.is_some() { Via::Gateway } else { Via::OnLink },
                metric: route.metric,
                distance: route.distance,
                origin: RouteOrigin::Unicast(route.protocol),
            };
            candidates.push(((Reverse(len::<A>(&route.prefix)), 1, route.distance, route.metric, 0), path));
        }
        candidates.into_iter().min_by_key(|(key, _)| *key).map(|(_, path)| path)
    }

    fn mrib(&self, addr: A::Addr) -> Option<RefPath<A>> {
        let mut candidates = Vec::new();
        for ((prefix, target), distance) in &self.mroutes {
            if !A::prefix_contains(prefix, addr) {
                continue;
            }
            let resolved = match *target {
                MrouteTarget::Interface(i) => self.up(i).then_some((i, addr, Via::Interface)),
                MrouteTarget::Neighbor { addr: n, interface: Some(i) } => {
                    self.up(i).then_some((i, n, Via::Gateway))
                }
                MrouteTarget::Neighbor { addr: n, interface: None } => {
                    self.resolve_connected(n).map(|i| (i, n, Via::Gateway))
                }
            };
            let Some((interface, neighbor, via)) = resolved else { continue };
            let path = RefPath {
                prefix: *prefix,
                interface,
                neighbor,
                via,
                metric: 0,
                distance: *distance,
                origin: RouteOrigin::StaticMroute,
            };
            candidates.push(((Reverse(len::<A>(prefix)), *distance, *target), path));
        }
        candidates.into_iter().min_by_key(|(key, _)| *key).map(|(_, path)| path)
    }

    fn lookup(&self, mode: RpfLookupMode, addr: A::Addr) -> RpfAnswer<A> {
        let route = |p: RefPath<A>, table, rule| RpfRoute {
            interface: p.interface,
            neighbor: p.neighbor,
            via: p.via,
            metric: p.metric,
            preference: p.distance.into(),
            table,
            prefix: p.prefix,
            origin: p.origin,
            rule,
        };
        let (m, u) = (self.mrib(addr), self.urib(addr));
        let chosen = match (mode, m, u) {
            (RpfLookupMode::UribOnly, _, u) => u.map(|u| route(u, RpfTable::Urib, RpfRule::SingleTable)),
            (RpfLookupMode::MribOnly, m, _) => m.map(|m| route(m, RpfTable::Mrib, RpfRule::SingleTable)),
            (RpfLookupMode::MribThenUrib, Some(m), _) => Some(route(m, RpfTable::Mrib, RpfRule::MribFirst)),
            (RpfLookupMode::MribThenUrib, None, u) => {
                u.map(|u| route(u, RpfTable::Urib, RpfRule::UribFallback))
            }
            (_, None, None) => None,
            (_, Some(m), None) => Some(route(m, RpfTable::Mrib, RpfRule::OnlyMatch)),
            (_, None, Some(u)) => Some(route(u, RpfTable::Urib, RpfRule::OnlyMatch)),
            (RpfLookupMode::LowerDistance, Some(m), Some(u)) => {
                if u.distance < m.distance {
                    Some(route(u, RpfTable::Urib, RpfRule::LowerDistance { other: m.distance }))
                } else if m.distance < u.distance {
                    Some(route(m, RpfTable::Mrib, RpfRule::LowerDistance { other: u.distance }))
                } else {
                    Some(route(m, RpfTable::Mrib, RpfRule::TieMribPreferred))
                }
            }
            (RpfLookupMode::LongerPrefix, Some(m), Some(u)) => {
                let (ml, ul) = (len::<A>(&m.prefix), len::<A>(&u.prefix));
                if ul > ml {
                    Some(route(u, RpfTable::Urib, RpfRule::LongerPrefix { other: ml }))
                } else if ml > ul {
                    Some(route(m, RpfTable::Mrib, RpfRule::LongerPrefix { other: ul }))
                } else {
                    Some(route(m, RpfTable::Mrib, RpfRule::TieMribPreferred))
                }
            }
        };
        RpfAnswer { addr, mode, route: chosen }
    }
}

fn apply<A: Afi>(
    engine: &mut RpfEngine<A, u8>,
    now: Instant,
    op: &Op<A>,
    out: &mut Vec<crate::RpfChanged<A, u8>>,
) {
    match op {
        Op::Unicast(event) => engine.handle(now, event.clone(), out),
        Op::AddMroute(m) => engine.add_static_mroute(now, *m, out),
        Op::RemoveMroute(prefix, target) => {
            engine.remove_static_mroute(now, *prefix, *target, out);
        }
    }
}

fn config(mode: RpfLookupMode, backoff: Option<Backoff>) -> RpfConfig {
    RpfConfig { mode, interval: None, backoff }
}

fn lookups_match_reference<A: ArbitraryAfi>(ops: &[Op<A>], probes: &[A::Addr]) -> Result<(), TestCaseError> {
    let mut model = Model::<A>::default();
    let mut engines: Vec<RpfEngine<A, u8>> =
        RpfLookupMode::ALL.iter().map(|mode| RpfEngine::new(config(*mode, None), Instant::ZERO)).collect();
    let mut out = Vec::new();
    for op in ops {
        model.apply(op);
        for engine in &mut engines {
            apply(engine, Instant::ZERO, op, &mut out);
        }
    }
    for engine in &engines {
        for &addr in probes {
            prop_assert_eq!(engine.lookup(addr), model.lookup(engine.config().mode, addr));
        }
    }
    Ok(())
}

/// After every input (and, with a backoff, every due timeout), each watch's notified answer is the
/// current lookup, and notifications carry exactly the answers that changed.
fn watches_report_exactly_changes<A: ArbitraryAfi>(
    mode: RpfLookupMode,
    backoff: Option<Backoff>,
    ops: &[Op<A>],
    watched: &[A::Addr],
) -> Result<(), TestCaseError> {
    let mut engine = RpfEngine::<A, u8>::new(config(mode, backoff), Instant::ZERO);
    // What each (key, address) was last told.
    let mut seen: BTreeMap<(u8, A::Addr), RpfAnswer<A>> = BTreeMap::new();
    for (i, &addr) in watched.iter().enumerate() {
        // Keys alternate, so repeated addresses have two watchers: both are told.
        let key = u8::try_from(i % 2).unwrap_or(0);
        let answer = engine.watch(key, addr);
        seen.insert((key, addr), answer);
    }
    let mut now = Instant::ZERO;
    let mut out = Vec::new();
    let take = |out: &mut Vec<crate::RpfChanged<A, u8>>, seen: &mut BTreeMap<_, _>| {
        for change in out.drain(..) {
            prop_assert_ne!(change.old, change.new);
            prop_assert_eq!(seen.get(&(change.key, change.addr)), Some(&change.old));
            seen.insert((change.key, change.addr), change.new);
        }
        Ok(())
    };
    for op in ops {
        now += Duration::from_millis(100);
        apply(&mut engine, now, op, &mut out);
        while let Some(at) = engine.poll_at().filter(|at| *at <= now) {
            engine.on_timeout(at, &mut out);
        }
        take(&mut out, &mut seen)?;
        if engine.poll_at().is_none() {
            for ((_, addr), answer) in &seen {
                prop_assert_eq!(answer, &engine.lookup(*addr));
            }
        }
    }
    // Let the backoff settle; the loop is bounded by the finite number of deadlines.
    for _ in 0..10 {
        let Some(at) = engine.poll_at() else { break };
        engine.on_timeout(at, &mut out);
    }
    take(&mut out, &mut seen)?;
    prop_assert_eq!(engine.poll_at(), None);
    for ((_, addr), answer) in &seen {
        prop_assert_eq!(answer, &engine.lookup(*addr));
        prop_assert_eq!(Some(answer), engine.watched(*addr));
    }
    Ok(())
}

fn mode() -> impl Strategy<Value = RpfLookupMode> {
    proptest::sample::select(RpfLookupMode::ALL.to_vec())
}

fn backoff() -> impl Strategy<Value = Option<Backoff>> {
    proptest::option::of(Just(Backoff { initial: Duration::from_millis(250), max: Duration::from_secs(1) }))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn v4_lookups_match_reference(ops in proptest::collection::vec(op::<V4>(), 0..40),
                                  probes in proptest::collection::vec(V4::addr(), 1..16)) {
        lookups_match_reference::<V4>(&ops, &probes)?;
    }

    #[test]
    fn v6_lookups_match_reference(ops in proptest::collection::vec(op::<V6>(), 0..40),
                                  probes in proptest::collection::vec(V6::addr(), 1..16)) {
        lookups_match_reference::<V6>(&ops, &probes)?;
    }

    #[test]
    fn v4_watches_report_exactly_changes(mode in mode(), backoff in backoff(),
                                         ops in proptest::collection::vec(op::<V4>(), 0..40),
                                         watched in proptest::collection::vec(V4::addr(), 1..12)) {
        watches_report_exactly_changes::<V4>(mode, backoff, &ops, &watched)?;
    }

    #[test]
    fn v6_watches_report_exactly_changes(mode in mode(), backoff in backoff(),
                                         ops in proptest::collection::vec(op::<V6>(), 0..40),
                                         watched in proptest::collection::vec(V6::addr(), 1..12)) {
        watches_report_exactly_changes::<V6>(mode, backoff, &ops, &watched)?;
    }
}

/// Static mroutes added through the engine keep their distance per target.
#[test]
fn reference_model_sees_distance_updates() {
    let mut model = Model::<V4>::default();
    let prefix = "198.18.1.0/24".parse().unwrap();
    let target = MrouteTarget::Interface(IfIndex(1));
    model.apply(&Op::AddMroute(StaticMroute { prefix, target, distance: 5 }));
    model.apply(&Op::AddMroute(StaticMroute { prefix, target, distance: 7 }));
    let answer = model.lookup(RpfLookupMode::MribOnly, "198.18.1.1".parse().unwrap());
    assert_eq!(answer.route.map(|r| r.preference), Some(7));
}

fn wild_event() -> impl Strategy<Value = UnicastEvent<V4>> {
    let addr = any::<u32>().prop_map(std::net::Ipv4Addr::from);
    let prefix = (addr.clone(), 0u8..=32).prop_map(|(a, l)| ipnet::Ipv4Net::new(a, l).unwrap_or_default());
    prop_oneof![
        (
            prefix.clone(),
            proptest::collection::vec((any::<u32>(), proptest::option::of(addr.clone())), 0..4),
            any::<u32>(),
            any::<u8>(),
            any::<u8>()
        )
            .prop_map(|(prefix, hops, metric, protocol, distance)| {
                let nexthops = hops
                    .into_iter()
                    .map(|(i, gateway)| crate::Nexthop { ifindex: IfIndex(i), gateway })
                    .collect();
                let protocol = crate::RouteProtocol::from_rtm(protocol);
                UnicastEvent::RouteAdd {
                    route: crate::Route { prefix, nexthops, metric, protocol, distance },
                }
            }),
        (prefix, any::<u32>()).prop_map(|(prefix, metric)| UnicastEvent::RouteDelete {
            key: crate::RouteKey { prefix, metric }
        }),
        (any::<u32>(), addr.clone(), any::<u8>()).prop_map(|(i, addr, prefix_len)| {
            UnicastEvent::AddressAdd { ifindex: IfIndex(i), addr, prefix_len }
        }),
        (any::<u32>(), addr, any::<u8>()).prop_map(|(i, addr, prefix_len)| UnicastEvent::AddressDelete {
            ifindex: IfIndex(i),
            addr,
            prefix_len
        }),
        (any::<u32>(), any::<bool>()).prop_map(|(i, up)| UnicastEvent::LinkState { ifindex: IfIndex(i), up }),
    ]
}

proptest! {
    /// Events from the whole input space (any address, prefix length, interface, metric) never
    /// panic, and every watch still ends on the current answer.
    #[test]
    fn arbitrary_events_never_panic(events in proptest::collection::vec(wild_event(), 0..60),
                                    probes in proptest::collection::vec(any::<u32>(), 1..8)) {
        let mut engine = RpfEngine::<V4, u8>::new(RpfConfig::default(), Instant::ZERO);
        for probe in &probes {
            engine.watch(0, std::net::Ipv4Addr::from(*probe));
        }
        let mut out = Vec::new();
        let mut now = Instant::ZERO;
        for event in events {
            now += Duration::from_millis(37);
            engine.handle(now, event, &mut out);
            while let Some(at) = engine.poll_at().filter(|at| *at <= now) {
                engine.on_timeout(at, &mut out);
            }
        }
        let settle = now + Duration::from_secs(30);
        while let Some(at) = engine.poll_at().filter(|at| *at <= settle) {
            engine.on_timeout(at, &mut out);
        }
        for probe in probes {
            let addr = std::net::Ipv4Addr::from(probe);
            prop_assert_eq!(engine.watched(addr), Some(&engine.lookup(addr)));
            let _ = engine.lookup(addr).to_string();
        }
    }
}
