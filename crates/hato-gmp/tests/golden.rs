//! The queries hato sends, encoded, are byte for byte the ones other routers sent in the shared
//! captures (crates/hato-wire/testdata/gmp-packets.txt): mrouted's IGMPv3 general query, pim6sd's
//! MLDv2 general query, FRR's group-specific and pimd's group-and-source-specific queries, all
//! with the RFC 3376 §8 / RFC 3810 §9 defaults.

use std::net::{Ipv4Addr, Ipv6Addr};

use hato_core::{Afi, IfIndex, Instant, V4, V6};
use hato_gmp::{GmpFamily, GmpMessage, GmpRouter, InterfaceConfig, Output, Received};
use hato_wire::gmp::{GroupRecord, RecordType, ReportV3};

const IF: IfIndex = IfIndex(7);

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// Destinations and bytes of the messages sent.
type Sent<A> = Vec<(<A as Afi>::Addr, Vec<u8>)>;

/// The messages sent, encoded from `src`.
fn sent_bytes<A: GmpFamily>(out: &[Output<A>], src: A::Addr) -> Sent<A> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { ifindex, dst, message } => {
                assert_eq!(*ifindex, IF);
                Some((*dst, A::to_bytes(message, src, *dst).unwrap()))
            }
            _ => None,
        })
        .collect()
}

fn start<A: GmpFamily>(address: A::Addr) -> (GmpRouter<A>, Sent<A>) {
    let mut router = GmpRouter::new();
    let mut out = Vec::new();
    router.enable_interface(Instant::ZERO, IF, address, InterfaceConfig::default(), &mut out).unwrap();
    let sent = sent_bytes(&out, address);
    (router, sent)
}

/// mrouted-dvmrp-lan.pcapng#1: IGMPv3 general query, Max Resp Code 100, QRV 2, QQIC 125.
#[test]
fn igmpv3_general_query_matches_mrouted() {
    let (_, sent) = start::<V4>(Ipv4Addr::new(198, 18, 2, 3));
    assert_eq!(sent, [(V4::ALL_SYSTEMS, hex("1164ec1e00000000027d0000"))]);
}

/// pim6sd-pimsm6.pcapng#5: MLDv2 general query, Maximum Response Code 10000, QRV 2, QQIC 125.
#[test]
fn mldv2_general_query_matches_pim6sd() {
    let src: Ipv6Addr = "fe80::6f:47ff:fe67:e790".parse().unwrap();
    let (_, sent) = start::<V6>(src);
    assert_eq!(sent, [(V6::ALL_SYSTEMS, hex("820028302710000000000000000000000000000000000000027d0000"))]);
}

fn report<A: Afi>(record_type: RecordType, group: A::Addr, sources: Vec<A::Addr>) -> GmpMessage<A> {
    GmpMessage::ReportV3(ReportV3 {
        records: vec![GroupRecord { record_type, group, sources, aux_data: Vec::new() }],
    })
}

/// frr-pimsm-igmp.pcap#16: Q(239.1.1.1), Max Resp Code 10 (LMQI 1 s), S flag clear.
#[test]
fn group_specific_query_matches_frr() {
    let address = Ipv4Addr::new(198, 18, 4, 3);
    let (mut router, _) = start::<V4>(address);
    let group = Ipv4Addr::new(239, 1, 1, 1);
    let host = Ipv4Addr::new(198, 18, 4, 100);
    let rx = Received { ifindex: IF, src: host, dst: V4::ALL_V3_ROUTERS, ttl: 1, router_alert: true };
    let mut out = Vec::new();
    router.handle_message(Instant::ZERO, &rx, report(RecordType::ChangeToExclude, group, vec![]), &mut out);
    out.clear();
    router.handle_message(Instant::ZERO, &rx, report(RecordType::ChangeToInclude, group, vec![]), &mut out);
    assert_eq!(sent_bytes(&out, address), [(group, hex("110afc75ef010101027d0000"))]);
}

/// pimd-pimsm-lan-assert.pcap#20: Q(232.1.1.1, {198.18.20.10}), S flag clear.
#[test]
fn group_and_source_specific_query_matches_pimd() {
    let address = Ipv4Addr::new(198, 18, 30, 3);
    let (mut router, _) = start::<V4>(address);
    let group = Ipv4Addr::new(232, 1, 1, 1);
    let source = Ipv4Addr::new(198, 18, 20, 10);
    let host = Ipv4Addr::new(198, 18, 30, 100);
    let rx = Received { ifindex: IF, src: host, dst: V4::ALL_V3_ROUTERS, ttl: 1, router_alert: true };
    let mut out = Vec::new();
    router.handle_message(
        Instant::ZERO,
        &rx,
        report(RecordType::ModeIsInclude, group, vec![source]),
        &mut out,
    );
    out.clear();
    router.handle_message(
        Instant::ZERO,
        &rx,
        report(RecordType::BlockOldSources, group, vec![source]),
        &mut out,
    );
    assert_eq!(sent_bytes(&out, address), [(group, hex("110a2958e8010101027d0001c612140a"))]);
}

/// Large source lists are split so that each query fits the family's minimum MTU.
fn split_source_queries<A: GmpFamily>(address: A::Addr, group: A::Addr, source: impl Fn(u8) -> A::Addr) {
    let mut router = GmpRouter::<A>::new();
    let mut out = Vec::new();
    router.enable_interface(Instant::ZERO, IF, address, InterfaceConfig::default(), &mut out).unwrap();
    let sources: Vec<A::Addr> = (1..=200).map(source).collect();
    let rx = Received { ifindex: IF, src: address, dst: A::ALL_V3_ROUTERS, ttl: 1, router_alert: true };
    router.handle_message(
        Instant::ZERO,
        &rx,
        report(RecordType::ModeIsInclude, group, sources.clone()),
        &mut out,
    );
    out.clear();
    router.handle_message(Instant::ZERO, &rx, report(RecordType::BlockOldSources, group, sources), &mut out);
    let queries: Vec<usize> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { message: GmpMessage::QueryV3(q), .. } => Some(q.sources.len()),
            _ => None,
        })
        .collect();
    assert_eq!(queries.iter().sum::<usize>(), 200);
    assert_eq!(queries.len(), 200_usize.div_ceil(A::MAX_QUERY_SOURCES));
    assert!(queries.iter().all(|n| *n <= A::MAX_QUERY_SOURCES));
}

#[test]
fn igmp_source_queries_are_split() {
    split_source_queries::<V4>(Ipv4Addr::new(198, 18, 0, 5), Ipv4Addr::new(232, 1, 1, 1), |n| {
        Ipv4Addr::new(198, 18, 1, n)
    });
}

#[test]
fn mld_source_queries_are_split() {
    split_source_queries::<V6>("fe80::5".parse().unwrap(), "ff3e::1".parse().unwrap(), |n| {
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 1, n.into())
    });
}
