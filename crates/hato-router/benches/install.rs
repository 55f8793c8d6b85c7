//! Install benchmark (not a test): the router alone, over a [`SimPlane`], with PIM on one upstream
//! and 10 downstream interfaces. 100,000 (S,G) joins (1,000 SSM groups 232.1.x.x × 100 sources
//! 198.19.0.x) arrive as Join/Prune messages, one group with all its sources per message, from
//! one PIM neighbour per downstream interface after its Hello; the sources' RPF route points at
//! the upstream neighbour. This is what `hato-bench` sends hatod, minus the sockets and the kernel.
//!
//! Prints the time until every entry is in the plane (µs per (S,G)), the memory held per (S,G)
//! (a counting global allocator: bytes live after the install / entries, with the plane's own
//! share measured apart), and the CPU per second of virtual steady state (Join refreshes and
//! Hellos arriving, the router's timers firing, counter dumps paced as hatod paces them).
//!
//! Run with `cargo bench -p hato-router --bench install`; `-- --install-only` stops after the
//! install (for profiles of it).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use hato_config::load;
use hato_core::{Duration, ForwardingPlane, IfIndex, Instant, MfcEntry, SgKey, Vif, VifId, VifKind, V4, V6};
use hato_router::{
    Input, LinkInfo, Output, ProtocolPacket, RouteChange, RouteNexthop, Router, Severity, SocketKind,
};
use hato_sim::{SimConfig, SimPlane};
use hato_wire::checksum::ChecksumContext;
use hato_wire::pim::{
    EncodedGroup, EncodedSource, Hello, HelloOption, JoinPrune, JoinPruneGroup, PimMessage,
};

#[path = "../../hato-pim/benches/support/workload.rs"]
mod workload;

use workload::{
    downstream_if, group, live_bytes, measure, my_addr, neighbor, source, DOWNSTREAM_INTERFACES, GROUPS,
    SOURCES, STEADY_SECS, UPSTREAM,
};

/// Join/Prune period of the downstream neighbours (RFC 7761 §4.11 default).
const JOIN_PRUNE_PERIOD_MS: u64 = 60_000;
/// Hello period of every neighbour (RFC 7761 §4.11 default).
const HELLO_PERIOD_SECS: u64 = 30;
/// hatod's counter pacing: the next read waits this many times the last one's cost, between
/// one second and a minute.
const COUNTERS_COST_RATIO: u32 = 1_000;
const COUNTERS_MIN: Duration = Duration::from_secs(1);
const COUNTERS_MAX: Duration = Duration::from_secs(60);
/// Bounds the loops that run the router until it is idle.
const MAX_ROUNDS: usize = 10_000_000;

const CONFIG: &str = r#"
[global]
ipv6 = false
log-level = "info"

[pim]
"#;

type SimRouter = Router<SimPlane<V4>, SimPlane<V6>>;

fn interfaces() -> impl Iterator<Item = IfIndex> {
    (1..=1 + DOWNSTREAM_INTERFACES).map(IfIndex)
}

/// A PIM message from `ifindex`'s neighbour to ALL-PIM-ROUTERS, as the shell hands it over.
fn pim_packet(ifindex: IfIndex, message: &PimMessage<V4>) -> Input {
    Input::Packet(ProtocolPacket {
        socket: SocketKind::Pim4,
        ifindex: Some(ifindex),
        source: IpAddr::V4(neighbor(ifindex)),
        destination: IpAddr::V4(Ipv4Addr::new(224, 0, 0, 13)),
        hop_limit: Some(1),
        router_alert: None,
        payload: message.to_bytes(ChecksumContext::Plain).expect("encodable"),
    })
}

fn hello(ifindex: IfIndex) -> Input {
    let options = vec![HelloOption::Holdtime(105), HelloOption::DrPriority(1), HelloOption::GenerationId(7)];
    pim_packet(ifindex, &PimMessage::Hello(Hello { options }))
}

/// The Join for group `g` with all its sources, from its downstream neighbour.
fn join(g: u32) -> Input {
    let ifindex = downstream_if(g);
    let set = JoinPruneGroup {
        group: EncodedGroup::host(group(g)),
        joins: (0..SOURCES).map(|s| EncodedSource::sg(source(s))).collect(),
        prunes: vec![],
    };
    let message = JoinPrune { upstream_neighbor: my_addr(ifindex), holdtime: 210, groups: vec![set] };
    pim_packet(ifindex, &PimMessage::JoinPrune(message))
}

