//! IPv4 and IPv6 headers as multicast routing protocols see them: the IPv4 header with its options
//! and the Router Alert option (RFC 791 §3.1, RFC 2113), and the IPv6 header with its extension
//! header chain walked to the upper layer, including the Hop-by-Hop Router Alert option (RFC 8200
//! §4, RFC 2711) that MLD requires (RFC 3810 §5).
//!
//! `parse` returns the header and the upper-layer payload, honouring the length fields so that
//! trailing link-layer padding is ignored; `emit` writes a header in front of a payload length.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use hato_core::{V4, V6};
use serde::Serialize;

use crate::checksum;
use crate::cursor::{Reader, Writer};
use crate::{Error, Result};

/// IP protocol number of IGMP.
pub const PROTO_IGMP: u8 = 2;
/// IP protocol number of PIM.
pub const PROTO_PIM: u8 = 103;
/// IPv6 next-header value of ICMPv6 (which carries MLD).
pub const PROTO_ICMPV6: u8 = 58;

/// The IPv4 Router Alert option type (copied, class 0, number 20; RFC 2113 §2.1).
const IPV4_OPTION_ROUTER_ALERT: u8 = 148;
const IPV4_OPTION_END: u8 = 0;
const IPV4_OPTION_NOP: u8 = 1;
/// The IPv6 Router Alert option type (RFC 2711 §2.1).
const IPV6_OPTION_ROUTER_ALERT: u8 = 5;
const IPV6_OPTION_PAD1: u8 = 0;
const IPV6_OPTION_PADN: u8 = 1;

const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_DESTINATION_OPTIONS: u8 = 60;
const IPV6_AUTHENTICATION: u8 = 51;
/// More extension headers than this is not a packet we handle.
const IPV6_MAX_EXTENSION_HEADERS: usize = 8;

/// The IPv6 Router Alert value asking routers to examine an MLD message (RFC 2711 §2.1).
pub const IPV6_ROUTER_ALERT_MLD: u16 = 0;

/// An IPv4 header (RFC 791 §3.1). The version, header length, total length and checksum are
/// derived when emitting and checked when parsing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ipv4Header {
    /// Type of service (DSCP and ECN).
    pub tos: u8,
    pub identification: u16,
    pub dont_fragment: bool,
    pub more_fragments: bool,
    /// Fragment offset in 8-octet units (13 bits).
    pub fragment_offset: u16,
    pub ttl: u8,
    pub protocol: u8,
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// Whether the header carries a Router Alert option with value 0 (RFC 2113). It is not part
    /// of `options`; `emit` writes it first.
    pub router_alert: bool,
    /// The other option octets, as received (including NOPs, End of Options and padding); a
    /// multiple of 4 octets.
    pub options: Vec<u8>,
}

