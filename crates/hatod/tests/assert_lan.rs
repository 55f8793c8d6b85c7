//! PIM Assert (RFC 7761 §4.6) on a shared LAN between hatod and FRR, troglobit pimd or another
//! hatod, on the real kernel (IPv4, SSM).
//!
//! ```text
//!   sender ── r0 ──┬── ra ──┬── LAN ── receiver
//!                  └── rb ──┤
//!                           └── rd ── receiver2
//! ```
//!
//! hatod runs on r0, rd and one of ra / rb; the peer on the other. rb has the highest address on
//! the LAN, so it is the DR and forwards for `receiver`; rd's route to the source points at ra, so
//! ra forwards for rd's Join. Each forwarded packet reaches the other upstream router on an
//! outgoing interface (a WRONGVIF upcall), both send Asserts and one is elected (§4.6.1: lower
//! metric preference, then lower route metric, then higher address). The winner is steered through
//! the unicast route to the source: a worse metric on the loser (hatod and FRR advertise the
//! route's distance, 0 for these routes, and its kernel metric), for hatod against pimd (which
//! advertises a fixed preference 101) an OSPF-made route (distance 110) on hatod, or equal metrics
//! and the address. The flow starts once ra, rb and rd are PIM neighbours of each other. Duplicates
//! are counted only after the loser has removed the LAN from its kernel entry: then a flow at 200
//! packets/s must reach both receivers exactly once. `hatoctl show pim assert` must show the result
//! on hatod's upstream router and on rd, which tracks the winner as its RPF'; FRR 8.4.4 has no JSON
//! for `show ip pim assert`, so its text table is read, and pimd's state comes from `pimd -r`. FRR
//! as the loser of an address tie-break (on ra, where its LAN oif comes from rd's Join, which rd
//! then sends to the winner) removes the LAN from its kernel entry.

use std::net::IpAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use hato_control::Request;
use hato_lab::harness::{hatoctl_json, in_node, require_root};
use hato_lab::matrix::Scenario;
use hato_lab::poll::{kernel_mroutes, poll_until, Probe};
use hato_lab::router::frr;
use hato_lab::traffic::{self, RecvOptions, RecvReport, SendOptions, SendReport};
use hato_lab::{Lab, LabOptions, RouterConfig, RouterKind, Topology};
use serde_json::Value;

/// Long enough for pimd's 5 s Join/Prune tick, a few times over.
const SETTLE_DEADLINE: Duration = Duration::from_secs(60);
const PORT: u16 = 5004;
const GROUP: &str = "232.4.4.4";
/// The LAN interface of ra, rb (and rd's upstream interface).
const LAN_IFACE: &str = "eth1";
/// rd's interface towards receiver2.
const RD_RECEIVER_IFACE: &str = "eth1";
/// 200 packets/s.
const INTERVAL: Duration = Duration::from_millis(5);
/// The measured flow: 5 s at 200 packets/s.
const MEASURED_PACKETS: u32 = 1000;
const MEASURED_RUN: u64 = 1;
const WARM_UP_RUN: u64 = 2;

/// How the election is steered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Steer {
    /// Equal metrics: the higher address (rb) wins.
    AddressTieBreak,
    /// The loser's route to the source gets metric 10 instead of 1.
    LoserMetric,
    /// hatod's route to the source is made by OSPF (distance 110, worse than pimd's 101).
    HatodDistance,
    /// Routes as the lab made them: hatod's (distance 0) beats pimd's fixed preference 101.
    PimdPreference,
}

/// One Assert scenario: the peer and its node (the other of ra and rb runs hatod), the node that
/// is to win, and how the election is steered.
#[derive(Debug, Clone, Copy)]
struct Case {
    peer: RouterKind,
    peer_on: &'static str,
    winner: &'static str,
    steer: Steer,
}

impl Case {
    fn hatod_on(&self) -> &'static str {
        other(self.peer_on)
    }

    fn loser(&self) -> &'static str {
        other(self.winner)
    }
}

/// The other one of ra and rb.
fn other(node: &str) -> &'static str {
    if node == "ra" {
        "rb"
    } else {
        "ra"
    }
}

fn group() -> IpAddr {
    GROUP.parse().unwrap()
}

fn source(lab: &Lab) -> IpAddr {
    lab.addr("sender", "sender-r0", false).unwrap()
}

fn lan_addr(lab: &Lab, router: &str) -> IpAddr {
    lab.addr(router, "lan", false).unwrap()
}

