//! Properties over random inputs: any sequence of reports, queries and time keeps the state
//! consistent with RFC 3376 §6.2-6.5 and the reported memberships, and arbitrary packet bytes
//! never make the router panic.

mod lab;

use std::collections::BTreeMap;

use hato_core::{Afi, Instant, V4, V6};
use hato_gmp::{Filter, FilterMode, GmpMessage, GmpRouter, InterfaceConfig, Output, Received};
use hato_wire::gmp::RecordType;
use hato_wire::igmp::IgmpRepr;
use hato_wire::mld::MldRepr;
use lab::{millis, query, report, Lab, Numbered, IF};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Record { code: u8, group: u8, sources: Vec<u8> },
    ReportV1(u8),
    ReportV2(u8),
    Leave(u8),
    Query { from: u8, group: Option<u8>, sources: Vec<u8>, suppress: bool },
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let sources = || prop::collection::vec(1u8..=4, 0..4);
    prop_oneof![
        6 => ((1u8..=7), (1u8..=3), sources()).prop_map(|(code, group, sources)| Op::Record { code, group, sources }),
        1 => (1u8..=3).prop_map(Op::ReportV1),
        1 => (1u8..=3).prop_map(Op::ReportV2),
        1 => (1u8..=3).prop_map(Op::Leave),
        1 => ((1u8..=9), prop::option::of(1u8..=3), sources(), any::<bool>())
            .prop_map(|(from, group, sources, suppress)| Op::Query { from, group, sources, suppress }),
        4 => (0u64..300_000).prop_map(Op::Advance),
    ]
}

/// Runs `ops` and checks the invariants after each step.
fn check<A: Numbered>(config: InterfaceConfig, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut lab = Lab::<A>::with_config(config);
    // The membership last reported per group, as the routing protocols would hold it.
    let mut reported: BTreeMap<A::Addr, Filter<A>> = BTreeMap::new();
    for op in ops {
        let mut out = Vec::new();
        let rx = |from: u8| Received {
            ifindex: IF,
            src: A::node(from),
            dst: A::ALL_SYSTEMS,
            ttl: 1,
            router_alert: true,
        };
        let message = match op {
            Op::Record { code, group, sources } => {
                Some((100, report::<A>(RecordType::from_code(code), group, &sources)))
            }
            Op::ReportV1(g) => Some((101, GmpMessage::ReportV1 { group: A::group(g) })),
            Op::ReportV2(g) => Some((102, GmpMessage::ReportV2 { group: A::group(g) })),
            Op::Leave(g) => Some((102, GmpMessage::Leave { group: A::group(g) })),
            Op::Query { from, group, sources, suppress } => {
                Some((from, GmpMessage::QueryV3(query::<A>(group, &sources, suppress))))
            }
            Op::Advance(ms) => {
                let end = lab.now + millis(ms);
                for _ in 0..10_000 {
                    match lab.router.poll_at() {
                        Some(t) if t <= end => {
                            prop_assert!(t >= lab.now, "deadline in the past");
                            lab.now = t;
                            lab.router.on_timeout(t, &mut out);
                        }
                        _ => break,
                    }
                }
                lab.now = end;
                None
            }
        };
        if let Some((from, message)) = message {
            lab.router.handle_message(lab.now, &rx(from), message, &mut out);
        }
        for output in out {
            if let Output::Send { dst, message, .. } = &output {
                // What the router sends encodes, and parses back to the same message.
                let bytes = A::to_bytes(message, A::node(5), *dst).expect("encodable");
                prop_assert_eq!(A::parse(&bytes, A::node(5), *dst), Ok(Some(message.clone())));
            }
            if let Output::MembershipChanged { group, filter, .. } = output {
                prop_assert_ne!(reported.get(&group), Some(&filter), "a delta that changes nothing");
                reported.insert(group, filter);
            }
        }
        reported.retain(|_, filter| !filter.is_empty());
        let view = lab.view();
        let mut expected = BTreeMap::new();
        for group in &view.groups {
            let filter = match group.filter_mode {
                // RFC 3376 §6.2.2, §6.3: no group timer in INCLUDE mode; every source has a timer,
                // and an INCLUDE group without sources is deleted.
                FilterMode::Include => {
                    prop_assert_eq!(group.group_timer_ms, None);
                    prop_assert!(!group.sources.is_empty());
                    prop_assert!(group.sources.iter().all(|s| s.timer_ms.is_some()));
                    Filter::Include(group.sources.iter().map(|s| s.source).collect())
                }
                FilterMode::Exclude => {
                    prop_assert!(group.group_timer_ms.is_some());
                    Filter::Exclude(
                        group.sources.iter().filter(|s| s.timer_ms.is_none()).map(|s| s.source).collect(),
                    )
                }
            };
            expected.insert(group.group, filter);
        }
        prop_assert_eq!(&reported, &expected);
        let interface = lab.router.interface(IF).expect("enabled");
        let memberships: BTreeMap<_, _> = interface.memberships().map(|(g, f)| (g, f.clone())).collect();
        prop_assert_eq!(&memberships, &expected);
        prop_assert!(
            lab.router.poll_at().is_some_and(|t| t > lab.now),
            "a general query or OQP timer is pending"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn igmp_state_stays_consistent(ops in prop::collection::vec(op(), 0..60)) {
        check::<V4>(InterfaceConfig::default(), ops)?;
    }

    #[test]
    fn mld_state_stays_consistent(ops in prop::collection::vec(op(), 0..60)) {
        check::<V6>(InterfaceConfig::default(), ops)?;
    }

    #[test]
    fn limited_igmpv2_router_stays_consistent(ops in prop::collection::vec(op(), 0..60)) {
        let config = InterfaceConfig {
            version: hato_gmp::Version::V2,
            max_groups: Some(2),
            max_sources: Some(3),
            robustness: 3,
            ..InterfaceConfig::default()
        };
        check::<V4>(config, ops)?;
    }

    #[test]
    fn arbitrary_igmp_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64), ttl in 0u8..3, ra: bool) {
        let mut router = GmpRouter::<V4>::new();
        let mut out = Vec::new();
        router.enable_interface(Instant::ZERO, IF, V4::node(5), InterfaceConfig::default(), &mut out).unwrap();
        if let Ok(repr) = IgmpRepr::parse(&bytes) {
            let rx = Received { ifindex: IF, src: V4::node(1), dst: V4::ALL_SYSTEMS, ttl, router_alert: ra };
            router.handle_packet(Instant::from_secs(1), &rx, &repr, &mut out);
            router.on_timeout(Instant::from_secs(1000), &mut out);
        }
    }

    #[test]
    fn arbitrary_mld_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..96), ttl in 0u8..3, ra: bool) {
        let mut router = GmpRouter::<V6>::new();
        let mut out = Vec::new();
        router.enable_interface(Instant::ZERO, IF, V6::node(5), InterfaceConfig::default(), &mut out).unwrap();
        let src = V6::node(1);
        let dst = V6::ALL_V3_ROUTERS;
        // Fix the checksum so that the bytes reach the state machine more often than not.
        let mut bytes = bytes;
        if bytes.len() >= 4 {
            bytes[2] = 0;
            bytes[3] = 0;
            if let Ok(repr) = MldRepr::parse(&bytes, &src, &dst) {
                let rx = Received { ifindex: IF, src, dst, ttl, router_alert: ra };
                router.handle_packet(Instant::from_secs(1), &rx, &repr, &mut out);
                router.on_timeout(Instant::from_secs(1000), &mut out);
            }
        }
    }
}