impl Ipv4Header {
    /// A header with the usual defaults (no fragmentation, no options) for `protocol`.
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, ttl: u8) -> Self {
        Ipv4Header {
            tos: 0,
            identification: 0,
            dont_fragment: false,
            more_fragments: false,
            fragment_offset: 0,
            ttl,
            protocol,
            src,
            dst,
            router_alert: false,
            options: Vec::new(),
        }
    }

    /// Parses a header; returns it with the payload that the total length announces.
    pub fn parse(bytes: &[u8]) -> Result<(Self, &[u8])> {
        let mut reader = Reader::new(bytes);
        let version_ihl = reader.u8()?;
        if version_ihl >> 4 != 4 {
            return Err(Error::BadVersion);
        }
        let header_len = usize::from(version_ihl & 0x0f) * 4;
        if header_len < 20 {
            return Err(Error::BadLength);
        }
        let tos = reader.u8()?;
        let total_len = usize::from(reader.u16()?);
        let identification = reader.u16()?;
        let flags_fragment = reader.u16()?;
        let ttl = reader.u8()?;
        let protocol = reader.u8()?;
        reader.skip(2)?;
        let src = reader.addr::<V4>()?;
        let dst = reader.addr::<V4>()?;
        let raw_options = reader.bytes(header_len - 20)?;
        if total_len < header_len {
            return Err(Error::BadLength);
        }
        let packet = bytes.get(..total_len).ok_or(Error::Truncated)?;
        let header = packet.get(..header_len).ok_or(Error::Truncated)?;
        let payload = packet.get(header_len..).ok_or(Error::Truncated)?;
        if checksum::checksum(header) != 0 {
            return Err(Error::BadChecksum);
        }
        let (router_alert, options) = split_router_alert(raw_options)?;
        let parsed = Ipv4Header {
            tos,
            identification,
            dont_fragment: flags_fragment & 0x4000 != 0,
            more_fragments: flags_fragment & 0x2000 != 0,
            fragment_offset: flags_fragment & 0x1fff,
            ttl,
            protocol,
            src,
            dst,
            router_alert,
            options,
        };
        Ok((parsed, payload))
    }

    /// The header length in octets.
    pub fn buffer_len(&self) -> usize {
        20 + if self.router_alert { 4 } else { 0 } + self.options.len()
    }

    /// Writes the header for a payload of `payload_len` octets; returns the header length.
    /// `Malformed` if the options are not a multiple of 4 octets, too long, or the fragment offset
    /// does not fit; `BadLength` if the packet would exceed 65535 octets.
    pub fn emit(&self, buf: &mut [u8], payload_len: usize) -> Result<usize> {
        let header_len = self.buffer_len();
        if self.options.len() % 4 != 0 || header_len > 60 || self.fragment_offset > 0x1fff {
            return Err(Error::Malformed);
        }
        let total_len = header_len.checked_add(payload_len).ok_or(Error::BadLength)?;
        let total_len = u16::try_from(total_len).map_err(|_| Error::BadLength)?;
        let flags = u16::from(self.dont_fragment) << 14 | u16::from(self.more_fragments) << 13;
        let mut writer = Writer::new(buf);
        writer.u8(0x40 | (header_len / 4) as u8)?;
        writer.u8(self.tos)?;
        writer.u16(total_len)?;
        writer.u16(self.identification)?;
        writer.u16(flags | self.fragment_offset)?;
        writer.u8(self.ttl)?;
        writer.u8(self.protocol)?;
        writer.u16(0)?;
        writer.addr::<V4>(self.src)?;
        writer.addr::<V4>(self.dst)?;
        if self.router_alert {
            writer.bytes(&[IPV4_OPTION_ROUTER_ALERT, 4, 0, 0])?;
        }
        writer.bytes(&self.options)?;
        let sum = checksum::checksum(writer.written());
        writer.patch_u16(10, sum)?;
        Ok(header_len)
    }

    /// The header followed by `payload`.
    pub fn to_bytes(&self, payload: &[u8]) -> Result<Vec<u8>> {
        header_and_payload(self.buffer_len(), payload, |buf, payload_len| self.emit(buf, payload_len))
    }
}

impl fmt::Display for Ipv4Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IP {} > {} proto {} ttl {}", self.src, self.dst, self.protocol, self.ttl)?;
        if self.router_alert {
            f.write_str(" [RA]")?;
        }
        if !self.options.is_empty() {
            write!(f, " options {}", self.options.len())?;
        }
        Ok(())
    }
}

/// A packet of a `header_len`-octet header, written by `emit_header` (given the buffer and the
/// payload length, returning the header length), followed by `payload`.
fn header_and_payload(
    header_len: usize,
    payload: &[u8],
    emit_header: impl FnOnce(&mut [u8], usize) -> Result<usize>,
) -> Result<Vec<u8>> {
    let mut buf = vec![0; header_len + payload.len()];
    let header_len = emit_header(&mut buf, payload.len())?;
    buf.get_mut(header_len..).ok_or(Error::BufferTooSmall)?.copy_from_slice(payload);
    Ok(buf)
}

