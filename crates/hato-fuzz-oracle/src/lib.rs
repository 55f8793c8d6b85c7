//! Test support, not part of hato proper: the oracles that the cargo-fuzz targets in `fuzz/` run on
//! every input, and that the corpus replay test (`tests/corpus_replay.rs`) runs on the committed
//! corpus so that CI exercises them on the stable toolchain.
//!
//! Every oracle takes arbitrary bytes and panics when a codec breaks one of its promises:
//! - parsing never panics, whatever the input;
//! - when parsing succeeds, the value encodes into exactly `buffer_len()` octets, a buffer one
//!   octet short is `BufferTooSmall`, the encoding parses back to an equal value, and encoding that
//!   value again gives the same octets (the round trip);
//! - `Display` and JSON serialisation of a parsed value never panic.
//!
//! Parsing verifies checksums, which random mutations almost never get right. So each message
//! oracle runs twice: on the input as is, and on the input with its checksum fields recomputed
//! (IPv4 header, IGMP, ICMPv6 with the pseudo-header, PIM), so that the fuzzer reaches the decoders
//! behind the checksum.

use std::fmt::{Debug, Display};
use std::net::Ipv6Addr;

use hato_core::{V4, V6};
use hato_pcap::{read_all, Network, PcapWriter};
use hato_wire::checksum::{self, ChecksumContext};
use hato_wire::igmp::IgmpRepr;
use hato_wire::ip::{Ipv4Header, Ipv6Header, PROTO_ICMPV6, PROTO_IGMP, PROTO_PIM};
use hato_wire::mld::MldRepr;
use hato_wire::packet::{dissect_ip, ControlMessage, ControlPacket};
use hato_wire::pim::PimMessage;
use hato_wire::upcall::{IgmpMsgRepr, Mrt6MsgRepr};
use hato_wire::{dvmrp, mtrace, Error};
use serde::Serialize;

/// The source address the `mld` and `pim_v6` targets put in the checksum pseudo-header.
pub const FIXED_SOURCE: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
/// The destination address of the `mld` target (all MLDv2-capable routers).
pub const MLD_DESTINATION: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);
/// The destination address of the `pim_v6` target (ALL-PIM-ROUTERS).
pub const PIM_DESTINATION: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x0d);

/// At most this many frames of a capture go through the packet oracle, to bound the time per input.
const MAX_FRAMES: usize = 64;

/// A fuzz target: a message family and its oracle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// IPv4 and IPv6 headers ([`ip`]).
    Ip,
    /// IGMP ([`igmp`]).
    Igmp,
    /// MLD ([`mld`]).
    Mld,
    /// PIM over IPv4 ([`pim_v4`]).
    PimV4,
    /// PIM over IPv6 ([`pim_v6`]).
    PimV6,
    /// DVMRP ([`dvmrp`]).
    Dvmrp,
    /// Multicast traceroute ([`mtrace`]).
    Mtrace,
    /// Kernel upcalls ([`upcall`]).
    Upcall,
    /// The packet dissector ([`dissect`]).
    Dissect,
    /// Capture files ([`pcap`]).
    Pcap,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 10] = [
        Target::Ip,
        Target::Igmp,
        Target::Mld,
        Target::PimV4,
        Target::PimV6,
        Target::Dvmrp,
        Target::Mtrace,
        Target::Upcall,
        Target::Dissect,
        Target::Pcap,
    ];

    /// The cargo-fuzz target name, also the corpus directory `fuzz/corpus/<name>`.
    pub fn name(self) -> &'static str {
        match self {
            Target::Ip => "ip",
            Target::Igmp => "igmp",
            Target::Mld => "mld",
            Target::PimV4 => "pim_v4",
            Target::PimV6 => "pim_v6",
            Target::Dvmrp => "dvmrp",
            Target::Mtrace => "mtrace",
            Target::Upcall => "upcall",
            Target::Dissect => "dissect",
            Target::Pcap => "pcap",
        }
    }

    /// Runs this target's oracle on one input; panics when a codec breaks a promise.
    pub fn check(self, data: &[u8]) {
        match self {
            Target::Ip => ip(data),
            Target::Igmp => igmp(data),
            Target::Mld => mld(data),
            Target::PimV4 => pim_v4(data),
            Target::PimV6 => pim_v6(data),
            Target::Dvmrp => dvmrp(data),
            Target::Mtrace => mtrace(data),
            Target::Upcall => upcall(data),
            Target::Dissect => dissect(data),
            Target::Pcap => pcap(data),
        }
    }
}

