//! Three routers on virtual LANs, in process: every message goes through the real codecs
//! (encode, then decode at each receiver), RPF answers come from static tables, and a tiny
//! kernel model raises the upcalls a Linux MFC would (NOCACHE, WRONGVIF, WHOLEPKT) from the
//! routers' mroute intents.
//!
//! ```text
//!   S ── lan1 ── A (first hop) ── lan2 ── B (RP 198.18.12.2) ── lan4 ── C (last hop) ── lan5 ── receivers
//!                  └──────────────────── lan3 ─────────────────────────────┘
//! ```

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::Ipv4Addr;

use hato_core::{IfIndex, Instant, SgKey, V4};
use hato_wire::checksum::ChecksumContext;
use hato_wire::pim::PimMessage;

use super::harness::a;
use crate::{Input, InterfaceConfig, LocalMembership, Output, PimConfig, PimRouter, RpfUpdate, SourceFilter};

const LAN_S: IfIndex = IfIndex(1);
const LAN_A: IfIndex = IfIndex(2);
const LAN_C: IfIndex = IfIndex(3);
const LAN_B: IfIndex = IfIndex(4);
const LAN_R: IfIndex = IfIndex(5);

struct Node {
    name: &'static str,
    router: PimRouter<V4>,
    links: BTreeMap<IfIndex, Ipv4Addr>,
    rpf: BTreeMap<Ipv4Addr, RpfUpdate<V4>>,
}

struct Sim {
    nodes: Vec<Node>,
    now: Instant,
    /// Inputs waiting for delivery: (node, input).
    queue: VecDeque<(usize, Input<V4>)>,
    /// Data packets that reached the receivers' LAN.
    delivered: usize,
    /// Every message sent, as "node ifN: summary", for failure messages.
    trace: Vec<String>,
}

fn route(
    target: Ipv4Addr,
    interface: IfIndex,
    neighbor: Ipv4Addr,
    connected: bool,
) -> (Ipv4Addr, RpfUpdate<V4>) {
    let metric = if connected { 0 } else { 10 };
    (
        target,
        RpfUpdate {
            target,
            interface: Some(interface),
            neighbor: Some(neighbor),
            connected,
            metric,
            preference: 0,
        },
    )
}

fn source() -> Ipv4Addr {
    a("198.18.10.10")
}
fn group() -> Ipv4Addr {
    a("239.1.2.3")
}
fn rp() -> Ipv4Addr {
    a("198.18.12.2")
}

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

impl Sim {
    fn new() -> Self {
        let node = |name, seed, links: &[(IfIndex, &str)], rpf: Vec<(Ipv4Addr, RpfUpdate<V4>)>| Node {
            name,
            router: PimRouter::new(PimConfig::default(), seed),
            links: links.iter().map(|(i, s)| (*i, a(s))).collect(),
            rpf: rpf.into_iter().collect(),
        };
        let nodes = vec![
            node(
                "A",
                1,
                &[(LAN_S, "198.18.10.1"), (LAN_A, "198.18.11.1"), (LAN_C, "198.18.13.1")],
                vec![route(source(), LAN_S, source(), true), route(rp(), LAN_A, a("198.18.11.2"), false)],
            ),
            node(
                "B",
                2,
                &[(LAN_A, "198.18.11.2"), (LAN_B, "198.18.12.2")],
                vec![route(source(), LAN_A, a("198.18.11.1"), false)],
            ),
            node(
                "C",
                3,
                &[(LAN_B, "198.18.12.3"), (LAN_C, "198.18.13.3"), (LAN_R, "198.18.14.3")],
                vec![route(rp(), LAN_B, rp(), false), route(source(), LAN_C, a("198.18.13.1"), false)],
            ),
        ];
        let mut sim =
            Sim { nodes, now: Instant::ZERO, queue: VecDeque::new(), delivered: 0, trace: Vec::new() };
        for n in 0..sim.nodes.len() {
            let links: Vec<_> = sim.nodes[n].links.clone().into_iter().collect();
            for (ifindex, primary) in links {
                sim.queue.push_back((
                    n,
                    Input::InterfaceUp {
                        ifindex,
                        primary,
                        secondary: vec![],
                        config: InterfaceConfig::default(),
                    },
                ));
            }
            sim.queue
                .push_back((n, Input::StaticRp { range: "239.0.0.0/8".parse().unwrap(), rp: Some(rp()) }));
        }
        sim.settle();
        sim
    }

