//! Captures of every lab link, and the check that every protocol packet hatod sent decodes cleanly in
//! an independent dissector (Wireshark's `tshark`). The same check can be pointed at other routers'
//! packets ([`Lab::check_captures_of`](crate::Lab::check_captures_of)).
//!
//! [`Lab::capture_links`](crate::Lab::capture_links) starts one `dumpcap` per segment before any
//! router: on one end of a point-to-point veth (which sees both directions), or on every port of a
//! switched segment's bridge (one process, several interfaces). Captures are pcapng files in
//! `<workdir>/captures/`, kept with the work directory when a test fails.
//! [`Lab::check_captures`](crate::Lab::check_captures) stops them and checks each file:
//!
//! 1. [`select_protocol_packets`] keeps the packets that a hatod router sent: the IP source is an address
//!    of a node running hatod (every address `ip addr` lists there, link-local ones included), and the
//!    packet is PIM (IPv4 protocol 103 / IPv6 next header 103), IGMP (IPv4 protocol 2, which also
//!    carries DVMRP), or MLD (ICMPv6 types 130, 131, 132 and 143, after any IPv6 extension headers).
//!    That covers hatod's Hellos, Join/Prunes, Asserts, Bootstraps, queries and Registers (their
//!    outer header and PIM checksum), plus the membership reports the node's kernel sends for the
//!    groups hatod joined. It leaves out UDP data, which the kernel forwards with the partial
//!    checksums veth offload leaves, and everything other routers send.
//! 2. The selected packets are written as raw IP to `<capture>.hato.pcap` and given to
//!    [`hato_pcap::tshark::check_with_tshark`]: a packet fails when it is malformed, has a bad IPv4,
//!    IGMP, ICMPv6, PIM or DVMRP checksum, or carries an expert item of severity Warning or Error.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io::BufWriter;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use hato_pcap::tshark::{check_with_tshark, TsharkPacket};
use hato_pcap::{read_all, LinkType, Network, PcapWriter};
use serde::Serialize;

use crate::error::{Error, Result};

/// What `dumpcap` prints once its capture is open.
pub(crate) const CAPTURING_MARKER: &str = "Capturing on";

const PROTOCOL_IGMP: u8 = 2;
const PROTOCOL_PIM: u8 = 103;
const NEXT_HEADER_ICMPV6: u8 = 58;
/// MLDv1 Query, Report, Done (RFC 2710 §3) and the MLDv2 Report (RFC 3810 §5.2).
const MLD_TYPES: [u8; 4] = [130, 131, 132, 143];
/// IPv6 extension headers walked to reach the upper layer (RFC 8200 §4): Hop-by-Hop, Routing,
/// Destination Options (length in 8-octet units after the first 8) and Fragment (8 octets).
const HOP_BY_HOP: u8 = 0;
const ROUTING: u8 = 43;
const FRAGMENT: u8 = 44;
const DESTINATION_OPTIONS: u8 = 60;

/// One running capture: a `dumpcap` on one or more interfaces of one namespace.
#[derive(Debug, Clone, Serialize)]
pub struct LinkCapture {
    /// The segment captured.
    pub segment: String,
    /// The namespace `dumpcap` runs in.
    pub netns: String,
    pub interfaces: Vec<String>,
    /// The pcapng file.
    pub file: PathBuf,
    pub pid: u32,
}

/// The `dumpcap` command line capturing `interfaces` into `file` (pcapng).
pub(crate) fn dumpcap_argv(interfaces: &[String], file: &Path) -> Vec<String> {
    let mut argv = vec!["dumpcap".to_string()];
    for iface in interfaces {
        argv.extend(["-i".to_string(), iface.clone()]);
    }
    argv.extend(["-q".to_string(), "-w".to_string(), file.to_string_lossy().into_owned()]);
    argv
}

