//! The error type of the capture reader, the link-layer decoder and the writer.

use std::fmt;

use serde::Serialize;

use crate::LinkType;

/// Why a capture file, a frame or a packet to write was rejected.
///
/// Reader errors carry the byte offset in the file where the damage was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Error {
    /// The file starts with neither a pcap magic nor a pcapng Section Header Block.
    UnknownFormat,
    /// A file header, record or block ends after the end of the file.
    Truncated { offset: usize },
    /// The file's major/minor version is not one this reader understands.
    UnsupportedVersion { offset: usize, major: u16, minor: u16 },
    /// A pcapng Section Header Block has no valid byte-order magic.
    BadByteOrderMagic { offset: usize },
    /// A pcapng block length is too short, not a multiple of 4, or differs from its trailing copy.
    BadBlockLength { offset: usize, length: u32 },
    /// A record's captured length exceeds the space its record or block gives it.
    BadCapturedLength { offset: usize, length: u32 },
    /// A pcapng block names an interface that no Interface Description Block of its section defined.
    UnknownInterface { offset: usize, interface: u32 },
    /// A pcapng option list runs past the end of its block.
    BadOptions { offset: usize },
    /// A frame is shorter than its link-layer header.
    FrameTooShort { link_type: LinkType },
    /// The link type is not one the decoder knows.
    UnsupportedLinkType { link_type: LinkType },
    /// A raw-IP or loopback frame names neither IPv4 nor IPv6.
    UnknownNetworkProtocol { value: u32 },
    /// A packet or timestamp does not fit the classic pcap record format (writer side).
    NotRepresentable,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::UnknownFormat => write!(f, "not a pcap or pcapng file (unknown magic)"),
            Error::Truncated { offset } => write!(f, "file truncated at offset {offset}"),
            Error::UnsupportedVersion { offset, major, minor } => {
                write!(f, "unsupported version {major}.{minor} at offset {offset}")
            }
            Error::BadByteOrderMagic { offset } => write!(f, "bad byte-order magic at offset {offset}"),
            Error::BadBlockLength { offset, length } => {
                write!(f, "bad block length {length} at offset {offset}")
            }
            Error::BadCapturedLength { offset, length } => {
                write!(f, "captured length {length} does not fit its record at offset {offset}")
            }
            Error::UnknownInterface { offset, interface } => {
                write!(f, "unknown interface {interface} at offset {offset}")
            }
            Error::BadOptions { offset } => write!(f, "malformed option list at offset {offset}"),
            Error::FrameTooShort { link_type } => {
                write!(f, "frame shorter than its {link_type} header")
            }
            Error::UnsupportedLinkType { link_type } => write!(f, "unsupported link type {link_type}"),
            Error::UnknownNetworkProtocol { value } => {
                write!(f, "link header names neither IPv4 nor IPv6 ({value:#x})")
            }
            Error::NotRepresentable => write!(f, "packet or timestamp not representable in classic pcap"),
        }
    }
}

impl std::error::Error for Error {}
