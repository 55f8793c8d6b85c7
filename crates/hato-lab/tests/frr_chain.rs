//! End to end on the real kernel: three FRR routers in a chain (static RP on the middle one) forward
//! an IPv4 ASM flow and an SSM flow from the sender to the receiver; every router's kernel MFC holds
//! the (S,G); tshark finds every protocol packet FRR sent clean; teardown leaves no namespace behind.
//! Requires root and Debian's `frr`.

use std::net::IpAddr;
use std::time::Duration;

use hato_lab::harness::{assert_captures_clean, chain_routers, scenario, Chain};
use hato_lab::lab::namespaces_with_prefix;
use hato_lab::poll::{wait_frr_mroute, wait_kernel_sg, wait_vtysh_json};
use hato_lab::traffic::{RecvOptions, SendOptions};
use hato_lab::{Lab, LabOptions, RouterConfig, RouterKind, Topology};

const COUNT: u32 = 300;
const FRR: [RouterKind; 3] = [RouterKind::Frr; 3];

fn flow(lab: &mut Lab, group: IpAddr, ssm_source: Option<IpAddr>, run_id: u64) {
    let sender_addr = lab.addr("sender", "sender-r1", false).unwrap();
    let receiver = lab
        .start_receiver(
            "receiver",
            &RecvOptions {
                group,
                port: 5001,
                source: ssm_source,
                iface: Some("eth0".into()),
                timeout: Duration::from_secs(20),
                idle: Some(Duration::from_secs(2)),
                run_id: Some(run_id),
            },
        )
        .unwrap();
    // Wait for the join to reach the first router (SSM) or the RP (ASM) before sending.
    let (node, source) = match ssm_source {
        Some(_) => ("r1", sender_addr.to_string()),
        None => ("r2", "*".to_string()),
    };
    wait_frr_mroute(lab, node, &source, &group.to_string(), false, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}"));
    let sent =
        lab.send("sender", &SendOptions::stream(group, 5001, Some(sender_addr), COUNT, run_id)).unwrap();
    assert_eq!(sent.sent, COUNT, "{sent:?}");
    let report = lab.finish_receiver(&receiver).unwrap();
    eprintln!("{group}: {report:?}");
    assert!(report.unique * 10 >= u64::from(sent.sent) * 9, "less than 90% received: {report:?}");
    assert_eq!(report.duplicates, 0, "{report:?}");
    assert_eq!(report.senders, vec![sender_addr], "{report:?}");
    for router in chain_routers(3) {
        wait_kernel_sg(lab, &router, sender_addr, group, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn frr_chain_forwards_asm_and_ssm() {
    let asm = scenario("PIM-SM chain, RP on frr, IPv4 ASM", &FRR);
    let options = LabOptions {
        traffic_binary: Some(env!("CARGO_BIN_EXE_hato-lab").into()),
        keep_workdir: false,
        hatod_binary: None,
    };
    // The RP is r2's loopback, fixed by the addressing plan.
    let rp = Topology::chain(3).unwrap().primary_addr("r2", false).unwrap();
    let config = RouterConfig { igmp_version: Some(3), ..RouterConfig::with_rp(rp) };
    let mut lab = Chain::new(&FRR).config(config).options(options).capture().start();
    let prefix = lab.prefix().to_string();
    for router in chain_routers(3) {
        wait_vtysh_json(&lab, &router, "show ip pim rp-info json", Duration::from_secs(10), |json| {
            json.get(rp.to_string()).is_some()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }

    flow(&mut lab, "239.1.2.3".parse().unwrap(), None, 1);
    drop(asm);
    let ssm = scenario("PIM-SM chain, RP on frr, IPv4 SSM", &FRR);
    let source = lab.addr("sender", "sender-r1", false).unwrap();
    flow(&mut lab, "232.1.2.3".parse().unwrap(), Some(source), 2);
    drop(ssm);
    let tshark = scenario("PIM-SM chain, RP on frr, tshark: FRR's packets clean", &FRR);
    assert_captures_clean(&mut lab, &[RouterKind::Frr]);
    drop(tshark);

    assert_eq!(lab.teardown(), Vec::<String>::new());
    assert_eq!(namespaces_with_prefix(&prefix).unwrap(), Vec::<String>::new(), "namespaces left behind");
}
