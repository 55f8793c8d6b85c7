//! The other peers on the real kernel: troglobit pimd forwarding ASM in a chain (tshark finds every
//! protocol packet pimd sent clean but for its IGMPv3 query checksum quirk), smcroute forwarding static IPv4 and IPv6 routes (uncaptured:
//! smcroute sends no protocol packets). Requires root and network access for the first
//! `apt-get download`.

use std::net::IpAddr;
use std::time::Duration;

use hato_lab::harness::{require_root, scenario, Chain};
use hato_lab::poll::{kernel_mroutes, poll_until, wait_kernel_sg, Probe};
use hato_lab::router::StaticMroute;
use hato_lab::traffic::{RecvOptions, RecvReport, SendOptions};
use hato_lab::{Lab, LabOptions, RouterConfig, RouterKind, Topology};
use hato_pcap::tshark::{ChecksumLayer, ExpertGroup};

const RUN: u64 = 7;

fn options() -> LabOptions {
    LabOptions {
        traffic_binary: Some(env!("CARGO_BIN_EXE_hato-lab").into()),
        keep_workdir: false,
        hatod_binary: None,
    }
}

fn recv_options(group: IpAddr, timeout: Duration) -> RecvOptions {
    RecvOptions {
        group,
        port: 5002,
        source: None,
        iface: Some("eth0".into()),
        timeout,
        idle: Some(Duration::from_secs(2)),
        run_id: Some(RUN),
    }
}

fn send_options(lab: &Lab, group: IpAddr, count: u32) -> SendOptions {
    let source = lab.topology().primary_addr("sender", group.is_ipv6()).unwrap();
    SendOptions { ttl: 8, size: 64, ..SendOptions::stream(group, 5002, Some(source), count, RUN) }
}

fn assert_delivered(report: &RecvReport, sent: u32) {
    assert!(report.unique * 10 >= u64::from(sent) * 9, "less than 90% received: {report:?}");
    assert_eq!(report.duplicates, 0, "{report:?}");
}

#[test]
fn pimd_chain_forwards_asm() {
    let pimds = [RouterKind::Pimd; 3];
    let asm = scenario("PIM-SM chain, RP on pimd, IPv4 ASM", &pimds);
    // The RP is r2's loopback, fixed by the addressing plan.
    let rp = Topology::chain(3).unwrap().primary_addr("r2", false).unwrap();
    let mut lab = Chain::new(&pimds).config(RouterConfig::with_rp(rp)).options(options()).capture().start();
    let group: IpAddr = "239.2.3.4".parse().unwrap();
    let source = lab.topology().primary_addr("sender", false).unwrap();
    // Each pimd has its own /run; its control socket answers there.
    let pimd = hato_lab::router::pimd::binary().unwrap();
    let status = lab.exec_in_router("r2", &[pimd.to_str().unwrap(), "-r"]).unwrap();
    assert!(status.contains("Virtual Interface Table"), "{status}");
    let receiver = lab.start_receiver("receiver", &recv_options(group, Duration::from_secs(90))).unwrap();
    // pimd installs static RPs about 15 s after start and joins from a 5 s tick: send short bursts
    // of another run (the receiver ignores them) until the last hop forwards the (S,G).
    let burst = SendOptions { count: 50, run_id: RUN + 1, ..send_options(&lab, group, 0) };
    poll_until("r3 forwards the (S,G)", Duration::from_secs(60), Duration::from_millis(1), || {
        if let Err(e) = lab.send("sender", &burst) {
            return Probe::Pending(e.to_string());
        }
        match kernel_mroutes(&lab, "r3", false) {
            Ok(routes) if routes.iter().any(|r| r.source == Some(source) && r.oifs == ["eth1"]) => {
                Probe::Done(())
            }
            other => Probe::Pending(format!("{other:?}")),
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let sent = lab.send("sender", &send_options(&lab, group, 300)).unwrap();
    let report = lab.finish_receiver(&receiver).unwrap();
    eprintln!("{report:?}");
    assert_delivered(&report, sent.sent);
    for router in ["r1", "r2", "r3"] {
        wait_kernel_sg(&lab, router, source, group, Duration::from_secs(5)).unwrap_or_else(|e| panic!("{e}"));
    }
    drop(asm);
    let _tshark =
        scenario("PIM-SM chain, RP on pimd, tshark: pimd's packets clean but for its quirk", &pimds);
    let verdict = lab.check_captures_of(&[RouterKind::Pimd]).unwrap();
    eprintln!("{verdict}");
    assert!(verdict.checked() > 0, "{verdict}");
    // pimd 2.3.2's quirk: some IGMPv3 general queries (often its first on an interface) carry a
    // checksum computed without the QRV and QQIC octets (off by exactly those two bytes).
    for finding in verdict.captures.iter().flat_map(|c| &c.findings) {
        let packet = &finding.packet;
        let quirk = !packet.malformed
            && packet.bad_checksums == [ChecksumLayer::Igmp]
            && packet.summary.contains("Membership Query")
            && packet.problems().all(|item| item.group == ExpertGroup::Checksum);
        assert!(quirk, "a problem other than pimd's query checksum: {packet}");
    }
}

#[test]
fn smcroute_forwards_static_ipv4_and_ipv6() {
    let _scenario = scenario("static (*,G) routes, IPv4 and IPv6", &[RouterKind::Smcroute]);
    require_root();
    let mut lab = Lab::start_with(Topology::chain(1).unwrap(), options()).unwrap();
    let v4: IpAddr = "239.3.4.5".parse().unwrap();
    let v6: IpAddr = "ff0e::3:4:5".parse().unwrap();
    let routes = [v4, v6]
        .into_iter()
        .map(|group| StaticMroute { from: "eth0".into(), source: None, group, to: vec!["eth1".into()] })
        .collect();
    let config = RouterConfig { static_mroutes: routes, ..RouterConfig::default() };
    lab.start_router("r1", RouterKind::Smcroute, &config).unwrap();
    for group in [v4, v6] {
        let receiver = lab.start_receiver("receiver", &recv_options(group, Duration::from_secs(20))).unwrap();
        let send = send_options(&lab, group, 200);
        let sent = lab.send("sender", &send).unwrap();
        let report = lab.finish_receiver(&receiver).unwrap();
        assert_delivered(&report, sent.sent);
        let source = send.source.unwrap();
        wait_kernel_sg(&lab, "r1", source, group, Duration::from_secs(5)).unwrap_or_else(|e| panic!("{e}"));
    }
}