fn kind_name(kind: RouterKind) -> &'static str {
    match kind {
        RouterKind::Frr => "frr",
        RouterKind::Pimd => "pimd",
        RouterKind::Smcroute => "smcroute",
        RouterKind::Hatod => "hatod",
    }
}

/// Replaces `router`'s routes to the sender's subnet by one through r0 with `metric` and `protocol`.
fn set_source_route(lab: &Lab, router: &str, metric: u32, protocol: &str) {
    let prefix = "198.18.0.0/24";
    let via = match router {
        "ra" => lab.addr("r0", "r0-ra", false).unwrap(),
        _ => lab.addr("r0", "r0-rb", false).unwrap(),
    };
    lab.exec(router, &["ip", "-4", "route", "flush", "exact", prefix]).unwrap();
    let (via, metric) = (via.to_string(), metric.to_string());
    let argv = [
        "ip", "-4", "route", "add", prefix, "via", &via, "dev", "eth0", "metric", &metric, "proto", protocol,
    ];
    lab.exec(router, &argv).unwrap();
}

/// The Assert LAN with the peer on its node, hatod on r0, rd and the other upstream node, and the
/// routes steered.
fn assert_lab(case: Case) -> Lab {
    require_root();
    let options = LabOptions {
        hatod_binary: Some(env!("CARGO_BIN_EXE_hatod").into()),
        traffic_binary: None,
        keep_workdir: false,
    };
    let mut lab = Lab::start_with(Topology::assert_lan().unwrap(), options).unwrap();
    match case.steer {
        Steer::AddressTieBreak => assert_eq!(case.winner, "rb", "rb has the higher address"),
        Steer::PimdPreference => assert_eq!(case.winner, case.hatod_on(), "hatod's distance 0 wins"),
        Steer::LoserMetric => set_source_route(&lab, case.loser(), 10, "boot"),
        Steer::HatodDistance => {
            assert_eq!(case.winner, case.peer_on, "a worse distance makes hatod lose");
            set_source_route(&lab, case.hatod_on(), 1, "ospf");
        }
    }
    let config = RouterConfig { igmp_version: Some(3), ..RouterConfig::default() };
    let routers = [
        ("r0", RouterKind::Hatod),
        (case.hatod_on(), RouterKind::Hatod),
        (case.peer_on, case.peer),
        ("rd", RouterKind::Hatod),
    ];
    for (router, kind) in routers {
        lab.start_router(router, kind, &config).unwrap();
    }
    lab
}

/// Whatever the router on `node` says about its Assert and DR state, for reports.
fn router_state(lab: &Lab, node: &str) -> String {
    match lab.router(node).map(|r| r.kind) {
        Some(RouterKind::Hatod) => {
            let asserts = hatoctl_json(lab, node, &Request::ShowPimAssert);
            let interfaces = hatoctl_json(lab, node, &Request::ShowPimInterfaces);
            format!("{asserts}\n{interfaces}")
        }
        Some(RouterKind::Frr) => ["show ip pim assert", "show ip pim interface", "show ip mroute"]
            .into_iter()
            .map(|c| frr::vtysh(lab, node, c).unwrap_or_else(|e| e.to_string()))
            .collect::<Vec<_>>()
            .join("\n"),
        Some(RouterKind::Pimd) => {
            let pimd = hato_lab::router::pimd::binary().unwrap();
            lab.exec_in_router(node, &[pimd.to_str().unwrap(), "-r"]).unwrap_or_else(|e| e.to_string())
        }
        _ => String::new(),
    }
}

fn report(lab: &Lab) -> String {
    let mut text = lab.report();
    for router in ["r0", "ra", "rb", "rd"] {
        let routes = kernel_mroutes(lab, router, false).map(|r| format!("{r:?}")).unwrap_or_default();
        text.push_str(&format!("-- {router}: kernel MFC {routes}\n{}\n", router_state(lab, router)));
    }
    text
}

fn send(lab: &Lab, run_id: u64, count: u32) -> SendReport {
    let options = SendOptions {
        group: group(),
        port: PORT,
        source: Some(source(lab)),
        iface: Some("eth0".into()),
        count,
        interval: INTERVAL,
        ttl: 16,
        run_id,
        size: 100,
    };
    in_node(lab, "sender", move || traffic::send(&options).unwrap()).join().unwrap()
}

