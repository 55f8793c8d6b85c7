//! Helpers shared by the namespace tests: a chain of routers of any [`RouterKind`] with its PIM
//! adjacencies up, `hatoctl --json` against a lab's hatod (through hatoctl's own code), waits on
//! hatod and FRR state, and traffic run on threads inside nodes.
//!
//! Every helper panics with a failure report ([`report`]) instead of returning an error: they are
//! meant for test bodies. Waits are bounded by [`DEADLINE`].

use std::fs::File;
use std::net::IpAddr;
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use hato_control::Request;
use hatoctl::control::Outcome;
use serde_json::Value;

use crate::matrix::Scenario;
use crate::poll::{poll_until, wait_frr_mroute, wait_frr_pim_neighbors, Probe};
use crate::traffic::{self, RecvOptions, RecvReport, SendOptions, SendReport};
use crate::{Lab, LabOptions, RouterConfig, RouterKind, Topology};

/// How long a wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(40);
/// The UDP port of the traffic helpers' defaults.
pub const PORT: u16 = 5001;

/// Fails the test unless it runs as root (namespace tests need it; CI runs as root).
pub fn require_root() {
    assert!(nix::unistd::geteuid().is_root(), "namespace tests need root (CI runs as root)");
}

/// A chain `sender - r1 - ... - rN - receiver` with one router kind per position.
#[derive(Debug, Clone)]
pub struct Chain {
    kinds: Vec<RouterKind>,
    config: RouterConfig,
    options: LabOptions,
    capture: bool,
    ipv6: bool,
}

impl Chain {
    /// Routers `r1..rN` of `kinds`, in order, with the default configuration.
    pub fn new(kinds: &[RouterKind]) -> Self {
        Chain {
            kinds: kinds.to_vec(),
            config: RouterConfig::default(),
            options: LabOptions::default(),
            capture: false,
            ipv6: false,
        }
    }

    /// The configuration every router gets.
    pub fn config(mut self, config: RouterConfig) -> Self {
        self.config = config;
        self
    }

    /// The lab's options (hatod's tests set `hatod_binary: Some(env!("CARGO_BIN_EXE_hatod").into())`).
    pub fn options(mut self, options: LabOptions) -> Self {
        self.options = options;
        self
    }

    /// Captures every link from before the routers start ([`Lab::capture_links`]).
    pub fn capture(mut self) -> Self {
        self.capture = true;
        self
    }

    /// Also waits for IPv6 PIM adjacencies (hatod routers only: Debian's FRR has no pim6d).
    pub fn ipv6(mut self) -> Self {
        self.ipv6 = true;
        self
    }

    /// Builds the lab, starts the routers and waits until each hatod and FRR router has a PIM
    /// neighbour on every side (IPv4, and IPv6 for hatod after [`Chain::ipv6`]). Other kinds are
    /// not waited for.
    pub fn start(self) -> Lab {
        require_root();
        let topology = Topology::chain(self.kinds.len()).unwrap_or_else(|e| panic!("{e}"));
        let mut lab = Lab::start_with(topology, self.options).unwrap_or_else(|e| panic!("{e}"));
        if self.capture {
            lab.capture_links().unwrap_or_else(|e| panic!("{e}"));
        }
        let routers = chain_routers(self.kinds.len());
        for (router, kind) in routers.iter().zip(&self.kinds) {
            lab.start_router(router, *kind, &self.config).unwrap_or_else(|e| panic!("{e}\n{}", lab.report()));
        }
        let last = routers.len() - 1;
        for (index, router) in routers.iter().enumerate() {
            let neighbors = usize::from(index > 0) + usize::from(index < last);
            wait_pim_neighbors(&lab, router, neighbors, false);
            if self.ipv6 && kind_of(&lab, router) == RouterKind::Hatod {
                wait_pim_neighbors(&lab, router, neighbors, true);
            }
        }
        lab
    }
}

/// The address of `node` on `segment` in a chain of `routers` routers, known before the lab is
/// built (an RP address for the configuration, say).
pub fn chain_addr(routers: usize, node: &str, segment: &str, v6: bool) -> IpAddr {
    let plan = Topology::chain(routers).unwrap_or_else(|e| panic!("{e}"));
    let n = plan.node(node).unwrap_or_else(|| panic!("no node {node}"));
    let s =
        plan.segments.iter().find(|s| s.name == segment).unwrap_or_else(|| panic!("no segment {segment}"));
    if v6 {
        plan.v6(n, s).into()
    } else {
        plan.v4(n, s).into()
    }
}