/// Walks the IPv4 options (RFC 791 §3.1): takes out the first Router Alert with value 0 and
/// returns the remaining octets untouched. `Malformed` if an option overruns the header.
fn split_router_alert(options: &[u8]) -> Result<(bool, Vec<u8>)> {
    let mut reader = Reader::new(options);
    while !reader.is_empty() {
        let start = reader.position();
        match reader.u8()? {
            IPV4_OPTION_END => break,
            IPV4_OPTION_NOP => {}
            kind => {
                let len = usize::from(reader.u8().map_err(|_| Error::Malformed)?);
                if len < 2 {
                    return Err(Error::Malformed);
                }
                let value = reader.bytes(len - 2).map_err(|_| Error::Malformed)?;
                if kind == IPV4_OPTION_ROUTER_ALERT && value == [0, 0] {
                    let mut rest = options.get(..start).unwrap_or_default().to_vec();
                    rest.extend_from_slice(options.get(start + 4..).unwrap_or_default());
                    return Ok((true, rest));
                }
            }
        }
    }
    Ok((false, options.to_vec()))
}

/// An IPv6 packet header as the upper layer sees it: the fixed header (RFC 8200 §3) and what the
/// extension header chain says: the Hop-by-Hop options, with the Router Alert (RFC 2711) taken
/// out, and the upper-layer protocol. Routing, Destination Options and Authentication headers are
/// skipped on parse and never emitted; a Fragment header (44) ends the walk and is reported as the
/// protocol, since the upper layer of a fragment is incomplete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ipv6Header {
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
    pub hop_limit: u8,
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    /// The Router Alert value of the Hop-by-Hop Options header, if it carries one
    /// ([`IPV6_ROUTER_ALERT_MLD`] for MLD). `emit` writes it first.
    pub router_alert: Option<u16>,
    /// The other Hop-by-Hop option octets as received, padding included; empty when they are just
    /// the padding `emit` adds by itself (a PadN or Pad1 filling the header to 8 octets). When not
    /// empty, they must fill the header to a multiple of 8 octets.
    pub hop_by_hop_options: Vec<u8>,
    /// The upper-layer protocol at the end of the extension header chain.
    pub protocol: u8,
}

impl Ipv6Header {
    /// A header without extension headers for `protocol`.
    pub fn new(src: Ipv6Addr, dst: Ipv6Addr, protocol: u8, hop_limit: u8) -> Self {
        Ipv6Header {
            traffic_class: 0,
            flow_label: 0,
            hop_limit,
            src,
            dst,
            router_alert: None,
            hop_by_hop_options: Vec::new(),
            protocol,
        }
    }

    /// Parses the fixed header and walks the extension headers; returns the header with the
    /// upper-layer payload (the payload length is honoured, trailing octets ignored).
    pub fn parse(bytes: &[u8]) -> Result<(Self, &[u8])> {
        let mut reader = Reader::new(bytes);
        let word = reader.u32()?;
        if word >> 28 != 6 {
            return Err(Error::BadVersion);
        }
        let payload_len = usize::from(reader.u16()?);
        let next_header = reader.u8()?;
        let hop_limit = reader.u8()?;
        let src = reader.addr::<V6>()?;
        let dst = reader.addr::<V6>()?;
        let payload = reader.bytes(payload_len)?;
        let chain = walk_extension_headers(next_header, payload)?;
        let header = Ipv6Header {
            traffic_class: (word >> 20) as u8,
            flow_label: word & 0x000f_ffff,
            hop_limit,
            src,
            dst,
            router_alert: chain.router_alert,
            hop_by_hop_options: chain.hop_by_hop_options,
            protocol: chain.protocol,
        };
        Ok((header, chain.payload))
    }

    /// Whether `emit` writes a Hop-by-Hop Options header.
    fn has_hop_by_hop(&self) -> bool {
        self.router_alert.is_some() || !self.hop_by_hop_options.is_empty()
    }

    /// Length of the Hop-by-Hop options before padding: the Router Alert and the other options.
    fn hop_by_hop_content_len(&self) -> usize {
        2 + if self.router_alert.is_some() { 4 } else { 0 } + self.hop_by_hop_options.len()
    }

    /// The length of the fixed header plus the Hop-by-Hop Options header, if any.
    pub fn buffer_len(&self) -> usize {
        if self.has_hop_by_hop() {
            40 + self.hop_by_hop_content_len().next_multiple_of(8)
        } else {
            40
        }
    }

