//! Test harness: BSR machines on a line of point-to-point links, on a virtual clock, exchanging
//! messages through the real PIM codec.
//!
//! Router `i` has address 198.18.0.(i+1) (IPv4) or fd00::(i+1) (IPv6) on every link; its interface 1 faces router `i-1` and
//! interface 2 faces router `i+1`. Delivery is instantaneous; the RPF neighbour towards router
//! `j` is the next router in `j`'s direction.

#![allow(dead_code)]

use std::collections::VecDeque;

use hato_core::{Afi, IfIndex, Instant};
use hato_pim::bsr::{Bsr, BsrConfig, Destination, Input, Output, RpfNeighbor};
use hato_pim::rp::{RpChange, RpMapping, RpSet};
use hato_wire::checksum::ChecksumContext;
use hato_wire::pim::PimMessage;

pub const WEST: IfIndex = IfIndex(1);
pub const EAST: IfIndex = IfIndex(2);

/// The address of router `i`.
pub fn addr_of<A: Afi>(i: usize) -> A::Addr {
    let last = u8::try_from(i + 1).unwrap();
    let octets: Vec<u8> = if A::ADDR_LEN == 4 {
        vec![198, 18, 0, last]
    } else {
        let mut o = vec![0u8; 16];
        o[0] = 0xfd;
        o[15] = last;
        o
    };
    A::addr_from_octets(&octets).unwrap()
}

/// The IPv4 address of router `i`.
pub fn addr(i: usize) -> std::net::Ipv4Addr {
    addr_of::<hato_core::V4>(i)
}

pub fn index_of<A: Afi>(a: A::Addr, routers: usize) -> Option<usize> {
    (0..routers).find(|i| addr_of::<A>(*i) == a)
}

fn checksum_context<A: Afi>() -> ChecksumContext {
    if A::ADDR_LEN == 4 {
        ChecksumContext::Plain
    } else {
        ChecksumContext::Ipv6 { src: "fe80::1".parse().unwrap(), dst: "ff02::d".parse().unwrap() }
    }
}

/// Sends `message` through the codec and back, as it would cross the wire.
pub fn over_the_wire<A: Afi>(message: &PimMessage<A>) -> PimMessage<A> {
    let bytes = message.to_bytes(checksum_context::<A>()).expect("encodes");
    let back = PimMessage::<A>::parse(&bytes, checksum_context::<A>()).expect("decodes");
    assert_eq!(&back, message, "codec round trip");
    back
}

pub struct Router<A: Afi> {
    pub bsr: Bsr<A>,
    pub mapping: RpMapping<A>,
    pub alive: bool,
    pub rp_set: RpSet<A>,
    /// RP changes of the groups the mapping follows.
    pub changes: Vec<RpChange<A>>,
}

pub struct Line<A: Afi> {
    pub now: Instant,
    pub routers: Vec<Router<A>>,
    queue: VecDeque<(usize, Input<A>)>,
    /// Every message sent: (time, from, destination, message).
    pub log: Vec<(Instant, usize, Destination<A>, PimMessage<A>)>,
}

impl<A: Afi> Line<A> {
    /// `configs[i]` is router `i`'s configuration; all interfaces and neighbours come up at 0.
    pub fn new(configs: Vec<BsrConfig<A>>) -> Self {
        let n = configs.len();
        let mut line =
            Line { now: Instant::ZERO, routers: Vec::new(), queue: VecDeque::new(), log: Vec::new() };
        let mut pending = Vec::new();
        for (i, config) in configs.into_iter().enumerate() {
            let mut out = Vec::new();
            let bsr = Bsr::new(Instant::ZERO, config, &mut out);
            line.routers.push(Router {
                bsr,
                mapping: RpMapping::default(),
                alive: true,
                rp_set: RpSet::new(),
                changes: Vec::new(),
            });
            pending.push((i, out));
        }
        for i in 0..n {
            if i > 0 {
                line.input(i, Input::InterfaceUp { ifindex: WEST, accept_bootstrap: true });
                line.input(
                    i,
                    Input::NeighborUp { ifindex: WEST, neighbor: addr_of::<A>(i - 1), we_are_dr: false },
                );
            }
            if i + 1 < n {
                line.input(i, Input::InterfaceUp { ifindex: EAST, accept_bootstrap: true });
                line.input(
                    i,
                    Input::NeighborUp { ifindex: EAST, neighbor: addr_of::<A>(i + 1), we_are_dr: false },
                );
            }
        }
        for (i, out) in pending {
            line.dispatch(i, out);
        }
        line.settle();
        line
    }

    pub fn input(&mut self, router: usize, input: Input<A>) {
        self.queue.push_back((router, input));
        self.settle();
    }

