//! hatod with FRR on the real kernel, and the join-to-first-packet latency.
//!
//! (c) `sender - r1 - r2 - r3 - receiver` with FRR (IPv4 only: Debian's FRR has no pim6d) and
//! hatod mixed: the RP on hatod between two FRR, and the RP on FRR between two hatod; an ASM and
//! an SSM flow are delivered once each. (d) The latency from a receiver's join to its first packet
//! through three routers, the sender streaming at 1,000 packets/s, median of five runs, for hatod
//! and for FRR. Requires root and Debian's `frr`.

use std::fs::File;
use std::net::IpAddr;
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use hato_control::Request;
use hato_lab::poll::{poll_until, wait_frr_mroute, wait_frr_pim_neighbors, wait_kernel_sg, Probe};
use hato_lab::router::StaticRp;
use hato_lab::topology::Prefix;
use hato_lab::traffic::{self, RecvOptions, RecvReport, SendOptions, SendReport};
use hato_lab::{Lab, LabOptions, RouterConfig, RouterKind, Topology};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(40);
const PORT: u16 = 5001;
const ROUTERS: [&str; 3] = ["r1", "r2", "r3"];

fn require_root() {
    assert!(nix::unistd::geteuid().is_root(), "namespace tests need root (CI runs as root)");
}

/// The chain with `kinds` on r1..r3 and the RP on r2 (its address towards r1), IPv4 only.
fn chain(kinds: [RouterKind; 3]) -> Lab {
    require_root();
    let options = LabOptions {
        hatod_binary: Some(env!("CARGO_BIN_EXE_hatod").into()),
        traffic_binary: None,
        keep_workdir: false,
    };
    let mut lab = Lab::start_with(Topology::chain(3).unwrap(), options).unwrap();
    let rp = lab.addr("r2", "r1-r2", false).unwrap();
    let config = RouterConfig {
        static_rps: vec![StaticRp { rp, groups: Prefix { addr: "224.0.0.0".parse().unwrap(), len: 4 } }],
        igmp_version: Some(3),
        ..RouterConfig::default()
    };
    for (router, kind) in ROUTERS.into_iter().zip(kinds) {
        lab.start_router(router, kind, &config).unwrap();
    }
    for ((router, neighbors), kind) in [("r1", 1), ("r2", 2), ("r3", 1)].into_iter().zip(kinds) {
        match kind {
            RouterKind::Frr => {
                wait_frr_pim_neighbors(&lab, router, neighbors, DEADLINE).unwrap_or_else(|e| panic!("{e}"));
            }
            _ => {
                wait_hatod(&lab, router, &Request::ShowPimNeighbors, "PIM neighbours", |json| {
                    json["neighbors"].as_array().is_some_and(|n| {
                        n.iter().filter(|n| n["address"].as_str().is_some_and(|a| !a.contains(':'))).count()
                            == neighbors
                    })
                });
            }
        }
    }
    lab
}

fn kind_of(lab: &Lab, node: &str) -> RouterKind {
    lab.router(node).map(|r| r.kind).unwrap()
}

fn hatoctl_json(lab: &Lab, node: &str, request: &Request) -> Value {
    let socket = lab.router(node).and_then(|r| r.control_socket.clone()).unwrap();
    let outcome = hatoctl::control::execute(&socket, request, true);
    serde_json::from_str(&outcome.stdout).unwrap_or(Value::Null)
}

fn report(lab: &Lab) -> String {
    let mut text = lab.report();
    for router in ROUTERS {
        let out = match kind_of(lab, router) {
            RouterKind::Frr => {
                hato_lab::router::frr::vtysh(lab, router, "show ip mroute").unwrap_or_default()
            }
            _ => hatoctl_json(lab, router, &Request::ShowMroute { source: None, group: None }).to_string(),
        };
        text.push_str(&format!("-- {router}\n{out}\n"));
    }
    text
}

fn wait_hatod(lab: &Lab, node: &str, request: &Request, what: &str, predicate: impl Fn(&Value) -> bool) {
    poll_until(&format!("{node}: {what}"), DEADLINE, Duration::from_millis(20), || {
        let json = hatoctl_json(lab, node, request);
        if predicate(&json) {
            Probe::Done(())
        } else {
            Probe::Pending(json.to_string())
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)));
}

/// Waits until `node` holds a joined (*,G) (`source` None) or (S,G) downstream state.
fn wait_join(lab: &Lab, node: &str, source: Option<IpAddr>, group: IpAddr) {
    match kind_of(lab, node) {
        RouterKind::Frr => {
            let source = source.map_or_else(|| "*".to_string(), |s| s.to_string());
            wait_frr_mroute(lab, node, &source, &group.to_string(), false, DEADLINE)
                .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)));
        }
        _ => {
            let kind = if source.is_some() { "(S,G)" } else { "(*,G)" };
            wait_hatod(lab, node, &Request::ShowPimJoin, &format!("{kind} join for {group}"), |json| {
                json["states"].as_array().is_some_and(|states| {
                    states
                        .iter()
                        .any(|s| s["group"] == group.to_string() && s["kind"] == kind && s["state"] == "Join")
                })
            });
        }
    }
}