/// A source-specific receiver of the measured run on `node`, joined before it returns.
fn receive(lab: &Lab, node: &str) -> JoinHandle<RecvReport> {
    let options = RecvOptions {
        group: group(),
        port: PORT,
        source: Some(source(lab)),
        iface: Some("eth0".into()),
        timeout: SETTLE_DEADLINE + Duration::from_secs(30),
        idle: Some(Duration::from_secs(2)),
        run_id: Some(MEASURED_RUN),
    };
    let handle = in_node(lab, node, move || traffic::receive(&options).unwrap());
    poll_until(&format!("{node} joins"), Duration::from_secs(10), Duration::from_millis(5), || {
        match lab.exec(node, &["ip", "-4", "maddr", "show", "dev", "eth0"]) {
            Ok(text) if text.contains(GROUP) => Probe::Done(()),
            Ok(text) => Probe::Pending(text),
            Err(e) => Probe::Pending(e.to_string()),
        }
    })
    .unwrap();
    handle
}

/// Whether `router`'s kernel forwards the flow out of `iface`.
fn forwards(lab: &Lab, router: &str, iface: &str) -> Result<bool, String> {
    let (source, group) = (source(lab), group());
    let routes = kernel_mroutes(lab, router, false).map_err(|e| e.to_string())?;
    Ok(routes
        .iter()
        .any(|r| r.source == Some(source) && r.group == group && r.oifs.iter().any(|o| o == iface)))
}

/// Whether `router` (ra or rb) forwards the flow onto the LAN.
fn forwards_onto_lan(lab: &Lab, router: &str) -> Result<bool, String> {
    forwards(lab, router, LAN_IFACE)
}

/// hatod's Assert state for the flow on the LAN: (state, winner).
fn hatod_assert(lab: &Lab, node: &str) -> Option<(String, IpAddr)> {
    let lan = lab.topology().iface(node, "lan")?.to_string();
    let json = hatoctl_json(lab, node, &Request::ShowPimAssert);
    let (source, group) = (source(lab).to_string(), group().to_string());
    json["states"].as_array()?.iter().find_map(|s| {
        if s["interface"] != lan.as_str() || s["source"] != source.as_str() || s["group"] != group.as_str() {
            return None;
        }
        Some((s["state"].as_str()?.to_string(), s["winner"].as_str()?.parse().ok()?))
    })
}

/// FRR's Assert state for the flow on the LAN from `show ip pim assert` (no JSON in 8.4.4):
/// (state, winner), e.g. ("WINNER", 198.18.3.5).
fn frr_assert(lab: &Lab, node: &str) -> Option<(String, IpAddr)> {
    let text = frr::vtysh(lab, node, "show ip pim assert").ok()?;
    let (source, group) = (source(lab).to_string(), group().to_string());
    text.lines().find_map(|line| {
        let columns: Vec<&str> = line.split_whitespace().collect();
        // Interface Address Source Group State Winner Uptime Timer
        if columns.first() != Some(&LAN_IFACE)
            || !columns.contains(&source.as_str())
            || !columns.contains(&group.as_str())
        {
            return None;
        }
        let state = columns.get(4)?.to_string();
        Some((state, columns.get(5)?.parse().ok()?))
    })
}

/// pimd's view of the LAN from `pimd -r`: whether it is the DR there, and whether the flow's LAN
/// VIF is among its Asserted (lost) and its Outgoing oifs.
#[derive(Debug, PartialEq, Eq)]
struct PimdLan {
    dr: bool,
    asserted: bool,
    outgoing: bool,
}

fn pimd_lan(lab: &Lab, node: &str) -> Option<PimdLan> {
    let text = router_state(lab, node);
    let address = lan_addr(lab, node).to_string();
    // "  1  198.18.3.5       198.18.3                 1  DR PIM     198.18.3.4"
    let vif_line = text.lines().find(|l| l.split_whitespace().nth(1) == Some(address.as_str()))?;
    let vif: usize = vif_line.split_whitespace().next()?.parse().ok()?;
    let (source, group) = (source(lab).to_string(), group().to_string());
    let entry = text.lines().skip_while(|l| !(l.starts_with(&source) && l.contains(&group)));
    let flag = |label: &str| {
        let line = entry.clone().find(|l| l.starts_with(label))?;
        let flags = line.trim_start_matches(label).trim();
        flags.chars().nth(vif).map(|c| c != '.')
    };
    Some(PimdLan {
        dr: vif_line.split_whitespace().any(|w| w == "DR"),
        asserted: flag("Asserted oifs:")?,
        outgoing: flag("Outgoing oifs:")?,
    })
}

