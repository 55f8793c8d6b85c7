//! The kernel scale benchmark: many (S,G) joins through one router in a namespace lab, with the
//! real kernel multicast forwarding cache (MFC) underneath.
//!
//! The router under test (`dut`, hatod or FRR's zebra + pimd) has one upstream interface towards
//! the sources' subnet (a static unicast route via the upstream host, which says PIM Hello and
//! nothing else, so the sources are RPF-resolvable to a PIM neighbour and the router's own Joins
//! go nowhere further) and one downstream veth to each neighbour namespace. In every neighbour an
//! [`injector::Neighbour`] speaks PIM over a raw socket: Hellos, then (S,G) Joins for its share of
//! the groups (RFC 7761 §4.5), aggregated and split to the MTU, refreshed every Join/Prune period
//! (60 s, §4.11) and Hellos every 30 s.
//!
//! Measured per router, in a [`Measurement`]: the time from the first Join sent until every
//! entry is in the kernel (single-entry `SIOCGETSGCNT` lookups in rounds, see [`MfcProbe`]; a dump
//! of a big table takes long), the resident memory per (S,G) over a baseline taken with the
//! neighbours up and no state, and the CPU share at steady state (`/proc/PID/stat` over the
//! window, joins and Hellos refreshed). A bare `set_mfc` loop through `KernelPlane` in a lab of its
//! own gives the kernel floor the install rate is compared with. Both routers log at their
//! informational level.

pub mod injector;
pub mod process;
mod report;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use hato_core::{ForwardingPlane, IfIndex, MfcEntry, SgKey, Vif, VifId, VifKind, V4};
use hato_kernel::{sys, KernelPlane, MfcProbe, PlaneConfig};
use hato_lab::{Lab, LabOptions, RouterConfig, RouterKind, Topology};

use injector::{in_netns, send_all_joins, Neighbour};
pub use report::{KernelFloor, LoadAverage, Measurement, Report};

/// The router node.
const DUT: &str = "dut";
/// The node on the upstream segment (a plain host: the sources' gateway, not a PIM router).
const UPSTREAM_HOST: &str = "up";
/// The sources' subnet, routed out of the upstream interface.
const SOURCE_SUBNET: &str = "198.19.0.0/17";
/// Sources per /24 of [`SOURCE_SUBNET`] (host parts 1..=250).
const SOURCES_PER_SUBNET: u32 = 250;
/// The Hello period (RFC 7761 §4.11).
const HELLO_PERIOD: Duration = Duration::from_secs(30);
/// The Join/Prune period (RFC 7761 §4.11).
const JOIN_PRUNE_PERIOD: Duration = Duration::from_secs(60);
/// How long hatod may take to write its PID file and open its control socket.
/// How long the router may take to list every neighbour.
const NEIGHBOUR_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between two rounds of lookups while waiting for the installs.
const PROBE_SPACING: Duration = Duration::from_millis(1);

/// What is joined: `groups` × `sources` (S,G) entries, group `g` joined by neighbour
/// `g % interfaces`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Workload {
    pub groups: u32,
    pub sources: u32,
    pub interfaces: u32,
}

impl Workload {
    /// The benchmark's shape: 1,000 groups × 100 sources over 10 interfaces.
    pub const FULL: Workload = Workload { groups: 1_000, sources: 100, interfaces: 10 };

    /// About `entries` (S,G) with up to 100 sources per group, over `interfaces` interfaces.
    pub fn with_entries(entries: u32, interfaces: u32) -> Result<Self, String> {
        let sources = entries.clamp(1, 100);
        let workload = Workload { groups: entries.div_ceil(sources), sources, interfaces };
        workload.check()?;
        Ok(workload)
    }