/// Every IGMP / MLD packet of the shared captures goes through a router without panicking and
/// with the drops one expects from captured traffic (none for bad checksums: they parse).
#[test]
fn capture_corpus_through_the_router() {
    let corpus = include_str!("../../hato-wire/testdata/gmp-packets.txt");
    let mut igmp = GmpRouter::<V4>::new();
    let mut mld = GmpRouter::<V6>::new();
    let mut out = Vec::new();
    let mut out6 = Vec::new();
    let mut handled = 0;
    for line in corpus.lines().filter(|line| !line.starts_with('#')) {
        let fields: Vec<&str> = line.split(' ').collect();
        let [protocol, _origin, packet] = fields[..] else { panic!("bad corpus line {line}") };
        let packet: Vec<u8> = (0..packet.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&packet[i..i + 2], 16).unwrap())
            .collect();
        match protocol {
            "igmp" => {
                let (header, payload) = hato_wire::ip::Ipv4Header::parse(&packet).unwrap();
                if igmp.interface(IF).is_none() {
                    // Become a router on the captured LAN with a high address.
                    igmp.enable_interface(
                        Instant::ZERO,
                        IF,
                        "198.19.255.254".parse().unwrap(),
                        InterfaceConfig::default(),
                        &mut out,
                    )
                    .unwrap();
                }
                let repr = IgmpRepr::parse(payload).unwrap();
                let rx = Received {
                    ifindex: IF,
                    src: header.src,
                    dst: header.dst,
                    ttl: header.ttl,
                    router_alert: header.router_alert,
                };
                igmp.handle_packet(Instant::from_secs(1), &rx, &repr, &mut out);
            }
            "mld" => {
                let (header, payload) = hato_wire::ip::Ipv6Header::parse(&packet).unwrap();
                if mld.interface(IF).is_none() {
                    mld.enable_interface(
                        Instant::ZERO,
                        IF,
                        "fe80::ffff".parse().unwrap(),
                        InterfaceConfig::default(),
                        &mut out6,
                    )
                    .unwrap();
                }
                let repr = MldRepr::parse(payload, &header.src, &header.dst).unwrap();
                let rx = Received {
                    ifindex: IF,
                    src: header.src,
                    dst: header.dst,
                    ttl: header.hop_limit,
                    router_alert: header.router_alert.is_some(),
                };
                mld.handle_packet(Instant::from_secs(1), &rx, &repr, &mut out6);
            }
            other => panic!("unknown protocol {other}"),
        }
        handled += 1;
    }
    assert!(handled > 0);
    let igmp_groups: usize = igmp.show(Instant::from_secs(1)).interfaces.iter().map(|i| i.groups.len()).sum();
    let mld_groups: usize = mld.show(Instant::from_secs(1)).interfaces.iter().map(|i| i.groups.len()).sum();
    assert!(igmp_groups > 0, "captured IGMP reports create groups");
    assert!(mld_groups > 0, "captured MLD reports create groups");
}
