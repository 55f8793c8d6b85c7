//! The bootstrap router mechanism (RFC 5059) on the wire, in namespaces, with troglobit pimd and
//! FRR (IPv4 only in Debian) and between hatod alone for IPv6:
//!
//! - pimd as candidate BSR and candidate RP between two hatod: both learn the BSR and the RP-Set,
//!   and an ASM flow crosses the RP it elected.
//! - hatod as candidate BSR and candidate RP between pimd and FRR: both peers learn the RP-Set from
//!   hatod's Bootstrap messages, and an ASM flow crosses hatod as RP.
//! - `accept-bootstrap = false`: a rogue pimd with a better BSR priority on an edge interface; hatod
//!   drops (and counts) its Bootstrap messages while the legitimate BSR stays elected everywhere.
//! - IPv6: three hatod, the middle one candidate BSR and RP, an ASM flow to ff0e::/16.
//!
//! Requires root, Debian's `frr` and the unpacked `pimd` (see `hato_lab::router::debpkg`).

use std::net::IpAddr;
use std::time::Duration;

use hato_control::Request;
use hato_lab::harness::{hatoctl_json, in_node, require_root};
use hato_lab::matrix::Scenario;
use hato_lab::poll::{poll_until, wait_frr_pim_neighbors, Probe};
use hato_lab::router::{frr, pimd, CandidateBsr, CandidateRp};
use hato_lab::topology::Prefix;
use hato_lab::traffic::{self, RecvOptions, RecvReport, SendOptions, SendReport};
use hato_lab::{Lab, LabOptions, RouterConfig, RouterKind, Topology};
use serde_json::Value;

/// Neighbours, joins and flows.
const DEADLINE: Duration = Duration::from_secs(40);
/// An RP-Set learned through a peer's BSR: pimd 2.3.2 sends its first Bootstrap message only
/// after its own election and its C-RP-Advertisements every `interval_secs`.
const RP_SET_DEADLINE: Duration = Duration::from_secs(90);
const PORT: u16 = 5002;
/// C-RP-Adv-Period of every candidate RP here, the shortest pimd and hatod accept.
const ADV_INTERVAL: u16 = 10;

fn options() -> LabOptions {
    LabOptions {
        hatod_binary: Some(env!("CARGO_BIN_EXE_hatod").into()),
        traffic_binary: None,
        keep_workdir: false,
    }
}

fn groups(text: &str) -> Prefix {
    let (addr, len) = text.split_once('/').unwrap();
    Prefix { addr: addr.parse().unwrap(), len: len.parse().unwrap() }
}

/// A candidate BSR and RP for `range` at `address`.
fn candidate(address: IpAddr, bsr_priority: u8, range: &str) -> RouterConfig {
    RouterConfig {
        candidate_bsr: Some(CandidateBsr { address, priority: bsr_priority }),
        candidate_rp: Some(CandidateRp {
            address,
            priority: 1,
            interval_secs: ADV_INTERVAL,
            groups: vec![groups(range)],
        }),
        bootstrap_period_secs: Some(10),
        igmp_version: Some(3),
        ..RouterConfig::default()
    }
}

fn plain() -> RouterConfig {
    RouterConfig { igmp_version: Some(3), ..RouterConfig::default() }
}

/// The lab's report with every router's BSR view.
fn report(lab: &Lab) -> String {
    let mut text = lab.report();
    for router in lab.routers() {
        let node = &router.node;
        let out = match router.kind {
            RouterKind::Frr => {
                frr::vtysh(lab, node, "show ip pim bsr").unwrap_or_default()
                    + &frr::vtysh(lab, node, "show ip pim rp-info").unwrap_or_default()
            }
            RouterKind::Pimd => pimd_dump(lab, node) + &pimd_rp_set(lab, node),
            _ => format!(
                "{}\n{}\n{}",
                hatoctl_json(lab, node, &Request::ShowPimBsr),
                hatoctl_json(lab, node, &Request::ShowPimRpSet),
                hatoctl_json(lab, node, &Request::ShowMroute { source: None, group: None })
            ),
        };
        text.push_str(&format!("-- {node} ({:?})\n{out}\n", router.kind));
    }
    text
}

