//! `hatoctl show counters`: every kind of bad input moves its own drop counter and no other.

use std::collections::BTreeMap;

use hato_control::{CountersView, Request, Response};
use hato_gmp::{GmpFamily, GmpMessage};
use hato_wire::checksum::ChecksumContext;
use hato_wire::gmp::{GroupRecord, RecordType, ReportV3};
use hato_wire::pim::{
    Bootstrap, EncodedGroup, EncodedSource, Hello, HelloOption, JoinPrune, JoinPruneGroup, PimMessage,
    Register,
};

use super::*;

/// eth0 (ifindex 2) and eth1 (ifindex 3) as in `pim_router`, one group per interface, one source
/// per group, and an RP (198.18.0.7, not this router) for 239.0.0.0/9 only.
const LIMITED: &str = r#"
[global]
auto-interfaces = false

[gmp]
max-groups = 1
max-sources = 1

[[pim.static-rp]]
address = "198.18.0.7"
groups = ["239.0.0.0/9"]

[[interface]]
name = "eth0"
[[interface]]
name = "eth1"
"#;

fn limited_router() -> TestRouter {
    let mut r = router(LIMITED);
    let mut out = with_links(&mut r, &["eth0", "eth1"]);
    for (ifindex, addr, len) in
        [(2, "198.18.0.1", 24), (3, "198.18.1.1", 24), (3, "fe80::1", 64), (3, "fd00:1::1", 64)]
    {
        let input = Input::Address {
            ifindex: IfIndex(ifindex),
            addr: addr.parse().unwrap(),
            prefix_len: len,
            added: true,
        };
        r.handle(t(1), input, &mut out);
    }
    r
}

fn pim4(ifindex: u32, source: &str, destination: &str, message: &PimMessage<V4>) -> Input {
    Input::Packet(ProtocolPacket {
        socket: SocketKind::Pim4,
        ifindex: Some(IfIndex(ifindex)),
        source: source.parse().unwrap(),
        destination: destination.parse().unwrap(),
        hop_limit: Some(1),
        router_alert: None,
        payload: message.to_bytes(ChecksumContext::Plain).unwrap(),
    })
}

fn hello() -> PimMessage<V4> {
    PimMessage::Hello(Hello { options: vec![HelloOption::Holdtime(105), HelloOption::GenerationId(7)] })
}

/// A Join/Prune to this router (198.18.1.1) on eth1 joining `source` (an `EncodedSource`).
fn join(group: &str, source: EncodedSource<V4>) -> PimMessage<V4> {
    PimMessage::JoinPrune(JoinPrune {
        upstream_neighbor: "198.18.1.1".parse().unwrap(),
        holdtime: 210,
        groups: vec![JoinPruneGroup {
            group: EncodedGroup::host(group.parse().unwrap()),
            joins: vec![source],
            prunes: vec![],
        }],
    })
}

fn star_g(rp: &str) -> EncodedSource<V4> {
    EncodedSource::star_g(rp.parse().unwrap())
}

/// An IPv4 UDP packet from 198.18.0.2 to `group`, as a DR encapsulates it.
fn data_packet(group: &str) -> Vec<u8> {
    let group: std::net::Ipv4Addr = group.parse().unwrap();
    let mut packet = vec![0x45, 0, 0, 28, 0, 1, 0, 0, 16, 17, 0, 0, 198, 18, 0, 2];
    packet.extend(group.octets());
    let sum = hato_wire::checksum::checksum(&packet);
    packet[10..12].copy_from_slice(&sum.to_be_bytes());
    packet.extend([0x30, 0x39, 0x30, 0x39, 0, 8, 0, 0]);
    packet
}

fn gmp4(ifindex: u32, src: &str, message: &GmpMessage<V4>, hop_limit: u8, router_alert: bool) -> Input {
    let (src, dst): (std::net::Ipv4Addr, _) = (src.parse().unwrap(), V4::ALL_V3_ROUTERS);
    Input::Packet(ProtocolPacket {
        socket: SocketKind::Igmp,
        ifindex: Some(IfIndex(ifindex)),
        source: IpAddr::V4(src),
        destination: IpAddr::V4(dst),
        hop_limit: Some(hop_limit),
        router_alert: Some(router_alert),
        payload: V4::to_bytes(message, src, dst).unwrap(),
    })
}