fn link(ifindex: IfIndex) -> Input {
    let name = if ifindex == UPSTREAM { "up".to_string() } else { format!("down{}", ifindex.0 - 1) };
    Input::Link(LinkInfo { ifindex, name, up: true, multicast: true, loopback: false, mtu: 1500 })
}

struct Bench {
    router: SimRouter,
    now: Instant,
    out: Vec<Output>,
    next_counters: Instant,
    sent: u64,
}

impl Bench {
    fn handle(&mut self, input: Input) {
        self.router.handle(self.now, input, &mut self.out);
        self.drain();
    }

    fn drain(&mut self) {
        self.sent += self.out.iter().filter(|o| matches!(o, Output::Send { .. })).count() as u64;
        self.out.clear();
    }

    /// Runs the router's timers and counter reads due until `t`, then moves the clock to `t`.
    fn run_until(&mut self, t: Instant) {
        for _ in 0..MAX_ROUNDS {
            let timer = self.router.poll_at().filter(|at| *at <= t);
            let counters = Some(self.next_counters).filter(|at| *at <= t);
            match (timer, counters) {
                (Some(at), counters) if counters.map_or(true, |c| at <= c) => {
                    self.now = self.now.max(at);
                    self.router.on_timeout(self.now, &mut self.out);
                    self.drain();
                }
                (_, Some(at)) => {
                    self.now = self.now.max(at);
                    self.read_counters();
                }
                (None, None) => break,
                (Some(_), None) => unreachable!("matched above"),
            }
        }
        self.now = self.now.max(t);
    }