/// The DR on the LAN as `node` sees it.
fn dr_seen_by(lab: &Lab, node: &str) -> Option<IpAddr> {
    match lab.router(node)?.kind {
        RouterKind::Hatod => {
            let json = hatoctl_json(lab, node, &Request::ShowPimInterfaces);
            let interfaces = json["interfaces"].as_array()?;
            let lan = lab.topology().iface(node, "lan")?;
            let is_v4 = |i: &Value| i["address"].as_str().is_some_and(|a| !a.contains(':'));
            let lan = interfaces.iter().find(|i| i["interface"] == lan && is_v4(i))?;
            lan["dr"].as_str()?.parse().ok()
        }
        RouterKind::Frr => {
            let json = frr::vtysh_json(lab, node, "show ip pim interface json").ok()?;
            json[LAN_IFACE]["pimDesignatedRouter"].as_str()?.parse().ok()
        }
        _ => None,
    }
}

/// The IPv4 PIM neighbours `node` lists on the LAN.
fn lan_neighbors(lab: &Lab, node: &str) -> Vec<IpAddr> {
    let Some(router) = lab.router(node) else {
        return Vec::new();
    };
    match router.kind {
        RouterKind::Hatod => {
            let lan = lab.topology().iface(node, "lan").unwrap_or_default().to_string();
            let json = hatoctl_json(lab, node, &Request::ShowPimNeighbors);
            let neighbors = json["neighbors"].as_array().cloned().unwrap_or_default();
            neighbors
                .iter()
                .filter(|n| n["interface"] == lan.as_str())
                .filter_map(|n| n["address"].as_str()?.parse().ok())
                .filter(IpAddr::is_ipv4)
                .collect()
        }
        RouterKind::Frr => {
            let json = frr::vtysh_json(lab, node, "show ip pim neighbor json").unwrap_or_default();
            json[LAN_IFACE]
                .as_object()
                .map_or(Vec::new(), |n| n.keys().filter_map(|a| a.parse().ok()).collect())
        }
        // Before any flow, the only foreign LAN addresses `pimd -r` prints are its neighbours.
        RouterKind::Pimd | RouterKind::Smcroute => {
            let text = router_state(lab, node);
            text.split_whitespace().filter_map(|w| w.parse().ok()).collect()
        }
    }
}

