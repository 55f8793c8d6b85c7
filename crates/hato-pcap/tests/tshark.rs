//! `check_with_tshark` against the real captures and against packets with known faults written by
//! `PcapWriter`. When tshark is not installed these tests say so and pass.

use std::path::{Path, PathBuf};

use hato_pcap::tshark::{check_with_program, check_with_tshark, ChecksumLayer, TsharkError, TsharkReport};
use hato_pcap::{read_all, LinkType, PcapWriter};

fn capture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/captures").join(name)
}

/// The report, or `None` (after saying why) when tshark is absent.
fn check(path: &Path) -> Option<TsharkReport> {
    match check_with_tshark(path) {
        Ok(report) => Some(report),
        Err(TsharkError::NotInstalled) => {
            eprintln!("tshark not installed: skipping the tshark check of {}", path.display());
            None
        }
        Err(error) => panic!("{}: {error}", path.display()),
    }
}

#[test]
fn missing_tshark_is_reported_as_not_installed() {
    let result = check_with_program(Path::new("/nonexistent/tshark"), &capture_path("frr-pimsm6-mld.pcap"));
    assert!(matches!(result, Err(TsharkError::NotInstalled)), "{result:?}");
    assert_eq!(TsharkError::NotInstalled.to_string(), "tshark not installed (no `tshark` in PATH)");
}

#[test]
fn unreadable_file_is_a_tshark_failure() {
    if let Err(error) = check_with_tshark(Path::new("/nonexistent/capture.pcap")) {
        assert!(matches!(error, TsharkError::Failed { .. } | TsharkError::NotInstalled), "{error}");
    } else {
        panic!("tshark read a file that does not exist");
    }
}

#[test]
fn good_captures_are_clean() {
    for name in [
        "frr-pimsm-igmp.pcap",
        "frr-pimsm6-mld.pcap",
        "mrouted-dvmrp-lan.pcapng",
        "pim6sd-pimsm6.pcapng",
        "pimd-pimsm-lan-assert.pcap",
        "pimdd-pimdm-lan.pcapng",
    ] {
        let path = capture_path(name);
        let Some(report) = check(&path) else { return };
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(report.packets.len(), read_all(&bytes).0.len(), "{name}");
        assert!(report.is_clean(), "{name}:\n{report}");
        assert!(report.packets.iter().all(|packet| packet.expert.is_empty()), "{name}");
    }
}

#[test]
fn pim_dm_ipv6_checksums_are_flagged() {
    let Some(report) = check(&capture_path("pimdm-py-pimv6-bad-checksums.pcap")) else { return };
    let flagged: Vec<u64> = report.problem_packets().map(|packet| packet.frame).collect();
    assert_eq!(flagged, [1, 2, 3, 4, 6, 8]);
    for packet in report.problem_packets() {
        assert_eq!(packet.bad_checksums, [ChecksumLayer::Pim], "{packet}");
        assert_eq!(packet.protocols, "eth:ethertype:ipv6:pim");
        assert!(!packet.malformed);
        assert_eq!(packet.expert.len(), 1);
        assert!(packet.expert[0].message.starts_with("Bad checksum"), "{packet}");
    }
    // The IPv4 Hellos are fine.
    assert!(report.packets[4].is_clean() && report.packets[6].is_clean());
    // The IPv4/IPv6 mix has pim-dm's PIMv6 Hellos, wrong too.
    let Some(mixed) = check(&capture_path("pimdm-py-pimdm-igmpv2.pcap")) else { return };
    let flagged: Vec<u64> = mixed.problem_packets().map(|packet| packet.frame).collect();
    assert_eq!(flagged, [4, 6, 15]);
}

fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 =
        data.chunks(2).map(|pair| u32::from(pair[0]) << 8 | u32::from(*pair.get(1).unwrap_or(&0))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn with_checksum(mut message: Vec<u8>, at: usize, pseudo_header: &[u8], corrupt: bool) -> Vec<u8> {
    let checksum = internet_checksum(&[pseudo_header, &message].concat()) ^ u16::from(corrupt);
    message[at..at + 2].copy_from_slice(&checksum.to_be_bytes());
    message
}

fn ipv4(protocol: u8, destination: [u8; 4], payload: &[u8], corrupt_header: bool) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap().to_be_bytes();
    let mut header = vec![0x45, 0xc0, total[0], total[1], 0, 0, 0, 0, 1, protocol, 0, 0, 198, 18, 0, 1];
    header.extend_from_slice(&destination);
    let header = with_checksum(header, 10, &[], corrupt_header);
    [header, payload.to_vec()].concat()
}

