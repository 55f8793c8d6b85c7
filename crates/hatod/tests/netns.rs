//! hatod on the real kernel, in namespaces: `sender - r1 (hatod) - receiver`.
//!
//! (a) static flows forward IPv4 and IPv6 UDP multicast, visible in `ip -j mroute` and
//! `hatoctl show mroute --json`; (b) `show rpf` follows unicast route changes, and a `[[mroute]]`
//! overrides them; (c) ten reloads while a flow streams lose none of its packets; (d) a bad
//! configuration is refused with its file and line and the running one stays; hatod refuses to
//! start with fewer than two usable interfaces. Requires root.

use std::net::IpAddr;
use std::time::Duration;

use hato_control::Request;
use hato_lab::harness::{self, receive, recv_options, require_root, send, send_options};
use hato_lab::poll::{kernel_mroutes, poll_until, wait_kernel_sg, Probe};
use hato_lab::router::hatod;
use hato_lab::router::StaticMroute;
use hato_lab::traffic::{RecvReport, SendReport};
use hato_lab::{Lab, LabOptions, RouterConfig, RouterKind, Topology};
use serde_json::Value;
use std::thread::JoinHandle;

const DEADLINE: Duration = Duration::from_secs(20);

fn chain() -> Lab {
    require_root();
    let options =
        LabOptions { hatod_binary: Some(env!("CARGO_BIN_EXE_hatod").into()), ..LabOptions::default() };
    Lab::start_with(Topology::chain(1).unwrap(), options).unwrap()
}

fn addr(lab: &Lab, node: &str, segment: &str, v6: bool) -> IpAddr {
    lab.addr(node, segment, v6).unwrap()
}

fn flow(lab: &Lab, group: &str, v6: bool) -> StaticMroute {
    StaticMroute {
        from: "eth0".into(),
        source: Some(addr(lab, "sender", "sender-r1", v6)),
        group: group.parse().unwrap(),
        to: vec!["eth1".into()],
    }
}

/// `hatoctl ... --json` against r1: the JSON and the exit code.
fn hatoctl_json(lab: &Lab, request: &Request) -> (Value, u8) {
    let outcome = harness::hatoctl(lab, "r1", request, true);
    (serde_json::from_str(&outcome.stdout).unwrap_or(Value::Null), outcome.code)
}

/// Starts a receiver on the receiver node and waits until its socket has joined the group.
fn receive_group(lab: &Lab, group: IpAddr, run_id: u64, timeout: Duration) -> JoinHandle<RecvReport> {
    let options = recv_options(group, None, run_id);
    receive(
        lab,
        "receiver",
        hato_lab::traffic::RecvOptions { timeout, idle: Some(Duration::from_secs(3)), ..options },
    )
}

fn send_group(
    lab: &Lab,
    group: IpAddr,
    run_id: u64,
    count: u32,
    interval: Duration,
) -> JoinHandle<SendReport> {
    let source = addr(lab, "sender", "sender-r1", group.is_ipv6());
    send(lab, "sender", send_options(source, group, run_id, count, interval))
}

/// Sends single probe datagrams until r1's entry for (source, group) counts one: right after
/// the namespaces are built the kernel drops IPv6 multicast for a moment (as `Ip6InNoRoutes`).
fn wait_forwarding(lab: &Lab, source: IpAddr, group: IpAddr) {
    let request = Request::ShowMroute { source: Some(source), group: Some(group) };
    poll_until(&format!("r1 forwards ({source}, {group})"), DEADLINE, Duration::from_millis(100), || {
        send_group(lab, group, 0, 1, Duration::ZERO).join().unwrap();
        let (json, _) = hatoctl_json(lab, &request);
        match json["entries"][0]["packets"].as_u64() {
            Some(packets) if packets > 0 => Probe::Done(()),
            _ => Probe::Pending(json.to_string()),
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)));
}

fn report(lab: &Lab) -> String {
    let mut text = harness::report(lab);
    for (node, argv) in [
        ("r1", vec!["ip", "-6", "-s", "mroute", "show"]),
        ("r1", vec!["ip", "-s", "mroute", "show"]),
        ("r1", vec!["grep", "-E", "Ip6In|Ip6Out(Mcast|NoRoutes)", "/proc/net/snmp6"]),
    ] {
        let out = lab.exec(node, &argv).unwrap_or_else(|e| e.to_string());
        text.push_str(&format!("-- {node}: {}\n{out}\n", argv.join(" ")));
    }
    text
}

