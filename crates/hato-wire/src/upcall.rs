//! The Linux kernel's multicast routing upcalls: `struct igmpmsg` (IPv4, `<linux/mroute.h>`) and
//! `struct mrt6msg` (IPv6, `<linux/mroute6.h>`), read from the multicast routing socket.
//!
//! IPv4 (20 octets, overlaying an IP header so that it arrives on the raw IGMP socket):
//!
//! ```text
//!  0      8        9       10      11       12      16      20
//!  | unused (8) | msgtype | mbz=0 | vif lo | vif hi | src   | dst   | [whole packet]
//! ```
//!
//! `mbz` sits where the IP header's protocol field is: 0 there marks an upcall, anything else is an
//! ordinary IGMP packet on the same socket ([`igmpmsg_is_upcall`]). For NOCACHE / WRONGVIF the
//! kernel appends the original header's options and an 8-octet IGMP header, kept as the payload;
//! for WHOLEPKT / WRVIFWHOLE the payload is the original packet from its IP header on.
//!
//! IPv6 (40 octets, on the raw ICMPv6 socket; no ICMPv6 type is 0, so `mbz` = 0 marks an upcall):
//!
//! ```text
//!  0       1         2              4       8      24     40
//!  | mbz=0 | msgtype | mif (host order) | pad | src  | dst  | [whole packet]
//! ```
//!
//! The MIF number is in the host's byte order, not the network's. Linux 6.18 sends NOCACHE and
//! WRONGMIF as 80 octets: 40 octets without meaning follow the `mrt6msg` (kept as the payload).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use hato_core::{Afi, Upcall, VifId, V4, V6};
use serde::Serialize;

use crate::cursor::{encode_to_vec, Reader, Writer};
use crate::{Error, Result};

/// Length of `struct igmpmsg`.
pub const IGMPMSG_LEN: usize = 20;
/// Length of `struct mrt6msg`.
pub const MRT6MSG_LEN: usize = 40;

/// Offset of `im_mbz` in `struct igmpmsg` (the IP header's protocol field).
const IGMPMSG_MBZ_OFFSET: usize = 9;

/// The kind of an upcall (`IGMPMSG_*` / `MRT6MSG_*`, the same numbers in both families).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpcallType {
    /// 1: no cache entry.
    NoCache,
    /// 2: arrived on the wrong VIF.
    WrongVif,
    /// 3: whole packet for the register VIF.
    WholePacket,
    /// 4: whole packet that arrived on the wrong VIF.
    WrongVifWholePacket,
    /// Any other value, kept for lossless re-encoding.
    Unknown(u8),
}

impl UpcallType {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => UpcallType::NoCache,
            2 => UpcallType::WrongVif,
            3 => UpcallType::WholePacket,
            4 => UpcallType::WrongVifWholePacket,
            other => UpcallType::Unknown(other),
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            UpcallType::NoCache => 1,
            UpcallType::WrongVif => 2,
            UpcallType::WholePacket => 3,
            UpcallType::WrongVifWholePacket => 4,
            UpcallType::Unknown(v) => v,
        }
    }

    fn is_whole_packet(self) -> bool {
        matches!(self, UpcallType::WholePacket | UpcallType::WrongVifWholePacket)
    }
}

impl fmt::Display for UpcallType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpcallType::NoCache => f.write_str("nocache"),
            UpcallType::WrongVif => f.write_str("wrongvif"),
            UpcallType::WholePacket => f.write_str("wholepkt"),
            UpcallType::WrongVifWholePacket => f.write_str("wrvifwhole"),
            UpcallType::Unknown(v) => write!(f, "type{v}"),
        }
    }
}