/// An IGMPv3 / MLDv2 report: IS_EX({}) (a join) without sources, IS_IN(sources) with.
fn report<A: GmpFamily>(group: &str, sources: &[&str]) -> GmpMessage<A> {
    let record_type = if sources.is_empty() { RecordType::ModeIsExclude } else { RecordType::ModeIsInclude };
    GmpMessage::ReportV3(ReportV3 {
        records: vec![GroupRecord {
            record_type,
            group: group.parse().ok().unwrap(),
            sources: sources.iter().map(|s| s.parse().ok().unwrap()).collect(),
            aux_data: Vec::new(),
        }],
    })
}

fn mld_report(src: &str) -> Input {
    let (src, dst): (std::net::Ipv6Addr, _) = (src.parse().unwrap(), V6::ALL_V3_ROUTERS);
    Input::Packet(ProtocolPacket {
        socket: SocketKind::Mld,
        ifindex: Some(IfIndex(3)),
        source: IpAddr::V6(src),
        destination: IpAddr::V6(dst),
        hop_limit: Some(1),
        router_alert: Some(true),
        payload: V6::to_bytes(&report::<V6>("ff3e::1", &["fd00::2"]), src, dst).unwrap(),
    })
}

/// The drop and decode-failure counters, by name.
fn bad_input(r: &TestRouter) -> BTreeMap<String, u64> {
    let view: CountersView = match r.query(t(100), &Request::ShowCounters) {
        Response::Counters(view) => view,
        other => panic!("{other:?}"),
    };
    let decode = view.decode_failures.into_iter().map(|(name, n)| (format!("decode {name}"), n));
    view.drops.into_iter().chain(decode).collect()
}

