//! Assert on a shared LAN with two and three forwarders, in process: like the three-router
//! simulation (`sim.rs`), every message goes through the codecs and a small kernel model raises
//! NOCACHE and WRONGVIF upcalls from the routers' mroute intents; here a packet arriving on an
//! outgoing interface is what starts an Assert.
//!
//! ```text
//!   S ── lanS ──┬─ U1 ─┬── lanX ──┬─ D1 ── lanR1 (member)
//!               ├─ U2 ─┤          ├─ D2 ── lanR2 (member)
//!               └─ U3 ─┘          └─ D3 ── lanR3 (member)
//! ```
//!
//! Each Dk's unicast route to S points at a different upstream, so before the Assert every
//! upstream forwards onto lanX and every receiver LAN gets one copy per forwarder.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;

use hato_core::{IfIndex, Instant, SgKey, V4};
use hato_wire::checksum::ChecksumContext;
use hato_wire::pim::PimMessage;

use super::harness::a;
use crate::{Input, InterfaceConfig, LocalMembership, Output, PimConfig, PimRouter, RpfUpdate, SourceFilter};

const LAN_S: IfIndex = IfIndex(1);
const LAN_X: IfIndex = IfIndex(2);
/// Receiver LAN of downstream k: IfIndex(10 + k).
fn lan_r(k: u8) -> IfIndex {
    IfIndex(10 + u32::from(k))
}

fn source() -> Ipv4Addr {
    a("198.18.10.100")
}
fn group() -> Ipv4Addr {
    a("232.1.1.1")
}
fn upstream_addr(k: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 20, k)
}

struct Node {
    router: PimRouter<V4>,
    links: BTreeMap<IfIndex, Ipv4Addr>,
    rpf: BTreeMap<Ipv4Addr, RpfUpdate<V4>>,
    alive: bool,
}

struct Lan {
    nodes: Vec<Node>,
    upstreams: usize,
    now: Instant,
    queue: VecDeque<(usize, Input<V4>)>,
    /// Copies of the current packet that reached each receiver LAN.
    delivered: BTreeMap<IfIndex, usize>,
    trace: Vec<String>,
}

/// The route an upstream has to S: on lanS, with the given preference and metric.
fn upstream_route(preference: u32, metric: u32) -> RpfUpdate<V4> {
    RpfUpdate {
        target: source(),
        interface: Some(LAN_S),
        neighbor: None,
        connected: false,
        metric,
        preference,
    }
}

fn downstream_route(via: u8) -> RpfUpdate<V4> {
    RpfUpdate {
        target: source(),
        interface: Some(LAN_X),
        neighbor: Some(upstream_addr(via)),
        connected: false,
        metric: 20,
        preference: 10,
    }
}

impl Lan {
    /// Upstreams with (preference, metric) each; downstream k routes to upstream k (mod count).
    fn new(metrics: &[(u32, u32)]) -> Self {
        let mut nodes = Vec::new();
        for (k, (preference, metric)) in (1u8..).zip(metrics) {
            nodes.push(Node {
                router: PimRouter::new(PimConfig::default(), u64::from(k)),
                links: [(LAN_S, Ipv4Addr::new(198, 18, 10, k)), (LAN_X, upstream_addr(k))].into(),
                rpf: [(source(), upstream_route(*preference, *metric))].into(),
                alive: true,
            });
        }
        let upstreams = nodes.len();
        for k in 1..=3u8 {
            let via = (k - 1) % u8::try_from(upstreams).unwrap() + 1;
            nodes.push(Node {
                router: PimRouter::new(PimConfig::default(), 100 + u64::from(k)),
                links: [
                    (LAN_X, Ipv4Addr::new(198, 18, 20, 10 + k)),
                    (lan_r(k), Ipv4Addr::new(198, 18, 30 + k, 1)),
                ]
                .into(),
                rpf: [(source(), downstream_route(via))].into(),
                alive: true,
            });
        }
        let mut lan = Lan {
            nodes,
            upstreams,
            now: Instant::ZERO,
            queue: VecDeque::new(),
            delivered: BTreeMap::new(),
            trace: Vec::new(),
        };
        for n in 0..lan.nodes.len() {
            for (ifindex, primary) in lan.nodes[n].links.clone() {
                let config = InterfaceConfig::default();
                lan.queue.push_back((n, Input::InterfaceUp { ifindex, primary, secondary: vec![], config }));
            }
        }
        lan.settle();
        lan.run_until(10);
        for k in 1..=3u8 {
            let filter = SourceFilter::Include([source()].into());
            let membership = LocalMembership { ifindex: lan_r(k), group: group(), filter };
            lan.queue.push_back((upstreams + usize::from(k) - 1, Input::Membership(membership)));
        }
        lan.settle();
        lan.run_until(12);
        lan
    }

