//! The PIM Register (RFC 7761 §4.9.3) and Register-Stop (RFC 7761 §4.9.4) messages.
//!
//! A Register's checksum covers only its first 8 octets (the PIM header and the B/N word); that
//! special case lives with the header code in the parent module. Because the checksum leaves the
//! data out, the inner packet is checked instead: it must be an IP header of the message's family
//! whose length field does not run past the octets present.

use std::fmt;

use hato_core::{AddressFamily, Afi};
use serde::Serialize;

use super::addr::{group_len, read_unicast, unicast_len, write_unicast, EncodedGroup};
use crate::cursor::{Reader, Writer};
use crate::{Error, Result};

/// A Register message (RFC 7761 §4.9.3): a multicast data packet tunnelled from a DR to the RP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Register {
    /// B: the Border bit (unused since RFC 7761 removed PMBRs; kept as received).
    pub border: bool,
    /// N: the Null-Register bit: a probe whose inner packet is a dummy header only.
    pub null_register: bool,
    /// The 30 reserved bits, kept as received (zero when sent).
    pub reserved: u32,
    /// The encapsulated packet, from its IP header on.
    pub packet: Vec<u8>,
}

impl Register {
    const BORDER: u32 = 0x8000_0000;
    const NULL_REGISTER: u32 = 0x4000_0000;
    const RESERVED_MASK: u32 = 0x3fff_ffff;

    /// A data Register (B and N clear) carrying `packet`.
    pub fn data(packet: Vec<u8>) -> Self {
        Register { border: false, null_register: false, reserved: 0, packet }
    }

    /// The inner packet's source and destination (group) addresses, read from its IP header.
    pub fn inner_source_group<A: Afi>(&self) -> Option<(A::Addr, A::Addr)> {
        let (src, dst) = match A::FAMILY {
            AddressFamily::Ipv4 => (12..16, 16..20),
            AddressFamily::Ipv6 => (8..24, 24..40),
        };
        Some((A::addr_from_octets(self.packet.get(src)?)?, A::addr_from_octets(self.packet.get(dst)?)?))
    }

    /// Checks that the inner packet is an IP header of family `A` whose length field fits in the
    /// octets present (IPv4 total length, RFC 791; IPv6 payload length, RFC 8200). Extra octets
    /// after it are allowed.
    fn check_inner<A: Afi>(packet: &[u8]) -> Result<()> {
        let mut r = Reader::new(packet);
        let version = r.u8()? >> 4;
        let declared = match A::FAMILY {
            AddressFamily::Ipv4 if version == 4 => {
                r.skip(1)?;
                let total = usize::from(r.u16()?);
                r.skip(16)?;
                total
            }
            AddressFamily::Ipv6 if version == 6 => {
                r.skip(3)?;
                let payload = usize::from(r.u16()?);
                r.skip(34)?;
                40 + payload
            }
            _ => return Err(Error::Malformed),
        };
        if declared > packet.len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub(crate) fn parse_body<A: Afi>(r: &mut Reader<'_>) -> Result<Self> {
        let word = r.u32()?;
        let packet = r.take_rest();
        Self::check_inner::<A>(packet)?;
        Ok(Register {
            border: word & Self::BORDER != 0,
            null_register: word & Self::NULL_REGISTER != 0,
            reserved: word & Self::RESERVED_MASK,
            packet: packet.to_vec(),
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        4 + self.packet.len()
    }

    pub(crate) fn emit_body<A: Afi>(&self, w: &mut Writer<'_>) -> Result<()> {
        Self::check_inner::<A>(&self.packet).map_err(|_| Error::Malformed)?;
        let mut word = self.reserved & Self::RESERVED_MASK;
        if self.border {
            word |= Self::BORDER;
        }
        if self.null_register {
            word |= Self::NULL_REGISTER;
        }
        w.u32(word)?;
        w.bytes(&self.packet)
    }
}

impl Register {
    /// A one-line summary naming the inner packet's (S,G), read as family `A`.
    pub(crate) fn fmt_with<A: Afi>(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Register")?;
        if self.border {
            f.write_str(" border")?;
        }
        if self.null_register {
            f.write_str(" null")?;
        }
        if let Some((source, group)) = self.inner_source_group::<A>() {
            write!(f, " ({source}, {group})")?;
        }
        write!(f, " {} bytes inside", self.packet.len())
    }
}

/// A Register-Stop message (RFC 7761 §4.9.4). The source may be the unspecified address (a
/// wildcard, as pim6sd sends as RP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct RegisterStop<A: Afi> {
    pub group: EncodedGroup<A>,
    pub source: A::Addr,
}

impl<A: Afi> RegisterStop<A> {
    pub(crate) fn parse_body(r: &mut Reader<'_>) -> Result<Self> {
        Ok(RegisterStop { group: EncodedGroup::parse(r)?, source: read_unicast::<A>(r)? })
    }

    pub(crate) fn body_len(&self) -> usize {
        group_len::<A>() + unicast_len::<A>()
    }

    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<()> {
        self.group.emit(w)?;
        write_unicast::<A>(w, self.source)
    }
}

impl<A: Afi> fmt::Display for RegisterStop<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Register-Stop ({}, {})", self.source, self.group)
    }
}
