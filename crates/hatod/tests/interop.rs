//! hatod with FRR on the real kernel, and the join-to-first-packet latency.
//!
//! (c) `sender - r1 - r2 - r3 - receiver` with FRR (IPv4 only: Debian's FRR has no pim6d) and
//! hatod mixed: the RP on hatod between two FRR, and the RP on FRR between two hatod; an ASM and
//! an SSM flow are delivered once each, and tshark finds every packet hatod sent clean. (d) The
//! latency from a receiver's join to its first packet through three routers, the sender streaming
//! at 1,000 packets/s, median of five runs, for hatod and for FRR. Requires root and Debian's `frr`.

use std::net::IpAddr;
use std::time::Duration;

use hato_lab::harness::{
    assert_captures_clean, chain_addr, chain_routers, receive, recv_options, report, scenario, send,
    send_options, wait_join, Chain, DEADLINE,
};
use hato_lab::poll::{poll_until, wait_kernel_sg, Probe};
use hato_lab::router::StaticRp;
use hato_lab::topology::Prefix;
use hato_lab::{Lab, LabOptions, RouterConfig, RouterKind};

/// The chain with `kinds` on r1..r3, the RP on r2 (its address towards r1), IPv4 only, IGMPv3;
/// every link captured when `capture` is set.
fn chain(kinds: [RouterKind; 3], capture: bool) -> Lab {
    let options =
        LabOptions { hatod_binary: Some(env!("CARGO_BIN_EXE_hatod").into()), ..LabOptions::default() };
    let rp = chain_addr(3, "r2", "r1-r2", false);
    let config = RouterConfig {
        static_rps: vec![StaticRp { rp, groups: Prefix { addr: "224.0.0.0".parse().unwrap(), len: 4 } }],
        igmp_version: Some(3),
        ..RouterConfig::default()
    };
    let chain = Chain::new(&kinds).config(config).options(options);
    if capture {
        chain.capture().start()
    } else {
        chain.start()
    }
}

fn sender_addr(lab: &Lab) -> IpAddr {
    lab.addr("sender", "sender-r1", false).unwrap()
}

/// A flow of 300 packets, 10 ms apart, delivered (90 %) exactly once, and each router's kernel
/// holding the (S,G).
fn flow(lab: &Lab, group: IpAddr, ssm: bool, run_id: u64) {
    let source = sender_addr(lab);
    let receiver = receive(lab, "receiver", recv_options(group, ssm.then_some(source), run_id));
    if ssm {
        wait_join(lab, "r1", Some(source), group);
    } else {
        wait_join(lab, "r2", None, group);
    }
    let sent = send(lab, "sender", send_options(source, group, run_id, 300, Duration::from_millis(10)));
    let (sent, got) = (sent.join().unwrap(), receiver.join().unwrap());
    eprintln!("{group}: {got:?}");
    assert!(got.unique >= 270, "less than 90% received: {got:?}\n{}", report(lab));
    assert_eq!(got.duplicates, 0, "{got:?}");
    assert_eq!(sent.sent, 300);
    for router in chain_routers(3) {
        wait_kernel_sg(lab, &router, source, group, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)));
    }
}

/// An ASM and an SSM flow through the chain, then the tshark check of every packet hatod sent;
/// each is one scenario of the interop matrix (the first one includes building the chain).
fn flows(kinds: [RouterKind; 3], rp: &str) {
    let asm = scenario(format!("PIM-SM chain, RP on {rp}, IPv4 ASM"), &kinds);
    let mut lab = chain(kinds, true);
    flow(&lab, "239.2.3.4".parse().unwrap(), false, 1);
    drop(asm);
    let ssm = scenario(format!("PIM-SM chain, RP on {rp}, IPv4 SSM"), &kinds);
    flow(&lab, "232.2.3.4".parse().unwrap(), true, 2);
    drop(ssm);
    let _tshark = scenario(format!("PIM-SM chain, RP on {rp}, tshark: hatod's packets clean"), &kinds);
    assert_captures_clean(&mut lab, &[RouterKind::Hatod]);
}

#[test]
fn rp_on_hatod_between_two_frr() {
    flows([RouterKind::Frr, RouterKind::Hatod, RouterKind::Frr], "hatod");
}

#[test]
fn rp_on_frr_between_two_hatod() {
    flows([RouterKind::Hatod, RouterKind::Frr, RouterKind::Hatod], "frr");
}

/// Join-to-first-packet latencies (ms) of `runs` joins, each to a new group the sender already
/// streams at 1,000 packets/s (so that the first-hop router has registered it with the RP).
fn latencies(lab: &Lab, runs: u8) -> Vec<u128> {
    let source = sender_addr(lab);
    let mut samples = Vec::new();
    for run in 0..runs {
        let group: IpAddr = format!("239.9.9.{}", run + 1).parse().unwrap();
        let run_id = 100 + u64::from(run);
        let streaming =
            send(lab, "sender", send_options(source, group, run_id, 4000, Duration::from_millis(1)));
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
        let options = recv_options(group, None, run_id);
        let got = receive(
            lab,
            "receiver",
            hato_lab::traffic::RecvOptions { idle: Some(Duration::from_millis(200)), ..options },
        )
        .join()
        .unwrap();
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
        let _scenario = scenario("PIM-SM chain, join to first packet under 2 s, IPv4 ASM", &[kind; 3]);
        // No captures: dumpcap would compete for the CPU with what is measured.
        let lab = chain([kind; 3], false);
        let samples = latencies(&lab, 5);
        let median = median(samples.clone());
        eprintln!(
            "LATENCY {kind:?}: join to first packet, 3 routers, 1000 pps: median {median} ms of {samples:?}"
        );
        assert!(median < 2000, "{kind:?}: {samples:?}");
    }
}