/// Whether a network-layer packet is a protocol packet sent from one of `sources` (see the module
/// documentation for exactly what is kept).
pub fn is_protocol_packet_from(network: &Network<'_>, sources: &BTreeSet<IpAddr>) -> bool {
    match *network {
        Network::Ipv4(packet) => {
            let Some(source) = packet.get(12..16).and_then(|b| <[u8; 4]>::try_from(b).ok()) else {
                return false;
            };
            let protocol = packet.get(9).copied();
            sources.contains(&IpAddr::V4(Ipv4Addr::from(source)))
                && matches!(protocol, Some(PROTOCOL_IGMP | PROTOCOL_PIM))
        }
        Network::Ipv6(packet) => {
            let Some(source) = packet.get(8..24).and_then(|b| <[u8; 16]>::try_from(b).ok()) else {
                return false;
            };
            if !sources.contains(&IpAddr::V6(Ipv6Addr::from(source))) {
                return false;
            }
            match ipv6_upper_layer(packet) {
                Some((PROTOCOL_PIM, _)) => true,
                Some((NEXT_HEADER_ICMPV6, offset)) => {
                    packet.get(offset).is_some_and(|icmp_type| MLD_TYPES.contains(icmp_type))
                }
                _ => false,
            }
        }
        Network::Other { .. } => false,
    }
}

/// The upper-layer protocol of an IPv6 packet and the offset of its header, past the extension
/// headers listed above; `None` when the headers run past the packet.
fn ipv6_upper_layer(packet: &[u8]) -> Option<(u8, usize)> {
    let mut next = *packet.get(6)?;
    let mut offset = 40;
    // Each extension header is at least 8 octets, so this ends within packet.len() / 8 passes.
    while matches!(next, HOP_BY_HOP | ROUTING | DESTINATION_OPTIONS | FRAGMENT) {
        let header = packet.get(offset..offset + 2)?;
        let length = if next == FRAGMENT { 8 } else { (usize::from(header[1]) + 1) * 8 };
        next = header[0];
        offset += length;
    }
    (offset <= packet.len()).then_some((next, offset))
}

/// Writes the packets of `capture` that [`is_protocol_packet_from`] keeps to `output` as raw IP;
/// returns their 1-based frame numbers in `capture`, and the damage that ended reading early, if any.
pub fn select_protocol_packets(
    capture: &Path,
    sources: &BTreeSet<IpAddr>,
    output: &Path,
) -> Result<(Vec<u64>, Option<String>)> {
    let bytes = fs::read(capture).map_err(|e| Error::io(format!("read {}", capture.display()), e))?;
    let (frames, damage) = read_all(&bytes);
    let file = fs::File::create(output).map_err(|e| Error::io(format!("create {}", output.display()), e))?;
    let mut writer = PcapWriter::new(BufWriter::new(file), LinkType::RAW)
        .map_err(|e| Error::io(format!("write {}", output.display()), e))?;
    let mut selected = Vec::new();
    for (index, frame) in frames.iter().enumerate() {
        let Ok(network) = frame.network() else { continue };
        if !is_protocol_packet_from(&network, sources) {
            continue;
        }
        let (Network::Ipv4(packet) | Network::Ipv6(packet)) = network else { continue };
        writer
            .write_frame(frame.timestamp_ns.unwrap_or_default(), packet)
            .map_err(|e| Error::io(format!("write {}", output.display()), e))?;
        selected.push(index as u64 + 1);
    }
    writer.flush().map_err(|e| Error::io(format!("write {}", output.display()), e))?;
    Ok((selected, damage.map(|d| d.to_string())))
}

/// A checked packet that tshark found fault with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The frame number in the original capture.
    pub frame: u64,
    /// What tshark said (its frame number is the one in the `.hato.pcap` file).
    pub packet: TsharkPacket,
}

/// The check of one capture file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaptureCheck {
    pub capture: PathBuf,
    /// The selected packets, as given to tshark.
    pub selected: PathBuf,
    /// How many packets were selected and checked.
    pub checked: usize,
    /// Damage that ended reading the capture early (a cut-off last record).
    pub damage: Option<String>,
    pub findings: Vec<Finding>,
}

impl CaptureCheck {
    /// Neither damage nor findings.
    pub fn is_clean(&self) -> bool {
        self.damage.is_none() && self.findings.is_empty()
    }
}