/// Builds the typed event; `None` for an unknown upcall type.
fn typed_upcall<A: Afi>(
    msg_type: UpcallType,
    vif: u16,
    source: A::Addr,
    group: A::Addr,
    payload: &[u8],
) -> Option<Upcall<A>> {
    let vif = VifId(vif);
    Some(match msg_type {
        UpcallType::NoCache => Upcall::NoCache { vif, source, group },
        UpcallType::WrongVif => Upcall::WrongVif { vif, source, group },
        UpcallType::WholePacket => Upcall::WholePacket { vif, source, group, packet: payload.to_vec() },
        UpcallType::WrongVifWholePacket => {
            Upcall::WrongVifWholePacket { vif, source, group, packet: payload.to_vec() }
        }
        UpcallType::Unknown(_) => return None,
    })
}

/// What both message formats carry of a typed event.
struct UpcallFields<A: Afi> {
    msg_type: UpcallType,
    vif: u16,
    source: A::Addr,
    group: A::Addr,
    payload: Vec<u8>,
}

impl<A: Afi> UpcallFields<A> {
    /// The fields the kernel would send for `upcall`; a (*,G) event has the unspecified source.
    fn of(upcall: &Upcall<A>) -> Self {
        let (msg_type, payload) = match upcall {
            Upcall::NoCache { .. } => (UpcallType::NoCache, Vec::new()),
            Upcall::WrongVif { .. } => (UpcallType::WrongVif, Vec::new()),
            Upcall::WholePacket { packet, .. } => (UpcallType::WholePacket, packet.clone()),
            Upcall::WrongVifWholePacket { packet, .. } => (UpcallType::WrongVifWholePacket, packet.clone()),
        };
        let key = upcall.key();
        UpcallFields {
            msg_type,
            vif: upcall.vif().0,
            source: key.source.unwrap_or(A::UNSPECIFIED),
            group: key.group,
            payload,
        }
    }
}

/// The end of a one-line summary: the length of a whole packet, when the message carries one.
fn fmt_packet_len(f: &mut fmt::Formatter<'_>, msg_type: UpcallType, payload: &[u8]) -> fmt::Result {
    if msg_type.is_whole_packet() {
        write!(f, " packet {} octets", payload.len())?;
    }
    Ok(())
}

/// Whether a message read from the IPv4 multicast routing socket is an upcall (rather than an
/// IGMP packet): it is at least 20 octets long and its IP protocol field (`im_mbz`) is 0.
pub fn igmpmsg_is_upcall(bytes: &[u8]) -> bool {
    bytes.len() >= IGMPMSG_LEN && bytes.get(IGMPMSG_MBZ_OFFSET) == Some(&0)
}

/// Whether a message read from the IPv6 multicast routing socket is an upcall (rather than an
/// ICMPv6 message): it is at least 40 octets long and its first octet (`im6_mbz`) is 0.
pub fn mrt6msg_is_upcall(bytes: &[u8]) -> bool {
    bytes.len() >= MRT6MSG_LEN && bytes.first() == Some(&0)
}

/// `struct igmpmsg` and what follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IgmpMsgRepr {
    /// The first 8 octets of the IP header the message overlays (`unused1`, `unused2`); they
    /// carry no meaning and are kept for lossless re-encoding.
    pub overlay: [u8; 8],
    pub msg_type: UpcallType,
    /// The VIF (`im_vif` | `im_vif_hi` << 8).
    pub vif: u16,
    pub source: Ipv4Addr,
    pub group: Ipv4Addr,
    /// Whole-packet kinds: the original packet from its IP header on. Others: the octets the
    /// kernel appends (IP options and an IGMP header).
    pub payload: Vec<u8>,
}