fn pimd_dump(lab: &Lab, node: &str) -> String {
    let binary = pimd::binary().unwrap();
    lab.exec_in_router(node, &[binary.to_str().unwrap(), "-r"]).unwrap_or_else(|e| e.to_string())
}

/// pimd's RP-Set: `pimd -r` prints the interfaces and routes, and the running daemon logs its
/// Candidate RP Set and current BSR; this returns the last such block of its log.
fn pimd_rp_set(lab: &Lab, node: &str) -> String {
    pimd_dump(lab, node);
    let log = lab.router(node).and_then(|r| r.logs.first().cloned()).unwrap();
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.rfind("Candidate Rendezvous-Point Set").map_or_else(String::new, |at| text[at..].to_string())
}

/// Whether pimd's RP-Set block names `bsr` as current BSR and `rp` for `range` (pimd writes
/// 239.0.0.0/8 as `239/8`).
fn pimd_learned(block: &str, bsr: IpAddr, rp: IpAddr, range: &str) -> bool {
    block.contains(&format!("Current BSR address: {bsr}"))
        && block.lines().any(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            fields.first() == Some(&rp.to_string().as_str()) && fields.get(2) == Some(&range)
        })
}

/// Polls `check` until it holds; logs how long that took (the convergence figures).
fn wait(lab: &Lab, what: &str, deadline: Duration, mut check: impl FnMut() -> Result<(), String>) {
    let started = std::time::Instant::now();
    poll_until(what, deadline, Duration::from_millis(200), || match check() {
        Ok(()) => Probe::Done(()),
        Err(state) => Probe::Pending(state),
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)));
    eprintln!("BSR interop: {what} after {:.1} s", started.elapsed().as_secs_f64());
}

/// The family view of `show pim bsr` on a hatod.
fn hatod_bsr(lab: &Lab, node: &str, v6: bool) -> Value {
    let json = hatoctl_json(lab, node, &Request::ShowPimBsr);
    let family = if v6 { "ipv6" } else { "ipv4" };
    json["families"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["family"] == family).cloned())
        .unwrap_or(Value::Null)
}

/// Waits until the hatod on `node` has `bsr` as elected BSR and `rp` in its BSR-learned RP-Set
/// for `range`.
fn wait_hatod_learns(lab: &Lab, node: &str, bsr: IpAddr, rp: IpAddr, range: &str) {
    wait(lab, &format!("{node} learns BSR {bsr} and RP {rp} for {range}"), RP_SET_DEADLINE, || {
        let view = hatod_bsr(lab, node, bsr.is_ipv6());
        let set = hatoctl_json(lab, node, &Request::ShowPimRpSet);
        let learned = set["entries"].as_array().is_some_and(|entries| {
            entries.iter().any(|e| e["origin"] == "bsr" && e["rp"] == rp.to_string() && e["range"] == range)
        });
        if view["elected"] == bsr.to_string() && learned {
            Ok(())
        } else {
            Err(format!("{view}\n{set}"))
        }
    });
}

/// Waits until `node`'s RP for `group` (`show pim rp`) is `rp`, learned from the BSR.
fn wait_hatod_rp(lab: &Lab, node: &str, group: IpAddr, rp: IpAddr) {
    wait(lab, &format!("{node} maps {group} to {rp}"), DEADLINE, || {
        let json = hatoctl_json(lab, node, &Request::ShowPimRp { group });
        if json["rp"] == rp.to_string() && json["source"] == "bsr" {
            Ok(())
        } else {
            Err(json.to_string())
        }
    });
}

fn wait_hatod_neighbors(lab: &Lab, node: &str, count: usize, v6: bool) {
    wait(lab, &format!("{node} has {count} PIM neighbours"), DEADLINE, || {
        let json = hatoctl_json(lab, node, &Request::ShowPimNeighbors);
        let n = json["neighbors"].as_array().map_or(0, |n| {
            n.iter().filter(|n| n["address"].as_str().is_some_and(|a| a.contains(':') == v6)).count()
        });
        if n == count {
            Ok(())
        } else {
            Err(json.to_string())
        }
    });
}

