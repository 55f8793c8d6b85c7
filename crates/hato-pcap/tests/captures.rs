//! The real captures of testdata/captures: each reads completely with the frame counts and timestamps
//! tshark reports, every truncation ends in an error after a prefix of the frames, the Ethernet headers
//! this crate builds equal the captured ones, and what the writer writes the reader reads back.

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use hato_pcap::{
    multicast_mac, network_layer, read_all, wrap_in_ethernet, Error, Format, Frame, LinkType, Network,
    PcapWriter, Reader,
};
use proptest::prelude::*;

/// A capture with what `capinfos` / `tshark -T fields -e frame.time_epoch` say about it.
struct Expected {
    name: &'static str,
    pcapng: bool,
    frames: usize,
    first_ns: u64,
    last_ns: u64,
    first_len: usize,
    ipv4: usize,
    ipv6: usize,
    multicast: usize,
}

#[rustfmt::skip]
const CAPTURES: [Expected; 8] = [
    Expected { name: "frr-pimsm-igmp.pcap", pcapng: false, frames: 55, first_ns: 1_795_341_840_615_230_000,
        last_ns: 1_795_342_136_241_363_000, first_len: 130, ipv4: 45, ipv6: 10, multicast: 55 },
    Expected { name: "frr-pimsm6-mld.pcap", pcapng: false, frames: 20, first_ns: 1_795_341_980_931_304_000,
        last_ns: 1_795_342_028_150_355_000, first_len: 170, ipv4: 0, ipv6: 20, multicast: 20 },
    Expected { name: "mrouted-dvmrp-lan.pcapng", pcapng: true, frames: 84, first_ns: 1_795_341_507_924_038_787,
        last_ns: 1_795_341_557_927_055_123, first_len: 50, ipv4: 84, ipv6: 0, multicast: 60 },
    Expected { name: "pim6sd-pimsm6.pcapng", pcapng: true, frames: 140, first_ns: 1_795_341_818_435_252_054,
        last_ns: 1_795_341_848_115_659_870, first_len: 150, ipv4: 0, ipv6: 140, multicast: 20 },
    // pcapng despite its name.
    Expected { name: "pimd-pimsm-lan-assert.pcap", pcapng: true, frames: 27, first_ns: 1_795_344_468_699_992_000,
        last_ns: 1_795_344_496_716_401_000, first_len: 68, ipv4: 27, ipv6: 0, multicast: 27 },
    Expected { name: "pimdd-pimdm-lan.pcapng", pcapng: true, frames: 41, first_ns: 1_795_341_452_882_820_658,
        last_ns: 1_795_341_485_959_252_024, first_len: 50, ipv4: 41, ipv6: 0, multicast: 39 },
    Expected { name: "pimdm-py-pimdm-igmpv2.pcap", pcapng: false, frames: 23, first_ns: 1_795_342_493_411_245_000,
        last_ns: 1_795_342_506_498_412_000, first_len: 54, ipv4: 14, ipv6: 9, multicast: 21 },
    // pcapng despite its name.
    Expected { name: "pimdm-py-pimv6-bad-checksums.pcap", pcapng: true, frames: 8,
        first_ns: 1_795_342_520_392_333_000, last_ns: 1_795_342_533_333_842_000, first_len: 124, ipv4: 2, ipv6: 6,
        multicast: 6 },
];

fn capture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/captures").join(name)
}

