//! PIM version 2 messages: the common header and checksum (RFC 7761 §4.9), every PIM-SM message
//! type (RFC 7761 §4.9.2-§4.9.10, Bootstrap as revised by RFC 5059 §4.1) and the PIM-DM ones (Graft,
//! Graft-Ack and State Refresh, RFC 3973 §4.7).
//!
//! [`PimMessage`] is generic over the address family: one code path decodes PIM over IPv4 and over
//! IPv6. The checksum covers the whole message, with the IPv6 pseudo-header (next header 103) for
//! IPv6 (RFC 7761 §4.9). A Register is the exception (RFC 7761 §4.9.3): it is sent with a checksum
//! over its first 8 octets only and, over IPv6, with a pseudo-header whose upper-layer length is 8
//! as well (what pim6sd sends). On receipt a Register checksummed either way, over the header or
//! over the whole message, is accepted, as §4.9.3 asks. Since that checksum leaves the data out,
//! the inner packet's own IP length field is checked instead.
//!
//! The header's reserved octet is ignored on receipt and sent as zero (RFC 7761 §4.9), except
//! where it carries meaning: the Bootstrap No-Forward bit (RFC 5059 §4.1) and messages of unknown
//! types, which are kept whole. Octets after the end of a message whose length is set by its
//! counts are ignored.

mod addr;
mod assert;
mod bsr;
mod hello;
mod join_prune;
mod register;

#[cfg(test)]
pub(crate) mod strategies;
#[cfg(test)]
mod tests;

use std::fmt;

use hato_core::{AddressFamily, Afi};
use serde::Serialize;

use crate::checksum::{finish, sum, ChecksumContext};
use crate::cursor::{encode_to_vec, Reader, Writer};
use crate::{Error, Result};

pub use addr::{group_len, unicast_len, EncodedGroup, EncodedSource};
pub use assert::{Assert, StateRefresh, MAX_METRIC_PREFERENCE};
pub use bsr::{Bootstrap, BootstrapGroupRange, BootstrapRp, CandidateRpAdvertisement};
pub use hello::{Hello, HelloOption};
pub use join_prune::{split_join_prune, JoinPrune, JoinPruneGroup};
pub use register::{Register, RegisterStop};

/// The IP protocol number of PIM, also the next header of the IPv6 pseudo-header.
pub const IP_PROTOCOL: u8 = 103;
/// The PIM version this codec speaks.
pub const VERSION: u8 = 2;
/// Octets of the PIM header: version and type, reserved, checksum.
pub const HEADER_LEN: usize = 4;
/// Octets of a Register covered by its checksum (RFC 7761 §4.9.3).
pub const REGISTER_CHECKSUM_LEN: usize = 8;

/// The message type field (RFC 7761 §4.9, RFC 3973 §4.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PimType {
    Hello,
    Register,
    RegisterStop,
    JoinPrune,
    Bootstrap,
    Assert,
    Graft,
    GraftAck,
    CandidateRpAdvertisement,
    StateRefresh,
    Unknown(u8),
}

impl PimType {
    pub fn from_u8(value: u8) -> Self {
        match value {
            0 => PimType::Hello,
            1 => PimType::Register,
            2 => PimType::RegisterStop,
            3 => PimType::JoinPrune,
            4 => PimType::Bootstrap,
            5 => PimType::Assert,
            6 => PimType::Graft,
            7 => PimType::GraftAck,
            8 => PimType::CandidateRpAdvertisement,
            9 => PimType::StateRefresh,
            other => PimType::Unknown(other),
        }
    }

    pub fn to_u8(self) -> u8 {
        match self {
            PimType::Hello => 0,
            PimType::Register => 1,
            PimType::RegisterStop => 2,
            PimType::JoinPrune => 3,
            PimType::Bootstrap => 4,
            PimType::Assert => 5,
            PimType::Graft => 6,
            PimType::GraftAck => 7,
            PimType::CandidateRpAdvertisement => 8,
            PimType::StateRefresh => 9,
            PimType::Unknown(other) => other,
        }
    }
}

/// The fixed PIM header (RFC 7761 §4.9), readable before (and without) decoding the body: the
/// daemon counts and logs rejected messages by type with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PimHeader {
    pub version: u8,
    pub msg_type: PimType,
    /// The reserved octet: zero in every type but Bootstrap (No-Forward bit) so far; RFC 8736
    /// turns it into per-type flag bits.
    pub flags: u8,
    pub checksum: u16,
}

impl PimHeader {
    /// Reads the header alone; verifies neither version nor checksum.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let version_type = r.u8()?;
        Ok(PimHeader {
            version: version_type >> 4,
            msg_type: PimType::from_u8(version_type & 0x0f),
            flags: r.u8()?,
            checksum: r.u16()?,
        })
    }
}