    /// Refuses shapes the addressing plan or the lab cannot hold.
    pub fn check(&self) -> Result<(), String> {
        if self.groups == 0 || self.sources == 0 {
            return Err("at least one group and one source".into());
        }
        if self.groups > 65_536 || self.sources > SOURCES_PER_SUBNET * 128 {
            return Err("at most 65,536 groups (232.1/16) and 32,000 sources (198.19.0/17)".into());
        }
        if !(1..=30).contains(&self.interfaces) {
            return Err("1 to 30 downstream interfaces (the kernel has 32 VIFs)".into());
        }
        Ok(())
    }

    /// The number of (S,G) entries.
    pub fn entries(&self) -> usize {
        self.groups as usize * self.sources as usize
    }

    /// Group `i`: 232.1.x.y, in the SSM range both routers use by default.
    pub fn group(i: u32) -> Ipv4Addr {
        let [_, _, hi, lo] = i.to_be_bytes();
        Ipv4Addr::new(232, 1, hi, lo)
    }

    /// Source `i`: in 198.19.0.0/17, host parts 1..=250.
    pub fn source(i: u32) -> Ipv4Addr {
        let subnet = u8::try_from(i / SOURCES_PER_SUBNET).unwrap_or(u8::MAX);
        let host = u8::try_from(1 + i % SOURCES_PER_SUBNET).unwrap_or(u8::MAX);
        Ipv4Addr::new(198, 19, subnet, host)
    }
}

/// How a run is carried out.
#[derive(Debug, Clone)]
pub struct Options {
    /// The hatod binary (for [`RouterKind::Hatod`]).
    pub hatod_binary: Option<PathBuf>,
    /// How long every entry may take to appear in the kernel.
    pub install_timeout: Duration,
    /// The steady-state window over which CPU time is measured (0 skips the measurement).
    pub steady: Duration,
    /// Pause before each memory reading, so that work in flight finishes.
    pub settle: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            hatod_binary: None,
            install_timeout: Duration::from_secs(300),
            steady: Duration::from_secs(60),
            settle: Duration::from_secs(2),
        }
    }
}

/// The name printed for a router kind.
pub fn router_name(kind: RouterKind) -> &'static str {
    match kind {
        RouterKind::Hatod => "hatod",
        RouterKind::Frr => "FRR (zebra+pimd)",
        RouterKind::Pimd => "pimd",
        RouterKind::Smcroute => "smcroute",
    }
}

/// The lab: `up - dut` and `dut - n1 ... nK`.
fn topology(workload: &Workload) -> Result<Topology, String> {
    let mut t = Topology::new();
    let err = |e: hato_lab::Error| e.to_string();
    t.host(UPSTREAM_HOST).map_err(err)?;
    t.router(DUT).map_err(err)?;
    t.link(UPSTREAM_HOST, DUT, 1).map_err(err)?;
    for k in 1..=workload.interfaces {
        let name = format!("n{k}");
        t.host(&name).map_err(err)?;
        t.link(DUT, &name, 1).map_err(err)?;
    }
    Ok(t)
}

/// Counts the entries of `expected` the kernel holds (one lookup each).
fn installed(probe: &MfcProbe, expected: &[SgKey<V4>]) -> Result<usize, String> {
    let mut count = 0;
    for key in expected {
        count += usize::from(probe.counters(*key).map_err(|e| format!("MFC lookup: {e}"))?.is_some());
    }
    Ok(count)
}

/// How far the installs got.
struct InstallProgress {
    /// When a lookup last found an expected entry missing.
    last_miss: Instant,
    /// When the last missing entry was found; `None` at the deadline.
    complete: Option<Instant>,
}