    /// Writes the header (and a Hop-by-Hop header with the Router Alert first, when set) for an
    /// upper-layer payload of `payload_len` octets; returns the header length. `Malformed` if the
    /// flow label exceeds 20 bits, or non-empty `hop_by_hop_options` leave the header unaligned.
    pub fn emit(&self, buf: &mut [u8], payload_len: usize) -> Result<usize> {
        let content_len = self.hop_by_hop_content_len();
        let misaligned = content_len % 8 != 0 && !self.hop_by_hop_options.is_empty();
        if self.flow_label > 0x000f_ffff || misaligned {
            return Err(Error::Malformed);
        }
        let header_len = self.buffer_len();
        let ip_payload_len = (header_len - 40).checked_add(payload_len).ok_or(Error::BadLength)?;
        let ip_payload_len = u16::try_from(ip_payload_len).map_err(|_| Error::BadLength)?;
        let mut writer = Writer::new(buf);
        writer.u32(6 << 28 | u32::from(self.traffic_class) << 20 | self.flow_label)?;
        writer.u16(ip_payload_len)?;
        writer.u8(if self.has_hop_by_hop() { IPV6_HOP_BY_HOP } else { self.protocol })?;
        writer.u8(self.hop_limit)?;
        writer.addr::<V6>(self.src)?;
        writer.addr::<V6>(self.dst)?;
        if self.has_hop_by_hop() {
            writer.u8(self.protocol)?;
            writer.u8(u8::try_from((header_len - 40) / 8 - 1).map_err(|_| Error::Malformed)?)?;
            if let Some(value) = self.router_alert {
                writer.u8(IPV6_OPTION_ROUTER_ALERT)?;
                writer.u8(2)?;
                writer.u16(value)?;
            }
            writer.bytes(&self.hop_by_hop_options)?;
            writer.bytes(&default_padding(content_len))?;
        }
        Ok(header_len)
    }

    /// The header followed by `payload`.
    pub fn to_bytes(&self, payload: &[u8]) -> Result<Vec<u8>> {
        header_and_payload(self.buffer_len(), payload, |buf, payload_len| self.emit(buf, payload_len))
    }
}

impl fmt::Display for Ipv6Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IP6 {} > {} next {} hlim {}", self.src, self.dst, self.protocol, self.hop_limit)?;
        if let Some(value) = self.router_alert {
            write!(f, " [RA {value}]")?;
        }
        Ok(())
    }
}

/// The padding option that fills `len` octets of Hop-by-Hop header to a multiple of 8: nothing,
/// one Pad1, or a PadN (RFC 8200 §4.2).
fn default_padding(len: usize) -> Vec<u8> {
    match len.next_multiple_of(8) - len {
        0 => Vec::new(),
        1 => vec![IPV6_OPTION_PAD1],
        n => {
            let mut padding = vec![0; n];
            padding[0] = IPV6_OPTION_PADN;
            padding[1] = (n - 2) as u8;
            padding
        }
    }
}

/// What the extension header chain of a packet says.
struct ExtensionChain<'a> {
    router_alert: Option<u16>,
    hop_by_hop_options: Vec<u8>,
    protocol: u8,
    payload: &'a [u8],
}

/// Follows the extension header chain (RFC 8200 §4.1) to the upper layer. A Hop-by-Hop header
/// anywhere but first is `Malformed`.
fn walk_extension_headers(first: u8, payload: &[u8]) -> Result<ExtensionChain<'_>> {
    let mut reader = Reader::new(payload);
    let mut next_header = first;
    let mut router_alert = None;
    let mut hop_by_hop_options = Vec::new();
    for index in 0..=IPV6_MAX_EXTENSION_HEADERS {
        if !matches!(
            next_header,
            IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DESTINATION_OPTIONS | IPV6_AUTHENTICATION
        ) {
            return Ok(ExtensionChain {
                router_alert,
                hop_by_hop_options,
                protocol: next_header,
                payload: reader.rest(),
            });
        }
        let following = reader.u8()?;
        let len_field = usize::from(reader.u8()?);
        let len = if next_header == IPV6_AUTHENTICATION {
            // RFC 4302 §2.2: 4-octet words, minus 2.
            (len_field + 2) * 4
        } else {
            // RFC 8200 §4.3: 8-octet units, not counting the first.
            (len_field + 1) * 8
        };
        let body = reader.bytes(len - 2)?;
        if next_header == IPV6_HOP_BY_HOP {
            if index != 0 {
                return Err(Error::Malformed);
            }
            (router_alert, hop_by_hop_options) = split_hop_by_hop(body)?;
        }
        next_header = following;
    }
    Err(Error::Malformed)
}