fn in_node<T: Send + 'static>(
    lab: &Lab,
    node: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    let path = PathBuf::from("/run/netns").join(lab.netns(node));
    std::thread::spawn(move || {
        let ns = File::open(&path).unwrap();
        nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
}

fn sender_addr(lab: &Lab) -> IpAddr {
    lab.addr("sender", "sender-r1", false).unwrap()
}

fn receive(
    lab: &Lab,
    group: IpAddr,
    source: Option<IpAddr>,
    run_id: u64,
    idle: Duration,
) -> JoinHandle<RecvReport> {
    let options = RecvOptions {
        group,
        port: PORT,
        source,
        iface: Some("eth0".into()),
        timeout: DEADLINE,
        idle: Some(idle),
        run_id: Some(run_id),
    };
    let handle = in_node(lab, "receiver", move || traffic::receive(&options).unwrap());
    poll_until(&format!("receiver joins {group}"), DEADLINE, Duration::from_millis(5), || {
        match lab.exec("receiver", &["ip", "-4", "maddr", "show", "dev", "eth0"]) {
            Ok(text) if text.contains(&group.to_string()) => Probe::Done(()),
            Ok(text) => Probe::Pending(text),
            Err(e) => Probe::Pending(e.to_string()),
        }
    })
    .unwrap();
    handle
}

fn send(lab: &Lab, group: IpAddr, run_id: u64, count: u32, interval: Duration) -> JoinHandle<SendReport> {
    let options = SendOptions {
        group,
        port: PORT,
        source: Some(sender_addr(lab)),
        iface: Some("eth0".into()),
        count,
        interval,
        ttl: 16,
        run_id,
        size: 100,
    };
    in_node(lab, "sender", move || traffic::send(&options).unwrap())
}

/// An ASM and an SSM flow of 300 packets, 10 ms apart, each delivered (90 %) exactly once, and
/// each router's kernel holding the (S,G).
fn flows(lab: &Lab) {
    let source = sender_addr(lab);
    for (run_id, (group, ssm)) in [("239.2.3.4", false), ("232.2.3.4", true)].into_iter().enumerate() {
        let group: IpAddr = group.parse().unwrap();
        let run_id = run_id as u64 + 1;
        let receiver = receive(lab, group, ssm.then_some(source), run_id, Duration::from_secs(2));
        if ssm {
            wait_join(lab, "r1", Some(source), group);
        } else {
            wait_join(lab, "r2", None, group);
        }
        let sent = send(lab, group, run_id, 300, Duration::from_millis(10)).join().unwrap();
        let got = receiver.join().unwrap();
        eprintln!("{group}: {got:?}");
        assert!(got.unique >= 270, "less than 90% received: {got:?}\n{}", report(lab));
        assert_eq!(got.duplicates, 0, "{got:?}");
        assert_eq!(sent.sent, 300);
        for router in ROUTERS {
            wait_kernel_sg(lab, router, source, group, Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)));
        }
    }
}

#[test]
fn rp_on_hatod_between_two_frr() {
    let lab = chain([RouterKind::Frr, RouterKind::Hatod, RouterKind::Frr]);
    flows(&lab);
}

#[test]
fn rp_on_frr_between_two_hatod() {
    let lab = chain([RouterKind::Hatod, RouterKind::Frr, RouterKind::Hatod]);
    flows(&lab);
}

/// Join-to-first-packet latencies (ms) of `runs` joins, each to a new group the sender already
/// streams at 1,000 packets/s (so that the first-hop router has registered it with the RP).
fn latencies(lab: &Lab, runs: u8) -> Vec<u128> {
    let source = sender_addr(lab);
    let mut samples = Vec::new();
    for run in 0..runs {
        let group: IpAddr = format!("239.9.9.{}", run + 1).parse().unwrap();
        let run_id = 100 + u64::from(run);
        let streaming = send(lab, group, run_id, 4000, Duration::from_millis(1));
        // The first-hop router has state for the source (it registers it with the RP).
        poll_until(&format!("r1 knows ({source}, {group})"), DEADLINE, Duration::from_millis(20), || {
            match hato_lab::poll::kernel_mroutes(lab, "r1", false) {
                Ok(routes) if routes.iter().any(|r| r.source == Some(source) && r.group == group) => {
                    Probe::Done(())
                }
                Ok(routes) => Probe::Pending(format!("{routes:?}")),
                Err(e) => Probe::Pending(e.to_string()),
            }
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)));
        let got = receive(lab, group, None, run_id, Duration::from_millis(200)).join().unwrap();
        let first = got.first_ms.unwrap_or_else(|| panic!("no packet: {got:?}\n{}", report(lab)));
        samples.push(first);
        streaming.join().unwrap();
    }
    samples
}

fn median(mut samples: Vec<u128>) -> u128 {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

#[test]
fn join_to_first_packet_latency_hatod_and_frr() {
    for kind in [RouterKind::Hatod, RouterKind::Frr] {
        let lab = chain([kind; 3]);
        let samples = latencies(&lab, 5);
        let median = median(samples.clone());
        eprintln!(
            "LATENCY {kind:?}: join to first packet, 3 routers, 1000 pps: median {median} ms of {samples:?}"
        );
        assert!(median < 2000, "{kind:?}: {samples:?}");
    }
}