/// Looks `expected` up in rounds until every entry is installed or `deadline` passes. Each round
/// goes through the entries not yet seen, in order, and stops at the first one missing, so a
/// round costs about one lookup per newly installed entry.
fn wait_installed(
    probe: &MfcProbe,
    expected: Vec<SgKey<V4>>,
    deadline: Instant,
) -> Result<InstallProgress, String> {
    let mut pending = expected.into_iter().peekable();
    let mut last_miss = Instant::now();
    // Bounded by the deadline; the count bounds it too (one round per millisecond at most).
    for _ in 0..u32::MAX {
        while let Some(key) = pending.peek() {
            if probe.counters(*key).map_err(|e| format!("MFC lookup: {e}"))?.is_none() {
                break;
            }
            pending.next();
        }
        let now = Instant::now();
        if pending.peek().is_none() {
            return Ok(InstallProgress { last_miss, complete: Some(now) });
        }
        last_miss = now;
        if now >= deadline {
            break;
        }
        std::thread::sleep(PROBE_SPACING);
    }
    Ok(InstallProgress { last_miss, complete: None })
}

/// The kernel floor in `netns`: `entries` installs through a bare `KernelPlane::set_mfc` loop
/// (one `MRT_ADD_MFC` each) between two of its interfaces; the table is flushed afterwards.
fn kernel_floor(netns: &str, ifaces: [String; 2], workload: Workload) -> Result<KernelFloor, String> {
    let (mut plane, indexes) = in_netns(netns, move || {
        let plane = KernelPlane::<V4>::open(PlaneConfig::default()).map_err(std::io::Error::other)?;
        let indexes = [sys::if_nametoindex(&ifaces[0])?, sys::if_nametoindex(&ifaces[1])?];
        Ok((plane, indexes))
    })
    .map_err(|e| format!("kernel floor: {e}"))?;
    for (id, ifindex) in [(0u16, indexes[0]), (1, indexes[1])] {
        let vif = Vif { id: VifId(id), kind: VifKind::Interface(IfIndex(ifindex)), ttl_threshold: 1 };
        plane.add_vif(&vif).map_err(|e| format!("kernel floor: {e}"))?;
    }
    let entries: Vec<MfcEntry<V4>> = (0..workload.groups)
        .flat_map(|g| {
            (0..workload.sources).map(move |s| MfcEntry {
                key: SgKey::sg(Workload::source(s), Workload::group(g)),
                iif: VifId(0),
                oifs: [(VifId(1), 1)].into_iter().collect(),
            })
        })
        .collect();
    let start = Instant::now();
    for entry in &entries {
        plane.set_mfc(entry).map_err(|e| format!("kernel floor: {e}"))?;
    }
    let elapsed = start.elapsed();
    plane.flush().map_err(|e| format!("kernel floor: {e}"))?;
    Ok(KernelFloor { entries: entries.len(), secs: elapsed.as_secs_f64() })
}

/// Measures the kernel floor in a lab of its own (`ka` with a veth to `kb` and one to `kc`).
pub fn measure_kernel_floor(workload: Workload) -> Result<KernelFloor, String> {
    let mut t = Topology::new();
    let err = |e: hato_lab::Error| e.to_string();
    for node in ["ka", "kb", "kc"] {
        t.router(node).map_err(err)?;
    }
    t.link("ka", "kb", 1).map_err(err)?;
    t.link("ka", "kc", 1).map_err(err)?;
    let lab = Lab::start(t).map_err(err)?;
    let iface = |segment: &str| lab.topology().iface("ka", segment).map(String::from).ok_or("no interface");
    kernel_floor(&lab.netns("ka"), [iface("ka-kb")?, iface("ka-kc")?], workload)
}

/// The number of PIM neighbours the router lists (hatod: through its control socket).
fn neighbour_count(lab: &Lab, control_socket: Option<&std::path::Path>) -> Result<usize, String> {
    match control_socket {
        None => {
            let json = hato_lab::router::frr::vtysh_json(lab, DUT, "show ip pim neighbor json")
                .map_err(|e| e.to_string())?;
            Ok(hato_lab::poll::frr_neighbor_count(&json))
        }
        Some(socket) => match report::control_request(socket, &hato_control::Request::ShowPimNeighbors)? {
            hato_control::Response::PimNeighbors(view) => Ok(view.neighbors.len()),
            other => Err(format!("unexpected answer: {other}")),
        },
    }
}