#[test]
fn static_flows_forward_both_families() {
    let mut lab = chain();
    let config = RouterConfig {
        static_mroutes: vec![flow(&lab, "239.1.1.1", false), flow(&lab, "ff3e::4242", true)],
        ..RouterConfig::default()
    };
    lab.start_router("r1", RouterKind::Hatod, &config).unwrap();
    for (group, v6) in [("ff3e::4242", true), ("239.1.1.1", false)] {
        let group: IpAddr = group.parse().unwrap();
        let source = addr(&lab, "sender", "sender-r1", v6);
        let entry = wait_kernel_sg(&lab, "r1", source, group, DEADLINE)
            .unwrap_or_else(|e| panic!("{e}\n{}", report(&lab)));
        assert_eq!((entry.iif.as_deref(), entry.oifs.clone()), (Some("eth0"), vec!["eth1".to_string()]));

        let run_id = u64::from(v6) + 100;
        wait_forwarding(&lab, source, group);
        let receiver = receive_group(&lab, group, run_id, DEADLINE);
        let sent = send_group(&lab, group, run_id, 50, Duration::from_millis(5)).join().unwrap();
        assert_eq!(sent.sent, 50);
        let got = receiver.join().unwrap();
        assert_eq!(got.unique, 50, "{got:?}\n{}", report(&lab));

        let (json, code) =
            hatoctl_json(&lab, &Request::ShowMroute { source: Some(source), group: Some(group) });
        assert_eq!(code, 0, "{json}");
        let entries = json["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{json}");
        let entry = &entries[0];
        assert_eq!(entry["incoming"], "eth0");
        assert_eq!(entry["installed"], true);
        assert_eq!(entry["flags"], "ST");
        assert_eq!(entry["outgoing"][0]["interface"], "eth1");
        assert_eq!(entry["outgoing"][0]["reasons"][0], "static-flow");
        assert!(entry["packets"].as_u64().unwrap() > 50, "{json}");
    }
    let (json, code) = hatoctl_json(&lab, &Request::ShowInterfaces);
    assert_eq!(code, 0);
    let names: Vec<&str> =
        json["interfaces"].as_array().unwrap().iter().filter_map(|i| i["name"].as_str()).collect();
    // The kernel creates pimreg / pim6reg with the register VIFs (PIM runs on eth0 and eth1).
    assert_eq!(names, vec!["lo", "eth0", "eth1", "pimreg", "pim6reg"]);
    assert_eq!(json["interfaces"][1]["vif4"], 0);
    assert_eq!(json["interfaces"][2]["vif6"], 1);

    // `hatoctl dump`: pim6sd's state dump of both families, with the register VIF and the
    // installed static flows (CACHE).
    let (json, code) = hatoctl_json(&lab, &Request::Dump);
    assert_eq!(code, 0, "{json}");
    let families = json["families"].as_array().unwrap();
    let names: Vec<&str> = families.iter().filter_map(|f| f["family"].as_str()).collect();
    assert_eq!(names, ["ipv4", "ipv6"]);
    for family in families {
        let cached = family["routes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["flags"].as_array().unwrap().iter().any(|flag| flag == "CACHE"));
        assert!(cached, "{family}");
        let interfaces = family["interfaces"].as_array().unwrap();
        assert!(interfaces.iter().any(|i| i["interface"] == "regist"), "{family}");
    }

    // USR1 / USR2: the routing table and the forwarding cache in mrouted's layouts.
    let dir = hatod::runtime_dir(&lab, "r1").unwrap();
    for (signal, file, expected) in [
        (
            nix::sys::signal::Signal::SIGUSR1,
            "hatod.dump",
            " 198.18.0.1                            -     -  0     1*",
        ),
        (nix::sys::signal::Signal::SIGUSR2, "hatod.cache", " >fd00:18::1"),
    ] {
        signal_router(&lab, signal);
        let path = dir.join(file);
        poll_until(&format!("{file} written"), DEADLINE, Duration::from_millis(20), || {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.contains(expected) {
                Probe::Done(())
            } else {
                Probe::Pending(text)
            }
        })
        .unwrap();
    }
    let cache = std::fs::read_to_string(dir.join("hatod.cache")).unwrap();
    assert!(
        cache.starts_with("Multicast Routing Cache Table (2 entries)\n Origin         Mcast-group"),
        "{cache}"
    );
}

fn rpf(lab: &Lab, address: &str) -> Value {
    let (json, code) = hatoctl_json(lab, &Request::ShowRpf { address: address.parse().unwrap() });
    assert_eq!(code, 0, "{json}");
    json
}

fn wait_rpf(lab: &Lab, address: &str, predicate: impl Fn(&Value) -> bool) -> Value {
    poll_until(&format!("rpf {address}"), DEADLINE, Duration::from_millis(50), || {
        let json = rpf(lab, address);
        if predicate(&json) {
            Probe::Done(json)
        } else {
            Probe::Pending(json.to_string())
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)))
}

#[test]
fn rpf_follows_routes_and_static_mroutes_win() {
    let mut lab = chain();
    let receiver = addr(&lab, "receiver", "r1-receiver", false);
    let config = RouterConfig {
        extra: format!("[[mroute]]\nsource = \"198.18.201.0/24\"\nvia = \"{receiver}\"\n"),
        ..RouterConfig::default()
    };
    lab.start_router("r1", RouterKind::Hatod, &config).unwrap();
    let sender = addr(&lab, "sender", "sender-r1", false).to_string();
    let json = wait_rpf(&lab, &sender, |j| j["interface"] == "eth0");
    assert_eq!(json["origin"], "connected");

    // A route towards the receiver's side, then a longer one towards the sender's side.
    lab.exec("r1", &["ip", "route", "add", "198.18.200.0/24", "via", &receiver.to_string()]).unwrap();
    wait_rpf(&lab, "198.18.200.7", |j| j["interface"] == "eth1");
    lab.exec("r1", &["ip", "route", "add", "198.18.200.0/25", "via", &sender]).unwrap();
    let json = wait_rpf(&lab, "198.18.200.7", |j| j["interface"] == "eth0");
    assert_eq!(json["neighbor"], sender.as_str());
    assert_eq!(json["static_mroute"], false);

    // The static mroute for 198.18.201.0/24 beats a unicast route towards the sender.
    lab.exec("r1", &["ip", "route", "add", "198.18.201.0/24", "via", &sender]).unwrap();
    let json = wait_rpf(&lab, "198.18.201.9", |j| j["table"] == "mrib");
    assert_eq!(json["interface"], "eth1");
    assert_eq!(json["origin"], "Mroute");
    assert_eq!(json["static_mroute"], true);
    assert!(json["explanation"].as_str().unwrap().contains("Mroute"), "{json}");
}

/// The RPF engine's counters from `show counters --json`.
fn rpf_counter(lab: &Lab, name: &str) -> u64 {
    let (json, code) = hatoctl_json(lab, &Request::ShowCounters);
    assert_eq!(code, 0, "{json}");
    json["rpf"][name].as_u64().unwrap_or(0)
}

#[test]
fn a_burst_of_route_flaps_is_damped() {
    let mut lab = chain();
    lab.start_router("r1", RouterKind::Hatod, &RouterConfig::default()).unwrap();
    let receiver = addr(&lab, "receiver", "r1-receiver", false).to_string();
    let sender = addr(&lab, "sender", "sender-r1", false).to_string();
    wait_rpf(&lab, &sender, |j| j["interface"] == "eth0");
    let before = (rpf_counter(&lab, "rpf4-changes"), rpf_counter(&lab, "rpf4-recomputations"));

    // 100 route changes in one burst (50 adds, 50 deletes), as one `ip -batch` run.
    let batch = lab.workdir().join("flaps.batch");
    let lines: String = (0..50)
        .map(|_| format!("route add 198.18.202.0/24 via {receiver}\nroute del 198.18.202.0/24\n"))
        .collect();
    std::fs::write(&batch, lines).unwrap();
    lab.exec("r1", &["ip", "-batch", batch.to_str().unwrap()]).unwrap();

    // Every change reaches the engine ...
    let changes = poll_until("100 route changes seen", DEADLINE, Duration::from_millis(50), || {
        let changes = rpf_counter(&lab, "rpf4-changes") - before.0;
        if changes >= 100 {
            Probe::Done(changes)
        } else {
            Probe::Pending(format!("{changes} changes"))
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", report(&lab)));
    assert!((100..=110).contains(&changes), "{changes} changes");
    // ... and once the backoff (500 ms, doubling to 5 s) has run out, they were handled in a few
    // recomputations, not one per change.
    let recomputations = poll_until("the damped recomputation", DEADLINE, Duration::from_millis(100), || {
        let done = rpf_counter(&lab, "rpf4-recomputations") - before.1;
        if done >= 1 {
            Probe::Done(done)
        } else {
            Probe::Pending(format!("{done} recomputations"))
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", report(&lab)));
    assert!(recomputations <= 5, "{recomputations} recomputations for 100 changes");
    // The burst ended with the route removed: the answer is back on the connected sender side.
    let json = wait_rpf(&lab, "198.18.202.1", |j| j["interface"] != "eth1");
    assert_ne!(json["interface"], "eth1", "{json}");
}

fn reloads(lab: &Lab) -> u64 {
    let (json, _) = hatoctl_json(lab, &Request::Status);
    json["reloads"].as_u64().unwrap_or(0)
}

fn signal_router(lab: &Lab, signal: nix::sys::signal::Signal) {
    let pid = lab.router("r1").unwrap().pids[0];
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap());
    nix::sys::signal::kill(pid, signal).unwrap();
}

fn hup(lab: &Lab) {
    signal_router(lab, nix::sys::signal::Signal::SIGHUP);
}

#[test]
fn reloads_do_not_disturb_a_streaming_flow() {
    let mut lab = chain();
    let config =
        RouterConfig { static_mroutes: vec![flow(&lab, "239.1.1.1", false)], ..RouterConfig::default() };
    lab.start_router("r1", RouterKind::Hatod, &config).unwrap();
    let group: IpAddr = "239.1.1.1".parse().unwrap();
    let source = addr(&lab, "sender", "sender-r1", false);
    wait_kernel_sg(&lab, "r1", source, group, DEADLINE).unwrap();

    let conf_path = hatod::config_path(&lab, "r1").unwrap();
    let original = std::fs::read_to_string(&conf_path).unwrap();
    let second = flow(&lab, "239.1.1.2", false);
    let changed = format!(
        "{original}\n[[static-flow]]\nsource = \"{}\"\ngroup = \"{}\"\ninput = \"eth0\"\noutputs = [\"eth1\"]\n\n[pim]\nhello-period = 45\n",
        second.source.unwrap(),
        second.group
    );

    const COUNT: u32 = 1500;
    wait_forwarding(&lab, source, group);
    let receiver = receive_group(&lab, group, 7, Duration::from_secs(60));
    let sender = send_group(&lab, group, 7, COUNT, Duration::from_millis(3));
    for round in 0..10u64 {
        let text = if round % 2 == 0 { &changed } else { &original };
        std::fs::write(&conf_path, text).unwrap();
        let before = reloads(&lab);
        hup(&lab);
        poll_until("reload applied", DEADLINE, Duration::from_millis(10), || {
            if reloads(&lab) > before {
                Probe::Done(())
            } else {
                Probe::Pending(format!("reloads {before}"))
            }
        })
        .unwrap();
        if round == 0 {
            wait_kernel_sg(&lab, "r1", source, second.group, DEADLINE).unwrap();
        }
    }
    assert_eq!(reloads(&lab), 10);
    let sent = sender.join().unwrap();
    let got = receiver.join().unwrap();
    assert_eq!(sent.sent, COUNT);
    assert_eq!((got.unique, got.lost, got.duplicates), (u64::from(COUNT), 0, 0), "{got:?}\n{}", report(&lab));
    // The last reload went back to the original file: the second flow is gone again.
    let routes = kernel_mroutes(&lab, "r1", false).unwrap();
    assert!(routes.iter().all(|r| r.group != second.group), "{routes:?}");
}

#[test]
fn bad_configuration_is_refused_and_the_old_one_stays() {
    let mut lab = chain();
    let config =
        RouterConfig { static_mroutes: vec![flow(&lab, "239.1.1.1", false)], ..RouterConfig::default() };
    lab.start_router("r1", RouterKind::Hatod, &config).unwrap();
    let source = addr(&lab, "sender", "sender-r1", false);
    let group: IpAddr = "239.1.1.1".parse().unwrap();
    wait_kernel_sg(&lab, "r1", source, group, DEADLINE).unwrap();

    let conf_path = hatod::config_path(&lab, "r1").unwrap();
    let original = std::fs::read_to_string(&conf_path).unwrap();
    std::fs::write(&conf_path, format!("{original}\n[pim]\nhello-period = 2\n")).unwrap();
    let line = original.lines().count() + 3;
    let expected = format!("hato.toml:{line}:16: pim.hello-period = 2: must be 5..=3600");

    let outcome = harness::hatoctl(&lab, "r1", &Request::Reload, false);
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert!(outcome.stderr.contains("reload refused") && outcome.stderr.contains(&expected), "{outcome:?}");

    hup(&lab);
    let log = lab.router("r1").unwrap().logs[0].clone();
    poll_until("the refusal is logged twice", DEADLINE, Duration::from_millis(20), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.matches("reload refused").count() >= 2 && text.contains(&expected) {
            Probe::Done(())
        } else {
            Probe::Pending(text)
        }
    })
    .unwrap();
    let (json, code) = hatoctl_json(&lab, &Request::Status);
    assert_eq!((code, json["reloads"].as_u64()), (0, Some(0)), "{json}");
    wait_kernel_sg(&lab, "r1", source, group, DEADLINE).unwrap();
}

#[test]
fn too_few_interfaces_is_refused_with_the_reason() {
    let lab = chain();
    let dir = lab.node_dir("r1").unwrap();
    let conf = dir.join("one.toml");
    std::fs::write(&conf, "[global]\nauto-interfaces = false\n[[interface]]\nname = \"eth0\"\n").unwrap();
    let hatod = env!("CARGO_BIN_EXE_hatod");
    let output = hato_lab::exec::run_unchecked(
        Some(&lab.netns("r1")),
        &[hatod, "-f", conf.to_str().unwrap(), "-r", dir.to_str().unwrap()],
        DEADLINE,
    )
    .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stderr.contains("needs at least two usable interfaces"), "{output:?}");
    assert!(output.stderr.contains("eth1: not configured"), "{output:?}");
}