    /// Delivers queued inputs (and everything they cause) until nothing is left.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let Some((n, input)) = self.queue.pop_front() else { return };
            let mut out = Vec::new();
            self.nodes[n].router.handle(self.now, input, &mut out);
            self.dispatch(n, out);
        }
        panic!("the simulation did not settle");
    }

    /// Runs every node's timers up to `secs`.
    fn run_until(&mut self, secs: u64) {
        let end = Instant::from_secs(secs);
        for _ in 0..100_000 {
            let next =
                self.nodes.iter().enumerate().filter_map(|(i, n)| n.router.poll_at().map(|t| (t, i))).min();
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
                Output::Send { ifindex, dst, message } => self.transmit(n, ifindex, dst, message),
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
                Output::ForwardDecapsulated { key, oifs, .. } => {
                    let s = key.source.unwrap_or(Ipv4Addr::UNSPECIFIED);
                    for oif in oifs {
                        self.flood_data(n, oif, s, key.group, 0);
                    }
                }
                Output::MrouteSet(_) | Output::MrouteRemove(_) | Output::UnwatchRpf(_) | Output::Event(_) => {
                }
            }
        }
    }

    /// Encodes, then decodes at every receiver: multicast to the LAN, unicast to the address owner.
    fn transmit(&mut self, n: usize, ifindex: IfIndex, dst: Ipv4Addr, message: PimMessage<V4>) {
        let from = self.nodes[n].links[&ifindex];
        self.trace.push(format!("{} {ifindex} -> {dst}: {message}", self.nodes[n].name));
        let bytes = message.to_bytes(ChecksumContext::Plain).expect("encodes");
        let decoded = PimMessage::<V4>::parse(&bytes, ChecksumContext::Plain).expect("decodes");
        assert_eq!(decoded, message, "codec round trip");
        let receivers: Vec<(usize, IfIndex)> = if dst.is_multicast() {
            (0..self.nodes.len())
                .filter(|m| *m != n && self.nodes[*m].links.contains_key(&ifindex))
                .map(|m| (m, ifindex))
                .collect()
        } else {
            (0..self.nodes.len())
                .filter(|m| self.nodes[*m].links.values().any(|x| *x == dst))
                .map(|m| {
                    (
                        m,
                        if self.nodes[m].links.contains_key(&ifindex) {
                            ifindex
                        } else {
                            *self.nodes[m].links.keys().next().unwrap()
                        },
                    )
                })
                .collect()
        };
        for (m, iif) in receivers {
            self.queue.push_back((
                m,
                Input::Received { ifindex: iif, source: from, destination: dst, message: decoded.clone() },
            ));
        }
    }

    /// A data packet from `s` to `g` leaves node `n` on `lan`: every other node on it receives it.
    fn flood_data(&mut self, n: usize, lan: IfIndex, s: Ipv4Addr, g: Ipv4Addr, hops: u8) {
        if lan == LAN_R {
            self.delivered += 1;
        }
        for m in 0..self.nodes.len() {
            if m != n && self.nodes[m].links.contains_key(&lan) {
                self.data_in(m, lan, s, g, hops + 1);
            }
        }
    }

    /// The kernel model: a packet arrives on node `n`'s interface `iif`.
    fn data_in(&mut self, n: usize, iif: IfIndex, s: Ipv4Addr, g: Ipv4Addr, hops: u8) {
        assert!(hops < 8, "forwarding loop");
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
        if entry.register {
            self.queue.push_back((n, Input::WholePacket { source: s, group: g, packet: ipv4_packet(s, g) }));
        }
        self.settle();
        for oif in entry.oifs.keys().filter(|o| Some(**o) != entry.iif) {
            self.flood_data(n, *oif, s, g, hops);
        }
    }

    fn router(&self, n: usize) -> &PimRouter<V4> {
        &self.nodes[n].router
    }

    fn oifs(&self, n: usize, key: SgKey<V4>) -> BTreeSet<IfIndex> {
        self.router(n).mroute(&key).map(|m| m.oifs.keys().copied().collect()).unwrap_or_default()
    }
}