/// Selects the protocol packets of `sources` in `capture` (see [`select_protocol_packets`]) and runs tshark over them.
pub fn check_capture(capture: &Path, sources: &BTreeSet<IpAddr>) -> Result<CaptureCheck> {
    let selected_path = capture.with_extension("hato.pcap");
    let (selected, damage) = select_protocol_packets(capture, sources, &selected_path)?;
    let report = check_with_tshark(&selected_path)
        .map_err(|e| Error::Invalid(format!("tshark over {}: {e}", selected_path.display())))?;
    if report.packets.len() != selected.len() {
        return Err(Error::Invalid(format!(
            "tshark read {} packets from {}, {} were written",
            report.packets.len(),
            selected_path.display(),
            selected.len()
        )));
    }
    let findings = report
        .packets
        .iter()
        .zip(&selected)
        .filter(|(packet, _)| !packet.is_clean())
        .map(|(packet, &frame)| Finding { frame, packet: packet.clone() })
        .collect();
    Ok(CaptureCheck {
        capture: capture.to_path_buf(),
        selected: selected_path,
        checked: selected.len(),
        damage,
        findings,
    })
}

/// The checks of every capture of a lab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaptureVerdict {
    /// The addresses whose packets were checked (those of the nodes running the checked routers).
    pub sources: BTreeSet<IpAddr>,
    pub captures: Vec<CaptureCheck>,
}

impl CaptureVerdict {
    /// Whether every capture is clean.
    pub fn is_clean(&self) -> bool {
        self.captures.iter().all(CaptureCheck::is_clean)
    }

    /// How many packets were checked, over all captures.
    pub fn checked(&self) -> usize {
        self.captures.iter().map(|c| c.checked).sum()
    }

    /// Panics with the verdict unless it is clean and at least one packet was checked (a lab without
    /// the checked routers, or captures that missed everything, would otherwise pass vacuously).
    pub fn assert_clean(&self) {
        assert!(self.is_clean() && self.checked() > 0, "{self}");
    }
}

impl fmt::Display for CaptureVerdict {
    /// One line per capture, then one per finding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problems: usize = self.captures.iter().map(|c| c.findings.len()).sum();
        writeln!(f, "tshark: {} protocol packets checked, {problems} with problems", self.checked())?;
        for capture in &self.captures {
            writeln!(f, "-- {}: {} packets checked", capture.capture.display(), capture.checked)?;
            if let Some(damage) = &capture.damage {
                writeln!(f, "   capture damaged: {damage}")?;
            }
            for finding in &capture.findings {
                writeln!(f, "   frame {} of the capture: {}", finding.frame, finding.packet)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HATOD: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
    const OTHER: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 3);
    const HATOD_LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);