/// An interop matrix entry for `name` with routers of `kinds` in their positions, named as
/// `RouterKind`'s variants in lower case ("frr", "hatod", "pimd").
pub fn scenario(name: impl Into<String>, kinds: &[RouterKind]) -> Scenario {
    let peers: Vec<String> = kinds.iter().map(|kind| format!("{kind:?}").to_lowercase()).collect();
    let peers: Vec<&str> = peers.iter().map(String::as_str).collect();
    Scenario::new(name, &peers)
}

/// The router names of a chain of `count` routers: `r1..rN`.
pub fn chain_routers(count: usize) -> Vec<String> {
    (1..=count).map(|i| format!("r{i}")).collect()
}

/// The kind of the router on `node`.
pub fn kind_of(lab: &Lab, node: &str) -> RouterKind {
    lab.router(node).map(|r| r.kind).unwrap_or_else(|| panic!("{node} runs no router"))
}

/// Waits until the router on `node` has `count` PIM neighbours of the family: through `show pim
/// neighbors` for hatod, `show ip pim neighbor json` for FRR (IPv4 only); no-op for other kinds.
pub fn wait_pim_neighbors(lab: &Lab, node: &str, count: usize, v6: bool) {
    match kind_of(lab, node) {
        RouterKind::Hatod => {
            let family = if v6 { "IPv6" } else { "IPv4" };
            wait_hatod(
                lab,
                node,
                &Request::ShowPimNeighbors,
                &format!("{count} {family} PIM neighbours"),
                |json| {
                    json["neighbors"].as_array().is_some_and(|n| {
                        n.iter()
                            .filter(|n| n["address"].as_str().is_some_and(|a| a.contains(':') == v6))
                            .count()
                            == count
                    })
                },
            );
        }
        RouterKind::Frr if !v6 => {
            wait_frr_pim_neighbors(lab, node, count, DEADLINE)
                .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)));
        }
        _ => {}
    }
}

/// The control socket of the hatod on `node`.
pub fn control_socket(lab: &Lab, node: &str) -> PathBuf {
    lab.router(node).and_then(|r| r.control_socket.clone()).unwrap_or_else(|| panic!("{node} runs no hatod"))
}

/// `hatoctl -s SOCKET REQUEST [--json]` against the hatod on `node`: what it prints and its exit code.
pub fn hatoctl(lab: &Lab, node: &str, request: &Request, json: bool) -> Outcome {
    hatoctl::control::execute(&control_socket(lab, node), request, json)
}

/// `hatoctl ... --json` on `node`, parsed; an error answer is the `{"error": ...}` object hatoctl
/// prints.
pub fn hatoctl_json(lab: &Lab, node: &str, request: &Request) -> Value {
    let outcome = hatoctl(lab, node, request, true);
    serde_json::from_str(&outcome.stdout).unwrap_or(Value::Null)
}

/// Polls `request` on `node` every 20 ms until `predicate` holds for its JSON; returns that JSON.
/// On timeout it panics with the last answer and [`report`].
pub fn wait_hatod(
    lab: &Lab,
    node: &str,
    request: &Request,
    what: &str,
    predicate: impl Fn(&Value) -> bool,
) -> Value {
    poll_until(&format!("{node}: {what}"), DEADLINE, Duration::from_millis(20), || {
        let json = hatoctl_json(lab, node, request);
        if predicate(&json) {
            Probe::Done(json)
        } else {
            Probe::Pending(json.to_string())
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)))
}

/// Waits until `node` holds a joined (*,G) (`source` None) or (S,G) downstream state: `show pim
/// join` on hatod, the mroute table on FRR. Other kinds are not supported.
pub fn wait_join(lab: &Lab, node: &str, source: Option<IpAddr>, group: IpAddr) {
    match kind_of(lab, node) {
        RouterKind::Frr => {
            let source = source.map_or_else(|| "*".to_string(), |s| s.to_string());
            wait_frr_mroute(lab, node, &source, &group.to_string(), false, DEADLINE)
                .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)));
        }
        RouterKind::Hatod => {
            let kind = if source.is_some() { "(S,G)" } else { "(*,G)" };
            wait_hatod(lab, node, &Request::ShowPimJoin, &format!("{kind} join for {group}"), |json| {
                json["states"].as_array().is_some_and(|states| {
                    states.iter().any(|s| {
                        s["group"] == group.to_string()
                            && s["kind"] == kind
                            && s["state"] == "Join"
                            && source.map_or(true, |source| s["source"] == source.to_string())
                    })
                })
            });
        }
        other => panic!("wait_join: {other:?} is not supported"),
    }
}