    fn rpf(&self, at: usize, target: A::Addr) -> Option<RpfNeighbor<A>> {
        let j = index_of::<A>(target, self.routers.len())?;
        match j.cmp(&at) {
            std::cmp::Ordering::Less => Some(RpfNeighbor { ifindex: WEST, neighbor: addr_of::<A>(at - 1) }),
            std::cmp::Ordering::Greater if j < self.routers.len() => {
                Some(RpfNeighbor { ifindex: EAST, neighbor: addr_of::<A>(at + 1) })
            }
            _ => None,
        }
    }

    fn dispatch(&mut self, from: usize, out: Vec<Output<A>>) {
        for o in out {
            match o {
                Output::Send { to, message } => {
                    self.log.push((self.now, from, to, message.clone()));
                    let message = over_the_wire(&message);
                    self.deliver(from, to, message);
                }
                Output::RpSetChanged { rp_set } => {
                    let r = &mut self.routers[from];
                    r.rp_set = rp_set.clone();
                    r.mapping.set_rp_set(rp_set, &mut r.changes);
                }
                Output::WatchRpf { target } => {
                    let rpf = self.rpf(from, target);
                    self.queue.push_back((from, Input::RpfNeighbor { target, rpf }));
                }
                Output::Log { .. } => {}
            }
        }
    }

    fn deliver(&mut self, from: usize, to: Destination<A>, message: PimMessage<A>) {
        let n = self.routers.len();
        let neighbor = |ifindex: IfIndex| match ifindex {
            WEST if from > 0 => Some((from - 1, EAST)),
            EAST if from + 1 < n => Some((from + 1, WEST)),
            _ => None,
        };
        match (to, message) {
            (Destination::AllPimRouters { ifindex }, PimMessage::Bootstrap(message)) => {
                if let Some((peer, peer_if)) = neighbor(ifindex) {
                    let input = Input::Bootstrap {
                        ifindex: peer_if,
                        source: addr_of::<A>(from),
                        destination: A::ALL_PIM_ROUTERS,
                        message,
                    };
                    self.queue.push_back((peer, input));
                }
            }
            (Destination::Unicast { ifindex: Some(ifindex), address }, PimMessage::Bootstrap(message)) => {
                if let Some((peer, peer_if)) = neighbor(ifindex) {
                    let input = Input::Bootstrap {
                        ifindex: peer_if,
                        source: addr_of::<A>(from),
                        destination: address,
                        message,
                    };
                    self.queue.push_back((peer, input));
                }
            }
            (Destination::Unicast { address, .. }, PimMessage::CandidateRpAdvertisement(message)) => {
                if let Some(peer) = index_of::<A>(address, n) {
                    self.queue.push_back((
                        peer,
                        Input::CandidateRpAdvertisement { source: addr_of::<A>(from), message },
                    ));
                }
            }
            (to, message) => panic!("unexpected send {message} to {to}"),
        }
    }

    /// Delivers queued inputs until none is left.
    fn settle(&mut self) {
        let mut steps = 0;
        while let Some((i, input)) = self.queue.pop_front() {
            steps += 1;
            assert!(steps < 100_000, "message storm");
            if !self.routers[i].alive {
                continue;
            }
            let mut out = Vec::new();
            let now = self.now;
            self.routers[i].bsr.handle(now, input, &mut out);
            self.dispatch(i, out);
        }
    }

    /// Runs every timer up to and including `until`.
    pub fn run_until(&mut self, until: Instant) {
        for _ in 0..100_000 {
            let next = self.routers.iter().filter(|r| r.alive).filter_map(|r| r.bsr.poll_at()).min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    for i in 0..self.routers.len() {
                        let now = self.now;
                        if self.routers[i].alive && self.routers[i].bsr.poll_at().is_some_and(|p| p <= now) {
                            let mut out = Vec::new();
                            self.routers[i].bsr.on_timeout(now, &mut out);
                            self.dispatch(i, out);
                        }
                    }
                    self.settle();
                }
                _ => {
                    self.now = self.now.max(until);
                    return;
                }
            }
        }
        panic!("timers did not settle");
    }

    /// Runs until `done` holds, checking after each step, up to `deadline`; returns the time.
    pub fn run_until_true(
        &mut self,
        deadline: Instant,
        mut done: impl FnMut(&Line<A>) -> bool,
    ) -> Option<Instant> {
        let step = hato_core::Duration::from_millis(250);
        while self.now <= deadline {
            if done(self) {
                return Some(self.now);
            }
            let next = self.now + step;
            self.run_until(next);
        }
        done(self).then_some(self.now)
    }

    pub fn fail(&mut self, i: usize) {
        self.routers[i].alive = false;
    }

    pub fn alive(&self) -> impl Iterator<Item = &Router<A>> {
        self.routers.iter().filter(|r| r.alive)
    }
}
