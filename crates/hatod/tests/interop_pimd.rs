//! hatod with troglobit pimd 2.3.2 on the real kernel (IPv4 only: pimd has no IPv6).
//!
//! `sender - r1 - r2 - r3 - receiver` with hatod in each position of the chain and pimd in the two
//! others. Every lab carries two static RPs, one on hatod and one on a pimd, for two group ranges,
//! so one lab shows both RP placements. In each lab, five flows (RFC 7761 PIM-SM and RFC 4607
//! PIM-SSM): ASM joined with IGMPv3 and with IGMPv2 for each RP, and SSM with a source-specific
//! IGMPv3 join. Each flow is delivered once per packet (no duplicates, at most 10 % loss) and stops
//! reaching the receiver after it leaves. Requires root and the unpacked Debian `pimd`.
//!
//! pimd installs static RPs about 15 s after start and sends triggered Join/Prune from a 5 s tick,
//! so the tests first send short bursts of another run until every router forwards natively, then
//! measure. pimd 2.3.2 as last hop ignores an IGMPv3 leave of an ASM group (a TO_IN record without
//! sources) and lets the membership time out (about 42 s), so the leaves are checked together after
//! the last flow: r3 drops the receiver's interface from its kernel entries, and packets sent to every
//! group afterwards do not reach the receiver's interface.

use std::net::IpAddr;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hato_lab::harness::{in_node, require_root};
use hato_lab::matrix::Scenario;
use hato_lab::poll::{kernel_mroutes, poll_until, Probe};
use hato_lab::router::StaticRp;
use hato_lab::topology::Prefix;
use hato_lab::traffic::{self, RecvOptions, RecvReport, SendOptions, SendReport};
use hato_lab::{Lab, LabOptions, RouterConfig, RouterKind, Topology};

/// Long enough for pimd's 15 s RP delay plus a few 5 s Join/Prune ticks.
const SETUP_DEADLINE: Duration = Duration::from_secs(75);
/// pimd 2.3.2 ignores IGMPv3 leaves (a TO_IN record without sources): its membership times out
/// after about 42 s.
const LEAVE_DEADLINE: Duration = Duration::from_secs(60);
const PORT: u16 = 5003;
const ROUTERS: [&str; 3] = ["r1", "r2", "r3"];
/// Each router's interface towards the receiver's end of the chain.
const DOWNSTREAM_IFACE: &str = "eth1";
/// Packets of a measured flow, 10 ms apart.
const FLOW_PACKETS: u32 = 300;
/// Packets sent to each group after the receiver left; at most ten unrelated frames (IGMP, MLD,
/// PIM Hellos) may reach it.
const AFTER_LEAVE_PACKETS: u32 = 100;

/// Where the RP of a group range sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RpOn {
    Hatod,
    Pimd,
}

/// How the receiver joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Join {
    AsmIgmpV3(RpOn),
    AsmIgmpV2(RpOn),
    SsmIgmpV3,
}

impl Join {
    fn group(self) -> IpAddr {
        match self {
            Join::AsmIgmpV3(RpOn::Hatod) => "239.1.0.3",
            Join::AsmIgmpV2(RpOn::Hatod) => "239.1.0.2",
            Join::AsmIgmpV3(RpOn::Pimd) => "239.2.0.3",
            Join::AsmIgmpV2(RpOn::Pimd) => "239.2.0.2",
            Join::SsmIgmpV3 => "232.1.0.3",
        }
        .parse()
        .unwrap()
    }

    fn scenario(self) -> String {
        let rp = |rp| match rp {
            RpOn::Hatod => "RP on hatod",
            RpOn::Pimd => "RP on pimd",
        };
        match self {
            Join::AsmIgmpV3(on) => format!("PIM-SM chain, {}, IPv4 ASM, IGMPv3", rp(on)),
            Join::AsmIgmpV2(on) => format!("PIM-SM chain, {}, IPv4 ASM, IGMPv2", rp(on)),
            Join::SsmIgmpV3 => "PIM-SSM chain, IPv4 SSM, IGMPv3".to_string(),
        }
    }

    fn igmp_version(self) -> u8 {
        match self {
            Join::AsmIgmpV2(_) => 2,
            _ => 3,
        }
    }
}