/// Runs the benchmark against one router kind.
pub fn run(kind: RouterKind, workload: Workload, options: &Options) -> Result<Measurement, String> {
    workload.check()?;
    let err = |e: hato_lab::Error| e.to_string();
    let lab_options = LabOptions { hatod_binary: options.hatod_binary.clone(), ..LabOptions::default() };
    let mut lab = Lab::start_with(topology(&workload)?, lab_options).map_err(err)?;
    let topology = lab.topology().clone();
    let upstream_segment = format!("{UPSTREAM_HOST}-{DUT}");
    let upstream_if = topology.iface(DUT, &upstream_segment).ok_or("no upstream interface")?.to_string();
    let gateway = lab.addr(UPSTREAM_HOST, &upstream_segment, false).map_err(err)?.to_string();
    lab.exec(DUT, &["ip", "route", "add", SOURCE_SUBNET, "via", &gateway, "dev", &upstream_if])
        .map_err(err)?;

    // hatod logs at its configuration's level (info, like FRR's `log file ... informational`): the
    // lab's debug level would write per-(S,G) lines that would be measured too.
    let config = RouterConfig { quiet_logs: true, ..RouterConfig::default() };
    lab.start_router(DUT, kind, &config).map_err(err)?;
    let router = lab.router(DUT).ok_or("router did not start")?;
    // FRR: staticd holds no multicast state; zebra and pimd do the work.
    let pids = match kind {
        RouterKind::Frr => router
            .pids
            .iter()
            .zip(["zebra", "staticd", "pimd"])
            .filter(|(_, d)| *d != "staticd")
            .map(|(p, _)| *p)
            .collect(),
        _ => router.pids.clone(),
    };
    let control_socket = router.control_socket.clone();

    // The upstream PIM neighbour: it only says Hello. FRR leaves an (S,G) whose RPF neighbour is
    // not a PIM neighbour without an incoming interface and installs nothing; hatod installs
    // either way. Both routers get this neighbour, and so both send their Joins upstream.
    let upstream = Neighbour::open(
        &lab.netns(UPSTREAM_HOST),
        topology.iface(UPSTREAM_HOST, &upstream_segment).ok_or("no upstream host interface")?,
        match lab.addr(DUT, &upstream_segment, false).map_err(err)? {
            std::net::IpAddr::V4(a) => a,
            std::net::IpAddr::V6(_) => return Err("IPv4 expected".into()),
        },
        0x4a7e_0000,
        &[],
        &[],
    )
    .map_err(|e| format!("upstream neighbour: {e}"))?;
    let mut neighbours = vec![upstream];
    for k in 1..=workload.interfaces {
        let node = format!("n{k}");
        let segment = format!("{DUT}-{node}");
        let iface = topology.iface(&node, &segment).ok_or("no neighbour interface")?;
        let router = match lab.addr(DUT, &segment, false).map_err(err)? {
            std::net::IpAddr::V4(a) => a,
            std::net::IpAddr::V6(_) => return Err("IPv4 expected".into()),
        };
        let groups: Vec<Ipv4Addr> =
            (0..workload.groups).filter(|g| g % workload.interfaces == k - 1).map(Workload::group).collect();
        let sources: Vec<Ipv4Addr> = (0..workload.sources).map(Workload::source).collect();
        let neighbour = Neighbour::open(&lab.netns(&node), iface, router, 0x4a7e_0000 + k, &groups, &sources)
            .map_err(|e| format!("neighbour {node}: {e}"))?;
        neighbours.push(neighbour);
    }

    // Hellos until the router lists every neighbour (a Hello sent before the router joined
    // ALL-PIM-ROUTERS on the interface is lost; a Join from a non-neighbour is dropped).
    let deadline = Instant::now() + NEIGHBOUR_TIMEOUT;
    let mut seen = 0;
    while seen < neighbours.len() {
        if Instant::now() >= deadline {
            return Err(format!(
                "{seen} of {} PIM neighbours after {NEIGHBOUR_TIMEOUT:?}\n{}",
                neighbours.len(),
                lab.report()
            ));
        }
        for n in &neighbours {
            n.send_hello().map_err(|e| format!("Hello: {e}"))?;
        }
        std::thread::sleep(Duration::from_millis(500));
        seen = neighbour_count(&lab, control_socket.as_deref()).unwrap_or(0);
    }
    let mut next_hello = Instant::now() + HELLO_PERIOD;

    let probe = in_netns(&lab.netns(DUT), || MfcProbe::open().map_err(std::io::Error::other))
        .map_err(|e| format!("MFC probe: {e}"))?;
    std::thread::sleep(options.settle);
    let baseline_rss = process::total_rss(&pids).map_err(|e| e.to_string())?;
    let entries = workload.entries();

    // Install: every Join sent at once, then single-entry lookups until every entry is there (a
    // dump of 100,000 entries takes the kernel seconds on a busy machine).
    let expected: Vec<SgKey<V4>> = (0..workload.groups)
        .flat_map(|g| (0..workload.sources).map(move |s| SgKey::sg(Workload::source(s), Workload::group(g))))
        .collect();
    let start = Instant::now();
    let join_messages = send_all_joins(&neighbours).map_err(|e| format!("Join/Prune: {e}"))?;
    let send_secs = start.elapsed().as_secs_f64();
    let progress = wait_installed(&probe, expected.clone(), start + options.install_timeout)?;
    let install_lower = progress.last_miss.saturating_duration_since(start);
    let install_upper = progress.complete.map(|t| t.saturating_duration_since(start));
    let last_count = installed(&probe, &expected)?;
    let mut next_join = start + JOIN_PRUNE_PERIOD;

    std::thread::sleep(options.settle);
    let loaded_rss = process::total_rss(&pids).map_err(|e| e.to_string())?;

    // Steady state: Hellos and Join refreshes keep arriving on schedule.
    let window_start = Instant::now();
    let cpu_before = process::total_cpu(&pids).map_err(|e| e.to_string())?;
    let window_end = window_start + options.steady;
    let mut refreshes = 0u32;
    for _ in 0..100_000 {
        let now = Instant::now();
        if now >= window_end {
            break;
        }
        if now >= next_hello {
            for n in &neighbours {
                n.send_hello().map_err(|e| format!("Hello: {e}"))?;
            }
            next_hello += HELLO_PERIOD;
        }
        if now >= next_join {
            send_all_joins(&neighbours).map_err(|e| format!("Join/Prune: {e}"))?;
            refreshes += 1;
            next_join += JOIN_PRUNE_PERIOD;
        }
        let wake = next_hello.min(next_join).min(window_end);
        std::thread::sleep(wake.saturating_duration_since(Instant::now()));
    }
    let cpu = process::total_cpu(&pids).map_err(|e| e.to_string())? - cpu_before;
    let window = window_start.elapsed();
    let steady_count = installed(&probe, &expected)?;
    let raw = lab.exec(DUT, &["cat", "/proc/net/raw"]).map_err(err)?;
    let pim_socket_drops = process::raw_socket_drops(&raw, hato_wire::pim::IP_PROTOCOL);

    Ok(Measurement {
        router: router_name(kind).to_string(),
        entries,
        join_messages,
        send_secs,
        installed: last_count,
        install_secs: install_upper.map(|d| d.as_secs_f64()),
        install_secs_lower: install_lower.as_secs_f64(),
        baseline_rss,
        loaded_rss,
        steady_secs: window.as_secs_f64(),
        steady_join_refreshes: refreshes,
        cpu_secs: cpu.as_secs_f64(),
        steady_installed: steady_count,
        pim_socket_drops,
    })
}
