//! PIM-SM and PIM-SSM end to end on the real kernel: `sender - r1 - r2 - r3 - receiver`, three
//! hatod, static RP on r2.
//!
//! (a) IPv4: an ASM group joined with IGMPv3 and one with IGMPv2 reach the receiver through the RP
//! and the SPT, every router's `show mroute --json` holds the (S,G), and after the receiver leaves
//! r3 stops forwarding within a bounded time; an SSM group joined source-specifically builds only
//! (S,G) state, no (*,G) and nothing at the RP's shared tree. (b) The same for IPv6 with MLDv2.
//! In both, tshark finds every protocol packet hatod sent clean. Requires root.

use std::net::IpAddr;
use std::time::Duration;

use hato_control::Request;
use hato_lab::harness::{
    assert_captures_clean, chain_addr, chain_routers, hatoctl, receive, recv_options, report, scenario, send,
    send_options, udp_in_datagrams, wait_hatod, Chain,
};
use hato_lab::poll::{kernel_mroutes, poll_until, Probe};
use hato_lab::router::StaticRp;
use hato_lab::topology::Prefix;
use hato_lab::{Lab, LabOptions, RouterConfig, RouterKind};
use serde_json::Value;

/// The chain with hatod on every router, the RP on r2 (its address towards r1) for every ASM
/// group of both families; IPv4 and IPv6 adjacencies up, every link captured.
fn chain() -> Lab {
    let config = RouterConfig {
        static_rps: vec![
            StaticRp {
                rp: chain_addr(3, "r2", "r1-r2", false),
                groups: Prefix { addr: "224.0.0.0".parse().unwrap(), len: 4 },
            },
            StaticRp {
                rp: chain_addr(3, "r2", "r1-r2", true),
                groups: Prefix { addr: "ff00::".parse().unwrap(), len: 8 },
            },
        ],
        // Leaves take Last Member Query Count × Interval: 2 × 200 ms.
        extra: "[gmp]\nlast-member-query-interval-ms = 200\n".into(),
        ..RouterConfig::default()
    };
    let options =
        LabOptions { hatod_binary: Some(env!("CARGO_BIN_EXE_hatod").into()), ..LabOptions::default() };
    Chain::new(&[RouterKind::Hatod; 3]).config(config).options(options).ipv6().capture().start()
}

/// `hatoctl ... --json` on `node`, which must succeed.
fn json(lab: &Lab, node: &str, request: &Request) -> Value {
    let outcome = hatoctl(lab, node, request, true);
    assert_eq!(outcome.code, 0, "{node}: {request:?}: {}", outcome.stdout);
    serde_json::from_str(&outcome.stdout).unwrap()
}

fn sender_addr(lab: &Lab, v6: bool) -> IpAddr {
    lab.addr("sender", "sender-r1", v6).unwrap()
}

/// The entries of `show mroute --json` on `node` for `group`.
fn mroutes(lab: &Lab, node: &str, group: IpAddr) -> Vec<Value> {
    let json = json(lab, node, &Request::ShowMroute { source: None, group: Some(group) });
    json["entries"].as_array().cloned().unwrap_or_default()
}