/// UDP datagrams the receiver's kernel delivered to sockets (checksum good).
fn udp_delivered(lab: &Lab, v6: bool) -> u64 {
    if v6 {
        let text = lab.exec("receiver", &["cat", "/proc/net/snmp6"]).unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("Udp6InDatagrams"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    } else {
        let text = lab.exec("receiver", &["cat", "/proc/net/snmp"]).unwrap_or_default();
        let udp: Vec<Vec<&str>> =
            text.lines().filter(|l| l.starts_with("Udp:")).map(|l| l.split_whitespace().collect()).collect();
        let column = udp.first().and_then(|h| h.iter().position(|f| *f == "InDatagrams"));
        column.and_then(|c| udp.get(1).and_then(|v| v.get(c))).and_then(|v| v.parse().ok()).unwrap_or(0)
    }
}

/// An ASM flow from `sender` to `receiver` (both on `eth0`), measured once the shortest-path
/// tree carries it: a warm-up stream runs until the receiver's kernel delivers its packets (the
/// first ones cross the RP inside Registers, with the partial UDP checksum the sender's veth
/// leaves, and are dropped by the receiver: see ARCHITECTURE.md), then 300 packets 10 ms apart
/// must arrive (90 %) once each. `joined` says when the routers hold the receiver's join.
fn asm_flow(lab: &Lab, group: IpAddr, run_id: u64, joined: impl Fn()) {
    let v6 = group.is_ipv6();
    let source = lab.addr("sender", "sender-r1", v6).unwrap();
    let recv = RecvOptions {
        group,
        port: PORT,
        source: None,
        iface: Some("eth0".into()),
        timeout: Duration::from_secs(120),
        idle: Some(Duration::from_secs(3)),
        run_id: Some(run_id),
    };
    let receiver = in_node(lab, "receiver", move || traffic::receive(&recv).unwrap());
    let family = if v6 { "-6" } else { "-4" };
    wait(lab, &format!("receiver joins {group}"), DEADLINE, || {
        let text = lab
            .exec("receiver", &["ip", family, "maddr", "show", "dev", "eth0"])
            .map_err(|e| e.to_string())?;
        if text.contains(&group.to_string()) {
            Ok(())
        } else {
            Err(text)
        }
    });
    joined();
    let stream = |run_id: u64, count: u32| SendOptions::stream(group, PORT, Some(source), count, run_id);
    let before = udp_delivered(lab, v6);
    let warm_up = stream(run_id + 1000, 2500);
    let warming = in_node(lab, "sender", move || traffic::send(&warm_up).unwrap());
    wait(lab, &format!("{group} reaches the receiver natively"), DEADLINE, || {
        let delivered = udp_delivered(lab, v6) - before;
        if delivered >= 100 {
            Ok(())
        } else {
            Err(format!("{delivered} delivered"))
        }
    });
    warming.join().unwrap();
    let measured = stream(run_id, 300);
    let sent: SendReport = in_node(lab, "sender", move || traffic::send(&measured).unwrap()).join().unwrap();
    let got: RecvReport = receiver.join().unwrap();
    eprintln!("{group}: sent {} received {got:?}", sent.sent);
    assert_eq!(sent.sent, 300);
    assert!(got.unique >= 270, "less than 90% received: {got:?}\n{}", report(lab));
    assert_eq!(got.duplicates, 0, "{got:?}");
}

/// Waits until a hatod holds a (*,G) Join for `group` (the receiver's join reached it).
fn wait_hatod_star_g(lab: &Lab, node: &str, group: IpAddr) {
    wait(lab, &format!("{node} holds (*,{group})"), DEADLINE, || {
        let json = hatoctl_json(lab, node, &Request::ShowPimJoin);
        let joined = json["states"].as_array().is_some_and(|states| {
            states
                .iter()
                .any(|s| s["group"] == group.to_string() && s["kind"] == "(*,G)" && s["state"] == "Join")
        });
        if joined {
            Ok(())
        } else {
            Err(json.to_string())
        }
    });
}

#[test]
fn pimd_bsr_and_rp_serve_hatod() {
    require_root();
    let _scenario = Scenario::new(
        "BSR: pimd C-BSR and C-RP, hatod learn the RP-Set, IPv4 ASM",
        &["hatod", "pimd", "hatod"],
    );
    let mut lab = Lab::start_with(Topology::chain(3).unwrap(), options()).unwrap();
    let bsr = lab.addr("r2", "r1-r2", false).unwrap();
    lab.start_router("r1", RouterKind::Hatod, &plain()).unwrap();
    lab.start_router("r2", RouterKind::Pimd, &candidate(bsr, 20, "239.0.0.0/8")).unwrap();
    lab.start_router("r3", RouterKind::Hatod, &plain()).unwrap();
    for node in ["r1", "r3"] {
        wait_hatod_neighbors(&lab, node, 1, false);
    }
    for node in ["r1", "r3"] {
        wait_hatod_learns(&lab, node, bsr, bsr, "239.0.0.0/8");
    }
    let group: IpAddr = "239.5.6.7".parse().unwrap();
    for node in ["r1", "r3"] {
        wait_hatod_rp(&lab, node, group, bsr);
    }
    asm_flow(&lab, group, 1, || {
        wait(&lab, &format!("pimd on r2 holds (*,{group})"), DEADLINE, || {
            let dump = pimd_dump(&lab, "r2");
            let joined =
                dump.lines().any(|l| l.split_whitespace().take(2).eq(["INADDR_ANY", &group.to_string()]));
            if joined {
                Ok(())
            } else {
                Err(dump)
            }
        })
    });
}

/// FRR's `show ip pim bsr json` names `bsr` as the BSR, and `show ip pim rp-info json` has `rp`
/// from the BSR for `range`.
fn frr_learned(lab: &Lab, node: &str, bsr: IpAddr, rp: IpAddr, range: &str) -> Result<(), String> {
    let bsr_json = frr::vtysh_json(lab, node, "show ip pim bsr json").map_err(|e| e.to_string())?;
    let rp_json = frr::vtysh_json(lab, node, "show ip pim rp-info json").map_err(|e| e.to_string())?;
    let bsr_ok = bsr_json.to_string().contains(&format!("\"{bsr}\""));
    let rp_ok =
        rp_json.as_object().and_then(|m| m.get(&rp.to_string())).and_then(Value::as_array).is_some_and(
            |rows| {
                rows.iter().any(|r| {
                    r["group"] == range && r["source"].as_str().is_some_and(|s| s.eq_ignore_ascii_case("bsr"))
                })
            },
        );
    if bsr_ok && rp_ok {
        Ok(())
    } else {
        Err(format!("{bsr_json}\n{rp_json}"))
    }
}

#[test]
fn hatod_bsr_and_rp_serve_pimd_and_frr() {
    require_root();
    let _scenario = Scenario::new(
        "BSR: hatod C-BSR and C-RP, pimd and FRR learn the RP-Set, IPv4 ASM",
        &["pimd", "hatod", "frr"],
    );
    let mut lab = Lab::start_with(Topology::chain(3).unwrap(), options()).unwrap();
    let bsr = lab.addr("r2", "r1-r2", false).unwrap();
    lab.start_router("r1", RouterKind::Pimd, &plain()).unwrap();
    lab.start_router("r2", RouterKind::Hatod, &candidate(bsr, 20, "239.0.0.0/8")).unwrap();
    lab.start_router("r3", RouterKind::Frr, &plain()).unwrap();
    wait_hatod_neighbors(&lab, "r2", 2, false);
    wait_frr_pim_neighbors(&lab, "r3", 1, DEADLINE).unwrap_or_else(|e| panic!("{e}\n{}", report(&lab)));
    wait_hatod_learns(&lab, "r2", bsr, bsr, "239.0.0.0/8");
    wait(&lab, "FRR learns hatod's BSR and RP", RP_SET_DEADLINE, || {
        frr_learned(&lab, "r3", bsr, bsr, "239.0.0.0/8")
    });
    wait(&lab, "pimd learns hatod's BSR and RP", RP_SET_DEADLINE, || {
        let block = pimd_rp_set(&lab, "r1");
        if pimd_learned(&block, bsr, bsr, "239/8") {
            Ok(())
        } else {
            Err(block)
        }
    });
    let group: IpAddr = "239.6.7.8".parse().unwrap();
    asm_flow(&lab, group, 2, || wait_hatod_star_g(&lab, "r2", group));
}

#[test]
fn accept_bootstrap_keeps_a_rogue_bsr_out() {
    require_root();
    let _scenario = Scenario::new(
        "BSR: accept-bootstrap drops a rogue pimd BSR at the edge, IPv4",
        &["hatod", "hatod", "hatod", "pimd"],
    );
    let mut topology = Topology::chain(3).unwrap();
    topology.router("rogue").unwrap();
    topology.link("r2", "rogue", 1).unwrap();
    let mut lab = Lab::start_with(topology, options()).unwrap();
    let bsr = lab.addr("r1", "r1-r2", false).unwrap();
    let rogue = lab.addr("rogue", "r2-rogue", false).unwrap();
    lab.start_router("r1", RouterKind::Hatod, &candidate(bsr, 10, "239.0.0.0/8")).unwrap();
    let edge = RouterConfig { refuse_bootstrap_on: vec!["r2-rogue".into()], ..plain() };
    lab.start_router("r2", RouterKind::Hatod, &edge).unwrap();
    lab.start_router("r3", RouterKind::Hatod, &plain()).unwrap();
    // A better BSR priority and a better RP priority than the legitimate candidates.
    lab.start_router("rogue", RouterKind::Pimd, &candidate(rogue, 200, "239.0.0.0/8")).unwrap();
    wait_hatod_neighbors(&lab, "r2", 3, false);
    for node in ["r2", "r3"] {
        wait_hatod_learns(&lab, node, bsr, bsr, "239.0.0.0/8");
    }
    // The rogue originates Bootstrap messages once it elects itself; r2 drops them at the edge.
    wait(&lab, "r2 drops the rogue's Bootstrap messages", RP_SET_DEADLINE, || {
        let view = hatod_bsr(&lab, "r2", false);
        if view["bootstrap_filtered"].as_u64().is_some_and(|n| n >= 1) {
            Ok(())
        } else {
            Err(view.to_string())
        }
    });
    wait(&lab, "the rogue is its own BSR", DEADLINE, || {
        let block = pimd_rp_set(&lab, "rogue");
        if pimd_learned(&block, rogue, rogue, "239/8") {
            Ok(())
        } else {
            Err(block)
        }
    });
    // The legitimate BSR and RP stay in force domain-wide, and the rogue's RP never appears.
    let group: IpAddr = "239.7.8.9".parse().unwrap();
    for node in ["r1", "r2", "r3"] {
        let view = hatod_bsr(&lab, node, false);
        assert_eq!(view["elected"], bsr.to_string(), "{node}: {view}\n{}", report(&lab));
        let set = hatoctl_json(&lab, node, &Request::ShowPimRpSet).to_string();
        assert!(!set.contains(&rogue.to_string()), "{node} learned the rogue's RP: {set}");
        wait_hatod_rp(&lab, node, group, bsr);
    }
    let filtered = hatod_bsr(&lab, "r2", false)["bootstrap_filtered"].as_u64().unwrap();
    eprintln!("r2 filtered {filtered} Bootstrap messages from the rogue");
    asm_flow(&lab, group, 3, || wait_hatod_star_g(&lab, "r2", group));
}

#[test]
fn ipv6_hatod_bsr_and_rp() {
    require_root();
    let _scenario = Scenario::new("BSR: hatod C-BSR and C-RP, IPv6 ASM", &["hatod", "hatod", "hatod"]);
    let mut lab = Lab::start_with(Topology::chain(3).unwrap(), options()).unwrap();
    let bsr = lab.addr("r2", "r1-r2", true).unwrap();
    lab.start_router("r1", RouterKind::Hatod, &plain()).unwrap();
    lab.start_router("r2", RouterKind::Hatod, &candidate(bsr, 20, "ff0e::/16")).unwrap();
    lab.start_router("r3", RouterKind::Hatod, &plain()).unwrap();
    for node in ["r1", "r3"] {
        wait_hatod_neighbors(&lab, node, 1, true);
        wait_hatod_learns(&lab, node, bsr, bsr, "ff0e::/16");
    }
    let group: IpAddr = "ff0e::5:6".parse().unwrap();
    for node in ["r1", "r3"] {
        wait_hatod_rp(&lab, node, group, bsr);
    }
    asm_flow(&lab, group, 4, || wait_hatod_star_g(&lab, "r2", group));
}