    /// A counter dump into the router, then the next one paced by its cost, as in hatod.
    fn read_counters(&mut self) {
        let started = std::time::Instant::now();
        let dump = self.router.plane4_mut().expect("IPv4 runs").counters().expect("sim dump");
        self.handle(Input::Counters4(dump));
        let cost = Duration::from_micros(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        let pause = (cost * COUNTERS_COST_RATIO).clamp(COUNTERS_MIN, COUNTERS_MAX);
        self.next_counters = self.now + pause;
    }

    fn plane(&self) -> &SimPlane<V4> {
        self.router.plane4().expect("IPv4 runs")
    }

    /// Installed entries whose incoming and single outgoing VIF are as the Joins ask.
    fn complete(&self) -> usize {
        let vif = |ifindex: IfIndex| self.router.family4().and_then(|f| f.vifs().vif_of(ifindex));
        let upstream = vif(UPSTREAM);
        let vifs: BTreeMap<u32, Option<VifId>> =
            (0..DOWNSTREAM_INTERFACES).map(|i| (i, vif(IfIndex(2 + i)))).collect();
        self.plane()
            .installed()
            .filter(|(entry, _)| {
                let g =
                    u32::from(u16::from_be_bytes([entry.key.group.octets()[2], entry.key.group.octets()[3]]));
                Some(entry.iif) == upstream
                    && entry.oifs.len() == 1
                    && entry.oifs.keys().next().copied() == vifs[&(g % DOWNSTREAM_INTERFACES)]
            })
            .count()
    }
}

/// Bytes a bare plane holds for `states` entries installed one by one.
fn plane_bytes_per_entry(states: u64) -> isize {
    let before = live_bytes();
    let mut plane = SimPlane::<V4>::new(SimConfig::default(), interfaces());
    for (id, ifindex) in interfaces().enumerate() {
        let vif = Vif {
            id: VifId(u16::try_from(id).expect("few")),
            kind: VifKind::Interface(ifindex),
            ttl_threshold: 1,
        };
        plane.add_vif(&vif).expect("VIF");
    }
    for g in 0..GROUPS {
        for s in 0..SOURCES {
            let oif = VifId(u16::try_from(1 + g % DOWNSTREAM_INTERFACES).expect("few"));
            let entry =
                MfcEntry { key: SgKey::sg(source(s), group(g)), iif: VifId(0), oifs: [(oif, 1)].into() };
            plane.set_mfc(&entry).expect("install");
        }
    }
    let bytes = (live_bytes() - before) / states as isize;
    drop(plane);
    bytes
}

fn main() {
    let states = u64::from(GROUPS * SOURCES);
    let plane_share = plane_bytes_per_entry(states);

    let before = live_bytes();
    let config = load("hato.toml", CONFIG).expect("valid configuration");
    let plane_config = SimConfig { assert: true, pim: true, wrong_vif_whole: false };
    let plane = SimPlane::<V4>::new(plane_config, interfaces());
    let mut router: SimRouter = Router::with_seed(Instant::ZERO, config, Some(plane), None, 1);
    // As hatod at its default log level: debug events are not built.
    router.set_log_level(Severity::Info);
    let mut b =
        Bench { router, now: Instant::ZERO, out: Vec::new(), next_counters: Instant::from_secs(1), sent: 0 };
    for ifindex in interfaces() {
        b.handle(link(ifindex));
    }
    for ifindex in interfaces() {
        let addr = IpAddr::V4(my_addr(ifindex));
        b.handle(Input::Address { ifindex, addr, prefix_len: 24, added: true });
    }
    b.handle(Input::Synced);
    b.handle(Input::Route(RouteChange {
        added: true,
        destination: IpAddr::V4(Ipv4Addr::new(198, 19, 0, 0)),
        prefix_len: 24,
        nexthops: vec![RouteNexthop { ifindex: UPSTREAM, gateway: Some(IpAddr::V4(neighbor(UPSTREAM))) }],
        metric: 20,
        protocol: 4,
    }));
    for ifindex in interfaces() {
        b.handle(hello(ifindex));
    }
    b.run_until(Instant::from_secs(10));

    // Install: every group's Join arrives at t = 10 s; the router then reconciles until idle.
    let joins: Vec<Input> = (0..GROUPS).map(join).collect();
    let (install_cpu, install_wall) = measure(|| {
        for j in joins {
            b.handle(j);
        }
        let now = b.now;
        b.run_until(now);
    });
    assert_eq!(b.complete() as u64, states, "every (S,G) installed upstream → its downstream interface");
    println!(
        "install: {states} (S,G) in the plane after {:.3} s wall, {:.3} s CPU ({:.2} µs per (S,G))",
        install_wall.as_secs_f64(),
        install_cpu as f64 / 1e9,
        install_cpu as f64 / 1e3 / states as f64
    );
    let live = live_bytes() - before;
    println!(
        "memory live after install: {:.1} MiB, {} bytes per (S,G) ({} of them the plane's, {} the router's)",
        live as f64 / f64::from(1 << 20),
        live / states as isize,
        plane_share,
        live / states as isize - plane_share
    );

    if std::env::args().any(|a| a == "--install-only") {
        return;
    }

    // Steady state: each downstream neighbour refreshes its groups once a period, spread over it;
    // every neighbour says Hello every 30 s; the router's timers and counter reads run.
    b.sent = 0;
    let start = b.now;
    let mut schedule: BTreeMap<(Instant, u32), Input> = BTreeMap::new();
    let mut seq = 0u32;
    for period in 1..=STEADY_SECS * 1000 / JOIN_PRUNE_PERIOD_MS {
        for g in 0..GROUPS {
            let offset =
                (period - 1) * JOIN_PRUNE_PERIOD_MS + u64::from(g) * JOIN_PRUNE_PERIOD_MS / u64::from(GROUPS);
            schedule.insert((start + Duration::from_millis(offset), seq), join(g));
            seq += 1;
        }
    }
    for k in 0..STEADY_SECS / HELLO_PERIOD_SECS {
        for ifindex in interfaces() {
            let at = start + Duration::from_secs(k * HELLO_PERIOD_SECS + 1);
            schedule.insert((at, seq), hello(ifindex));
            seq += 1;
        }
    }
    let end = start + Duration::from_secs(STEADY_SECS);
    let (steady_cpu, steady_wall) = measure(|| {
        for ((at, _), input) in schedule {
            b.run_until(at);
            b.handle(input);
        }
        b.run_until(end);
    });
    assert_eq!(b.complete() as u64, states, "every (S,G) still installed");
    let per_sec = steady_cpu as f64 / STEADY_SECS as f64;
    println!(
        "steady state: {STEADY_SECS} virtual s in {:.3} s wall; CPU {:.3} ms per virtual second = {:.3} % of a core; {} messages sent",
        steady_wall.as_secs_f64(),
        per_sec / 1e6,
        per_sec / 1e7,
        b.sent
    );
}