/// The RP address of a router: its address towards r1's side (r1 uses its sender-facing one).
fn rp_address(lab: &Lab, router: &str) -> IpAddr {
    let segment = match router {
        "r1" => "r1-r2",
        "r2" => "r1-r2",
        _ => "r2-r3",
    };
    lab.addr(router, segment, false).unwrap()
}

/// The chain with hatod at `hatod_at` and pimd elsewhere; 239.1/16 has its RP on hatod and
/// 239.2/16 on the pimd at `pimd_rp`.
fn chain(hatod_at: &str, pimd_rp: &str) -> Lab {
    require_root();
    let options = LabOptions {
        hatod_binary: Some(env!("CARGO_BIN_EXE_hatod").into()),
        traffic_binary: None,
        keep_workdir: false,
    };
    let mut lab = Lab::start_with(Topology::chain(3).unwrap(), options).unwrap();
    let range = |second: u8| Prefix { addr: IpAddr::from([239, second, 0, 0]), len: 16 };
    let config = RouterConfig {
        static_rps: vec![
            StaticRp { rp: rp_address(&lab, hatod_at), groups: range(1) },
            StaticRp { rp: rp_address(&lab, pimd_rp), groups: range(2) },
        ],
        igmp_version: Some(3),
        ..RouterConfig::default()
    };
    for router in ROUTERS {
        let kind = if router == hatod_at { RouterKind::Hatod } else { RouterKind::Pimd };
        lab.start_router(router, kind, &config).unwrap();
    }
    lab
}

fn peers(lab: &Lab) -> Vec<&'static str> {
    ROUTERS
        .iter()
        .map(|r| match lab.router(r).map(|h| h.kind) {
            Some(RouterKind::Hatod) => "hatod",
            _ => "pimd",
        })
        .collect()
}

fn report(lab: &Lab) -> String {
    let mut text = lab.report();
    for router in ROUTERS {
        let routes = kernel_mroutes(lab, router, false).map(|r| format!("{r:#?}")).unwrap_or_default();
        text.push_str(&format!("-- {router} kernel MFC\n{routes}\n"));
    }
    text
}

fn sender_addr(lab: &Lab) -> IpAddr {
    lab.addr("sender", "sender-r1", false).unwrap()
}

fn send_options(lab: &Lab, group: IpAddr, run_id: u64, count: u32) -> SendOptions {
    SendOptions::stream(group, PORT, Some(sender_addr(lab)), count, run_id)
}

fn send(lab: &Lab, options: SendOptions) -> SendReport {
    in_node(lab, "sender", move || traffic::send(&options).unwrap()).join().unwrap()
}

/// Starts a receiver of run `run_id` and waits until the receiver's kernel holds the membership.
fn receive(lab: &Lab, join: Join, run_id: u64) -> JoinHandle<RecvReport> {
    let group = join.group();
    let version = format!("net.ipv4.conf.eth0.force_igmp_version={}", join.igmp_version());
    lab.exec("receiver", &["sysctl", "-qw", &version]).unwrap();
    let options = RecvOptions {
        group,
        port: PORT,
        source: (join == Join::SsmIgmpV3).then(|| sender_addr(lab)),
        iface: Some("eth0".into()),
        timeout: SETUP_DEADLINE + Duration::from_secs(20),
        idle: Some(Duration::from_secs(2)),
        run_id: Some(run_id),
    };
    let handle = in_node(lab, "receiver", move || traffic::receive(&options).unwrap());
    poll_until(&format!("receiver joins {group}"), Duration::from_secs(10), Duration::from_millis(5), || {
        match lab.exec("receiver", &["ip", "-4", "maddr", "show", "dev", "eth0"]) {
            Ok(text) if text.contains(&group.to_string()) => Probe::Done(()),
            Ok(text) => Probe::Pending(text),
            Err(e) => Probe::Pending(e.to_string()),
        }
    })
    .unwrap();
    handle
}

/// Whether `router`'s kernel forwards `group` (from any source) out of eth1, the interface towards
/// the receiver's end of the chain.
fn forwards_downstream(lab: &Lab, router: &str, group: IpAddr) -> Result<bool, String> {
    let routes = kernel_mroutes(lab, router, false).map_err(|e| e.to_string())?;
    Ok(routes.iter().any(|r| r.group == group && r.oifs.iter().any(|o| o == DOWNSTREAM_IFACE)))
}