    /// RFC 1071 checksum.
    fn checksum(data: &[u8]) -> u16 {
        let mut sum: u32 =
            data.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    /// An IPv4 packet with a correct header checksum.
    fn ipv4(source: Ipv4Addr, destination: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut packet = vec![0x45, 0xc0];
        packet.extend_from_slice(&total.to_be_bytes());
        packet.extend_from_slice(&[0, 0, 0, 0, 1, protocol, 0, 0]);
        packet.extend_from_slice(&source.octets());
        packet.extend_from_slice(&destination.octets());
        let sum = checksum(&packet);
        packet[10..12].copy_from_slice(&sum.to_be_bytes());
        packet.extend_from_slice(payload);
        packet
    }

    /// A PIM Hello with a Holdtime option and a correct checksum (RFC 7761 §4.9.2).
    fn pim_hello() -> Vec<u8> {
        let mut hello = vec![0x20, 0, 0, 0, 0, 1, 0, 2, 0, 105];
        let sum = checksum(&hello);
        hello[2..4].copy_from_slice(&sum.to_be_bytes());
        hello
    }

    /// A PIM Hello whose option claims 32 octets but holds 2: malformed, with a bad checksum.
    fn malformed_pim_hello() -> Vec<u8> {
        vec![0x20, 0, 0x12, 0x34, 0, 1, 0, 32, 0, 105]
    }

    fn udp() -> Vec<u8> {
        // Source port, destination port, length, a partial (wrong) checksum, 4 bytes of data.
        vec![0x13, 0x89, 0x13, 0x89, 0, 12, 0xab, 0xcd, 1, 2, 3, 4]
    }

    /// An IPv6 MLDv2 Report behind a Hop-by-Hop header with Router Alert (RFC 3810 §5).
    fn mld_report_v6(source: Ipv6Addr) -> Vec<u8> {
        let destination: Ipv6Addr = "ff02::16".parse().unwrap();
        let mut icmp = [143, 0, 0, 0, 0, 0, 0, 0];
        // The checksum covers the RFC 8200 §8.1 pseudo-header.
        let mut pseudo = [source.octets(), destination.octets()].concat();
        pseudo.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, NEXT_HEADER_ICMPV6]);
        pseudo.extend_from_slice(&icmp);
        icmp[2..4].copy_from_slice(&checksum(&pseudo).to_be_bytes());
        let mut packet = vec![0x60, 0, 0, 0, 0, 16, HOP_BY_HOP, 1];
        packet.extend_from_slice(&source.octets());
        packet.extend_from_slice(&destination.octets());
        packet.extend_from_slice(&[NEXT_HEADER_ICMPV6, 0, 5, 2, 0, 0, 1, 0]);
        packet.extend_from_slice(&icmp);
        packet
    }

    fn sources() -> BTreeSet<IpAddr> {
        [IpAddr::V4(HATOD), IpAddr::V6(HATOD_LINK_LOCAL)].into_iter().collect()
    }

    fn write_capture(path: &Path, packets: &[Vec<u8>]) {
        let file = fs::File::create(path).unwrap();
        let mut writer = PcapWriter::new(file, LinkType::ETHERNET).unwrap();
        for (index, packet) in packets.iter().enumerate() {
            writer.write_packet(1_700_000_000_000_000_000 + index as u64 * 1000, packet).unwrap();
        }
        writer.flush().unwrap();
    }

    #[test]
    fn keeps_protocol_packets_of_hatod_only() {
        let all_pim = Ipv4Addr::new(224, 0, 0, 13);
        let group = Ipv4Addr::new(239, 1, 2, 3);
        let keep = |packet: &[u8]| {
            let network = hato_pcap::network_layer(LinkType::RAW, packet).unwrap();
            is_protocol_packet_from(&network, &sources())
        };
        assert!(keep(&ipv4(HATOD, all_pim, PROTOCOL_PIM, &pim_hello())));
        assert!(keep(&ipv4(HATOD, all_pim, PROTOCOL_IGMP, &[0x11, 0, 0, 0, 0, 0, 0, 0])));
        assert!(!keep(&ipv4(OTHER, all_pim, PROTOCOL_PIM, &pim_hello())), "another router's packet");
        assert!(!keep(&ipv4(HATOD, group, 17, &udp())), "UDP data");
        assert!(keep(&mld_report_v6(HATOD_LINK_LOCAL)), "MLD behind Hop-by-Hop");
        assert!(!keep(&mld_report_v6("fe80::3".parse().unwrap())), "another router's MLD");
        let mut echo = mld_report_v6(HATOD_LINK_LOCAL);
        echo[48] = 128;
        assert!(!keep(&echo), "an ICMPv6 Echo Request is not MLD");
        let mut cut = mld_report_v6(HATOD_LINK_LOCAL);
        cut.truncate(44);
        assert!(!keep(&cut), "extension headers past the end");
    }

    #[test]
    fn the_verdict_flags_exactly_the_malformed_packet_hatod_sent() {
        let dir = std::env::temp_dir().join(format!("hato-lab-capture-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let capture = dir.join("link.pcap");
        let all_pim = Ipv4Addr::new(224, 0, 0, 13);
        write_capture(
            &capture,
            &[
                ipv4(HATOD, all_pim, PROTOCOL_PIM, &pim_hello()),
                ipv4(OTHER, all_pim, PROTOCOL_PIM, &malformed_pim_hello()),
                ipv4(HATOD, Ipv4Addr::new(239, 1, 2, 3), 17, &udp()),
                ipv4(HATOD, all_pim, PROTOCOL_PIM, &malformed_pim_hello()),
                mld_report_v6(HATOD_LINK_LOCAL),
            ],
        );
        let check = check_capture(&capture, &sources()).unwrap();
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(check.checked, 3, "{check:?}");
        assert_eq!(check.findings.len(), 1, "{check:?}");
        let finding = &check.findings[0];
        assert_eq!(finding.frame, 4);
        assert!(finding.packet.malformed || !finding.packet.bad_checksums.is_empty(), "{finding:?}");
        let verdict = CaptureVerdict { sources: sources(), captures: vec![check] };
        assert!(!verdict.is_clean());
        let text = verdict.to_string();
        assert!(text.starts_with("tshark: 3 protocol packets checked, 1 with problems\n"), "{text}");
        assert!(text.contains("frame 4 of the capture"), "{text}");
        let panicked = std::panic::catch_unwind(|| verdict.assert_clean());
        assert!(panicked.is_err());
    }
}
