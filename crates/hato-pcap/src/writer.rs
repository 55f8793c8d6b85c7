//! Writing classic pcap files (little-endian, microsecond timestamps, version 2.4) of Ethernet frames or
//! raw IP packets, so that `tshark` and the reader of this crate can look at what hato sends.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::link::multicast_mac;
use crate::{Error, LinkType};

const MAGIC_MICROSECONDS: u32 = 0xa1b2_c3d4;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;

/// A classic pcap writer; the file header is written by [`PcapWriter::new`].
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    link_type: LinkType,
    source_mac: [u8; 6],
    unicast_destination_mac: [u8; 6],
}

impl<W: Write> PcapWriter<W> {
    /// The snap length announced in the file header.
    pub const SNAP_LEN: u32 = 262_144;
    /// Source MAC of frames built by [`PcapWriter::write_packet`] unless changed (locally administered).
    pub const DEFAULT_SOURCE_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
    /// Destination MAC of unicast packets wrapped by [`PcapWriter::write_packet`] unless changed.
    pub const DEFAULT_UNICAST_DESTINATION_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

    /// Writes the file header for frames of `link_type`.
    pub fn new(mut out: W, link_type: LinkType) -> io::Result<Self> {
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&MAGIC_MICROSECONDS.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        header.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        header.extend_from_slice(&Self::SNAP_LEN.to_le_bytes());
        header.extend_from_slice(&u32::from(link_type.0).to_le_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter {
            out,
            link_type,
            source_mac: Self::DEFAULT_SOURCE_MAC,
            unicast_destination_mac: Self::DEFAULT_UNICAST_DESTINATION_MAC,
        })
    }

    /// Sets the MAC addresses used when [`PcapWriter::write_packet`] builds Ethernet frames.
    pub fn with_macs(mut self, source: [u8; 6], unicast_destination: [u8; 6]) -> Self {
        self.source_mac = source;
        self.unicast_destination_mac = unicast_destination;
        self
    }

    /// The link type given in the file header.
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// Writes one frame as is, with its timestamp in nanoseconds since the epoch (rounded down to
    /// microseconds). Fails with `InvalidInput` when the time is past 2106 or the frame exceeds 4 GiB.
    pub fn write_frame(&mut self, timestamp_ns: u64, frame: &[u8]) -> io::Result<()> {
        let seconds =
            u32::try_from(timestamp_ns / 1_000_000_000).map_err(|_| invalid(Error::NotRepresentable))?;
        // Below 10^6, so it fits.
        let microseconds = ((timestamp_ns % 1_000_000_000) / 1_000) as u32;
        let length = u32::try_from(frame.len()).map_err(|_| invalid(Error::NotRepresentable))?;
        let mut record = Vec::with_capacity(16 + frame.len());
        record.extend_from_slice(&seconds.to_le_bytes());
        record.extend_from_slice(&microseconds.to_le_bytes());
        record.extend_from_slice(&length.to_le_bytes());
        record.extend_from_slice(&length.to_le_bytes());
        record.extend_from_slice(frame);
        self.out.write_all(&record)
    }

    /// Writes one IPv4 or IPv6 packet: wrapped by [`wrap_in_ethernet`] when the file is Ethernet, as is
    /// when it is raw IP. Other link types fail with `InvalidInput`.
    pub fn write_packet(&mut self, timestamp_ns: u64, packet: &[u8]) -> io::Result<()> {
        match self.link_type {
            LinkType::ETHERNET => {
                let frame = wrap_in_ethernet(packet, self.source_mac, self.unicast_destination_mac)
                    .map_err(invalid)?;
                self.write_frame(timestamp_ns, &frame)
            }
            LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 => self.write_frame(timestamp_ns, packet),
            link_type => Err(invalid(Error::UnsupportedLinkType { link_type })),
        }
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

fn invalid(error: Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, error)
}

/// An Ethernet II frame around an IPv4 or IPv6 packet (told apart by the version nibble). The
/// destination is the group's multicast MAC ([`multicast_mac`]) for a multicast destination address and
/// `unicast_destination` otherwise.
pub fn wrap_in_ethernet(
    packet: &[u8],
    source: [u8; 6],
    unicast_destination: [u8; 6],
) -> Result<Vec<u8>, Error> {
    let too_short = Error::FrameTooShort { link_type: LinkType::RAW };
    let version = packet.first().ok_or(too_short)? >> 4;
    let (ethertype, destination) = match version {
        4 => {
            let octets: [u8; 4] = packet.get(16..20).and_then(|b| b.try_into().ok()).ok_or(too_short)?;
            (ETHERTYPE_IPV4, IpAddr::V4(Ipv4Addr::from(octets)))
        }
        6 => {
            let octets: [u8; 16] = packet.get(24..40).and_then(|b| b.try_into().ok()).ok_or(too_short)?;
            (ETHERTYPE_IPV6, IpAddr::V6(Ipv6Addr::from(octets)))
        }
        _ => return Err(Error::UnknownNetworkProtocol { value: u32::from(version) }),
    };
    let destination_mac = multicast_mac(destination).unwrap_or(unicast_destination);
    let mut frame = Vec::with_capacity(14 + packet.len());
    frame.extend_from_slice(&destination_mac);
    frame.extend_from_slice(&source);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame.extend_from_slice(packet);
    Ok(frame)
}
