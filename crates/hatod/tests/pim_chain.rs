//! PIM-SM and PIM-SSM end to end on the real kernel: `sender - r1 - r2 - r3 - receiver`, three
//! hatod, static RP on r2.
//!
//! (a) IPv4: an ASM group joined with IGMPv3 and one with IGMPv2 reach the receiver through the RP
//! and the SPT, every router's `show mroute --json` holds the (S,G), and after the receiver leaves
//! r3 stops forwarding within a bounded time; an SSM group joined source-specifically builds only
//! (S,G) state, no (*,G) and nothing at the RP's shared tree. (b) The same for IPv6 with MLDv2.
//! Requires root.

use std::fs::File;
use std::net::IpAddr;
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use hato_control::Request;
use hato_lab::poll::{kernel_mroutes, poll_until, Probe};
use hato_lab::router::StaticRp;
use hato_lab::topology::Prefix;
use hato_lab::traffic::{self, RecvOptions, RecvReport, SendOptions, SendReport};
use hato_lab::{Lab, LabOptions, RouterConfig, RouterKind, Topology};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(30);
const PORT: u16 = 5001;
const ROUTERS: [&str; 3] = ["r1", "r2", "r3"];

fn require_root() {
    assert!(nix::unistd::geteuid().is_root(), "namespace tests need root (CI runs as root)");
}

/// The chain with hatod on every router, the RP on r2 (its address towards r1) for every ASM
/// group of both families.
fn chain() -> Lab {
    require_root();
    let options =
        LabOptions { hatod_binary: Some(env!("CARGO_BIN_EXE_hatod").into()), ..LabOptions::default() };
    let mut lab = Lab::start_with(Topology::chain(3).unwrap(), options).unwrap();
    let rp4 = lab.addr("r2", "r1-r2", false).unwrap();
    let rp6 = lab.addr("r2", "r1-r2", true).unwrap();
    let config = RouterConfig {
        static_rps: vec![
            StaticRp { rp: rp4, groups: Prefix { addr: "224.0.0.0".parse().unwrap(), len: 4 } },
            StaticRp { rp: rp6, groups: Prefix { addr: "ff00::".parse().unwrap(), len: 8 } },
        ],
        // Leaves take Last Member Query Count × Interval: 2 × 200 ms.
        extra: "[gmp]\nlast-member-query-interval-ms = 200\n".into(),
        ..RouterConfig::default()
    };
    for router in ROUTERS {
        lab.start_router(router, RouterKind::Hatod, &config).unwrap();
    }
    for (router, neighbors) in [("r1", 1), ("r2", 2), ("r3", 1)] {
        for v6 in [false, true] {
            wait_json(&lab, router, &Request::ShowPimNeighbors, "PIM neighbours", |json| {
                let count = json["neighbors"].as_array().map_or(0, |n| {
                    n.iter().filter(|n| n["address"].as_str().is_some_and(|a| a.contains(':') == v6)).count()
                });
                count == neighbors
            });
        }
    }
    lab
}

fn socket(lab: &Lab, node: &str) -> PathBuf {
    lab.router(node).and_then(|r| r.control_socket.clone()).unwrap()
}

/// `hatoctl -s SOCKET ... --json` on `node` through hatoctl's own code.
fn hatoctl_json(lab: &Lab, node: &str, request: &Request) -> Value {
    let outcome = hatoctl::control::execute(&socket(lab, node), request, true);
    assert_eq!(outcome.code, 0, "{node}: {request:?}: {}", outcome.stdout);
    serde_json::from_str(&outcome.stdout).unwrap_or(Value::Null)
}