/// A decoded PIMv2 message of family `A`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""), rename_all = "kebab-case")]
pub enum PimMessage<A: Afi> {
    /// Type 0, RFC 7761 §4.9.2.
    Hello(Hello),
    /// Type 1, RFC 7761 §4.9.3.
    Register(Register),
    /// Type 2, RFC 7761 §4.9.4.
    RegisterStop(RegisterStop<A>),
    /// Type 3, RFC 7761 §4.9.5.
    JoinPrune(JoinPrune<A>),
    /// Type 4, RFC 7761 §4.9.7 and RFC 5059 §4.1.
    Bootstrap(Bootstrap<A>),
    /// Type 5, RFC 7761 §4.9.6.
    Assert(Assert<A>),
    /// Type 6, RFC 3973 §4.7.3: the Join/Prune format.
    Graft(JoinPrune<A>),
    /// Type 7, RFC 3973 §4.7.3: the Join/Prune format, echoing the Graft.
    GraftAck(JoinPrune<A>),
    /// Type 8, RFC 7761 §4.9.10.
    CandidateRpAdvertisement(CandidateRpAdvertisement<A>),
    /// Type 9, RFC 3973 §4.7.1.
    StateRefresh(StateRefresh<A>),
    /// Any other type (10-15), kept with its header flags and raw body.
    Unknown { msg_type: u8, flags: u8, body: Vec<u8> },
}

/// Checks that the checksum context is the one of family `A`.
fn check_context<A: Afi>(ctx: &ChecksumContext) -> Result<()> {
    match (A::FAMILY, ctx) {
        (AddressFamily::Ipv4, ChecksumContext::Plain)
        | (AddressFamily::Ipv6, ChecksumContext::Ipv6 { .. }) => Ok(()),
        _ => Err(Error::BadAddressFamily),
    }
}

/// Whether `covered` (with the pseudo-header for a message of `upper_len` octets) sums to zero.
fn sums_to_zero(ctx: &ChecksumContext, upper_len: usize, covered: &[u8]) -> bool {
    finish(sum(ctx.initial(upper_len, IP_PROTOCOL), covered)) == 0
}

/// Verifies a received message's checksum (RFC 7761 §4.9; Register: §4.9.3).
fn verify_checksum(bytes: &[u8], msg_type: PimType, ctx: &ChecksumContext) -> Result<()> {
    if sums_to_zero(ctx, bytes.len(), bytes) {
        return Ok(());
    }
    if msg_type == PimType::Register {
        let head = bytes.get(..REGISTER_CHECKSUM_LEN).ok_or(Error::Truncated)?;
        // The header-only checksum, with a pseudo-header of length 8 (pim6sd) or of the whole
        // message's length.
        if sums_to_zero(ctx, REGISTER_CHECKSUM_LEN, head) || sums_to_zero(ctx, bytes.len(), head) {
            return Ok(());
        }
    }
    Err(Error::BadChecksum)
}

impl<A: Afi> PimMessage<A> {
    /// The message type.
    pub fn msg_type(&self) -> PimType {
        match self {
            PimMessage::Hello(_) => PimType::Hello,
            PimMessage::Register(_) => PimType::Register,
            PimMessage::RegisterStop(_) => PimType::RegisterStop,
            PimMessage::JoinPrune(_) => PimType::JoinPrune,
            PimMessage::Bootstrap(_) => PimType::Bootstrap,
            PimMessage::Assert(_) => PimType::Assert,
            PimMessage::Graft(_) => PimType::Graft,
            PimMessage::GraftAck(_) => PimType::GraftAck,
            PimMessage::CandidateRpAdvertisement(_) => PimType::CandidateRpAdvertisement,
            PimMessage::StateRefresh(_) => PimType::StateRefresh,
            PimMessage::Unknown { msg_type, .. } => PimType::from_u8(*msg_type),
        }
    }

    /// Decodes a PIM message (the IP payload) and verifies its checksum. `ctx` must match `A`:
    /// [`ChecksumContext::Plain`] for IPv4, [`ChecksumContext::Ipv6`] with the packet's addresses
    /// for IPv6 (otherwise [`Error::BadAddressFamily`]).
    pub fn parse(bytes: &[u8], ctx: ChecksumContext) -> Result<Self> {
        check_context::<A>(&ctx)?;
        let PimHeader { version, msg_type, flags, .. } = PimHeader::parse(bytes)?;
        if version != VERSION {
            return Err(Error::BadVersion);
        }
        verify_checksum(bytes, msg_type, &ctx)?;
        let mut r = Reader::new(bytes.get(HEADER_LEN..).ok_or(Error::Truncated)?);
        let message = match msg_type {
            PimType::Hello => PimMessage::Hello(Hello::parse_body(&mut r)?),
            PimType::Register => PimMessage::Register(Register::parse_body::<A>(&mut r)?),
            PimType::RegisterStop => PimMessage::RegisterStop(RegisterStop::parse_body(&mut r)?),
            PimType::JoinPrune => PimMessage::JoinPrune(JoinPrune::parse_body(&mut r)?),
            PimType::Bootstrap => PimMessage::Bootstrap(Bootstrap::parse_body(flags, &mut r)?),
            PimType::Assert => PimMessage::Assert(Assert::parse_body(&mut r)?),
            PimType::Graft => PimMessage::Graft(JoinPrune::parse_body(&mut r)?),
            PimType::GraftAck => PimMessage::GraftAck(JoinPrune::parse_body(&mut r)?),
            PimType::CandidateRpAdvertisement => {
                PimMessage::CandidateRpAdvertisement(CandidateRpAdvertisement::parse_body(&mut r)?)
            }
            PimType::StateRefresh => PimMessage::StateRefresh(StateRefresh::parse_body(&mut r)?),
            PimType::Unknown(msg_type) => {
                PimMessage::Unknown { msg_type, flags, body: r.take_rest().to_vec() }
            }
        };
        Ok(message)
    }