impl IgmpMsgRepr {
    /// Parses an upcall; `Malformed` if `im_mbz` is not 0 (an IGMP packet, not an upcall).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        let overlay = r.array::<8>()?;
        let msg_type = UpcallType::from_u8(r.u8()?);
        if r.u8()? != 0 {
            return Err(Error::Malformed);
        }
        let vif_lo = r.u8()?;
        let vif_hi = r.u8()?;
        let source = r.addr::<V4>()?;
        let group = r.addr::<V4>()?;
        let payload = r.take_rest().to_vec();
        Ok(IgmpMsgRepr {
            overlay,
            msg_type,
            vif: u16::from_le_bytes([vif_lo, vif_hi]),
            source,
            group,
            payload,
        })
    }

    pub fn buffer_len(&self) -> usize {
        IGMPMSG_LEN + self.payload.len()
    }

    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.bytes(&self.overlay)?;
        w.u8(self.msg_type.to_u8())?;
        w.u8(0)?;
        w.bytes(&self.vif.to_le_bytes())?;
        w.addr::<V4>(self.source)?;
        w.addr::<V4>(self.group)?;
        w.bytes(&self.payload)?;
        Ok(w.position())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        encode_to_vec(self.buffer_len(), |buf| self.emit(buf)).unwrap_or_default()
    }

    /// The typed event; `None` for an unknown upcall type.
    pub fn to_upcall(&self) -> Option<Upcall<V4>> {
        typed_upcall::<V4>(self.msg_type, self.vif, self.source, self.group, &self.payload)
    }

    /// The message the kernel would send for `upcall` (no overlay, no appended IGMP header).
    pub fn from_upcall(upcall: &Upcall<V4>) -> Self {
        let UpcallFields { msg_type, vif, source, group, payload } = UpcallFields::of(upcall);
        IgmpMsgRepr { overlay: [0; 8], msg_type, vif, source, group, payload }
    }
}

impl fmt::Display for IgmpMsgRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "igmpmsg {} ({}, {}) vif {}", self.msg_type, self.source, self.group, self.vif)?;
        fmt_packet_len(f, self.msg_type, &self.payload)
    }
}

/// `struct mrt6msg` and what follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mrt6MsgRepr {
    pub msg_type: UpcallType,
    /// The MIF (`im6_mif`, host byte order).
    pub mif: u16,
    /// `im6_pad`, zero from the kernel; kept for lossless re-encoding.
    pub pad: [u8; 4],
    pub source: Ipv6Addr,
    pub group: Ipv6Addr,
    /// Whole-packet kinds: the original packet from its IPv6 header on; others: whatever follows.
    pub payload: Vec<u8>,
}

impl Mrt6MsgRepr {
    /// Parses an upcall; `Malformed` if `im6_mbz` is not 0 (an ICMPv6 message, not an upcall).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        if r.u8()? != 0 {
            return Err(Error::Malformed);
        }
        let msg_type = UpcallType::from_u8(r.u8()?);
        let mif = u16::from_ne_bytes(r.array()?);
        let pad = r.array::<4>()?;
        let source = r.addr::<V6>()?;
        let group = r.addr::<V6>()?;
        let payload = r.take_rest().to_vec();
        Ok(Mrt6MsgRepr { msg_type, mif, pad, source, group, payload })
    }

    pub fn buffer_len(&self) -> usize {
        MRT6MSG_LEN + self.payload.len()
    }

    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        w.u8(0)?;
        w.u8(self.msg_type.to_u8())?;
        w.bytes(&self.mif.to_ne_bytes())?;
        w.bytes(&self.pad)?;
        w.addr::<V6>(self.source)?;
        w.addr::<V6>(self.group)?;
        w.bytes(&self.payload)?;
        Ok(w.position())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        encode_to_vec(self.buffer_len(), |buf| self.emit(buf)).unwrap_or_default()
    }

    /// The typed event; `None` for an unknown upcall type.
    pub fn to_upcall(&self) -> Option<Upcall<V6>> {
        typed_upcall::<V6>(self.msg_type, self.mif, self.source, self.group, &self.payload)
    }

    /// The message the kernel would send for `upcall`.
    pub fn from_upcall(upcall: &Upcall<V6>) -> Self {
        let UpcallFields { msg_type, vif, source, group, payload } = UpcallFields::of(upcall);
        Mrt6MsgRepr { msg_type, mif: vif, pad: [0; 4], source, group, payload }
    }
}