/// The receiver's UDP InDatagrams (IPv4 and IPv6 together).
fn snmp_udp_in(lab: &Lab) -> u64 {
    let v4 = lab.exec("receiver", &["cat", "/proc/net/snmp"]).unwrap_or_default();
    let v6 = lab.exec("receiver", &["cat", "/proc/net/snmp6"]).unwrap_or_default();
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

fn report(lab: &Lab) -> String {
    let mut text = lab.report();
    for router in ROUTERS {
        for request in [Request::ShowMroute { source: None, group: None }, Request::ShowPimUpstream] {
            let outcome = hatoctl::control::execute(&socket(lab, router), &request, false);
            text.push_str(&format!("-- {router}: {request:?}\n{}\n", outcome.stdout));
        }
    }
    text
}

fn wait_json(
    lab: &Lab,
    node: &str,
    request: &Request,
    what: &str,
    predicate: impl Fn(&Value) -> bool,
) -> Value {
    poll_until(&format!("{node}: {what}"), DEADLINE, Duration::from_millis(50), || {
        let json = hatoctl_json(lab, node, request);
        if predicate(&json) {
            Probe::Done(json)
        } else {
            Probe::Pending(json.to_string())
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)))
}

/// Runs `f` on a thread inside `node`'s network namespace.
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

fn sender_addr(lab: &Lab, v6: bool) -> IpAddr {
    lab.addr("sender", "sender-r1", v6).unwrap()
}

/// Starts a receiver (source-specific when `source` is given) and waits until its socket joined.
fn receive(lab: &Lab, group: IpAddr, source: Option<IpAddr>, run_id: u64) -> JoinHandle<RecvReport> {
    let options = RecvOptions {
        group,
        port: PORT,
        source,
        iface: Some("eth0".into()),
        timeout: DEADLINE,
        idle: Some(Duration::from_secs(2)),
        run_id: Some(run_id),
    };
    let handle = in_node(lab, "receiver", move || traffic::receive(&options).unwrap());
    let family = if group.is_ipv6() { "-6" } else { "-4" };
    poll_until(&format!("receiver joins {group}"), DEADLINE, Duration::from_millis(10), || {
        match lab.exec("receiver", &["ip", family, "maddr", "show", "dev", "eth0"]) {
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
        source: Some(sender_addr(lab, group.is_ipv6())),
        iface: Some("eth0".into()),
        count,
        interval,
        ttl: 16,
        run_id,
        size: 100,
    };
    in_node(lab, "sender", move || traffic::send(&options).unwrap())
}

/// The entries of `show mroute --json` on `node` for `group`.
fn mroutes(lab: &Lab, node: &str, group: IpAddr) -> Vec<Value> {
    let json = hatoctl_json(lab, node, &Request::ShowMroute { source: None, group: Some(group) });
    json["entries"].as_array().cloned().unwrap_or_default()
}

/// Sends a flow of 300 packets, 10 ms apart, to a receiver that joined; checks delivery and the
/// (S,G) state on every router.
fn flow(lab: &Lab, group: IpAddr, ssm: bool, run_id: u64) {
    let v6 = group.is_ipv6();
    let source = sender_addr(lab, v6);
    let udp_before = snmp_udp_in(lab);
    let receiver = receive(lab, group, ssm.then_some(source), run_id);
    // The join has reached the first-hop router (SSM) or the RP (ASM).
    let (node, kind) = if ssm { ("r1", "(S,G)") } else { ("r2", "(*,G)") };
    wait_json(lab, node, &Request::ShowPimJoin, &format!("{kind} join for {group}"), |json| {
        json["states"].as_array().is_some_and(|states| {
            states
                .iter()
                .any(|s| s["group"] == group.to_string() && s["kind"] == kind && s["state"] == "Join")
        })
    });
    let sent = send(lab, group, run_id, 300, Duration::from_millis(10)).join().unwrap();
    assert_eq!(sent.sent, 300, "{sent:?}");
    let got = receiver.join().unwrap();
    eprintln!("{group}: {got:?}");
    assert!(got.unique >= 270, "less than 90% received: {got:?}\n{}", report(lab));
    assert_eq!(got.duplicates, 0, "{got:?}");
    assert_eq!(got.senders, vec![source], "{got:?}");
    for router in ROUTERS {
        let entries = mroutes(lab, router, group);
        let sg = entries
            .iter()
            .find(|e| e["source"] == source.to_string())
            .unwrap_or_else(|| panic!("{router}: no ({source}, {group}) in {entries:?}\n{}", report(lab)));
        assert_eq!(sg["installed"], true, "{router}: {sg}");
        assert!(sg["flags"].as_str().unwrap().contains('J'), "{router}: {sg}");
        assert!(sg["packets"].as_u64().unwrap() > 0, "{router}: {sg}");
        if ssm {
            assert!(
                entries.iter().all(|e| !e["source"].is_null() || e["group"] != group.to_string()),
                "{router}: (*,G) in SSM: {entries:?}"
            );
        }
    }
    let last_hop = mroutes(lab, "r3", group);
    let sg = last_hop.iter().find(|e| e["source"] == source.to_string()).unwrap();
    // Exactly one copy of each packet crossed the chain: the RP forwarded what it decapsulated
    // from Registers only until its source tree delivered.
    let delivered = snmp_udp_in(lab) - udp_before;
    // The few packets that crossed inside Registers carry the sender's partial UDP checksum (its
    // veth offloads checksums, and the register path hands the bytes to user space): the
    // receiver's kernel counts them as InCsumErrors. Real NICs complete checksums on the wire.
    eprintln!("{group}: r3 forwarded {} packets, the receiver's kernel took {delivered}", sg["packets"]);
    assert_eq!(delivered, got.received, "{got:?}");
    assert!(sg["packets"].as_u64().unwrap() <= u64::from(sent.sent), "{sg}\n{}", report(lab));
    assert_eq!(sg["incoming"], "eth0", "{sg}");
    assert_eq!(sg["outgoing"][0]["interface"], "eth1", "{sg}");
    assert_eq!(sg["outgoing"][0]["reasons"][0], "pim-local", "{sg}");
    if ssm {
        let upstream = hatoctl_json(lab, "r2", &Request::ShowPimUpstream);
        let star_g = upstream["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["group"] == group.to_string() && e["source"].is_null());
        assert!(!star_g, "r2 has (*,G) state for an SSM group: {upstream}");
    }
}

/// After the receiver left, r3's kernel entry stops forwarding to the receiver within a bound
/// (RFC 3376 §6.4: Last Member Query Count × Interval, 2 × 200 ms here) while the source keeps
/// sending.
fn leave_stops_forwarding(lab: &Lab, group: IpAddr, run_id: u64) {
    let v6 = group.is_ipv6();
    let source = sender_addr(lab, v6);
    let streaming = send(lab, group, run_id, 600, Duration::from_millis(10));
    let started = std::time::Instant::now();
    poll_until(
        &format!("r3 stops forwarding ({source}, {group})"),
        Duration::from_secs(5),
        Duration::from_millis(20),
        || match kernel_mroutes(lab, "r3", v6) {
            Ok(routes) => {
                let forwarding = routes.iter().any(|r| {
                    r.source == Some(source) && r.group == group && r.oifs.iter().any(|o| o == "eth1")
                });
                if forwarding {
                    Probe::Pending(format!("{routes:?}"))
                } else {
                    Probe::Done(())
                }
            }
            Err(e) => Probe::Pending(e.to_string()),
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)));
    eprintln!("{group}: r3 stopped forwarding {} ms after the leave", started.elapsed().as_millis());
    streaming.join().unwrap();
}

#[test]
fn ipv4_asm_and_ssm_through_three_hatod() {
    let lab = chain();
    let asm: IpAddr = "239.1.2.3".parse().unwrap();
    flow(&lab, asm, false, 1);
    leave_stops_forwarding(&lab, asm, 2);

    // The same with IGMPv2 (its leave goes to ALL-ROUTERS).
    lab.exec("receiver", &["sysctl", "-qw", "net.ipv4.conf.eth0.force_igmp_version=2"]).unwrap();
    let asm2: IpAddr = "239.1.2.4".parse().unwrap();
    flow(&lab, asm2, false, 3);
    leave_stops_forwarding(&lab, asm2, 4);
    lab.exec("receiver", &["sysctl", "-qw", "net.ipv4.conf.eth0.force_igmp_version=0"]).unwrap();

    let ssm: IpAddr = "232.1.2.3".parse().unwrap();
    flow(&lab, ssm, true, 5);
    leave_stops_forwarding(&lab, ssm, 6);
}

#[test]
fn ipv6_asm_and_ssm_through_three_hatod() {
    let lab = chain();
    // ff3x::/32 is SSM by default (RFC 4607 §1): ASM uses ff0e::/16.
    let asm: IpAddr = "ff0e::1:2:3".parse().unwrap();
    flow(&lab, asm, false, 11);
    leave_stops_forwarding(&lab, asm, 12);

    let ssm: IpAddr = "ff3e::1:2:3".parse().unwrap();
    flow(&lab, ssm, true, 13);
    leave_stops_forwarding(&lab, ssm, 14);
}