/// Takes the first Router Alert out of the Hop-by-Hop options (RFC 8200 §4.2, RFC 2711 §2.1);
/// returns its value and the other option octets, or none when they are only the padding that
/// [`default_padding`] would add.
fn split_hop_by_hop(options: &[u8]) -> Result<(Option<u16>, Vec<u8>)> {
    let mut reader = Reader::new(options);
    let mut router_alert = None;
    let mut rest = Vec::with_capacity(options.len());
    while !reader.is_empty() {
        let start = reader.position();
        if reader.u8()? != IPV6_OPTION_PAD1 {
            let len = usize::from(reader.u8()?);
            let value = reader.bytes(len)?;
            if options.get(start) == Some(&IPV6_OPTION_ROUTER_ALERT) && router_alert.is_none() {
                let value: [u8; 2] = value.try_into().map_err(|_| Error::Malformed)?;
                router_alert = Some(u16::from_be_bytes(value));
                continue;
            }
        }
        rest.extend_from_slice(options.get(start..reader.position()).unwrap_or_default());
    }
    let content_len = 2 + if router_alert.is_some() { 4 } else { 0 };
    if rest == default_padding(content_len) {
        rest.clear();
    }
    Ok((router_alert, rest))
}

#[cfg(test)]
pub(crate) mod strategies {
    //! Proptest strategies for arbitrary IP headers.

    use proptest::prelude::*;

    use super::*;

    /// Option octets without a Router Alert: NOPs and a made-up option, padded to 4 octets.
    fn ipv4_options() -> impl Strategy<Value = Vec<u8>> {
        (0usize..3, prop::collection::vec(any::<u8>(), 0..6)).prop_map(|(nops, value)| {
            let mut options = vec![IPV4_OPTION_NOP; nops];
            if !value.is_empty() {
                options.push(0x99);
                options.push(value.len() as u8 + 2);
                options.extend_from_slice(&value);
            }
            while options.len() % 4 != 0 {
                options.push(IPV4_OPTION_END);
            }
            options
        })
    }

    pub(crate) fn ipv4_header() -> impl Strategy<Value = Ipv4Header> {
        (
            (any::<u8>(), any::<u16>(), any::<bool>(), any::<bool>(), 0u16..0x2000, any::<u8>()),
            (any::<u8>(), any::<[u8; 4]>(), any::<[u8; 4]>(), any::<bool>(), ipv4_options()),
        )
            .prop_map(
                |(
                    (tos, identification, dont_fragment, more_fragments, fragment_offset, ttl),
                    (protocol, src, dst, router_alert, options),
                )| Ipv4Header {
                    tos,
                    identification,
                    dont_fragment,
                    more_fragments,
                    fragment_offset,
                    ttl,
                    protocol,
                    src: src.into(),
                    dst: dst.into(),
                    router_alert,
                    options,
                },
            )
    }