/// The lab's report ([`Lab::report`]) and every router's mroute state: `show mroute` and `show pim
/// upstream` for hatod, `show ip mroute` for FRR.
pub fn report(lab: &Lab) -> String {
    let mut text = lab.report();
    for router in lab.routers() {
        let node = router.node.as_str();
        match router.kind {
            RouterKind::Hatod => {
                for request in [Request::ShowMroute { source: None, group: None }, Request::ShowPimUpstream] {
                    let outcome = hatoctl(lab, node, &request, false);
                    text.push_str(&format!("-- {node}: {request:?}\n{}{}\n", outcome.stdout, outcome.stderr));
                }
            }
            RouterKind::Frr => {
                let out =
                    crate::router::frr::vtysh(lab, node, "show ip mroute").unwrap_or_else(|e| e.to_string());
                text.push_str(&format!("-- {node}: show ip mroute\n{out}\n"));
            }
            _ => {}
        }
    }
    text
}

/// Runs `f` on a thread inside `node`'s network namespace.
pub fn in_node<T: Send + 'static>(
    lab: &Lab,
    node: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    let path = PathBuf::from("/run/netns").join(lab.netns(node));
    std::thread::spawn(move || {
        let ns = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns: {e}"));
        f()
    })
}

/// Receiver options: `group` on [`PORT`] at `eth0`, source-specific when `source` is given, ending
/// after [`DEADLINE`] or 2 s without packets.
pub fn recv_options(group: IpAddr, source: Option<IpAddr>, run_id: u64) -> RecvOptions {
    RecvOptions {
        group,
        port: PORT,
        source,
        iface: Some("eth0".into()),
        timeout: DEADLINE,
        idle: Some(Duration::from_secs(2)),
        run_id: Some(run_id),
    }
}

/// Sender options: `count` datagrams of 100 bytes from `source` to `group` on [`PORT`] at `eth0`,
/// `interval` apart, TTL 16.
pub fn send_options(
    source: IpAddr,
    group: IpAddr,
    run_id: u64,
    count: u32,
    interval: Duration,
) -> SendOptions {
    SendOptions {
        group,
        port: PORT,
        source: Some(source),
        iface: Some("eth0".into()),
        count,
        interval,
        ttl: 16,
        run_id,
        size: 100,
    }
}

/// Starts a receiver on a thread in `node` and returns once its interface lists the group
/// (`ip maddr`), so that the join has been sent.
pub fn receive(lab: &Lab, node: &str, options: RecvOptions) -> JoinHandle<RecvReport> {
    let group = options.group;
    let iface = options.iface.clone().unwrap_or_else(|| "eth0".into());
    let handle = in_node(lab, node, move || traffic::receive(&options).unwrap_or_else(|e| panic!("{e}")));
    let family = if group.is_ipv6() { "-6" } else { "-4" };
    poll_until(&format!("{node} joins {group}"), DEADLINE, Duration::from_millis(5), || {
        match lab.exec(node, &["ip", family, "maddr", "show", "dev", &iface]) {
            Ok(text) if text.contains(&group.to_string()) => Probe::Done(()),
            Ok(text) => Probe::Pending(text),
            Err(e) => Probe::Pending(e.to_string()),
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    handle
}

/// Runs a sender on a thread in `node`.
pub fn send(lab: &Lab, node: &str, options: SendOptions) -> JoinHandle<SendReport> {
    in_node(lab, node, move || traffic::send(&options).unwrap_or_else(|e| panic!("{e}")))
}

/// The UDP datagrams `node`'s kernel delivered so far (`InDatagrams`, IPv4 and IPv6 together).
pub fn udp_in_datagrams(lab: &Lab, node: &str) -> u64 {
    let v4 = lab.exec(node, &["cat", "/proc/net/snmp"]).unwrap_or_default();
    let v6 = lab.exec(node, &["cat", "/proc/net/snmp6"]).unwrap_or_default();
    let udp4 = v4
        .lines()
        .filter(|l| l.starts_with("Udp:"))
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok());
    let udp6 = v6
        .lines()
        .find(|l| l.starts_with("Udp6InDatagrams"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok());
    udp4.unwrap_or(0) + udp6.unwrap_or(0)
}

/// Stops the captures and fails the test unless tshark finds every protocol packet the routers of
/// `kinds` sent clean, and at least one was checked ([`Lab::check_captures_of`]). Prints the count.
pub fn assert_captures_clean(lab: &mut Lab, kinds: &[RouterKind]) {
    let verdict = lab.check_captures_of(kinds).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("{kinds:?}: {}", verdict.to_string().lines().next().unwrap_or_default());
    verdict.assert_clean();
}