fn ipv4_packet(s: Ipv4Addr, g: Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0];
    p.extend_from_slice(&s.octets());
    p.extend_from_slice(&g.octets());
    p.extend_from_slice(&[0; 8]);
    p
}

#[test]
fn three_routers_shared_tree_register_spt_switch_and_leave() {
    let mut sim = Sim::new();
    sim.run_until(10);

    // Neighbours are up and DRs elected (highest address, equal priorities).
    let nbrs = |sim: &Sim, n: usize| sim.router(n).neighbors(sim.now).len();
    assert_eq!((nbrs(&sim, A), nbrs(&sim, B), nbrs(&sim, C)), (2, 2, 2));
    let is_dr = |sim: &Sim, n: usize, i: IfIndex| {
        sim.router(n).interfaces(sim.now).iter().any(|v| v.ifindex == i && v.is_dr)
    };
    assert!(is_dr(&sim, B, LAN_A) && !is_dr(&sim, A, LAN_A));
    assert!(is_dr(&sim, C, LAN_C) && is_dr(&sim, A, LAN_S) && is_dr(&sim, C, LAN_R));

    // A member behind C: (*,G) join toward the RP, (*,G) state on the RP.
    sim.queue.push_back((
        C,
        Input::Membership(LocalMembership {
            ifindex: LAN_R,
            group: group(),
            filter: SourceFilter::Exclude(BTreeSet::new()),
        }),
    ));
    sim.settle();
    let star = SgKey::star_g(group());
    assert_eq!(sim.oifs(B, star), [LAN_B].into(), "RP forwards the shared tree to C; trace {:#?}", sim.trace);
    assert_eq!(sim.router(C).mroute(&star).unwrap().iif, Some(LAN_B));

    // The source's first packet: A registers, B decapsulates to C and joins toward S, C switches.
    sim.run_until(20);
    sim.flood_data(usize::MAX, LAN_S, source(), group(), 0);
    assert_eq!(sim.delivered, 1, "first packet reaches the receivers through the RP; trace {:#?}", sim.trace);
    let sg = SgKey::sg(source(), group());
    assert!(sim.router(A).mroute(&sg).unwrap().register);
    assert_eq!(sim.oifs(A, sg), [LAN_A, LAN_C].into(), "B and C joined the SPT; trace {:#?}", sim.trace);

    // More packets: B sets its SPT bit and stops the Registers; C moves to the SPT and prunes S
    // off the shared tree; B then leaves the SPT.
    for t in 21..25 {
        sim.run_until(t);
        sim.flood_data(usize::MAX, LAN_S, source(), group(), 0);
    }
    sim.run_until(30);
    let c_entry = sim.router(C).mroute(&sg).unwrap().clone();
    assert_eq!((c_entry.iif, c_entry.spt), (Some(LAN_C), true), "C on the SPT; trace {:#?}", sim.trace);
    assert!(!sim.router(A).mroute(&sg).unwrap().register, "Register-Stop received");
    assert_eq!(sim.oifs(A, sg), [LAN_C].into(), "B pruned itself off the SPT; trace {:#?}", sim.trace);
    assert!(sim.trace.iter().any(|t| t.starts_with("B") && t.contains("Register-Stop")));
    let before = sim.delivered;
    sim.flood_data(usize::MAX, LAN_S, source(), group(), 0);
    assert_eq!(sim.delivered, before + 1, "exactly one copy per packet");

    // The member leaves: C prunes both trees.
    sim.queue.push_back((
        C,
        Input::Membership(LocalMembership {
            ifindex: LAN_R,
            group: group(),
            filter: SourceFilter::Include(BTreeSet::new()),
        }),
    ));
    sim.settle();
    sim.run_until(40);
    assert!(sim.oifs(A, sg).is_empty(), "A's (S,G) has no outgoing interface; trace {:#?}", sim.trace);
    assert!(sim.router(B).mroute(&star).is_none());
    let before = sim.delivered;
    sim.flood_data(usize::MAX, LAN_S, source(), group(), 0);
    assert_eq!(sim.delivered, before);
}