/// IPv4 and IPv6 headers: each parser on the input, then on it with the IPv4 header checksum fixed.
pub fn ip(data: &[u8]) {
    as_is_and_repaired(data, repair_ipv4_header, |bytes| {
        if let Ok((header, payload)) = Ipv4Header::parse(bytes) {
            describe(&header);
            round_trip(
                &(header, payload.to_vec()),
                |(header, payload)| header.buffer_len() + payload.len(),
                |(header, payload), buf| {
                    let header_len = header.emit(buf, payload.len())?;
                    append(buf, header_len, payload)
                },
                |bytes| Ipv4Header::parse(bytes).map(|(header, payload)| (header, payload.to_vec())),
            );
        }
        if let Ok((header, payload)) = Ipv6Header::parse(bytes) {
            describe(&header);
            round_trip(
                &(header, payload.to_vec()),
                |(header, payload)| header.buffer_len() + payload.len(),
                |(header, payload), buf| {
                    let header_len = header.emit(buf, payload.len())?;
                    append(buf, header_len, payload)
                },
                |bytes| Ipv6Header::parse(bytes).map(|(header, payload)| (header, payload.to_vec())),
            );
        }
    });
}

/// IGMP messages (the IP payload).
pub fn igmp(data: &[u8]) {
    as_is_and_repaired(
        data,
        |bytes| with_checksum(bytes, 2, 0),
        |bytes| {
            if let Ok(repr) = IgmpRepr::parse(bytes) {
                describe(&repr);
                round_trip(&repr, IgmpRepr::buffer_len, |repr, buf| repr.emit(buf), IgmpRepr::parse);
            }
        },
    );
}

/// MLD messages (the ICMPv6 payload), from [`FIXED_SOURCE`] to [`MLD_DESTINATION`].
pub fn mld(data: &[u8]) {
    let (src, dst) = (FIXED_SOURCE, MLD_DESTINATION);
    let initial = |len| ChecksumContext::Ipv6 { src, dst }.initial(len, PROTO_ICMPV6);
    as_is_and_repaired(
        data,
        |bytes| with_checksum(bytes, 2, initial(bytes.len())),
        |bytes| {
            if let Ok(repr) = MldRepr::parse(bytes, &src, &dst) {
                describe(&repr);
                round_trip(
                    &repr,
                    MldRepr::buffer_len,
                    |repr, buf| repr.emit(buf, &src, &dst),
                    |bytes| MldRepr::parse(bytes, &src, &dst),
                );
            }
        },
    );
}

/// PIM over IPv4 (checksum without pseudo-header).
pub fn pim_v4(data: &[u8]) {
    as_is_and_repaired(
        data,
        |bytes| with_checksum(bytes, 2, 0),
        |bytes| {
            let v6_context = ChecksumContext::Ipv6 { src: FIXED_SOURCE, dst: PIM_DESTINATION };
            assert_eq!(PimMessage::<V4>::parse(bytes, v6_context), Err(Error::BadAddressFamily));
            pim_round_trip::<V4>(bytes, ChecksumContext::Plain);
        },
    );
}

