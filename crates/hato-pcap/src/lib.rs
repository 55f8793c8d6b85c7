//! Capture files for hato: a reader for classic pcap and pcapng, the link-layer step from a captured
//! frame to its IPv4/IPv6 packet, a classic pcap writer, and a checker that runs `tshark` over a file.
//!
//! `hatoctl decode FILE` reads a capture with [`read_all`] (or the [`Reader`] iterator), strips the link
//! layer with [`network_layer`] and hands the packets to the `hato-wire` decoders. Tests write the packets
//! hato emits with [`PcapWriter`] and ask [`tshark::check_with_tshark`] whether an independent dissector
//! finds anything malformed or any bad checksum.
//!
//! Formats: the classic libpcap format (both byte orders, microsecond and nanosecond magics) and pcapng
//! (draft-ietf-opsawg-pcapng: §4.1 Section Header Block, §4.2 Interface Description Block, §4.3 Enhanced
//! Packet Block, §4.4 Simple Packet Block, Appendix A obsolete Packet Block). Link types are the tcpdump.org
//! `LINKTYPE_*` numbers. Nothing here panics on any input; damage yields an [`Error`].

mod error;
mod link;
mod reader;
pub mod tshark;
mod writer;

use std::fmt;

use serde::Serialize;

pub use error::Error;
pub use link::{multicast_mac, network_layer, Network};
pub use reader::{read_all, Format, Reader};
pub use writer::{wrap_in_ethernet, PcapWriter};

/// A tcpdump.org `LINKTYPE_*` value: how the bytes of a captured frame begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct LinkType(pub u16);

impl LinkType {
    /// BSD loopback: a 4-byte address family in the byte order of the capturing host.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II (and 802.3), possibly with 802.1Q / 802.1ad tags.
    pub const ETHERNET: LinkType = LinkType(1);
    /// `DLT_RAW` as written by some systems instead of [`LinkType::RAW`].
    pub const RAW_DLT12: LinkType = LinkType(12);
    /// `DLT_RAW` as written by OpenBSD instead of [`LinkType::RAW`].
    pub const RAW_DLT14: LinkType = LinkType(14);
    /// Raw IP: the frame is an IPv4 or IPv6 packet, told apart by its version nibble.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: like [`LinkType::NULL`] but the family is in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1 (`SLL`).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4 only.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6 only.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2 (`SLL2`).
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// The tcpdump.org name without its `LINKTYPE_` prefix, when it is one this crate knows.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            LinkType::NULL => "NULL",
            LinkType::ETHERNET => "ETHERNET",
            LinkType::RAW_DLT12 | LinkType::RAW_DLT14 | LinkType::RAW => "RAW",
            LinkType::LOOP => "LOOP",
            LinkType::LINUX_SLL => "LINUX_SLL",
            LinkType::IPV4 => "IPV4",
            LinkType::IPV6 => "IPV6",
            LinkType::LINUX_SLL2 => "LINUX_SLL2",
            _ => return None,
        })
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}({})", self.0),
            None => write!(f, "linktype({})", self.0),
        }
    }
}

/// One captured frame, borrowing its bytes from the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frame<'a> {
    /// Capture time in nanoseconds since the Unix epoch; `None` for pcapng Simple Packet Blocks, which
    /// carry no timestamp.
    pub timestamp_ns: Option<u64>,
    /// How `data` begins.
    pub link_type: LinkType,
    /// The pcapng interface (index of its Interface Description Block in the section); 0 for pcap.
    pub interface: u32,
    /// The frame's length on the wire; `data` is shorter when the capture was truncated by a snap length.
    pub original_len: u32,
    /// The captured bytes, starting with the link-layer header.
    #[serde(skip)]
    pub data: &'a [u8],
}

impl<'a> Frame<'a> {
    /// The network-layer packet inside this frame (see [`network_layer`]).
    pub fn network(&self) -> Result<Network<'a>, Error> {
        network_layer(self.link_type, self.data)
    }

    /// Whether the capture holds fewer bytes than were on the wire.
    pub fn is_truncated(&self) -> bool {
        usize::try_from(self.original_len).map_or(true, |len| self.data.len() < len)
    }
}