#[test]
fn each_bad_input_moves_its_own_counter() {
    let mut r = limited_router();
    let mut out = Vec::new();
    // Set-up that drops nothing: a neighbour on eth1, one member group on eth1.
    r.handle(t(10), pim4(3, "198.18.1.2", "224.0.0.13", &hello()), &mut out);
    r.handle(t(10), gmp4(3, "198.18.1.9", &report::<V4>("239.1.1.1", &[]), 1, true), &mut out);
    assert_eq!(bad_input(&r), BTreeMap::new(), "set-up dropped input");

    let mut bad_checksum = pim4(3, "198.18.1.2", "224.0.0.13", &hello());
    if let Input::Packet(packet) = &mut bad_checksum {
        packet.payload[2] ^= 0xff;
    }
    let mut unknown_type = pim4(3, "198.18.1.2", "224.0.0.13", &hello());
    if let Input::Packet(packet) = &mut unknown_type {
        // PIM type 13 (RFC 8736: reserved for extension) with a valid checksum.
        packet.payload[0] = 0x2d;
        packet.payload[2..4].copy_from_slice(&[0, 0]);
        let sum = hato_wire::checksum::checksum(&packet.payload);
        packet.payload[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    let register = |group: &str| {
        let message = PimMessage::<V4>::Register(Register {
            border: false,
            null_register: false,
            reserved: 0,
            packet: data_packet(group),
        });
        pim4(2, "198.18.0.9", "198.18.0.1", &message)
    };
    let query_from_nobody = gmp4(
        3,
        "0.0.0.0",
        &GmpMessage::QueryV2 {
            max_resp: std::time::Duration::from_secs(10),
            group: "0.0.0.0".parse().unwrap(),
        },
        1,
        true,
    );
    // RFC 5059 §3.3: a Bootstrap message from a router that is not a PIM neighbour.
    let bootstrap = PimMessage::<V4>::Bootstrap(Bootstrap {
        no_forward: false,
        fragment_tag: 1,
        hash_mask_len: 30,
        bsr_priority: 1,
        bsr_address: "198.18.5.5".parse().unwrap(),
        group_ranges: Vec::new(),
    });
    let cases: Vec<(&str, Input)> = vec![
        // PIM (RFC 7761 §4.5: Join/Prune only from neighbours).
        (
            "pim-unknown-neighbor",
            pim4(
                3,
                "198.18.1.3",
                "224.0.0.13",
                &join("232.1.1.1", EncodedSource::sg("198.18.0.2".parse().unwrap())),
            ),
        ),
        ("pim-no-rp", pim4(3, "198.18.1.2", "224.0.0.13", &join("239.200.1.1", star_g("198.18.0.7")))),
        ("pim-rp-mismatch", pim4(3, "198.18.1.2", "224.0.0.13", &join("239.1.1.2", star_g("198.18.0.8")))),
        (
            "pim-star-g-join-in-ssm-range",
            pim4(3, "198.18.1.2", "224.0.0.13", &join("232.1.1.1", star_g("198.18.0.7"))),
        ),
        ("pim-register-not-rp", register("239.1.1.3")),
        ("decode pim-bad-checksum", bad_checksum),
        ("pim-unhandled", unknown_type),
        ("pim-bootstrap-dropped", pim4(3, "198.18.1.3", "224.0.0.13", &bootstrap)),
        // IGMP / MLD (RFC 3376 §4, §9.1; RFC 3810 §5; group and source limits).
        ("igmp-bad-ttl", gmp4(3, "198.18.1.9", &report::<V4>("239.1.1.1", &[]), 2, true)),
        ("igmp-missing-router-alert", gmp4(3, "198.18.1.9", &report::<V4>("239.1.1.1", &[]), 1, false)),
        ("igmp-querier-unspecified", query_from_nobody),
        ("igmp-group-limit", gmp4(3, "198.18.1.9", &report::<V4>("239.1.1.4", &[]), 1, true)),
        (
            "igmp-source-limit",
            gmp4(2, "198.18.0.9", &report::<V4>("232.1.1.5", &["198.18.1.20", "198.18.1.21"]), 1, true),
        ),
        ("igmp-interface-disabled", gmp4(4, "198.18.2.9", &report::<V4>("239.1.1.1", &[]), 1, true)),
        ("mld-source-not-link-local", mld_report("fd00:1::9")),
    ];
    for (now, (name, input)) in (20..).zip(cases) {
        let before = bad_input(&r);
        r.handle(t(now), input, &mut out);
        let mut moved = bad_input(&r);
        moved.retain(|counter, value| before.get(counter) != Some(value));
        let expected = BTreeMap::from([(name.to_string(), before.get(name).copied().unwrap_or(0) + 1)]);
        assert_eq!(moved, expected, "{name}");
    }
}

#[test]
fn drops_render_by_name_and_zero_counters_are_left_out() {
    let view = CountersView {
        drops: BTreeMap::from([("pim-unknown-neighbor".to_string(), 2), ("igmp-bad-ttl".to_string(), 0)]),
        ..CountersView::default()
    };
    let text = view.to_string();
    assert!(text.contains("Protocol drops:\n  pim-unknown-neighbor             2\n"), "{text}");
    assert!(!text.contains("igmp-bad-ttl"), "{text}");
    let json = hato_control::encode_line(&Response::Counters(view.clone()));
    assert!(json.contains("\"drops\":{\"igmp-bad-ttl\":0,\"pim-unknown-neighbor\":2}"), "{json}");
}

/// The configured PIM state limits (`max-states`, `max-states-per-neighbor`, `max-entries`): a join
/// beyond one is refused and counted under its own reason.
#[test]
fn configured_state_limits_refuse_and_count() {
    for (setting, reason) in [
        ("[pim]\nmax-states = 1", "pim-limit-interface"),
        ("[pim]\nmax-states-per-neighbor = 1", "pim-limit-neighbor"),
        ("[pim]\nmax-entries = 1", "pim-limit-global"),
    ] {
        let config = format!("{PIM}\n{setting}\n");
        let (mut r, mut out) = addressed_router(&config);
        r.handle(t(10), pim4(3, "198.18.1.2", "224.0.0.13", &hello()), &mut out);
        let sg = |s: &str| EncodedSource::sg(s.parse().unwrap());
        r.handle(t(11), pim4(3, "198.18.1.2", "224.0.0.13", &join("232.1.1.1", sg("198.18.0.2"))), &mut out);
        assert_eq!(bad_input(&r), BTreeMap::new(), "{setting}: the first join was refused");
        r.handle(t(12), pim4(3, "198.18.1.2", "224.0.0.13", &join("232.1.1.2", sg("198.18.0.3"))), &mut out);
        assert_eq!(bad_input(&r), BTreeMap::from([(reason.to_string(), 1)]), "{setting}");
        let joined = match r.query(t(13), &Request::ShowPimJoin) {
            Response::PimJoin(view) => view.states.iter().filter(|s| s.kind == "(S,G)").count(),
            other => panic!("{other:?}"),
        };
        assert_eq!(joined, 1, "{setting}: the refused join made state");
    }
}