/// Sends a flow of 300 packets, 10 ms apart, to a receiver that joined; checks delivery and the
/// (S,G) state on every router.
fn flow(lab: &Lab, group: IpAddr, ssm: bool, run_id: u64) {
    let v6 = group.is_ipv6();
    let source = sender_addr(lab, v6);
    let udp_before = udp_in_datagrams(lab, "receiver");
    let receiver = receive(lab, "receiver", recv_options(group, ssm.then_some(source), run_id));
    // The join has reached the first-hop router (SSM) or the RP (ASM).
    let (node, kind) = if ssm { ("r1", "(S,G)") } else { ("r2", "(*,G)") };
    wait_hatod(lab, node, &Request::ShowPimJoin, &format!("{kind} join for {group}"), |json| {
        json["states"].as_array().is_some_and(|states| {
            states
                .iter()
                .any(|s| s["group"] == group.to_string() && s["kind"] == kind && s["state"] == "Join")
        })
    });
    let sent = send(lab, "sender", send_options(source, group, run_id, 300, Duration::from_millis(10)))
        .join()
        .unwrap();
    assert_eq!(sent.sent, 300, "{sent:?}");
    let got = receiver.join().unwrap();
    eprintln!("{group}: {got:?}");
    assert!(got.unique >= 270, "less than 90% received: {got:?}\n{}", report(lab));
    assert_eq!(got.duplicates, 0, "{got:?}");
    assert_eq!(got.senders, vec![source], "{got:?}");
    for router in chain_routers(3) {
        let router = router.as_str();
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
    let delivered = udp_in_datagrams(lab, "receiver") - udp_before;
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
        let upstream = json(lab, "r2", &Request::ShowPimUpstream);
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
    let streaming = send(lab, "sender", send_options(source, group, run_id, 600, Duration::from_millis(10)));
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

const HATOD: [RouterKind; 3] = [RouterKind::Hatod; 3];

#[test]
fn ipv4_asm_and_ssm_through_three_hatod() {
    let igmpv3 = scenario("PIM-SM chain, RP on hatod, IPv4 ASM (IGMPv3 join and leave)", &HATOD);
    let mut lab = chain();
    let asm: IpAddr = "239.1.2.3".parse().unwrap();
    flow(&lab, asm, false, 1);
    leave_stops_forwarding(&lab, asm, 2);
    drop(igmpv3);

    // The same with IGMPv2 (its leave goes to ALL-ROUTERS).
    let igmpv2 = scenario("PIM-SM chain, RP on hatod, IPv4 ASM (IGMPv2 join and leave)", &HATOD);
    lab.exec("receiver", &["sysctl", "-qw", "net.ipv4.conf.eth0.force_igmp_version=2"]).unwrap();
    let asm2: IpAddr = "239.1.2.4".parse().unwrap();
    flow(&lab, asm2, false, 3);
    leave_stops_forwarding(&lab, asm2, 4);
    lab.exec("receiver", &["sysctl", "-qw", "net.ipv4.conf.eth0.force_igmp_version=0"]).unwrap();
    drop(igmpv2);

    let ssm_scenario = scenario("PIM-SM chain, RP on hatod, IPv4 SSM", &HATOD);
    let ssm: IpAddr = "232.1.2.3".parse().unwrap();
    flow(&lab, ssm, true, 5);
    leave_stops_forwarding(&lab, ssm, 6);
    drop(ssm_scenario);

    let _tshark = scenario("PIM-SM chain, IPv4, tshark: hatod's packets clean", &HATOD);
    assert_captures_clean(&mut lab, &[RouterKind::Hatod]);
}

#[test]
fn ipv6_asm_and_ssm_through_three_hatod() {
    let asm_scenario = scenario("PIM-SM chain, RP on hatod, IPv6 ASM (MLDv2 join and leave)", &HATOD);
    let mut lab = chain();
    // ff3x::/32 is SSM by default (RFC 4607 §1): ASM uses ff0e::/16.
    let asm: IpAddr = "ff0e::1:2:3".parse().unwrap();
    flow(&lab, asm, false, 11);
    leave_stops_forwarding(&lab, asm, 12);
    drop(asm_scenario);

    let ssm_scenario = scenario("PIM-SM chain, RP on hatod, IPv6 SSM", &HATOD);
    let ssm: IpAddr = "ff3e::1:2:3".parse().unwrap();
    flow(&lab, ssm, true, 13);
    leave_stops_forwarding(&lab, ssm, 14);
    drop(ssm_scenario);

    let _tshark = scenario("PIM-SM chain, IPv6, tshark: hatod's packets clean", &HATOD);
    assert_captures_clean(&mut lab, &[RouterKind::Hatod]);
}