    fn settle(&mut self) {
        for _ in 0..100_000 {
            let Some((n, input)) = self.queue.pop_front() else { return };
            if !self.nodes[n].alive {
                continue;
            }
            let mut out = Vec::new();
            self.nodes[n].router.handle(self.now, input, &mut out);
            self.dispatch(n, out);
        }
        panic!("the simulation did not settle");
    }

    fn run_until(&mut self, secs: u64) {
        let end = Instant::from_secs(secs);
        for _ in 0..100_000 {
            let next = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.alive)
                .filter_map(|(i, n)| n.router.poll_at().map(|t| (t, i)))
                .min();
            match next {
                Some((t, n)) if t <= end => {
                    self.now = self.now.max(t);
                    let mut out = Vec::new();
                    self.nodes[n].router.on_timeout(self.now, &mut out);
                    self.dispatch(n, out);
                    self.settle();
                }
                _ => break,
            }
        }
        self.now = self.now.max(end);
    }

    fn dispatch(&mut self, n: usize, out: Vec<Output<V4>>) {
        for o in out {
            match o {
                Output::Send { ifindex, message, .. } => self.transmit(n, ifindex, message),
                Output::WatchRpf(target) => {
                    let update = self.nodes[n].rpf.get(&target).cloned().unwrap_or(RpfUpdate {
                        target,
                        interface: None,
                        neighbor: None,
                        connected: false,
                        metric: 0,
                        preference: 0,
                    });
                    self.queue.push_back((n, Input::Rpf(update)));
                }
                _ => {}
            }
        }
    }

    /// Every message is multicast on its link here (no Registers in SSM).
    fn transmit(&mut self, n: usize, ifindex: IfIndex, message: PimMessage<V4>) {
        let from = self.nodes[n].links[&ifindex];
        self.trace.push(format!("{from} {ifindex}: {message}"));
        let bytes = message.to_bytes(ChecksumContext::Plain).expect("encodes");
        let decoded = PimMessage::<V4>::parse(&bytes, ChecksumContext::Plain).expect("decodes");
        for m in 0..self.nodes.len() {
            if m != n && self.nodes[m].alive && self.nodes[m].links.contains_key(&ifindex) {
                let input = Input::Received {
                    ifindex,
                    source: from,
                    destination: a("224.0.0.13"),
                    message: decoded.clone(),
                };
                self.queue.push_back((m, input));
            }
        }
    }

    /// One packet from S: returns the copies each receiver LAN got.
    fn send_packet(&mut self) -> Vec<usize> {
        self.delivered.clear();
        self.flood(usize::MAX, LAN_S, 0);
        (1..=3).map(|k| self.delivered.get(&lan_r(k)).copied().unwrap_or(0)).collect()
    }

    fn flood(&mut self, n: usize, lan: IfIndex, hops: u8) {
        if lan.0 > 10 {
            *self.delivered.entry(lan).or_insert(0) += 1;
        }
        for m in 0..self.nodes.len() {
            if m != n && self.nodes[m].alive && self.nodes[m].links.contains_key(&lan) {
                self.data_in(m, lan, hops + 1);
            }
        }
    }

    /// The kernel model (MRT_ASSERT on): no entry → NOCACHE; wrong interface → WRONGVIF and drop.
    fn data_in(&mut self, n: usize, iif: IfIndex, hops: u8) {
        assert!(hops < 8, "forwarding loop");
        let (s, g) = (source(), group());
        let key = SgKey::sg(s, g);
        if self.nodes[n].router.mroute(&key).is_none() {
            self.queue.push_back((n, Input::NoCache { iif, source: s, group: g }));
            self.settle();
        }
        let Some(entry) = self.nodes[n].router.mroute(&key) else { return };
        if entry.iif != Some(iif) {
            self.queue.push_back((n, Input::WrongVif { iif, source: s, group: g }));
            self.settle();
            return;
        }
        self.queue.push_back((n, Input::TrafficSeen { source: s, group: g }));
        self.settle();
        for oif in entry.oifs.keys().filter(|o| Some(**o) != entry.iif) {
            self.flood(n, *oif, hops);
        }
    }

    /// The upstreams whose intent forwards onto lanX (1-based).
    fn forwarders(&self) -> Vec<u8> {
        let key = SgKey::sg(source(), group());
        (0..self.upstreams)
            .filter(|u| self.nodes[*u].alive)
            .filter(|u| self.nodes[*u].router.mroute(&key).is_some_and(|m| m.oifs.contains_key(&LAN_X)))
            .map(|u| u8::try_from(u + 1).unwrap())
            .collect()
    }

    /// Sends packets once a second until `secs`, then checks that a single upstream forwards and
    /// every receiver LAN gets exactly one copy per packet. Returns that forwarder.
    fn converge(&mut self, secs: u64) -> u8 {
        let start = self.now.since_origin().as_secs();
        for t in start + 1..=secs {
            self.run_until(t);
            self.send_packet();
        }
        let forwarders = self.forwarders();
        assert_eq!(forwarders.len(), 1, "one forwarder at {}; trace {:#?}", self.now, self.trace);
        for _ in 0..3 {
            assert_eq!(self.send_packet(), vec![1, 1, 1], "one copy per receiver; trace {:#?}", self.trace);
        }
        forwarders[0]
    }

    fn upstream(&mut self, k: u8) -> &mut Node {
        &mut self.nodes[usize::from(k) - 1]
    }

    /// Downstream k's unicast route to S moves to upstream `via` (routing reconverged).
    fn reroute_downstream(&mut self, k: u8, via: u8) {
        let n = self.upstreams + usize::from(k) - 1;
        let route = downstream_route(via);
        self.nodes[n].rpf.insert(source(), route.clone());
        self.queue.push_back((n, Input::Rpf(route)));
        self.settle();
    }
}