/// PIM over IPv6, from [`FIXED_SOURCE`] to [`PIM_DESTINATION`] (checksum with pseudo-header).
pub fn pim_v6(data: &[u8]) {
    let context = ChecksumContext::Ipv6 { src: FIXED_SOURCE, dst: PIM_DESTINATION };
    as_is_and_repaired(
        data,
        |bytes| with_checksum(bytes, 2, context.initial(bytes.len(), PROTO_PIM)),
        |bytes| {
            assert_eq!(PimMessage::<V6>::parse(bytes, ChecksumContext::Plain), Err(Error::BadAddressFamily));
            pim_round_trip::<V6>(bytes, context);
        },
    );
}

fn pim_round_trip<A: hato_core::Afi>(bytes: &[u8], context: ChecksumContext) {
    if let Ok(message) = PimMessage::<A>::parse(bytes, context) {
        describe(&message);
        round_trip(
            &message,
            PimMessage::buffer_len,
            |message, buf| message.emit(buf, context),
            |bytes| PimMessage::parse(bytes, context),
        );
    }
}

/// DVMRP messages (the IGMP payload of type 0x13).
pub fn dvmrp(data: &[u8]) {
    as_is_and_repaired(
        data,
        |bytes| with_checksum(bytes, 2, 0),
        |bytes| {
            if let Ok(repr) = dvmrp::Repr::parse(bytes) {
                describe(&repr);
                round_trip(&repr, dvmrp::Repr::buffer_len, |repr, buf| repr.emit(buf), dvmrp::Repr::parse);
                if let dvmrp::Message::Report(report) = &repr.message {
                    // Unpacking a report never panics; what it yields is checked by the codec's tests.
                    let _ = report.routes();
                }
            }
        },
    );
}

/// Multicast traceroute messages (the IGMP payload of type 0x1e or 0x1f).
pub fn mtrace(data: &[u8]) {
    as_is_and_repaired(
        data,
        |bytes| with_checksum(bytes, 2, 0),
        |bytes| {
            if let Ok(repr) = mtrace::Repr::parse(bytes) {
                describe(&repr);
                round_trip(&repr, mtrace::Repr::buffer_len, |repr, buf| repr.emit(buf), mtrace::Repr::parse);
            }
        },
    );
}

/// Kernel upcalls: the input as a `struct igmpmsg` and as a `struct mrt6msg`. The typed event of a
/// parsed upcall must survive `from_upcall` / `to_upcall`.
pub fn upcall(data: &[u8]) {
    if let Ok(repr) = IgmpMsgRepr::parse(data) {
        describe(&repr);
        round_trip(&repr, IgmpMsgRepr::buffer_len, |repr, buf| repr.emit(buf), IgmpMsgRepr::parse);
        if let Some(event) = repr.to_upcall() {
            assert_eq!(IgmpMsgRepr::from_upcall(&event).to_upcall(), Some(event));
        }
    }
    if let Ok(repr) = Mrt6MsgRepr::parse(data) {
        describe(&repr);
        round_trip(&repr, Mrt6MsgRepr::buffer_len, |repr, buf| repr.emit(buf), Mrt6MsgRepr::parse);
        if let Some(event) = repr.to_upcall() {
            assert_eq!(Mrt6MsgRepr::from_upcall(&event).to_upcall(), Some(event));
        }
    }
}

/// The packet dissector on an IP datagram: a dissected control packet, re-encoded behind its own IP
/// header, dissects to the same packet. Run on the input, then with every checksum fixed.
pub fn dissect(data: &[u8]) {
    as_is_and_repaired(data, repair_ip_packet, dissect_round_trip);
}

fn dissect_round_trip(bytes: &[u8]) {
    let Ok(Some(packet)) = dissect_ip(bytes) else {
        return;
    };
    describe(&packet);
    let encoded = encode_control_packet(bytes, &packet)
        .unwrap_or_else(|error| panic!("re-encoding {packet:?} failed: {error}"));
    assert_eq!(dissect_ip(&encoded), Ok(Some(packet)), "re-encoded as {encoded:02x?}");
}