/// The receiver's count of received frames on eth0.
fn receiver_rx_packets(lab: &Lab) -> u64 {
    let text = lab.exec("receiver", &["cat", "/sys/class/net/eth0/statistics/rx_packets"]).unwrap();
    text.trim().parse().unwrap()
}

/// One flow up to the leave: join, wait until every router forwards natively towards the receiver
/// (bursts of a foreign run keep the source known; until then an RP on r3 may see the flow only in
/// Registers), send the measured run and check that it arrived once per packet. The receiver's
/// socket is closed on return, so the host leaves the group.
fn measure(lab: &Lab, join: Join, run_id: u64) {
    let group = join.group();
    let receiver = receive(lab, join, run_id);
    let joined = Instant::now();
    let burst = send_options(lab, group, run_id + 1000, 20);
    poll_until(
        &format!("the chain forwards {group} natively"),
        SETUP_DEADLINE,
        Duration::from_millis(1),
        || {
            send(lab, burst.clone());
            let observed: Vec<_> = ROUTERS.iter().map(|r| forwards_downstream(lab, r, group)).collect();
            if observed.iter().all(|o| *o == Ok(true)) {
                Probe::Done(())
            } else {
                Probe::Pending(format!("{observed:?}"))
            }
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)));
    let forwarding_after = joined.elapsed();
    let sent = send(lab, send_options(lab, group, run_id, FLOW_PACKETS));
    let got = receiver.join().unwrap();
    let after = forwarding_after.as_secs_f64();
    eprintln!("{:?} {}: forwarding {after:.1} s after the join; {got:?}", peers(lab), join.scenario());
    assert_eq!(sent.sent, FLOW_PACKETS, "{sent:?}");
    assert!(got.unique * 10 >= u64::from(FLOW_PACKETS) * 9, "more than 10 % lost: {got:?}\n{}", report(lab));
    assert_eq!(got.duplicates, 0, "{got:?}\n{}", report(lab));
}

/// Every flow in turn, then the leaves: r3 stops forwarding each group (the waits overlap, since
/// pimd 2.3.2 as last hop lets IGMPv3 memberships time out), and traffic sent afterwards to every
/// group no longer reaches the receiver.
fn all_flows(lab: &Lab) {
    let joins = [
        Join::AsmIgmpV3(RpOn::Hatod),
        Join::AsmIgmpV2(RpOn::Hatod),
        Join::AsmIgmpV3(RpOn::Pimd),
        Join::AsmIgmpV2(RpOn::Pimd),
        Join::SsmIgmpV3,
    ];
    // A failure anywhere in the lab marks all of its scenarios failed.
    let _scenarios: Vec<Scenario> = joins.iter().map(|j| Scenario::new(j.scenario(), &peers(lab))).collect();
    let mut pending = Vec::new();
    for (index, join) in joins.into_iter().enumerate() {
        measure(lab, join, index as u64 + 1);
        pending.push((join, Instant::now()));
    }
    poll_until("r3 stops forwarding after the leaves", LEAVE_DEADLINE, Duration::from_millis(100), || {
        pending.retain(|(join, left)| match forwards_downstream(lab, "r3", join.group()) {
            Ok(false) => {
                let after = left.elapsed().as_secs_f64();
                eprintln!(
                    "{:?} {}: r3 no longer forwards {after:.1} s after the leave",
                    peers(lab),
                    join.scenario()
                );
                false
            }
            _ => true,
        });
        if pending.is_empty() {
            Probe::Done(())
        } else {
            Probe::Pending(format!("still forwarding: {pending:?}"))
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)));
    let before = receiver_rx_packets(lab);
    for (index, join) in joins.into_iter().enumerate() {
        send(lab, send_options(lab, join.group(), index as u64 + 2000, AFTER_LEAVE_PACKETS));
    }
    let after = receiver_rx_packets(lab);
    assert!(after - before <= 10, "{} frames reached the receiver after it left", after - before);
}

#[test]
fn hatod_first_hop_between_pimd() {
    let lab = chain("r1", "r2");
    all_flows(&lab);
}

#[test]
fn hatod_in_the_middle_between_pimd() {
    let lab = chain("r2", "r1");
    all_flows(&lab);
}

#[test]
fn hatod_last_hop_after_pimd() {
    let lab = chain("r3", "r2");
    all_flows(&lab);
}