    /// Octets [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + match self {
                PimMessage::Hello(m) => m.body_len(),
                PimMessage::Register(m) => m.body_len(),
                PimMessage::RegisterStop(m) => m.body_len(),
                PimMessage::JoinPrune(m) | PimMessage::Graft(m) | PimMessage::GraftAck(m) => m.body_len(),
                PimMessage::Bootstrap(m) => m.body_len(),
                PimMessage::Assert(m) => m.body_len(),
                PimMessage::CandidateRpAdvertisement(m) => m.body_len(),
                PimMessage::StateRefresh(m) => m.body_len(),
                PimMessage::Unknown { body, .. } => body.len(),
            }
    }

    /// Encodes the message into `buf` with its checksum filled in; returns the octets written.
    /// An `Unknown` message must have a type in 10-15 and a Register must carry an IP packet of
    /// family `A` ([`Error::Malformed`] otherwise).
    pub fn emit(&self, buf: &mut [u8], ctx: ChecksumContext) -> Result<usize> {
        check_context::<A>(&ctx)?;
        let msg_type = self.msg_type();
        if let PimMessage::Unknown { msg_type: raw, .. } = self {
            if *raw > 0x0f || !matches!(msg_type, PimType::Unknown(_)) {
                return Err(Error::Malformed);
            }
        }
        let flags = match self {
            PimMessage::Bootstrap(m) => m.header_flags(),
            PimMessage::Unknown { flags, .. } => *flags,
            _ => 0,
        };
        let mut w = Writer::new(buf);
        w.u8(VERSION << 4 | msg_type.to_u8())?;
        w.u8(flags)?;
        w.u16(0)?;
        match self {
            PimMessage::Hello(m) => m.emit_body(&mut w)?,
            PimMessage::Register(m) => m.emit_body::<A>(&mut w)?,
            PimMessage::RegisterStop(m) => m.emit_body(&mut w)?,
            PimMessage::JoinPrune(m) | PimMessage::Graft(m) | PimMessage::GraftAck(m) => {
                m.emit_body(&mut w)?
            }
            PimMessage::Bootstrap(m) => m.emit_body(&mut w)?,
            PimMessage::Assert(m) => m.emit_body(&mut w)?,
            PimMessage::CandidateRpAdvertisement(m) => m.emit_body(&mut w)?,
            PimMessage::StateRefresh(m) => m.emit_body(&mut w)?,
            PimMessage::Unknown { body, .. } => w.bytes(body)?,
        }
        let covered_len = match msg_type {
            PimType::Register => REGISTER_CHECKSUM_LEN,
            _ => w.position(),
        };
        let covered = w.written().get(..covered_len).ok_or(Error::BufferTooSmall)?;
        let checksum = finish(sum(ctx.initial(covered_len, IP_PROTOCOL), covered));
        w.patch_u16(2, checksum)?;
        Ok(w.position())
    }

    /// Encodes the message into a new vector.
    pub fn to_bytes(&self, ctx: ChecksumContext) -> Result<Vec<u8>> {
        encode_to_vec(self.buffer_len(), |buf| self.emit(buf, ctx))
    }
}

impl<A: Afi> fmt::Display for PimMessage<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PIMv2 ")?;
        match self {
            PimMessage::Hello(m) => write!(f, "{m}"),
            PimMessage::Register(m) => m.fmt_with::<A>(f),
            PimMessage::RegisterStop(m) => write!(f, "{m}"),
            PimMessage::JoinPrune(m) => write!(f, "{m}"),
            PimMessage::Bootstrap(m) => write!(f, "{m}"),
            PimMessage::Assert(m) => write!(f, "{m}"),
            PimMessage::Graft(m) => {
                f.write_str("Graft")?;
                m.fmt_body(f)
            }
            PimMessage::GraftAck(m) => {
                f.write_str("Graft-Ack")?;
                m.fmt_body(f)
            }
            PimMessage::CandidateRpAdvertisement(m) => write!(f, "{m}"),
            PimMessage::StateRefresh(m) => write!(f, "{m}"),
            PimMessage::Unknown { msg_type, flags, body } => {
                write!(f, "type {msg_type} flags 0x{flags:02x} ({} bytes)", body.len())
            }
        }
    }
}