/// The control packet's message encoded behind the IP header parsed from `original`.
fn encode_control_packet(original: &[u8], packet: &ControlPacket) -> hato_wire::Result<Vec<u8>> {
    let behind_ipv4 = |payload: Vec<u8>| Ipv4Header::parse(original)?.0.to_bytes(&payload);
    let ipv6 = || Ipv6Header::parse(original).map(|(header, _)| header);
    match &packet.message {
        ControlMessage::Igmp(m) => behind_ipv4(m.to_bytes()?),
        ControlMessage::Dvmrp(m) => behind_ipv4(m.to_bytes()?),
        ControlMessage::Mtrace(m) => behind_ipv4(m.to_bytes()?),
        ControlMessage::Pim4(m) => behind_ipv4(m.to_bytes(ChecksumContext::Plain)?),
        ControlMessage::Mld(m) => {
            let header = ipv6()?;
            header.to_bytes(&m.to_bytes(&header.src, &header.dst)?)
        }
        ControlMessage::Pim6(m) => {
            let header = ipv6()?;
            header.to_bytes(&m.to_bytes(ChecksumContext::Ipv6 { src: header.src, dst: header.dst })?)
        }
    }
}

/// Capture files: the reader yields frames (or an error) without panicking, the network layer of
/// each frame goes through [`dissect`], and the frames written back with [`PcapWriter`] read back
/// the same.
pub fn pcap(data: &[u8]) {
    let (frames, _damage) = read_all(data);
    for frame in frames.iter().take(MAX_FRAMES) {
        serde_json::to_string(frame).expect("a frame serialises");
        let _ = frame.is_truncated();
        if let Ok(Network::Ipv4(packet) | Network::Ipv6(packet)) = frame.network() {
            dissect(packet);
        }
    }
    let Some(first) = frames.first() else {
        return;
    };
    // A classic pcap file holds one link type: write back the frames of the first frame's type.
    let same_link: Vec<_> =
        frames.iter().filter(|frame| frame.link_type == first.link_type).take(MAX_FRAMES).collect();
    let mut writer = PcapWriter::new(Vec::new(), first.link_type).expect("writing to memory");
    let mut expected = Vec::new();
    for frame in same_link {
        let timestamp_ns = frame.timestamp_ns.unwrap_or(0);
        // Times past 2106 do not fit the classic format; the writer refuses them.
        if writer.write_frame(timestamp_ns, frame.data).is_ok() {
            expected.push((timestamp_ns / 1000 * 1000, frame.data));
        }
    }
    let written = writer.into_inner();
    let (reread, damage) = read_all(&written);
    assert_eq!(damage, None, "the written capture reads without damage");
    assert_eq!(reread.len(), expected.len());
    for (frame, (timestamp_ns, data)) in reread.iter().zip(expected) {
        assert_eq!(frame.link_type, first.link_type);
        assert_eq!(frame.timestamp_ns, Some(timestamp_ns));
        assert_eq!(frame.data, data);
        assert_eq!(frame.network(), hato_pcap::network_layer(first.link_type, data));
    }
}

/// Runs `check` on `data`, then on the repaired input when `repair` makes one that differs.
fn as_is_and_repaired(data: &[u8], repair: impl Fn(&[u8]) -> Option<Vec<u8>>, check: impl Fn(&[u8])) {
    check(data);
    if let Some(repaired) = repair(data).filter(|repaired| repaired != data) {
        check(&repaired);
    }
}

/// `message` with the Internet checksum at `offset` recomputed over the whole message, starting
/// from `initial` (a pseudo-header sum, or 0); `None` if the message cannot hold the field.
fn with_checksum(message: &[u8], offset: usize, initial: u32) -> Option<Vec<u8>> {
    let mut patched = message.to_vec();
    let end = offset.checked_add(2)?;
    patched.get_mut(offset..end)?.fill(0);
    let sum = checksum::finish(checksum::sum(initial, &patched));
    patched.get_mut(offset..end)?.copy_from_slice(&sum.to_be_bytes());
    Some(patched)
}

