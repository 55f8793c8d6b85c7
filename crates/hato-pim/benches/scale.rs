//! Scale benchmark (not a test): 100,000 (S,G) joins, 1,000 SSM groups × 100 sources received as
//! Join/Prune messages from downstream neighbours on 10 interfaces, plus the upstream RPF answers,
//! through one [`PimRouter`]. Prints the time until every mroute intent is out, the memory held
//! per (S,G) (a counting global allocator: bytes live after setup / states), and the CPU time
//! spent per second of virtual steady state (periodic Hellos and Join refreshes arriving, our
//! own Join and Hello timers firing).
//!
//! Run with `cargo bench -p hato-pim --bench scale`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use hato_core::{Duration, IfIndex, Instant, SgKey, V4};
use hato_pim::{Input, InterfaceConfig, Output, PimConfig, PimRouter, RpfUpdate};
use hato_wire::pim::{
    EncodedGroup, EncodedSource, Hello, HelloOption, JoinPrune, JoinPruneGroup, PimMessage,
};
use rustc_hash::FxHashSet;

#[path = "support/workload.rs"]
mod workload;

use workload::{
    downstream_if, group, live_bytes, measure, my_addr, neighbor, source, DOWNSTREAM_INTERFACES, GROUPS,
    SOURCES, STEADY_SECS, UPSTREAM,
};

fn hello() -> PimMessage<V4> {
    PimMessage::Hello(Hello {
        options: vec![HelloOption::Holdtime(105), HelloOption::DrPriority(1), HelloOption::GenerationId(7)],
    })
}

/// The Join message for one group with all its sources.
fn join(g: u32) -> Input<V4> {
    let ifindex = downstream_if(g);
    let set = JoinPruneGroup {
        group: EncodedGroup::host(group(g)),
        joins: (0..SOURCES).map(|s| EncodedSource::sg(source(s))).collect(),
        prunes: vec![],
    };
    Input::Received {
        ifindex,
        source: neighbor(ifindex),
        destination: Ipv4Addr::new(224, 0, 0, 13),
        message: PimMessage::JoinPrune(JoinPrune {
            upstream_neighbor: my_addr(ifindex),
            holdtime: 210,
            groups: vec![set],
        }),
    }
}

struct Bench {
    router: PimRouter<V4>,
    now: Instant,
    out: Vec<Output<V4>>,
    /// (S,G) keys whose latest intent has an incoming and an outgoing interface.
    complete: FxHashSet<SgKey<V4>>,
    join_prune_sent: u64,
    entries_sent: u64,
}

impl Bench {
    /// Feeds one input and everything it asks for (RPF answers), tracking intents.
    fn feed(&mut self, input: Input<V4>) {
        let mut inputs = vec![input];
        for _ in 0..1_000_000 {
            let Some(input) = inputs.pop() else { return };
            self.router.handle(self.now, input, &mut self.out);
            self.drain(&mut inputs);
        }
    }

    fn drain(&mut self, inputs: &mut Vec<Input<V4>>) {
        for o in self.out.drain(..) {
            match o {
                Output::WatchRpf(target) => inputs.push(Input::Rpf(RpfUpdate {
                    target,
                    interface: Some(UPSTREAM),
                    neighbor: Some(neighbor(UPSTREAM)),
                    connected: false,
                    metric: 10,
                    preference: 110,
                })),
                Output::MrouteSet(intent) if intent.key.source.is_some() => {
                    if intent.iif.is_some() && !intent.oifs.is_empty() {
                        self.complete.insert(intent.key);
                    } else {
                        self.complete.remove(&intent.key);
                    }
                }
                Output::Send { message: PimMessage::JoinPrune(jp), .. } => {
                    self.join_prune_sent += 1;
                    self.entries_sent +=
                        jp.groups.iter().map(|g| (g.joins.len() + g.prunes.len()) as u64).sum::<u64>();
                }
                _ => {}
            }
        }
    }

    fn timers_until(&mut self, t: Instant) {
        for _ in 0..10_000_000 {
            match self.router.poll_at() {
                Some(d) if d <= t => {
                    self.now = self.now.max(d);
                    self.router.on_timeout(self.now, &mut self.out);
                    let mut inputs = Vec::new();
                    self.drain(&mut inputs);
                    for i in inputs {
                        self.feed(i);
                    }
                }
                _ => break,
            }
        }
        self.now = self.now.max(t);
    }
}