/// Waits until ra, rb and rd each list the other two as PIM neighbours on the LAN. Until then a
/// router drops the others' Join/Prunes and elects itself DR, and the election that follows
/// rewrites the forwarders the Assert chose.
fn wait_lan_adjacency(lab: &Lab) {
    let nodes = ["ra", "rb", "rd"];
    poll_until("the LAN's PIM adjacencies", SETTLE_DEADLINE, Duration::from_millis(50), || {
        let missing: Vec<String> = nodes
            .iter()
            .flat_map(|node| {
                let seen = lan_neighbors(lab, node);
                nodes
                    .iter()
                    .filter(move |other| *other != node)
                    .map(|other| (node, lan_addr(lab, other)))
                    .filter(move |(_, addr)| !seen.contains(addr))
                    .map(|(node, addr)| format!("{node} misses {addr}"))
                    .collect::<Vec<_>>()
            })
            .collect();
        if missing.is_empty() {
            Probe::Done(())
        } else {
            Probe::Pending(missing.join(", "))
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", report(lab)));
}

/// Runs one Assert scenario: warm-up bursts until the Assert has settled (the winner forwards onto
/// the LAN, the loser does not, hatod holds the expected state), then the measured flow, then the
/// state every router shows.
fn run(case: Case) {
    let hatod_on = case.hatod_on();
    let role = match case.peer {
        RouterKind::Hatod => format!("hatod against hatod, {} wins", case.winner),
        _ if case.winner == hatod_on => format!("hatod wins on {hatod_on}"),
        _ => format!("hatod loses on {hatod_on}"),
    };
    let how = match case.steer {
        Steer::AddressTieBreak => "address tie-break",
        Steer::LoserMetric => "route metric",
        Steer::HatodDistance | Steer::PimdPreference => "metric preference",
    };
    let positions = if case.peer_on == "ra" { ["peer", "hatod"] } else { ["hatod", "peer"] };
    let peers = positions.map(|p| if p == "peer" { kind_name(case.peer) } else { "hatod" });
    let _scenario = Scenario::new(format!("Assert on a LAN, {role} ({how}), IPv4 SSM"), &peers);
    let lab = assert_lab(case);
    let (winner, loser) = (case.winner, case.loser());
    let winner_addr = lan_addr(&lab, winner);
    let state_of = |node: &str| if node == winner { "winner" } else { "loser" };
    wait_lan_adjacency(&lab);
    let receivers = [receive(&lab, "receiver"), receive(&lab, "receiver2")];

    // Both forward onto the LAN until the Assert: bursts keep the flow alive until it settles.
    let mut bursts = 0u32;
    poll_until("the Assert settles", SETTLE_DEADLINE, Duration::from_millis(1), || {
        send(&lab, WARM_UP_RUN, 40);
        bursts += 1;
        let observed = (
            forwards_onto_lan(&lab, winner),
            forwards_onto_lan(&lab, loser),
            hatod_assert(&lab, hatod_on),
            forwards(&lab, "rd", RD_RECEIVER_IFACE),
        );
        match &observed {
            (Ok(true), Ok(false), Some((state, elected)), Ok(true))
                if state == state_of(hatod_on) && *elected == winner_addr =>
            {
                Probe::Done(())
            }
            _ => Probe::Pending(format!("{observed:?}")),
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", report(&lab)));
    eprintln!("{role} ({how}) against {:?}: settled after {bursts} bursts of 40 packets", case.peer);

    // The measured window starts after the loser has pruned the LAN from its entry.
    let sent = send(&lab, MEASURED_RUN, MEASURED_PACKETS);
    assert_eq!(sent.sent, MEASURED_PACKETS, "{sent:?}");
    for (node, receiver) in ["receiver", "receiver2"].into_iter().zip(receivers) {
        let got = receiver.join().unwrap();
        eprintln!("{node}: {got:?}");
        assert!(
            got.unique * 10 >= u64::from(MEASURED_PACKETS) * 9,
            "{node}: more than 10 % lost: {got:?}\n{}",
            report(&lab)
        );
        assert_eq!(got.duplicates, 0, "{node}: {got:?}\n{}", report(&lab));
    }

    // The results the routers show, after the flow.
    assert_eq!(forwards_onto_lan(&lab, loser), Ok(false), "{}", report(&lab));
    let rb = lan_addr(&lab, "rb");
    for node in [hatod_on, "rd"] {
        assert_eq!(dr_seen_by(&lab, node), Some(rb), "{node}: the DR is rb\n{}", report(&lab));
    }
    let hatod_state = hatod_assert(&lab, hatod_on);
    assert_eq!(hatod_state, Some((state_of(hatod_on).to_string(), winner_addr)), "{}", report(&lab));
    // rd's RPF interface is the LAN: it tracks the winner as a loser would (§4.6.1, AssertTrackingDesired).
    let rd_state = hatod_assert(&lab, "rd");
    assert_eq!(rd_state, Some(("loser".to_string(), winner_addr)), "rd\n{}", report(&lab));
    let peer_on = case.peer_on;
    let peer_state = state_of(peer_on).to_string();
    match case.peer {
        RouterKind::Frr => {
            assert_eq!(dr_seen_by(&lab, peer_on), Some(rb), "FRR: the DR is rb\n{}", report(&lab));
            let expected = (peer_state.to_uppercase(), winner_addr);
            assert_eq!(frr_assert(&lab, peer_on), Some(expected), "{}", report(&lab));
        }
        RouterKind::Hatod => {
            assert_eq!(hatod_assert(&lab, peer_on), Some((peer_state, winner_addr)), "{}", report(&lab));
        }
        RouterKind::Pimd => {
            let pimd_wins = winner == peer_on;
            let expected = PimdLan { dr: peer_on == "rb", asserted: !pimd_wins, outgoing: pimd_wins };
            assert_eq!(pimd_lan(&lab, peer_on), Some(expected), "{}", report(&lab));
        }
        RouterKind::Smcroute => unreachable!("smcroute does not speak PIM"),
    }
}

#[test]
fn hatod_wins_against_frr_on_metric() {
    run(Case { peer: RouterKind::Frr, peer_on: "rb", winner: "ra", steer: Steer::LoserMetric });
}

#[test]
fn hatod_loses_to_frr_on_metric() {
    run(Case { peer: RouterKind::Frr, peer_on: "rb", winner: "rb", steer: Steer::LoserMetric });
}

#[test]
fn hatod_wins_against_frr_on_address() {
    run(Case { peer: RouterKind::Frr, peer_on: "ra", winner: "rb", steer: Steer::AddressTieBreak });
}

#[test]
fn hatod_wins_against_pimd_on_preference() {
    run(Case { peer: RouterKind::Pimd, peer_on: "rb", winner: "ra", steer: Steer::PimdPreference });
}

#[test]
fn hatod_loses_to_pimd_on_preference() {
    run(Case { peer: RouterKind::Pimd, peer_on: "rb", winner: "rb", steer: Steer::HatodDistance });
}

#[test]
fn hatod_against_hatod_on_address() {
    run(Case { peer: RouterKind::Hatod, peer_on: "rb", winner: "rb", steer: Steer::AddressTieBreak });
}