impl fmt::Display for Mrt6MsgRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mrt6msg {} ({}, {}) mif {}", self.msg_type, self.source, self.group, self.mif)?;
        fmt_packet_len(f, self.msg_type, &self.payload)
    }
}

/// Strategies for arbitrary upcall messages, for property tests here and elsewhere.
#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use proptest::prelude::*;

    pub fn upcall_type() -> impl Strategy<Value = UpcallType> {
        any::<u8>().prop_map(UpcallType::from_u8)
    }

    pub fn igmpmsg() -> impl Strategy<Value = IgmpMsgRepr> {
        (
            any::<[u8; 8]>(),
            upcall_type(),
            any::<u16>(),
            any::<[u8; 4]>(),
            any::<[u8; 4]>(),
            proptest::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(|(overlay, msg_type, vif, s, g, payload)| IgmpMsgRepr {
                overlay,
                msg_type,
                vif,
                source: s.into(),
                group: g.into(),
                payload,
            })
    }

    pub fn mrt6msg() -> impl Strategy<Value = Mrt6MsgRepr> {
        (
            upcall_type(),
            any::<u16>(),
            any::<[u8; 4]>(),
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            proptest::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(|(msg_type, mif, pad, s, g, payload)| Mrt6MsgRepr {
                msg_type,
                mif,
                pad,
                source: s.into(),
                group: g.into(),
                payload,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Upcalls read from a Linux 6.18 routing socket in a namespace lab (the kernel tests of
    // hato-kernel produce the same): sender 198.18.1.2 / fd00:1::2 on VIF 0, register VIF 2.

    /// IPv4 NOCACHE for (198.18.1.2, 239.9.9.9): the overlaid IP header start, then the 8-octet
    /// IGMP header the kernel appends (type 1, the rest uninitialised).
    const IGMPMSG_NOCACHE: [u8; 28] =
        [69, 0, 0, 28, 238, 199, 64, 0, 1, 0, 0, 0, 198, 18, 1, 2, 239, 9, 9, 9, 1, 0, 3, 0, 6, 0, 0, 0];

    /// IPv4 WHOLEPKT on the register VIF 2 for (198.18.1.2, 239.1.2.3): a 55-octet UDP packet.
    const IGMPMSG_WHOLEPKT: [u8; 75] = [
        69, 0, 0, 75, 200, 85, 64, 0, 3, 0, 2, 0, 198, 18, 1, 2, 239, 1, 2, 3, 69, 0, 0, 55, 200, 85, 64, 0,
        8, 17, 242, 71, 198, 18, 1, 2, 239, 1, 2, 3, 195, 60, 19, 137, 0, 35, 184, 77, 104, 97, 116, 111, 32,
        109, 117, 108, 116, 105, 99, 97, 115, 116, 32, 116, 101, 115, 116, 32, 112, 97, 121, 108, 111, 97,
        100,
    ];

    /// IPv6 NOCACHE for (fd00:1::2, ff3e::9:9:9) on MIF 0: 80 octets, the mrt6msg and 40 octets
    /// that carry no meaning.
    const MRT6MSG_NOCACHE: [u8; 80] = [
        0, 1, 0, 0, 0, 0, 0, 0, 253, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 255, 62, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 9, 0, 9, 0, 9, 8, 0, 29, 0, 1, 0, 0, 0, 0, 0, 0, 0, 253, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 1, 152, 138, 1, 0, 152, 138, 1, 0, 8, 0, 28, 0,
    ];

    fn golden_igmpmsg() -> IgmpMsgRepr {
        IgmpMsgRepr {
            overlay: [69, 0, 0, 28, 238, 199, 64, 0],
            msg_type: UpcallType::NoCache,
            vif: 0,
            source: "198.18.1.2".parse().unwrap(),
            group: "239.9.9.9".parse().unwrap(),
            payload: vec![1, 0, 3, 0, 6, 0, 0, 0],
        }
    }

    #[test]
    fn kernel_wholepkt_and_ipv6_nocache() {
        let repr = IgmpMsgRepr::parse(&IGMPMSG_WHOLEPKT).unwrap();
        assert_eq!(repr.to_bytes(), IGMPMSG_WHOLEPKT);
        assert_eq!(repr.to_string(), "igmpmsg wholepkt (198.18.1.2, 239.1.2.3) vif 2 packet 55 octets");
        let up = repr.to_upcall().unwrap();
        assert_eq!(up.vif(), VifId(2));
        assert_eq!(up.packet(), Some(&IGMPMSG_WHOLEPKT[20..]));

        assert!(mrt6msg_is_upcall(&MRT6MSG_NOCACHE));
        let repr = Mrt6MsgRepr::parse(&MRT6MSG_NOCACHE).unwrap();
        assert_eq!(repr.to_bytes(), MRT6MSG_NOCACHE);
        assert_eq!(
            repr.to_upcall(),
            Some(Upcall::NoCache {
                vif: VifId(0),
                source: "fd00:1::2".parse().unwrap(),
                group: "ff3e::9:9:9".parse().unwrap()
            })
        );
        for n in 0..MRT6MSG_LEN {
            assert_eq!(Mrt6MsgRepr::parse(&MRT6MSG_NOCACHE[..n]), Err(Error::Truncated));
        }
        for n in 0..IGMPMSG_LEN {
            assert_eq!(IgmpMsgRepr::parse(&IGMPMSG_WHOLEPKT[..n]), Err(Error::Truncated));
        }
    }

    /// A WRMIFWHOLE upcall on MIF 0x0102 for (fd00:1::2, ff3e::1) carrying an 8-octet "packet".
    fn mrt6msg_whole_bytes() -> Vec<u8> {
        let mut b = vec![0x00, 0x04];
        b.extend_from_slice(&0x0102u16.to_ne_bytes());
        b.extend_from_slice(&[0; 4]);
        b.extend_from_slice(&"fd00:1::2".parse::<Ipv6Addr>().unwrap().octets());
        b.extend_from_slice(&"ff3e::1".parse::<Ipv6Addr>().unwrap().octets());
        b.extend_from_slice(&[0x60, 0, 0, 0, 0, 8, 17, 64]);
        b
    }

    fn golden_mrt6msg() -> Mrt6MsgRepr {
        Mrt6MsgRepr {
            msg_type: UpcallType::WrongVifWholePacket,
            mif: 0x0102,
            pad: [0; 4],
            source: "fd00:1::2".parse().unwrap(),
            group: "ff3e::1".parse().unwrap(),
            payload: vec![0x60, 0, 0, 0, 0, 8, 17, 64],
        }
    }

    #[test]
    fn igmpmsg_golden_both_ways() {
        assert!(igmpmsg_is_upcall(&IGMPMSG_NOCACHE));
        let repr = IgmpMsgRepr::parse(&IGMPMSG_NOCACHE).unwrap();
        assert_eq!(repr, golden_igmpmsg());
        assert_eq!(repr.to_bytes(), IGMPMSG_NOCACHE);
        assert_eq!(repr.to_string(), "igmpmsg nocache (198.18.1.2, 239.9.9.9) vif 0");
        let up = repr.to_upcall().unwrap();
        assert_eq!(up, Upcall::NoCache { vif: VifId(0), source: repr.source, group: repr.group });
    }

    #[test]
    fn igmpmsg_vif_high_byte_and_whole_packet() {
        let mut bytes = IGMPMSG_NOCACHE;
        bytes[8] = 4;
        bytes[10] = 0x05;
        bytes[11] = 0x01;
        let repr = IgmpMsgRepr::parse(&bytes).unwrap();
        assert_eq!(repr.vif, 0x0105);
        assert_eq!(repr.to_upcall().unwrap().packet(), Some(&bytes[20..]));
    }

    #[test]
    fn igmp_packet_is_not_an_upcall() {
        let mut bytes = IGMPMSG_NOCACHE;
        bytes[9] = 2; // IPPROTO_IGMP
        assert!(!igmpmsg_is_upcall(&bytes));
        assert_eq!(IgmpMsgRepr::parse(&bytes), Err(Error::Malformed));
        assert!(!igmpmsg_is_upcall(&IGMPMSG_NOCACHE[..19]));
    }

    #[test]
    fn mrt6msg_golden_both_ways() {
        let bytes = mrt6msg_whole_bytes();
        assert!(mrt6msg_is_upcall(&bytes));
        let repr = Mrt6MsgRepr::parse(&bytes).unwrap();
        assert_eq!(repr, golden_mrt6msg());
        assert_eq!(repr.to_bytes(), bytes);
        assert_eq!(repr.to_string(), "mrt6msg wrvifwhole (fd00:1::2, ff3e::1) mif 258 packet 8 octets");
        let up = repr.to_upcall().unwrap();
        assert_eq!(Mrt6MsgRepr::from_upcall(&up), repr);
        let mut icmp = bytes.clone();
        icmp[0] = 130; // MLD query
        assert!(!mrt6msg_is_upcall(&icmp));
        assert_eq!(Mrt6MsgRepr::parse(&icmp), Err(Error::Malformed));
    }

    #[test]
    fn unknown_type_is_kept_but_not_typed() {
        let mut bytes = IGMPMSG_NOCACHE;
        bytes[8] = 9;
        let repr = IgmpMsgRepr::parse(&bytes).unwrap();
        assert_eq!(repr.msg_type, UpcallType::Unknown(9));
        assert_eq!(repr.to_bytes(), bytes);
        assert_eq!(repr.to_upcall(), None);
    }

    #[test]
    fn every_truncation_fails() {
        for n in 0..IGMPMSG_LEN {
            assert_eq!(IgmpMsgRepr::parse(&IGMPMSG_NOCACHE[..n]), Err(Error::Truncated), "igmpmsg {n}");
        }
        let bytes = mrt6msg_whole_bytes();
        for n in 0..MRT6MSG_LEN {
            assert_eq!(Mrt6MsgRepr::parse(&bytes[..n]), Err(Error::Truncated), "mrt6msg {n}");
        }
    }

    #[test]
    fn emit_into_short_buffer_fails() {
        let repr = golden_igmpmsg();
        let mut buf = vec![0; repr.buffer_len() - 1];
        assert_eq!(repr.emit(&mut buf), Err(Error::BufferTooSmall));
        let repr = golden_mrt6msg();
        let mut buf = vec![0; repr.buffer_len() - 1];
        assert_eq!(repr.emit(&mut buf), Err(Error::BufferTooSmall));
    }

    proptest! {
        #[test]
        fn igmpmsg_round_trip(repr in strategies::igmpmsg()) {
            prop_assert_eq!(IgmpMsgRepr::parse(&repr.to_bytes()), Ok(repr));
        }

        #[test]
        fn mrt6msg_round_trip(repr in strategies::mrt6msg()) {
            prop_assert_eq!(Mrt6MsgRepr::parse(&repr.to_bytes()), Ok(repr));
        }

        #[test]
        fn typed_upcalls_round_trip(repr in strategies::mrt6msg()) {
            if let Some(up) = repr.to_upcall() {
                prop_assert_eq!(Mrt6MsgRepr::from_upcall(&up).to_upcall(), Some(up));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = igmpmsg_is_upcall(&bytes);
            let _ = mrt6msg_is_upcall(&bytes);
            if let Ok(repr) = IgmpMsgRepr::parse(&bytes) {
                prop_assert_eq!(repr.to_bytes(), bytes.clone());
            }
            if let Ok(repr) = Mrt6MsgRepr::parse(&bytes) {
                prop_assert_eq!(repr.to_bytes(), bytes);
            }
        }
    }
}