const LINK_LOCAL: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const ALL_NODES: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

fn ipv6_mld_query(corrupt: bool) -> Vec<u8> {
    let query = vec![130, 0, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let pseudo_header = [&LINK_LOCAL[..], &ALL_NODES, &[0, 0, 0, 24, 0, 0, 0, 58]].concat();
    let query = with_checksum(query, 2, &pseudo_header, corrupt);
    let mut packet = vec![0x60, 0, 0, 0, 0, 24, 58, 1];
    packet.extend_from_slice(&LINK_LOCAL);
    packet.extend_from_slice(&ALL_NODES);
    packet.extend_from_slice(&query);
    packet
}

#[test]
fn written_faults_are_flagged_with_their_layer() {
    const ALL_SYSTEMS: [u8; 4] = [224, 0, 0, 1];
    const ALL_PIM_ROUTERS: [u8; 4] = [224, 0, 0, 13];
    const ALL_DVMRP_ROUTERS: [u8; 4] = [224, 0, 0, 4];
    let igmp_query = |corrupt| with_checksum(vec![0x11, 100, 0, 0, 0, 0, 0, 0], 2, &[], corrupt);
    // Hello with a Holdtime option of 105 s.
    let pim_hello = |corrupt| with_checksum(vec![0x20, 0, 0, 0, 0, 1, 0, 2, 0, 105], 2, &[], corrupt);
    // DVMRP Probe, generation ID 1, no neighbors.
    let dvmrp_probe =
        |corrupt| with_checksum(vec![0x13, 1, 0, 0, 0, 0, 0xff, 3, 0, 0, 0, 1], 2, &[], corrupt);
    let truncated_hello = pim_hello(false)[..7].to_vec();
    let packets = [
        ipv4(2, ALL_SYSTEMS, &igmp_query(false), false),
        ipv4(2, ALL_SYSTEMS, &igmp_query(false), true),
        ipv4(2, ALL_SYSTEMS, &igmp_query(true), false),
        ipv6_mld_query(false),
        ipv6_mld_query(true),
        ipv4(103, ALL_PIM_ROUTERS, &pim_hello(false), false),
        ipv4(103, ALL_PIM_ROUTERS, &pim_hello(true), false),
        ipv4(103, ALL_PIM_ROUTERS, &truncated_hello, false),
        ipv4(2, ALL_DVMRP_ROUTERS, &dvmrp_probe(false), false),
        ipv4(2, ALL_DVMRP_ROUTERS, &dvmrp_probe(true), false),
    ];
    let directory = std::env::temp_dir().join(format!("hato-pcap-test-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    for link_type in [LinkType::ETHERNET, LinkType::RAW] {
        let path = directory.join(format!("faults-{}.pcap", link_type.0));
        let mut writer = PcapWriter::new(std::fs::File::create(&path).unwrap(), link_type).unwrap();
        for (index, packet) in packets.iter().enumerate() {
            writer.write_packet(1_800_000_000_000_000_000 + index as u64 * 1_000_000, packet).unwrap();
        }
        writer.flush().unwrap();
        drop(writer);
        let report = check(&path);
        std::fs::remove_file(&path).unwrap();
        let Some(report) = report else { break };
        let found: Vec<(bool, Vec<ChecksumLayer>)> =
            report.packets.iter().map(|packet| (packet.malformed, packet.bad_checksums.clone())).collect();
        use ChecksumLayer::*;
        assert_eq!(
            found,
            [
                (false, vec![]),
                (false, vec![Ipv4Header]),
                (false, vec![Igmp]),
                (false, vec![]),
                (false, vec![Icmpv6]),
                (false, vec![]),
                (false, vec![Pim]),
                (true, vec![Pim]),
                (false, vec![]),
                (false, vec![Dvmrp]),
            ],
            "{link_type}:\n{report}"
        );
        let flagged: Vec<u64> = report.problem_packets().map(|packet| packet.frame).collect();
        assert_eq!(flagged, [2, 3, 5, 7, 8, 10], "{link_type}:\n{report}");
    }
    std::fs::remove_dir(&directory).unwrap();
}