fn load(name: &str) -> Vec<u8> {
    let path = capture_path(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn ip_destination(network: Network<'_>) -> Option<IpAddr> {
    match network {
        Network::Ipv4(packet) => {
            let octets: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            Some(IpAddr::V4(Ipv4Addr::from(octets)))
        }
        Network::Ipv6(packet) => {
            let octets: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            Some(IpAddr::V6(Ipv6Addr::from(octets)))
        }
        Network::Other { .. } => None,
    }
}

#[test]
fn every_capture_reads_completely() {
    for expected in &CAPTURES {
        let bytes = load(expected.name);
        let format = Reader::new(&bytes).unwrap().format();
        assert_eq!(matches!(format, Format::PcapNg), expected.pcapng, "{}", expected.name);
        let (frames, error) = read_all(&bytes);
        assert_eq!(error, None, "{}", expected.name);
        assert_eq!(frames.len(), expected.frames, "{}", expected.name);
        let first = frames.first().unwrap();
        let last = frames.last().unwrap();
        assert_eq!(first.timestamp_ns, Some(expected.first_ns), "{}", expected.name);
        assert_eq!(last.timestamp_ns, Some(expected.last_ns), "{}", expected.name);
        assert_eq!(first.data.len(), expected.first_len, "{}", expected.name);
        assert!(frames.iter().all(|frame| frame.link_type == LinkType::ETHERNET && frame.interface == 0));
        assert!(frames.iter().all(|frame| !frame.is_truncated()), "{}", expected.name);
        let networks: Vec<Network<'_>> = frames.iter().map(|frame| frame.network().unwrap()).collect();
        let ipv4 = networks.iter().filter(|network| matches!(network, Network::Ipv4(_))).count();
        let ipv6 = networks.iter().filter(|network| matches!(network, Network::Ipv6(_))).count();
        assert_eq!((ipv4, ipv6), (expected.ipv4, expected.ipv6), "{}", expected.name);
        let multicast =
            networks.iter().filter(|network| ip_destination(**network).is_some_and(|d| d.is_multicast()));
        assert_eq!(multicast.count(), expected.multicast, "{}", expected.name);
    }
}

/// Offsets where a capture may end cleanly: after each pcap record or pcapng block.
fn record_boundaries(bytes: &[u8], frames: &[Frame<'_>], pcapng: bool) -> BTreeSet<usize> {
    let mut boundaries = BTreeSet::new();
    if pcapng {
        // All the pcapng captures here are little-endian.
        let mut offset = 0;
        while offset < bytes.len() {
            let length: [u8; 4] = bytes[offset + 4..offset + 8].try_into().unwrap();
            offset += u32::from_le_bytes(length) as usize;
            boundaries.insert(offset);
        }
    } else {
        let mut offset = 24;
        boundaries.insert(offset);
        for frame in frames {
            offset += 16 + frame.data.len();
            boundaries.insert(offset);
        }
    }
    boundaries
}

#[test]
fn every_truncation_yields_a_prefix_then_an_error() {
    for expected in &CAPTURES {
        let bytes = load(expected.name);
        let (all_frames, _) = read_all(&bytes);
        let boundaries = record_boundaries(&bytes, &all_frames, expected.pcapng);
        for cut in 0..bytes.len() {
            let (frames, error) = read_all(&bytes[..cut]);
            assert_eq!(frames[..], all_frames[..frames.len()], "{} cut at {cut}", expected.name);
            assert_eq!(
                error.is_none(),
                boundaries.contains(&cut),
                "{} cut at {cut}: {error:?}",
                expected.name
            );
        }
    }
}

#[test]
fn ethernet_headers_built_here_equal_the_captured_ones() {
    for expected in &CAPTURES {
        let bytes = load(expected.name);
        let (frames, _) = read_all(&bytes);
        for (index, frame) in frames.iter().enumerate() {
            let network = frame.network().unwrap();
            let (Network::Ipv4(packet) | Network::Ipv6(packet)) = network else { continue };
            let destination = ip_destination(network).unwrap();
            if let Some(mac) = multicast_mac(destination) {
                assert_eq!(mac[..], frame.data[..6], "{} frame {}", expected.name, index + 1);
            }
            let source: [u8; 6] = frame.data[6..12].try_into().unwrap();
            let unicast: [u8; 6] = frame.data[..6].try_into().unwrap();
            let rebuilt = wrap_in_ethernet(packet, source, unicast).unwrap();
            assert_eq!(rebuilt[..], frame.data[..14 + packet.len()], "{} frame {}", expected.name, index + 1);
        }
    }
}

#[test]
fn rewritten_captures_read_back_as_the_same_packets() {
    for link_type in [LinkType::ETHERNET, LinkType::RAW] {
        for expected in &CAPTURES {
            let bytes = load(expected.name);
            let (frames, _) = read_all(&bytes);
            let mut writer = PcapWriter::new(Vec::new(), link_type).unwrap();
            let mut packets = Vec::new();
            for frame in &frames {
                let (Network::Ipv4(packet) | Network::Ipv6(packet)) = frame.network().unwrap() else {
                    continue;
                };
                writer.write_packet(frame.timestamp_ns.unwrap(), packet).unwrap();
                packets.push((frame.timestamp_ns.unwrap() / 1000 * 1000, packet));
            }
            let written = writer.into_inner();
            assert_eq!(
                Reader::new(&written).unwrap().format(),
                Format::Pcap { big_endian: false, nanoseconds: false }
            );
            let (reread, error) = read_all(&written);
            assert_eq!(error, None);
            let reread: Vec<_> = reread
                .iter()
                .map(|frame| {
                    let (Network::Ipv4(packet) | Network::Ipv6(packet)) = frame.network().unwrap() else {
                        panic!("not IP")
                    };
                    (frame.timestamp_ns.unwrap(), packet)
                })
                .collect();
            assert_eq!(reread, packets, "{} as {link_type}", expected.name);
        }
    }
}

#[test]
fn writer_rejects_what_classic_pcap_cannot_hold() {
    let mut writer = PcapWriter::new(Vec::new(), LinkType::NULL).unwrap();
    let error = writer.write_frame(u64::from(u32::MAX) * 1_000_000_000 + 1_000_000_000, b"x").unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    let error = writer.write_packet(0, &[0x45; 20]).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(
        wrap_in_ethernet(&[0x55; 40], [0; 6], [0; 6]),
        Err(Error::UnknownNetworkProtocol { value: 5 })
    );
    assert_eq!(
        wrap_in_ethernet(&[0x45; 19], [0; 6], [0; 6]),
        Err(Error::FrameTooShort { link_type: LinkType::RAW })
    );
    assert_eq!(wrap_in_ethernet(&[], [0; 6], [0; 6]), Err(Error::FrameTooShort { link_type: LinkType::RAW }));
    // Only the header was written.
    assert_eq!(writer.into_inner().len(), 24);
}

#[test]
fn writer_header_is_classic_little_endian_microseconds() {
    let mut writer = PcapWriter::new(Vec::new(), LinkType::RAW).unwrap();
    writer.write_frame(1_500_000_000_999_999_999, &[0x60, 1, 2]).unwrap();
    writer.flush().unwrap();
    let bytes = writer.into_inner();
    #[rustfmt::skip]
    let expected = [
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x04, 0x00, 101, 0, 0, 0,
        0x00, 0x2f, 0x68, 0x59, 0x3f, 0x42, 0x0f, 0x00, 3, 0, 0, 0, 3, 0, 0, 0, 0x60, 1, 2,
    ];
    assert_eq!(bytes, expected);
}

proptest! {
    #[test]
    fn written_frames_read_back(
        link_type in prop::sample::select(vec![LinkType::ETHERNET, LinkType::RAW]),
        frames in proptest::collection::vec(
            (0..=u64::from(u32::MAX) * 1_000_000_000, proptest::collection::vec(any::<u8>(), 0..200)),
            0..8,
        ),
    ) {
        let mut writer = PcapWriter::new(Vec::new(), link_type).unwrap();
        for (timestamp_ns, data) in &frames {
            writer.write_frame(*timestamp_ns, data).unwrap();
        }
        let bytes = writer.into_inner();
        let (read, error) = read_all(&bytes);
        prop_assert_eq!(error, None);
        prop_assert_eq!(read.len(), frames.len());
        for (frame, (timestamp_ns, data)) in read.iter().zip(&frames) {
            prop_assert_eq!(frame.timestamp_ns, Some(timestamp_ns / 1000 * 1000));
            prop_assert_eq!(frame.data, &data[..]);
            prop_assert_eq!(frame.link_type, link_type);
            prop_assert_eq!(frame.original_len as usize, data.len());
        }
    }

    #[test]
    fn corrupted_captures_never_panic(
        file in 0..CAPTURES.len(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
    ) {
        let mut bytes = load(CAPTURES[file].name);
        for (index, value) in flips {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        let (frames, _) = read_all(&bytes);
        for frame in frames {
            let _ = network_layer(frame.link_type, frame.data);
        }
    }
}