    pub(crate) fn ipv6_header() -> impl Strategy<Value = Ipv6Header> {
        // The upper-layer protocol is never an extension header this codec walks.
        let protocol = any::<u8>().prop_filter("extension header", |p| {
            !matches!(*p, IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DESTINATION_OPTIONS | IPV6_AUTHENTICATION)
        });
        (
            any::<u8>(),
            0u32..0x10_0000,
            any::<u8>(),
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any::<Option<u16>>(),
            any::<bool>(),
            protocol,
        )
            .prop_map(
                |(traffic_class, flow_label, hop_limit, src, dst, router_alert, pad1, protocol)| {
                    // Either the default padding or, as FRR sends, two Pad1 options.
                    let hop_by_hop_options =
                        if router_alert.is_some() && pad1 { vec![0, 0] } else { Vec::new() };
                    Ipv6Header {
                        traffic_class,
                        flow_label,
                        hop_limit,
                        src: src.into(),
                        dst: dst.into(),
                        router_alert,
                        hop_by_hop_options,
                        protocol,
                    }
                },
            )
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::testutil::hex;

    /// pimdd-pimdm-lan.pcapng #2: a PIM Hello from pimd-dense, IHL 6 with four End-of-Options octets.
    const PIMDD_HELLO: &str =
        "46c0002ac776000001674815c6120202e000000d000000002000893a00010002006900140004327b23c6";
    /// frr-pimsm-igmp.pcap #8: an IGMPv3 report with Router Alert.
    const FRR_REPORT: &str =
        "46c0002800004000010239ddc612040ae0000016940400002200e9fb0000000104000000ef010101";
    /// frr-pimsm6-mld.pcap #2: an MLDv2 report behind a Hop-by-Hop Router Alert.
    const FRR_MLD_REPORT: &str = "6000000000240001fe800000000000000000000000000010ff0200000000000000000000000000163a000502000001008f006fed0000000104000000ff0e0000000000000000000000010001";
    /// frr-pimsm6-mld.pcap #3: a PIM Join/Prune without extension headers.
    const FRR_PIM6: &str = "6c08dedd00466701fe800000000000000000000000000003ff02000000000000000000000000000d2300d5510200fe800000000000000000000000000002000100d202000080ff0e00000000000000000000000100010001000002000780fd000002000000000000000000000002";

    #[test]
    fn ipv4_ihl6_padding_golden() {
        let packet = hex(PIMDD_HELLO);
        let (header, payload) = Ipv4Header::parse(&packet).unwrap();
        assert_eq!(
            header,
            Ipv4Header {
                tos: 0xc0,
                identification: 0xc776,
                ttl: 1,
                router_alert: false,
                options: vec![0; 4],
                ..Ipv4Header::new("198.18.2.2".parse().unwrap(), "224.0.0.13".parse().unwrap(), PROTO_PIM, 1)
            }
        );
        assert_eq!(payload, &packet[24..]);
        assert_eq!(header.buffer_len(), 24);
        assert_eq!(header.to_bytes(payload).unwrap(), packet);
    }

    #[test]
    fn ipv4_router_alert_golden() {
        let packet = hex(FRR_REPORT);
        let (header, payload) = Ipv4Header::parse(&packet).unwrap();
        assert_eq!(
            header,
            Ipv4Header {
                tos: 0xc0,
                dont_fragment: true,
                router_alert: true,
                ..Ipv4Header::new(
                    "198.18.4.10".parse().unwrap(),
                    "224.0.0.22".parse().unwrap(),
                    PROTO_IGMP,
                    1
                )
            }
        );
        assert_eq!(payload.len(), 16);
        assert_eq!(header.to_bytes(payload).unwrap(), packet);
        assert_eq!(header.to_string(), "IP 198.18.4.10 > 224.0.0.22 proto 2 ttl 1 [RA]");
    }

    #[test]
    fn ipv4_router_alert_after_other_options() {
        let mut header = Ipv4Header::new("198.18.0.1".parse().unwrap(), "239.1.1.1".parse().unwrap(), 2, 1);
        header.options = vec![IPV4_OPTION_NOP, IPV4_OPTION_NOP, IPV4_OPTION_NOP, IPV4_OPTION_NOP];
        let mut bytes = header.to_bytes(&[]).unwrap();
        // Append a Router Alert behind the NOPs by hand: IHL 7.
        bytes[0] = 0x47;
        bytes[3] = 28;
        bytes.extend_from_slice(&[IPV4_OPTION_ROUTER_ALERT, 4, 0, 0]);
        bytes[10..12].fill(0);
        let sum = checksum::checksum(&bytes);
        bytes[10..12].copy_from_slice(&sum.to_be_bytes());
        let (parsed, payload) = Ipv4Header::parse(&bytes).unwrap();
        assert!(parsed.router_alert);
        assert_eq!(parsed.options, header.options);
        assert!(payload.is_empty());
    }

    #[test]
    fn ipv4_trailing_padding_ignored() {
        let mut packet = hex(FRR_REPORT);
        let expected = Ipv4Header::parse(&packet).map(|(h, p)| (h, p.to_vec())).unwrap();
        packet.extend_from_slice(&[0; 14]);
        let (header, payload) = Ipv4Header::parse(&packet).unwrap();
        assert_eq!((header, payload.to_vec()), expected);
    }

    #[test]
    fn ipv4_errors() {
        let packet = hex(PIMDD_HELLO);
        for len in 0..packet.len() {
            assert!(Ipv4Header::parse(&packet[..len]).is_err(), "cut at {len}");
        }
        let mut bad = packet.clone();
        bad[10] ^= 1;
        assert_eq!(Ipv4Header::parse(&bad), Err(Error::BadChecksum));
        let mut v6 = packet.clone();
        v6[0] = 0x66;
        assert_eq!(Ipv4Header::parse(&v6), Err(Error::BadVersion));
        let mut short_ihl = packet.clone();
        short_ihl[0] = 0x44;
        assert_eq!(Ipv4Header::parse(&short_ihl), Err(Error::BadLength));
        let mut short_total = packet;
        short_total[2..4].copy_from_slice(&20u16.to_be_bytes());
        assert_eq!(Ipv4Header::parse(&short_total), Err(Error::BadLength));
        let mut odd = Ipv4Header::new(Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, 2, 1);
        odd.options = vec![IPV4_OPTION_NOP];
        assert_eq!(odd.to_bytes(&[]), Err(Error::Malformed));
        odd.options = vec![];
        assert_eq!(odd.to_bytes(&vec![0; 65516]), Err(Error::BadLength));
    }

    #[test]
    fn ipv4_overrunning_option_is_malformed() {
        let mut header = Ipv4Header::new(Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, 2, 1);
        header.options = vec![0x99, 8, 0, 0];
        let bytes = header.to_bytes(&[]).unwrap();
        assert_eq!(Ipv4Header::parse(&bytes), Err(Error::Malformed));
    }

    #[test]
    fn ipv6_router_alert_golden() {
        let packet = hex(FRR_MLD_REPORT);
        let (header, payload) = Ipv6Header::parse(&packet).unwrap();
        assert_eq!(
            header,
            Ipv6Header {
                router_alert: Some(IPV6_ROUTER_ALERT_MLD),
                ..Ipv6Header::new("fe80::10".parse().unwrap(), "ff02::16".parse().unwrap(), PROTO_ICMPV6, 1)
            }
        );
        assert_eq!(payload, &packet[48..]);
        assert_eq!(header.buffer_len(), 48);
        assert_eq!(header.to_bytes(payload).unwrap(), packet);
        assert_eq!(header.to_string(), "IP6 fe80::10 > ff02::16 next 58 hlim 1 [RA 0]");
    }

    #[test]
    fn ipv6_router_alert_with_pad1_golden() {
        // frr-pimsm6-mld.pcap #8: pim6d pads its Hop-by-Hop header with two Pad1 options.
        let packet = hex("600f1f8700240001fe800000000000000000000000000003ff0e00000000000000000000000100013a000502000000008200577627100000ff0e0000000000000000000000010001027d0000");
        let (header, payload) = Ipv6Header::parse(&packet).unwrap();
        assert_eq!(header.router_alert, Some(IPV6_ROUTER_ALERT_MLD));
        assert_eq!(header.hop_by_hop_options, vec![IPV6_OPTION_PAD1, IPV6_OPTION_PAD1]);
        assert_eq!(header.to_bytes(payload).unwrap(), packet);
    }

    #[test]
    fn ipv6_plain_golden() {
        let packet = hex(FRR_PIM6);
        let (header, payload) = Ipv6Header::parse(&packet).unwrap();
        assert_eq!(
            header,
            Ipv6Header {
                traffic_class: 0xc0,
                flow_label: 0x8dedd,
                ..Ipv6Header::new("fe80::3".parse().unwrap(), "ff02::d".parse().unwrap(), PROTO_PIM, 1)
            }
        );
        assert_eq!(payload, &packet[40..]);
        assert_eq!(header.to_bytes(payload).unwrap(), packet);
    }

    #[test]
    fn ipv6_errors_and_padding() {
        let packet = hex(FRR_MLD_REPORT);
        for len in 0..packet.len() {
            assert!(Ipv6Header::parse(&packet[..len]).is_err(), "cut at {len}");
        }
        let mut padded = packet.clone();
        padded.extend_from_slice(&[0; 10]);
        assert_eq!(Ipv6Header::parse(&padded), Ipv6Header::parse(&packet));
        let mut v4 = packet.clone();
        v4[0] = 0x46;
        assert_eq!(Ipv6Header::parse(&v4), Err(Error::BadVersion));
        // A Hop-by-Hop header behind a Destination Options header is not allowed (RFC 8200 §4.1).
        let mut late = packet;
        late[6] = IPV6_DESTINATION_OPTIONS;
        late[40] = IPV6_HOP_BY_HOP;
        assert_eq!(Ipv6Header::parse(&late), Err(Error::Malformed));
    }

    #[test]
    fn ipv6_walks_destination_options_and_auth() {
        let mut header = Ipv6Header::new("fd00::1".parse().unwrap(), "ff3e::1".parse().unwrap(), 0, 1);
        header.router_alert = Some(7);
        header.protocol = IPV6_DESTINATION_OPTIONS;
        let upper = [
            // Destination Options, 16 octets: PadN of 12 then Pad1 x2.
            IPV6_AUTHENTICATION,
            1,
            1,
            12,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
            // Authentication Header, 12 octets (length field 1).
            PROTO_PIM,
            1,
            0,
            0,
            0,
            0,
            0,
            1,
            0,
            0,
            0,
            1,
            // The PIM message.
            0x20,
            0,
            0,
            0,
        ];
        let bytes = header.to_bytes(&upper).unwrap();
        let (parsed, payload) = Ipv6Header::parse(&bytes).unwrap();
        assert_eq!(parsed.router_alert, Some(7));
        assert_eq!(parsed.protocol, PROTO_PIM);
        assert_eq!(payload, &[0x20, 0, 0, 0]);
    }

    proptest! {
        #[test]
        fn ipv4_round_trip(header in strategies::ipv4_header(), payload in prop::collection::vec(any::<u8>(), 0..16)) {
            let bytes = header.to_bytes(&payload).unwrap();
            prop_assert_eq!(Ipv4Header::parse(&bytes), Ok((header.clone(), &payload[..])));
            let mut short = vec![0; header.buffer_len() - 1];
            prop_assert_eq!(header.emit(&mut short, payload.len()), Err(Error::BufferTooSmall));
        }

        #[test]
        fn ipv6_round_trip(header in strategies::ipv6_header(), payload in prop::collection::vec(any::<u8>(), 0..16)) {
            let bytes = header.to_bytes(&payload).unwrap();
            prop_assert_eq!(Ipv6Header::parse(&bytes), Ok((header.clone(), &payload[..])));
            let mut short = vec![0; header.buffer_len() - 1];
            prop_assert_eq!(header.emit(&mut short, payload.len()), Err(Error::BufferTooSmall));
        }

        #[test]
        fn arbitrary_bytes_never_panic(mut bytes in prop::collection::vec(any::<u8>(), 0..96), v6 in any::<bool>()) {
            if let Some(first) = bytes.first_mut() {
                *first = if v6 { 0x60 | (*first & 0x0f) } else { 0x40 | (*first & 0x0f) };
            }
            let _ = Ipv4Header::parse(&bytes);
            let _ = Ipv6Header::parse(&bytes);
        }
    }
}