/// An IPv4 packet with its header checksum recomputed.
fn repair_ipv4_header(data: &[u8]) -> Option<Vec<u8>> {
    let first = *data.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let header_len = usize::from(first & 0x0f) * 4;
    let mut packet = with_checksum(data.get(..header_len)?, 10, 0)?;
    packet.extend_from_slice(data.get(header_len..)?);
    Some(packet)
}

/// An IPv4 or IPv6 packet with the checksums of its IP header and of its IGMP, ICMPv6 or PIM
/// payload recomputed.
fn repair_ip_packet(data: &[u8]) -> Option<Vec<u8>> {
    match data.first()? >> 4 {
        4 => {
            let mut packet = repair_ipv4_header(data)?;
            let header_len = usize::from(packet.first()? & 0x0f) * 4;
            let total_len = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
            if !matches!(*packet.get(9)?, PROTO_IGMP | PROTO_PIM) {
                return Some(packet);
            }
            let end = total_len.min(packet.len());
            let payload = with_checksum(packet.get(header_len..end)?, 2, 0)?;
            packet.get_mut(header_len..end)?.copy_from_slice(&payload);
            Some(packet)
        }
        6 => {
            let (header, payload) = Ipv6Header::parse(data).ok()?;
            if !matches!(header.protocol, PROTO_ICMPV6 | PROTO_PIM) {
                return None;
            }
            let start = (payload.as_ptr() as usize).checked_sub(data.as_ptr() as usize)?;
            let context = ChecksumContext::Ipv6 { src: header.src, dst: header.dst };
            let fixed = with_checksum(payload, 2, context.initial(payload.len(), header.protocol))?;
            let mut packet = data.to_vec();
            packet.get_mut(start..start.checked_add(fixed.len())?)?.copy_from_slice(&fixed);
            Some(packet)
        }
        _ => None,
    }
}

/// Copies `payload` into `buf` at `offset`; returns the end.
fn append(buf: &mut [u8], offset: usize, payload: &[u8]) -> hato_wire::Result<usize> {
    let end = offset.checked_add(payload.len()).ok_or(Error::BufferTooSmall)?;
    buf.get_mut(offset..end).ok_or(Error::BufferTooSmall)?.copy_from_slice(payload);
    Ok(end)
}

/// Formats and serialises a parsed value: neither may panic.
fn describe<T: Display + Serialize>(value: &T) {
    let _ = value.to_string();
    serde_json::to_string(value).expect("a parsed value serialises to JSON");
}

/// The round-trip oracle: `repr` (parsed from some input) encodes into exactly `buffer_len`
/// octets, one octet less is `BufferTooSmall`, the encoding parses back to `repr`, and encoding
/// that again gives the same octets.
fn round_trip<R: Debug + PartialEq>(
    repr: &R,
    buffer_len: impl Fn(&R) -> usize,
    emit: impl Fn(&R, &mut [u8]) -> hato_wire::Result<usize>,
    parse: impl Fn(&[u8]) -> hato_wire::Result<R>,
) {
    let len = buffer_len(repr);
    let mut encoded = vec![0; len];
    let written =
        emit(repr, &mut encoded).unwrap_or_else(|error| panic!("emitting {repr:?} failed: {error}"));
    assert_eq!(written, len, "emit and buffer_len disagree on {repr:?}");
    if let Some(short_len) = len.checked_sub(1) {
        let mut short = vec![0; short_len];
        assert_eq!(emit(repr, &mut short), Err(Error::BufferTooSmall), "one octet short for {repr:?}");
    }
    let reparsed = parse(&encoded)
        .unwrap_or_else(|error| panic!("{repr:?} encoded as {encoded:02x?} fails to parse: {error}"));
    assert_eq!(&reparsed, repr, "round trip through {encoded:02x?}");
    let mut again = vec![0; len];
    assert_eq!(emit(&reparsed, &mut again), Ok(len));
    assert_eq!(again, encoded, "encoding is not stable for {repr:?}");
}