#[test]
fn two_forwarders_duplicate_until_assert_then_one() {
    let mut lan = Lan::new(&[(10, 20), (10, 20)]);
    let first = lan.send_packet();
    assert!(first.iter().any(|c| *c > 1), "both upstreams forward the first packet: {first:?}");
    assert_eq!(lan.converge(20), 2, "equal metrics: the higher address wins");
}

#[test]
fn tie_break_preference_first() {
    // U1 has the lower address and the worse metric but the better preference.
    let mut lan = Lan::new(&[(5, 1000), (10, 1)]);
    assert_eq!(lan.converge(20), 1);
}

#[test]
fn tie_break_metric_second() {
    let mut lan = Lan::new(&[(10, 5), (10, 6)]);
    assert_eq!(lan.converge(20), 1);
}

#[test]
fn tie_break_address_last() {
    let mut lan = Lan::new(&[(10, 5), (10, 5), (10, 5)]);
    assert_eq!(lan.converge(20), 3);
}

#[test]
fn three_forwarders_best_metric_wins() {
    let mut lan = Lan::new(&[(10, 30), (10, 10), (10, 20)]);
    assert_eq!(lan.converge(20), 2);
    // The Assert state lasts: past Assert_Time the winner has refreshed it.
    assert_eq!(lan.converge(400), 2);
}

#[test]
fn winner_goes_silent_loser_takes_over_after_neighbor_expiry() {
    let mut lan = Lan::new(&[(10, 20), (10, 10)]);
    assert_eq!(lan.converge(20), 2);
    // U2 dies without a goodbye; downstreams that routed through it reroute to U1.
    lan.upstream(2).alive = false;
    lan.reroute_downstream(2, 1);
    // Until U2's Hello holdtime (105 s) runs out, U1 still believes it lost: nothing forwards.
    lan.run_until(60);
    assert_eq!(lan.send_packet(), vec![0, 0, 0]);
    assert_eq!(lan.converge(160), 1, "U1 took over after the neighbour expired");
}

#[test]
fn winner_shuts_down_goodbye_ends_the_assert_at_once() {
    let mut lan = Lan::new(&[(10, 20), (10, 10), (10, 30)]);
    assert_eq!(lan.converge(20), 2);
    let mut out = Vec::new();
    let now = lan.now;
    lan.upstream(2).router.handle(now, Input::Shutdown, &mut out);
    lan.dispatch(1, out);
    lan.settle();
    lan.upstream(2).alive = false;
    lan.reroute_downstream(2, 1);
    // The next best upstream (U1, metric 20) wins the new Assert.
    assert_eq!(lan.converge(30), 1);
}

#[test]
fn winner_losing_its_source_link_sends_assert_cancel() {
    let mut lan = Lan::new(&[(10, 20), (10, 10)]);
    assert_eq!(lan.converge(20), 2);
    // U2's route to S now goes through lanX and U1: it can no longer assert on lanX.
    let route = RpfUpdate {
        target: source(),
        interface: Some(LAN_X),
        neighbor: Some(upstream_addr(1)),
        connected: false,
        metric: 30,
        preference: 10,
    };
    lan.upstream(2).rpf.insert(source(), route.clone());
    lan.queue.push_back((1, Input::Rpf(route)));
    lan.settle();
    assert!(lan.trace.iter().any(|t| t.starts_with("198.18.20.2") && t.contains("(cancel)")), "AssertCancel");
    lan.reroute_downstream(2, 1);
    assert_eq!(lan.converge(30), 1);
}