fn main() {
    let before = live_bytes();
    let mut b = Bench {
        router: PimRouter::new(PimConfig::default(), 1),
        now: Instant::ZERO,
        out: Vec::new(),
        complete: FxHashSet::default(),
        join_prune_sent: 0,
        entries_sent: 0,
    };
    let interfaces: Vec<IfIndex> = (1..=1 + DOWNSTREAM_INTERFACES).map(IfIndex).collect();
    for &i in &interfaces {
        let config = InterfaceConfig::default();
        b.feed(Input::InterfaceUp { ifindex: i, primary: my_addr(i), secondary: vec![], config });
    }
    for &i in &interfaces {
        b.feed(Input::Received {
            ifindex: i,
            source: neighbor(i),
            destination: Ipv4Addr::new(224, 0, 0, 13),
            message: hello(),
        });
    }
    b.timers_until(Instant::from_secs(10));

    // Setup: every group's Join arrives at t = 10 s.
    let joins: Vec<Input<V4>> = (0..GROUPS).map(join).collect();
    let (setup_cpu, setup_wall) = measure(|| {
        for j in joins {
            b.feed(j);
        }
    });
    let states = u64::from(GROUPS * SOURCES);
    assert_eq!(b.complete.len() as u64, states, "every (S,G) intent is out");
    let live = live_bytes() - before;
    println!(
        "setup: {states} (S,G) joins, {} upstream Join/Prune messages ({} entries)",
        b.join_prune_sent, b.entries_sent
    );
    println!(
        "time until every intent is output: {:.3} s wall, {:.3} s CPU ({:.2} µs per (S,G))",
        setup_wall.as_secs_f64(),
        setup_cpu as f64 / 1e9,
        setup_cpu as f64 / 1e3 / states as f64
    );
    println!(
        "memory live after setup: {:.1} MiB, {} bytes per (S,G)",
        live as f64 / (1 << 20) as f64,
        live / states as isize
    );

    // Steady state: each downstream neighbour refreshes its groups once a period, spread over
    // it; every neighbour says Hello every 30 s; our own timers run.
    b.join_prune_sent = 0;
    b.entries_sent = 0;
    let start = b.now;
    let period_ms = 60_000u64;
    let mut schedule: BTreeMap<(Instant, u32), Input<V4>> = BTreeMap::new();
    let mut seq = 0u32;
    for period in 0..STEADY_SECS * 1000 / period_ms {
        for g in 0..GROUPS {
            let at = start
                + Duration::from_millis(period * period_ms + u64::from(g) * period_ms / u64::from(GROUPS));
            schedule.insert((at, seq), join(g));
            seq += 1;
        }
    }
    for k in 0..STEADY_SECS / 30 {
        for &i in &interfaces {
            let msg = Input::Received {
                ifindex: i,
                source: neighbor(i),
                destination: Ipv4Addr::new(224, 0, 0, 13),
                message: hello(),
            };
            schedule.insert((start + Duration::from_secs(k * 30 + 1), seq), msg);
            seq += 1;
        }
    }
    let end = start + Duration::from_secs(STEADY_SECS);
    let (steady_cpu, steady_wall) = measure(|| {
        for ((at, _), input) in schedule {
            b.timers_until(at);
            b.feed(input);
        }
        b.timers_until(end);
    });
    assert_eq!(b.complete.len() as u64, states, "every (S,G) still forwarded");
    let per_sec = steady_cpu as f64 / STEADY_SECS as f64;
    println!(
        "steady state: {STEADY_SECS} virtual s in {:.3} s wall; CPU {:.3} ms per virtual second = {:.3} % of a core",
        steady_wall.as_secs_f64(),
        per_sec / 1e6,
        per_sec / 1e7
    );
    println!(
        "steady state sent {} Join/Prune messages upstream ({} entries, {:.0} per virtual second)",
        b.join_prune_sent,
        b.entries_sent,
        b.entries_sent as f64 / STEADY_SECS as f64
    );
    let live = live_bytes() - before;
    println!("memory live after steady state: {} bytes per (S,G)", live / states as isize);

    // Changes: one source's route moves to another upstream neighbour (1,000 (S,G) entries
    // switch), a new neighbour appears on a downstream link, a neighbour leaves.
    let other = Ipv4Addr::new(198, 18, 1, 3);
    b.feed(Input::Received {
        ifindex: UPSTREAM,
        source: other,
        destination: Ipv4Addr::new(224, 0, 0, 13),
        message: hello(),
    });
    let timed = |b: &mut Bench, what: &str, input: Input<V4>| {
        b.join_prune_sent = 0;
        b.entries_sent = 0;
        // Short spans: wall time (the scheduler's CPU counter advances by ticks).
        let wall = std::time::Instant::now();
        b.feed(input);
        println!(
            "{what}: {:.3} ms, {} Join/Prune messages ({} entries)",
            wall.elapsed().as_secs_f64() * 1e3,
            b.join_prune_sent,
            b.entries_sent
        );
    };
    let moved = RpfUpdate {
        target: source(0),
        interface: Some(UPSTREAM),
        neighbor: Some(other),
        connected: false,
        metric: 10,
        preference: 110,
    };
    timed(&mut b, "route change for one source (1,000 (S,G))", Input::Rpf(moved));
    let newcomer = Ipv4Addr::new(198, 18, 2, 3);
    let hello_in = |from| Input::Received {
        ifindex: IfIndex(2),
        source: from,
        destination: Ipv4Addr::new(224, 0, 0, 13),
        message: hello(),
    };
    timed(&mut b, "new neighbour on a downstream link", hello_in(newcomer));
    let goodbye = Input::Received {
        ifindex: IfIndex(2),
        source: newcomer,
        destination: Ipv4Addr::new(224, 0, 0, 13),
        message: PimMessage::Hello(Hello { options: vec![HelloOption::Holdtime(0)] }),
    };
    timed(&mut b, "neighbour goodbye on a downstream link", goodbye);
}
